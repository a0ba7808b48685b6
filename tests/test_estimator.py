"""Photo -> 2D and 3D pose on real photos and on annotated Human3.6M frames (issue: the main job)."""

import numpy as np
import pytest
from PIL import Image

from poselift.evaluation.metrics import pa_mpjpe
from poselift.images import read_image
from poselift.lifting import Lifter, lift_upright
from poselift.skeleton import H36M17

LEFT_RIGHT = [("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")]
UPPER_BODY = np.isin(H36M17.joints, ["neck_nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                                     "left_wrist", "right_wrist"])


def _joint(person, name):
    return person.joints_2d[H36M17.index(name)]


@pytest.mark.slow
def test_astronaut_one_upright_person_facing_the_camera(estimator, photos):
    people = estimator.estimate(photos / "astronaut.png")
    assert len(people) == 1
    person = people[0]
    assert person.joints_2d.shape == (17, 2) and person.pose_3d.shape == (17, 3)
    # upright in the image: head top above nose above thorax above pelvis
    heights = [_joint(person, n)[1] for n in ("head_top", "neck_nose", "thorax", "pelvis")]
    assert heights == sorted(heights)
    # facing the camera: her left side is on the image's right, in 2D and in 3D
    for left, right in LEFT_RIGHT:
        assert _joint(person, left)[0] - _joint(person, right)[0] > 50
    shoulders = person.pose_3d[H36M17.index("left_shoulder")] - person.pose_3d[H36M17.index("right_shoulder")]
    assert shoulders[0] > 150 and abs(shoulders[2]) < shoulders[0] / 2
    assert np.allclose(person.pose_3d[0], 0.0)  # root-relative
    assert set(person.source) == {"detected", "derived", "model"}
    assert person.confidence[H36M17.index("head_top")] == 0.0


@pytest.mark.slow
def test_grace_hopper_one_person_whose_legs_come_from_the_model(estimator, photos):
    people = estimator.estimate(photos / "grace_hopper.jpg")
    assert len(people) == 1
    person = people[0]
    height, width = read_image(photos / "grace_hopper.jpg").shape[:2]
    nose = _joint(person, "neck_nose")
    assert 0 < nose[0] < width and 0 < nose[1] < height / 2
    # the photo ends at her chest: BlazePose calls the legs invisible
    legs = [H36M17.index(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    assert person.confidence[legs].max() < 0.1
    assert person.confidence[H36M17.index("left_shoulder")] > 0.9


# hand-drawn boxes around each dancer in lifting_test_image_dancers.png (x0, y0, x1, y1)
DANCER_BOXES = {"left dancer": (430, 0, 660, 620), "man": (560, 120, 880, 580), "right dancer": (850, 60, 1130, 610)}


@pytest.mark.slow
def test_three_dancers_each_skeleton_in_its_own_box_with_consistent_sides(estimator, photos):
    people = estimator.estimate(photos / "lifting_test_image_dancers.png")
    assert len(people) == 3
    claimed = set()
    for person in people:
        inside = {name: np.mean((person.joints_2d >= box[:2]).all(axis=1) & (person.joints_2d <= box[2:]).all(axis=1))
                  for name, box in DANCER_BOXES.items() for box in [np.array(box)]}
        name = max(inside, key=inside.get)
        assert inside[name] >= 0.9, inside
        claimed.add(name)
        # shoulders and hips agree on which way the body faces
        signs = {np.sign(_joint(person, left)[0] - _joint(person, right)[0]) for left, right in LEFT_RIGHT}
        assert len(signs) == 1
    assert claimed == set(DANCER_BOXES)


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"lifter": "combined", "hypotheses": 2}])
def test_a_known_camera_turns_each_person_into_its_view(estimator, photos, options):
    """With a 70-degree lens the dancers left and right of the centre are seen from their sides:
    their 3D poses (and hypotheses) turn by the angle of the ray to each (measured: 20.8, 6.4
    and 4.0 degrees), the 2D stays (the turn's effect is measured in test_camera_space)."""
    from poselift.camera_space import Camera, focal_from_fov, ray_turn
    from poselift.estimator import Estimator

    estimator = Estimator(**options) if options else estimator
    path = photos / "lifting_test_image_dancers.png"
    camera = Camera.centred(focal_from_fov(70.0, 1280), 1280, 720, "fov")
    angles = []
    for plain, seen in zip(estimator.estimate(path), estimator.estimate(path, camera=camera), strict=True):
        np.testing.assert_allclose(seen.joints_2d, plain.joints_2d)
        turn = ray_turn(plain.joints_2d, plain.confidence, camera)
        np.testing.assert_allclose(seen.pose_3d, plain.pose_3d @ turn, atol=1e-6)
        if options:
            np.testing.assert_allclose(seen.lifted.hypotheses.pose_3d, plain.lifted.hypotheses.pose_3d @ turn,
                                       atol=1e-6)
            np.testing.assert_allclose(seen.lifted.hypotheses.joint_covariance,
                                       turn.T @ plain.lifted.hypotheses.joint_covariance @ turn, atol=1e-6)
        angles.append(np.degrees(np.arccos(np.clip((np.trace(turn) - 1) / 2, -1, 1))))
    assert max(angles) > 10.0, angles


def _prominence(person):
    """BlazePose's order of people (``find_people``): detector score times presence, times the
    side of the landmark crop: confident and large first."""
    corners = person.detector.crop_corners
    return person.score * float(np.linalg.norm(corners[1] - corners[0]))


@pytest.mark.slow
def test_max_people_keeps_the_most_prominent(estimator, photos):
    everyone = estimator.estimate(photos / "lifting_test_image_dancers.png")
    prominence = [_prominence(person) for person in everyone]
    assert len(everyone) == 3 and prominence == sorted(prominence, reverse=True), prominence
    assert prominence[0] > prominence[1]  # one clear first (measured 669 against 636 and 328)
    (kept,) = estimator.estimate(photos / "lifting_test_image_dancers.png", max_people=1)
    assert _prominence(kept) == pytest.approx(max(prominence), rel=1e-9)
    np.testing.assert_allclose(kept.joints_2d, everyone[0].joints_2d, atol=1e-6)  # the same person
    two = estimator.estimate(photos / "lifting_test_image_dancers.png", max_people=2)
    assert [_prominence(person) for person in two] == pytest.approx(prominence[:2], rel=1e-9)


@pytest.fixture(scope="module")
def annotated(data_dir):
    root = data_dir / "h36m" / "annotated_frames"
    archive = np.load(root / "test_h36m_body3d.npz")
    # camera frame (x right, y down, z forward, metres) -> ours (x right, y up, z towards the camera, mm)
    truth_3d = archive["S"][..., :3] * 1000.0 * np.array([1.0, -1.0, -1.0])
    return [(root / str(name), archive["part"][i, :, :2], truth_3d[i]) for i, name in enumerate(archive["imgname"])]


@pytest.mark.slow
def test_annotated_h36m_frames_2d_and_3d_error(estimator, annotated):
    """Measured (``benchmarks/annotated_frames.py``, the default learned lifter): 2D 5.8-14.2 px
    on the 13 detected joints, PA-MPJPE 38-82 mm over 17 joints."""
    detected = None
    for path, truth_2d, truth_3d in annotated:
        people = estimator.estimate(path)
        assert people, path.name
        person = min(people, key=lambda p: np.median(np.linalg.norm(p.joints_2d - truth_2d, axis=1)))
        detected = np.array([s == "detected" for s in person.source])
        error_2d = np.linalg.norm(person.joints_2d - truth_2d, axis=1)[detected].mean()
        assert error_2d < 20.0, (path.name, error_2d)
        error_3d = float(pa_mpjpe(person.pose_3d, truth_3d))
        assert error_3d < 120.0, (path.name, error_3d)
        # swapping left and right labels makes it clearly worse: the sides are right
        assert pa_mpjpe(person.pose_3d[H36M17.mirror_index], truth_3d) > error_3d + 20.0


@pytest.mark.slow
def test_coordinates_stay_in_the_original_pixels_of_a_large_photo(estimator, photos):
    image = read_image(photos / "astronaut.png")
    small = estimator.estimate(image)[0]
    big_image = np.asarray(Image.fromarray(image).resize((2560, 2560), Image.Resampling.BICUBIC))
    big = estimator.estimate(big_image)[0]  # shrunk to 1920 inside
    seen = UPPER_BODY & (small.confidence > 0.5)  # her legs are out of the photo
    assert np.median(np.linalg.norm(big.joints_2d[seen] / 5.0 - small.joints_2d[seen], axis=1)) < 6.0


@pytest.mark.slow
def test_a_person_turned_on_their_side_is_found_and_lifted(estimator, photos):
    image = read_image(photos / "astronaut.png")
    upright = estimator.estimate(image)[0]
    turned = estimator.estimate(np.ascontiguousarray(np.rot90(image, k=-1)))  # a quarter turn clockwise
    assert len(turned) == 1
    # back in the upright photo's pixels: (x, y) of the turned photo came from (y, 511 - x)
    back = np.stack([turned[0].joints_2d[:, 1], 511 - turned[0].joints_2d[:, 0]], axis=1)
    error = np.linalg.norm(back - upright.joints_2d, axis=1)
    # BlazePose is not exactly rotation-equivariant: measured 5-7 px at the nose and 6-32 px
    # at the shoulders (a bulky space suit) over quarter, half and three-quarter turns
    assert error[H36M17.index("neck_nose")] < 10.0
    assert error[[H36M17.index("left_shoulder"), H36M17.index("right_shoulder")]].max() < 40.0
    # the 3D pose turns with the photo: its up axis lies along the image's x axis now
    spine = turned[0].pose_3d[H36M17.index("thorax")] - turned[0].pose_3d[H36M17.index("pelvis")]
    assert spine[0] > 0.8 * np.linalg.norm(spine)  # the head is on the right of the turned photo


@pytest.mark.slow
def test_bad_arrays_are_value_errors(estimator):
    with pytest.raises(ValueError, match="uint8"):
        estimator.estimate(np.zeros((50, 50, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        estimator.estimate(np.zeros((50, 50), np.uint8))


@pytest.mark.parametrize("fusion_weight, rounds, message", [(-0.1, 1, r"fusion_weight must lie in \[0, 1\], got -0.1"),
                                                            (1.5, 1, r"fusion_weight must lie in \[0, 1\], got 1.5"),
                                                            (0.5, -1, "rounds must be 0 or more, got -1")])
def test_bad_settings_are_value_errors(fusion_weight, rounds, message):
    from poselift.estimator import Estimator

    with pytest.raises(ValueError, match=message):
        Estimator(fusion_weight=fusion_weight, rounds=rounds)


@pytest.mark.parametrize("roll_deg", [90.0, -90.0, 180.0, 30.0])
def test_lift_upright_turns_the_pose_with_the_image(small_prior, roll_deg):
    """Points turned on screen by ``roll`` about ``centre`` and lifted in the frame turned
    back give the upright answer turned with them: the same 3D pose rolled about the
    viewing axis, and the same reprojection turned on screen."""
    prior = small_prior.prior
    lifter = Lifter(prior)
    pose = prior.sample(1, seed=3)[0]
    upright_2d = pose[:, :2] * np.array([100.0, -100.0]) + 300.0  # weak perspective, y down
    roll = np.radians(roll_deg)
    c, s = np.cos(roll), np.sin(roll)
    screen = np.array([[c, s], [-s, c]])  # counter-clockwise on screen, y down
    centre = np.array([310.0, 290.0])
    turned_2d = (upright_2d - centre) @ screen.T + centre
    reference = lifter.lift(upright_2d)
    lifted = lift_upright(lifter, turned_2d, np.ones(17), centre, rolls=(roll,))
    assert np.allclose(lifted.projected_2d, (reference.projected_2d - centre) @ screen.T + centre, atol=1e-6)
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])  # counter-clockwise about z, y up
    assert np.allclose(lifted.pose_3d, reference.pose_3d @ turn.T, atol=1e-6)
    assert lifted.cost == pytest.approx(float(reference.cost))


@pytest.mark.slow
def test_fast_mode_finds_the_same_people_with_fewer_network_runs(photos):
    from poselift.estimator import Estimator

    counts = {}
    for fast in (False, True):
        estimator = Estimator(fast=fast)
        runs = []
        for name in ("detect", "landmarks"):
            method = getattr(estimator.blazepose, name)
            setattr(estimator.blazepose, name,
                    lambda *a, _m=method, _n=name, _runs=runs, **k: (_runs.append(_n), _m(*a, **k))[1])
        people = estimator.estimate(photos / "astronaut.png")
        counts[fast] = (len(people), len(runs), people[0].joints_2d)
    assert counts[True][0] == counts[False][0] == 1
    assert counts[True][1] < counts[False][1]
    nose = H36M17.index("neck_nose")
    assert np.linalg.norm(counts[True][2][nose] - counts[False][2][nose]) < 10.0
