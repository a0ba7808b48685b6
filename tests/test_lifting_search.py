"""The fast angle search of section 5.3 (``poselift.lifting.tables`` and its compiled kernels):
its approximation only ranks candidates, so every answer must be the float64 one."""

import numpy as np
import pytest
import torch

from helpers import random_yaws, s1_views, tilted_camera
from poselift.lifting import Lifter
from poselift.lifting import lifter as lifting
from poselift.lifting import tables as lifting_solvers
from poselift.lifting.lifter import _weight_patterns
from poselift.lifting.reference import lift_reference
from poselift.nn import LiftingLayer
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17

CAMERA = tilted_camera(0.3)
HIDDEN = {"none": (), "one arm": ("left_wrist", "left_elbow"),
          "head and leg": ("head_top", "right_ankle", "right_knee")}


def views(s1_poses, count, seed, scale=0.25):
    """(count, 17, 2) pixel joints: the first ``count`` S1 poses turned to random yaws, weak perspective."""
    return s1_views(s1_poses[:count], random_yaws(count, seed), scale)


def pattern(name):
    weights = np.ones(17)
    weights[[H36M17.index(joint) for joint in HIDDEN[name]]] = 0.0
    return weights


def assert_same_answer(fast, slow):
    np.testing.assert_array_equal(fast.component, slow["component"])
    np.testing.assert_allclose(fast.angle, slow["angle"], atol=1e-12)
    np.testing.assert_allclose(fast.pose_3d, slow["pose_3d"], atol=1e-6)
    np.testing.assert_allclose(fast.cost, slow["cost"], rtol=1e-9)


def approximate_costs(tables, y):
    """(n, K, E) the low-rank costs (less the norm) of (n, 2L) poses at the fine tables'
    columns, and (n, K, A) at the coarse angles, computed here in NumPy in float32 as the
    kernels do (in another order of summation)."""
    u = np.concatenate([y @ tables.basis.T, np.ones((len(y), 1))], axis=1).astype(np.float32)
    upper = np.triu_indices(u.shape[1])
    projections = ((u[:, upper[0]] * u[:, upper[1]]) @ tables.factors.T).reshape(len(y), len(tables.coarse_constant),
                                                                                 -1)
    fine = tables.fine_constant32 - np.einsum("ker,nkr->nke", tables.fine_loadings, projections)
    coarse = tables.coarse_constant - np.einsum("kar,nkr->nka", tables.coarse_loadings, projections)
    return fine, coarse


def exact_costs(tables, y, norm):
    """(n, K, G) eq. 4's exact costs (inf where s <= 0) of (n, 2L) poses at every grid angle."""
    v = np.einsum("nx,xikj->nikj", y, tables.parts)
    terms = np.stack([np.ones_like(tables.angles), np.cos(tables.angles), np.sin(tables.angles)], axis=1)
    shift = np.zeros(tables.gram_inverse.shape[:3])
    shift[..., 0] = tables.fine_shift[:, tables.coarse_step:tables.coarse_step + len(tables.angles)]
    vector = np.einsum("gi,nikj->nkgj", terms, v) + shift
    z = np.einsum("kgij,nkgj->nkgi", tables.gram_inverse, vector)
    constant = tables.fine_constant[:, tables.coarse_step:tables.coarse_step + len(tables.angles)]
    cost = norm[:, None, None] + constant - np.einsum("nkgi,nkgi->nkg", vector, z)
    return np.where(z[..., 0] > 0, cost, np.inf)


def unit_poses(points, weights):
    """(n, 2L) weighted-centred unit-spread poses and their weighted squared norms."""
    centred = np.where(weights[:, None] > 0, points - (weights @ points)[:, None] / weights.sum(), 0.0)
    y = (centred / np.sqrt(np.sum(centred**2, axis=-1) @ weights / weights.sum())[:, None, None]).reshape(
        len(points), -1)
    return y, np.repeat(weights, 2) @ (y * y).T


@pytest.mark.parametrize("refine", [1, 4])
@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_search_tables_give_the_reference_answer(prior, s1_poses, monkeypatch, refine, hidden):
    monkeypatch.setattr(lifting, "_TABLES_MIN_FRAMES", 1)  # the tables, not the frame-by-frame path
    points = views(s1_poses, 12, seed=1, scale=2.0)
    weights = np.broadcast_to(pattern(hidden), (12, 17))
    lifter = Lifter(prior, angles=16, refine=refine, camera_rotation=CAMERA)
    fast = lifter.lift(points, weights)
    assert weights[0].tobytes() in lifter._tables
    assert_same_answer(fast, lift_reference(points, prior, weights, angles=16, refine=refine,
                                            camera_rotation=CAMERA))


def test_where_the_best_fit_is_upside_down_the_answer_is_still_the_reference(prior, s1_poses):
    """Turned 120 degrees in the image, many poses fit best with s < 0, which is not allowed:
    the approximate ranking's winner fails the exact check (checked here for at least six
    poses) and every candidate is solved exactly; poses no rotation fits with s > 0 are
    refused by both implementations."""
    turn = np.deg2rad(120.0)
    in_plane = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    points = views(s1_poses, 12, seed=2) @ in_plane.T
    lifter = Lifter(prior, angles=16, refine=4)
    tables = lifter._tables_for(np.ones(17))
    y, norm = unit_poses(points, np.ones(17))
    _, coarse = approximate_costs(tables, y)
    exact = exact_costs(tables, y, norm)[..., ::tables.coarse_step]
    winners = coarse.reshape(len(y), -1).argmin(axis=1)
    assert np.sum(~np.isfinite(exact.reshape(len(y), -1)[np.arange(len(y)), winners])) >= 6
    for frame in points[:, None]:
        try:
            fast = lifter.lift(frame)
        except ValueError:
            with pytest.raises(ValueError, match="positive scale"):
                lift_reference(frame, prior, angles=16, refine=4)
            continue
        assert_same_answer(fast, lift_reference(frame, prior, angles=16, refine=4))


def test_a_wider_tie_margin_changes_nothing(prior, s1_poses, monkeypatch):
    """With a margin covering every candidate, every ranked candidate is solved in float64."""
    points = views(s1_poses, 200, seed=3)
    lifter = Lifter(prior, angles=40)
    usual = lifter.lift(points)
    monkeypatch.setattr(lifting_solvers, "_TIE_MARGIN", 1e3)
    everything = lifter.lift(points)
    np.testing.assert_array_equal(usual.component, everything.component)
    np.testing.assert_array_equal(usual.angle, everything.angle)
    np.testing.assert_array_equal(usual.pose_3d, everything.pose_3d)


@pytest.mark.parametrize("hidden", ["none", "one arm"])
def test_approximate_costs_stay_within_half_the_tie_margin(s1_poses, hidden):
    """The exactness argument: no candidate's approximate cost, at any angle of the grid, is
    off by half the margin. Shipped prior, 100 angles, real poses at random yaws."""
    weights = pattern(hidden)
    tables = Lifter(PosePrior.default(), angles=100)._tables_for(weights)
    y, norm = unit_poses(views(s1_poses, 120, seed=4), weights)
    fine, _ = approximate_costs(tables, y)
    step = tables.coarse_step
    approx = fine[..., step:step + len(tables.angles)] + norm[:, None, None]  # the columns of the grid's angles
    exact = exact_costs(tables, y, norm)
    valid = np.isfinite(exact)
    errors = (np.abs(approx - exact) / (np.sum(y**2, axis=1) + 1.0)[:, None, None])[valid]
    assert errors.size > 0.3 * exact.size
    assert errors.max() < lifting_solvers._TIE_MARGIN / 2, errors.max()


def test_fast_search_equals_the_float64_search_of_every_candidate_on_real_poses(s1_poses, monkeypatch):
    """The PyTorch twin solves every candidate in float64: the same choices on 600 frames, by
    the tables and frame by frame."""
    prior = PosePrior.default()
    points = views(s1_poses, 600, seed=5)
    weights = pattern("one arm")
    twin = LiftingLayer(prior, weights=weights, backward="none")(torch.tensor(points))
    for tables_from in (1, 10**6):
        monkeypatch.setattr(lifting, "_TABLES_MIN_FRAMES", tables_from)
        lifter = Lifter(prior)
        fast = lifter.lift(points, np.broadcast_to(weights, (600, 17)))
        assert (weights.tobytes() in lifter._tables) == (tables_from == 1)
        np.testing.assert_array_equal(fast.component, twin.component.numpy())
        np.testing.assert_allclose(fast.angle, twin.angle.numpy(), atol=1e-12)
        np.testing.assert_allclose(fast.pose_3d, twin.pose_3d.numpy(), atol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "continuous", "one row"])
def test_weight_patterns_are_the_distinct_rows(kind):
    rng = np.random.default_rng(6)
    weights = {"binary": (rng.random((500, 17)) < 0.9).astype(float),
               "continuous": rng.choice(rng.uniform(0, 1, (7, 17)), 300),
               "one row": np.ones((1, 17))}[kind]
    patterns, inverse = _weight_patterns(weights)
    np.testing.assert_array_equal(patterns[inverse], weights)
    assert len(patterns) == len(np.unique(weights, axis=0))


@pytest.mark.slow
def test_a_second_process_loads_the_compiled_search_from_the_cache(tmp_path):
    """numba's on-disk cache: the first process compiles the kernels of an unweighted lift, the
    next loads them (docs/lifting.md gives the times)."""
    import os
    import subprocess
    import sys

    script = ("import numpy as np; from poselift.lifting import Lifter, kernels; "
              "from poselift.prior.model import PosePrior; "
              "Lifter(PosePrior.default()).lift(np.random.default_rng(0).normal(size=(8, 17, 2)) * 50 + 300); "
              "stats = kernels.shared_search.stats; "
              "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))")
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    counts = [subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True,
                             check=True).stdout.split() for _ in range(2)]
    assert counts == [["0", "1"], ["1", "0"]]
