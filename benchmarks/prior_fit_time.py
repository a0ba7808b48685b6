"""Time and peak memory of fitting the prior on every training frame of Human3.6M.

All frames of S1, S5, S6, S7, S8 (366,100 poses; 732,200 with mirrored copies), the
shipped configuration unless told otherwise. Prints a table and writes
``benchmarks/results/prior_fit_time.json``. Run it in a fresh process: peak memory is the
process's maximum resident set size.

    python benchmarks/prior_fit_time.py [--components 3] [--basis 12]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

from poselift.datasets import h36m
from poselift.prior.fit import DEFAULT_BASIS, DEFAULT_COMPONENTS, fit_prior

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=DEFAULT_COMPONENTS)
    parser.add_argument("--basis", type=int, default=DEFAULT_BASIS)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)

    start = time.perf_counter()
    poses = h36m.stack_poses(h36m.TRAIN_SUBJECTS, args.data)
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = fit_prior(poses, n_components=args.components, n_basis=args.basis)
    fit_seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    row = {"poses": len(poses), "with_mirrors": 2 * len(poses), "components": report.prior.n_components,
           "basis": args.basis, "load_seconds": load_seconds, "fit_seconds": fit_seconds,
           "stage_seconds": report.seconds, "em_iterations": len(report.mixture.log_likelihood),
           "peak_rss_mib": peak_mib, "cores": os.cpu_count(), "machine": platform.platform()}
    print(f"{'poses':>8} {'K':>2} {'J':>3} {'load s':>7} {'align s':>8} {'seed s':>7} {'EM s':>6} "
          f"{'total s':>8} {'peak MiB':>9}")
    print(f"{len(poses):>8} {report.prior.n_components:>2} {args.basis:>3} {load_seconds:>7.1f} "
          f"{report.seconds['alignment']:>8.1f} {report.seconds['seeding']:>7.1f} "
          f"{report.seconds['mixture']:>6.1f} {fit_seconds:>8.1f} {peak_mib:>9.0f}")
    (RESULTS / "prior_fit_time.json").write_text(json.dumps(row, indent=1))
    print(f"wrote {RESULTS / 'prior_fit_time.json'}")


if __name__ == "__main__":
    main()
