"""LSP evaluation helpers: the folder reader and the posture classes."""

import numpy as np
import pytest

from poselift.evaluation.lsp import _posture, load_lsp
from poselift.skeleton import LSP14


def _torso(shoulder_offset):
    pose = np.zeros((14, 2))
    for name in ("left_hip", "right_hip"):
        pose[LSP14.index(name)] = (100.0, 200.0)
    for name in ("left_shoulder", "right_shoulder"):
        pose[LSP14.index(name)] = np.array([100.0, 200.0]) + shoulder_offset
    return pose


def test_posture_follows_the_torso_lean():
    poses = np.stack([_torso((0, -80)), _torso((20, -80)), _torso((80, 0)), _torso((-80, 10)), _torso((5, 80))])
    assert _posture(poses).tolist() == ["upright", "upright", "leaning", "leaning", "upside down"]


def test_load_lsp_reads_the_shared_folder(data_dir):
    images, joints, visible = load_lsp(data_dir / "lsp")
    assert len(images) == 1000 and joints.shape == (1000, 14, 2) and visible.shape == (1000, 14)
    assert 0.5 < visible.mean() < 1.0  # 0 means visible in LSP's own flag


def test_load_lsp_without_images_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .jpg images"):
        load_lsp(tmp_path)
