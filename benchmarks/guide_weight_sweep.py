"""Choosing the combined lifter's guide weight on the validation subject S8.

Protocol #1's cameras and joints on Human3.6M S8 (every 50th frame, to be quick), from
ground-truth 2D and from the Stacked-Hourglass detections: the prior lifter, the learned one
and the combined one at several guide weights (:data:`poselift.lifting.lifter.DEFAULT_GUIDE_WEIGHT`
is the one chosen). Average over actions, mm. Prints a table and writes
``benchmarks/results/guide_weight_sweep.json`` (or ``--json``).

The shipped prior was fitted on S1 S5 S6 S7 and S8 (protocol #1's training subjects), so on S8
it has seen the very poses it is asked about; ``--prior`` takes one fitted without S8 (``make
validation-prior`` writes ``runs/prior_noS8.npz``), for a validation that neither model has
trained on.

    python benchmarks/guide_weight_sweep.py [--weights runs/lifter/lifter.pt] [--prior p.npz] [--step 50] [--json F]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from poselift.evaluation.h36m import evaluate_h36m
from poselift.lifting.learned import LearnedLifter
from poselift.prior.model import PosePrior

RESULTS = Path(__file__).resolve().parent / "results"
GUIDE_WEIGHTS = (0.1, 0.3, 1.0, 3.0, 10.0)


def arguments(doc: str, json_name: str) -> argparse.Namespace:
    """The options of this script and of ``guide_weight_residual.py``: the weights, the prior,
    the frame step and the results file."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--weights", help="a lifter.pt (default: the shipped one)")
    parser.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    parser.add_argument("--step", type=int, default=50, help="every n-th frame")
    parser.add_argument("--json", default=json_name, help="file name in benchmarks/results")
    return parser.parse_args()


def write_results(args: argparse.Namespace, learned: LearnedLifter, prior: PosePrior, rows: list[dict]) -> None:
    """``rows`` into ``benchmarks/results/<--json>``, with what they were measured on."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / args.json).write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "subjects": ["S8"], "protocol": "#1", "frame_step": args.step, "weights": str(learned.path),
        "prior": prior.describe(), "rows": rows}, indent=1))


def main() -> None:
    args = arguments(__doc__, "guide_weight_sweep.json")
    prior = PosePrior.load(args.prior) if args.prior else PosePrior.default()
    learned = LearnedLifter(args.weights)
    runs = [("prior", None), ("learned", None)] + [("combined", w) for w in GUIDE_WEIGHTS]
    rows = []
    print(f"{'input':<7}{'lifter':<10}{'guide weight':>13}{'MPJPE':>8}{'PA-MPJPE':>10}")
    for source in ("gt", "sh"):
        for lifter, weight in runs:
            options = {} if weight is None else {"guide_weight": weight}
            result = evaluate_h36m(prior, 1, source, subjects=("S8",), lifter=lifter, learned=learned,
                                   frame_step=args.step, **options)
            average = result["average_over_actions"]
            rows.append({"input": source, "lifter": lifter, "guide_weight": weight, **average,
                         "frames": sum(result["frames"].values())})
            print(f"{source:<7}{lifter:<10}{'' if weight is None else weight:>13}{average['mpjpe']:>8.1f}"
                  f"{average['pa_mpjpe']:>10.1f}")
    write_results(args, learned, prior, rows)


if __name__ == "__main__":
    main()
