"""Section 4.1: aligning training poses by rotations about the vertical axis.

Each training pose ``P_i`` (L, 3), in the y-up prior frame, is modelled as
``P_i = R_i (mu + a_i . e) + noise``, with ``R_i`` a ground-plane rotation. We read the
objective of eq. 1 as the negative log-likelihood of the un-rotated poses ``R_i^T P_i``
under a PPCA model (reconstruction error, a Gaussian prior on the coefficients and the log
determinant), and minimise it by alternating:

* closed-form PPCA (:func:`~poselift.prior.ppca.fit_ppca`) for ``mu, e, variances, noise``
  with the rotations fixed (exact maximum likelihood), and
* per-pose rotations with the PPCA fixed: the Mahalanobis distance of ``R(theta)^T P`` is a
  quadratic form in ``(cos theta, sin theta)``, minimised exactly by a grid and Newton
  steps (:func:`best_yaw`), where the paper used Ceres,

while the basis grows from 1 to its target size J (which keeps deformations that are really
rotations out of the early basis). Both steps are exact or guarded minimisations, so the
objective never increases; :class:`AlignmentResult` logs it.

The mean is initialised with the Tomasi-Kanade variant of the paper (:func:`tomasi_kanade_mean`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry import rotate_about_up, wrap_angle
from .ppca import PPCA, fit_ppca, mahalanobis

__all__ = ["tomasi_kanade_mean", "yaw_quadratic", "best_yaw", "unrotate", "AlignmentResult", "align_poses"]

YAW_GRID = 36
"""Angles tried by :func:`best_yaw` before the Newton steps (every 10 degrees)."""


def unrotate(poses: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """``R(theta)^T P``: (N, L, 3) poses turned back by their (N,) angles."""
    return rotate_about_up(poses, -np.asarray(angles))


def tomasi_kanade_mean(poses: np.ndarray) -> np.ndarray:
    """Initial mean pose (section 4.1), robust to each pose's unknown ground rotation.

    y of the mean is the per-joint mean of y (rotations about y leave it alone). For x and
    z, the 2N x L matrix of interleaved x and z rows is factorised at rank two,
    ``M ~ A B``; each 2x2 block of ``A`` is replaced by its nearest rotation and the x-z
    rows of the mean are ``pinv(A_hat) M``.

    Args:
        poses: (N, L, 3) prior-frame poses.

    Returns:
        (L, 3) mean pose.
    """
    n, num_joints, _ = poses.shape
    m = poses[:, :, [0, 2]].transpose(0, 2, 1).reshape(2 * n, num_joints)
    # rank-2 factor through the small L x L Gram matrix: M ~ (M V) V^T
    _, eigvecs = np.linalg.eigh(m.T @ m)
    v = eigvecs[:, ::-1][:, :2]
    blocks = (m @ v).reshape(n, 2, 2)
    if np.median(np.linalg.det(blocks)) < 0:  # choose the factor's handedness so blocks are rotations
        blocks[:, :, 1] *= -1
    u, _, vt = np.linalg.svd(blocks)
    det = np.sign(np.linalg.det(u @ vt))
    u[:, :, 1] *= det[:, None]
    rotations = u @ vt  # nearest rotation of each block
    # pinv of a stack of N rotations is their transposes stacked, over N
    mean_xz = np.einsum("nij,nil->jl", rotations, m.reshape(n, 2, num_joints)) / n
    mean = np.empty((num_joints, 3))
    mean[:, 0], mean[:, 2] = mean_xz
    mean[:, 1] = poses[:, :, 1].mean(axis=0)
    return mean


def yaw_quadratic(poses: np.ndarray, model: PPCA) -> np.ndarray:
    """Coefficients of ``q(theta) = mahalanobis(R(theta)^T P)`` under ``model``.

    With ``c = cos theta, s = sin theta``, ``R(theta)^T P = c u + s v + w`` where per joint
    ``u = (x, 0, z)``, ``v = (-z, 0, x)``, ``w = (0, y, 0) - mean``, so
    ``q = A c^2 + B s^2 + 2 C c s + 2 D c + 2 E s + F``. The inner products use that
    structure instead of forming u, v, w.

    Args:
        poses: (N, L, 3) prior-frame poses.
        model: PPCA over flattened (L * 3) poses.

    Returns:
        (N, 6) array of A, B, C, D, E, F.
    """
    px, py, pz = poses[..., 0], poses[..., 1], poses[..., 2]
    mean = model.mean.reshape(-1, 3)
    basis = model.basis.reshape(len(model.basis), len(mean), 3)
    bx, by, bz = basis[..., 0].T, basis[..., 1].T, basis[..., 2].T  # (L, J) each
    mean_proj = model.basis @ model.mean  # (J,)
    bu = px @ bx + pz @ bz
    bv = px @ bz - pz @ bx
    bw = py @ by - mean_proj
    uu = np.sum(px * px + pz * pz, axis=-1)
    uw = -(px @ mean[:, 0] + pz @ mean[:, 2])
    vw = pz @ mean[:, 0] - px @ mean[:, 2]
    ww = np.sum((py - mean[:, 1]) ** 2, axis=-1) + np.sum(mean[:, 0] ** 2 + mean[:, 2] ** 2)
    shrink = model.shrink

    def reduce(ba, bb):
        return np.sum(ba * bb * shrink, axis=-1)

    return np.stack([uu - reduce(bu, bu), uu - reduce(bv, bv), -reduce(bu, bv),
                     uw - reduce(bu, bw), vw - reduce(bv, bw), ww - reduce(bw, bw)], -1) / model.noise


def _harmonic_form(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """q(theta) in double angles: ``constant + weights . (cos 2t, sin 2t, cos t, sin t)``,
    with ``constant = F + (A + B) / 2`` and ``weights = ((A - B) / 2, C, 2 D, 2 E)``."""
    weights = np.stack([(q[:, 0] - q[:, 1]) / 2, q[:, 2], 2 * q[:, 3], 2 * q[:, 4]], axis=-1)
    return q[:, 5] + (q[:, 0] + q[:, 1]) / 2, weights


def _harmonics(theta: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(2 * theta), np.sin(2 * theta), np.cos(theta), np.sin(theta)], axis=-1)


def _evaluate(q: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(N,) q(theta_n) for (N, 6) coefficients at (N,) angles."""
    constant, weights = _harmonic_form(q)
    return constant + np.sum(weights * _harmonics(theta), axis=-1)


def _evaluate_grid(q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(N, G) q at (G,) angles shared by all poses: one (N, 4) x (4, G) product."""
    constant, weights = _harmonic_form(q)
    return constant[:, None] + weights @ _harmonics(grid).T


def best_yaw(poses: np.ndarray, model: PPCA, current: np.ndarray | None = None,
             newton_steps: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per-pose angle minimising the Mahalanobis distance of ``R(theta)^T P`` under ``model``.

    A grid of :data:`YAW_GRID` angles, then Newton steps from the best; with ``current``
    given, a pose keeps its current angle unless the new one is at least as good (so an
    alternating optimisation never goes uphill).

    Args:
        poses: (N, L, 3) prior-frame poses.
        model: PPCA over flattened poses.
        current: optional (N,) current angles.
        newton_steps: refinement steps from the best grid angle.

    Returns:
        ``(angles (N,), distances (N,))``, angles in (-pi, pi].
    """
    q = yaw_quadratic(poses, model)
    grid = np.linspace(-np.pi, np.pi, YAW_GRID, endpoint=False)
    theta = grid[np.argmin(_evaluate_grid(q, grid), axis=1)]
    a, b, cc, d, e = (q[:, i] for i in range(5))
    for _ in range(newton_steps):
        c, s = np.cos(theta), np.sin(theta)
        c2, s2 = np.cos(2 * theta), np.sin(2 * theta)
        grad = (b - a) * s2 + 2 * cc * c2 - 2 * d * s + 2 * e * c
        curv = 2 * (b - a) * c2 - 4 * cc * s2 - 2 * d * c - 2 * e * s
        step = np.where(curv > 0, grad / np.where(curv > 0, curv, 1.0), 0.0)
        theta = theta - np.clip(step, -0.2, 0.2)
    value = _evaluate(q, theta)
    if current is not None:
        current = np.asarray(current, dtype=np.float64)
        old = _evaluate(q, current)
        keep = old <= value
        theta, value = np.where(keep, current, theta), np.where(keep, old, value)
    return wrap_angle(theta), value


@dataclass(frozen=True)
class AlignmentResult:
    """Result of :func:`align_poses`.

    Attributes:
        angles: (N,) rotation of each pose: ``P_i ~ R(angles_i) (mean + a . e)``.
        model: the final single PPCA over flattened un-rotated poses.
        objective: mean negative log-likelihood per pose after each step (nats), starting
            with the model fitted to the initial rotations; never increases.
        basis_sizes: the basis size in force at each entry of ``objective``.
    """

    angles: np.ndarray
    model: PPCA
    objective: tuple[float, ...]
    basis_sizes: tuple[int, ...]


def _nll_from_distances(distances: np.ndarray, model: PPCA) -> float:
    return float(0.5 * (distances.mean() + model.log_det() + model.dim * np.log(2 * np.pi)))


def _mean_nll(aligned_flat: np.ndarray, model: PPCA) -> float:
    return _nll_from_distances(mahalanobis(aligned_flat, model), model)


def align_poses(poses: np.ndarray, n_basis: int, dim: int | None = None, final_sweeps: int = 3,
                progress=None) -> AlignmentResult:
    """Section 4.1: jointly find per-pose ground rotations and a PPCA of the aligned poses.

    Args:
        poses: (N, L, 3) centred, size-normalised prior-frame poses.
        n_basis: target basis size J; the basis grows 1, 2, ..., J.
        dim: intrinsic dimension of the flattened poses (3L - 3 for centred poses).
        final_sweeps: rotation/PPCA alternations at the target size; one at each smaller
            size (on every 20th frame of Human3.6M S1, more changed the objective by less
            than 0.1%).
        progress: optional callable ``progress(basis_size, objective)`` after every sweep.

    Returns:
        An :class:`AlignmentResult`.
    """
    n, num_joints, _ = poses.shape
    dim = 3 * num_joints - 3 if dim is None else dim
    mean = tomasi_kanade_mean(poses)
    rigid = PPCA(mean.ravel(), np.zeros((0, mean.size)), np.zeros(0), 1.0, dim)
    angles, _ = best_yaw(poses, rigid)
    objective, sizes = [], []
    for size in range(1, n_basis + 1):
        for _ in range(final_sweeps if size == n_basis else 1):
            aligned = unrotate(poses, angles).reshape(n, -1)
            model = fit_ppca(aligned, size, dim=dim)
            objective.append(_mean_nll(aligned, model))
            angles, distances = best_yaw(poses, model, current=angles)
            objective.append(_nll_from_distances(distances, model))
            sizes += [size, size]
            if progress is not None:
                progress(size, objective[-1])
    aligned = unrotate(poses, angles).reshape(n, -1)
    model = fit_ppca(aligned, n_basis, dim=dim)
    objective.append(_mean_nll(aligned, model))
    sizes.append(n_basis)
    return AlignmentResult(angles, model, tuple(objective), tuple(sizes))
