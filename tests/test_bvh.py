"""BVH export: positions -> BVH -> positions, read back by poselift's reader and by bvhio."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from poselift.datasets.bvh import read_bvh
from poselift.export.bvh import BVH_JOINTS, _smallest_rotation, rest_bone_lengths, to_bvh, write_bvh
from poselift.prior.model import PosePrior
from poselift.skeleton import H36M17


def conform(positions: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``positions`` with each bone's direction kept and its length set to ``lengths``."""
    out = np.empty_like(positions)
    out[:, 0] = positions[:, 0]
    for child, parent in H36M17.bones:  # parents come before children in H36M-17
        direction = positions[:, child] - positions[:, parent]
        out[:, child] = out[:, parent] + lengths[child] * direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    return out


@pytest.fixture(scope="module")
def prior_poses():
    """(40, 17, 3) mm poses drawn from the shipped prior, each turned to a random direction."""
    prior = PosePrior.default()
    poses = prior.to_millimetres(prior.sample(40, seed=3))
    turns = Rotation.random(40, random_state=4).as_matrix()
    return np.einsum("fij,fkj->fki", turns, poses)


def read_back(tmp_path, positions, root=None, name="motion.bvh"):
    path = tmp_path / name
    write_bvh(path, positions, root)
    motion = read_bvh(path)
    return path, motion.positions[:, [motion.names.index(n) for n in H36M17.joints]]


def test_positions_come_back_exactly_where_bones_match_the_rest_pose(tmp_path, prior_poses):
    poses = conform(prior_poses, rest_bone_lengths(prior_poses))
    _, back = read_back(tmp_path, poses)
    assert np.abs(back - poses).max() < 1e-3  # mm: the file keeps 6 decimals


def test_a_second_reader_nobody_here_wrote_agrees(tmp_path, prior_poses):
    bvhio = pytest.importorskip("bvhio")
    poses = conform(prior_poses, rest_bone_lengths(prior_poses))
    path, _ = read_back(tmp_path, poses)
    hierarchy = bvhio.readAsHierarchy(str(path))
    for frame in (0, 17, 39):
        hierarchy.loadPose(frame)
        seen = {joint.Name: np.array(joint.PositionWorld) for joint, _, _ in hierarchy.layout()}
        assert set(seen) >= set(BVH_JOINTS)
        assert max(np.linalg.norm(seen[n] - poses[frame, j]) for j, n in enumerate(H36M17.joints)) < 1e-2


def test_where_lengths_differ_each_bone_keeps_its_direction_and_its_rest_length(tmp_path, prior_poses):
    _, back = read_back(tmp_path, prior_poses)
    lengths = rest_bone_lengths(prior_poses)
    for child, parent in H36M17.bones:
        bone_in, bone_out = prior_poses[:, child] - prior_poses[:, parent], back[:, child] - back[:, parent]
        np.testing.assert_allclose(np.linalg.norm(bone_out, axis=-1), lengths[child], atol=1e-3)
        cosine = np.sum(bone_in * bone_out, -1) / np.linalg.norm(bone_in, axis=-1) / lengths[child]
        assert cosine.min() > 1 - 1e-9
    assert np.abs(back - prior_poses).max() > 1.0  # the lengths do differ: this is not the exact case


def test_the_root_goes_where_it_is_told(tmp_path, prior_poses):
    root = np.linspace([0, 0, -3000], [500, 100, -4000], len(prior_poses))
    poses = conform(prior_poses, rest_bone_lengths(prior_poses))
    _, back = read_back(tmp_path, poses - poses[:, :1], root)
    np.testing.assert_allclose(back[:, 0], root, atol=1e-5)
    np.testing.assert_allclose(back - back[:, :1], poses - poses[:, :1], atol=1e-3)


def test_mirrored_poses_come_back_mirrored(tmp_path, prior_poses):
    poses = conform(prior_poses, rest_bone_lengths(prior_poses))
    mirrored = poses[:, H36M17.mirror_index] * np.array([-1.0, 1.0, 1.0])
    _, back = read_back(tmp_path, mirrored)
    assert np.abs(back - mirrored).max() < 1e-3


def _arm_motion(elbow_degrees: np.ndarray, swing_degrees: np.ndarray) -> np.ndarray:
    """A standing mean pose whose left arm swings forward and up (0: hanging, 90: pointing
    straight ahead, 180: straight up) with the elbow bent by ``elbow_degrees`` (0 = straight),
    per frame, all in the arm's plane of swing."""
    prior = PosePrior.default()
    pose = prior.to_millimetres(prior.means[int(np.argmax(prior.weights))])
    frames = np.repeat(pose[None], len(elbow_degrees), axis=0)
    shoulder, elbow, wrist = (H36M17.index(n) for n in ("left_shoulder", "left_elbow", "left_wrist"))
    upper = np.linalg.norm(pose[elbow] - pose[shoulder])
    lower = np.linalg.norm(pose[wrist] - pose[elbow])
    swing, bend = np.radians(swing_degrees), np.radians(swing_degrees + elbow_degrees)
    frames[:, elbow] = frames[:, shoulder] + upper * np.stack([0 * swing, -np.cos(swing), np.sin(swing)], -1)
    frames[:, wrist] = frames[:, elbow] + lower * np.stack([0 * bend, -np.cos(bend), np.sin(bend)], -1)
    return frames


def _largest_step_deg(tmp_path, frames: np.ndarray) -> float:
    """The largest change of any joint's local rotation between consecutive frames, in degrees."""
    path = tmp_path / "arm.bvh"
    write_bvh(path, frames)
    rows = np.loadtxt(path.read_text().split("Frame Time:")[1].splitlines()[1:], ndmin=2)
    angles = rows[:, 3:].reshape(len(rows), -1, 3)
    rotations = Rotation.from_euler("ZXY", angles.reshape(-1, 3), degrees=True).as_matrix().reshape(
        len(rows), -1, 3, 3)
    step = np.einsum("fjik,fjil->fjkl", rotations[:-1], rotations[1:])
    return float(np.degrees(np.arccos(np.clip((np.trace(step, axis1=-2, axis2=-1) - 1) / 2, -1, 1))).max())


def test_a_limb_that_straightens_does_not_flip(tmp_path):
    """An elbow opening through straight (40 -> 0 -> -40 degrees in 1-degree steps): no joint's
    rotation jumps; a frame from the limb's own plane would turn by 180 degrees at straight."""
    elbow = np.arange(40.0, -41.0, -1.0)
    assert _largest_step_deg(tmp_path, _arm_motion(elbow, np.full(len(elbow), 20.0))) < 3.0


def test_an_arm_swinging_through_its_reference_direction_does_not_flip(tmp_path):
    """The straight arm swings from hanging down through pointing straight ahead (the chest's
    forward direction, the arm's twist reference, where the fallback takes over) to straight up:
    rotations change smoothly, as the positions do (1 degree a frame)."""
    swing = np.arange(0.0, 181.0, 1.0)
    assert _largest_step_deg(tmp_path, _arm_motion(np.zeros(len(swing)), swing)) < 5.0


def test_the_file_states_its_channels_and_units(prior_poses):
    text = to_bvh(prior_poses[:2])
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" in text
    assert text.count("CHANNELS 3 Zrotation Xrotation Yrotation") == len(BVH_JOINTS) - 1
    assert "Frames: 2" in text


@pytest.mark.parametrize("positions, message", [
    (np.zeros((17, 2)), "shape"),
    (np.zeros((3, 16, 3)), "shape"),
    (np.zeros((0, 17, 3)), "shape"),
    (np.full((17, 3), np.nan), "NaN"),
    (np.zeros((17, 3)), "zero length"),
])
def test_bad_poses_are_refused_with_a_reason(positions, message):
    with pytest.raises(ValueError, match=message):
        to_bvh(positions)


def test_bad_roots_and_frame_times_are_refused(prior_poses):
    with pytest.raises(ValueError, match="root"):
        to_bvh(prior_poses[:1], root_mm=[np.nan, 0, 0])
    with pytest.raises(ValueError, match="frame time"):
        to_bvh(prior_poses[:1], frame_time_s=0.0)


def test_human36m_poses_round_trip(tmp_path, data_dir):
    """Real mocap: S9's walking, in the view frame; its skeleton has fixed bone lengths, so the
    only error is the left/right averaging of the rest pose."""
    from poselift.datasets.h36m import load_poses_3d
    from poselift.geometry import world_to_prior

    poses = world_to_prior(load_poses_3d("S9", data_dir)["Walking"][::25].astype(np.float64))
    _, back = read_back(tmp_path, poses)
    assert np.abs(back - poses).max() < 1.0


def test_a_thigh_pointing_straight_up_still_round_trips(tmp_path):
    """The one singular direction of a swing (a bone against its rest direction in its
    parent's frame): a thigh along the spine. It is a half turn, and positions come back."""
    prior = PosePrior.default()
    pose = prior.to_millimetres(prior.means[int(np.argmax(prior.weights))])
    hip, knee, ankle, spine = (H36M17.index(n) for n in ("left_hip", "left_knee", "left_ankle", "spine"))
    up = (pose[spine] - pose[0]) / np.linalg.norm(pose[spine] - pose[0])
    pose[knee] = pose[hip] + np.linalg.norm(pose[knee] - pose[hip]) * up
    pose[ankle] = pose[knee] + np.linalg.norm(pose[ankle] - pose[knee]) * up
    poses = conform(pose[None], rest_bone_lengths(pose[None]))
    _, back = read_back(tmp_path, poses)
    assert np.abs(back - poses).max() < 1e-3


def test_the_smallest_rotation_between_opposite_directions_is_a_half_turn():
    start = np.array([[0.0, -1.0, 0.0], [0.6, 0.0, 0.8]])
    rotation = _smallest_rotation(start, -start)
    np.testing.assert_allclose(np.einsum("fij,fj->fi", rotation, start), -start, atol=1e-12)
    np.testing.assert_allclose(rotation @ np.swapaxes(rotation, -1, -2), np.broadcast_to(np.eye(3), (2, 3, 3)),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rotation), 1.0)
