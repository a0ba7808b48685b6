"""How well the combined lifter's pose explains the 2D joints, per guide weight, against the network alone.

The combined lifter's pose should explain the 2D at least as well as the learned lifter's: the
guide weight (:data:`poselift.lifting.lifter.DEFAULT_GUIDE_WEIGHT`) is chosen among those that
do so from the detections (``benchmarks/guide_weight_sweep.py`` ranks them by MPJPE).
Protocol #1's cameras on the validation subject S8, every 50th frame, ground-truth 2D and
Stacked-Hourglass detections; each pose lifted under weak perspective (the photo pipeline's
way), and its reprojection error: the root mean square over the 17 joints of the weighted 2D
residual of its weak-perspective fit (pixels), averaged over poses. Prints a table and writes
``benchmarks/results/guide_weight_residual.json`` (or ``--json``).

    python benchmarks/guide_weight_residual.py [--prior runs/prior_noS8.npz] [--weights F] [--step 50] [--json F]
"""

from __future__ import annotations

import numpy as np

from guide_weight_sweep import GUIDE_WEIGHTS, arguments, write_results
from poselift.evaluation.h36m import Views, camera_lift_rotation
from poselift.lifting import Lifter
from poselift.lifting.learned import LearnedLifter
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17


def main() -> None:
    args = arguments(__doc__, "guide_weight_residual.json")
    prior = PosePrior.load(args.prior) if args.prior else PosePrior.default()
    learned = LearnedLifter(args.weights, threads=2)
    rows, searches = [], {}
    print(f"{'input':<7}{'lifter':<10}{'guide weight':>13}{'RMS residual px':>17}")
    for source in ("gt", "sh"):
        residuals: dict = {None: []} | {weight: [] for weight in GUIDE_WEIGHTS}
        for view in Views(source, ["S8"], step=args.step):
            alone = learned.lift(view.points, view.weights)  # also the guide: CombinedLifter.lift's search
            residuals[None].append(alone.residual)
            if view.camera.name not in searches:
                searches[view.camera.name] = Lifter(prior, camera_rotation=camera_lift_rotation(view.camera))
            for weight in GUIDE_WEIGHTS:
                combined = searches[view.camera.name].lift(view.points, view.weights, guide=alone.pose_3d,
                                                           guide_weight=weight)
                residuals[weight].append(combined.residual)
        for weight, found in residuals.items():
            rms = float(np.sqrt(np.concatenate(found) / len(H36M17)).mean())
            lifter = "learned" if weight is None else "combined"
            rows.append({"input": source, "lifter": lifter, "guide_weight": weight, "rms_residual_px": rms,
                         "poses": int(sum(len(r) for r in found))})
            print(f"{source:<7}{lifter:<10}{'' if weight is None else weight:>13}{rms:>17.2f}")
    write_results(args, learned, prior, rows)


if __name__ == "__main__":
    main()
