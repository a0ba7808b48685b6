"""Seconds per training step (forward and backward) of both configurations on this machine.

    python benchmarks/train_step_time.py [--repeats 3]

Random inputs of the real shapes; the best of ``--repeats`` steps. ``cpm`` at CPM's widths
(128) and at 32, a batch of 4 crops of 368 pixels; ``blazepose`` with the shipped stages'
settings, a batch of 16. Prints a table and writes ``benchmarks/results/train_step_time.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from poselift.nn.network import stage_losses
from poselift.prior import PosePrior
from poselift.skeleton import LSP14
from poselift.training import BlazePoseStages, CpmNetwork, TrainSettings

RESULTS = Path(__file__).parent / "results" / "train_step_time.json"


def _step_seconds(model, inputs, target, first, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.zero_grad()
        stage_losses(model(*inputs), target, first=first).sum().backward()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    prior = PosePrior.default()
    rows = []
    for width in (128, 32):
        settings = TrainSettings.defaults("cpm", width=width)
        model = CpmNetwork(prior, settings, LSP14)
        inputs = (torch.rand(4, 3, 368, 368),)
        seconds = _step_seconds(model, inputs, torch.rand(4, 15, 46, 46), 0, args.repeats)
        rows.append({"config": "cpm", "width": width, "stages": settings.stages, "batch": 4,
                     "parameters": sum(p.numel() for p in model.parameters()), "seconds_per_step": seconds,
                     "hours_per_10000_examples": seconds / 4 * 10_000 / 3600})
    settings = TrainSettings.defaults("blazepose", flip=True, epochs=6)
    model = BlazePoseStages(prior, settings)
    inputs = (torch.rand(16, 3, 128, 128), torch.rand(16, 13, 64, 64))
    seconds = _step_seconds(model, inputs, torch.rand(16, 14, 64, 64), 1, args.repeats)
    rows.append({"config": "blazepose", "width": settings.width, "stages": settings.stages, "batch": 16,
                 "parameters": sum(p.numel() for p in model.parameters()), "seconds_per_step": seconds,
                 "hours_per_10000_examples": seconds / 16 * 10_000 / 3600})
    print(f"{'config':<10}{'width':>6}{'stages':>7}{'batch':>6}{'params (M)':>12}{'s/step':>9}{'h/10k':>8}")
    for r in rows:
        print(f"{r['config']:<10}{r['width']:>6}{r['stages']:>7}{r['batch']:>6}{r['parameters'] / 1e6:>12.2f}"
              f"{r['seconds_per_step']:>9.2f}{r['hours_per_10000_examples']:>8.2f}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "threads": torch.get_num_threads(),
                                   "rows": rows}, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
