"""Section 5.3 for poses that each have joint weights of their own (e.g. detector confidences).

Search tables (:mod:`poselift.lifting.tables`) pay off only for frames that share a weight
pattern. Here every frame is solved on its own, a block of frames at a time:
``A(theta) = A0 + cos(theta) A1 + sin(theta) A2``, so the weighted Gram matrix and
``A^T W y`` of every angle are combinations of six products and three vectors per frame and
component, and each angle then costs one small solve instead of a rebuild of the design.
The search is the paper's: every component at every coarse angle, then the fine angles
around the winner in its component.

A :class:`Guide` adds a Gaussian term on the 3D pose to eq. 4 (the combined lifter of
:mod:`poselift.lifting.combined`). It is a quadratic form in ``z`` whose matrix is quadratic in
``(1, cos, sin)`` too, so it joins the Gram matrices (after the scale prior has read the 2D
design's) and the search is otherwise unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Guide", "Solutions", "solve_individually"]

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


@dataclass(frozen=True)
class Guide:
    """A 3D pose per frame that eq. 4 is pulled towards: the term
    ``weight * |C (E R(theta) (mu_k + a . e_k) - g)|^2 * s^2`` in the units of the data term
    (unit-spread 2D), where C centres a pose on its joints' mean.

    With ``z = (s, s a)`` it is ``weight * |D'(theta) z|^2``, ``D' = C E R(theta) [mu - g, e]``,
    and ``D'(theta) = D'_0 + cos D_1 + sin D_2``. So ``weight = 1`` prices a 3D disagreement
    like a 2D residual of the same length seen face-on at the pose's scale.

    Attributes:
        parts: (3, K, L, 3, J+1) the centred parts ``C E D_i`` of the 3D design of every component.
        poses: (n, L, 3) the guide poses in model units, centred on their joints' mean.
        weight: the term's weight (> 0).
    """

    parts: np.ndarray
    poses: np.ndarray
    weight: float

    def grams(self, frames: np.ndarray) -> np.ndarray:
        """``weight * D'_i^T D'_j`` (m, K, 3, 3, J+1, J+1) for the frames (m,)."""
        parts = np.broadcast_to(self.parts, (len(frames),) + self.parts.shape).copy()  # (m, 3, K, L, 3, J+1)
        parts[:, 0, :, :, :, 0] -= self.poses[frames][:, None]
        return self.weight * np.einsum("miklcp,mjklcq->mkijpq", parts, parts)


def solve_individually(design_parts: np.ndarray, precision: np.ndarray, scale_prior: float,
                       coarse_angles: np.ndarray, fine_offsets: np.ndarray, weights: np.ndarray,
                       y: np.ndarray, norm: np.ndarray, guide: Guide | None = None) -> Solutions:
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
        guide: an optional 3D pose term (:class:`Guide`) for the n frames.

    Raises:
        ValueError: where no coarse candidate has ``s > 0``.
    """
    chosen = Solutions.empty(len(y), design_parts.shape[-1])
    for start in range(0, len(y), _BLOCK):
        block = np.arange(start, min(start + _BLOCK, len(y)))
        w = weights[block]
        grams, rhs = _angle_expansions(design_parts, w, y[block])  # (m, K, 3, 3, J+1, J+1), (m, K, 3, J+1)
        guided = None if guide is None else guide.grams(block)
        total = w.sum(axis=1)
        coarse_cost, _ = _solve_angles(grams, rhs, coarse_angles, norm[block], total, precision, scale_prior,
                                       guided)
        flat_cost = coarse_cost.reshape(len(block), -1)
        flat = np.argmin(flat_cost, axis=1)
        rows = np.arange(len(block))
        if not np.all(np.isfinite(flat_cost[rows, flat])):
            raise ValueError("no rotation gives a positive scale for some pose; are the 2D points degenerate?")
        best_k, best_a = np.unravel_index(flat, coarse_cost.shape[1:])
        angles = coarse_angles[best_a][:, None] + fine_offsets  # (m, F)
        fine_cost, fine_z = _solve_angles(grams[rows, best_k][:, None], rhs[rows, best_k][:, None], angles,
                                          norm[block], total, precision[best_k][:, None], scale_prior,
                                          None if guided is None else guided[rows, best_k][:, None])
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


def _solve_angles(grams, rhs, angles, norm, total, precision, scale_prior,
                  guided=None) -> tuple[np.ndarray, np.ndarray]:
    """Costs (m, k, A) (inf where s <= 0) and solutions z (m, k, A, J+1) of eq. 4 at the
    angles (A,) or (m, A), from :func:`_angle_expansions` of k components whose precisions
    are ``precision`` (k, J+1) or (m, k, J+1), plus a guide's term whose Gram expansions
    ``guided`` are shaped like ``grams``."""
    angles = np.broadcast_to(angles, (len(total), np.shape(angles)[-1]))
    f = np.stack([np.ones_like(angles), np.cos(angles), np.sin(angles)], axis=-1)  # (m, A, 3)
    m, k, _, _, j1, _ = grams.shape
    outer = (f[..., :, None] * f[..., None, :]).reshape(m, 1, -1, 9)  # (m, 1, A, 9)

    def at_angles(expansions: np.ndarray) -> np.ndarray:
        return (outer @ expansions.reshape(m, k, 9, j1 * j1)).reshape(m, k, -1, j1, j1)

    gram = at_angles(grams)
    b = f[:, None] @ rhs  # (m, k, A, J+1)
    # scale prior: s_k = sqrt(W / G00) (of the 2D design alone), precision beta G00, centre z_0 = (s_k, 0, ...)
    g00 = gram[..., 0, 0]
    expected = np.sqrt(total[:, None, None] / g00)
    diagonal = np.broadcast_to(precision[..., None, :], gram.shape[:-1]).copy()
    diagonal[..., 0] = scale_prior * g00
    gram = gram + diagonal[..., None] * np.eye(j1)
    if guided is not None:
        gram = gram + at_angles(guided)
    b[..., 0] += scale_prior * g00 * expected
    solution = np.linalg.solve(gram, b[..., None])[..., 0]
    costs = norm[:, None, None] + scale_prior * total[:, None, None] - np.sum(b * solution, axis=-1)
    costs[solution[..., 0] <= 0] = np.inf
    return costs, solution
