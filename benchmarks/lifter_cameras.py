"""Choosing the learned lifter's training settings (virtual cameras, proportions, dropout) on a validation subject.

Each run trains the network for 4,000 steps (rate halving every 1,000) on Human3.6M S1 S5 S6
S7 (every 2nd frame; ``--train``) with one setting, then measures protocol #1 on S8
(``--validate``: every 5th frame, all four cameras, 17 joints), the network alone, from
ground-truth 2D and from the Stacked-Hourglass detections; average over actions, mm (the
camera's focal length and principal point given, so that a network answering in the ray's
frame is turned back). Prints a table and writes each run's rows into
``benchmarks/results/lifter_cameras.json`` (``--json``) as it ends (the rows of the runs not
run are kept). A run takes 5 to 6 minutes here (2 cores).

    python benchmarks/lifter_cameras.py [--runs ray proportions ...] [--out runs/lifter_cameras] [--measure-only]
    python benchmarks/lifter_cameras.py --train S1 S5 S6 S8 --validate S7 --json lifter_cameras_S7.json \
        --out runs/lifter_cameras_S7 --runs ray proportions_wide     # another validation subject
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
from poselift.nn.models import load_torch_file
from poselift.prior.model import PosePrior
from poselift.training.lifter import LifterSettings, train_lifter

RESULTS = Path(__file__).resolve().parent / "results"
RUNS = {
    "rolled": {"roll_deg": 5.0, "off_axis_deg": (25.0, 18.0), "answer_frame": "camera"},  # docs' run C
    "level": {"roll_deg": 0.0, "off_axis_deg": (10.0, 8.0), "answer_frame": "camera"},  # run D
    "ray_wide": {"roll_deg": 0.0, "off_axis_deg": (25.0, 18.0), "answer_frame": "ray"},  # run F
    "ray": {"roll_deg": 0.0, "off_axis_deg": (10.0, 8.0), "answer_frame": "ray"},  # run G: the shipped settings
    "proportions": {"bone_scale": 0.08},  # run J: G's, with bodies of other proportions
    "proportions_wide": {"bone_scale": 0.15},  # run K: as J, further from the mocap's
    "proportions_wider": {"bone_scale": 0.25},  # run L: further still
    "dropout": {"dropout": 0.25},  # run M: G's, with more dropout
    "ray_seed1": {"seed": 1},  # G's with another seed: how far one 4,000-step run is from the next
    "ankles": {"ankle_lift": (0.0, 0.2)},  # run P: G's, ankles placed up to 20% up the shank, as SH places them
}
"""Named settings (fields of :class:`~poselift.training.lifter.LifterSettings`); the rest are the defaults."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    parser.add_argument("--out", type=Path, default=Path("runs/lifter_cameras"), help="a folder per run")
    parser.add_argument("--train", nargs="+", default=["S1", "S5", "S6", "S7"], help="subjects trained on")
    parser.add_argument("--validate", default="S8", help="the subject measured (never S9 or S11)")
    parser.add_argument("--json", default="lifter_cameras.json", help="file name in benchmarks/results")
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the runs' weights already in --out (their training time is not known)")
    args = parser.parse_args()
    if {args.validate, *args.train} & {"S9", "S11"} or args.validate in args.train:
        parser.error("train and validate on different subjects, never on S9 or S11")
    path = RESULTS / args.json
    if path.is_file():
        stored = json.loads(path.read_text())
        if (stored["trained_on"], stored["subjects"]) != (args.train, [args.validate]):
            parser.error(f"{path} holds runs trained on {stored['trained_on']} and measured on {stored['subjects']}; "
                         "name another --json")
    data = f"Human3.6M {' '.join(args.train)}, every 2 frame(s)"
    if not args.measure_only:
        poses, validation = h36m.stack_poses(args.train, step=2), h36m.stack_poses([args.validate], step=10)
    prior = PosePrior.default()
    print(f"{'run':<18}{'input':<7}{'MPJPE':>8}{'PA-MPJPE':>10}{'train s':>9}")
    for name in args.runs:
        weights = args.out / name / "lifter.pt"
        seconds = None
        if args.measure_only:
            stored = load_torch_file(weights, "learned-lifter")
            if stored["data"] != data:
                parser.error(f"{weights} was trained on {stored['data']!r}, not {data!r}")
            settings = LifterSettings.from_dict(stored["training"])
        else:
            settings = LifterSettings(steps=4000, halving_steps=1000, **RUNS[name])
            started = time.perf_counter()
            train_lifter(poses, settings, args.out / name, validation, data=data, progress=False)
            seconds = time.perf_counter() - started
        learned = LearnedLifter(weights)
        rows = []
        for source in ("gt", "sh"):
            result = evaluate_h36m(prior, 1, source, subjects=(args.validate,), lifter="learned", learned=learned)
            average = result["average_over_actions"]
            rows.append({"run": name, "input": source, **average, "frames": sum(result["frames"].values()),
                         "train_seconds": seconds, "settings": asdict(settings)})
            print(f"{name:<18}{source:<7}{average['mpjpe']:>8.1f}{average['pa_mpjpe']:>10.1f}"
                  f"{'' if seconds is None else f'{seconds:.0f}':>9}")
        _store(path, name, rows, args.train, args.validate)


def _store(path: Path, name: str, rows: list[dict], train: list[str], validate: str) -> None:
    """Writes one run's rows into ``path``, replacing that run's and keeping the others'."""
    RESULTS.mkdir(exist_ok=True)
    if path.is_file():
        rows = [row for row in json.loads(path.read_text())["rows"] if row["run"] != name] + rows
    path.write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "trained_on": train, "subjects": [validate], "protocol": "#1", "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
