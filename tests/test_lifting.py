import numpy as np
import pytest

from poselift.geometry import mirror, rotate_about_up, weak_perspective, world_to_prior
from poselift.lifting import MIN_VISIBLE_JOINTS, Lifter, lift
from poselift.lifting.reference import lift_reference
from poselift.skeleton import H36M17


@pytest.fixture(scope="module")
def prior(small_prior):
    return small_prior.prior


@pytest.fixture(scope="module")
def exact_lifter(prior):
    """No prior terms: the pure geometry of eq. 4, so model poses come back exactly."""
    return Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0)


def model_poses(prior, n, seed):
    """Noise-free poses from the prior: mean plus basis times sampled coefficients."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, prior.n_components, n)
    a = rng.standard_normal((n, prior.n_basis)) * np.sqrt(prior.variances[k])
    return prior.means[k] + np.einsum("nj,njlc->nlc", a, prior.bases[k]), k


def image_points(s1_poses, count=40, scale=2.0, shift=(640.0, 360.0), yaw=0.0):
    """Real poses seen by a level weak-perspective camera, in pixels."""
    poses = world_to_prior(s1_poses[:count])
    poses = poses - poses.mean(axis=1, keepdims=True)
    return weak_perspective(rotate_about_up(poses, yaw), scale / 10) + np.array(shift)


def test_model_pose_at_a_grid_angle_comes_back_within_a_millimetre(prior, exact_lifter):
    shapes, k = model_poses(prior, 50, seed=5)
    angles = exact_lifter.angles[np.random.default_rng(6).integers(0, 40, 50)]
    truth = rotate_about_up(shapes, angles)
    lifted = exact_lifter.lift(weak_perspective(truth, 350.0) + np.array([300.0, 200.0]))
    error = np.linalg.norm(lifted.pose_3d - prior.to_millimetres(truth), axis=-1).max()
    assert error < 1.0, error
    np.testing.assert_array_equal(lifted.component, k)
    np.testing.assert_allclose(lifted.scale, 350.0, rtol=1e-6)


def test_the_prior_terms_shrink_towards_the_mean_but_beat_it(prior):
    """On noise-free model poses the coefficient prior only pulls answers towards the mean:
    the error grows with its weight, and stays below that of the mean pose at the truth's
    angle."""
    shapes, k = model_poses(prior, 50, seed=5)
    points = weak_perspective(shapes, 350.0)
    truth = prior.to_millimetres(shapes)
    errors = [np.linalg.norm(Lifter(prior, regularization=g).lift(points).pose_3d - truth, axis=-1).mean()
              for g in (0.1, 1.0, 10.0)]
    mean_error = np.linalg.norm(prior.to_millimetres(prior.means[k]) - truth, axis=-1).mean()
    assert errors[0] < errors[1] < errors[2] < mean_error, (errors, mean_error)


@pytest.mark.parametrize("steps", [1, 7, 23])
def test_rotating_the_3d_source_about_the_vertical_rotates_the_answer(prior, exact_lifter, steps):
    """Exact where lifting recovers the source (model poses, no prior terms): projection
    drops depth, so for other poses it holds only as far as the depth is right."""
    shapes, _ = model_poses(prior, 30, seed=11)
    turn = steps * exact_lifter.step  # a whole number of grid steps keeps the grid
    base = exact_lifter.lift(weak_perspective(shapes, 300.0))
    turned = exact_lifter.lift(weak_perspective(rotate_about_up(shapes, turn), 300.0))
    np.testing.assert_allclose(turned.pose_3d, rotate_about_up(base.pose_3d, turn), atol=1e-6)
    np.testing.assert_allclose(np.angle(np.exp(1j * (turned.angle - base.angle - turn))), 0, atol=1e-9)


def test_mirrored_input_gives_the_mirrored_answer(prior, s1_poses):
    """The prior is fitted with mirrored copies, so it is close to, not exactly, symmetric."""
    lifter = Lifter(prior, angles=40)
    points = image_points(s1_poses, count=100, shift=(0.0, 0.0))
    base = lifter.lift(points)
    flipped = lifter.lift(mirror(points, H36M17))
    gap = np.linalg.norm(flipped.pose_3d - mirror(base.pose_3d, H36M17), axis=-1).mean(axis=-1)
    assert np.median(gap) < 5.0, np.median(gap)


def test_scale_and_translation_of_the_input_do_not_change_the_3d_answer(prior, s1_poses):
    lifter = Lifter(prior)
    a = lifter.lift(image_points(s1_poses, scale=1.0, shift=(0.0, 0.0)))
    b = lifter.lift(image_points(s1_poses, scale=7.0, shift=(900.0, -50.0)))
    np.testing.assert_allclose(a.pose_3d, b.pose_3d, atol=1e-6)
    np.testing.assert_allclose(b.scale, 7.0 * a.scale, rtol=1e-9)
    np.testing.assert_allclose(b.translation - 7.0 * a.translation, np.broadcast_to([900.0, -50.0], a.translation.shape),
                               atol=1e-6)


def test_a_zero_weight_makes_that_joints_position_irrelevant(prior, s1_poses):
    lifter = Lifter(prior)
    points = image_points(s1_poses)
    weights = np.ones(17)
    wrist = H36M17.index("left_wrist")
    weights[wrist] = 0.0
    moved = points.copy()
    moved[:, wrist] += [5000.0, -300.0]
    hidden = points.copy()
    hidden[:, wrist] = np.nan
    a, b, c = (lifter.lift(p, weights) for p in (points, moved, hidden))
    np.testing.assert_array_equal(a.pose_3d, b.pose_3d)
    np.testing.assert_array_equal(a.pose_3d, c.pose_3d)
    assert np.all(np.isfinite(c.pose_3d))


@pytest.mark.parametrize("weights, count", [("none", 6), ("binary", 6), ("continuous", 6), ("continuous", 24)])
def test_fast_path_equals_the_plain_reference(prior, s1_poses, weights, count):
    """24 frames with weights of their own take the frame-by-frame path (over 16 patterns)."""
    points = image_points(s1_poses, count=count)
    rng = np.random.default_rng(2)
    w = {"none": None,
         "binary": np.where(rng.random((count, 17)) < 0.2, 0.0, 1.0),
         "continuous": rng.uniform(0.1, 1.0, (count, 17))}[weights]
    camera = np.array([[1, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    fast = Lifter(prior, angles=16, refine=4, camera_rotation=camera).lift(points, w)
    slow = lift_reference(points, prior, w, angles=16, refine=4, camera_rotation=camera)
    np.testing.assert_array_equal(fast.component, slow["component"])
    np.testing.assert_allclose(fast.angle, slow["angle"], atol=1e-12)
    np.testing.assert_allclose(fast.pose_3d, slow["pose_3d"], atol=1e-6)
    np.testing.assert_allclose(fast.cost, slow["cost"], rtol=1e-9)
    np.testing.assert_allclose(fast.translation, slow["translation"], atol=1e-6)


def test_known_camera_rotation_is_used(prior):
    shapes, _ = model_poses(prior, 20, seed=9)
    tilt = 0.5  # a camera looking down at the person
    camera = np.array([[1, 0, 0], [0, np.cos(tilt), -np.sin(tilt)], [0, np.sin(tilt), np.cos(tilt)]])
    points = weak_perspective(shapes @ camera.T, 300.0)
    told = Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0, camera_rotation=camera).lift(points)
    level = Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0).lift(points)
    truth = prior.to_millimetres(shapes)
    assert np.abs(told.pose_3d - truth).max() < 1.0
    assert np.abs(level.pose_3d - truth).max() > 50.0


def test_a_given_height_scales_the_3d_pose(prior, s1_poses):
    points = image_points(s1_poses, count=10)
    lifter = Lifter(prior)
    plain = lifter.lift(points)
    tall = lifter.lift(points, height_mm=2000.0)
    short = lifter.lift(points, height_mm=1000.0)
    np.testing.assert_allclose(tall.pose_3d, 2 * short.pose_3d, rtol=1e-12)
    mean = prior.to_millimetres(prior.means[np.argmax(prior.weights)], height_mm=1700.0)
    assert np.isclose(np.ptp(mean[:, 1]), 1700.0)
    np.testing.assert_array_equal(tall.angle, plain.angle)
    with pytest.raises(ValueError, match="height must be a positive"):
        lifter.lift(points, height_mm=-3.0)


def test_projected_pose_is_eq_5(prior, s1_poses):
    points = image_points(s1_poses, count=10)
    lifted = Lifter(prior).lift(points)
    shapes = prior.means[lifted.component] + np.einsum("nj,njlc->nlc", lifted.coefficients, prior.bases[lifted.component])
    expected = weak_perspective(rotate_about_up(shapes, lifted.angle), lifted.scale) + lifted.translation[:, None]
    np.testing.assert_allclose(lifted.projected_2d, expected, atol=1e-9)
    np.testing.assert_allclose(lifted.residual, np.sum((points - expected) ** 2, axis=(-1, -2)), rtol=1e-9)


@pytest.mark.parametrize("shape", [(17, 2), (1, 17, 2), (2, 3, 17, 2)])
def test_any_leading_batch_shape(prior, s1_poses, shape):
    points = image_points(s1_poses, count=int(np.prod(shape[:-2], dtype=int))).reshape(shape)
    lifted = lift(points, prior)
    assert lifted.pose_3d.shape == shape[:-1] + (3,)
    assert lifted.angle.shape == shape[:-2] and lifted.coefficients.shape == shape[:-2] + (prior.n_basis,)


@pytest.mark.parametrize("points, weights, message", [
    (np.zeros((4, 16, 2)), None, r"shape \(\.\.\., 17, 2\)"),
    (np.zeros((4, 17, 3)), None, r"shape \(\.\.\., 17, 2\)"),
    (np.zeros((0, 17, 2)), None, "empty"),
    ("nan", None, "NaN"),
    ("ok", np.zeros(17), "0 joints with non-zero weight"),
    ("ok", np.r_[np.ones(MIN_VISIBLE_JOINTS - 1), np.zeros(17 - MIN_VISIBLE_JOINTS + 1)], "at least 5"),
    ("ok", -np.ones(17), "non-negative"),
    ("ok", np.ones(5), "do not match"),
    (np.full((3, 17, 2), 7.0), None, "one point"),
])
def test_bad_input_raises_value_error(prior, s1_poses, points, weights, message):
    if isinstance(points, str):
        points = image_points(s1_poses, count=3)
        if points is not None and message == "NaN":
            points[1, 4, 0] = np.nan
    with pytest.raises(ValueError, match=message):
        Lifter(prior, angles=8).lift(points, weights)


def test_perspective_correction_converges_on_pinhole_views_of_model_poses(prior):
    """Model poses 2.5 m from a pinhole camera: weak perspective errs by the depth spread;
    each correction brings the lift closer, to within a millimetre after five."""
    shapes, _ = model_poses(prior, 40, seed=21)
    truth = prior.to_millimetres(shapes)
    focal, principal, distance = 1000.0, np.array([500.0, 500.0]), 2500.0
    camera_points = truth * [1, -1, -1] + [0.0, 0.0, distance]  # view axes -> OpenCV, in front
    points = focal * camera_points[..., :2] / camera_points[..., 2:] + principal
    lifter = Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0)
    errors = [np.linalg.norm(lifter.lift_perspective(points, focal, principal, iterations=i).pose_3d - truth,
                             axis=-1).mean() for i in (0, 1, 3, 5)]
    assert errors[0] > errors[1] > errors[2] > errors[3], errors
    assert errors[0] > 10 and errors[3] < 1.0, errors


def test_perspective_correction_rejects_a_bad_focal_length(prior, s1_poses):
    with pytest.raises(ValueError, match="focal length must be positive"):
        Lifter(prior, angles=8).lift_perspective(image_points(s1_poses, count=2), 0.0, [0, 0])


@pytest.mark.parametrize("camera", [np.diag([1.0, 1.0, -1.0]), 2 * np.eye(3), np.eye(2)])
def test_a_camera_rotation_that_is_not_a_rotation_raises(prior, camera):
    with pytest.raises(ValueError, match="camera_rotation must be a 3x3 rotation matrix"):
        Lifter(prior, angles=8, camera_rotation=camera)
