"""Writing output files: atomically (all of it or nothing), and every JSON document alike.

Every JSON document poselift writes starts with the same header, ``{"format":
"poselift.<kind>", "version": N}`` (:func:`json_header`), and rounds its numbers by unit with
one policy (:data:`DECIMALS`, :func:`rounded`). Outputs that grow together are kept in step
through Ctrl-C (:func:`interruptions_held`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

__all__ = ["DECIMALS", "OutputError", "check_replaceable", "interruptions_held", "json_header", "raise_if_shared",
           "readable_by_all", "remove_temporaries", "rounded", "write_atomically", "write_json"]

DECIMALS = {"px": 2, "px2": 2, "mm": 1, "mm2": 1, "deg": 2, "fraction": 3, "scale": 4, "relative": 5}
"""Decimals kept in JSON output, by unit: pixels, squared pixels (residuals), millimetres,
squared millimetres (covariances), degrees, fractions in [0, 1] (confidences, weights),
scales (pixels per model unit) and relative costs (eq. 4's over the pose's squared 2D size)."""


class OutputError(OSError):
    """An output could not be written for a reason every other output would meet too: a full
    disk or quota, a read-only file system, a folder that may not be written. A run over many
    inputs stops on it, rather than failing each input in turn."""

    def __str__(self) -> str:
        return str(self.strerror)


_SHARED_CAUSES = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


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
        OutputError: the folder is full, read-only or may not be written.
    """
    path = Path(path)
    check_replaceable(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                   suffix=".tmp")
        os.close(fd)
        write(tmp)
        readable_by_all(tmp)
        os.replace(tmp, path)
    except OSError as error:
        raise_if_shared(error, path)
        raise
    finally:
        if tmp is not None and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:  # the folder turned unwritable: the error above says so; a later sweep removes it
                pass


def readable_by_all(path: str | Path) -> None:
    """Give a file the usual permissions of a new one (0644 less the umask): a temporary file's are 0600."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o644 & ~umask)


def raise_if_shared(error: OSError, path: Path) -> None:
    """Raise ``error`` again as an :class:`OutputError` if its cause would stop every output
    (a full disk, a read-only or unwritable folder); return otherwise."""
    if error.errno in _SHARED_CAUSES and not isinstance(error, OutputError):
        raise OutputError(error.errno, f"cannot write {path}: {os.strerror(error.errno)}") from error


def check_replaceable(path: Path) -> None:
    """Raises OSError if ``path`` exists and is not a regular file (a folder, a device, a pipe ...)."""
    if path.exists() and not path.is_file():
        raise OSError(f"{path}: exists and is not a regular file; not replacing it")


def write_json(path: str | Path, document: dict) -> None:
    """Write ``document`` as indented JSON, atomically; strict JSON (NaN or infinity is a ValueError)."""
    text = json.dumps(document, indent=1, allow_nan=False)
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def remove_temporaries(folder: Path, names: list[str]) -> None:
    """Remove the temporary files of :func:`write_atomically` left in ``folder`` for outputs
    whose names start with one of ``names`` (``.<output name>.<random>.tmp``): only a process
    killed while writing (SIGKILL, a lost machine) leaves them."""
    prefixes = tuple(f".{name}" for name in names)
    if not prefixes:
        return
    for path in Path(folder).glob(".*.tmp"):
        if path.name.startswith(prefixes) and path.is_file():
            try:
                path.unlink(missing_ok=True)
            except OSError:  # a folder that turned unwritable keeps it; the run's own error says why
                pass


@contextlib.contextmanager
def interruptions_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while the block runs, then deliver the first that came: outputs
    written together (a video frame's line and its rendered picture) are never left one ahead
    of the other. Outside the main thread, where no handler can be set, it holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: arrived.append(signum)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if arrived:
            signal.raise_signal(arrived[0])
