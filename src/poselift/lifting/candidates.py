"""Solved candidates of eq. 4's search (section 5.3), several a frame, and where to seed them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Candidates", "local_minima", "seeds", "searched"]


@dataclass(frozen=True)
class Candidates:
    """Solved (component, angle) candidates of eq. 4, H a frame, in unit-spread units.

    Attributes:
        component: (n, H) int, the mixture component (-1: no candidate).
        angle: (n, H) radians, the ground-plane angle (fine angles may lie past +-pi).
        cost: (n, H) eq. 4 at the optimum (inf: no candidate).
        z: (n, H, J+1) the solution ``(s, s a)``.
        gram_inverse: (n, H, J+1, J+1) ``G^-1`` at the candidate (the posterior covariance of
            ``z`` up to the 2D noise's variance), or None where it was not asked for.
    """

    component: np.ndarray
    angle: np.ndarray
    cost: np.ndarray
    z: np.ndarray
    gram_inverse: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, per_frame: int, unknowns: int, covariance: bool) -> "Candidates":
        """Room for n frames' ``per_frame`` candidates with ``unknowns`` = J+1 entries of z each."""
        shape = (n, per_frame)
        return cls(np.full(shape, -1), np.zeros(shape), np.full(shape, np.inf), np.zeros(shape + (unknowns,)),
                   np.zeros(shape + (unknowns, unknowns)) if covariance else None)

    def put(self, frames: np.ndarray, other: "Candidates") -> None:
        """Write ``other``'s frames into the rows ``frames`` (len(frames),) of these arrays."""
        for name in ("component", "angle", "cost", "z", "gram_inverse"):
            if getattr(self, name) is not None:
                getattr(self, name)[frames] = getattr(other, name)


def local_minima(best: np.ndarray, costs: np.ndarray, count: int) -> np.ndarray:
    """(n, count) flat coarse candidates ``k A + a`` to refine for several hypotheses.

    The first is each frame's cheapest, ``best`` (n,) (the paper's search refines it alone);
    the others are the cheapest other local minima over the angles of any component, in
    order of cost: a coarse angle no dearer than the one before it and cheaper than the one
    after it on the circle, with ``s > 0``. -1 pads frames with fewer.

    Args:
        best: (n,) the cheapest flat candidate of each frame.
        costs: (n, K, A) every coarse candidate's cost (inf where ``s <= 0``).
        count: candidates a frame (>= 1).
    """
    n = len(costs)
    minimum = (np.isfinite(costs) & (costs <= np.roll(costs, 1, axis=-1))
               & (costs < np.roll(costs, -1, axis=-1))).reshape(n, -1)
    minimum[np.arange(n), best] = False
    ranked = np.where(minimum, costs.reshape(n, -1), np.inf)
    order = np.argsort(ranked, axis=1, kind="stable")[:, :count - 1]
    others = np.where(np.isfinite(np.take_along_axis(ranked, order, axis=1)), order, -1)
    seeds = np.concatenate([best[:, None], others], axis=1)
    return np.pad(seeds, ((0, 0), (0, count - seeds.shape[1])), constant_values=-1)


def searched(coarse, fine, per_frame: int) -> Candidates:
    """Section 5.3's search of n frames with ``per_frame`` candidates each.

    Args:
        coarse: ``keep_costs -> (best (n,), costs (n, K, A) or None)``: every component at every
            coarse angle, the cheapest flat candidate ``k A + a`` (-1: none with ``s > 0``).
        fine: ``seeds (n, H) -> Candidates``: the fine angles around flat coarse seeds.
        per_frame: candidates a frame; beyond the first, :func:`local_minima`.

    Raises:
        ValueError: where a frame has no coarse candidate with ``s > 0``.
    """
    best, costs = coarse(per_frame > 1)
    return fine(seeds(best, costs, per_frame))


def seeds(best: np.ndarray, costs: np.ndarray | None, per_frame: int) -> np.ndarray:
    """(n, per_frame) flat coarse candidates to refine: each frame's cheapest ``best`` (n,),
    and with ``per_frame > 1`` the cheapest other local minima of its coarse ``costs``
    (:func:`local_minima`).

    Raises:
        ValueError: where a frame has no coarse candidate with ``s > 0`` (``best`` -1).
    """
    if np.any(best < 0):
        raise ValueError("no rotation gives a positive scale for some pose; are the 2D points degenerate?")
    return best[:, None] if per_frame == 1 else local_minima(best, costs, per_frame)
