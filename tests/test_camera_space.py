"""People in camera space: the root from a pose, its 2D joints and a focal length."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from poselift.camera_space import (
    Camera,
    PhotoCameras,
    focal_from_35mm,
    focal_from_fov,
    place_root,
    view_to_camera_axes,
)
from poselift.images import read_photo
from poselift.prior.model import PosePrior

CAMERA = Camera(1150.0, (500.0, 490.0), "test")


def pinhole(points_camera: np.ndarray, camera: Camera = CAMERA) -> np.ndarray:
    """(..., J, 2) pixels of (..., J, 3) points in OpenCV camera axes."""
    return camera.focal_px * points_camera[..., :2] / points_camera[..., 2:] + np.asarray(camera.principal_px)


@pytest.fixture(scope="module")
def scene():
    """(20, 17, 3) view-frame poses from the prior, their roots 2.5-8 m in front of the camera, and the 2D joints."""
    rng = np.random.default_rng(5)
    prior = PosePrior.default()
    poses = prior.to_millimetres(prior.sample(20, seed=6))
    roots = np.stack([rng.uniform(-1500, 1500, 20), rng.uniform(-500, 800, 20), rng.uniform(2500, 8000, 20)], -1)
    points = pinhole(roots[:, None] + view_to_camera_axes(poses))
    return poses, roots, points


def test_the_root_of_an_exact_projection_is_found_exactly(scene):
    poses, roots, points = scene
    np.testing.assert_allclose(place_root(poses, points, None, CAMERA), roots, rtol=1e-9)


def test_a_person_assumed_larger_is_placed_proportionally_further(scene):
    poses, roots, points = scene
    np.testing.assert_allclose(place_root(1.1 * poses, points, None, CAMERA), 1.1 * roots, rtol=1e-9)


def test_a_joint_without_weight_does_not_move_the_root(scene):
    poses, roots, points = scene
    weights = np.ones(points.shape[:-1])
    weights[:, 3] = 0.0
    spoiled = points.copy()
    spoiled[:, 3] = [1e5, np.nan]
    np.testing.assert_allclose(place_root(poses, spoiled, weights, CAMERA), roots, rtol=1e-9)


def test_noise_in_2d_moves_the_root_by_a_little(scene):
    poses, roots, points = scene
    noisy = points + np.random.default_rng(7).normal(0, 2.0, points.shape)
    depth_error = np.abs(place_root(poses, noisy, None, CAMERA)[:, 2] - roots[:, 2]) / roots[:, 2]
    assert depth_error.max() < 0.05


def test_roots_that_cannot_be_fixed_are_nan(scene):
    poses, _, points = scene
    weights = np.zeros(points.shape[:-1])
    weights[:, 0] = 1.0  # one joint alone
    assert np.isnan(place_root(poses, points, weights, CAMERA)).all()
    behind = pinhole(np.array([0.0, 0.0, -4000.0]) + view_to_camera_axes(poses[0]))  # seen through the back
    assert np.isnan(place_root(poses[0], behind, None, CAMERA)).all()


def test_focal_lengths_from_a_field_of_view_and_from_35mm():
    assert focal_from_fov(90.0, 1000) == pytest.approx(500.0)
    assert focal_from_35mm(math.hypot(36, 24), 3000, 2000) == pytest.approx(math.hypot(3000, 2000))
    phone = focal_from_35mm(26.0, 4032, 3024)  # a phone's main camera: about 69 degrees across
    assert 2 * math.degrees(math.atan(2016 / phone)) == pytest.approx(67.3, abs=0.1)
    for bad in (0.0, 180.0, float("nan")):
        with pytest.raises(ValueError, match="field of view"):
            focal_from_fov(bad, 100)
    with pytest.raises(ValueError, match="focal"):
        Camera(-1.0, (0.0, 0.0), "x")


def test_a_photos_exif_gives_its_focal_length(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26
    Image.new("RGB", (400, 300)).save(path, exif=exif)
    photo = read_photo(path)
    assert photo.focal_35mm == 26.0
    camera = PhotoCameras().for_photo(photo.width, photo.height, photo.focal_35mm)
    assert camera.source == "exif" and camera.principal_px == (200.0, 150.0)
    assert camera.focal_px == pytest.approx(focal_from_35mm(26, 400, 300))
    assert PhotoCameras(exif=False).for_photo(400, 300, 26.0) is None
    assert PhotoCameras(fov_deg=90.0).for_photo(400, 300, 26.0).focal_px == pytest.approx(200.0)
    assert PhotoCameras(focal_px=900.0).for_photo(400, 300, 26.0).source == "focal-px"
    Image.new("RGB", (40, 30)).save(tmp_path / "plain.jpg")
    assert read_photo(tmp_path / "plain.jpg").focal_35mm is None


def test_a_focal_length_and_a_field_of_view_together_are_refused():
    with pytest.raises(ValueError, match="not both"):
        PhotoCameras(focal_px=900.0, fov_deg=60.0)


def test_human36m_roots_from_the_true_pose_and_true_2d(data_dir):
    """With the true root-relative pose and the true 2D of S9 (undistorted), the root comes back
    within a few mm: the rest of MRPE is the lifted pose's error and the size assumption.
    Without undistorting, the lens's barrel distortion puts people about 2% too far."""
    from poselift.camera_space import camera_to_view_axes
    from poselift.datasets import h36m

    camera = h36m.load_cameras(data_dir)["S9"][0]
    world = h36m.load_poses_3d("S9", data_dir)["Walking"][::50].astype(np.float64)
    truth = camera.world_to_camera(world)
    pose_view = camera_to_view_axes(truth - truth[:, :1])
    pinhole_camera = Camera(camera.focal_px, tuple(camera.principal), camera.name)
    placed = place_root(pose_view, camera.undistort(camera.project(world)), None, pinhole_camera)
    assert np.linalg.norm(placed - truth[:, 0], axis=-1).max() < 10.0
    distorted = place_root(pose_view, camera.project(world), None, pinhole_camera)
    assert np.linalg.norm(distorted - truth[:, 0], axis=-1).max() > 50.0
