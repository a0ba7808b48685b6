"""Writing output files: atomically (all of it or nothing), and every JSON document alike.

Every JSON document poselift writes starts with the same header, ``{"format":
"poselift.<kind>", "version": N}`` (:func:`json_header`), and rounds its numbers by unit with
one policy (:data:`DECIMALS`, :func:`rounded`).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["DECIMALS", "check_replaceable", "json_header", "rounded", "write_atomically", "write_json"]

DECIMALS = {"px": 2, "px2": 2, "mm": 1, "deg": 2, "fraction": 3, "scale": 4}
"""Decimals kept in JSON output, by unit: pixels, squared pixels (residuals), millimetres,
degrees, fractions in [0, 1] (confidences, weights) and scales (pixels per model unit)."""


def json_header(kind: str, version: int) -> dict:
    """``{"format": "poselift.<kind>", "version": version}``: the first keys of every JSON document."""
    return {"format": f"poselift.{kind}", "version": version}


def rounded(values, unit: str):
    """``values`` (a number or an array) rounded to :data:`DECIMALS` ``[unit]`` decimals, as
    plain Python numbers or nested lists."""
    array = np.round(np.asarray(values, dtype=np.float64), DECIMALS[unit])
    return array.tolist() if array.ndim else float(array)


def write_atomically(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(temporary_path)``, then rename the result onto ``path``.

    The temporary file lies in the same folder (so the rename is atomic) and is removed if
    ``write`` fails; the final file gets the usual permissions (0644 less the umask). Only a
    regular file is ever replaced.

    Raises:
        OSError: ``path`` exists and is not a regular file (a folder, a device, a pipe ...).
    """
    path = Path(path)
    check_replaceable(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_replaceable(path: Path) -> None:
    """Raises OSError if ``path`` exists and is not a regular file (a folder, a device, a pipe ...)."""
    if path.exists() and not path.is_file():
        raise OSError(f"{path}: exists and is not a regular file; not replacing it")


def write_json(path: str | Path, document: dict) -> None:
    """Write ``document`` as indented JSON, atomically; strict JSON (NaN or infinity is a ValueError)."""
    text = json.dumps(document, indent=1, allow_nan=False)
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))
