"""The ``poselift`` command line.

Every command reports a bad input as ``poselift: <what is wrong>`` on stderr with exit
status 1 (2 for a malformed command line); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def _writable_output(path: Path) -> Path:
    """Fail before any work if ``path`` cannot be written (missing folder, no permission)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"{parent}: output folder is not writable")
    return path


# ---- train-prior ---------------------------------------------------------------------
def _train_prior(args: argparse.Namespace) -> int:
    from .datasets import cmu, h36m
    from .prior.fit import fit_prior

    out = _writable_output(Path(args.out))
    if args.mocap is not None:
        clips = cmu.read_cmu_folder(args.mocap)
        poses = np.concatenate([c[:: args.step] for c in clips.values()])
        described = f"CMU mocap: {len(clips)} clips from {args.mocap}, every {args.step}th frame"
    else:
        poses = h36m.stack_poses(args.subjects, args.data, step=args.step)
        described = f"Human3.6M {' '.join(args.subjects)}, every {args.step}th frame"
    print(f"poselift: fitting {args.components} components x {args.basis} basis to {len(poses)} poses "
          f"({described})", file=sys.stderr)
    start = time.perf_counter()
    report = fit_prior(poses, "h36m17", n_components=args.components, n_basis=args.basis,
                       add_mirrored=not args.no_mirror, seed=args.seed, training_data=described,
                       progress=not args.quiet)
    report.prior.save(out)
    seconds = time.perf_counter() - start
    print(f"{report.prior.describe()}\nwrote {out} in {seconds:.0f} s "
          f"(alignment {report.seconds['alignment']:.0f} s, mixture {report.seconds['mixture']:.0f} s)")
    if report.prior.n_components < args.components:
        print(f"note: seeding (section 4.2) found only {report.prior.n_components} distinct modes", file=sys.stderr)
    return 0


# ---- show-prior ----------------------------------------------------------------------
def _show_prior(args: argparse.Namespace) -> int:
    from .prior.model import PosePrior
    from .visualize import prior_figure, save_figure

    out = _writable_output(Path(args.out))
    prior = PosePrior.load(args.prior) if args.prior else PosePrior.default()
    save_figure(prior_figure(prior, n_samples=args.samples, seed=args.seed), out)
    print(f"{prior.describe()}\nwrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    from .datasets.h36m import TRAIN_SUBJECTS
    from .prior.fit import DEFAULT_BASIS, DEFAULT_COMPONENTS

    parser = argparse.ArgumentParser(prog="poselift", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train-prior", help="fit the 3D pose prior (paper section 4) to mocap")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--subjects", nargs="+", default=list(TRAIN_SUBJECTS),
                        help="Human3.6M subjects (default: the protocol #1 training split)")
    source.add_argument("--mocap", type=Path, help="a folder of CMU .bvh or .asf/.amc files instead of Human3.6M")
    train.add_argument("--data", type=Path, help="data folder laid out like shared/data (default: ../shared/data)")
    train.add_argument("--components", type=_positive_int, default=DEFAULT_COMPONENTS, help="mixture components K")
    train.add_argument("--basis", type=_positive_int, default=DEFAULT_BASIS, help="basis size J per component")
    train.add_argument("--step", type=_positive_int, default=1, help="use every N-th frame")
    train.add_argument("--no-mirror", action="store_true", help="do not add left/right mirrored copies")
    train.add_argument("--seed", type=int, default=0, help="random seed of the seeding subsample")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--out", required=True, help="the .npz file to write")
    train.set_defaults(run=_train_prior)

    show = commands.add_parser("show-prior", help="draw each component's mean pose and samples as a PNG")
    show.add_argument("--prior", help="a prior .npz (default: the shipped one)")
    show.add_argument("--samples", type=_positive_int, default=4, help="samples per component")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--out", required=True, help="the PNG to write")
    show.set_defaults(run=_show_prior)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:
        if args.verbose:
            traceback.print_exc()
        print(f"poselift: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("poselift: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
