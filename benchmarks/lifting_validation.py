"""Choosing the prior's size and the lifting regularisation on a validation subject.

A prior is fitted on S1, S5, S6, S7 (every 4th frame, plus mirrors) and protocol #1 is run
on S8 (every 25th frame, all cameras) with Stacked-Hourglass and ground-truth 2D, for each
(components, basis) and coefficient-prior weight g, with weak perspective unless told
otherwise. S9, the test subject, plays no part.
Prints one line per setting and writes ``benchmarks/results/lifting_validation.json``.

    python benchmarks/lifting_validation.py [--models 3x16 5x12] [--weights 1 3 10 30]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from poselift.datasets import h36m
from poselift.evaluation import h36m as protocols
from poselift.prior.fit import fit_prior

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["3x8", "3x12", "3x16", "1x12", "5x12"],
                        help="components x basis")
    parser.add_argument("--weights", type=float, nargs="+", default=[1.0, 3.0, 10.0, 30.0])
    parser.add_argument("--perspective", action="store_true",
                        help="with the perspective correction (the README's table was made without)")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "lifting_validation.json")
    args = parser.parse_args()
    protocols.PROTOCOLS[0] = protocols.Protocol("#1 (every 25th frame)", 25, h36m.CAMERA_ORDER, False,
                                                tuple(range(17)), "mpjpe")
    train = h36m.stack_poses(["S1", "S5", "S6", "S7"], args.data, step=4)
    rows = []
    for model in args.models:
        k, j = (int(x) for x in model.split("x"))
        prior = fit_prior(train, n_components=k, n_basis=j).prior
        for g in args.weights:
            row = {"components": k, "basis": j, "regularization": g}
            for source in ("sh", "gt"):
                result = protocols.evaluate_h36m(prior, 0, source, subjects=("S8",), data_dir=args.data,
                                                 approximate_weight=0.0, perspective=args.perspective,
                                                 regularization=g)
                row[source] = result["average_over_actions"]
            rows.append(row)
            print(f"K={k} J={j} g={g:g}: SH {row['sh']['mpjpe']:.1f} ({row['sh']['pa_mpjpe']:.1f} PA), "
                  f"GT {row['gt']['mpjpe']:.1f} ({row['gt']['pa_mpjpe']:.1f} PA)", flush=True)
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps({"train": "H36M S1 S5 S6 S7 every 4th frame + mirrors",
                                     "validation": "H36M S8, protocol #1 every 25th frame", "rows": rows}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
