"""Poses per second of the learned and combined lifters, batched and one at a time, against the prior lifter.

Inputs: Human3.6M S9 poses (every 10th frame) projected by its four cameras (ground-truth
2D), confidences drawn in [0.3, 1] (every pose its own weights: the case of OpenPose or
BlazePose output). The three lifters run in this process on the same poses: the learned one
(the shipped weights, mirror-averaged, 2 threads), the prior one (3 components x 80 angles,
refinement on) and the two combined (the prior's search with the learned pose as a term).
Also the learned lifter batched with untrained networks of other widths (``--widths``; the
shipped one is 512 wide), and one training step (forward, backward, Adam; a batch of 1,024
random inputs, as ``poselift train-lifter``) at the shipped width and those: what a wider
network would cost. Prints a table and writes ``benchmarks/results/learned_lifter_speed.json``.

    python benchmarks/learned_lifter_speed.py [--frames 20000] [--weights runs/lifter/lifter.pt] [--widths 768 1024]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from poselift.datasets import h36m
from poselift.lifting import Lifter
from poselift.lifting.combined import CombinedLifter
from poselift.lifting.learned import LearnedLifter
from poselift.nn.lifter_network import LifterNetwork
from poselift.prior.model import PosePrior

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(function, repeats: int = 3) -> float:
    """The shortest of ``repeats`` runs, seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def training_step_seconds(settings: dict, batch: int = 1024, steps: int = 10) -> float:
    """The shortest of ``steps`` training steps of an untrained network with ``settings``, 2 threads."""
    torch.manual_seed(0)
    network = LifterNetwork(**settings).train()
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)
    inputs, target = torch.randn(batch, 36), torch.randn(batch, 17, 3)

    def step() -> None:
        optimiser.zero_grad()
        (network(inputs) - target).norm(dim=-1).mean().backward()
        optimiser.step()

    step()  # the first allocates
    return best_of(step, repeats=steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--weights", help="a lifter.pt (default: the shipped one)")
    parser.add_argument("--widths", type=int, nargs="*", default=[768, 1024],
                        help="widths of the untrained networks also timed")
    args = parser.parse_args()
    cameras = h36m.load_cameras()["S9"]
    poses = np.concatenate([p[::10] for p in h36m.load_poses_3d("S9").values()]).astype(np.float64)
    points = np.concatenate([c.project(poses) for c in cameras])
    points = points[np.random.default_rng(0).permutation(len(points))[: args.frames]]
    weights = np.random.default_rng(1).uniform(0.3, 1.0, points.shape[:2])
    learned, prior = LearnedLifter(args.weights, threads=2), Lifter(PosePrior.default())
    combined = CombinedLifter(learned=learned)
    prior_frames = min(len(points), 400)  # the prior lifter with weights of their own is slow: fewer frames
    rows = [
        {"lifter": "learned", "case": "batched", "frames": len(points),
         "seconds": best_of(lambda: learned.lift(points, weights))},
        {"lifter": "learned", "case": "one pose a call", "frames": 200,
         "seconds": best_of(lambda: [learned.lift(points[i], weights[i]) for i in range(200)])},
        {"lifter": "prior", "case": "batched", "frames": prior_frames,
         "seconds": best_of(lambda: prior.lift(points[:prior_frames], weights[:prior_frames]), repeats=1)},
        {"lifter": "prior", "case": "one pose a call", "frames": 50,
         "seconds": best_of(lambda: [prior.lift(points[i], weights[i]) for i in range(50)], repeats=1)},
        {"lifter": "combined", "case": "batched", "frames": prior_frames,
         "seconds": best_of(lambda: combined.lift(points[:prior_frames], weights[:prior_frames]), repeats=1)},
        {"lifter": "combined", "case": "one pose a call", "frames": 50,
         "seconds": best_of(lambda: [combined.lift(points[i], weights[i]) for i in range(50)], repeats=1)},
    ]
    for width in args.widths:
        wider = copy.copy(learned)  # the same lifter but for its network
        wider.network = LifterNetwork(**{**learned.network.settings, "width": width}).eval()
        rows.append({"lifter": f"learned, untrained, {width} wide", "case": "batched", "frames": len(points),
                     "seconds": best_of(partial(wider.lift, points, weights))})
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    for width in [learned.network.settings["width"], *args.widths]:
        rows.append({"lifter": f"network, {width} wide", "case": "training step", "frames": 1024,
                     "seconds": training_step_seconds({**learned.network.settings, "width": width})})
    torch.set_num_threads(previous)
    print(f"{'lifter':<30}{'case':<17}{'frames':>8}{'poses/s':>11}{'ms/pose':>10}")
    for row in rows:
        row["poses_per_second"] = row["frames"] / row["seconds"]
        row["ms_per_pose"] = 1000.0 * row["seconds"] / row["frames"]
        print(f"{row['lifter']:<30}{row['case']:<17}{row['frames']:>8}{row['poses_per_second']:>11.0f}"
              f"{row['ms_per_pose']:>10.3f}")
    batched = {row["lifter"]: row["poses_per_second"] for row in rows if row["case"] == "batched"}
    print(f"learned / prior, batched with confidences: {batched['learned'] / batched['prior']:.0f}x; "
          f"combined / prior: {batched['combined'] / batched['prior']:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "learned_lifter_speed.json").write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "weights": str(learned.path), "rows": rows,
        "speed_up_batched": batched["learned"] / batched["prior"],
        "combined_over_prior_batched": batched["combined"] / batched["prior"]}, indent=1))


if __name__ == "__main__":
    main()
