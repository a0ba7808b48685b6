"""Belief maps on arrays (paper sections 5.2, 5.4 and 5.5): argmax, projected maps, fusion.

Belief maps are (..., H, W, J) arrays, one map per joint on the last axis, with values in
[0, 1]. Positions on a map are (x, y) in map cells: cell (row r, column c) is the point
(c, r), so a map of side S covers [0, S - 1] in both directions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["argmax_subpixel", "render_gaussians", "fuse", "DEFAULT_SIGMA"]

DEFAULT_SIGMA = 1.5
"""Standard deviation of a projected belief map (eq. 6), in map cells (6 pixels of a 256 crop)."""


def argmax_subpixel(beliefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 3 with sub-pixel refinement: each map's peak cell, then a parabola through the
    logarithms of it and its two neighbours along x and along y.

    The log-parabola is exact for a Gaussian peak (such as the maps of eq. 6); the offset
    is kept within half a cell, and at the map's border, or where a neighbour is zero,
    the peak cell is kept along that axis.

    Args:
        beliefs: (..., H, W, J) non-negative maps.

    Returns:
        positions: (..., J, 2) x, y in map cells; values: (..., J) the peak belief.
    """
    beliefs = np.asarray(beliefs, dtype=np.float64)
    if beliefs.ndim < 3:
        raise ValueError(f"belief maps must have shape (..., H, W, J), got {beliefs.shape}")
    *batch, height, width, joints = beliefs.shape
    flat = np.moveaxis(beliefs, -1, -3).reshape(-1, height, width)  # (N, H, W)
    n = np.arange(len(flat))
    peak = flat.reshape(len(flat), -1).argmax(axis=1)
    row, col = np.divmod(peak, width)
    centre = flat[n, row, col]

    def offset(before: np.ndarray, after: np.ndarray, inside: np.ndarray) -> np.ndarray:
        ok = inside & (before > 0) & (after > 0) & (centre > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lb, lc, la = np.log(before), np.log(centre), np.log(after)
            curvature = lb - 2.0 * lc + la
            step = np.where(ok & (curvature < 0), 0.5 * (lb - la) / curvature, 0.0)
        return np.clip(np.nan_to_num(step), -0.5, 0.5)

    has_x = (col > 0) & (col < width - 1)
    has_y = (row > 0) & (row < height - 1)
    x = col + offset(flat[n, row, np.maximum(col - 1, 0)], flat[n, row, np.minimum(col + 1, width - 1)], has_x)
    y = row + offset(flat[n, np.maximum(row - 1, 0), col], flat[n, np.minimum(row + 1, height - 1), col], has_y)
    positions = np.stack([x, y], axis=-1).reshape(*batch, joints, 2)
    return positions, centre.reshape(*batch, joints)


def render_gaussians(positions: np.ndarray, size: int, sigma: float = DEFAULT_SIGMA) -> np.ndarray:
    """Eq. 6: a projected belief map per joint, a unit-height Gaussian at each position.

    Args:
        positions: (..., J, 2) x, y in map cells (may lie outside the map).
        size: side of the square maps.
        sigma: standard deviation in map cells.

    Returns:
        (..., size, size, J) maps with values in [0, 1].
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim < 2 or positions.shape[-1] != 2:
        raise ValueError(f"positions must have shape (..., J, 2), got {positions.shape}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    grid = np.arange(size, dtype=np.float64)
    gx = np.exp(-0.5 * ((grid[:, None] - positions[..., None, :, 0]) / sigma) ** 2)  # (..., W, J)
    gy = np.exp(-0.5 * ((grid[:, None] - positions[..., None, :, 1]) / sigma) ** 2)  # (..., H, J)
    return gy[..., :, None, :] * gx[..., None, :, :]


def fuse(beliefs: np.ndarray, projected: np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """Eq. 7: ``weight * beliefs + (1 - weight) * projected``; ``weight`` in [0, 1], per joint allowed."""
    weight = np.asarray(weight, dtype=np.float64)
    if np.any((weight < 0) | (weight > 1)):
        raise ValueError("the fusion weight must lie in [0, 1]")
    return weight * beliefs + (1.0 - weight) * projected
