"""Choose the refinement's fusion weight w, rounds T and sigma on LSP-extended (not on LSP).

BlazePose runs once per image; each setting then re-runs only the lift-project-fuse
rounds (poselift.estimator.Estimator.refine). Metric: PCK@0.2 (0.2 x |right shoulder -
left hip|) and mean pixel error over the 12 limb joints that are annotated (lspet marks
missing joints (0, 0, 0)), person = the one found nearest the annotation. The lifter is the
paper's (``lifter="prior"``), with which the defaults were chosen.

    python benchmarks/refinement_tuning.py [--limit N]

Prints a table and writes benchmarks/results/refinement_tuning.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from poselift.datasets.lsp import load_lsp
from poselift.estimator import Estimator
from poselift.evaluation.metrics import pck_hits, torso_size
from poselift.images import read_image
from poselift.skeleton import BLAZEPOSE33, H36M17, LSP14, convert

LIMBS = np.array([LSP14.index(n) for n in LSP14.joints if n not in ("upper_neck", "head_top")])
WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
ROUNDS = (1, 2, 3)
SIGMAS = (1.0, 1.5, 2.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N images only")
    args = parser.parse_args()
    lspet = load_lsp(convention="lspet")
    images = lspet.images[: args.limit]
    truth, annotated = lspet.joints[: len(images)], lspet.labelled[: len(images)]
    torso = torso_size(truth, LSP14)
    estimator = Estimator(lifter="prior")
    start = time.perf_counter()
    found = []
    for i, path in enumerate(tqdm(images, desc="blazepose", unit="image", mininterval=10)):
        people = estimator.blazepose.find_people(read_image(path))
        if not people:
            found.append(None)
            continue
        distance = [np.nanmedian(np.where(
            annotated[i, LIMBS, None], np.abs(convert(p.keypoints, BLAZEPOSE33, LSP14).points[LIMBS] - truth[i, LIMBS]),
            np.nan)) for p in people]
        found.append(people[int(np.nanargmin(distance))] if np.isfinite(distance).any() else people[0])
    blazepose_seconds = time.perf_counter() - start

    def score(predictions: np.ndarray) -> tuple[float, float]:
        error = np.linalg.norm(predictions - truth, axis=-1)[:, LIMBS]
        mask = annotated[:, LIMBS]
        hit = pck_hits(error, torso) * mask
        return float(hit.sum() / mask.sum()), float(np.nanmean(np.where(mask, error, np.nan)))

    rows = []
    settings = [(0, 1.0, 1.5)] + list(itertools.product(ROUNDS, WEIGHTS[:-1], SIGMAS))
    for rounds, weight, sigma in tqdm(settings, desc="settings", mininterval=10):
        estimator.rounds, estimator.fusion_weight, estimator.sigma = rounds, weight, sigma
        predictions = np.full(truth.shape, np.nan)
        for i, person in enumerate(found):
            if person is not None:
                predictions[i] = convert(estimator.refine(person).joints_2d, H36M17, LSP14).points
        pck, pixels = score(predictions)
        rows.append({"rounds": rounds, "fusion_weight": weight, "sigma_cells": sigma, "pck": pck,
                     "pixel_error": pixels})
    print(f"LSP-extended, {len(images)} images, person found in {sum(f is not None for f in found)}; "
          f"BlazePose {blazepose_seconds:.0f} s")
    print(f"{'rounds':>7}{'w':>6}{'sigma':>7}{'PCK@0.2':>9}{'px':>8}")
    for r in sorted(rows, key=lambda r: -r["pck"]):
        print(f"{r['rounds']:>7}{r['fusion_weight']:>6.1f}{r['sigma_cells']:>7.1f}{100 * r['pck']:>8.1f}%"
              f"{r['pixel_error']:>8.2f}")
    out = Path(__file__).parent / "results" / "refinement_tuning.json"
    out.write_text(json.dumps({"images": len(images), "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
