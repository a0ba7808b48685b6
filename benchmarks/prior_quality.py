"""How well the pose prior models held-out poses, by number of components and basis size.

Protocol: fit on Human3.6M S1, S5, S6, S7, S8 (every ``--train-step``-th frame, plus
mirrored copies), evaluate on S9 (every ``--test-step``-th frame of every sequence):

* reconstruction error (mm): each S9 pose is normalised, turned to its best ground-plane
  rotation for each component, projected onto the nearest component's affine subspace,
  turned back and rescaled to the pose's own size; MPJPE over the 17 joints against the
  original (both centred on the mean of the joints, so no root alignment is involved);
* mean log-likelihood (nats per pose) of the normalised, best-rotated S9 poses.

Prints a table, writes ``benchmarks/results/prior_quality.json``, and figures: the aligned
training poses in 2D PCA (the paper's figure 2) and the mean poses of the chosen prior.

    python benchmarks/prior_quality.py [--components 1 3 5 10] [--basis 4 8 12 16] [--json FILE]

The figures are drawn for the shipped configuration (3 components, basis 16) when it is
among those asked for.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from poselift.datasets import h36m
from poselift.prior.alignment import unrotate
from poselift.prior.fit import DEFAULT_BASIS, DEFAULT_COMPONENTS, fit_prior
from poselift.prior.model import to_model_space
from poselift.prior.ppca import mahalanobis
from poselift.visualize import aligned_pca_figure, prior_figure, save_figure

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, nargs="+", default=[1, 3, 5, 10])
    parser.add_argument("--basis", type=int, nargs="+", default=[4, 8, 12, 16])
    parser.add_argument("--train-step", type=int, default=4)
    parser.add_argument("--test-step", type=int, default=10)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "prior_quality.json")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)

    train = h36m.stack_poses(h36m.TRAIN_SUBJECTS, args.data, step=args.train_step)
    test = h36m.stack_poses(["S9"], args.data, step=args.test_step)
    print(f"train: {len(train)} poses (S1 S5 S6 S7 S8, every {args.train_step}th frame, + mirrors); "
          f"test: {len(test)} poses (S9, every {args.test_step}th frame)")
    rows = []
    print(f"{'K asked':>7} {'K found':>7} {'J':>3} {'recon mm':>9} {'loglik':>8} {'fit s':>6}")
    for k in args.components:
        for j in args.basis:
            start = time.perf_counter()
            report = fit_prior(train, n_components=k, n_basis=j)
            seconds = time.perf_counter() - start
            recon, _ = report.prior.reconstruct(test)
            error = float(np.linalg.norm(recon - test, axis=-1).mean())
            loglik = float(report.prior.log_likelihood(test).mean())
            rows.append({"components_asked": k, "components": report.prior.n_components, "basis": j,
                         "reconstruction_mm": error, "log_likelihood": loglik, "fit_seconds": seconds})
            print(f"{k:>7} {report.prior.n_components:>7} {j:>3} {error:>9.1f} {loglik:>8.2f} {seconds:>6.0f}")
            if k == DEFAULT_COMPONENTS and j == DEFAULT_BASIS:
                poses, _ = to_model_space(train, report.prior.joint_set)
                aligned = unrotate(poses, report.alignment.angles[: len(poses)]).reshape(len(poses), -1)
                nearest = np.argmin(np.stack([mahalanobis(aligned, c) for c in report.prior.components], 1), axis=1)
                save_figure(aligned_pca_figure(aligned, nearest), RESULTS / "figure2_aligned_pca.png")
                save_figure(prior_figure(report.prior), RESULTS / "prior_components.png")

    out = {
        "protocol": {"train": "H36M S1 S5 S6 S7 S8", "train_step": args.train_step, "mirrored": True,
                     "test": "H36M S9", "test_step": args.test_step, "test_poses": len(test),
                     "joints": 17},
        "machine": platform.platform(),
        "rows": rows,
    }
    args.json.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
