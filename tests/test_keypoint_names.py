"""COCO keypoint files are read by the joint names their category lists, not assumed to be COCO-17."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poselift.cli import main
from poselift.evaluation.metrics import pa_mpjpe
from poselift.keypoints import read_keypoints
from poselift.skeleton import H36M17, convert, joint_set_from_names

CROWDPOSE = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
             "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck"]


def test_the_annotated_h36m_frames_are_read_as_h36m17_and_lift_close_to_their_3d(data_dir, tmp_path, capsys):
    source = data_dir / "h36m" / "annotated_frames" / "h36m_coco.json"
    keypoints = read_keypoints(source, "coco")
    assert keypoints.joint_set is H36M17 and keypoints.points.shape == (4, 17, 2)
    out = tmp_path / "lifted.json"
    assert main(["lift", str(source), "--format", "coco", "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["input_joint_set"] == "h36m17" and all(pose["lifted"] for pose in result["poses"])
    truth = np.array([np.reshape(a["keypoints_3d"], (17, -1))[:, :3] for a in
                      json.loads(source.read_text())["annotations"]]) * 1000.0 * np.array([1, -1, -1])  # y up
    error = pa_mpjpe(np.array([pose["joints_3d_mm"] for pose in result["poses"]]), truth)
    assert np.all(error < 100.0), error  # measured 35.1, 86.6, 69.2, 43.8 mm


def test_the_h36m_layout_s_legs_are_the_subjects_right_as_its_3d_shows(data_dir):
    """The file calls joints 1-3 "left"; in its own 3D joint 1 lies nearer the right shoulder (14)."""
    document = json.loads((data_dir / "h36m" / "annotated_frames" / "h36m_coco.json").read_text())
    for annotation in document["annotations"]:
        pose = np.reshape(annotation["keypoints_3d"], (17, -1))[:, :3]
        assert np.linalg.norm(pose[1] - pose[14]) < np.linalg.norm(pose[1] - pose[11])


def test_a_crowdpose_layout_is_converted_by_name():
    joint_set = joint_set_from_names(CROWDPOSE, "crowdpose file")
    points = np.arange(14 * 2, dtype=float).reshape(1, 14, 2)
    conversion = convert(points, joint_set, H36M17)
    assert np.array_equal(conversion.points[0, H36M17.index("head_top")], points[0, CROWDPOSE.index("head")])
    assert "pelvis" in conversion.approximate and "spine" in conversion.missing


@pytest.mark.parametrize("names, message", [
    (["left_shoulder", "right_shoulder", "tail", "left_wing"], "match no known joint: tail, left_wing"),
    (["left_shoulder", "left_hip", "right_hip", "nose", "neck"], "lack their left/right partners: right_shoulder"),
    (["nose", "Nose", "left_eye", "right_eye"], "repeat"),
])
def test_names_that_map_to_no_known_joint_set_are_listed(tmp_path, capsys, names, message):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"categories": [{"id": 1, "keypoints": names}],
                                "annotations": [{"id": 1, "keypoints": [1.0, 2.0, 2] * len(names)}]}))
    assert main(["lift", str(path), "--format", "coco", "--out", str(tmp_path / "o.json")]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"poselift: {path}: ") and message in error
