"""Solver matrices for the search of section 5.3 (used by :mod:`poselift.lifting`).

For a fixed component and angle, eq. 4 is ridge regression in ``z = (s, s a)``. With the
design ``A = Pi E R [mu, e]`` (2L x (J+1)), joint weights ``W`` (with weighted centring,
which removes the translation), the prior precision ``P`` (the scale prior's on ``s``, the
coefficients' on the rest) and the Cholesky factor ``A^T W A + P = L L^T``:

* ``h = H y + o`` with ``H = L^-1 A^T W`` and ``o = L^-1 P z_0`` (``z_0``: the scale
  prior's centre);
* the cost is ``y^T W y + z_0^T P z_0 - |h|^2`` and the solution ``z = L^-T h``.

:class:`Bank` stacks ``H`` for every component and angle of a grid, so searching a batch
that shares one weight pattern is one matrix product (:meth:`Bank.best`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Bank", "Solver", "solve_matrices", "block_costs"]

_CHUNK = 256  # frames per block of the coarse search: its outputs stay in cache
_TIE_MARGIN = 1e-5  # relative cost gap below which the float32 coarse search is re-done in float64


@dataclass(frozen=True)
class Bank:
    """Solver matrices of eq. 4 for one weight pattern: components x angles.

    rows: (J+2, K, A, 2L): J+1 rows of ``H`` then the row giving ``s``, output-major so
        that summing the squares of ``h`` runs over contiguous blocks.
    offset: (J+2, K, A): what the scale prior adds to those rows' outputs.
    constant: (K, A): the scale prior's ``z_0^T P z_0``, added to every cost.
    back: (K, A, J+1, J+1): ``L^-T``, from ``h`` to ``z = (s, s a)``.
    search: for :meth:`best`, (K*A*(J+2), 2L+1) rows with the offset as a last column, in
        float64 and float32 (set on coarse banks only).
    """

    rows: np.ndarray
    offset: np.ndarray
    constant: np.ndarray
    back: np.ndarray
    search: tuple[np.ndarray, np.ndarray] | None = None

    def with_search(self) -> "Bank":
        """This bank, with the matrices :meth:`best` multiplies by."""
        rows = np.concatenate([self.rows.reshape(-1, self.rows.shape[-1]), self.offset.reshape(-1, 1)], axis=1)
        return replace(self, search=(rows, rows.astype(np.float32)))

    def outputs(self, y: np.ndarray, norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For (n, 2L) centred poses with (n,) weighted squared norms: costs (K, A, n),
        ``inf`` where ``s <= 0``, and ``h`` (J+1, K, A, n)."""
        out = np.tensordot(self.rows, y, axes=([3], [1])) + self.offset[..., None]
        h = out[:-1]
        costs = norm + self.constant[..., None] - np.einsum("rkan,rkan->kan", h, h)
        costs[out[-1] <= 0] = np.inf
        return costs, h

    def best(self, y: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """The cheapest (component, angle) of each of (n, 2L) poses: (n,) flat indices into
        (K, A), or -1 where no candidate has a positive scale.

        Blocks of frames are searched in float32 (the product and the reductions that
        dominate run twice as fast as in float64). A frame whose two cheapest candidates
        are closer than float32 can tell apart (:data:`_TIE_MARGIN` of its squared norm,
        ten times the largest float32 error measured on 2,560 Human3.6M S9 frames; about
        9% of frames fall under it) is searched again in
        float64, so the choice is always the float64 one.
        """
        r = self.rows.shape[0]
        rows, rows32 = self.search  # the offset rides on the product, against a constant 1 in y
        constant = self.constant.reshape(-1, 1)
        y1 = np.concatenate([y, np.ones((len(y), 1))], axis=1)
        y32 = y1.astype(np.float32)
        index = np.empty(len(y), dtype=np.int64)
        for start in range(0, len(y), _CHUNK):
            block = slice(start, start + _CHUNK)
            costs = block_costs(rows32, constant.astype(np.float32), y32[block], r)
            first = np.argmin(costs, axis=0)
            columns = np.arange(costs.shape[1])
            best_cost = costs[first, columns].copy()
            costs[first, columns] = np.inf
            with np.errstate(invalid="ignore"):  # inf - inf where no candidate is valid: not close
                gap = costs.min(axis=0) - best_cost
            close = np.flatnonzero(np.isfinite(best_cost) & ~(gap > _TIE_MARGIN * (norm[block] + 1.0)))
            if len(close):
                first[close] = np.argmin(block_costs(rows, constant, y1[block][close], r), axis=0)
            first[~np.isfinite(best_cost)] = -1
            index[block] = first
        return index


def block_costs(rows: np.ndarray, constant: np.ndarray, y: np.ndarray, r: int) -> np.ndarray:
    """(K*A, m) costs, less each pose's squared norm, of (m, 2L+1) poses; inf where s <= 0."""
    out = (rows @ y.T).reshape(r, -1, len(y))
    valid = out[-1] > 0
    h = out[:-1]
    np.square(h, out=h)
    costs = constant - h.sum(axis=0)
    costs[~valid] = np.inf
    return costs


@dataclass(frozen=True)
class Solver:
    """Solver matrices of eq. 4 for a stack of designs; every field has its shape ``(...)`` first.

    h_rows: (..., J+1, 2L) ``H = L^-1 A^T W``.  s_row: (..., 2L) gives ``s`` from ``y``.
    h_offset: (..., J+1) and s_offset: (...) what the scale prior adds.
    constant: (...) the scale prior's ``z_0^T P z_0``.  back: (..., J+1, J+1) ``L^-T``.
    """

    h_rows: np.ndarray
    s_row: np.ndarray
    h_offset: np.ndarray
    s_offset: np.ndarray
    constant: np.ndarray
    back: np.ndarray


def solve_matrices(design: np.ndarray, weights: np.ndarray, precision: np.ndarray,
                    scale_prior: float) -> Solver:
    """Solver matrices for designs (..., 2L, J+1) under joint weights broadcastable to (..., L)
    and coefficient precisions broadcastable to (..., J+1) (the first, for ``s``, is replaced
    by the scale prior's)."""
    num_joints = design.shape[-2] // 2
    leading = np.broadcast_shapes(design.shape[:-2], np.shape(weights)[:-1])
    design = np.broadcast_to(design, leading + design.shape[-2:])
    weights = np.broadcast_to(weights, leading + (num_joints,))
    total = weights.sum(axis=-1)
    # weighted centring of every column removes the translation t exactly
    per_joint = design.reshape(design.shape[:-2] + (num_joints, 2, design.shape[-1]))
    centre = np.einsum("...lcj,...l->...cj", per_joint, weights) / total[..., None, None]
    centred = (per_joint - centre[..., None, :, :]).reshape(design.shape)
    weighted = centred * np.repeat(weights, 2, axis=-1)[..., None]
    # scale prior: s_k makes the mean's weighted spread equal the unit spread of y
    expected_scale = 1.0 / np.sqrt(np.einsum("...r,...r->...", weighted[..., 0], centred[..., 0]) / total)
    scale_precision = scale_prior * total / expected_scale**2
    precision = np.broadcast_to(precision, design.shape[:-2] + design.shape[-1:]).copy()
    precision[..., 0] = scale_precision
    gram = np.swapaxes(centred, -1, -2) @ weighted + precision[..., :, None] * np.eye(design.shape[-1])
    lower_inv = np.linalg.inv(np.linalg.cholesky(gram))
    h_rows = lower_inv @ np.swapaxes(weighted, -1, -2)
    back = np.swapaxes(lower_inv, -1, -2)
    h_offset = lower_inv[..., 0] * (scale_precision * expected_scale)[..., None]  # L^-1 P z_0
    return Solver(h_rows, np.einsum("...i,...ix->...x", back[..., 0, :], h_rows), h_offset,
                   np.einsum("...i,...i->...", back[..., 0, :], h_offset), scale_precision * expected_scale**2, back)
