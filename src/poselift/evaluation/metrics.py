"""Pose metrics as the field reports them.

* MPJPE: mean per-joint position error in mm, after aligning the root joints (protocol #1).
* PA-MPJPE: the same after a per-pose similarity (Procrustes) alignment (protocols #2, #3).
* Acceleration error: mean over joints of the distance between the predicted and the true
  second differences of root-relative joints, mm per frame squared (as VideoPose3D reports it).
* 2D: mean pixel error, and PCK@0.2: the fraction of joints within :data:`PCK_FRACTION` of
  the torso size (:func:`torso_size`, LSP's convention: |right shoulder - left hip|).
"""

from __future__ import annotations

import numpy as np

from ..geometry import procrustes_align
from ..skeleton import JointSet

__all__ = ["PCK_FRACTION", "acceleration_error", "mpjpe", "pa_mpjpe", "pck", "pck_hits", "pixel_error", "torso_size"]

PCK_FRACTION = 0.2
"""A joint is correct within this fraction of the torso size (PCK@0.2)."""


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


def acceleration_error(pred: np.ndarray, gt: np.ndarray, root: int | None = 0) -> np.ndarray:
    """(T, L, 3) consecutive frames -> (T - 2,) acceleration error of frames 1 .. T-2, in the
    input's unit per frame squared, after moving both roots to the origin (``root=None``: no
    alignment, for joints already root-relative)."""
    pred, gt = _check(pred, gt)
    if root is not None:
        pred = pred - pred[:, root:root + 1]
        gt = gt - gt[:, root:root + 1]
    second = (pred[2:] - 2 * pred[1:-1] + pred[:-2]) - (gt[2:] - 2 * gt[1:-1] + gt[:-2])
    return np.linalg.norm(second, axis=-1).mean(axis=-1)


def pixel_error(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Mean 2D distance in pixels over the (visible) joints of (..., L, 2) arrays."""
    pred, gt = _check(pred, gt)
    dist = np.linalg.norm(pred - gt, axis=-1)
    mask = np.ones(dist.shape, bool) if visible is None else np.broadcast_to(np.asarray(visible, bool), dist.shape)
    if not mask.any():
        raise ValueError("no visible joints to measure")
    return float(dist[mask].mean())


def torso_size(points: np.ndarray, joint_set: JointSet) -> np.ndarray:
    """(..., L, 2) points of ``joint_set`` -> (...) |right shoulder - left hip|, in the points'
    units (NaN where either joint is NaN).

    Raises:
        ValueError: the joint set lacks either joint.
    """
    if "right_shoulder" not in joint_set or "left_hip" not in joint_set:
        raise ValueError(f"{joint_set.name} has no right shoulder or left hip to measure the torso by")
    points = np.asarray(points, dtype=np.float64)
    right_shoulder, left_hip = joint_set.index("right_shoulder"), joint_set.index("left_hip")
    return np.linalg.norm(points[..., right_shoulder, :] - points[..., left_hip, :], axis=-1)


def pck_hits(errors: np.ndarray, torso: np.ndarray) -> np.ndarray:
    """(..., L) joint errors and (...) torso sizes in one unit -> (..., L) bool, True where the
    error is at most :data:`PCK_FRACTION` of the torso (a NaN error or torso is a miss)."""
    return np.asarray(errors) <= PCK_FRACTION * np.asarray(torso)[..., None]


def pck(pred: np.ndarray, gt: np.ndarray, torso: np.ndarray, visible: np.ndarray | None = None) -> float:
    """PCK@0.2 of (..., L, 2) points: the fraction of (visible) joints within
    :data:`PCK_FRACTION` of the (...) torso sizes (pixels); NaN predictions are misses."""
    pred, gt = _check(pred, gt)
    hit = pck_hits(np.linalg.norm(pred - gt, axis=-1), torso)
    mask = np.ones(hit.shape, bool) if visible is None else np.broadcast_to(np.asarray(visible, bool), hit.shape)
    if not mask.any():
        raise ValueError("no visible joints to measure")
    return float(hit[mask].mean())
