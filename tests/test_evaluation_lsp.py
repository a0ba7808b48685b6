"""LSP folders (both flag conventions) and the LSP evaluation's posture classes."""

import numpy as np
import pytest

from poselift.datasets.lsp import load_lsp
from poselift.evaluation.lsp import _posture
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
    lsp = load_lsp(data_dir / "lsp")
    assert len(lsp.images) == 1000 and lsp.joints.shape == (1000, 14, 2) and lsp.labelled.all()
    assert 0.5 < lsp.visible.mean() < 1.0  # 0 means visible in LSP's own flag


def test_load_lsp_extended_marks_unannotated_joints(data_dir):
    lspet = load_lsp(data_dir / "lspet", convention="lspet")
    assert len(lspet.images) == 400
    assert 0.0 < (~lspet.labelled).mean() < 0.2
    # unlabelled joints carry no position: a zero and a negative coordinate, or all zeros
    assert (lspet.joints[~lspet.labelled] <= 0).all()
    assert (lspet.joints[lspet.labelled] > 0).any(axis=-1).all()


def test_load_lsp_without_images_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .jpg images"):
        load_lsp(tmp_path)
    with pytest.raises(ValueError, match="convention"):
        load_lsp(tmp_path, convention="mpii")
