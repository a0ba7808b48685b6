"""A plain implementation of section 5.3, for tests and benchmarks of :mod:`poselift.lifting`.

Written from the paper's description, one least-squares problem at a time: for every frame,
every mixture component and every angle of the grid, build the weighted design of eq. 4 in
pixels, with the translation as two unregularised unknowns, and solve it with
``numpy.linalg.lstsq``; keep the cheapest; then do the same on the fine angles around it.
The objective is the one :class:`poselift.lifting.Lifter` minimises, in pixels^2::

    sum_l w_l |Y_l - s Pi E R x_l - t|^2 + s^2 sum_j (g noise_k / var_kj) a_j^2
        + beta W rho^2 ((s - s_k) / s_k)^2

with ``rho`` the weighted RMS spread of the 2D points about their weighted mean and
``s_k = rho / rho_k(theta)`` the scale at which the component mean's projection has the
same spread. With a guide pose ``g`` (the combined lifter), the rows of
``lambda s^2 |C (E R x - g)|^2`` join the system (C: centring on the joints' mean). Slow by
design: no precomputation, no batching.
"""

from __future__ import annotations

import numpy as np

from ..geometry import WEAK_PERSPECTIVE, rotate_about_up, wrap_angle
from ..prior.model import PosePrior
from .lifter import DEFAULT_ANGLES, DEFAULT_GUIDE_WEIGHT, DEFAULT_REGULARIZATION, REFINE_STEPS, SCALE_PRIOR

__all__ = ["lift_reference"]


def _solve(points, weights, prior, k, theta, camera, regularization, scale_prior, guide, guide_weight):
    """Eq. 4 at one component and angle (with the guide's rows where ``guide`` (L, 3) model
    units is given): (cost, s, a, t)."""
    projection = WEAK_PERSPECTIVE @ camera
    num_joints = len(weights)
    shapes = np.concatenate([prior.means[k][None], prior.bases[k]])  # (J+1, L, 3)
    design_2d = rotate_about_up(shapes, theta) @ projection.T  # (J+1, L, 2)
    columns = [design_2d[j].reshape(-1) for j in range(len(shapes))]
    columns += [np.tile([1.0, 0.0], num_joints), np.tile([0.0, 1.0], num_joints)]  # translation
    design = np.stack(columns, axis=1)  # (2L, J+3)
    root_w = np.sqrt(np.repeat(weights, 2))
    total = weights.sum()
    visible = weights > 0
    centre = weights[visible] @ points[visible] / total
    spread = np.sqrt(weights[visible] @ np.sum((points[visible] - centre) ** 2, axis=1) / total)
    mean_2d = design_2d[0]
    mean_centre = weights @ mean_2d / total
    mean_spread = np.sqrt(weights @ np.sum((mean_2d - mean_centre) ** 2, axis=1) / total)
    expected = spread / mean_spread
    scale_weight = np.sqrt(scale_prior * total) * spread / expected
    coeff_weights = np.sqrt(regularization * prior.noise[k] / prior.variances[k])
    j = len(shapes) - 1
    prior_rows = np.zeros((j + 1, design.shape[1]))
    prior_rows[0, 0] = scale_weight
    prior_rows[1:, 1:j + 1] = np.diag(coeff_weights)
    target = np.concatenate([root_w * np.where(np.repeat(visible, 2), points.reshape(-1), 0.0),
                             [scale_weight * expected], np.zeros(j)])
    system = np.concatenate([design * root_w[:, None], prior_rows])
    if guide is not None:
        shapes_3d = rotate_about_up(shapes, theta) @ camera.T  # (J+1, L, 3)
        shapes_3d = shapes_3d - shapes_3d.mean(axis=1, keepdims=True)
        shapes_3d[0] -= guide - guide.mean(axis=0)
        guide_rows = np.zeros((3 * num_joints, design.shape[1]))
        guide_rows[:, :j + 1] = np.sqrt(guide_weight) * shapes_3d.reshape(j + 1, -1).T
        system = np.concatenate([system, guide_rows])
        target = np.concatenate([target, np.zeros(3 * num_joints)])
    z, *_ = np.linalg.lstsq(system, target, rcond=None)
    cost = float(np.sum((system @ z - target) ** 2))
    return cost, z[0], z[1:j + 1] / z[0], z[j + 1:]


def lift_reference(points_2d: np.ndarray, prior: PosePrior, weights: np.ndarray | None = None,
                   angles: int = DEFAULT_ANGLES, refine: int = REFINE_STEPS,
                   camera_rotation: np.ndarray | None = None, regularization: float = DEFAULT_REGULARIZATION,
                   scale_prior: float = SCALE_PRIOR, guide: np.ndarray | None = None,
                   guide_weight: float = DEFAULT_GUIDE_WEIGHT) -> dict:
    """Lift (N, L, 2) pixel joints frame by frame; returns a dict of arrays.

    ``guide``: optional (N, L, 3) mm poses in the view frame (as for
    :meth:`poselift.lifting.Lifter.lift`), each pulling its frame's pose with ``guide_weight``.

    Keys: ``pose_3d`` (N, L, 3) mm, ``angle`` (in [-pi, pi)), ``scale``, ``component``, ``cost`` (N,),
    ``coefficients`` (N, J), ``translation`` (N, 2).
    """
    points_2d = np.asarray(points_2d, dtype=np.float64)
    n, num_joints, _ = points_2d.shape
    weights = np.ones((n, num_joints)) if weights is None else np.broadcast_to(weights, (n, num_joints))
    camera = np.eye(3) if camera_rotation is None else np.asarray(camera_rotation, dtype=np.float64)
    guides = [None] * n if guide is None else np.asarray(guide, dtype=np.float64) / prior.millimetres_per_unit()
    grid = np.linspace(-np.pi, np.pi, angles, endpoint=False)
    step = 2 * np.pi / angles
    fine = np.arange(-max(refine, 1) + 1, max(refine, 1)) / max(refine, 1) * step
    out = {key: [] for key in ("angle", "scale", "component", "cost", "coefficients", "translation")}
    for points, w, g in zip(points_2d, weights, guides):
        best = None
        for k in range(prior.n_components):
            for theta in grid:
                cost, s, a, t = _solve(points, w, prior, k, theta, camera, regularization, scale_prior, g,
                                       guide_weight)
                if s > 0 and (best is None or cost < best[0]):
                    best = (cost, s, a, t, k, theta)
        if best is None:
            raise ValueError("no rotation gives a positive scale for some pose")
        k, coarse = best[4], best[5]
        for theta in coarse + fine:
            cost, s, a, t = _solve(points, w, prior, k, theta, camera, regularization, scale_prior, g, guide_weight)
            if s > 0 and cost < best[0]:
                best = (cost, s, a, t, k, theta)
        cost, s, a, t, k, theta = best
        for key, value in zip(("cost", "scale", "coefficients", "translation", "component", "angle"),
                              (cost, s, a, t, k, theta)):
            out[key].append(value)
    result = {key: np.asarray(value) for key, value in out.items()}
    result["angle"] = wrap_angle(result["angle"])  # fine angles past +-pi
    shapes = prior.means[result["component"]] + np.einsum("nj,njlc->nlc", result["coefficients"],
                                                          prior.bases[result["component"]])
    result["pose_3d"] = prior.to_millimetres(rotate_about_up(shapes, result["angle"]))
    return result
