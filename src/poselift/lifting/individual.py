"""Section 5.3 for poses that each have joint weights of their own (e.g. detector confidences).

Search tables (:mod:`poselift.lifting.tables`) pay off only for frames that share a weight
pattern. Here every frame is solved on its own, a block of frames at a time:
``A(theta) = A0 + cos(theta) A1 + sin(theta) A2``, so the weighted Gram matrix and
``A^T W y`` of every angle are combinations of six products and three vectors per frame and
component, and each angle then costs one small solve instead of a rebuild of the design.
The search is the paper's: every component at every coarse angle, then the fine angles
around the winner in its component.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Solutions", "solve_individually"]

_BLOCK = 16  # frames searched together


@dataclass(frozen=True)
class Solutions:
    """The chosen candidate of eq. 4 for each of n frames, in unit-spread units.

    Attributes:
        component: (n,) int, the mixture component.
        angle: (n,) radians, the ground-plane angle (fine angles may lie past +-pi).
        cost: (n,) eq. 4 at the optimum.
        z: (n, J+1) the solution ``(s, s a)``.
    """

    component: np.ndarray
    angle: np.ndarray
    cost: np.ndarray
    z: np.ndarray

    @classmethod
    def empty(cls, n: int, unknowns: int) -> "Solutions":
        """Room for n frames' solutions with ``unknowns`` = J+1 entries of z each."""
        return cls(np.empty(n, dtype=np.int64), np.empty(n), np.empty(n), np.empty((n, unknowns)))

    def put(self, frames: np.ndarray, other: "Solutions") -> None:
        """Write ``other``'s frames into the rows ``frames`` (len(frames),) of these arrays."""
        for name in ("component", "angle", "cost", "z"):
            getattr(self, name)[frames] = getattr(other, name)


def solve_individually(design_parts: np.ndarray, precision: np.ndarray, scale_prior: float,
                       coarse_angles: np.ndarray, fine_offsets: np.ndarray, weights: np.ndarray,
                       y: np.ndarray, norm: np.ndarray) -> Solutions:
    """The cheapest (component, angle) of eq. 4 for frames with weights of their own.

    Args:
        design_parts: (3, K, L, 2, J+1) ``A0, A1, A2`` of every component.
        precision: (K, J+1) coefficient precisions (the first, for ``s``, is replaced by the
            scale prior's).
        scale_prior: weight beta of the scale prior.
        coarse_angles: (A,) radians, the coarse grid.
        fine_offsets: (F,) radians added to the best coarse angle for the fine search.
        weights: (n, L) joint weights.
        y: (n, 2L) weighted-centred poses of unit spread, zero at joints of weight 0.
        norm: (n,) their weighted squared norms ``y^T W y``.

    Raises:
        ValueError: where no coarse candidate has ``s > 0``.
    """
    chosen = Solutions.empty(len(y), design_parts.shape[-1])
    for start in range(0, len(y), _BLOCK):
        block = np.arange(start, min(start + _BLOCK, len(y)))
        w = weights[block]
        grams, rhs = _angle_expansions(design_parts, w, y[block])  # (m, K, 3, 3, J+1, J+1), (m, K, 3, J+1)
        total = w.sum(axis=1)
        coarse_cost, _ = _solve_angles(grams, rhs, coarse_angles, norm[block], total, precision, scale_prior)
        flat_cost = coarse_cost.reshape(len(block), -1)
        flat = np.argmin(flat_cost, axis=1)
        rows = np.arange(len(block))
        if not np.all(np.isfinite(flat_cost[rows, flat])):
            raise ValueError("no rotation gives a positive scale for some pose; are the 2D points degenerate?")
        best_k, best_a = np.unravel_index(flat, coarse_cost.shape[1:])
        angles = coarse_angles[best_a][:, None] + fine_offsets  # (m, F)
        fine_cost, fine_z = _solve_angles(grams[rows, best_k][:, None], rhs[rows, best_k][:, None], angles,
                                          norm[block], total, precision[best_k][:, None], scale_prior)
        pick = np.argmin(fine_cost[:, 0], axis=1)
        chosen.put(block, Solutions(best_k, angles[rows, pick], fine_cost[rows, 0, pick], fine_z[rows, 0, pick]))
    return chosen


def _angle_expansions(design_parts: np.ndarray, w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame and component, ``A_i^T W_c A_j`` (m, K, 3, 3, J+1, J+1) and ``A_i^T W_c y``
    (m, K, 3, J+1) for the parts A0, A1, A2 of the design (W_c: weights (m, L) with the
    weighted centring folded in)."""
    total = w.sum(axis=1)
    centre = np.einsum("iklcj,ml->mikcj", design_parts, w) / total[:, None, None, None, None]
    centred = design_parts[None] - centre[:, :, :, None]  # (m, 3, K, L, 2, J+1)
    weighted = centred * w[:, None, None, :, None, None]
    grams = np.einsum("miklcp,mjklcq->mkijpq", centred, weighted)
    rhs = np.einsum("miklcp,mlc->mkip", weighted, y.reshape(len(y), -1, 2))
    return grams, rhs


def _solve_angles(grams, rhs, angles, norm, total, precision, scale_prior) -> tuple[np.ndarray, np.ndarray]:
    """Costs (m, k, A) (inf where s <= 0) and solutions z (m, k, A, J+1) of eq. 4 at the
    angles (A,) or (m, A), from :func:`_angle_expansions` of k components whose precisions
    are ``precision`` (k, J+1) or (m, k, J+1)."""
    angles = np.broadcast_to(angles, (len(total), np.shape(angles)[-1]))
    f = np.stack([np.ones_like(angles), np.cos(angles), np.sin(angles)], axis=-1)  # (m, A, 3)
    m, k, _, _, j1, _ = grams.shape
    outer = (f[..., :, None] * f[..., None, :]).reshape(m, 1, -1, 9)  # (m, 1, A, 9)
    gram = (outer @ grams.reshape(m, k, 9, j1 * j1)).reshape(m, k, -1, j1, j1)
    b = f[:, None] @ rhs  # (m, k, A, J+1)
    # scale prior: s_k = sqrt(W / G00), precision beta G00, centre z_0 = (s_k, 0, ...)
    g00 = gram[..., 0, 0]
    expected = np.sqrt(total[:, None, None] / g00)
    diagonal = np.broadcast_to(precision[..., None, :], gram.shape[:-1]).copy()
    diagonal[..., 0] = scale_prior * g00
    gram = gram + diagonal[..., None] * np.eye(j1)
    b[..., 0] += scale_prior * g00 * expected
    solution = np.linalg.solve(gram, b[..., None])[..., 0]
    costs = norm[:, None, None] + scale_prior * total[:, None, None] - np.sum(b * solution, axis=-1)
    costs[solution[..., 0] <= 0] = np.inf
    return costs, solution
