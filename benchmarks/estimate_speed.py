"""Time per photo and per person of ``poselift estimate``'s pipeline on this CPU, by part.

Parts: person detection (the detector's windows, letterboxing, anchor decoding, NMS),
landmarks (crops and the landmark network, two passes per person), refinement (sub-pixel
argmax, projected belief maps and fusion; lifting excluded) and lifting (every lift of
the refinement stages and the final one, in up to four frames). Photos: the four in
shared/data/photos and the first 40 LSP images; each photo runs once untimed first, then
``--repeats`` times. Figures (PNG) are not included: drawing is matplotlib's time.

    python benchmarks/estimate_speed.py [--repeats 3] [--fast] [--lifter prior|learned|combined]

Prints a table and writes benchmarks/results/estimate_speed[_fast][_<lifter>].json (``_fast``
with ``--fast``, the estimator's fast mode; ``_<lifter>`` for a lifter other than the paper's).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from poselift.datasets.paths import data_root
from poselift.estimator import Estimator
from poselift.images import read_image
from poselift.lifting.choice import DEFAULT_LIFTER, LIFTERS

PARTS = ("detection", "landmarks", "refinement", "lifting")


def timed(target, name: str, clock: dict) -> None:
    """Replace ``target.name`` (an instance's method) by a wrapper adding its time to ``clock[name]``."""
    method = getattr(target, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            clock[name] += time.perf_counter() - start

    setattr(target, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fast", action="store_true", help="the estimator's fast mode")
    parser.add_argument("--lifter", choices=LIFTERS, default=DEFAULT_LIFTER, help="the estimator's lifter")
    args = parser.parse_args()
    root = data_root()
    photos = sorted((root / "photos").glob("*.*")) + sorted((root / "lsp" / "images").glob("*.jpg"))[:40]
    estimator = Estimator(fast=args.fast, lifter=args.lifter)
    clock: dict[str, float] = defaultdict(float)
    timed(estimator.blazepose, "detect", clock)
    timed(estimator.blazepose, "landmarks", clock)
    timed(estimator, "refine", clock)
    timed(estimator.lifter, "lift", clock)

    rows = []
    for path in photos:
        image = read_image(path)
        estimator.estimate(image)  # warm-up
        clock.clear()
        start = time.perf_counter()
        for _ in range(args.repeats):
            people = estimator.estimate(image)
        total = (time.perf_counter() - start) / args.repeats
        parts = {"detection": clock["detect"], "landmarks": clock["landmarks"],
                 "refinement": clock["refine"] - clock["lift"], "lifting": clock["lift"]}
        rows.append({"photo": path.name, "pixels": f"{image.shape[1]}x{image.shape[0]}", "people": len(people),
                     "total_ms": 1e3 * total, **{f"{k}_ms": 1e3 * v / args.repeats for k, v in parts.items()}})

    print(f"{'photo':<34}{'size':>10}{'people':>7}{'total ms':>10}" + "".join(f"{p:>12}" for p in PARTS))
    for r in rows[:4]:
        print(f"{r['photo']:<34}{r['pixels']:>10}{r['people']:>7}{r['total_ms']:>10.1f}"
              + "".join(f"{r[p + '_ms']:>12.1f}" for p in PARTS))
    lsp = rows[4:]
    people = sum(r["people"] for r in rows)
    summary = {
        "lsp_mean_ms_per_photo": {k: float(np.mean([r[k + "_ms"] for r in lsp])) for k in ("total", *PARTS)},
        "ms_per_person_all_photos": {k: float(sum(r[k + "_ms"] for r in rows) / max(people, 1))
                                     for k in ("total", *PARTS)},
    }
    m = summary["lsp_mean_ms_per_photo"]
    print(f"{'LSP (mean of ' + str(len(lsp)) + ')':<34}{'':>10}{'':>7}{m['total']:>10.1f}"
          + "".join(f"{m[p]:>12.1f}" for p in PARTS))
    m = summary["ms_per_person_all_photos"]
    print(f"{'per person (all ' + str(len(rows)) + ' photos)':<34}{'':>10}{people:>7}{m['total']:>10.1f}"
          + "".join(f"{m[p]:>12.1f}" for p in PARTS))
    suffix = ("_fast" if args.fast else "") + ("" if args.lifter == "prior" else f"_{args.lifter}")
    out = Path(__file__).parent / "results" / f"estimate_speed{suffix}.json"
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "repeats": args.repeats,
                               "lifter": args.lifter, "rows": rows, **summary}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
