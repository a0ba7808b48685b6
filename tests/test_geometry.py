import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from poselift.geometry import (
    PRIOR_FROM_WORLD,
    PinholeCamera,
    limb_size,
    mirror,
    normalise_size,
    prior_to_world,
    procrustes_align,
    rotate_about_up,
    rotation_about_up,
    weak_perspective,
    world_to_prior,
    wrap_angle,
)
from poselift.skeleton import H36M17

finite = st.floats(-1e3, 1e3, allow_nan=False, width=64)
poses = arrays(np.float64, (17, 3), elements=finite)
angles = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(poses, angles)
def test_rotation_about_up_keeps_heights_and_distances(pose, theta):
    rotated = rotate_about_up(pose, theta)
    np.testing.assert_allclose(rotated[:, 1], pose[:, 1], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=-1), np.linalg.norm(pose, axis=-1), atol=1e-6)
    np.testing.assert_allclose(rotated, pose @ rotation_about_up(theta).T, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(angles, angles)
def test_rotations_about_up_compose(a, b):
    np.testing.assert_allclose(rotation_about_up(a) @ rotation_about_up(b), rotation_about_up(a + b), atol=1e-12)
    assert np.isclose(np.linalg.det(rotation_about_up(a)), 1.0)


@settings(max_examples=50, deadline=None)
@given(st.floats(-100, 100, allow_nan=False))
def test_wrap_angle_lands_in_minus_pi_to_pi_and_keeps_the_rotation(theta):
    wrapped = wrap_angle(theta)
    assert -np.pi <= wrapped < np.pi
    np.testing.assert_allclose(rotation_about_up(wrapped), rotation_about_up(theta), atol=1e-12)


def test_world_to_prior_puts_z_up_on_y():
    assert np.isclose(np.linalg.det(PRIOR_FROM_WORLD), 1.0)
    np.testing.assert_allclose(world_to_prior(np.array([[0.0, 0.0, 5.0]])), [[0, 5, 0]])
    pose = np.random.default_rng(0).normal(size=(17, 3))
    np.testing.assert_allclose(prior_to_world(world_to_prior(pose)), pose)


@settings(max_examples=50, deadline=None)
@given(poses)
def test_mirror_twice_is_identity_and_swaps_left_and_right(pose):
    np.testing.assert_allclose(mirror(mirror(pose, H36M17), H36M17), pose)
    flipped = mirror(pose, H36M17)
    left, right = H36M17.index("left_wrist"), H36M17.index("right_wrist")
    np.testing.assert_allclose(flipped[left], pose[right] * [-1, 1, 1])
    np.testing.assert_allclose(limb_size(flipped, H36M17), limb_size(pose, H36M17))


@settings(max_examples=50, deadline=None)
@given(poses, st.floats(0.1, 10))
def test_normalise_size_gives_unit_limb_size_and_zero_centroid(pose, factor):
    if limb_size(pose, H36M17) < 1e-3:
        return
    normalised, size = normalise_size(pose * factor, H36M17)
    assert np.isclose(limb_size(normalised, H36M17), 1.0)
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(size, factor * limb_size(pose, H36M17), rtol=1e-9)


def test_normalise_size_rejects_a_collapsed_pose():
    with pytest.raises(ValueError, match="coincide"):
        normalise_size(np.ones((17, 3)), H36M17)


def test_procrustes_recovers_a_random_similarity(rng):
    target = rng.normal(size=(8, 17, 3))
    q, _ = np.linalg.qr(rng.normal(size=(8, 3, 3)))
    q *= np.sign(np.linalg.det(q))[:, None, None]  # proper rotations
    source = 0.3 * target @ q + rng.normal(size=(8, 1, 3))
    np.testing.assert_allclose(procrustes_align(source, target), target, atol=1e-9)


def test_procrustes_does_not_reflect(rng):
    target = rng.normal(size=(17, 3))
    mirrored = target * [-1, 1, 1]
    assert np.abs(procrustes_align(mirrored, target) - target).max() > 0.1


def test_weak_perspective_flips_y_for_image_coordinates():
    points = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(weak_perspective(points, 2.0), [[2.0, -4.0]])


def test_pinhole_projection_matches_h36m_annotations(data_dir):
    """Camera-space 3D ground truth projects onto the annotated 2D joints within 1.5 px."""
    import json
    import re

    ann = np.load(data_dir / "h36m" / "annotated_frames" / "test_h36m_body3d.npz")
    cameras = json.loads((data_dir / "h36m" / "cameras.json").read_text())["cameras"]
    for name, part, s3d in zip(ann["imgname"], ann["part"], ann["S"]):
        subject, camera_id = str(name).split("/")[0], re.search(r"\.(\d{8})", str(name)).group(1)
        spec = next(c for c in cameras[subject] if c["id"] == camera_id)
        camera = PinholeCamera(np.eye(3), np.zeros(3), np.array(spec["f"]), np.array(spec["c"]),
                               np.array(spec["k_radial"]), np.array(spec["p_tangential"]), camera_id)
        projected = camera.project(s3d[:, :3] * 1000)
        assert np.abs(projected - part[:, :2]).max() < 1.5, name
