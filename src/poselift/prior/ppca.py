"""Probabilistic PCA and the EM algorithm for a mixture of PPCA (Tipping & Bishop 1999).

A PPCA component models a D-vector as ``x = mean + basis.T @ a + noise`` with coefficients
``a ~ N(0, diag(variances))``, orthonormal basis rows and isotropic noise of variance
``noise``: covariance ``C = basis.T diag(variances) basis + noise I``. This is the
parameterisation of the paper's eq. 1 (orthonormal ``e``, per-direction variances); Tipping
& Bishop's ``W`` is ``basis.T diag(sqrt(variances))``.

Data may live in a linear subspace of dimension ``dim < D`` (centred poses: ``D = 3L``
numbers, ``3L - 3`` degrees of freedom). Densities are then taken within that subspace,
which every mean and basis of a fit shares, and the noise is spread over ``dim - J``
directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

__all__ = ["PPCA", "fit_ppca", "ppca_log_density", "mahalanobis", "MixtureFit", "fit_mixture_ppca"]

# Smallest noise variance, relative to the data's total variance, to keep C invertible.
_NOISE_FLOOR = 1e-9


@dataclass(frozen=True)
class PPCA:
    """One PPCA component. Shapes: mean (D,), basis (J, D) orthonormal rows, variances (J,)."""

    mean: np.ndarray
    basis: np.ndarray
    variances: np.ndarray
    noise: float
    dim: int

    @property
    def shrink(self) -> np.ndarray:
        """(J,) ``variances / (variances + noise)``: the fraction of a deviation along each
        basis direction that the prior explains (posterior-mean shrinkage)."""
        return self.variances / (self.variances + self.noise)

    def log_det(self) -> float:
        """log |C| within the data's ``dim``-dimensional subspace."""
        j = len(self.variances)
        return float(np.sum(np.log(self.variances + self.noise)) + (self.dim - j) * np.log(self.noise))


def _check_data(x: np.ndarray, n_basis: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"data must be (N, D), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("data holds NaN or infinite values")
    if n_basis < 0 or n_basis >= x.shape[1]:
        raise ValueError(f"basis size must be in [0, {x.shape[1] - 1}], got {n_basis}")
    if x.shape[0] <= n_basis:
        raise ValueError(f"{x.shape[0]} samples cannot fit a basis of {n_basis}: need at least {n_basis + 1}")
    return x


def _weighted_second_moment(x: np.ndarray, w: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """``sum_n w_n x_n x_n^T`` by row chunks that stay in cache (twice as fast as one
    product on a large x, and no centred or weighted copy of x)."""
    out = np.zeros((x.shape[1], x.shape[1]))
    for start in range(0, len(x), chunk):
        rows = x[start:start + chunk]
        out += (rows * w[start:start + chunk, None]).T @ rows
    return out


def fit_ppca(x: np.ndarray, n_basis: int, weights: np.ndarray | None = None,
             dim: int | None = None) -> PPCA:
    """Maximum-likelihood PPCA in closed form (Tipping & Bishop 1999, eq. 7-8).

    Args:
        x: (N, D) samples.
        n_basis: J, the number of principal directions kept.
        weights: optional (N,) non-negative sample weights (the responsibilities of the
            mixture's M-step); default all ones.
        dim: intrinsic dimension of the data's subspace (default D).

    Returns:
        The :class:`PPCA` maximising the (weighted) likelihood.
    """
    x = _check_data(x, n_basis)
    dim = x.shape[1] if dim is None else dim
    if not n_basis < dim <= x.shape[1]:
        raise ValueError(f"intrinsic dimension {dim} must exceed the basis size {n_basis} and not exceed {x.shape[1]}")
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    total = w.sum()
    if not total > 0:
        raise ValueError("sample weights sum to zero")
    mean = w @ x / total
    cov = _weighted_second_moment(x, w) / total - np.outer(mean, mean)
    eigvals, eigvecs = np.linalg.eigh(cov)
    order = np.argsort(eigvals)[::-1]
    eigvals, eigvecs = np.clip(eigvals[order], 0.0, None), eigvecs[:, order]
    floor = _NOISE_FLOOR * max(eigvals.sum(), 1e-300)
    noise = max(eigvals[n_basis:dim].sum() / (dim - n_basis), floor)
    variances = np.clip(eigvals[:n_basis] - noise, floor, None)
    return PPCA(mean, eigvecs[:, :n_basis].T.copy(), variances, float(noise), dim)


def mahalanobis(x: np.ndarray, model: PPCA, sq_norms: np.ndarray | None = None) -> np.ndarray:
    """(N,) squared Mahalanobis distances ``(x - mean)^T C^-1 (x - mean)`` of (N, D) samples.

    ``sq_norms``, the (N,) squared norms of ``x``, may be passed when computed already;
    ``|x - mean|^2`` is then formed without a copy of ``x``.
    """
    x = np.asarray(x)
    if sq_norms is None:
        sq_norms = np.einsum("nd,nd->n", x, x)
    both = x @ np.concatenate([model.mean[:, None], model.basis.T], axis=1)  # one pass over x
    sq_dist = sq_norms - 2 * both[:, 0] + model.mean @ model.mean
    proj = both[:, 1:] - model.basis @ model.mean
    return (sq_dist - np.sum(proj**2 * model.shrink, axis=-1)) / model.noise


def ppca_log_density(x: np.ndarray, model: PPCA, sq_norms: np.ndarray | None = None) -> np.ndarray:
    """(N,) log N(x; mean, C) of (N, D) samples, within the model's subspace."""
    return -0.5 * (mahalanobis(x, model, sq_norms) + model.log_det() + model.dim * np.log(2 * np.pi))


@dataclass(frozen=True)
class MixtureFit:
    """Result of :func:`fit_mixture_ppca`.

    Attributes:
        components: the K fitted :class:`PPCA` components.
        weights: (K,) mixing proportions.
        log_likelihood: mean log-likelihood per sample after each EM iteration (index 0:
            after the first M-step from the initial assignment).
    """

    components: tuple[PPCA, ...]
    weights: np.ndarray
    log_likelihood: tuple[float, ...]


def _component_log_densities(x: np.ndarray, components, weights, sq_norms) -> np.ndarray:
    return np.stack([ppca_log_density(x, c, sq_norms) + np.log(w) for c, w in zip(components, weights)], axis=1)


def fit_mixture_ppca(x: np.ndarray, assignment: np.ndarray, n_basis: int, dim: int | None = None,
                     max_iter: int = 50, tol: float = 1e-4, progress=None) -> MixtureFit:
    """EM for a mixture of PPCA (Tipping & Bishop 1999, appendix C), from a hard assignment.

    Args:
        x: (N, D) samples.
        assignment: (N,) initial component index of each sample, in [0, K).
        n_basis: J, the basis size of every component.
        dim: intrinsic dimension of the data's subspace (default D).
        max_iter: EM iterations at most.
        tol: stop when the mean log-likelihood per sample rises by less than this.
        progress: optional callable ``progress(iteration, mean_log_likelihood)``.

    Returns:
        A :class:`MixtureFit`; its log-likelihood never decreases from one iteration to
        the next (both steps are exact).
    """
    x = _check_data(x, n_basis)
    assignment = np.asarray(assignment)
    if assignment.shape != (len(x),):
        raise ValueError(f"assignment must be ({len(x)},), got {assignment.shape}")
    k = int(assignment.max()) + 1
    counts = np.bincount(assignment, minlength=k)
    if np.any(counts <= n_basis):
        raise ValueError(f"every component needs more than {n_basis} samples; counts are {counts.tolist()}")
    resp = np.zeros((len(x), k))
    resp[np.arange(len(x)), assignment] = 1.0
    history: list[float] = []
    sq_norms = np.einsum("nd,nd->n", x, x)
    for iteration in range(max_iter):
        mass = resp.sum(axis=0)
        weights = mass / mass.sum()
        components = tuple(fit_ppca(x, n_basis, resp[:, j], dim) for j in range(k))
        log_joint = _component_log_densities(x, components, weights, sq_norms)
        log_norm = logsumexp(log_joint, axis=1, keepdims=True)
        history.append(float(log_norm.mean()))
        if progress is not None:
            progress(iteration, history[-1])
        if len(history) > 1 and history[-1] - history[-2] < tol:
            break
        resp = np.exp(log_joint - log_norm)
    return MixtureFit(components, weights, tuple(history))
