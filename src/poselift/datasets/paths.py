"""Where the shared data lives."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_root"]

_REPO_ROOT = Path(__file__).resolve().parents[3]


def data_root() -> Path:
    """The folder laid out like ``shared/data`` (see its README).

    ``$POSELIFT_DATA`` if set, else ``../shared/data`` beside the repository checkout (or
    beside the working directory). The path is returned even if it does not exist; readers
    say which file is missing.
    """
    env = os.environ.get("POSELIFT_DATA")
    if env:
        return Path(env)
    for base in (_REPO_ROOT, Path.cwd()):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return _REPO_ROOT.parent / "shared" / "data"
