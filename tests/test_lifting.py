import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import s1_views, tilted_camera
from poselift.geometry import mirror, rotate_about_up, weak_perspective
from poselift.lifting import MIN_VISIBLE_JOINTS, Lifter, lift
from poselift.lifting.reference import lift_reference
from poselift.skeleton import H36M17

REAL_POSES = 30  # real S1 poses, spread over the subject's actions, that the properties draw from
MODEL_POSES = 30  # noise-free poses from the prior that the rotation property draws from

pose_index = st.integers(0, REAL_POSES - 1)
yaws = st.floats(-np.pi, np.pi)


@pytest.fixture(scope="module")
def exact_lifter(prior):
    """No prior terms: the pure geometry of eq. 4, so model poses come back exactly."""
    return Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0)


@pytest.fixture(scope="module")
def default_lifter(prior):
    """The default lifter (prior terms on), shared by the property tests."""
    return Lifter(prior)


@pytest.fixture(scope="module")
def lifter_40(prior):
    """Prior terms on, 40 angles."""
    return Lifter(prior, angles=40)


@pytest.fixture(scope="module")
def real_poses(s1_poses):
    """(REAL_POSES, 17, 3) world-mm S1 poses, evenly spaced over ``s1_poses``."""
    return s1_poses[:: len(s1_poses) // REAL_POSES][:REAL_POSES]


def model_poses(prior, n, seed):
    """Noise-free poses from the prior: mean plus basis times sampled coefficients."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, prior.n_components, n)
    a = rng.standard_normal((n, prior.n_basis)) * np.sqrt(prior.variances[k])
    return prior.means[k] + np.einsum("nj,njlc->nlc", a, prior.bases[k]), k


@pytest.fixture(scope="module")
def model_shapes(prior):
    """(MODEL_POSES, 17, 3) noise-free model poses in prior units."""
    return model_poses(prior, MODEL_POSES, seed=11)[0]


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


@settings(max_examples=25, deadline=None)
@given(index=st.integers(0, MODEL_POSES - 1), steps=st.integers(1, 39))
def test_rotating_the_3d_source_about_the_vertical_rotates_the_answer(exact_lifter, model_shapes, index, steps):
    """Exact where lifting recovers the source (model poses, no prior terms): projection
    drops depth, so for other poses it holds only as far as the depth is right."""
    shape = model_shapes[index:index + 1]
    turn = steps * exact_lifter.step  # a whole number of grid steps keeps the grid
    base = exact_lifter.lift(weak_perspective(shape, 300.0))
    turned = exact_lifter.lift(weak_perspective(rotate_about_up(shape, turn), 300.0))
    np.testing.assert_allclose(turned.pose_3d, rotate_about_up(base.pose_3d, turn), atol=1e-6)
    np.testing.assert_allclose(np.angle(np.exp(1j * (turned.angle - base.angle - turn))), 0, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(index=pose_index, yaw=yaws)
def test_mirrored_input_gives_the_mirrored_answer(lifter_40, real_poses, index, yaw):
    """The prior is fitted with mirrored copies, so it is close to, not exactly, symmetric:
    every pose's mirrored answer is within 5 mm (mean over the joints) of its answer mirrored."""
    points = s1_views(real_poses[index], yaw)
    base = lifter_40.lift(points)
    flipped = lifter_40.lift(mirror(points, H36M17))
    gap = np.linalg.norm(flipped.pose_3d - mirror(base.pose_3d, H36M17), axis=-1).mean()
    assert gap < 5.0, gap


@settings(max_examples=25, deadline=None)
@given(index=pose_index, yaw=yaws, factor=st.floats(0.05, 20.0),
       shift=st.tuples(st.floats(-3000.0, 3000.0), st.floats(-3000.0, 3000.0)))
def test_scale_and_translation_of_the_input_do_not_change_the_3d_answer(default_lifter, real_poses, index, yaw,
                                                                        factor, shift):
    points = s1_views(real_poses[index], yaw)
    a = default_lifter.lift(points)
    b = default_lifter.lift(factor * points + np.array(shift))
    np.testing.assert_allclose(a.pose_3d, b.pose_3d, atol=1e-6)
    np.testing.assert_allclose(b.scale, factor * a.scale, rtol=1e-9)
    np.testing.assert_allclose(b.translation - factor * a.translation, shift, atol=1e-6)


def test_a_zero_weight_makes_that_joints_position_irrelevant(prior, s1_poses):
    lifter = Lifter(prior)
    points = s1_views(s1_poses[:40])
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
    points = s1_views(s1_poses[:count])
    rng = np.random.default_rng(2)
    w = {"none": None,
         "binary": np.where(rng.random((count, 17)) < 0.2, 0.0, 1.0),
         "continuous": rng.uniform(0.1, 1.0, (count, 17))}[weights]
    camera = tilted_camera(0.3)
    fast = Lifter(prior, angles=16, refine=4, camera_rotation=camera).lift(points, w)
    slow = lift_reference(points, prior, w, angles=16, refine=4, camera_rotation=camera)
    np.testing.assert_array_equal(fast.component, slow["component"])
    np.testing.assert_allclose(fast.angle, slow["angle"], atol=1e-12)
    np.testing.assert_allclose(fast.pose_3d, slow["pose_3d"], atol=1e-6)
    np.testing.assert_allclose(fast.cost, slow["cost"], rtol=1e-9)
    np.testing.assert_allclose(fast.translation, slow["translation"], atol=1e-6)


def test_known_camera_rotation_is_used(prior):
    shapes, _ = model_poses(prior, 20, seed=9)
    camera = tilted_camera(0.5)  # a camera looking down at the person
    points = weak_perspective(shapes @ camera.T, 300.0)
    told = Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0, camera_rotation=camera).lift(points)
    level = Lifter(prior, angles=40, regularization=0.0, scale_prior=0.0).lift(points)
    truth = prior.to_millimetres(shapes)
    assert np.abs(told.pose_3d - truth).max() < 1.0
    assert np.abs(level.pose_3d - truth).max() > 50.0


def test_a_given_height_scales_the_3d_pose(prior, s1_poses):
    points = s1_views(s1_poses[:10])
    lifter = Lifter(prior)
    plain = lifter.lift(points)
    tall = lifter.lift(points, height_mm=2000.0)
    short = lifter.lift(points, height_mm=1000.0)
    np.testing.assert_allclose(tall.pose_3d, 2 * short.pose_3d, rtol=1e-12)
    mean = prior.to_millimetres(prior.means[np.argmax(prior.weights)], height_mm=1700.0)
    assert np.isclose(np.ptp(mean[:, 1]), 1700.0)
    np.testing.assert_array_equal(tall.angle, plain.angle)
    with pytest.raises(ValueError, match=r"height must lie in \[300, 3000\] mm, got -3.0"):
        lifter.lift(points, height_mm=-3.0)


def test_projected_pose_is_eq_5(prior, s1_poses):
    points = s1_views(s1_poses[:10])
    lifted = Lifter(prior).lift(points)
    k = lifted.component
    shapes = prior.means[k] + np.einsum("nj,njlc->nlc", lifted.coefficients, prior.bases[k])
    expected = weak_perspective(rotate_about_up(shapes, lifted.angle), lifted.scale) + lifted.translation[:, None]
    np.testing.assert_allclose(lifted.projected_2d, expected, atol=1e-9)
    np.testing.assert_allclose(lifted.residual, np.sum((points - expected) ** 2, axis=(-1, -2)), rtol=1e-9)


@pytest.mark.parametrize("shape", [(17, 2), (1, 17, 2), (2, 3, 17, 2)])
def test_any_leading_batch_shape(prior, s1_poses, shape):
    points = s1_views(s1_poses[:int(np.prod(shape[:-2], dtype=int))]).reshape(shape)
    lifted = lift(points, prior)
    assert lifted.pose_3d.shape == shape[:-1] + (3,)
    assert lifted.angle.shape == shape[:-2] and lifted.coefficients.shape == shape[:-2] + (prior.n_basis,)


@pytest.mark.parametrize("points, weights, message", [
    (np.zeros((4, 16, 2)), None, r"shape \(\.\.\., 17, 2\)"),
    (np.zeros((4, 17, 3)), None, r"shape \(\.\.\., 17, 2\)"),
    (np.zeros((0, 17, 2)), None, "empty"),
    ("nan", None, r"^pose 1: points hold NaN or infinite values at joints with non-zero weight$"),
    ("far", None, r"^pose 2: a coordinate lies beyond 1e\+06 pixels$"),
    ("ok", np.zeros(17), r"^pose 0: 0 joints have a non-zero weight; at least 5 are needed \(and 2 more pose\(s\)\)$"),
    ("ok", np.r_[np.ones(MIN_VISIBLE_JOINTS - 1), np.zeros(17 - MIN_VISIBLE_JOINTS + 1)], "at least 5"),
    ("ok", -np.ones(17), "non-negative"),
    ("ok", np.ones(5), "do not match"),
    (np.full((3, 17, 2), 7.0), None, "one point"),
])
def test_bad_input_raises_value_error(prior, s1_poses, points, weights, message):
    if isinstance(points, str):
        kind, points = points, s1_views(s1_poses[:3])
        if kind == "nan":
            points[1, 4, 0] = np.nan
        elif kind == "far":
            points[2, 4, 0] = 2e6
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
        Lifter(prior, angles=8).lift_perspective(s1_views(s1_poses[:2]), 0.0, [0, 0])


@pytest.mark.parametrize("camera", [np.diag([1.0, 1.0, -1.0]), 2 * np.eye(3), np.eye(2)])
def test_a_camera_rotation_that_is_not_a_rotation_raises(prior, camera):
    with pytest.raises(ValueError, match="camera_rotation must be a 3x3 rotation matrix"):
        Lifter(prior, angles=8, camera_rotation=camera)


def test_a_bad_pose_in_a_batch_of_several_dimensions_is_named_by_its_index(prior, s1_poses):
    points = s1_views(s1_poses[:6]).reshape(2, 3, 17, 2)
    points[1, 2, 4] = np.nan
    with pytest.raises(ValueError, match=r"^pose \(1, 2\): points hold NaN"):
        Lifter(prior, angles=8).lift(points)
