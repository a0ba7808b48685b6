"""Frames per second of 2D-to-3D lifting, against the plain reference, in one process.

Inputs: Human3.6M S9 poses (every 10th frame) projected by the four cameras (ground-truth
2D). Cases: 1 and 3 components x 80 and 100 angles, with
* no weights (one shared set of solver matrices);
* binary visibility weights drawn from a few occlusion patterns (8 patterns: a hidden arm,
  leg or head, as from an occlusion-aware detector);
* continuous weights (every frame its own weights, e.g. detector confidences).
The reference (``poselift.lifting.reference``: one least-squares solve per frame,
component and angle) runs on a small subset of the same frames; both must agree to 1e-6 mm.
Refinement is on (8 fine angles per step) in both. Also timed: one pose with weights of its
own, as the photo pipeline lifts a person (milliseconds a lift, best of 200), and the first
lift in a new process, with numba's on-disk cache empty (compiling) and filled (loading).
Prints a table, writes ``benchmarks/results/lifting_speed.json``.

    python benchmarks/lifting_speed.py [--frames 20000] [--reference-frames 24]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from poselift.datasets import h36m
from poselift.lifting import Lifter
from poselift.lifting.reference import lift_reference
from poselift.prior.fit import fit_prior
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17

RESULTS = Path(__file__).resolve().parent / "results"

OCCLUSIONS = (("left_wrist", "left_elbow"), ("right_wrist", "right_elbow"), ("left_ankle", "left_knee"),
              ("right_ankle", "right_knee"), ("head_top",), ("left_wrist",), ("right_ankle",), ())


def frames_2d(data_dir, count: int) -> np.ndarray:
    cameras = h36m.load_cameras(data_dir)["S9"]
    poses = np.concatenate([p[::10] for p in h36m.load_poses_3d("S9", data_dir).values()]).astype(np.float64)
    points = np.concatenate([c.project(poses) for c in cameras])
    return points[np.random.default_rng(0).permutation(len(points))[:count]]


def weights_for(case: str, n: int) -> np.ndarray | None:
    rng = np.random.default_rng(1)
    if case == "none":
        return None
    if case == "binary":
        patterns = np.ones((len(OCCLUSIONS), 17))
        for p, hidden in enumerate(OCCLUSIONS):
            patterns[p, [H36M17.index(j) for j in hidden]] = 0.0
        return patterns[rng.integers(0, len(patterns), n)]
    return rng.uniform(0.3, 1.0, (n, 17))


def timed(function, repeats: int = 3) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


FIRST_LIFT = """
import time
start = time.perf_counter()
import numpy as np
from poselift.lifting import Lifter
from poselift.prior.model import PosePrior
lifter = Lifter(PosePrior.default())
points = np.random.default_rng(0).normal(size=(64, 17, 2)) * 50 + 300
lifter.lift(points)
lifter.lift(points, np.full((64, 17), 0.8) + np.linspace(0, 0.2, 17))
print(time.perf_counter() - start)
"""


def first_lift_seconds() -> dict:
    """Seconds from import to a first unweighted and a first weighted lift in a new process,
    with an empty numba cache (everything compiles) and again with the cache it filled."""
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        times = {}
        for name in ("compiling", "cached"):
            done = subprocess.run([sys.executable, "-c", FIRST_LIFT], env=environment, capture_output=True, text=True,
                                  check=True)
            times[name] = float(done.stdout.strip().splitlines()[-1])
    return times


def one_pose_ms(lifter: Lifter, points: np.ndarray) -> float:
    """Milliseconds to lift one pose with confidences of its own (best of 200)."""
    weights = np.random.default_rng(2).uniform(0.3, 1.0, (len(points), 17))
    lifter.lift(points[:1], weights[:1])
    return 1000 * min(timed(lambda i=i: lifter.lift(points[i:i + 1], weights[i:i + 1]), repeats=1) for i in range(200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--continuous-frames", type=int, default=2000)
    parser.add_argument("--reference-frames", type=int, default=24,
                        help="over 16, so that continuous weights take the frame-by-frame path")
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    points = frames_2d(args.data, args.frames)
    priors = {3: PosePrior.default()}
    priors[1] = fit_prior(h36m.stack_poses(h36m.TRAIN_SUBJECTS, args.data, step=10), n_components=1,
                          n_basis=priors[3].n_basis).prior
    rows = []
    header = (f"{'K':>2} {'angles':>6} {'weights':>10} {'frames':>7} {'fps':>10} {'ref fps':>8} {'speed-up':>9} "
              f"{'max diff mm':>12}")
    print(header)
    for k in (1, 3):
        for angles in (80, 100):
            lifter = Lifter(priors[k], angles=angles)
            for case in ("none", "binary", "continuous"):
                n = args.continuous_frames if case == "continuous" else args.frames
                w = weights_for(case, n)
                lifter.lift(points[:n], w)  # the search tables of every pattern are built before the timing
                seconds = timed(lambda lifter=lifter, n=n, w=w: lifter.lift(points[:n], w), repeats=3)
                m = args.reference_frames
                sub_w = None if w is None else w[:m]
                start = time.perf_counter()
                reference = lift_reference(points[:m], priors[k], sub_w, angles=angles)
                ref_seconds = time.perf_counter() - start
                diff = float(np.abs(lifter.lift(points[:m], sub_w).pose_3d - reference["pose_3d"]).max())
                row = {"components": k, "angles": angles, "weights": case, "frames": n, "fps": n / seconds,
                       "reference_fps": m / ref_seconds, "max_difference_mm": diff}
                row["speed_up"] = row["fps"] / row["reference_fps"]
                rows.append(row)
                print(f"{k:>2} {angles:>6} {case:>10} {n:>7} {row['fps']:>10.0f} {row['reference_fps']:>8.1f} "
                      f"{row['speed_up']:>9.0f} {diff:>12.1e}")
                if diff > 1e-6:
                    raise SystemExit(f"fast and reference lifting disagree by {diff} mm")
    photo = one_pose_ms(Lifter(priors[3]), points)
    print(f"one pose with its own weights (3 components, 80 angles): {photo:.3f} ms")
    first = first_lift_seconds()
    print(f"first lifts in a new process: {first['compiling']:.1f} s compiling, {first['cached']:.1f} s from the cache")
    out = {"machine": platform.platform(), "input": "H36M S9 every 10th frame, 4 cameras, ground-truth 2D",
           "refine_steps": 8, "rows": rows, "one_pose_ms": photo, "first_lift_seconds": first}
    (RESULTS / "lifting_speed.json").write_text(json.dumps(out, indent=1))
    print(f"wrote {RESULTS / 'lifting_speed.json'}")


if __name__ == "__main__":
    main()
