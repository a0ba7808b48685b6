"""Section 5.3 for poses that each have joint weights of their own (e.g. detector confidences).

Search tables (:mod:`poselift.lifting.tables`) pay off only for frames that share a weight
pattern. Here every frame is solved on its own: ``A(theta) = A0 + cos(theta) A1 + sin(theta) A2``,
so the weighted Gram matrix and ``A^T W y`` of every angle are combinations of six matrices and
three vectors per frame and component (:func:`.kernels.expansions`), and each angle then costs
one small Cholesky solve (:func:`.kernels.individual_coarse`). The search is the paper's: every
component at every coarse angle, then the fine angles around the winner in its component.

A :class:`Guide` adds a Gaussian term on the 3D pose to eq. 4 (the combined lifter of
:mod:`poselift.lifting.combined`). It is a quadratic form in ``z`` whose matrix is quadratic in
``(1, cos, sin)`` too, so it joins the Gram matrices (after the scale prior has read the 2D
design's) and the search is otherwise unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .candidates import Candidates, searched

__all__ = ["Guide", "search_individually"]

_BLOCK = 1024  # frames whose expansions are held at once (about 23 MB for 3 components, 17 unknowns)


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


def search_individually(shapes: np.ndarray, projection: np.ndarray, precision: np.ndarray, scale_prior: float,
                        coarse_angles: np.ndarray, fine_offsets: np.ndarray, weights: np.ndarray, y: np.ndarray,
                        norm: np.ndarray, guide: Guide | None = None, per_frame: int = 1,
                        covariance: bool = False) -> Candidates:
    """The cheapest (component, angle) of eq. 4 for frames with weights of their own, and with
    ``per_frame > 1`` the cheapest other local minima too (:func:`.candidates.local_minima`).

    Args:
        shapes: (K, J+1, L, 3) ``[mu, e]`` of every component.
        projection: (2, 3) ``Pi E``, applied after the rotation about y.
        precision: (K, J+1) coefficient precisions (the first, for ``s``, is replaced by the
            scale prior's).
        scale_prior: weight beta of the scale prior.
        coarse_angles: (A,) radians, the coarse grid.
        fine_offsets: (F,) radians added to a coarse angle for the fine search.
        weights: (n, L) joint weights.
        y: (n, 2L) weighted-centred poses of unit spread, zero at joints of weight 0.
        norm: (n,) their weighted squared norms ``y^T W y``.
        guide: an optional 3D pose term (:class:`Guide`) for the n frames.
        per_frame: candidates a frame.
        covariance: also return ``G^-1`` of each candidate.

    Raises:
        ValueError: where no coarse candidate has ``s > 0``.
    """
    components, unknowns = shapes.shape[:2]
    order = np.roll(np.arange(unknowns), -1)  # the kernels' order: s last
    ordered_precision = np.ascontiguousarray(precision[:, order])
    ordered_shapes = np.ascontiguousarray(shapes[:, order].transpose(0, 2, 3, 1))  # (K, L, 3, J+1)
    rotation = kernels.rotation_terms(projection)
    # G(theta + pi) = G(theta) where G has no terms in cos or sin alone (kernels.individual_coarse)
    half = len(coarse_angles) // 2
    paired = (guide is None and len(coarse_angles) % 2 == 0 and not np.any(rotation[:, 1:3])
              and np.allclose(coarse_angles[half:], coarse_angles[:half] + np.pi, rtol=0, atol=1e-12))
    cos, sin = np.cos(coarse_angles), np.sin(coarse_angles)
    chosen = Candidates.empty(len(y), per_frame, unknowns, covariance)
    for start in range(0, len(y), _BLOCK):
        block = np.arange(start, min(start + _BLOCK, len(y)))
        n = len(block)
        grams = np.empty((n, components, 6, kernels.packed_size(unknowns)))
        rhs = np.empty((n, components, 3, unknowns))
        g00 = np.empty(grams.shape[:3])
        w = np.ascontiguousarray(weights[block])
        with kernels.LOCK:
            kernels.expansions(ordered_shapes, projection, rotation, w, np.ascontiguousarray(y[block]), grams, rhs,
                               g00)
        if guide is not None:
            grams += _packed(guide.grams(block), order)
        total = w.sum(axis=1)
        block_norm = np.ascontiguousarray(norm[block])

        def coarse(keep_costs: bool, grams=grams, rhs=rhs, g00=g00, total=total, block_norm=block_norm):
            best = np.empty(len(total), dtype=np.int64)
            costs = np.empty((len(total) if keep_costs else 0, grams.shape[1], len(cos)))
            with kernels.LOCK:
                kernels.individual_coarse(grams, rhs, g00, ordered_precision, total, block_norm, scale_prior, cos,
                                          sin, paired, costs, best)
            return best, costs if keep_costs else None

        def fine(seeds: np.ndarray, grams=grams, rhs=rhs, g00=g00, total=total, block_norm=block_norm) -> Candidates:
            component, a = np.divmod(seeds, len(coarse_angles))
            component[seeds < 0] = -1
            found = Candidates.empty(len(seeds), seeds.shape[1], unknowns, False)
            inverse = np.empty((len(seeds) if covariance else 0,) + seeds.shape[1:] + (unknowns, unknowns))
            with kernels.LOCK:
                kernels.individual_fine(grams, rhs, g00, ordered_precision, total, block_norm, scale_prior,
                                        component, coarse_angles[a], fine_offsets, found.angle, found.cost,
                                        found.z, inverse)
            component[~np.isfinite(found.cost)] = -1
            return Candidates(component, found.angle, found.cost, found.z, inverse if covariance else None)

        chosen.put(block, searched(coarse, fine, per_frame))
    return chosen


def _packed(expansions: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(..., 6, P) the packed lower triangles, in the kernels' ``order``, of the six symmetric
    matrices ``S_ij`` (i <= j) of (..., 3, 3, J+1, J+1) expansions ``D_i^T D_j`` (as
    :func:`.kernels.expansions` lays them out)."""
    rows, cols = np.tril_indices(len(order))
    pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
    ordered = expansions[..., order[:, None], order]
    return np.stack([ordered[..., i, j, rows, cols] + (ordered[..., j, i, rows, cols] if i != j else 0.0)
                     for i, j in pairs], axis=-2)
