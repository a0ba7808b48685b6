import numpy as np
import pytest

from helpers import random_yaws
from poselift.geometry import rotate_about_up
from poselift.prior.alignment import align_poses, best_yaw, tomasi_kanade_mean, unrotate
from poselift.prior.model import to_model_space
from poselift.prior.ppca import PPCA, mahalanobis
from poselift.skeleton import H36M17


def wrap(angle):
    return np.angle(np.exp(1j * np.asarray(angle)))


def facing(poses):
    """Ground-plane angle of the left-hip minus right-hip vector, per pose."""
    hips = poses[:, H36M17.index("left_hip")] - poses[:, H36M17.index("right_hip")]
    return np.arctan2(hips[:, 2], hips[:, 0])


def test_tomasi_kanade_recovers_a_pose_seen_under_random_yaws(s1_poses):
    pose, _ = to_model_space(s1_poses[0], H36M17)
    yaws = random_yaws(300, seed=1234)
    mean = tomasi_kanade_mean(rotate_about_up(np.broadcast_to(pose, (300, 17, 3)), yaws))
    rigid = PPCA(pose.ravel(), np.zeros((0, 51)), np.zeros(0), 1.0, 48)
    _, residual = best_yaw(mean[None], rigid)  # up to one rotation about y
    assert residual[0] < 1e-12  # squared distance of a unit-size pose: machine precision


def test_best_yaw_recovers_the_rotation_of_model_poses(s1_poses):
    poses, _ = to_model_space(s1_poses[:200], H36M17)
    model = PPCA(poses[0].ravel(), np.zeros((0, 51)), np.zeros(0), 1.0, 48)
    yaws = random_yaws(200, seed=1234)
    found, distance = best_yaw(rotate_about_up(np.broadcast_to(poses[0], (200, 17, 3)), yaws), model)
    np.testing.assert_allclose(wrap(found - yaws), 0, atol=1e-6)
    np.testing.assert_allclose(distance, 0, atol=1e-12)


def test_best_yaw_is_exact_against_a_dense_search(s1_poses, small_prior):
    poses, _ = to_model_space(s1_poses[::10], H36M17)
    model = small_prior.prior.components[0]
    found, distance = best_yaw(poses, model)
    dense = np.linspace(-np.pi, np.pi, 3600, endpoint=False)
    brute = np.stack([mahalanobis(unrotate(poses, np.full(len(poses), t)).reshape(len(poses), -1), model)
                      for t in dense], 1)
    assert np.all(distance <= brute.min(axis=1) + 1e-9)
    np.testing.assert_allclose(distance, mahalanobis(unrotate(poses, found).reshape(len(poses), -1), model))


@pytest.fixture(scope="module")
def yawed(s1_poses):
    poses, _ = to_model_space(s1_poses, H36M17)
    yaws = random_yaws(len(poses), seed=7)
    return poses, yaws, align_poses(poses, n_basis=4), align_poses(rotate_about_up(poses, yaws), n_basis=4)


def test_alignment_recovers_random_yaws_up_to_one_global_rotation(yawed):
    _, yaws, plain, rotated = yawed
    offset = wrap(rotated.angles - plain.angles - yaws)
    offset = wrap(offset - np.angle(np.mean(np.exp(1j * offset))))
    assert np.percentile(np.abs(offset), 95) < np.deg2rad(2)


def test_aligned_poses_face_one_way(yawed):
    poses, yaws, _, rotated = yawed
    before = facing(rotate_about_up(poses, yaws))
    after = facing(unrotate(rotate_about_up(poses, yaws), rotated.angles))
    assert abs(np.mean(np.exp(1j * before))) < 0.1
    assert abs(np.mean(np.exp(1j * after))) > 0.9


def test_alignment_objective_never_increases(yawed):
    for result in yawed[2:]:
        assert np.all(np.diff(result.objective) <= 1e-9)
        assert result.basis_sizes[0] == 1 and result.basis_sizes[-1] == 4
