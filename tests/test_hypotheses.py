"""Several hypotheses per 2D pose, their probabilities, and per-joint uncertainty
(``poselift.lifting.hypotheses``)."""

import json

import numpy as np
import pytest

from helpers import random_yaws, s1_views
from poselift.cli import main
from poselift.geometry import rotate_about_up, weak_perspective, world_to_prior
from poselift.lifting import Lifter
from poselift.lifting.hypotheses import SEPARATION_MM
from poselift.prior.fit import fit_prior
from poselift.prior.model import PosePrior


@pytest.fixture(scope="module")
def lifter():
    return Lifter(PosePrior.default())


@pytest.fixture(scope="module")
def views(s1_poses):
    """(300, 17, 2) S1 poses at random yaws."""
    return s1_views(s1_poses[:300], random_yaws(300, seed=7), scale=0.3)


def test_a_mirrored_depth_gives_two_equally_probable_hypotheses(s1_poses):
    """Under weak perspective a pose and its mirror image in depth project alike; with a
    prior fitted to poses and their depth mirrors both are equally plausible, so the two
    hypotheses are the pose and its mirror, with near-equal probability (the fit's alignment
    leaves the prior symmetric to about 0.3%: measured 0.511 against 0.489)."""
    mirrored = s1_poses * [1.0, -1.0, 1.0]  # world y is the prior frame's depth
    prior = fit_prior(np.concatenate([s1_poses, mirrored]), n_components=1, n_basis=6, add_mirrored=False).prior
    poses = world_to_prior(s1_poses[100:200])
    poses = poses - poses.mean(axis=1, keepdims=True)
    deep = poses[np.argmax(np.abs(poses[..., 2]).mean(axis=1))]  # a pose with much depth: its mirror is distinct
    points = weak_perspective(rotate_about_up(deep, 0.7), 0.3) + 300.0
    found = Lifter(prior, angles=40).lift(points, hypotheses=2).hypotheses
    assert found.count == 2
    assert abs(found.probability[0] - found.probability[1]) < 0.05, found.probability
    np.testing.assert_allclose(found.pose_3d[1], found.pose_3d[0] * [1.0, 1.0, -1.0], atol=10.0)


def test_probabilities_sum_to_one_and_fall(lifter, views):
    found = lifter.lift(views, hypotheses=5).hypotheses
    np.testing.assert_allclose(found.probability.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.diff(found.probability, axis=1) <= 1e-15)
    empty = np.arange(5) >= found.count[:, None]
    assert np.all(found.probability[empty] == 0) and np.all(np.isnan(found.pose_3d[empty]))
    assert np.all(found.count >= 1) and found.count.max() >= 3


def test_hypotheses_are_distinct(lifter, views):
    found = lifter.lift(views, hypotheses=5).hypotheses
    for poses, count in zip(found.pose_3d, found.count):
        for i in range(count):
            for j in range(i):
                assert np.linalg.norm(poses[i] - poses[j], axis=-1).mean() >= SEPARATION_MM


def test_one_hypothesis_is_todays_answer_exactly(lifter, views):
    rng = np.random.default_rng(8)
    for weights in (None, rng.uniform(0.3, 1.0, (len(views), 17))):
        plain = lifter.lift(views, weights)
        single = lifter.lift(views, weights, hypotheses=1)
        for name in ("pose_3d", "angle", "scale", "translation", "coefficients", "component", "cost", "projected_2d"):
            np.testing.assert_array_equal(getattr(single, name), getattr(plain, name))
        np.testing.assert_array_equal(single.hypotheses.pose_3d[:, 0], plain.pose_3d)
        assert np.all(single.hypotheses.probability[:, 0] == 1.0)


def test_the_most_probable_hypothesis_is_the_top_level_answer(lifter, views):
    found = lifter.lift(views, hypotheses=5)
    np.testing.assert_array_equal(found.pose_3d, found.hypotheses.pose_3d[:, 0])
    np.testing.assert_array_equal(found.cost, found.hypotheses.cost[:, 0])


def test_a_pose_far_from_the_prior_is_less_certain(lifter, s1_poses):
    """The same pose with its forearms bent back through the elbows (no body bends so)."""
    poses = world_to_prior(s1_poses[:50])
    poses = poses - poses.mean(axis=1, keepdims=True)
    odd = poses.copy()
    for elbow, wrist in ((11, 12), (14, 15)):  # h36m17: left and right elbow, wrist
        odd[:, wrist] = odd[:, elbow] - (odd[:, wrist] - odd[:, elbow]) * [1.0, -1.0, 1.0] * 1.5
    typical = lifter.lift(weak_perspective(poses, 0.3) + 300.0, hypotheses=3).hypotheses
    unusual = lifter.lift(weak_perspective(odd, 0.3) + 300.0, hypotheses=3).hypotheses
    assert np.median(unusual.joint_sd[:, 1:].mean(axis=1)) > 1.5 * np.median(typical.joint_sd[:, 1:].mean(axis=1))


def test_hypotheses_and_uncertainty_do_not_depend_on_where_or_how_large_the_person_is(lifter, views):
    """Costs are measured in the pose's own 2D size: a shifted, enlarged copy of the 2D gives
    the same poses, probabilities and covariances. The root's covariance is 0 (poses are
    root-relative), every covariance positive semi-definite."""
    base = lifter.lift(views[:40], hypotheses=3).hypotheses
    moved = lifter.lift(views[:40] * 3.0 + [500.0, -200.0], hypotheses=3).hypotheses
    np.testing.assert_array_equal(moved.count, base.count)
    np.testing.assert_allclose(moved.probability, base.probability, atol=1e-9)
    np.testing.assert_allclose(moved.joint_covariance, base.joint_covariance, rtol=1e-6, atol=1e-6)
    assert np.all(base.joint_sd[:, 0] == 0)
    eigenvalues = np.linalg.eigvalsh(base.joint_covariance)
    assert eigenvalues.min() > -1e-6 * eigenvalues.max()


@pytest.mark.parametrize("count", [0, -1, 2.5, True])
def test_a_bad_hypothesis_count_is_refused(lifter, views, count):
    with pytest.raises(ValueError, match="hypotheses"):
        lifter.lift(views[:2], hypotheses=count)


def test_the_weighted_search_gives_hypotheses_too(lifter, views):
    weights = np.random.default_rng(9).uniform(0.3, 1.0, (50, 17))
    found = lifter.lift(views[:50], weights, hypotheses=4).hypotheses
    np.testing.assert_allclose(found.probability.sum(axis=1), 1.0, atol=1e-12)
    assert found.count.max() >= 2


@pytest.fixture(scope="module")
def keypoint_file(tmp_path_factory):
    """Six prior samples seen from the front, as an (6, 17, 2) H36M .npy."""
    prior = PosePrior.default()
    poses = prior.to_millimetres(prior.sample(6, seed=3))
    path = tmp_path_factory.mktemp("keypoints") / "poses.npy"
    np.save(path, 0.3 * poses[..., :2] * [1.0, -1.0] + 300.0)
    return path


def test_lift_writes_each_poses_hypotheses_and_uncertainty(keypoint_file, tmp_path):
    out = tmp_path / "lifted.json"
    assert main(["lift", str(keypoint_file), "--format", "h36m", "--lifter", "prior", "--hypotheses", "3",
                 "--out", str(out), "--quiet"]) == 0
    document = json.loads(out.read_text())
    assert document["options"]["hypotheses"] == 3
    for pose in document["poses"]:
        several = pose["hypotheses"]
        assert 1 <= len(several) <= 3
        assert sum(h["probability"] for h in several) == pytest.approx(1.0, abs=2e-3)
        assert several[0]["joints_3d_mm"] == pose["joints_3d_mm"]
        assert len(pose["joint_sd_mm"]) == 17 and pose["joint_sd_mm"][0] == 0
        assert np.array(pose["joint_covariance_mm2"]).shape == (17, 3, 3)


def test_hypotheses_of_the_learned_lifter_are_refused(keypoint_file, tmp_path, capsys):
    out = tmp_path / "lifted.json"
    assert main(["lift", str(keypoint_file), "--format", "h36m", "--lifter", "learned", "--hypotheses", "2",
                 "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "poselift: hypotheses come from the prior's search: use the prior or combined lifter" in error
    assert not out.exists()


@pytest.mark.parametrize("count", ["0", "11", "two"])
def test_a_hypothesis_count_out_of_range_is_a_usage_error(keypoint_file, tmp_path, count):
    with pytest.raises(SystemExit) as stop:
        main(["lift", str(keypoint_file), "--format", "h36m", "--hypotheses", count, "--out", str(tmp_path / "x.json")])
    assert stop.value.code == 2


def test_the_evaluation_reports_the_best_of_several_and_the_calibration(data_dir):
    from poselift.evaluation.h36m import RELIABILITY_LEVELS, evaluate_h36m

    result = evaluate_h36m(PosePrior.default(), 1, "gt", ("S9",), data_dir, lifter="prior", frame_step=500,
                           hypotheses=5)
    average = result["average_over_frames"]
    assert average["mpjpe_best_of_5"] <= average["mpjpe_best_of_3"] <= average["mpjpe"]
    several = result["hypotheses"]
    within = np.array(several["within"]["all"])
    assert len(within) == len(RELIABILITY_LEVELS) and np.all(np.diff(within) >= 0) and 0 < within[-1] <= 1
    assert -1 <= several["rank_correlation"] <= 1 and 0 < several["median_sd_mm"] <= several["sd_mm_95th_percentile"]
    plain = evaluate_h36m(PosePrior.default(), 1, "gt", ("S9",), data_dir, lifter="prior", frame_step=500)
    assert plain["hypotheses"] is None
    assert abs(plain["average_over_frames"]["mpjpe"] - average["mpjpe"]) < 0.5  # rarely another minimum refines lower


@pytest.mark.slow
def test_estimate_gives_each_person_hypotheses_in_every_output(tmp_path):
    from pathlib import Path

    photo = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"
    assert main(["estimate", str(photo), "--out", str(tmp_path), "--lifter", "combined", "--hypotheses", "3", "--html",
                 "--quiet"]) == 0
    document = json.loads((tmp_path / "astronaut.json").read_text())
    assert document["settings"]["hypotheses"] == 3
    person = document["people"][0]
    assert sum(h["probability"] for h in person["hypotheses"]) == pytest.approx(1.0, abs=2e-3)
    assert person["hypotheses"][0]["joints_3d_mm"] == person["joints_3d_mm"]
    assert len(person["joint_sd_mm"]) == 17
    assert (tmp_path / "astronaut.png").stat().st_size > 0
    assert '"joint_sd"' in (tmp_path / "astronaut.html").read_text()
