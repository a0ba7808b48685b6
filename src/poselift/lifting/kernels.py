"""Compiled kernels of the angle search of section 5.3 (numba; used by :mod:`.tables` and :mod:`.individual`).

For a component ``k`` and ground-plane angle ``theta``, eq. 4 is ridge regression in
``z = (s, s a)`` with normal equations ``G z = v`` and cost ``norm + constant - v^T G^-1 v``
(:mod:`.tables` derives them). Every choice the kernels make is the float64 one:

* **Shared weights** (one weight pattern for many frames; :func:`shared_search`): ``G^-1`` of
  every angle is in a table. Candidates are ranked by the table's low-rank float32 forms
  (:func:`_ranking`, eight frames at a time), and the winner and every candidate within the
  tie margin of it are solved exactly (:func:`_coarse_winner`); the fine angles likewise
  (:func:`_fine`). An exact cost goes through ``G^-1 = R R^T`` (R lower triangular):
  ``v^T G^-1 v = |R^T v|^2`` and ``s = R_00 (R^T v)_0``, 153 multiply-adds for 17 unknowns
  (:func:`_solved`).
* **Weights of each frame's own** (:func:`individual_coarse`): ``G(theta)`` is a combination of
  six matrices per frame and component (:func:`expansions`), so every candidate is solved
  exactly: the combination, a Cholesky factorisation and a triangular solve, with the angles
  as the lanes of vector registers. The unknowns are ordered with ``s`` last, so that
  ``s > 0`` is the sign of the solve's last entry.

Frames run in parallel over the machine's cores (``numba.prange``); the first call in a
process loads the compiled code from numba's on-disk cache (compiled once per machine and
version: docs/lifting.md gives the cost). Calls are serialised by :data:`LOCK`: numba's default
thread pool must not be entered by two Python threads at once.

The search itself is the paper's: every component at every coarse angle (the ``*_coarse``
kernels), then the fine angles around a winner (the ``*_fine`` kernels, which take any number
of seeds per frame so that several local minima can be refined at once).
"""

from __future__ import annotations

import threading

import numba
import numpy as np

__all__ = ["LOCK", "packed_size", "shared_search", "shared_fine", "rotation_terms", "expansions",
           "individual_coarse", "individual_fine", "problem_codes", "normalised", "answers"]

LOCK = threading.Lock()
"""Held around every kernel call (see the module text)."""

_BLOCK = 16  # frames per parallel task: scratch arrays are allocated once per task
_jit = numba.njit(cache=True, nogil=True)
_jit_parallel = numba.njit(cache=True, nogil=True, parallel=True)
_jit_reordered = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
# for short dot products: summed in several orders at once (on vector registers), exact to rounding


def packed_size(unknowns: int) -> int:
    """Entries of a packed (lower or upper) triangle of an ``unknowns`` x ``unknowns`` matrix."""
    return unknowns * (unknowns + 1) // 2


# ---- shared weights -----------------------------------------------------------------------

_RANKED = 8  # frames ranked together: each row of the tables is read once for all of them


@_jit_reordered
def _ranking(y, basis, factors, coarse_loadings, u, products, projections, forms):
    """The coarse angles' float32 low-rank forms (K, A) (:class:`.tables.SearchTables`) of
    :data:`_RANKED` frames. Sums may be reordered (vectorised): the ranking is approximate
    anyway, and resolved exactly after.

    y (8, 2L) (rows past the frames given: zeros); basis (d, 2L); factors (K r, P) float32;
    coarse_loadings (K, A, r) float32; scratch u (8, d+1), products (8, P) float32;
    projections (8, K, r) float32 (the products along each component's r directions) and
    forms (8, K, A) float32 written.
    """
    d = basis.shape[0]
    for f in range(_RANKED):
        frame, coordinates = y[f], u[f]
        for i in range(d):
            row = basis[i]
            total = 0.0
            for x in range(row.shape[0]):
                total += frame[x] * row[x]
            coordinates[i] = total
        coordinates[d] = 1.0
        start = 0
        for i in range(d + 1):  # the upper triangle of u u^T, row by row (1D views: vectorised)
            count = d + 1 - i
            target, source, first = products[f, start:start + count], coordinates[i:], coordinates[i]
            for j in range(count):
                target[j] = first * source[j]
            start += count
    components, angles, rank = coarse_loadings.shape
    for row in range(components * rank):
        t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = np.float32(0.0)
        for q in range(products.shape[1]):
            x = factors[row, q]
            t0 += x * products[0, q]
            t1 += x * products[1, q]
            t2 += x * products[2, q]
            t3 += x * products[3, q]
            t4 += x * products[4, q]
            t5 += x * products[5, q]
            t6 += x * products[6, q]
            t7 += x * products[7, q]
        k, r = divmod(row, rank)
        projections[0, k, r], projections[1, k, r], projections[2, k, r], projections[3, k, r] = t0, t1, t2, t3
        projections[4, k, r], projections[5, k, r], projections[6, k, r], projections[7, k, r] = t4, t5, t6, t7
    for k in range(components):
        for a in range(angles):
            t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = np.float32(0.0)
            for r in range(rank):
                x = coarse_loadings[k, a, r]
                t0 += x * projections[0, k, r]
                t1 += x * projections[1, k, r]
                t2 += x * projections[2, k, r]
                t3 += x * projections[3, k, r]
                t4 += x * projections[4, k, r]
                t5 += x * projections[5, k, r]
                t6 += x * projections[6, k, r]
                t7 += x * projections[7, k, r]
            forms[0, k, a], forms[1, k, a], forms[2, k, a], forms[3, k, a] = t0, t1, t2, t3
            forms[4, k, a], forms[5, k, a], forms[6, k, a], forms[7, k, a] = t4, t5, t6, t7


@_jit
def _combined(v, k, term, shift, vector):
    """``v(theta) = sum_i term_i v_i + P z_0`` (J+1,) into vector, for one frame's v (3, K, J+1)."""
    v0, v1, v2 = v[0, k], v[1, k], v[2, k]
    for j in range(vector.shape[0]):
        vector[j] = term[0] * v0[j] + term[1] * v1[j] + term[2] * v2[j]
    vector[0] += shift


@_jit
def _coarse_winner(approx, margin, v, step, factor, terms, shift, constant, norm, vector):
    """The exact cheapest coarse candidate ``k A + a`` (-1: none has s > 0) from approximate costs.

    The cheapest approximate one is checked exactly for ``s > 0``. Every candidate within
    ``margin`` of it (which exceeds twice the approximation's error, so the exact winner is
    among them), every one where it has ``s <= 0``, is solved exactly; the first of equal
    exact costs wins.

    approx: (K A,) approximate costs less the frame's norm; factor, terms, shift, constant: the
    fine tables (see :func:`_fine`), where coarse angle a is column ``(a + 1) step``.
    """
    angles = approx.shape[0] // factor.shape[0]
    first = 0
    lowest32 = approx[0]
    for c in range(1, approx.shape[0]):
        if approx[c] < lowest32:
            lowest32 = approx[c]
            first = c
    threshold = lowest32 + margin
    close = 0
    for c in range(approx.shape[0]):
        close += approx[c] <= threshold
    k, a = divmod(first, angles)
    e = (a + 1) * step
    lowest = _solved(v, k, factor[k, e], terms[e], shift[k, e], constant[k, e], norm, vector)
    if close == 1 and lowest < np.inf:
        return first
    everything = not lowest < np.inf
    winner = first if lowest < np.inf else -1
    for c in range(approx.shape[0]):
        if c == first or not (everything or approx[c] <= threshold):
            continue
        k, a = divmod(c, angles)
        e = (a + 1) * step
        cost = _solved(v, k, factor[k, e], terms[e], shift[k, e], constant[k, e], norm, vector)
        if cost < lowest or (cost == lowest and c < first):
            lowest = cost
            winner = c
    return winner


@_jit_reordered
def _solved(v, k, packed, term, shift, constant, norm, vector):
    """Eq. 4's exact cost at one grid angle (inf where s <= 0) from ``G^-1 = R R^T``:
    ``v^T G^-1 v = |R^T v|^2`` and ``s = R_00 (R^T v)_0``. packed (P,): R^T's upper triangle,
    row by row; vector (J+1,) is left holding ``v(theta)``."""
    _combined(v, k, term, shift, vector)
    unknowns = vector.shape[0]
    quad = 0.0
    sign = 0.0
    start = 0
    for i in range(unknowns):  # 1D views indexed by range(): the sums vectorise
        count = unknowns - i
        row, tail = packed[start:start + count], vector[i:]
        total = 0.0
        for j in range(count):
            total += row[j] * tail[j]
        start += count
        quad += total * total
        if i == 0:
            sign = total
    return norm + constant - quad if sign > 0.0 else np.inf


@_jit_reordered
def _fine(v, k, centre, step, projection, loadings, constant32, margin, factor, terms, shift, constant, norm, approx,
          vector, h, z):
    """The cheapest of the ``F = 2 step - 1`` grid angles centred on grid angle ``centre`` of
    component k: ranked by their low-rank forms, and every one within ``margin`` of the
    cheapest (all where none there has s > 0) solved exactly; the first of equal costs wins.

    Args:
        v: (3, K, J+1) the frame's ``A_i^T W y``; projection: (r,) float32 its projections
            for component k (:func:`_ranking`).
        loadings (K, E, r), constant32 (K, E) float32, factor (K, E, P), terms (E, 3), shift,
            constant (K, E): the fine tables of :class:`.tables.SearchTables`, column e being
            grid angle ``(e - step) mod G``.
        approx: (F,) float32, vector, h: (J+1,) scratch.
        z: (J+1,) written with the winner's solution.

    Returns:
        the winner's grid angle (-1: none has s > 0) and its cost.
    """
    unknowns, rank = vector.shape[0], projection.shape[0]
    first = centre + 1  # the column of grid angle centre - step + 1
    fine = 2 * step - 1
    lowest32 = np.float32(np.inf)
    for a in range(fine):
        row = loadings[k, first + a]
        form = np.float32(0.0)
        for r in range(rank):
            form += row[r] * projection[r]
        approx[a] = constant32[k, first + a] - form
        lowest32 = min(lowest32, approx[a])
    pick = -1
    lowest = np.inf
    for everything in (False, True):
        for a in range(fine):
            if everything or approx[a] <= lowest32 + margin:
                e = first + a
                cost = _solved(v, k, factor[k, e], terms[e], shift[k, e], constant[k, e], norm, vector)
                if cost < lowest:
                    lowest, pick = cost, e
        if pick >= 0:
            break
    if pick < 0:
        return -1, np.inf
    _combined(v, k, terms[pick], shift[k, pick], vector)
    packed = factor[k, pick]
    start = 0
    for i in range(unknowns):  # h = R^T v at the winner, then z = R h
        count = unknowns - i
        row, tail = packed[start:start + count], vector[i:]
        total = 0.0
        for j in range(count):
            total += row[j] * tail[j]
        h[i] = total
        start += count
    for i in range(unknowns):
        total = 0.0
        for j in range(i + 1):
            total += packed[j * unknowns - j * (j - 1) // 2 + i - j] * h[j]
        z[i] = total
    return (pick - step) % (terms.shape[0] - 2 * step), lowest


@_jit_parallel
def shared_search(y, norm, basis, factors, coarse_loadings, coarse_constant32, parts, fine_loadings, fine_constant32,
                  fine_factor, fine_terms, fine_shift, fine_constant, step, margin, costs, winners, projections, v,
                  flat, cost, z):
    """Section 5.3's search of frames sharing one weight pattern: every component at every
    coarse angle, then the fine angles around the winner, each ranked by low-rank forms and
    resolved exactly.

    Args:
        y: (n, 2L) weighted-centred unit-spread poses, zero at joints of weight 0.
        norm: (n,) their weighted squared norms.
        basis ... fine_constant: the tables of :class:`.tables.SearchTables`.
        step: grid angles per coarse angle; margin: relative tie margin (see :func:`_coarse_winner`).
        costs: (n, K, A) written with every coarse candidate's exact cost (inf where s <= 0), or
            (0, K, A) for none.
        winners: (n,) written with each frame's coarse winner ``k A + a`` (-1: none has s > 0).
        projections: (n, K, r) float32 and v: (n, 3, K, J+1) written with each frame's
            projections (:func:`_ranking`) and ``A_i^T W y`` (for :func:`shared_fine`).
        flat, cost, z: (n,), (n,), (n, J+1) written with the cheapest flat grid point ``k G + g``
            after the fine angles, its cost and its solution (-1, inf where no winner).
    """
    n = y.shape[0]
    components, angles = coarse_constant32.shape
    unknowns = v.shape[3]
    grid = fine_terms.shape[0] - 2 * step
    keep = costs.shape[0] > 0
    flat_parts, flat_v = parts.reshape(parts.shape[0], -1), v.reshape(n, -1)
    for block in numba.prange((n + _RANKED - 1) // _RANKED):
        first = block * _RANKED
        frames = min(n, first + _RANKED) - first
        block_y = np.zeros((_RANKED, y.shape[1]))
        block_y[:frames] = y[first:first + frames]
        forms = np.empty((_RANKED, components, angles), dtype=np.float32)
        block_projections = np.empty((_RANKED,) + projections.shape[1:], dtype=np.float32)
        _ranking(block_y, basis, factors, coarse_loadings, np.empty((_RANKED, basis.shape[0] + 1)),
                 np.empty((_RANKED, factors.shape[1]), dtype=np.float32), block_projections, forms)
        projections[first:first + frames] = block_projections[:frames]
        fine_approx = np.empty(2 * step - 1, dtype=np.float32)
        approx = np.empty(components * angles, dtype=np.float32)
        constants32 = coarse_constant32.reshape(-1)
        vector, h = np.empty(unknowns), np.empty(unknowns)
        for f in range(first, first + frames):
            products_of_frame = flat_v[f]  # A_i^T W y, as one axpy per coordinate
            products_of_frame[:] = 0.0
            scale = 1.0  # |(u, 1)|^2: what approximation errors scale with
            for x in range(y.shape[1]):
                if y[f, x] != 0.0:
                    weight, row = y[f, x], flat_parts[x]
                    scale += weight * weight
                    for q in range(row.shape[0]):
                        products_of_frame[q] += weight * row[q]
            frame_forms = forms[f - first].reshape(-1)
            for c in range(components * angles):
                approx[c] = constants32[c] - frame_forms[c]
            tie = np.float32(margin * scale)
            winner = _coarse_winner(approx, tie, v[f], step, fine_factor, fine_terms, fine_shift, fine_constant,
                                    norm[f], vector)
            winners[f] = winner
            if keep:
                for k in range(components):
                    for a in range(angles):
                        e = (a + 1) * step
                        costs[f, k, a] = _solved(v[f], k, fine_factor[k, e], fine_terms[e], fine_shift[k, e],
                                                 fine_constant[k, e], norm[f], vector)
            flat[f] = -1
            cost[f] = np.inf
            if winner < 0:
                continue
            k, a = divmod(winner, angles)
            g, cost[f] = _fine(v[f], k, a * step, step, projections[f, k], fine_loadings, fine_constant32, tie,
                               fine_factor, fine_terms, fine_shift, fine_constant, norm[f], fine_approx, vector, h,
                               z[f])
            flat[f] = k * grid + g if g >= 0 else -1


@_jit_parallel
def shared_fine(y, norm, projections, v, fine_loadings, fine_constant32, fine_factor, fine_terms, fine_shift,
                fine_constant, step, margin, seeds, flat, cost, z):
    """The fine grid angles around seeds (several a frame), ranked and resolved as in :func:`shared_search`.

    Args:
        y, norm: as for :func:`shared_search`; projections, v: as it wrote them.
        fine_loadings ... margin: as for :func:`shared_search`.
        seeds: (n, H) flat coarse candidates ``k A + a`` (-1: none).
        flat, cost, z: (n, H), (n, H), (n, H, J+1) written with each seed's cheapest flat grid
            point ``k G + g``, cost and solution (-1, inf where the seed is -1 or none has s > 0).
    """
    n, per_frame = seeds.shape
    unknowns = v.shape[3]
    grid = fine_terms.shape[0] - 2 * step
    angles = grid // step
    for f in numba.prange(n):
        vector, h = np.empty(unknowns), np.empty(unknowns)
        approx = np.empty(2 * step - 1, dtype=np.float32)
        scale = 1.0
        for x in range(y.shape[1]):
            scale += y[f, x] * y[f, x]
        for s in range(per_frame):
            flat[f, s] = -1
            cost[f, s] = np.inf
            if seeds[f, s] < 0:
                continue
            k, a = divmod(seeds[f, s], angles)
            g, cost[f, s] = _fine(v[f], k, a * step, step, projections[f, k], fine_loadings, fine_constant32,
                                  np.float32(margin * scale), fine_factor, fine_terms, fine_shift, fine_constant,
                                  norm[f], approx, vector, h, z[f, s])
            flat[f, s] = k * grid + g if g >= 0 else -1


# ---- weights of each frame's own ----------------------------------------------------------

@_jit
def _original(r, unknowns):
    """The index in ``z = (s, s a)`` of position r of the kernels' order (s last)."""
    return (r + 1) % unknowns


_AXIS_PAIRS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def rotation_terms(projection: np.ndarray) -> np.ndarray:
    """(6, 6): ``N_ab(theta) = sum_q terms[ab, q] f_q(theta)`` for the axis pairs a <= b of
    :data:`_AXIS_PAIRS` and ``f = (1, cos, sin, cos^2, cos sin, sin^2)``, where
    ``N(theta) = R(theta)^T M R(theta)``, ``M = C^T C`` for the (2, 3) projection C and R the
    rotation about y (x' = c x + s z, z' = c z - s x). Written out from R's columns
    ``(c, 0, -s)``, ``(0, 1, 0)``, ``(s, 0, c)``."""
    m = projection.T @ projection
    (xx, xy, xz), (_, yy, yz), (_, _, zz) = m
    return np.array([[0, 0, 0, xx, -2 * xz, zz],  # N_xx = c^2 M_xx - 2 c s M_xz + s^2 M_zz
                     [0, xy, -yz, 0, 0, 0],  # N_xy = c M_xy - s M_zy
                     [0, 0, 0, xz, xx - zz, -xz],  # N_xz = c s (M_xx - M_zz) + (c^2 - s^2) M_xz
                     [yy, 0, 0, 0, 0, 0],  # N_yy = M_yy
                     [0, yz, xy, 0, 0, 0],  # N_yz = s M_yx + c M_yz
                     [0, 0, 0, zz, 2 * xz, xx]], dtype=np.float64)  # N_zz = s^2 M_xx + 2 c s M_xz + c^2 M_zz


@_jit_parallel
def expansions(shapes, projection, rotation, weights, y, grams, rhs, g00):
    """Per frame and component, eq. 4's Gram matrix and right-hand side as functions of the angle.

    The design of joint l is ``A_l(theta) = C R(theta) X_l`` (C: the (2, 3) projection, X_l:
    (3, J+1) the joint's rows of ``[mu, e]``), so with weighted centring (mean X-bar)
    ``G(theta) = sum_{a<=b} N_ab(theta) T_ab``, where ``T_ab = sum_l w_l (X_la^T X_lb + X_lb^T X_la)``
    (once for a = b) less the same of the mean, and ``v(theta) = sum_l w_l X_l^T R^T b_l`` with
    ``b_l = C^T y_l``. :func:`rotation_terms` expands N in ``f = (1, cos, sin, cos^2, cos sin,
    sin^2)``; so ``G(theta) = sum_q f_q S_q`` and ``v(theta) = r_0 + cos r_1 + sin r_2``.

    Args:
        shapes: (K, L, 3, J+1) ``[mu, e]`` of every component, unknowns in the kernels' order.
        projection: (2, 3) C; rotation: (6, 6) from :func:`rotation_terms`.
        weights: (n, L); y: (n, 2L) weighted-centred.
        grams: (n, K, 6, P) written: the packed lower triangles of S_0 ... S_5, kernels' order.
        rhs: (n, K, 3, J+1) written: r_0, r_1, r_2 in the kernels' order.
        g00: (n, K, 6) written: the six matrices' (s, s) entries (the scale prior reads them).
    """
    n, joints = weights.shape
    components, _, _, unknowns = shapes.shape
    width = 3 * unknowns
    needed = np.zeros(6, dtype=np.bool_)  # the T_ab some S_q takes (without camera pitch or roll: not xy, yz)
    for pair in range(6):
        for q in range(6):
            needed[pair] |= rotation[pair, q] != 0.0
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        moments = np.empty((width, width))  # sum_l w_l x_l x_l^T, x_l = (X_lx, X_ly, X_lz): upper triangle
        mean = np.empty(width)  # sum_l w_l x_l
        axes = np.empty((6, grams.shape[3]))  # the packed symmetrised T_ab
        b = np.empty(3)
        for f in range(block * _BLOCK, min(n, (block + 1) * _BLOCK)):
            total = 0.0
            for joint in range(joints):
                total += weights[f, joint]
            for k in range(components):
                moments[:] = 0.0
                mean[:] = 0.0
                r0, r1, r2 = rhs[f, k, 0], rhs[f, k, 1], rhs[f, k, 2]
                r0[:] = 0.0
                r1[:] = 0.0
                r2[:] = 0.0
                for joint in range(joints):
                    w = weights[f, joint]
                    if w == 0.0:
                        continue
                    x = shapes[k, joint].reshape(-1)
                    for i in range(width):  # a rank-one update of the upper triangle, row by row
                        coefficient, row, tail = w * x[i], moments[i, i:], x[i:]
                        mean[i] += coefficient
                        for j in range(width - i):
                            row[j] += coefficient * tail[j]
                    for axis in range(3):
                        b[axis] = projection[0, axis] * y[f, 2 * joint] + projection[1, axis] * y[f, 2 * joint + 1]
                    for r in range(unknowns):  # v = X_y b_y + cos (X_x b_x + X_z b_z) + sin (X_z b_x - X_x b_z)
                        xx, xy, xz = x[r], x[unknowns + r], x[2 * unknowns + r]
                        r0[r] += w * xy * b[1]
                        r1[r] += w * (xx * b[0] + xz * b[2])
                        r2[r] += w * (xz * b[0] - xx * b[2])
                for pair in range(6):  # T_ab, symmetrised, less the mean's
                    if not needed[pair]:
                        continue
                    a, c = _AXIS_PAIRS[pair]
                    p = 0
                    for r in range(unknowns):
                        for col in range(r + 1):
                            if a == c:  # the upper triangle holds (col, r)
                                i, j = a * unknowns + col, a * unknowns + r
                                value = moments[i, j] - mean[i] * mean[j] / total
                            else:  # block (a, c) lies above the diagonal
                                i, j = a * unknowns + r, c * unknowns + col
                                i2, j2 = a * unknowns + col, c * unknowns + r
                                centre = (mean[i] * mean[j] + mean[i2] * mean[j2]) / total
                                value = moments[i, j] + moments[i2, j2] - centre
                            axes[pair, p] = value
                            p += 1
                for q in range(6):  # each S_q: the T_ab it enters
                    out = grams[f, k, q]
                    out[:] = 0.0
                    for pair in range(6):
                        factor, source = rotation[pair, q], axes[pair]
                        if factor != 0.0:
                            for p in range(out.shape[0]):
                                out[p] += factor * source[p]
                    g00[f, k, q] = out[out.shape[0] - 1]


@numba.njit(cache=True, nogil=True, fastmath={"contract"})  # multiply-adds fused: 10-15% faster here
def _individual_costs(grams, rhs, g00, precision, total, norm, beta, cos, sin, lower, inverse, h, out, terms):
    """Costs (H, A) of one frame at one component and the angles given by cos, sin (A,) (inf
    where s <= 0), leaving the Cholesky factors in lower (P, A), their inverse diagonals in
    inverse (J+1, A) and the forward solves in h (H, J+1, A) (all in the kernels' order). Every
    loop over the angles runs on 1D views, so that it is vectorised: the angles are the lanes.
    With H = 2 the second row is the angles turned by pi, whose ``G`` is the same (see
    :func:`individual_coarse`): the right-hand side's cos and sin terms change sign.

    grams (6, P), rhs (3, J+1), g00 (6,), precision (J+1,) in the kernels' order, its last
    entry (the scale's) unused: the scale prior's is ``beta`` times the data's (s, s) entry.
    terms: (5, A) scratch.
    """
    unknowns, angles = h.shape[1:]
    last = unknowns - 1
    # with cos^2 = (1 + cos 2t) / 2, sin^2 = (1 - cos 2t) / 2, cos sin = sin 2t / 2: five terms, three
    # where G has none in cos or sin alone
    f1, f2, f3, f4 = terms[1], terms[2], terms[3], terms[4]
    for a in range(angles):
        f1[a], f2[a] = cos[a], sin[a]
        f3[a], f4[a] = cos[a] * cos[a] - sin[a] * sin[a], 2.0 * cos[a] * sin[a]
    linear = False
    for p in range(lower.shape[0]):
        linear |= grams[1, p] != 0.0 or grams[2, p] != 0.0
    for p in range(lower.shape[0]):
        row = lower[p]
        g0, g1, g2 = grams[0, p] + 0.5 * (grams[3, p] + grams[5, p]), grams[1, p], grams[2, p]
        g3, g4 = 0.5 * (grams[3, p] - grams[5, p]), 0.5 * grams[4, p]
        if linear:
            for a in range(angles):
                row[a] = g0 + g1 * f1[a] + g2 * f2[a] + g3 * f3[a] + g4 * f4[a]
        else:
            for a in range(angles):
                row[a] = g0 + g3 * f3[a] + g4 * f4[a]
    for half in range(h.shape[0]):
        sign = 1.0 - 2.0 * half
        for r in range(unknowns):
            row, r0, r1, r2 = h[half, r], rhs[0, r], sign * rhs[1, r], sign * rhs[2, r]
            for a in range(angles):
                row[a] = r0 + r1 * f1[a] + r2 * f2[a]
    for r in range(last):
        row, extra = lower[r * (r + 1) // 2 + r], precision[r]
        for a in range(angles):
            row[a] += extra
    # the scale prior: precision beta * data00 about s_k = sqrt(total / data00)
    scale_row = lower[lower.shape[0] - 1]
    d0, d1, d2 = g00[0] + 0.5 * (g00[3] + g00[5]), g00[1], g00[2]
    d3, d4 = 0.5 * (g00[3] - g00[5]), 0.5 * g00[4]
    for a in range(angles):
        data00 = d0 + d1 * f1[a] + d2 * f2[a] + d3 * f3[a] + d4 * f4[a]
        shift = beta * np.sqrt(total * data00) if data00 > 0.0 else np.nan
        for half in range(h.shape[0]):
            h[half, last, a] += shift
        scale_row[a] += beta * data00
    for r in range(unknowns):  # Cholesky, row by row, every angle at once
        start = r * (r + 1) // 2
        for col in range(r + 1):
            target, column = lower[start + col], col * (col + 1) // 2
            for m in range(col):
                left, right = lower[start + m], lower[column + m]
                for a in range(angles):
                    target[a] -= left[a] * right[a]
            if col < r:
                scale = inverse[col]
                for a in range(angles):
                    target[a] *= scale[a]
        pivot, reciprocal = lower[start + r], inverse[r]
        for a in range(angles):
            root = np.sqrt(pivot[a]) if pivot[a] > 0.0 else np.nan
            pivot[a] = root
            reciprocal[a] = 1.0 / root
    for half in range(h.shape[0]):
        cost, solved = out[half], h[half]
        for a in range(angles):
            cost[a] = 0.0
        for r in range(unknowns):  # forward solve L h = v, in place
            start, target = r * (r + 1) // 2, solved[r]
            for m in range(r):
                left, known = lower[start + m], solved[m]
                for a in range(angles):
                    target[a] -= left[a] * known[a]
            reciprocal = inverse[r]
            for a in range(angles):
                target[a] *= reciprocal[a]
                cost[a] += target[a] * target[a]
        sign = solved[last]
        for a in range(angles):
            value = norm + beta * total - cost[a]
            cost[a] = value if sign[a] > 0.0 and value == value else np.inf


@_jit_parallel
def individual_coarse(grams, rhs, g00, precision, total, norm, beta, cos, sin, paired, costs, best):
    """Every component at every coarse angle, for frames with weights of their own.

    Args:
        grams, rhs, g00: from :func:`expansions` (a guide's Gram terms may be added to grams).
        precision: (K, J+1) coefficient precisions in the kernels' order.
        total, norm: (n,) summed weights and weighted squared norms; beta: the scale prior.
        cos, sin: (A,) of the coarse angles.
        paired: the angles come in pairs half a turn apart (the second half of the grid is
            the first turned by pi) and ``G`` has no terms in cos or sin alone (so
            ``G(theta + pi) = G(theta)``: no camera pitch or roll, no guide); then each
            factorisation serves both angles of a pair.
        costs: (n, K, A) written with every candidate's cost (inf where s <= 0), or (0, K, A)
            for none.
        best: (n,) written with the cheapest flat candidate ``k A + a`` (the first of equal
            costs), or -1 where no candidate has s > 0.
    """
    n, components = grams.shape[:2]
    unknowns = rhs.shape[3]
    angles = cos.shape[0]
    keep = costs.shape[0] > 0
    halves = 2 if paired else 1
    lanes = angles // halves
    padded = (lanes + 7) // 8 * 8  # whole vector registers: 56 lanes run faster than 50 (measured)
    lane_cos, lane_sin = np.empty(padded), np.empty(padded)
    for a in range(padded):  # the padding repeats the last angle; its costs are not read
        lane_cos[a], lane_sin[a] = cos[min(a, lanes - 1)], sin[min(a, lanes - 1)]
    for block in numba.prange((n + _BLOCK - 1) // _BLOCK):
        lower = np.empty((grams.shape[3], padded))
        inverse = np.empty((unknowns, padded))
        h = np.empty((halves, unknowns, padded))
        out = np.empty((halves, padded))
        terms = np.empty((5, padded))
        for f in range(block * _BLOCK, min(n, (block + 1) * _BLOCK)):
            lowest = np.inf
            best[f] = -1
            for k in range(components):
                _individual_costs(grams[f, k], rhs[f, k], g00[f, k], precision[k], total[f], norm[f], beta,
                                  lane_cos, lane_sin, lower, inverse, h, out, terms)
                for half in range(halves):
                    for a in range(lanes):
                        if out[half, a] < lowest:
                            lowest = out[half, a]
                            best[f] = k * angles + half * lanes + a
                    if keep:
                        costs[f, k, half * lanes:(half + 1) * lanes] = out[half, :lanes]


@_jit_parallel
def individual_fine(grams, rhs, g00, precision, total, norm, beta, components, centres, offsets, angle, cost, z,
                    gram_inverse):
    """The fine angles around seeds, for frames with weights of their own.

    Args:
        grams, rhs, g00, precision, total, norm, beta: as for :func:`individual_coarse`.
        components, centres: (n, H) each seed's component (-1: none) and angle in radians.
        offsets: (F,) radians added to a seed's angle.
        angle, cost, z: (n, H), (n, H), (n, H, J+1) written with each seed's cheapest angle,
            its cost and its solution ``(s, s a)`` (inf cost and 0 where none has s > 0).
        gram_inverse: (n, H, J+1, J+1) written with ``G^-1`` there, or (0, H, J+1, J+1) for none.
    """
    n, seeds_per_frame = components.shape
    unknowns = rhs.shape[3]
    fine = offsets.shape[0]
    keep = gram_inverse.shape[0] > 0
    for f in numba.prange(n):
        lower_inverse = np.zeros((unknowns, unknowns))
        lower = np.empty((grams.shape[3], fine))
        inverse = np.empty((unknowns, fine))
        h = np.empty((1, unknowns, fine))
        out = np.empty((1, fine))
        cos = np.empty(fine)
        sin = np.empty(fine)
        terms = np.empty((5, fine))
        solution = np.empty(unknowns)
        for s in range(seeds_per_frame):
            k = components[f, s]
            angle[f, s] = centres[f, s]
            cost[f, s] = np.inf
            z[f, s] = 0.0
            if k < 0:
                continue
            for a in range(fine):
                cos[a] = np.cos(centres[f, s] + offsets[a])
                sin[a] = np.sin(centres[f, s] + offsets[a])
            _individual_costs(grams[f, k], rhs[f, k], g00[f, k], precision[k], total[f], norm[f], beta, cos, sin,
                              lower, inverse, h, out, terms)
            pick = -1
            for a in range(fine):
                if out[0, a] < cost[f, s]:
                    cost[f, s] = out[0, a]
                    pick = a
            if pick < 0:
                continue
            angle[f, s] = centres[f, s] + offsets[pick]
            for r in range(unknowns - 1, -1, -1):  # back substitution L^T solution = h
                acc = h[0, r, pick]
                for m in range(r + 1, unknowns):
                    acc -= lower[m * (m + 1) // 2 + r, pick] * solution[m]
                solution[r] = acc * inverse[r, pick]
            for r in range(unknowns):
                z[f, s, _original(r, unknowns)] = solution[r]
            if keep:  # G^-1 = L^-T L^-1, L^-1 by forward substitution
                for col in range(unknowns):
                    for r in range(col, unknowns):
                        acc = 1.0 if r == col else 0.0
                        for m in range(col, r):
                            acc -= lower[r * (r + 1) // 2 + m, pick] * lower_inverse[m, col]
                        lower_inverse[r, col] = acc * inverse[r, pick]
                for r in range(unknowns):
                    for col in range(unknowns):
                        acc = 0.0
                        for m in range(max(r, col), unknowns):
                            acc += lower_inverse[m, r] * lower_inverse[m, col]
                        gram_inverse[f, s, _original(r, unknowns), _original(col, unknowns)] = acc


# ---- the poses in and out -----------------------------------------------------------------

PROBLEM_NOT_FINITE, PROBLEM_TOO_FAR, PROBLEM_TOO_FEW, PROBLEM_ONE_POINT = 1, 2, 3, 4
"""Codes written by :func:`problem_codes` (0: none)."""


@_jit_parallel
def problem_codes(points, weights, min_visible, max_coordinate, codes, visible):
    """Why each of (n, L, 2) pixel poses with (n, L) non-negative weights cannot be lifted.

    codes: (n,) int8 written with the first problem found, in this order:
    :data:`PROBLEM_NOT_FINITE` (a weighted joint not finite), :data:`PROBLEM_TOO_FAR` (beyond
    ``max_coordinate``), :data:`PROBLEM_TOO_FEW` (under ``min_visible`` weighted joints),
    :data:`PROBLEM_ONE_POINT` (the weighted joints' weighted spread is zero next to their
    size), or 0. visible: (n,) written with the count of weighted joints.
    """
    n, joints = weights.shape
    for i in numba.prange(n):
        count = 0
        not_finite = False
        too_far = False
        total = 0.0
        cx = cy = 0.0
        for joint in range(joints):
            w = weights[i, joint]
            total += w
            if w > 0.0:
                count += 1
                x, y = points[i, joint, 0], points[i, joint, 1]
                if not (np.isfinite(x) and np.isfinite(y)):
                    not_finite = True
                else:
                    too_far |= abs(x) > max_coordinate or abs(y) > max_coordinate
                    cx += w * x
                    cy += w * y
        visible[i] = count
        total = max(total, 1e-300)
        cx /= total
        cy /= total
        spread = 0.0
        for joint in range(joints):
            w = weights[i, joint]
            x, y = points[i, joint, 0], points[i, joint, 1]
            if w > 0.0 and np.isfinite(x) and np.isfinite(y):
                spread += w * ((x - cx) ** 2 + (y - cy) ** 2)
        spread = np.sqrt(spread / total)
        if not_finite:
            codes[i] = PROBLEM_NOT_FINITE
        elif too_far:
            codes[i] = PROBLEM_TOO_FAR
        elif count < min_visible:
            codes[i] = PROBLEM_TOO_FEW
        elif not spread > 1e-9 * (1.0 + max(abs(cx), abs(cy))):
            codes[i] = PROBLEM_ONE_POINT
        else:
            codes[i] = 0


@_jit_parallel
def normalised(points, weights, y, norm, centre, spread):
    """Eq. 4's input: (n, L, 2) pixel poses with (n, L) weights (joints of weight 0 may hold
    NaN), weighted-centred and scaled to unit weighted spread.

    y: (n, 2L) written, 0 at joints of weight 0; norm: (n,) its weighted squared norm;
    centre: (n, 2) the weighted centre; spread: (n,) the weighted RMS distance from it, pixels.
    """
    n, joints = weights.shape
    for i in numba.prange(n):
        total = cx = cy = 0.0
        for joint in range(joints):
            w = weights[i, joint]
            total += w
            if w != 0.0:
                cx += w * points[i, joint, 0]
                cy += w * points[i, joint, 1]
        cx /= total
        cy /= total
        square = 0.0
        for joint in range(joints):
            w = weights[i, joint]
            if w != 0.0:
                square += w * ((points[i, joint, 0] - cx) ** 2 + (points[i, joint, 1] - cy) ** 2)
        size = np.sqrt(square / total)
        weighted = 0.0
        for joint in range(joints):
            w = weights[i, joint]
            if w != 0.0:
                x = (points[i, joint, 0] - cx) / size
                yy = (points[i, joint, 1] - cy) / size
                weighted += w * (x * x + yy * yy)
            else:
                x = yy = 0.0
            y[i, 2 * joint] = x
            y[i, 2 * joint + 1] = yy
        centre[i, 0], centre[i, 1] = cx, cy
        spread[i] = size
        norm[i] = weighted


@_jit_parallel
def answers(component, angle, z, frames, points, weights, spread, means, bases, projection, millimetres, root,
            pose_3d, scale, translation, coefficients, residual, projected):
    """The poses of m solved candidates (section 5.3's answer and eq. 5's projection).

    Args:
        component, angle: (m,) the candidates' components and angles (wrapped into [-pi, pi)
            here, in place); z: (m, J+1) their ``(s, s a)`` in unit-spread units.
        frames: (m,) the frame of each; points (n, L, 2) pixels, weights (n, L), spread (n,).
        means: (K, L, 3); bases: (K, J, L, 3) the prior's; projection: (2, 3) ``Pi E``.
        millimetres: mm per model unit; root: the root joint.
        pose_3d (m, L, 3) mm root-relative, scale (m,) px per unit, translation (m, 2) px,
        coefficients (m, J), residual (m,) px^2, projected (m, L, 2) px: written.
    """
    m = component.shape[0]
    joints = means.shape[1]
    basis_count = bases.shape[1]
    flat_means, flat_bases = means.reshape(means.shape[0], -1), bases.reshape(bases.shape[0], basis_count, -1)
    for block in numba.prange((m + _BLOCK - 1) // _BLOCK):
        shape = np.empty((joints, 3))
        flat_shape = shape.reshape(-1)
        for c in range(block * _BLOCK, min(m, (block + 1) * _BLOCK)):
            k, f = component[c], frames[c]
            theta = (angle[c] + np.pi) % (2 * np.pi) - np.pi
            angle[c] = theta
            cos, sin = np.cos(theta), np.sin(theta)
            s = z[c, 0]
            flat_shape[:] = flat_means[k]
            for j in range(basis_count):  # mu + a . e, one axpy per basis vector
                coefficient = z[c, j + 1] / s
                coefficients[c, j] = coefficient
                row = flat_bases[k, j]
                for q in range(row.shape[0]):
                    flat_shape[q] += coefficient * row[q]
            scale[c] = s * spread[f]
            total = tx = ty = px = py = 0.0
            for joint in range(joints):
                x, y, zz = shape[joint, 0], shape[joint, 1], shape[joint, 2]
                x, zz = cos * x + sin * zz, cos * zz - sin * x
                shape[joint, 0], shape[joint, 2] = x, zz
                u = scale[c] * (projection[0, 0] * x + projection[0, 1] * y + projection[0, 2] * zz)
                v = scale[c] * (projection[1, 0] * x + projection[1, 1] * y + projection[1, 2] * zz)
                projected[c, joint, 0], projected[c, joint, 1] = u, v
                w = weights[f, joint]
                total += w
                if w != 0.0:
                    tx += w * points[f, joint, 0]
                    ty += w * points[f, joint, 1]
                    px += w * u
                    py += w * v
            tx, ty = tx / total - px / total, ty / total - py / total
            translation[c, 0], translation[c, 1] = tx, ty
            error = 0.0
            for joint in range(joints):
                projected[c, joint, 0] += tx
                projected[c, joint, 1] += ty
                w = weights[f, joint]
                if w != 0.0:
                    error += w * ((points[f, joint, 0] - projected[c, joint, 0]) ** 2
                                  + (points[f, joint, 1] - projected[c, joint, 1]) ** 2)
            residual[c] = error
            for joint in range(joints):
                for axis in range(3):
                    pose_3d[c, joint, axis] = millimetres * (shape[joint, axis] - shape[root, axis])
