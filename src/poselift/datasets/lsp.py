"""Leeds Sports Pose folders: ``images/*.jpg`` and ``joints.npy`` (N, 14, 3), LSP joint order.

Two flag conventions exist: the original LSP marks a *visible* joint with 0 and annotates
every joint; LSP-extended marks a visible joint with 1 and gives the others no usable
position. (shared/data/README.md says those are (0, 0, 0); in the file, 13% of joints have
flag 0 and a zero coordinate with a negative one, e.g. (0, -26.1), and only 0.02% are
(0, 0, 0).) So in LSP-extended only the visible joints count as labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .paths import data_root

__all__ = ["LspSet", "load_lsp", "CONVENTIONS"]

CONVENTIONS = ("lsp", "lspet")


@dataclass(frozen=True)
class LspSet:
    """An LSP-style folder read into arrays.

    Attributes:
        images: N image paths, in name order.
        joints: (N, 14, 2) pixels, LSP order.
        labelled: (N, 14) True where the joint is annotated.
        visible: (N, 14) True where the joint is annotated as visible.
    """

    images: list[Path]
    joints: np.ndarray
    labelled: np.ndarray
    visible: np.ndarray


def load_lsp(root: str | Path | None = None, convention: str = "lsp") -> LspSet:
    """Read an LSP-style folder (default: ``shared/data/lsp``, or ``lspet`` for that convention).

    Raises:
        FileNotFoundError: no ``images/*.jpg`` or no ``joints.npy``.
        ValueError: an unknown convention, or joints whose shape does not match the images.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    root = Path(root) if root is not None else data_root() / convention
    images = sorted((root / "images").glob("*.jpg")) if (root / "images").is_dir() else []
    if not images:
        raise FileNotFoundError(f"{root / 'images'}: no .jpg images (expected an LSP folder)")
    joints_path = root / "joints.npy"
    if not joints_path.is_file():
        raise FileNotFoundError(f"{joints_path}: no such file")
    raw = np.load(joints_path)
    if raw.shape != (len(images), 14, 3):
        raise ValueError(f"{joints_path}: expected shape ({len(images)}, 14, 3) for {len(images)} images, "
                         f"got {raw.shape}")
    points = raw[..., :2].astype(np.float64)
    if convention == "lsp":
        labelled = np.ones(raw.shape[:2], dtype=bool)
        visible = raw[..., 2] == 0
    else:
        visible = raw[..., 2] > 0
        labelled = visible
    return LspSet(images=images, joints=points, labelled=labelled, visible=visible)
