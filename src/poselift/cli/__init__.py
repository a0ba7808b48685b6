"""The ``poselift`` command line: one module per command group.

Every command reports a bad input as ``poselift: <what is wrong>`` on stderr with exit
status 1 (2 for a malformed command line); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback

from . import estimate, evaluate, lift, prior, train, view

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
    train.add_parsers(commands)
    view.add_parser(commands)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0: done; 1: a bad input or a failure, said in one ``poselift: ...`` line (``--verbose``
    adds the traceback); 2: a malformed command line; 130 / 143: interrupted by Ctrl-C /
    SIGTERM, after removing what was half written; 141: the reader of standard output went
    away (as after SIGPIPE; outputs written so far are complete).
    """
    previous = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    args = None
    try:  # building the parser imports the models' modules: a signal then is handled too
        args = _parser().parse_args(argv)
        return args.run(args)
    except BrokenPipeError:  # the reader stopped reading (`| head`): as a Unix tool, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the flush at exit fails no more
        return 141
    except (ValueError, OSError) as err:
        return _failed(args, str(err))
    except Terminated:
        print("poselift: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("poselift: interrupted", file=sys.stderr)
        return 130
    except RecursionError:
        return _failed(args, "the input is nested too deeply to read")
    except MemoryError:
        return _failed(args, "not enough memory for this input")
    except Exception as err:  # the last line of defence: a message, never a bare traceback
        return _failed(args, f"unexpected error ({type(err).__name__}: {err}); --verbose shows where")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _failed(args: argparse.Namespace | None, message: str) -> int:
    if args is not None and args.verbose:
        traceback.print_exc()
    print(f"poselift: {message}", file=sys.stderr)
    return 1
