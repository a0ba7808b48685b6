"""Euler-angle rotation matrices for the mocap readers (batched over frames)."""

from __future__ import annotations

import numpy as np

__all__ = ["axis_rotation", "euler_to_matrix"]


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Rotations by ``degrees`` (shape (...)) about ``axis`` ("x", "y" or "z"): (..., 3, 3)."""
    a = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {
        "x": ((o, z, z), (z, c, -s), (z, s, c)),
        "y": ((c, z, s), (z, o, z), (-s, z, c)),
        "z": ((c, -s, z), (s, c, z), (z, z, o)),
    }[axis.lower()]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def euler_to_matrix(axes: str, degrees: np.ndarray) -> np.ndarray:
    """Compose rotations about ``axes`` (e.g. "ZYX") in the order written.

    ``euler_to_matrix("ZYX", [z, y, x]) = Rz(z) @ Ry(y) @ Rx(x)``: the BVH convention for a
    channel list ``Zrotation Yrotation Xrotation`` (the last one applied to a point first).

    Args:
        axes: a string of axis letters, one per angle.
        degrees: (..., len(axes)) angles in degrees.

    Returns:
        (..., 3, 3) rotation matrices.
    """
    degrees = np.asarray(degrees, dtype=np.float64)
    result = np.broadcast_to(np.eye(3), degrees.shape[:-1] + (3, 3))
    for i, axis in enumerate(axes):
        result = result @ axis_rotation(axis, degrees[..., i])
    return result
