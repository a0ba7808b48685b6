"""Solver matrices and the angle search of section 5.3 (used by :class:`poselift.lifting.Lifter`).

For a fixed component and angle, eq. 4 is ridge regression in ``z = (s, s a)``. With the
design ``A = Pi E R [mu, e]`` (2L x (J+1)), joint weights ``W`` (with weighted centring,
which removes the translation), the prior precision ``P`` (the scale prior's on ``s``, the
coefficients' on the rest), the scale prior's centre ``z_0`` and ``G = A^T W A + P``:

* ``v = A^T W y + P z_0`` (``y`` weighted-centred, so ``A`` need not be);
* the solution is ``z = G^-1 v`` and the cost ``y^T W y + z_0^T P z_0 - v^T z``.

``A(theta) = A_0 + cos(theta) A_1 + sin(theta) A_2``, so ``v`` at any angle comes from three
products per component and frame. :class:`SearchTables` holds ``G^-1`` for every component
and angle of the fine grid, and finds each pose's cheapest (component, angle) as the paper
does, every component at every coarse angle, then the fine angles around the winner:

* Candidates are ranked approximately. The cost is a quadratic form in ``(u, 1)``, where
  ``u`` (d numbers) are the coordinates of ``y`` in the subspace it lives in
  (weighted-centred, zero at unweighted joints). Over the angles of one component these
  forms span a space of low rank (32 at a relative error of 1e-6 for the shipped prior,
  against (d+1)(d+2)/2 = 561 entries), so each angle's cost is a short dot product with the
  frame's projections of its products ``u_i u_j``: for 3 components x 100 angles, about
  64,000 float32 multiply-adds a frame instead of the 190,000 of one product per candidate.
* The compiled kernel that ranks them (:func:`.kernels.shared_search`) then takes each
  frame's winner, checks it exactly for ``s > 0``, and solves exactly in float64 every
  candidate within :data:`_TIE_MARGIN` of it (ties the approximation cannot separate), all of
  them where the winner has ``s <= 0``; the fine angles likewise. So every choice is the
  float64 one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .candidates import Candidates, seeds

__all__ = ["Bank", "SearchTables", "ridge_systems", "solve_matrices", "search_tables"]

_CHUNK = 8192  # frames a block of the search: its memory stays at 13 MB (33 with hypotheses), its calls few
_LOW_RANK_ERROR = 1e-6  # largest error of a truncated quadratic form, relative to |(u, 1)|^2
_TIE_MARGIN = 1e-5  # candidates within this (relative to |(u, 1)|^2) of the best are solved exactly
# ten times the approximation's largest error measured (float32 and truncation together: 1.03e-6
# at every grid angle for 1,000 Human3.6M S9 poses at random yaws, the shipped prior at 80 and
# 100 angles, three weight patterns), so the exact check always holds the float64 winner; tested


@dataclass(frozen=True)
class Bank:
    """Solver matrices of eq. 4 in the form of the PyTorch lifting layer: components x angles.

    rows: (J+2, K, A, 2L): J+1 rows of ``H = L^-1 A^T W`` (``G = L L^T``) then the row
        giving ``s``. offset: (J+2, K, A): what the scale prior adds to those rows' outputs,
        so that ``h = H y + offset`` and the cost is ``y^T W y + constant - |h|^2``.
    constant: (K, A): ``z_0^T P z_0``.  back: (K, A, J+1, J+1): ``L^-T``, from ``h`` to ``z``.
    """

    rows: np.ndarray
    offset: np.ndarray
    constant: np.ndarray
    back: np.ndarray


@dataclass(frozen=True)
class RidgeSystems:
    """Eq. 4 for a stack of designs, every field with its shape ``(...)`` first.

    weighted: (..., 2L, J+1) ``W A_c`` (``A_c``: the design centred by the weights).
    gram: (..., J+1, J+1) ``G = A_c^T W A_c + P``.
    shift: (...) the first entry of ``P z_0`` (the others are 0).
    constant: (...) ``z_0^T P z_0``.
    """

    weighted: np.ndarray
    gram: np.ndarray
    shift: np.ndarray
    constant: np.ndarray


def ridge_systems(design: np.ndarray, weights: np.ndarray, precision: np.ndarray,
                  scale_prior: float) -> RidgeSystems:
    """Eq. 4's normal equations for designs (..., 2L, J+1) under joint weights broadcastable to
    (..., L) and coefficient precisions broadcastable to (..., J+1) (the first, for ``s``, is
    replaced by the scale prior's)."""
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
    return RidgeSystems(weighted, gram, scale_precision * expected_scale, scale_precision * expected_scale**2)


def solve_matrices(design: np.ndarray, weights: np.ndarray, precision: np.ndarray, scale_prior: float) -> Bank:
    """The :class:`Bank` of designs (K, A, 2L, J+1); arguments as for :func:`ridge_systems`."""
    systems = ridge_systems(design, weights, precision, scale_prior)
    lower_inv = np.linalg.inv(np.linalg.cholesky(systems.gram))
    h_rows = lower_inv @ np.swapaxes(systems.weighted, -1, -2)
    back = np.swapaxes(lower_inv, -1, -2)
    h_offset = lower_inv[..., 0] * systems.shift[..., None]  # L^-1 P z_0
    s_row = np.einsum("...i,...ix->...x", back[..., 0, :], h_rows)
    s_offset = np.einsum("...i,...i->...", back[..., 0, :], h_offset)
    rows = np.concatenate([h_rows, s_row[..., None, :]], axis=-2)  # (K, A, J+2, 2L)
    offset = np.concatenate([h_offset, s_offset[..., None]], axis=-1)
    return Bank(np.ascontiguousarray(np.moveaxis(rows, -2, 0)), np.ascontiguousarray(np.moveaxis(offset, -1, 0)),
                systems.constant, back)


@dataclass(frozen=True)
class SearchTables:
    """Everything the search of one weight pattern needs: K components, a grid of G angles
    of which every ``coarse_step``-th is a coarse one (A = G / coarse_step of them).

    Exact (float64):
        angles: (G,) the grid's angles in radians.
        parts: (2L, 3, K, J+1) ``W A_i`` for i = 0, 1, 2 (``v_i = A_i^T W y``).
        gram_inverse: (K, G, J+1, J+1) ``G^-1`` (the candidates' posterior covariances).
        fine_terms (E, 3) ``(1, cos, sin)`` (``v = sum_i terms_i v_i + P z_0``), fine_shift,
            fine_constant (K, E) (see :class:`RidgeSystems`) and fine_factor (K, E, P), the
            upper triangles of ``R^T`` (``G^-1 = R R^T``, R lower triangular) row by row: every
            grid angle's, coarse and fine, in E = G + 2 coarse_step columns. Column e is grid
            angle ``(e - coarse_step) mod G``, so that the fine angles around any coarse one
            are adjacent columns.
    Approximate (float32; see the module text):
        basis: (d, 2L) orthonormal coordinates (rows) of the subspace ``y`` lives in.
        factors: (K r, P) with P = (d+1)(d+2)/2: each component's r directions in the space
            of the products ``u_i u_j`` (upper triangle, row by row, ``u_d = 1``).
        coarse_loadings: (K, A, r): each coarse angle's quadratic form along those directions,
        coarse_constant (K, A) its constant; fine_loadings (K, E, r), fine_constant32 (K, E):
        every grid angle's, in the fine tables' columns.
    """

    angles: np.ndarray
    coarse_step: int
    parts: np.ndarray
    gram_inverse: np.ndarray
    basis: np.ndarray
    factors: np.ndarray
    coarse_loadings: np.ndarray
    coarse_constant: np.ndarray
    fine_loadings: np.ndarray
    fine_constant32: np.ndarray
    fine_terms: np.ndarray
    fine_shift: np.ndarray
    fine_constant: np.ndarray
    fine_factor: np.ndarray

    def search(self, y: np.ndarray, norm: np.ndarray, per_frame: int = 1, covariance: bool = False) -> Candidates:
        """The cheapest grid point of eq. 4 for (n, 2L) weighted-centred poses, searched as
        section 5.3 does: every component at every coarse angle, then the
        ``2 coarse_step - 1`` grid angles around the winner in its component; with
        ``per_frame > 1``, around other local minima too (:func:`.candidates.local_minima`).

        Args:
            y: (n, 2L) poses, weighted-centred, zero at joints of weight 0.
            norm: (n,) their weighted squared norms ``y^T W y``.
            per_frame: candidates a frame.
            covariance: also return each candidate's ``G^-1``.

        Raises:
            ValueError: where no coarse candidate has ``s > 0``.
        """
        components, grid, unknowns = self.gram_inverse.shape[:3]
        points = np.full((len(y), per_frame), -1)  # flat grid points k G + g
        cost = np.full((len(y), per_frame), np.inf)
        z = np.zeros((len(y), per_frame, unknowns))
        fine = (self.fine_loadings, self.fine_constant32, self.fine_factor, self.fine_terms, self.fine_shift,
                self.fine_constant, self.coarse_step, _TIE_MARGIN)
        for start in range(0, len(y), _CHUNK):
            chunk = slice(start, start + _CHUNK)
            poses, norms = np.ascontiguousarray(y[chunk]), np.ascontiguousarray(norm[chunk])
            m = len(poses)
            costs = np.empty((m if per_frame > 1 else 0,) + self.coarse_constant.shape)
            winners = np.empty(m, dtype=np.int64)
            projections = np.empty((m, components, self.fine_loadings.shape[-1]), dtype=np.float32)
            v = np.empty((m, 3, components, unknowns))
            found = (np.empty(m, dtype=np.int64), np.empty(m), np.empty((m, unknowns)))
            with kernels.LOCK:
                kernels.shared_search(poses, norms, self.basis, self.factors, self.coarse_loadings,
                                      self.coarse_constant, self.parts, *fine, costs, winners, projections, v, *found)
            start_from = seeds(winners, costs, per_frame)  # refuses frames without a candidate
            if per_frame == 1:  # the kernel refined the winner already
                points[chunk, 0], cost[chunk, 0], z[chunk, 0] = found
                continue
            found = (np.empty((m, per_frame), dtype=np.int64), np.empty((m, per_frame)),
                     np.empty((m, per_frame, unknowns)))
            with kernels.LOCK:
                kernels.shared_fine(poses, norms, projections, v, *fine, start_from, *found)
            points[chunk], cost[chunk], z[chunk] = found
        component, g = np.divmod(points, grid)
        component[points < 0] = -1
        return Candidates(component, self.angles[g], cost, z, self.gram_inverse[component, g] if covariance else None)


def search_tables(design_parts: np.ndarray, angles: np.ndarray, coarse_step: int, weights: np.ndarray,
                  precision: np.ndarray, scale_prior: float) -> SearchTables:
    """Build the :class:`SearchTables` of one weight pattern.

    Args:
        design_parts: (3, K, 2L, J+1) ``A_0, A_1, A_2`` of every component.
        angles: (G,) the grid's angles; every ``coarse_step``-th is a coarse one.
        coarse_step: grid angles per coarse angle.
        weights: (L,) the joint weights.
        precision: (K, J+1) coefficient precisions (the first is replaced by the scale prior's).
        scale_prior: weight of the scale prior.
    """
    terms = np.stack([np.ones_like(angles), np.cos(angles), np.sin(angles)], axis=1)  # (G, 3)
    design = np.einsum("gi,ikxj->kgxj", terms, design_parts)  # (K, G, 2L, J+1)
    systems = ridge_systems(design, weights, precision[:, None], scale_prior)
    gram_inverse = np.linalg.inv(systems.gram)
    gram_inverse = (gram_inverse + np.swapaxes(gram_inverse, -1, -2)) / 2
    basis = _subspace(weights)
    coarse = slice(None, None, coarse_step)
    loadings, factors = _low_rank_forms(systems, gram_inverse, basis, coarse_step)
    parts = np.moveaxis(design_parts * np.repeat(weights, 2)[:, None], 2, 0)  # (2L, 3, K, J+1): W A_i
    # the fine tables, G^-1 = R R^T, wrapped: column e is grid angle (e - coarse_step) mod G
    wrapped = (np.arange(len(angles) + 2 * coarse_step) - coarse_step) % len(angles)
    rows, cols = np.triu_indices(gram_inverse.shape[-1])
    factor = np.swapaxes(np.linalg.cholesky(gram_inverse), -1, -2)[..., rows, cols]  # (K, G, P) of R^T
    return SearchTables(
        angles=angles, coarse_step=coarse_step, parts=np.ascontiguousarray(parts), gram_inverse=gram_inverse,
        coarse_constant=np.ascontiguousarray(systems.constant[:, coarse]).astype(np.float32),
        basis=np.ascontiguousarray(basis.T), factors=factors.astype(np.float32),
        coarse_loadings=np.ascontiguousarray(loadings[:, coarse]).astype(np.float32),
        fine_loadings=np.ascontiguousarray(loadings[:, wrapped]).astype(np.float32),
        fine_constant32=np.ascontiguousarray(systems.constant[:, wrapped]).astype(np.float32),
        fine_terms=np.ascontiguousarray(terms[wrapped]), fine_shift=np.ascontiguousarray(systems.shift[:, wrapped]),
        fine_constant=np.ascontiguousarray(systems.constant[:, wrapped]),
        fine_factor=np.ascontiguousarray(factor[:, wrapped]))


def _low_rank_forms(systems: RidgeSystems, gram_inverse: np.ndarray, basis: np.ndarray,
                    coarse_step: int) -> tuple[np.ndarray, np.ndarray]:
    """Each grid angle's cost as a quadratic form in ``(u, 1)``, truncated to the rank the
    worst angle of any component needs for an error of :data:`_LOW_RANK_ERROR`.

    The directions come from the coarse angles' forms (an SVD per component), and serve the
    fine angles between them too where they are accurate enough there (checked), else from
    all the angles' forms.

    Returns:
        loadings (K, G, r) and factors (K r, P): form_kg . p = loadings[k, g] . (factors_k p)
        for the (P,) products p of ``(u, 1)``.
    """
    # v = M (u, 1) with M = [A^T W basis, P z_0 e_0], so the cost's quadratic part is M^T G^-1 M
    linear = np.swapaxes(systems.weighted, -1, -2) @ basis  # (K, G, J+1, d)
    constant_column = np.zeros(linear.shape[:-1] + (1,))
    constant_column[..., 0, 0] = systems.shift
    m = np.concatenate([linear, constant_column], axis=-1)
    forms = np.swapaxes(m, -1, -2) @ gram_inverse @ m  # (K, G, d+1, d+1)
    upper = np.triu_indices(forms.shape[-1])
    packed = forms[..., upper[0], upper[1]] * np.where(upper[0] == upper[1], 1.0, 2.0)  # (K, G, P)
    for rows in (packed[:, ::coarse_step], packed):
        left, values, directions = np.linalg.svd(rows, full_matrices=False)  # per component
        # what keeping r directions leaves out of each of these rows, from the smallest terms up
        dropped = np.sqrt(np.cumsum(((left * values[:, None]) ** 2)[..., ::-1], axis=-1)[..., ::-1]).max(axis=(0, 1))
        loadings = packed @ np.swapaxes(directions, -1, -2)  # (K, G, D)
        for rank in range(max(int(np.argmax(np.append(dropped, 0.0) <= _LOW_RANK_ERROR)), 1), len(values[0]) + 1):
            # checked on every angle: the cost's error is at most this norm times |(u, 1)|^2
            error = packed - loadings[..., :rank] @ directions[:, :rank]
            if np.sqrt(np.einsum("kgp,kgp->kg", error, error)).max() <= _LOW_RANK_ERROR:
                return np.ascontiguousarray(loadings[..., :rank]), directions[:, :rank].reshape(-1, packed.shape[-1])
    raise ArithmeticError("no rank reaches the required accuracy")  # unreachable: all directions are exact


def _subspace(weights: np.ndarray) -> np.ndarray:
    """(2L, d) orthonormal basis of the poses ``y`` with ``sum_l w_l y_l = 0`` and ``y_l = 0``
    where ``w_l = 0`` (d = 2 (visible joints - 1))."""
    num_joints = len(weights)
    visible = np.flatnonzero(weights > 0)
    span = np.zeros((2 * num_joints, 2 * len(visible)))
    for i, joint in enumerate(visible):
        span[2 * joint, 2 * i] = span[2 * joint + 1, 2 * i + 1] = 1.0
    constraints = np.zeros((2, 2 * num_joints))
    constraints[0, 0::2] = constraints[1, 1::2] = weights
    null = np.linalg.svd(constraints @ span)[2][2:]  # (2V - 2, 2V): coordinates meeting both
    return span @ null.T
