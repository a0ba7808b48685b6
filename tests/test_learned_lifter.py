"""The learned lifter: trained from mocap alone through virtual cameras; invariances, training, files."""

from __future__ import annotations

import json
import pathlib
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poselift.cli import main
from poselift.lifting.learned import LearnedLifter
from poselift.nn.lifter_network import INPUT_INDEX, load_lifter_network
from poselift.skeleton import H36M17
from poselift.training.lifter import LifterSettings, corrupt, film, train_lifter

LIMBS = INPUT_INDEX.numpy()

TINY = LifterSettings(width=64, blocks=1, steps=300, steps_per_epoch=100, batch_size=256, learning_rate=3e-3)


@pytest.fixture(scope="module")
def trained(s1_poses, tmp_path_factory):
    """A tiny lifter trained for 300 steps on S1 (every 20th frame), its folder and its log."""
    out = tmp_path_factory.mktemp("lifter")
    _, log = train_lifter(s1_poses, TINY, out, validation_world=s1_poses[::7], data="S1 every 20th frame",
                          progress=False)
    return out, log


@pytest.fixture(scope="module")
def views(s1_poses):
    """(40, 17, 2) pixel points of S1 poses filmed by virtual cameras, with their view-frame truth (mm)."""
    generator = torch.Generator().manual_seed(5)
    points, view = film(torch.as_tensor(s1_poses[:40], dtype=torch.float32), TINY, generator)
    return points.double().numpy() * 1000.0 + 400.0, view.double().numpy()


def test_training_lowers_the_held_out_error(trained):
    _, log = trained
    assert [entry["step"] for entry in log] == [0, 100, 200, 300]
    assert log[-1]["validation_mpjpe_mm"] < 0.5 * log[0]["validation_mpjpe_mm"], log


def test_the_weights_file_loads_and_lifts_to_the_view_frame(trained, views):
    out, _ = trained
    lifted = LearnedLifter(out / "lifter.pt").lift(views[0])
    assert lifted.pose_3d.shape == (40, 17, 3) and np.allclose(lifted.pose_3d[:, 0], 0.0)
    height = lifted.pose_3d[:, H36M17.index("head_top"), 1] - lifted.pose_3d[:, H36M17.index("left_ankle"), 1]
    assert (height > 0).mean() > 0.9  # y up, as the truth: upright people


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift=st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000)), factor=st.floats(0.05, 20.0))
def test_shifting_or_scaling_the_input_does_not_move_the_answer(trained, views, shift, factor):
    lifter = LearnedLifter(trained[0] / "lifter.pt")
    points = views[0][:8]
    np.testing.assert_allclose(lifter.lift(points * factor + np.array(shift)).pose_3d, lifter.lift(points).pose_3d,
                               atol=0.05)  # float32 normalisation: measured below 0.01 mm


def test_a_mirrored_input_gives_the_mirrored_pose(trained, views):
    lifter = LearnedLifter(trained[0] / "lifter.pt")
    points = views[0][:8]
    mirrored = (points * [-1.0, 1.0])[:, H36M17.mirror_index]
    expected = (lifter.lift(points).pose_3d * [-1.0, 1.0, 1.0])[:, H36M17.mirror_index]
    np.testing.assert_allclose(lifter.lift(mirrored).pose_3d, expected, atol=1e-3)  # exact by construction


@settings(max_examples=30, deadline=None)
@given(centre=st.tuples(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5)))
def test_the_ray_rotation_turns_the_ray_onto_the_optical_axis_by_the_smallest_turn(centre):
    from poselift.nn.lifter_network import ray_rotation

    point = torch.tensor([centre], dtype=torch.float64)
    rotation = ray_rotation(point)[0]
    ray = torch.tensor([centre[0], -centre[1], -1.0], dtype=torch.float64)  # view frame: y up, looking along -z
    torch.testing.assert_close(rotation @ rotation.T, torch.eye(3, dtype=torch.float64))
    assert torch.linalg.det(rotation) == pytest.approx(1.0)
    torch.testing.assert_close(rotation @ (ray / ray.norm()), torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    across = torch.linalg.cross(ray, torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    torch.testing.assert_close(rotation @ across, across)  # a turn about the axis across both: the smallest


def test_the_camera_turns_a_ray_frame_answer_and_lowers_the_error_off_the_axis(s1_poses, tmp_path):
    wide = dict(off_axis_deg=(35.0, 30.0), steps=400)
    runs = {}
    for frame in ("ray", "camera"):
        train_lifter(s1_poses, replace(TINY, answer_frame=frame, **wide), tmp_path / frame, progress=False)
        runs[frame] = LearnedLifter(tmp_path / frame / "lifter.pt")
    generator = torch.Generator().manual_seed(9)
    points, truth = film(torch.as_tensor(s1_poses[1::3][:600], dtype=torch.float32), replace(TINY, **wide),
                         generator)
    focal, principal = 1000.0, np.array([640.0, 360.0])
    pixels, truth = points.double().numpy() * focal + principal, truth.double().numpy()

    def error(lifter, camera):
        return np.linalg.norm(lifter.lift(pixels, camera=camera).pose_3d - truth, axis=-1).mean()

    ray = runs["ray"]
    assert ray.answer_frame == "ray" and runs["camera"].answer_frame == "camera"
    centred = pixels - pixels[:, LIMBS].mean(axis=1, keepdims=True) + principal  # a person on the optical axis
    np.testing.assert_allclose(ray.lift(centred, camera=(focal, principal)).pose_3d, ray.lift(centred).pose_3d,
                               atol=1e-6)
    np.testing.assert_array_equal(runs["camera"].lift(pixels, camera=(focal, principal)).pose_3d,
                                  runs["camera"].lift(pixels).pose_3d)  # a camera-frame answer needs no turn
    with_camera, without = error(ray, (focal, principal)), error(ray, None)
    assert with_camera < without - 5.0, (with_camera, without)  # measured: 104.5 against 131.8 mm
    with pytest.raises(ValueError, match="camera must be a positive focal length and a principal point"):
        ray.lift(pixels[:2], camera=(0.0, principal))


def test_a_version_1_file_answers_in_the_cameras_frame(trained, tmp_path):
    state = torch.load(trained[0] / "lifter.pt", weights_only=True)
    settings_1 = {key: value for key, value in state["settings"].items() if key != "answer_frame"}
    lifter = LearnedLifter(_rewritten(trained[0] / "lifter.pt", tmp_path / "v1.pt", version=1, settings=settings_1))
    assert lifter.answer_frame == "camera"


def test_detector_errors_keep_six_joints_and_move_the_rest(views):
    generator = torch.Generator().manual_seed(0)
    points = torch.as_tensor(views[0][:, :12], dtype=torch.float32).repeat(50, 1, 1)
    noisy, visible = corrupt(points, LifterSettings(missing_rate=0.5), generator)
    assert visible.sum(dim=1).min() >= 6
    assert abs((1 - visible.mean()) - 0.5 * 6 / 12) < 0.03  # half of the six joints not kept anyway
    assert (noisy - points).abs().max() > 0


def test_hips_and_shoulders_are_placed_as_wide_as_drawn_about_their_middle(views):
    from poselift.nn.lifter_network import INPUT_JOINTS

    points = torch.as_tensor(views[0][:, :12], dtype=torch.float32)
    quiet = dict(noise=0.0, outlier_rate=0.0, swap_rate=0.0, missing_rate=0.0, ankle_lift=(0.0, 0.0))
    placed, _ = corrupt(points, LifterSettings(hip_width=(0.5, 0.5), shoulder_width=(1.5, 1.5), **quiet),
                        torch.Generator().manual_seed(0))
    for pair, factor in ((("left_hip", "right_hip"), 0.5), (("left_shoulder", "right_shoulder"), 1.5)):
        index = [INPUT_JOINTS.index(name) for name in pair]
        width = (placed[:, index[0]] - placed[:, index[1]]).norm(dim=-1)
        close = dict(rtol=1e-5, atol=1e-3)  # float32 at pixel coordinates near 1000
        torch.testing.assert_close(width, factor * (points[:, index[0]] - points[:, index[1]]).norm(dim=-1), **close)
        torch.testing.assert_close(placed[:, index].mean(dim=1), points[:, index].mean(dim=1), **close)
    others = [i for i, name in enumerate(INPUT_JOINTS) if "hip" not in name and "shoulder" not in name]
    torch.testing.assert_close(placed[:, others], points[:, others])
    with pytest.raises(ValueError, match="widths"):
        LifterSettings(hip_width=(0.0, 1.0)).check()


def test_ankles_are_placed_up_the_shank_as_far_as_drawn(views):
    from poselift.nn.lifter_network import INPUT_JOINTS

    points = torch.as_tensor(views[0][:, :12], dtype=torch.float32)
    quiet = dict(noise=0.0, outlier_rate=0.0, swap_rate=0.0, missing_rate=0.0, hip_width=(1.0, 1.0),
                 shoulder_width=(1.0, 1.0))
    placed, _ = corrupt(points, LifterSettings(ankle_lift=(0.25, 0.25), **quiet), torch.Generator().manual_seed(0))
    for side in ("left", "right"):
        ankle, knee = INPUT_JOINTS.index(f"{side}_ankle"), INPUT_JOINTS.index(f"{side}_knee")
        torch.testing.assert_close(placed[:, ankle], points[:, ankle] + 0.25 * (points[:, knee] - points[:, ankle]),
                                   rtol=1e-5, atol=1e-3)
    others = [i for i, name in enumerate(INPUT_JOINTS) if "ankle" not in name]
    torch.testing.assert_close(placed[:, others], points[:, others])
    unmoved, _ = corrupt(points, LifterSettings(ankle_lift=(0.0, 0.0), **quiet), torch.Generator().manual_seed(0))
    torch.testing.assert_close(unmoved, points)
    with pytest.raises(ValueError, match="ankle_lift"):
        LifterSettings(ankle_lift=(0.3, 0.1)).check()


def test_without_ankle_lift_the_random_draws_are_those_of_runs_before_it():
    """corrupt with the ankles where mocap has them draws exactly what it drew before the option
    existed (values printed by commit fff2658's code), so runs trained before it (G's, shipped
    before P's) are made again exactly with ``--ankle-lift 0 0``."""
    points = torch.linspace(-1.0, 1.0, 8 * 12 * 2).reshape(8, 12, 2)
    generator = torch.Generator().manual_seed(3)
    out, visible = corrupt(points, LifterSettings(ankle_lift=(0.0, 0.0)), generator)
    torch.testing.assert_close(out[0, :2], torch.tensor([[-0.998864, -0.982587], [-0.982387, -0.981776]]))
    torch.testing.assert_close(out[5, 11], torch.tensor([0.484272, 0.515195]))
    assert visible.sum() == 94 and torch.rand(1, generator=generator).item() == pytest.approx(0.517444, abs=1e-6)


def test_other_proportions_scale_each_bone_alike_on_both_sides_and_keep_its_direction(s1_poses):
    from poselift.training.lifter import reproportion

    poses = torch.as_tensor(s1_poses[:200], dtype=torch.float64)
    poses = poses - poses[:, :1]
    rebuilt = reproportion(poses, 0.1, torch.Generator().manual_seed(0))
    child, parent = H36M17.bones.T
    before, after = poses[:, child] - poses[:, parent], rebuilt[:, child] - rebuilt[:, parent]
    factor = after.norm(dim=-1) / before.norm(dim=-1)
    torch.testing.assert_close(after, factor[..., None] * before)  # only the lengths change
    assert 0.08 < factor.log().std() < 0.12 and abs(factor.log().mean()) < 0.02
    mirror = H36M17.mirror_index
    partner = [list(child).index(mirror[j]) for j in child]  # the bone of each joint's partner
    torch.testing.assert_close(factor, factor[:, partner])
    assert (rebuilt[:, 0] == 0).all()
    torch.testing.assert_close(reproportion(poses, 0.0, torch.Generator()), poses)
    for bone_scale in (0.0, 0.1):  # film rebuilds the bodies only when told to
        _, view = film(poses.float(), replace(TINY, bone_scale=bone_scale), torch.Generator().manual_seed(1))
        lengths = (view[:, child] - view[:, parent]).norm(dim=-1).sort(dim=1).values  # mirroring swaps sides
        change = (lengths - before.norm(dim=-1).float().sort(dim=1).values).abs().max()
        assert (change > 5.0) == (bone_scale > 0), change
    with pytest.raises(ValueError, match="bone_scale"):
        LifterSettings(bone_scale=1.0).check()


def test_settings_stored_before_proportions_and_ankles_existed_read_as_the_mocaps():
    from dataclasses import asdict

    stored = {name: value for name, value in asdict(LifterSettings()).items() if name not in ("bone_scale",
                                                                                              "ankle_lift")}
    assert LifterSettings.from_dict(stored).bone_scale == 0.0 and LifterSettings.from_dict(stored).ankle_lift == (0, 0)
    assert LifterSettings.from_dict(asdict(LifterSettings(bone_scale=0.2))).bone_scale == 0.2


@pytest.mark.parametrize("option, message", [(["--bone-scale", "-0.1"], "bone_scale must lie in [0, 1), got -0.1"),
                                             (["--ankle-lift", "0.3", "0.1"],
                                              "ankle_lift must be a range of fractions in [0, 1), got (0.3, 0.1)")])
def test_proportions_or_ankles_out_of_range_are_refused_before_any_work(tmp_path, capsys, option, message):
    assert main(["train-lifter", "--out", str(tmp_path / "run"), *option, "--quiet"]) == 1
    assert f"poselift: {message}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_few_visible_or_nan_limb_joints_are_refused_naming_the_pose(trained, views):
    lifter = LearnedLifter(trained[0] / "lifter.pt")
    weights = np.ones((3, 17))
    weights[2, [H36M17.index(n) for n in ("left_wrist", "right_wrist", "left_elbow", "right_elbow", "left_knee",
                                          "right_knee", "left_ankle")]] = 0.0
    with pytest.raises(ValueError, match=r"^pose 2: 5 joints have a non-zero weight; at least 6 are needed"):
        lifter.lift(views[0][:3], weights)
    points = views[0][:3].copy()
    points[1, H36M17.index("left_knee")] = np.nan
    with pytest.raises(ValueError, match="^pose 1: points hold NaN"):
        lifter.lift(points)


def _rewritten(source: pathlib.Path, target: pathlib.Path, **changes) -> pathlib.Path:
    state = torch.load(source, weights_only=True)
    torch.save({**state, **changes}, target)
    return target


@pytest.mark.parametrize("changes, message", [
    ({"input_joints": list(H36M17.joints[:12])}, "a lifter of other joints"),
    ({"version": 99}, "learned-lifter version 99, this poselift reads 1 to 2"),
    ({"format": "poselift.stages"}, "not a poselift learned-lifter file"),
    ({"settings": {"width": 7, "blocks": 1, "dropout": 0.1}}, "the weights do not fit the network"),
    ({"settings": {"width": 64, "blocks": 1, "dropout": 0.1, "answer_frame": "world"}}, "answer frame must be one of"),
])
def test_weights_of_another_kind_are_refused_clearly(trained, tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        load_lifter_network(_rewritten(trained[0] / "lifter.pt", tmp_path / "other.pt", **changes))


def test_corrupt_foreign_and_code_carrying_weights_are_refused(trained, tmp_path, capsys):
    corrupt_file = tmp_path / "corrupt.pt"
    corrupt_file.write_bytes((trained[0] / "lifter.pt").read_bytes()[:5000])
    marker = tmp_path / "pwned"

    class RunsCode:
        def __reduce__(self):
            return pathlib.Path.touch, (marker,)

    evil = _rewritten(trained[0] / "lifter.pt", tmp_path / "evil.pt", settings=RunsCode())
    for path in (corrupt_file, evil, tmp_path / "absent.pt"):
        points = tmp_path / "p.npy"
        np.save(points, np.random.default_rng(0).uniform(100, 400, (2, 17, 2)))
        assert main(["lift", str(points), "--format", "h36m", "--lifter", "learned", "--lifter-weights", str(path),
                     "--out", str(tmp_path / "o.json")]) == 1
        assert capsys.readouterr().err.startswith(f"poselift: {path}")
    assert not marker.exists() and not (tmp_path / "o.json").exists()


def test_lift_with_the_learned_lifter_writes_its_fitted_camera_not_the_priors_diagnostics(trained, views, tmp_path):
    points = tmp_path / "p.npy"
    np.save(points, views[0][:5])
    out = tmp_path / "o.json"
    assert main(["lift", str(points), "--format", "h36m", "--lifter", "learned", "--lifter-weights",
                 str(trained[0] / "lifter.pt"), "--out", str(out), "--quiet"]) == 0
    document = json.loads(out.read_text())
    assert document["lifter"] == "learned" and len(document["poses"]) == 5
    assert document["prior"] is None and document["lifter_weights"] == str(trained[0] / "lifter.pt")
    assert set(document["poses"][0]) == {"label", "lifted", "joints_3d_mm", "weights", "projected_2d_px",
                                         "scale_px_per_mm", "residual_px2", "root_camera_mm", "joints_camera_mm"}
    assert document["poses"][0]["root_camera_mm"] is None  # no camera given
    pose = document["poses"][0]
    error = np.asarray(pose["projected_2d_px"]) - views[0][0]
    assert np.isclose(np.sum(error**2), pose["residual_px2"], rtol=1e-3)


def test_resuming_gives_the_same_weights_as_an_uninterrupted_run(s1_poses, tmp_path):
    short = LifterSettings(**{**TINY.__dict__, "steps": 200})
    whole, _ = train_lifter(s1_poses, short, tmp_path / "whole", progress=False)
    train_lifter(s1_poses, LifterSettings(**{**TINY.__dict__, "steps": 100}), tmp_path / "parts", progress=False)
    resumed, log = train_lifter(s1_poses, short, tmp_path / "parts", resume=True, progress=False)
    assert [entry["step"] for entry in log] == [100, 200]
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_a_mocap_folder_with_nothing_readable_is_refused(tmp_path, capsys):
    folder = tmp_path / "mocap"
    folder.mkdir()
    (folder / "notes.txt").write_text("no clips here")
    assert main(["train-lifter", "--out", str(tmp_path / "run"), "--subjects", "--mocap", str(folder),
                 "--quiet"]) == 1
    assert "no .bvh or .amc files found" in capsys.readouterr().err


SHIPPED_SUBSET_MPJPE_MM = 52.34
"""docs/learned-lifter.md: the shipped lifter on the first 1000 of S9's every-5th frames (sequences in
name order), camera 54138969 (its focal length and principal point given), ground-truth 2D, MPJPE over
17 joints after aligning the pelvis."""


@pytest.mark.slow
def test_the_shipped_weights_reproduce_the_documented_s9_figure(data_dir):
    from poselift.datasets import h36m
    from poselift.evaluation.metrics import mpjpe
    from poselift.nn.lifter_network import SHIPPED_LIFTER_PATH

    assert SHIPPED_LIFTER_PATH.stat().st_size < 10 * 2**20
    camera = h36m.load_cameras(data_dir)["S9"][0]
    poses = h36m.load_poses_3d("S9", data_dir)
    world = np.concatenate([poses[name][::5] for name in sorted(poses)])[:1000].astype(np.float64)
    lifted = LearnedLifter().lift(camera.project(world), camera=(camera.focal_px, camera.principal))
    predicted = lifted.pose_3d * np.array([1.0, -1.0, -1.0])  # OpenCV axes
    error = float(mpjpe(predicted, camera.world_to_camera(world)).mean())
    assert abs(error - SHIPPED_SUBSET_MPJPE_MM) < 0.5, error


@pytest.mark.slow
def test_train_lifter_from_the_command_line_writes_weights_that_lift(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train-lifter", "--out", str(out), "--subjects", "S1", "--validation", "--step", "50", "--steps",
                 "30", "--batch-size", "64", "--width", "32", "--roll-deg", "5", "--off-axis-deg", "25", "18",
                 "--answer-frame", "camera", "--quiet"]) == 0
    assert "step 30: training MPJPE" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"checkpoint.pt", "log.jsonl", "lifter.pt"}
    state = torch.load(out / "lifter.pt", weights_only=True)
    assert state["training"]["width"] == 32 and "Human3.6M S1, every 50 frame(s)" in state["data"]
    assert state["training"]["roll_deg"] == 5.0 and tuple(state["training"]["off_axis_deg"]) == (25.0, 18.0)
    assert state["settings"]["answer_frame"] == state["training"]["answer_frame"] == "camera"
    points = np.random.default_rng(0).uniform(0, 500, (17, 2))
    assert LearnedLifter(out / "lifter.pt").lift(points).pose_3d.shape == (17, 3)


@pytest.mark.slow
def test_fine_tuning_on_paired_detections_lowers_their_error(data_dir, trained, tmp_path):
    """A few steps on S1's own SH detections paired with its 3D: their error falls from where the tiny
    mocap-only lifter starts."""
    from poselift.training.lifter import paired_views

    pairs = paired_views("sh", ["S1"], data_dir, step=50)
    assert pairs.points.shape[1:] == (12, 2) and pairs.view.shape[1:] == (17, 3) and len(pairs.points) > 1000
    assert pairs.centre.shape == (len(pairs.points), 2) and np.abs(pairs.centre).max() < 0.6  # in the picture: 0.44
    start = load_lifter_network(trained[0] / "lifter.pt")
    tuned, log = train_lifter(None, LifterSettings(**{**TINY.__dict__, "steps": 200, "learning_rate": 1e-3}),
                              tmp_path / "tuned", pairs=pairs, init=start, progress=False)
    assert log[0]["train_mpjpe_mm"] > log[-1]["train_mpjpe_mm"]
    assert tuned.settings["width"] == start.settings["width"] and tuned.settings["answer_frame"] == "ray"


def test_the_test_subjects_are_never_fine_tuned_on():
    from poselift.training.lifter import paired_views

    with pytest.raises(ValueError, match="S9: the test subjects are never trained on"):
        paired_views("sh", ["S1", "S9"])


def test_ground_truth_2d_is_no_detector_to_fine_tune_on():
    from poselift.training.lifter import paired_views

    with pytest.raises(ValueError, match="fine-tuning pairs 3D with a detector's 2D"):
        paired_views("gt", ["S1"])


@pytest.mark.parametrize("option", [["--roll-deg", "-1"], ["--off-axis-deg", "10", "90"]])
def test_virtual_cameras_out_of_range_are_refused(tmp_path, capsys, option):
    assert main(["train-lifter", "--out", str(tmp_path / "run"), *option, "--quiet"]) == 1
    assert "need a roll of 0 to 90 degrees and off-axis angles of 0 to 80" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_an_unknown_answer_frame_is_refused_before_any_work(tmp_path, capsys):
    assert main(["train-lifter", "--out", str(tmp_path / "run"), "--answer-frame", "world", "--quiet"]) == 1
    assert "poselift: answer frame must be one of camera, ray, got 'world'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_fine_tuning_needs_subjects_with_3d(tmp_path, capsys):
    assert main(["train-lifter", "--out", str(tmp_path / "run"), "--subjects", "--detections", "sh", "--quiet"]) == 1
    assert "--detections needs --subjects with 3D" in capsys.readouterr().err
