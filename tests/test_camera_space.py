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


@pytest.mark.parametrize("lifter_name", ["learned", "prior"])
def test_a_pose_lifted_off_the_axis_is_turned_into_the_cameras_view(data_dir, lifter_name):
    """S8's poses (every 200th frame, each turned about the vertical at random) 30 degrees to
    the side of a 70-degree lens, lifted under weak perspective as the photo pipeline lifts:
    as lifted, each is seen along the ray to it, turned by those 30 degrees against the
    camera's view; ``ray_turn`` turns it back (measured, root-relative error in the camera's
    view frame: learned 126.3 -> 72.8 mm, prior 119.4 -> 71.5; on the optical axis 62.9 ->
    60.5 and 69.5 -> 69.6)."""
    from poselift.camera_space import ray_turn
    from poselift.datasets import h36m
    from poselift.evaluation.metrics import mpjpe
    from poselift.geometry import rotate_about_up
    from poselift.lifting.choice import build_lifter

    world = np.concatenate([frames[::200] for _, frames in sorted(h36m.load_poses_3d("S8", data_dir).items())])
    rng = np.random.default_rng(9)
    level = np.stack([world[..., 0], world[..., 2], -world[..., 1]], axis=-1)  # seen level, along world +y
    poses = rotate_about_up(level - level[:, :1], rng.uniform(0.0, 2 * np.pi, len(world)))
    camera = Camera(focal_from_fov(70.0, 1000), (500.0, 400.0), "test")
    depth = rng.uniform(3000.0, 6000.0, len(poses))
    lifter = build_lifter(lifter_name, PosePrior.default())
    errors = {}
    for angle in (0.0, 30.0):
        side = np.where(np.arange(len(poses)) % 2 == 0, 1.0, -1.0) * np.tan(np.radians(angle))
        points = pinhole(np.stack([side * depth, 0 * depth, depth], axis=-1)[:, None] + view_to_camera_axes(poses),
                         camera)
        lifted = lifter.lift(points, np.ones(points.shape[:-1])).pose_3d
        turned = lifted @ ray_turn(points, None, camera)
        errors[angle] = mpjpe(lifted, poses).mean(), mpjpe(turned, poses).mean()
    assert errors[30.0][1] < 0.7 * errors[30.0][0], errors
    assert errors[0.0][1] < errors[0.0][0] + 1.0, errors  # on the axis the turn is small
    np.testing.assert_allclose(ray_turn(np.full((17, 2), [500.0, 400.0]), None, camera), np.eye(3), atol=1e-12)
