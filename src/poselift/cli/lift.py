"""``poselift lift``: 2D keypoints from a file to 3D under the prior (section 5.3)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..files import json_header, rounded, write_json
from .common import MAX_ANGLES, add_prior_option, bounded_int, finite_float, fraction, load_prior, writable_output

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
    lift.add_argument("--focal-px", type=finite_float, help="focal length in pixels: correct for perspective")
    lift.add_argument("--principal-px", type=finite_float, nargs=2, metavar=("X", "Y"),
                      help="principal point in pixels")
    lift.add_argument("--out", required=True, help="the JSON to write")
    lift.add_argument("--quiet", action="store_true", help="no progress bar")
    lift.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..keypoints import read_keypoints
    from ..lifting import Lifter
    from ..skeleton import convert

    out = writable_output(Path(args.out))
    if args.focal_px is not None and args.principal_px is None:
        raise ValueError("--focal-px needs --principal-px X Y (the principal point, often the image centre)")
    prior = load_prior(args.prior)
    prior.millimetres_per_unit(args.height_mm)  # an impossible height fails before any work
    keypoints = read_keypoints(args.keypoints, args.format, args.joints)
    conversion = convert(keypoints.points, keypoints.joint_set, prior.joint_set, keypoints.weights)
    weights = conversion.weights.copy()
    for name in conversion.approximate:
        weights[:, prior.joint_set.index(name)] *= args.approximate_weight
    lifter = Lifter(prior, angles=args.angles)
    if args.focal_px is None:
        def lift(points, w):
            return lifter.lift(points, w, args.height_mm)
    else:
        def lift(points, w):
            return lifter.lift_perspective(points, args.focal_px, args.principal_px, w, height_mm=args.height_mm)
    lifted = _lift_in_blocks(lift, conversion.points, weights, progress=not args.quiet)
    poses = [{
        "label": label,
        "joints_3d_mm": rounded(lifted.pose_3d[i], "mm"),
        "projected_2d_px": rounded(lifted.projected_2d[i], "px"),
        "weights": rounded(weights[i], "fraction"),
        "angle_deg": rounded(np.degrees(lifted.angle[i]), "deg"),
        "component": int(lifted.component[i]),
        "scale_px_per_unit": rounded(lifted.scale[i], "scale"),
        "residual_px2": rounded(lifted.residual[i], "px2"),
    } for i, label in enumerate(keypoints.labels)]
    write_json(out, {
        **json_header("lift", SCHEMA_VERSION),
        "input": str(args.keypoints), "input_format": args.format, "input_joint_set": keypoints.joint_set,
        "joint_set": prior.joint_set.name,
        "joint_names": list(prior.joint_set.joints),
        "approximate_joints": list(conversion.approximate), "missing_joints": list(conversion.missing),
        "frame": "3D in mm relative to the pelvis; x right, y up, z towards the camera",
        "perspective_correction": args.focal_px is not None,
        "prior": prior.describe(), "poses": poses,
    })
    print(f"lifted {len(poses)} pose(s) from {args.keypoints}; wrote {out}")
    if conversion.missing:
        print(f"note: {keypoints.joint_set} lacks {', '.join(conversion.missing)}: filled in by the prior",
              file=sys.stderr)
    return 0


def _lift_in_blocks(lift, points: np.ndarray, weights: np.ndarray, progress: bool):
    """``lift(points, weights)`` over blocks of :data:`LIFT_BLOCK` frames, with a progress
    bar (frames per second) on stderr when there is more than one block."""
    from dataclasses import fields

    from tqdm import tqdm

    from ..lifting import Lifted

    blocks = []
    with tqdm(total=len(points), desc="lift", unit="frame", file=sys.stderr,
              disable=not progress or len(points) <= LIFT_BLOCK) as bar:
        for start in range(0, len(points), LIFT_BLOCK):
            blocks.append(lift(points[start:start + LIFT_BLOCK], weights[start:start + LIFT_BLOCK]))
            bar.update(len(blocks[-1].angle))
    return Lifted(*(np.concatenate([getattr(block, field.name) for block in blocks]) for field in fields(Lifted)))
