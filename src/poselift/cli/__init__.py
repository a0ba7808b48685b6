"""The ``poselift`` command line: one module per command group.

Every command reports a bad input as ``poselift: <what is wrong>`` on stderr with exit
status 1 (2 for a malformed command line); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback

from . import estimate, evaluate, lift, prior, train

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poselift", description="3D human pose from photos and 2D keypoints, "
                                     "after Lifting from the Deep (Tome et al., CVPR 2017)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    prior.add_parsers(commands)
    lift.add_parser(commands)
    estimate.add_parser(commands)
    evaluate.add_parser(commands)
    train.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
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
