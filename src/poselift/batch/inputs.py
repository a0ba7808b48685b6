"""The inputs of a run: files, folders, glob patterns and list files, in a stable order."""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path

__all__ = ["expand_inputs", "files_and_folders", "read_list"]

_PATTERN = set("*?[")


def files_and_folders(paths: list, suffixes, empty: str, error: type[Exception] = FileNotFoundError) -> list[Path]:
    """Files as named (whatever their suffix, so that a bad one is reported, not skipped), and
    each folder's files with one of ``suffixes`` (case-insensitive), sorted, not recursively.

    Raises:
        ``error``: a path that does not exist, or a folder with none of those files
        (``"<folder>: " + empty``).
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                raise error(f"{path}: {empty}")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            raise error(f"{path}: no such file or folder")
    return files


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
