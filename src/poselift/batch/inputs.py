"""The inputs of a run: files, folders, glob patterns and list files, in a stable order."""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path

__all__ = ["expand_inputs", "read_list"]

_PATTERN = set("*?[")


def read_list(path: str | Path) -> list[str]:
    """The paths a list file names, one per line (blank lines and lines starting with ``#``
    ignored), as written: relative ones are relative to the current folder.

    Raises:
        FileNotFoundError: no such file; ValueError: not a text file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such list file")
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not a text list of paths ({error})") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def expand_inputs(paths: list[str], lister: Callable[[list], list[Path]], list_file: str | None = None) -> list[Path]:
    """Every input named by ``paths`` and the lines of ``list_file``, each once, in order.

    A path that does not exist but holds ``*``, ``?`` or ``[`` is a glob pattern (``**``
    crosses folders), expanded in sorted order; ``lister`` turns files and folders into inputs
    (e.g. :func:`poselift.images.list_images`: a folder's photos).

    Raises:
        FileNotFoundError: a pattern that matches nothing (or what ``lister`` raises).
        ValueError: no inputs at all.
    """
    named = list(paths) + (read_list(list_file) if list_file else [])
    expanded: list[str] = []
    for path in named:
        if not Path(path).exists() and _PATTERN & set(path):
            matches = sorted(glob.glob(path, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{path}: the pattern matches no file")
            expanded += matches
        else:
            expanded.append(path)
    if not expanded:
        raise ValueError("no inputs: name files, folders or patterns, or give --list FILE")
    seen: set[Path] = set()
    unique = []
    for path in lister(expanded):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
