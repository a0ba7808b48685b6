"""``poselift evaluate h36m`` and ``poselift evaluate lsp``: the paper's protocols (section 6)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import json_header, write_json
from .common import (
    add_hypotheses_option,
    add_lifter_options,
    add_prior_option,
    add_smoothing_option,
    finite_float,
    fraction,
    lifter_weights,
    load_prior,
    positive_int,
    smoothing_of,
    writable_output,
)
from .estimate import add_estimator_options, build_estimator

__all__ = ["SCHEMA_VERSION", "add_parser"]

SCHEMA_VERSION = 1
"""Version of the ``poselift.evaluation`` JSON document (docs/output-format.md)."""


def add_parser(commands) -> None:
    from ..lifting.lifter import DEFAULT_GUIDE_WEIGHT

    evaluate = commands.add_parser("evaluate", help="the paper's evaluation protocols (section 6)")
    datasets = evaluate.add_subparsers(dest="dataset", required=True, metavar="{h36m,lsp}")

    h36m = datasets.add_parser("h36m", help="3D protocols #1-#3 on Human3.6M from 2D joints")
    h36m.add_argument("--protocol", type=int, choices=[1, 2, 3], default=1)
    h36m.add_argument("--input", default="gt", help="2D input: gt, sh, or an .npz of detections")
    h36m.add_argument("--subjects", nargs="+", default=["S9"], help="test subjects (S11 is sealed here)")
    h36m.add_argument("--data", type=Path, help="a folder laid out like shared/data, holding h36m/")
    add_prior_option(h36m)
    h36m.add_argument("--approximate-weight", type=fraction, default=0.0,
                      help="weight of input joints that only approximate H36M's (SH spine and head)")
    h36m.add_argument("--weak-perspective", action="store_true",
                      help="no perspective correction with the camera's focal length (the paper's model)")
    add_lifter_options(h36m)
    add_hypotheses_option(h36m)
    h36m.add_argument("--guide-weight", type=finite_float, default=DEFAULT_GUIDE_WEIGHT,
                      help="combined lifter: weight of the network's pose in eq. 4")
    h36m.add_argument("--frame-step", type=positive_int,
                      help="every N-th frame instead of the protocol's (1: every frame, with the acceleration error)")
    add_smoothing_option(h36m)
    _add_common(h36m, _h36m)

    lsp = datasets.add_parser("lsp", help="2D accuracy (PCK, pixel error) of the photo pipeline on LSP")
    lsp.add_argument("--data", type=Path, help="a folder with images/ and joints.npy (default: shared/data/lsp)")
    lsp.add_argument("--start", type=positive_int, default=1,
                     help="the image to start at, counting from 1 (801: LSP's held-out im0801-im1000)")
    lsp.add_argument("--limit", type=positive_int, help="N images only")
    add_estimator_options(lsp)
    _add_common(lsp, _lsp)


def _add_common(parser: argparse.ArgumentParser, evaluate) -> None:
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=lambda args: _run(args, evaluate))


def _run(args: argparse.Namespace, evaluate) -> int:
    """Evaluate, write the JSON (first: a reader that stops reading the table loses nothing),
    then print the table."""
    json_out = writable_output(Path(args.json)) if args.json else None
    result, table = evaluate(args)
    if json_out:
        write_json(json_out, {**json_header("evaluation", SCHEMA_VERSION), "dataset": args.dataset, **result})
    print(table)
    if json_out:
        print(f"wrote {json_out}")
    return 0


def _lsp(args: argparse.Namespace) -> tuple[dict, str]:
    from ..evaluation.lsp import evaluate_lsp, format_lsp_table

    result = evaluate_lsp(build_estimator(args), data_dir=args.data, start=args.start - 1, limit=args.limit,
                          progress=not args.quiet)
    return result, format_lsp_table(result)


def _h36m(args: argparse.Namespace) -> tuple[dict, str]:
    from ..evaluation.h36m import evaluate_h36m, format_table
    from ..lifting.learned import LearnedLifter

    weights = lifter_weights(args)
    learned = None if args.lifter == "prior" else LearnedLifter(weights)
    result = evaluate_h36m(load_prior(args.prior), args.protocol, args.input, subjects=args.subjects,
                           data_dir=args.data, progress=not args.quiet, approximate_weight=args.approximate_weight,
                           perspective=not args.weak_perspective, lifter=args.lifter, learned=learned,
                           guide_weight=args.guide_weight, hypotheses=args.hypotheses, frame_step=args.frame_step,
                           smoothing=smoothing_of(args))
    return result, format_table(result)
