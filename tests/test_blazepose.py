"""BlazePose run from the .tflite files shipped with poselift: model files, anchors, crops, detection on real photos."""

import shutil

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


@pytest.mark.parametrize("top, rotation_deg",
                         [((0, -100), 0.0), ((100, 0), -90.0), ((-100, 0), 90.0), ((0, 100), 180.0)])
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


MODEL_FILES = [blazepose.DETECTOR_FILE, blazepose.LANDMARK_FILE]


@pytest.fixture
def model_copy(tmp_path, monkeypatch):
    """A copy of the shipped model folder that model_paths() reads instead."""
    folder = tmp_path / "blazepose"
    folder.mkdir()
    for name in MODEL_FILES:
        shutil.copyfile(blazepose.MODEL_DIR / name, folder / name)
    monkeypatch.setattr(blazepose, "MODEL_DIR", folder)
    return folder


def test_the_shipped_model_files_pass_their_checksums_once_per_process():
    detector, landmark = model_paths()
    assert (detector.name, landmark.name) == ("pose_detection.tflite", "pose_landmark_full.tflite")
    assert detector.parent == landmark.parent == blazepose.MODEL_DIR
    hits = blazepose._verify.cache_info().hits
    assert model_paths() == (detector, landmark)
    assert blazepose._verify.cache_info().hits == hits + 2  # not hashed again


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_damaged_model_file_is_a_checksum_model_error(model_copy, name):
    damaged = model_copy / name
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum") as error:
        model_paths()
    assert str(damaged) in str(error.value) and "reinstall poselift" in str(error.value)


@pytest.mark.parametrize("name", MODEL_FILES)
def test_a_missing_model_file_is_a_model_error(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(ModelError, match="missing") as error:
        model_paths()
    assert str(model_copy / name) in str(error.value)


def test_a_model_file_replaced_after_its_check_is_checked_again(model_copy):
    assert model_paths()[0].parent == model_copy
    with open(model_copy / blazepose.LANDMARK_FILE, "ab") as file:
        file.write(b"\0")
    with pytest.raises(ModelError, match="checksum"):
        model_paths()


def test_unloadable_model_file_is_a_model_error(tmp_path):
    bad = tmp_path / "pose_detection.tflite"
    bad.write_bytes(b"not a flatbuffer")
    with pytest.raises(ModelError, match="cannot load"):
        blazepose._interpreter(bad, 1)


@pytest.mark.slow
def test_find_people_on_the_three_dancers(estimator, photos):
    people = estimator.blazepose.find_people(read_image(photos / "lifting_test_image_dancers.png"))
    assert len(people) == 3
    assert all(p.presence > 0.9 for p in people)
    hips_x = sorted(float(np.mean(p.keypoints[[23, 24], 0])) for p in people)
    assert np.min(np.diff(hips_x)) > 150  # three different people, not one found twice


@pytest.mark.slow
def test_a_blank_image_has_nobody(estimator):
    assert estimator.blazepose.find_people(np.full((300, 400, 3), 200, np.uint8)) == []
