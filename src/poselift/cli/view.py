"""``poselift view``: a result (estimate or lift JSON) as an interactive 3D viewer in one HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import writable_output

__all__ = ["add_parser"]


def add_parser(commands) -> None:
    view = commands.add_parser("view", help="turn a result JSON into a 3D viewer: one HTML file that opens offline")
    view.add_argument("result", help="a JSON of poselift estimate or poselift lift")
    view.add_argument("--out", help="the HTML to write (default: the result's name with .html)")
    view.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import write_exports
    from ..export.result import read_result

    result = read_result(args.result)
    out = writable_output(Path(args.out) if args.out else Path(args.result).with_suffix(".html"))
    if out.resolve() == Path(args.result).resolve():
        raise ValueError(f"{out}: the viewer would replace the result itself; give --out")
    write_exports(result, {"html": out})
    people = f"{result.people_count} {'person' if result.people_count == 1 else 'people'}"
    print(f"wrote {out} ({people}, {len(result.frames)} frame(s))")
    return 0
