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
  frame's projections of its products ``u_i u_j``: for 3 components x 100 angles, two float32
  matrix products of about 64,000 multiply-adds a frame instead of the 190,000 of one
  product per candidate.
* The ranking's winner is checked exactly for ``s > 0``; every candidate within
  :data:`_TIE_MARGIN` of it (ties the approximation cannot separate) is solved exactly in
  float64, and all of them where the winner has ``s <= 0``. So every choice is the float64
  one.
* Where many frames share a coarse winner (:data:`_GROUP_MIN_FRAMES`), they share the fine
  angles' ``G^-1`` too, and their fine angles are solved exactly together with a few
  matrix products instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Bank", "SearchTables", "ridge_systems", "solve_matrices", "search_tables"]

_CHUNK = 512  # frames per block of the approximate search: its products stay in cache
_GROUP_MIN_FRAMES = 24  # frames sharing a coarse winner, from which their fine angles are solved together
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
        parts: (2L, 3K(J+1)) ``W A_i`` for i = 0, 1, 2 (``v_i = A_i^T W y``), columns
            ordered (i, k, j).
        terms: (G, 3) ``(1, cos, sin)`` of the grid's angles: ``v = sum_i terms_i v_i + P z_0``.
        gram_inverse: (K, G, J+1, J+1); scale_rows: (K, G, J+1) its first rows (``s = row . v``).
        shift, constant: (K, G) (see :class:`RidgeSystems`).
    Approximate (float32; see the module text):
        basis: (2L, d) orthonormal coordinates of the subspace ``y`` lives in (float64).
        factors: (K r, P) with P = (d+1)(d+2)/2: each component's r directions in the space
            of the products ``u_i u_j`` (upper triangle, row by row, ``u_d = 1``).
        loadings: (K, G, r): each angle's quadratic form along those directions;
            coarse_loadings: (K, r, A) the coarse angles' (a copy laid out for the search).
        constant32: (K, G) ``constant`` in float32; coarse_constant: (K A,) at the coarse angles.
    """

    grid: int
    coarse_step: int
    parts: np.ndarray
    terms: np.ndarray
    gram_inverse: np.ndarray
    scale_rows: np.ndarray
    shift: np.ndarray
    constant: np.ndarray
    basis: np.ndarray
    factors: np.ndarray
    loadings: np.ndarray
    coarse_loadings: np.ndarray
    constant32: np.ndarray
    coarse_constant: np.ndarray

    # ---- the search ------------------------------------------------------------------
    def search(self, y: np.ndarray, norm: np.ndarray) -> tuple[np.ndarray, ...]:
        """The cheapest grid point of eq. 4 for (n, 2L) weighted-centred poses, searched as
        section 5.3 does: every component at every coarse angle, then the
        ``2 coarse_step - 1`` grid angles around the winner in its component.

        Args:
            y: (n, 2L) poses, weighted-centred, zero at joints of weight 0.
            norm: (n,) their weighted squared norms ``y^T W y``.

        Returns:
            component (n,), grid index (n,) of the angle, cost (n,) of eq. 4 (unit-spread
            units) and z (n, J+1) = (s, s a).

        Raises:
            ValueError: where no coarse candidate has ``s > 0``.
        """
        n = len(y)
        v = (y @ self.parts).reshape(n, 3, len(self.constant), -1)  # exact products, all components
        scale = np.einsum("nx,nx->n", y, y) + 1.0  # |(u, 1)|^2: what approximation errors scale with
        projections = np.empty(self.coarse_loadings.shape[:2] + (n,), dtype=np.float32)  # (K, r, n)
        winner = np.empty(n, dtype=np.int64)
        for start in range(0, n, _CHUNK):
            block = slice(start, start + _CHUNK)
            projections[..., block] = self._projections(y[block])
            winner[block] = self._coarse_winners(np.arange(start, min(start + _CHUNK, n)), projections[..., block],
                                                 v, norm, scale)
        flat = np.empty(n, dtype=np.int64)
        cost = np.empty(n)
        z = np.empty((n, self.gram_inverse.shape[-1]))
        order = np.argsort(winner, kind="stable")
        groups = np.split(order, np.flatnonzero(np.diff(winner[order])) + 1)
        for members in (group for group in groups if len(group) >= _GROUP_MIN_FRAMES):
            flat[members], cost[members], z[members] = self._fine_together(members, winner[members[0]], v, norm)
        few = [group for group in groups if len(group) < _GROUP_MIN_FRAMES]
        few = np.concatenate(few) if few else np.empty(0, dtype=np.int64)
        for start in range(0, len(few), _CHUNK):
            frames = few[start:start + _CHUNK]
            flat[frames] = self._fine_ranked(frames, winner[frames], projections[..., frames], v, norm, scale)
            cost[frames], z[frames] = self._solve(frames, flat[frames], v, norm)
        component, index = np.divmod(flat, self.grid)
        return component, index, cost, z

    def _coarse_winners(self, frames, projections, v, norm, scale) -> np.ndarray:
        """(m,) flat grid points ``k G + g`` of the cheapest coarse candidates of frames, from
        their (K, r, m) projections."""
        forms = np.matmul(projections.transpose(0, 2, 1), self.coarse_loadings)  # (K, m, A)
        approx = self.coarse_constant - forms.transpose(1, 0, 2).reshape(len(frames), -1)
        coarse = np.arange(0, self.grid, self.coarse_step)
        candidates = (np.arange(len(self.constant))[:, None] * self.grid + coarse).reshape(1, -1)
        return self._resolve(frames, approx, np.broadcast_to(candidates, approx.shape), v, norm, scale)

    def _fine_angles(self, coarse: np.ndarray) -> np.ndarray:
        """(..., F) grid indices of the fine angles around grid indices (...)."""
        return (coarse[..., None] + np.arange(-self.coarse_step + 1, self.coarse_step)) % self.grid

    def _fine_ranked(self, frames, winner, projections, v, norm, scale) -> np.ndarray:
        """(m,) flat grid points of the cheapest fine angles around frames' coarse winners
        (m,), ranked from their (K, r, m) projections and resolved exactly."""
        k, g = np.divmod(winner, self.grid)
        fine = self._fine_angles(g)  # (m, F)
        forms = self.loadings[k[:, None], fine] @ projections[k, :, np.arange(len(frames))][:, :, None]
        approx = self.constant32[k[:, None], fine] - forms[..., 0]
        return self._resolve(frames, approx, k[:, None] * self.grid + fine, v, norm, scale)

    def _fine_together(self, members, winner, v, norm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat grid points (m,), costs (m,) and z (m, J+1) of the cheapest fine angles of
        frames that share the coarse winner ``winner``, all solved exactly."""
        k, g = np.divmod(winner, self.grid)
        fine = self._fine_angles(g)
        parts = v[members, :, k].transpose(1, 2, 0).reshape(3, -1)  # (3, (J+1) m)
        vector = (self.terms[fine] @ parts).reshape(len(fine), -1, len(members))  # (F, J+1, m)
        vector[:, 0] += self.shift[k, fine, None]
        solutions = self.gram_inverse[k, fine] @ vector  # (F, J+1, m)
        costs = norm[members] + self.constant[k, fine, None] - (vector * solutions).sum(axis=1)  # (F, m)
        costs[~(solutions[:, 0] > 0)] = np.inf
        pick = np.argmin(costs, axis=0)
        rows = np.arange(len(members))
        return k * self.grid + fine[pick], costs[pick, rows], solutions[pick, :, rows]

    def _projections(self, y: np.ndarray) -> np.ndarray:
        """(K, r, m) projections of the products of ``(u, 1)`` for (m, 2L) poses."""
        d = self.basis.shape[1] + 1
        u = np.empty((d, len(y)), dtype=np.float32)
        u[:-1] = (y @ self.basis).T
        u[-1] = 1.0
        products = np.empty((d * (d + 1) // 2, len(y)), dtype=np.float32)
        start = 0
        for i in range(d):  # the upper triangle of u u^T, row by row
            np.multiply(u[i], u[i:], out=products[start:start + d - i])
            start += d - i
        return (self.factors @ products).reshape(len(self.loadings), -1, len(y))

    def _resolve(self, frames, approx, candidates, v, norm, scale) -> np.ndarray:
        """The exact winner among each frame's candidates, from approximate costs.

        Args:
            frames: (m,) rows of ``v``, ``norm`` and ``scale``.
            approx: (m, C) approximate costs (less the frames' norms) of the candidates.
            candidates: (m, C) flat grid points ``k * G + g``, in the order ties go by.
            v: (n, 3, K, J+1) exact products of all frames.

        Returns:
            (m,) the winners' flat grid points.

        Raises:
            ValueError: where no candidate has ``s > 0``.
        """
        rows = np.arange(len(frames))
        first = np.argmin(approx, axis=1)
        close = approx <= (approx[rows, first] + (_TIE_MARGIN * scale[frames]).astype(np.float32))[:, None]
        k, g = np.divmod(candidates[rows, first], self.grid)
        valid = np.einsum("mj,mj->m", self.scale_rows[k, g], self._combined(frames, k, g, v)) > 0  # s > 0
        # solve exactly every candidate within the margin where the winner holds (no other can
        # beat it), all of them where the approximation's winner has s <= 0
        redo = np.flatnonzero((np.count_nonzero(close, axis=1) > 1) | ~valid)
        if len(redo):
            close[redo[~valid[redo]]] = True
            pair_row, pair_col = np.nonzero(close[redo])
            table = np.full((len(redo), approx.shape[1]), np.inf)
            table[pair_row, pair_col], _ = self._solve(frames[redo[pair_row]], candidates[redo[pair_row], pair_col],
                                                       v, norm)
            first[redo] = np.argmin(table, axis=1)  # the first of equal costs, in the candidates' order
            if not np.all(np.isfinite(table[np.arange(len(redo)), first[redo]])):
                raise ValueError("no rotation gives a positive scale for some pose; are the 2D points degenerate?")
        return candidates[rows, first]

    def _combined(self, frames, k, g, v) -> np.ndarray:
        """(m, J+1) ``v = A(theta)^T W y + P z_0`` of frames at components k and grid angles g."""
        parts = v[frames, :, k]  # (m, 3, J+1)
        vector = np.einsum("mi,mij->mj", self.terms[g], parts)
        vector[:, 0] += self.shift[k, g]
        return vector

    def _solve(self, frames, flat, v, norm) -> tuple[np.ndarray, np.ndarray]:
        """Exact costs (m,) (``inf`` where ``s <= 0``) and solutions z (m, J+1) of frames at
        flat grid points."""
        k, g = np.divmod(flat, self.grid)
        vector = self._combined(frames, k, g, v)
        z = (self.gram_inverse[k, g] @ vector[:, :, None])[..., 0]
        cost = norm[frames] + self.constant[k, g] - np.einsum("mi,mi->m", vector, z)
        cost[~(z[:, 0] > 0)] = np.inf
        return cost, z


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
    loadings, factors = _low_rank_forms(systems, gram_inverse, basis, coarse_step)
    parts = np.swapaxes(design_parts, -1, -2) * np.repeat(weights, 2)  # (3, K, J+1, 2L): A_i^T W
    return SearchTables(
        grid=len(angles), coarse_step=coarse_step, parts=np.ascontiguousarray(parts.reshape(-1, parts.shape[-1]).T),
        terms=terms, gram_inverse=gram_inverse, scale_rows=np.ascontiguousarray(gram_inverse[..., 0, :]),
        shift=systems.shift, constant=systems.constant, basis=basis,
        factors=factors.astype(np.float32), loadings=loadings.astype(np.float32),
        coarse_loadings=np.ascontiguousarray(loadings[:, ::coarse_step].transpose(0, 2, 1)).astype(np.float32),
        constant32=systems.constant.astype(np.float32),
        coarse_constant=systems.constant[:, ::coarse_step].reshape(-1).astype(np.float32))


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
