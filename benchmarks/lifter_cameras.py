"""Choosing the learned lifter's virtual cameras on the validation subject S8.

Each run trains the network for 4,000 steps (rate halving every 1,000) on Human3.6M S1 S5 S6
S7 (every 2nd frame) with one camera setting, then measures protocol #1 on S8 (every 5th
frame, all four cameras, 17 joints), the network alone, from ground-truth 2D and from the
Stacked-Hourglass detections; average over actions, mm (the camera's focal length and
principal point given, so that a network answering in the ray's frame is turned back). Prints a
table and writes ``benchmarks/results/lifter_cameras.json`` (the rows of the runs not run are
kept). A run takes 5 to 6 minutes here (2 cores).

    python benchmarks/lifter_cameras.py [--runs rolled level ray ray_wide] [--out runs/lifter_cameras]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

from poselift.datasets import h36m
from poselift.evaluation.h36m import evaluate_h36m
from poselift.lifting.learned import LearnedLifter
from poselift.prior.model import PosePrior
from poselift.training.lifter import LifterSettings, train_lifter

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = {
    "rolled": {"roll_deg": 5.0, "off_axis_deg": (25.0, 18.0), "answer_frame": "camera"},  # docs' run C
    "level": {"roll_deg": 0.0, "off_axis_deg": (10.0, 8.0), "answer_frame": "camera"},  # run D
    "ray_wide": {"roll_deg": 0.0, "off_axis_deg": (25.0, 18.0), "answer_frame": "ray"},  # run F
    "ray": {"roll_deg": 0.0, "off_axis_deg": (10.0, 8.0), "answer_frame": "ray"},  # run G: the shipped settings
}
"""Named camera settings (fields of :class:`~poselift.training.lifter.LifterSettings`); the rest are the defaults."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument("--out", type=Path, default=Path("runs/lifter_cameras"), help="a folder per run")
    args = parser.parse_args()
    poses = h36m.stack_poses(["S1", "S5", "S6", "S7"], step=2)
    validation = h36m.stack_poses(["S8"], step=10)
    prior, rows = PosePrior.default(), []
    print(f"{'run':<8}{'input':<7}{'MPJPE':>8}{'PA-MPJPE':>10}{'train s':>9}")
    for name in args.runs:
        settings = LifterSettings(steps=4000, halving_steps=1000, **RUNS[name])
        started = time.perf_counter()
        train_lifter(poses, settings, args.out / name, validation, data="Human3.6M S1 S5 S6 S7, every 2 frame(s)",
                     progress=False)
        seconds = time.perf_counter() - started
        learned = LearnedLifter(args.out / name / "lifter.pt")
        for source in ("gt", "sh"):
            result = evaluate_h36m(prior, 1, source, subjects=("S8",), lifter="learned", learned=learned)
            average = result["average_over_actions"]
            rows.append({"run": name, "input": source, **average, "frames": sum(result["frames"].values()),
                         "train_seconds": seconds, "settings": asdict(settings)})
            print(f"{name:<8}{source:<7}{average['mpjpe']:>8.1f}{average['pa_mpjpe']:>10.1f}{seconds:>9.0f}")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "lifter_cameras.json"
    if path.is_file():
        rows = [row for row in json.loads(path.read_text())["rows"] if row["run"] not in args.runs] + rows
    path.write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "trained_on": ["S1", "S5", "S6", "S7"], "subjects": ["S8"], "protocol": "#1", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
