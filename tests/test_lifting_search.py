"""The fast angle search of section 5.3 (``poselift.lifting.tables``): its approximation only
ranks candidates, so every answer must be the float64 one."""

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


@pytest.mark.parametrize("fine_group", [1, 10**9], ids=["fine angles solved together", "fine angles ranked"])
@pytest.mark.parametrize("refine", [1, 4])
@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_search_tables_give_the_reference_answer(prior, s1_poses, monkeypatch, refine, hidden, fine_group):
    monkeypatch.setattr(lifting, "_TABLES_MIN_FRAMES", 1)  # the tables, not the frame-by-frame path
    monkeypatch.setattr(lifting_solvers, "_GROUP_MIN_FRAMES", fine_group)
    points = views(s1_poses, 12, seed=1, scale=2.0)
    weights = np.broadcast_to(pattern(hidden), (12, 17))
    lifter = Lifter(prior, angles=16, refine=refine, camera_rotation=CAMERA)
    fast = lifter.lift(points, weights)
    assert weights[0].tobytes() in lifter._tables
    assert_same_answer(fast, lift_reference(points, prior, weights, angles=16, refine=refine,
                                            camera_rotation=CAMERA))


def test_where_the_best_fit_is_upside_down_every_candidate_is_solved_exactly(prior, s1_poses, monkeypatch):
    """Turned 120 degrees in the image, many poses fit best with s < 0, which is not allowed:
    the approximate ranking's winner fails the exact check and every candidate is solved
    exactly; poses no rotation fits with s > 0 are refused by both implementations."""
    solved = []
    exact = lifting_solvers.SearchTables._solve
    monkeypatch.setattr(lifting_solvers.SearchTables, "_solve",
                        lambda self, frames, *rest: solved.append(len(frames)) or exact(self, frames, *rest))
    turn = np.deg2rad(120.0)
    in_plane = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    points = views(s1_poses, 12, seed=2) @ in_plane.T
    lifter = Lifter(prior, angles=16, refine=4)
    every_candidate = 0
    for frame in points[:, None]:
        solved.clear()
        try:
            fast = lifter.lift(frame)
        except ValueError:
            with pytest.raises(ValueError, match="positive scale"):
                lift_reference(frame, prior, angles=16, refine=4)
            continue
        every_candidate += sum(solved) >= prior.n_components * 16
        assert_same_answer(fast, lift_reference(frame, prior, angles=16, refine=4))
    assert every_candidate >= 6, every_candidate


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
    points = views(s1_poses, 120, seed=4)
    centred = np.where(weights[:, None] > 0, points - (weights @ points)[:, None] / weights.sum(), 0.0)
    y = (centred / np.sqrt(np.sum(centred**2, axis=-1) @ weights / weights.sum())[:, None, None]).reshape(120, -1)
    k, grid = tables.constant.shape
    flat = np.arange(k * grid)
    v = (y @ tables.parts).reshape(len(y), 3, k, -1)
    errors = []
    for frames in np.split(np.arange(len(y)), 12):
        approx = tables.constant32[..., None] - np.einsum("krm,kgr->kgm", tables._projections(y[frames]),
                                                         tables.loadings)
        exact, _ = tables._solve(np.repeat(frames, len(flat)), np.tile(flat, len(frames)), v, np.zeros(len(y)))
        exact = exact.reshape(len(frames), k, grid).transpose(1, 2, 0)
        valid = np.isfinite(exact)
        errors.append((np.abs(approx - exact) / (np.sum(y[frames] ** 2, axis=1) + 1.0))[valid])
    assert np.concatenate(errors).size > 0.3 * len(y) * k * grid
    assert np.concatenate(errors).max() < lifting_solvers._TIE_MARGIN / 2, np.concatenate(errors).max()


def test_fast_search_equals_the_float64_search_of_every_candidate_on_real_poses(s1_poses):
    """The PyTorch twin solves every candidate in float64: the same choices on 600 frames."""
    prior = PosePrior.default()
    points = views(s1_poses, 600, seed=5)
    weights = pattern("one arm")
    fast = Lifter(prior).lift(points, np.broadcast_to(weights, (600, 17)))
    twin = LiftingLayer(prior, weights=weights, backward="none")(torch.tensor(points))
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
