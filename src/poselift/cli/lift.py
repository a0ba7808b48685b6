"""``poselift lift``: 2D keypoints from a file to 3D under the prior (section 5.3)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..files import json_header, rounded, write_json
from .common import (
    MAX_ANGLES,
    add_lifter_options,
    add_prior_option,
    bounded_int,
    finite_float,
    fraction,
    lifter_weights,
    load_prior,
    writable_output,
)

__all__ = ["SCHEMA_VERSION", "LIFT_BLOCK", "add_parser"]

SCHEMA_VERSION = 2
"""Version of the ``poselift.lift`` JSON document (docs/output-format.md)."""

LIFT_BLOCK = 2048
"""Frames lifted at a time, so that long files show progress."""


def add_parser(commands) -> None:
    from ..keypoints import FORMATS
    from ..lifting import DEFAULT_ANGLES
    from ..skeleton import JOINT_SETS

    lift = commands.add_parser("lift", help="lift 2D keypoints from a file to 3D (paper section 5.3)")
    lift.add_argument("keypoints", help="the keypoint file")
    lift.add_argument("--format", choices=FORMATS, required=True, help="the file's format")
    lift.add_argument("--joints", choices=sorted(JOINT_SETS), default="h36m17", help="joint set of --format npy")
    add_prior_option(lift)
    lift.add_argument("--angles", type=bounded_int(1, MAX_ANGLES), default=DEFAULT_ANGLES,
                      help=f"ground-plane angles searched (1 to {MAX_ANGLES})")
    lift.add_argument("--approximate-weight", type=fraction, default=0.0,
                      help="weight of joints the input only approximates (e.g. a head top from ears)")
    lift.add_argument("--height-mm", type=finite_float,
                      help="the person's height from ankles to head top (default: the training poses' size)")
    lift.add_argument("--focal-px", type=finite_float,
                      help="focal length in pixels: correct for perspective and place each pose in camera space")
    lift.add_argument("--principal-px", type=finite_float, nargs=2, metavar=("X", "Y"),
                      help="principal point in pixels")
    add_lifter_options(lift)
    lift.add_argument("--out", required=True, help="the JSON to write")
    lift.add_argument("--bvh", metavar="FILE", help="also write the poses, frame after frame, as one BVH motion")
    lift.add_argument("--csv", metavar="FILE", help="also write a CSV table: one row per pose and joint")
    lift.add_argument("--html", metavar="FILE", help="also write a 3D viewer: one HTML file that opens offline")
    lift.add_argument("--quiet", action="store_true", help="no progress bar")
    lift.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..camera_space import Camera, place_root, placement_fields
    from ..export import write_exports
    from ..export.result import result_from_document
    from ..keypoints import read_keypoints
    from ..lifting.choice import build_lifter, lift_diagnostics, lifter_settings
    from ..skeleton import H36M17, convert

    out = writable_output(Path(args.out))
    exports = {kind: writable_output(Path(path)) for kind, path in
               (("bvh", args.bvh), ("csv", args.csv), ("html", args.html)) if path is not None}
    taken = [out, *exports.values()]
    if len({path.resolve() for path in taken}) < len(taken):
        raise ValueError("--out, --bvh, --csv and --html must name different files")
    if args.focal_px is not None and args.principal_px is None:
        raise ValueError("--focal-px needs --principal-px X Y (the principal point, often the image centre)")
    camera = None if args.focal_px is None else Camera(args.focal_px, tuple(args.principal_px), "focal-px")
    learned_only = args.lifter == "learned"
    if learned_only and args.height_mm is not None:
        raise ValueError("--height-mm is the prior's and the combined lifter's; the learned lifter answers at the "
                         "size of its training subjects")
    if learned_only and args.prior:
        raise ValueError("--prior needs --lifter prior or combined: the learned lifter uses no prior")
    prior = None if learned_only else load_prior(args.prior)
    if prior is not None:
        prior.millimetres_per_unit(args.height_mm)  # an impossible height fails before any work
    lifter = build_lifter(args.lifter, prior, lifter_weights(args), **({} if learned_only else {"angles": args.angles}))
    target = H36M17 if prior is None else prior.joint_set
    keypoints = read_keypoints(args.keypoints, args.format, args.joints)
    conversion = convert(keypoints.points, keypoints.joint_set, target, keypoints.weights)
    weights = conversion.weights.copy()
    for name in conversion.approximate:
        weights[:, target.index(name)] *= args.approximate_weight

    def lift(points, w):
        if camera is None or learned_only:
            return lifter.lift(points, w, args.height_mm)
        return lifter.lift_perspective(points, args.focal_px, args.principal_px, w, height_mm=args.height_mm)

    problems = lifter.problems(conversion.points, weights)
    todo = np.flatnonzero([problem is None for problem in problems])
    lifted, done, block_problems = _lift_in_blocks(lift, conversion.points[todo], weights[todo],
                                                   progress=not args.quiet)
    for i, problem in zip(todo, block_problems):
        problems[i] = problem
    if not len(done):
        first = next(i for i, problem in enumerate(problems) if problem)
        raise ValueError(f"{args.keypoints}: no pose could be lifted; "
                         f"pose {keypoints.labels[first]}: {problems[first]}")
    row = dict(zip(todo[done], range(len(done))))
    roots = None if camera is None else place_root(lifted.pose_3d, conversion.points[todo[done]],
                                                   weights[todo[done]], camera)
    poses = [{"label": label, "lifted": True, "joints_3d_mm": rounded(lifted.pose_3d[row[i]], "mm"),
              "projected_2d_px": rounded(lifted.projected_2d[row[i]], "px"), "weights": rounded(weights[i], "fraction"),
              **lift_diagnostics(lifted, row[i]),
              **placement_fields(None if roots is None else roots[row[i]], lifted.pose_3d[row[i]])} if i in row else
             {"label": label, "lifted": False, "error": problems[i]} for i, label in enumerate(keypoints.labels)]
    document = {
        **json_header("lift", SCHEMA_VERSION),
        "input": str(args.keypoints), "input_format": args.format, "input_joint_set": keypoints.joint_set.name,
        "joint_set": target.name,
        "joint_names": list(target.joints),
        "approximate_joints": list(conversion.approximate), "missing_joints": list(conversion.missing),
        "frame": "3D in mm relative to the pelvis; x right, y up, z towards the camera",
        **lifter_settings(lifter),
        "perspective_correction": camera is not None and not learned_only,
        "camera": None if camera is None else camera.describe(),
        "prior": None if prior is None else prior.describe(),
        "poses": poses,
    }
    write_exports(result_from_document(document, str(out)), exports)
    write_json(out, document)
    print(f"lifted {len(done)} pose(s) from {args.keypoints}; wrote {', '.join(map(str, [*exports.values(), out]))}")
    failed = [i for i, problem in enumerate(problems) if problem]
    if failed:
        print(f"poselift: {args.keypoints}: {len(failed)} of {len(problems)} pose(s) could not be lifted and are "
              f"marked so in {out}; the first, pose {keypoints.labels[failed[0]]}: {problems[failed[0]]}",
              file=sys.stderr)
    if conversion.missing:
        print(f"note: {keypoints.joint_set.name} lacks {', '.join(conversion.missing)}: filled in by the "
              f"{'learned lifter' if learned_only else 'prior'}", file=sys.stderr)
    return 0


def _lift_in_blocks(lift, points: np.ndarray, weights: np.ndarray, progress: bool):
    """``lift(points, weights)`` over blocks of :data:`LIFT_BLOCK` frames, with a progress bar
    (frames per second) on stderr when there is more than one block.

    A block that fails is lifted again pose by pose, so that one pose that cannot be lifted
    (no rotation gives a positive scale) fails alone; so does a pose whose lift is not finite.

    Returns:
        The lift (a :class:`~poselift.lifting.Lifted` or a :class:`~poselift.lifting.learned.LearnedLift`) of the
        poses lifted, their indices (m,) among the (n,) poses given, and per pose given None or why it could
        not be lifted.
    """
    from dataclasses import fields

    from tqdm import tqdm

    blocks, done, problems = [], [], [None] * len(points)

    def keep(result, indices) -> None:
        finite = np.ones(len(indices), dtype=bool)
        for field in fields(result):
            values = getattr(result, field.name)
            finite &= np.isfinite(values.reshape(len(indices), -1)).all(axis=1)
        for i in indices[~finite]:
            problems[i] = "the lift gave numbers that are not finite"
        blocks.append(type(result)(*(getattr(result, f.name)[finite] for f in fields(result))))
        done.append(indices[finite])

    with tqdm(total=len(points), desc="lift", unit="frame", file=sys.stderr,
              disable=not progress or len(points) <= LIFT_BLOCK) as bar:
        for start in range(0, len(points), LIFT_BLOCK):
            indices = np.arange(start, min(start + LIFT_BLOCK, len(points)))
            try:
                keep(lift(points[indices], weights[indices]), indices)
            except ValueError:
                for i in indices:
                    try:
                        keep(lift(points[i:i + 1], weights[i:i + 1]), np.array([i]))
                    except ValueError as error:
                        problems[i] = str(error)
            bar.update(len(indices))
    if not blocks:
        return None, np.empty(0, dtype=np.int64), problems
    kind = type(blocks[0])
    return (kind(*(np.concatenate([getattr(block, f.name) for block in blocks]) for f in fields(kind))),
            np.concatenate(done), problems)
