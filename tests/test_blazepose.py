"""BlazePose run from the mediapipe wheel's .tflite files: anchors, crops, detection on real photos."""

import numpy as np
import pytest

from poselift.detectors import blazepose
from poselift.detectors.blazepose import Crop, Detection, ModelError, model_paths
from poselift.images import read_image


def test_anchors_match_the_detector_output_count_and_lie_inside():
    anchors = blazepose._anchors()
    assert anchors.shape == (2254, 2)
    assert anchors.min() > 0 and anchors.max() < 1
    assert np.allclose(anchors[:2], [[0.5 / 28, 0.5 / 28]] * 2)  # two anchors per cell of the 28x28 layer


@pytest.mark.parametrize("rotation", [0.0, 0.4, -2.0, np.pi])
def test_crop_maps_there_and_back(rotation):
    crop = Crop(centre=np.array([120.0, 80.0]), side=300.0, rotation=rotation)
    points = np.array([[0.0, 0.0], [256.0, 0.0], [128.0, 128.0], [10.0, 200.0]])
    to_crop = crop.crop_from_image(256)
    back = crop.to_image(points, 256) @ to_crop[:, :2].T + to_crop[:, 2]
    assert np.allclose(back, points)
    assert np.allclose(crop.to_image(np.array([128.0, 128.0]), 256), crop.centre)
    corners = crop.corners
    assert np.allclose(np.linalg.norm(corners[1] - corners[0]), 300.0)


@pytest.mark.parametrize("top, rotation_deg", [((0, -100), 0.0), ((100, 0), -90.0), ((-100, 0), 90.0), ((0, 100), 180.0)])
def test_region_turns_the_body_upright(top, rotation_deg):
    hips = np.array([200.0, 300.0])
    detection = Detection(box=np.zeros(4), score=0.9, keypoints=np.array([hips, hips + top, hips, hips]))
    crop = blazepose.BlazePose.region(detection)
    assert np.degrees(crop.rotation) % 360 == pytest.approx(rotation_deg % 360)
    assert crop.side == pytest.approx(2 * 100 * 1.25)
    # the body's top lands straight above the crop's centre
    to_crop = crop.crop_from_image(256)
    top_in_crop = (hips + top) @ to_crop[:, :2].T + to_crop[:, 2]
    assert np.allclose(top_in_crop, [128.0, 128.0 - 100 * 256 / crop.side])


def test_missing_mediapipe_is_a_clear_model_error(monkeypatch):
    monkeypatch.setattr(blazepose.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="pip install --no-deps mediapipe==0.10.14"):
        model_paths()


def test_unloadable_model_file_is_a_model_error(tmp_path):
    bad = tmp_path / "pose_detection.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelError, match="cannot load"):
        blazepose._interpreter(bad, 1)


def test_find_people_on_the_three_dancers(estimator, photos):
    people = estimator.blazepose.find_people(read_image(photos / "lifting_test_image_dancers.png"))
    assert len(people) == 3
    assert all(p.presence > 0.9 for p in people)
    hips_x = sorted(float(np.mean(p.keypoints[[23, 24], 0])) for p in people)
    assert np.min(np.diff(hips_x)) > 150  # three different people, not one found twice


def test_a_blank_image_has_nobody(estimator):
    assert estimator.blazepose.find_people(np.full((300, 400, 3), 200, np.uint8)) == []
