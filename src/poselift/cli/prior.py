"""``poselift train-prior`` and ``poselift show-prior``: the 3D pose prior of section 4."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .common import add_prior_option, load_prior, positive_int, writable_output

__all__ = ["add_parsers"]


def add_parsers(commands) -> None:
    from ..datasets.h36m import TRAIN_SUBJECTS
    from ..prior.fit import DEFAULT_BASIS, DEFAULT_COMPONENTS

    train = commands.add_parser("train-prior", help="fit the 3D pose prior (paper section 4) to mocap")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--subjects", nargs="+", default=list(TRAIN_SUBJECTS),
                        help="Human3.6M subjects (default: the protocol #1 training split)")
    source.add_argument("--mocap", type=Path, help="a folder of CMU .bvh or .asf/.amc files instead of Human3.6M")
    train.add_argument("--data", type=Path, help="data folder laid out like shared/data (default: ../shared/data)")
    train.add_argument("--components", type=positive_int, default=DEFAULT_COMPONENTS, help="mixture components K")
    train.add_argument("--basis", type=positive_int, default=DEFAULT_BASIS, help="basis size J per component")
    train.add_argument("--step", type=positive_int, default=1, help="use every N-th frame")
    train.add_argument("--no-mirror", action="store_true", help="do not add left/right mirrored copies")
    train.add_argument("--seed", type=int, default=0, help="random seed of the seeding subsample")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.add_argument("--out", required=True, help="the .npz file to write")
    train.set_defaults(run=train_prior)

    show = commands.add_parser("show-prior", help="draw each component's mean pose and samples as a PNG")
    add_prior_option(show)
    show.add_argument("--samples", type=positive_int, default=4, help="samples per component")
    show.add_argument("--seed", type=int, default=0)
    show.add_argument("--out", required=True, help="the PNG to write")
    show.set_defaults(run=show_prior)


def train_prior(args: argparse.Namespace) -> int:
    from ..datasets import cmu, h36m
    from ..prior.fit import fit_prior

    out = writable_output(Path(args.out))
    frames = "all frames" if args.step == 1 else f"every {args.step}th frame"
    if args.mocap is not None:
        clips = cmu.read_cmu_folder(args.mocap)
        poses = np.concatenate([c[:: args.step] for c in clips.values()])
        described = f"CMU mocap: {len(clips)} clips from {args.mocap}, {frames}"
    else:
        poses = h36m.stack_poses(args.subjects, args.data, step=args.step)
        described = f"Human3.6M {' '.join(args.subjects)}, {frames}"
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


def show_prior(args: argparse.Namespace) -> int:
    from ..visualize import prior_figure, save_figure

    out = writable_output(Path(args.out))
    prior = load_prior(args.prior)
    save_figure(prior_figure(prior, n_samples=args.samples, seed=args.seed), out)
    print(f"{prior.describe()}\nwrote {out}")
    return 0
