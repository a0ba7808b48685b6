"""Section 4.2: greedy choice of the mixture's seed poses.

On a subsample of aligned poses, pick seeds ``S`` to minimise eq. 2, the summed distance
of every pose to its nearest seed, one at a time: each new seed is the candidate whose
addition lowers that sum the most. Stop at ``max_seeds``, or earlier when the best
candidate lies closer than ``min_separation`` to a seed already chosen (the paper: "we stop
proposing candidates when they occur too close to the existing candidates", so a dominant
mode gets one seed, not several).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

__all__ = ["MIN_SEPARATION", "greedy_seeds", "nearest_seed"]

MIN_SEPARATION = 0.5
"""Default stop distance, as a fraction of the median distance from the poses to the first seed."""


def greedy_seeds(points: np.ndarray, max_seeds: int, min_separation: float | None = None) -> np.ndarray:
    """Greedy minimisation of eq. 2 over a set of candidate points.

    Args:
        points: (N, D) aligned, flattened poses (a subsample; the cost is O(N^2)).
        max_seeds: K, the most seeds to choose.
        min_separation: stop distance in the units of ``points``; default
            :data:`MIN_SEPARATION` times the median distance to the first seed.

    Returns:
        (k,) indices into ``points`` of the seeds, 1 <= k <= K, in the order chosen.
    """
    points = np.asarray(points, dtype=np.float64)
    if max_seeds < 1:
        raise ValueError(f"need at least one seed, asked for {max_seeds}")
    if len(points) < max_seeds:
        raise ValueError(f"{len(points)} candidate poses cannot give {max_seeds} seeds")
    distances = cdist(points, points)
    first = int(np.argmin(distances.sum(axis=1)))  # the medoid
    seeds = [first]
    nearest = distances[first].copy()
    if min_separation is None:
        min_separation = MIN_SEPARATION * float(np.median(nearest))
    while len(seeds) < max_seeds:
        cost = np.minimum(distances, nearest[None, :]).sum(axis=1)
        cost[seeds] = np.inf
        candidate = int(np.argmin(cost))
        if nearest[candidate] < min_separation:
            break
        seeds.append(candidate)
        nearest = np.minimum(nearest, distances[candidate])
    return np.asarray(seeds)


def nearest_seed(points: np.ndarray, seeds: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """(N,) index of the nearest of (K, D) ``seeds`` for each of (N, D) ``points``."""
    out = np.empty(len(points), dtype=np.int64)
    for start in range(0, len(points), chunk):
        out[start:start + chunk] = np.argmin(cdist(points[start:start + chunk], seeds), axis=1)
    return out
