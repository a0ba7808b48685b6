"""What every command shares: option types, checks made before any work, the prior to use."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from ..files import check_replaceable

__all__ = ["positive_int", "bounded_int", "finite_float", "fraction", "writable_output", "output_folder", "load_prior",
           "add_prior_option", "DeprecatedAlias"]

MAX_ANGLES = 3600
"""Most ground-plane angles ``--angles`` takes (0.1 degree apart; the tables grow with the count)."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def bounded_int(low: int, high: int):
    """An argparse type: a whole number in [low, high]."""
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, got {text}")
        return value
    return parse


def finite_float(text: str) -> float:
    """An argparse type: a finite number (no NaN or infinity)."""
    value = float(text)
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0 (a frame rate)."""
    value = finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def fraction(text: str) -> float:
    """An argparse type: a number in [0, 1] (a weight)."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {text}")
    return value


def writable_output(path: Path) -> Path:
    """``path``, if it can be written (its folder exists and is writable, and it is not a folder,
    device or pipe): checked before any work."""
    check_replaceable(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"{parent}: output folder is not writable")
    return path


def output_folder(path: str | Path) -> Path:
    """The folder ``path``, created if missing; checked writable before any work."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder}: exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{folder}: output folder is not writable")
    return folder


def load_prior(path: str | None):
    """The prior in ``path``, or the shipped one."""
    from ..prior.model import PosePrior

    return PosePrior.load(path) if path else PosePrior.default()


def add_prior_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prior", help="a prior .npz (default: the shipped one)")


def add_lifter_options(parser: argparse.ArgumentParser) -> None:
    """``--lifter`` and ``--lifter-weights`` (:mod:`poselift.lifting.choice`)."""
    from ..lifting.choice import DEFAULT_LIFTER, LIFTERS

    parser.add_argument("--lifter", choices=LIFTERS, default=DEFAULT_LIFTER,
                        help="prior: the paper's lifter (section 5.3); learned: the network trained on mocap "
                             "alone; combined: the prior's search pulled towards the network's pose "
                             f"(default {DEFAULT_LIFTER})")
    parser.add_argument("--lifter-weights", help="a lifter.pt of poselift train-lifter (default: the shipped one)")


def add_hypotheses_option(parser: argparse.ArgumentParser) -> None:
    """``--hypotheses K`` (:mod:`poselift.lifting.hypotheses`)."""
    from ..lifting.hypotheses import MAX_HYPOTHESES

    parser.add_argument("--hypotheses", type=bounded_int(1, MAX_HYPOTHESES), metavar="K",
                        help="also give up to K 3D poses that explain the 2D, most probable first, with their "
                             "probabilities and each joint's uncertainty (prior and combined lifters)")


def add_smoothing_option(parser: argparse.ArgumentParser, default: str = "none") -> None:
    """``--smoothing MODE`` (:mod:`poselift.video.smoothing`)."""
    from ..video.smoothing import OFFLINE_LAG_S, SMOOTHING_MODES

    parser.add_argument("--smoothing", choices=SMOOTHING_MODES, default=default,
                        help="smooth each person's 3D pose over time: causal (each frame from the ones before "
                             f"it, for live use) or offline (with {OFFLINE_LAG_S:g} s of later frames too); "
                             f"default {default}")


def smoothing_of(args: argparse.Namespace):
    """The :class:`~poselift.video.smoothing.Smoothing` ``--smoothing`` names."""
    from ..video.smoothing import SMOOTHINGS

    return SMOOTHINGS[args.smoothing]


def lifter_weights(args: argparse.Namespace) -> str | None:
    """``--lifter-weights``, refused with the paper's lifter (it has no network)."""
    if args.lifter == "prior" and args.lifter_weights:
        raise ValueError("--lifter-weights needs --lifter learned or combined")
    return args.lifter_weights


class DeprecatedAlias(argparse.Action):
    """An old option name kept for one release: stores into the new option and says so on stderr."""

    def __init__(self, option_strings, dest, new_name: str, **kwargs):
        self.new_name = new_name
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"poselift: {option_string} is deprecated, use {self.new_name}", file=sys.stderr)
        setattr(namespace, self.dest, True if self.nargs == 0 else values)


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """Options of runs over many inputs (:mod:`poselift.batch`), for ``estimate`` and ``lift``."""
    parser.add_argument("--list", metavar="FILE", help="a text file naming one input per line")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=positive_int, metavar="N",
                         help="run on a local Dask cluster of N worker processes")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786)")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo inputs whose outputs an earlier run left complete (default: skip them)")
    parser.add_argument("--summary", metavar="FILE",
                        help="write one row per input: Parquet for a .parquet name, else JSON lines")


def batch_cluster(args: argparse.Namespace):
    """The :class:`~poselift.batch.engine.Cluster` of ``--workers`` / ``--scheduler``."""
    from ..batch.engine import Cluster

    return Cluster(args.workers, args.scheduler)


def finish_batch(rows: list, summary: Path | None, inputs: int) -> None:
    """Write the run summary (if asked for) and print the totals of a run over more than one input."""
    from ..batch.summary import totals_line, write_summary

    if summary is not None:
        write_summary(summary, rows)
    if inputs > 1 or summary is not None:
        print(totals_line(rows, inputs) + (f"; summary in {summary}" if summary is not None else ""))
