import numpy as np
import pytest

from poselift.datasets import cmu, h36m
from poselift.datasets.asf_amc import read_amc, read_asf
from poselift.datasets.bvh import read_bvh
from poselift.skeleton import H36M17


@pytest.fixture(scope="module")
def clip_02_01(data_dir):
    root = data_dir / "cmu"
    skeleton = read_asf(root / "asf_amc" / "02" / "02.asf")
    amc = read_amc(root / "asf_amc" / "02" / "02_01.amc", skeleton)
    return read_bvh(root / "bvh_walk" / "02_01.bvh"), amc, skeleton


# BVH joint (start of a bone) -> ASF bone whose far end is the same point
LOWER_BODY = [("Hips", "root"), ("LeftHip", "lhipjoint"), ("LeftKnee", "lfemur"), ("LeftAnkle", "ltibia"),
              ("LeftToe", "lfoot"), ("RightHip", "rhipjoint"), ("RightKnee", "rfemur"),
              ("RightAnkle", "rtibia"), ("Chest", "lowerback"), ("Chest2", "upperback")]
UPPER_BODY = [("Neck", "lowerneck"), ("Head", "upperneck"), ("Head_end", "head"), ("LeftShoulder", "lclavicle"),
              ("LeftElbow", "lhumerus"), ("LeftWrist", "lradius"), ("RightWrist", "rradius")]


def test_bvh_and_asf_amc_agree_on_clip_02_01_below_the_thorax(clip_02_01):
    bvh, amc, _ = clip_02_01
    assert bvh.positions.shape[0] == amc.positions.shape[0] == 343
    for bvh_joint, asf_bone in LOWER_BODY:
        gap = np.linalg.norm(bvh.joint(bvh_joint) - amc.joint(asf_bone), axis=-1)
        assert gap.max() < 1e-3, (bvh_joint, gap.max())  # CMU units: 1e-3 is 0.06 mm


def test_the_bvh_conversion_lacks_the_asf_thorax_bone(clip_02_01):
    """Above the upper back every BVH joint is displaced by exactly the thorax bone."""
    bvh, amc, skeleton = clip_02_01
    thorax = skeleton.bones["thorax"].length
    for bvh_joint, asf_bone in UPPER_BODY:
        gap = np.linalg.norm(bvh.joint(bvh_joint) - amc.joint(asf_bone), axis=-1)
        np.testing.assert_allclose(gap, thorax, atol=1e-3)


def test_forward_kinematics_keeps_asf_bone_lengths(clip_02_01):
    _, amc, skeleton = clip_02_01
    for child, parent in (("lfemur", "lhipjoint"), ("rtibia", "rfemur"), ("lhumerus", "lclavicle")):
        length = np.linalg.norm(amc.joint(child) - amc.joint(parent), axis=-1)
        # ASF directions are unit vectors written to six digits
        np.testing.assert_allclose(length, skeleton.bones[child].length, rtol=1e-5)


def test_cmu_clips_map_to_plausible_h36m_poses(data_dir):
    for path in (data_dir / "cmu" / "bvh_walk" / "16_15.bvh", data_dir / "cmu" / "asf_amc" / "01" / "01_01.amc"):
        poses = cmu.read_cmu_clip(path)
        assert poses.shape[1:] == (17, 3)
        femur = np.linalg.norm(poses[:, H36M17.index("left_knee")] - poses[:, H36M17.index("left_hip")], axis=-1)
        assert 330 < femur.mean() < 520, (path.name, femur.mean())
        up = poses[:, H36M17.index("head_top"), 2] - poses[:, H36M17.index("left_ankle"), 2]
        assert np.median(up) > 1000, "z must point up in the world frame"


def test_h36m_poses_and_cameras_load(data_dir):
    poses = h36m.load_poses_3d("S9", data_dir)
    assert "Walking" in poses and poses["Walking"].shape[1:] == (17, 3)
    cameras = h36m.load_cameras(data_dir)
    assert [c.name for c in cameras["S9"]] == list(h36m.CAMERA_ORDER)
    assert h36m.action_of("Walking 1") == "Walking" and h36m.action_of("WalkDog") == "WalkDog"


def test_missing_h36m_subject_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="S42.npz"):
        h36m.load_poses_3d("S42", tmp_path)


def test_corrupt_h36m_file_is_a_value_error(tmp_path):
    (tmp_path / "h36m" / "poses_3d").mkdir(parents=True)
    (tmp_path / "h36m" / "poses_3d" / "S1.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        h36m.load_poses_3d("S1", tmp_path)


GOOD_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Knee
  {
    OFFSET 0 -2 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 -2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.01
0 0 0 0 0 0 0 0 0
1 0 0 90 0 0 0 0 0
"""


def test_bvh_forward_kinematics_on_a_hand_made_file(tmp_path):
    path = tmp_path / "two.bvh"
    path.write_text(GOOD_BVH)
    motion = read_bvh(path)
    assert motion.names == ("Hips", "Knee", "Knee_end")
    np.testing.assert_allclose(motion.positions[0], [[0, 0, 0], [0, -2, 0], [0, -4, 0]], atol=1e-12)
    # 90 degrees about z turns -y into +x
    np.testing.assert_allclose(motion.positions[1], [[1, 0, 0], [3, 0, 0], [5, 0, 0]], atol=1e-12)


@pytest.mark.parametrize("broken, message", [
    (GOOD_BVH.replace("OFFSET 0 -2 0\n    CHANNELS", "OFFSET 0 -2\n    CHANNELS"), "line 8: OFFSET needs 3 numbers"),
    (GOOD_BVH.replace("CHANNELS 3 Zrotation", "CHANNELS 4 Zrotation"), "line 9: CHANNELS says 4"),
    (GOOD_BVH.replace("1 0 0 90 0 0 0 0 0", "1 0 0 90 0 0 0 0 x"), "line 20: frame 2 holds a value"),
    (GOOD_BVH.replace("Frames: 2", "Frames: 3"), "announces 3 frames but holds 2 frame lines"),
    (GOOD_BVH.replace("Frames: 2", "Frames: 9999999999"), "announces 9999999999 frames but holds 2"),
    (GOOD_BVH.replace("1 0 0 90 0 0 0 0 0", "1 0 0 90 0 0 0 0 nan"), "line 20: frame 2 holds NaN"),
    (GOOD_BVH.replace("HIERARCHY", "HIERARCHIE"), "line 1: expected HIERARCHY"),
    (GOOD_BVH.replace("Yrotation Xrotation\n  JOINT", "Wobble Xrotation\n  JOINT"), "unknown channel"),
])
def test_malformed_bvh_names_file_and_line(tmp_path, broken, message):
    path = tmp_path / "broken.bvh"
    path.write_text(broken)
    with pytest.raises(ValueError, match=message) as info:
        read_bvh(path)
    assert "broken.bvh" in str(info.value)


def test_malformed_asf_and_amc_are_value_errors(tmp_path, data_dir):
    asf_text = (data_dir / "cmu" / "asf_amc" / "02" / "02.asf").read_text()
    bad_asf = tmp_path / "bad.asf"
    bad_asf.write_text(asf_text.replace("length 7.59371", "length seven"))
    with pytest.raises(ValueError, match=r"bad.asf, line \d+: length holds a value that is not a number"):
        read_asf(bad_asf)
    skeleton = read_asf(data_dir / "cmu" / "asf_amc" / "02" / "02.asf")
    bad_amc = tmp_path / "bad.amc"
    bad_amc.write_text(":FULLY-SPECIFIED\n:DEGREES\n1\nroot 0 0 0 0 0 0\nlfemur 1 2\n")
    with pytest.raises(ValueError, match=r"bad.amc, line 5: bone 'lfemur' needs 3 numbers"):
        read_amc(bad_amc, skeleton)
    bad_amc.write_text(":DEGREES\n1\nroot 0 0 0 0 0 0\ntail 1\n")
    with pytest.raises(ValueError, match="line 4: unknown bone 'tail'"):
        read_amc(bad_amc, skeleton)


def test_not_a_cmu_clip(tmp_path):
    path = tmp_path / "clip.txt"
    path.write_text("hello")
    with pytest.raises(ValueError, match="expected .bvh or .amc"):
        cmu.read_cmu_clip(path)
