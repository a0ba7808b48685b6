"""Pose metrics as the field reports them.

* MPJPE: mean per-joint position error in mm, after aligning the root joints (protocol #1).
* PA-MPJPE: the same after a per-pose similarity (Procrustes) alignment (protocols #2, #3).
* 2D: mean pixel error, and PCK (fraction of joints within a threshold).
"""

from __future__ import annotations

import numpy as np

from ..geometry import procrustes_align

__all__ = ["mpjpe", "pa_mpjpe", "pck", "pixel_error"]


def _check(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
    return pred, gt


def mpjpe(pred: np.ndarray, gt: np.ndarray, root: int | None = 0) -> np.ndarray:
    """(..., L, 3) -> (...) mean joint distance, after moving both roots to the origin
    (``root=None``: no alignment)."""
    pred, gt = _check(pred, gt)
    if root is not None:
        pred = pred - pred[..., root:root + 1, :]
        gt = gt - gt[..., root:root + 1, :]
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=-1)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(..., L, 3) -> (...) mean joint distance after the best similarity transform of ``pred``."""
    pred, gt = _check(pred, gt)
    return np.linalg.norm(procrustes_align(pred, gt) - gt, axis=-1).mean(axis=-1)


def pixel_error(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Mean 2D distance in pixels over the (visible) joints of (..., L, 2) arrays."""
    pred, gt = _check(pred, gt)
    dist = np.linalg.norm(pred - gt, axis=-1)
    mask = np.ones(dist.shape, bool) if visible is None else np.broadcast_to(np.asarray(visible, bool), dist.shape)
    if not mask.any():
        raise ValueError("no visible joints to measure")
    return float(dist[mask].mean())


def pck(pred: np.ndarray, gt: np.ndarray, threshold: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Fraction of (visible) joints whose 2D error is below ``threshold`` ((...) pixels per pose)."""
    pred, gt = _check(pred, gt)
    dist = np.linalg.norm(pred - gt, axis=-1)
    hit = dist <= np.asarray(threshold)[..., None]
    mask = np.ones(dist.shape, bool) if visible is None else np.broadcast_to(np.asarray(visible, bool), dist.shape)
    if not mask.any():
        raise ValueError("no visible joints to measure")
    return float(hit[mask].mean())
