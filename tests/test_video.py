"""Video: smoothing properties, reading faults, the command on videos (bad ones too), tracking on real clips."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from poselift.cli import main
from poselift.evaluation.metrics import acceleration_error, mpjpe
from poselift.video.output import read_video_result
from poselift.video.reading import VideoError, open_frame_folder, open_video
from poselift.video.smoothing import SMOOTHINGS, Smoothing, TrackSmoother, smooth_sequence

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.png"


def _moving_truth(frames: int, fps: float = 50.0) -> np.ndarray:
    """(frames, 17, 3) mm: joints swinging at walking frequencies, root at the origin."""
    t = np.arange(frames)[:, None] / fps
    phase = np.arange(17)[None, :]
    truth = np.stack([300 * np.sin(2 * np.pi * 0.9 * t + phase), 200 * np.cos(2 * np.pi * 1.3 * t + phase),
                      150 * np.sin(2 * np.pi * 0.5 * t + 2 * phase)], axis=-1)
    return truth - truth[:, :1]


def test_acceleration_error_is_zero_for_steady_motion_and_counts_second_differences():
    truth = np.zeros((5, 17, 3))
    steady = truth + np.arange(5)[:, None, None] * np.array([3.0, -1.0, 2.0])  # every joint, root too
    np.testing.assert_allclose(acceleration_error(steady, truth), 0.0, atol=1e-12)
    bumped = truth.copy()
    bumped[2, 3, 0] = 1.0
    np.testing.assert_allclose(acceleration_error(bumped, truth), np.array([1.0, 2.0, 1.0]) / 17)


@pytest.mark.parametrize("mode", ["causal", "offline"])
def test_smoothing_lowers_acceleration_and_position_error_on_noisy_known_truth(mode, rng):
    truth = _moving_truth(600)
    noisy = truth + rng.normal(0, 30, truth.shape)
    noisy -= noisy[:, :1]
    smoothed = smooth_sequence(noisy, SMOOTHINGS[mode], 50.0)
    assert acceleration_error(smoothed, truth).mean() < 0.4 * acceleration_error(noisy, truth).mean()
    assert mpjpe(smoothed, truth).mean() < mpjpe(noisy, truth).mean()


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(1, 99), seed=st.integers(0, 2**16))
def test_a_causal_frame_does_not_change_when_a_later_frame_does(cut, seed):
    rng = np.random.default_rng(seed)
    poses = rng.normal(0, 100, (100, 17, 3))
    changed = poses.copy()
    changed[cut:] += rng.normal(0, 500, changed[cut:].shape)
    first, second = (smooth_sequence(p, SMOOTHINGS["causal"], 30.0) for p in (poses, changed))
    np.testing.assert_array_equal(first[:cut], second[:cut])
    assert not np.allclose(first[cut:], second[cut:])


def test_offline_smoothing_in_blocks_matches_the_whole_sequence_smoother(rng):
    truth = _moving_truth(1000)
    noisy = truth + rng.normal(0, 30, truth.shape)
    blocks = smooth_sequence(noisy, SMOOTHINGS["offline"], 50.0)
    whole = smooth_sequence(noisy, SMOOTHINGS["offline"], 50.0, lag_s=np.inf)
    assert np.abs(blocks - whole).max() < 0.05  # mm


def test_a_stream_of_several_tracks_comes_back_in_order_each_track_smoothed_on_its_own(rng):
    from poselift.video.smoothing import FrameSmoother

    first, second = (_moving_truth(300, fps=30.0) + rng.normal(0, 30, (300, 17, 3)) for _ in range(2))
    # track 1 in frames 0-199, track 2 in frames 50-299
    present = {1: range(0, 200), 2: range(50, 300)}
    smoother, out = FrameSmoother(SMOOTHINGS["offline"], fps=30.0), []
    for t in range(300):
        poses = {track: ((first if track == 1 else second)[t], None) for track, frames in present.items()
                 if t in frames}
        out += smoother.push(t, poses, payload=t)
    out += smoother.finish()
    assert [index for index, _, _ in out] == list(range(300)) and all(index == p for index, p, _ in out)
    alone = {1: smooth_sequence(first[:200], SMOOTHINGS["offline"], 30.0),
             2: smooth_sequence(second[50:], SMOOTHINGS["offline"], 30.0)}
    for index, _, smoothed in out:
        assert set(smoothed) == {track for track, frames in present.items() if index in frames}
        for track, pose in smoothed.items():
            np.testing.assert_allclose(pose, alone[track][index - present[track].start], atol=1e-9)


@pytest.mark.parametrize("mode", ["causal", "offline"])
@pytest.mark.parametrize("unplaced", [(0, 1), (30, 31), tuple(range(20, 35))])
def test_a_root_the_2d_cannot_fix_is_no_reading_for_the_smoother(rng, mode, unplaced):
    """Frames whose 2D fixes no root (at a track's start, a pair, a long gap) write none and do not
    pull the path: every other frame's root is as right as with no such frame."""
    from poselift.camera_space import Camera, view_to_camera_axes
    from poselift.video.placement import TrackRoots
    from poselift.video.smoothing import FrameSmoother

    camera, pose, ones = Camera(500.0, (320.0, 240.0), "given"), rng.normal(0, 300, (17, 3)), np.ones(17)
    pose -= pose[0]
    truths = np.array([[10.0 * t, 0.0, 3000.0] for t in range(60)])  # walking sideways at 0.5 m/s
    roots = TrackRoots(camera)

    def errors(unplaced: tuple[int, ...]) -> dict[int, float]:
        smoother, ready = FrameSmoother(SMOOTHINGS[mode], 50.0), []
        for t, truth in enumerate(truths):
            joints = truth + view_to_camera_axes(pose)
            points = joints[:, :2] / joints[:, 2:] * 500 + [320, 240]
            stacked, trust, placed = roots.stacked(pose, points, np.zeros(17) if t in unplaced else ones * 0.8, ones)
            assert placed == (t not in unplaced) and trust[-1] == pytest.approx(0.8 if placed else 1.0)
            assert np.allclose(stacked[-1], truth) if placed else np.isnan(stacked[-1]).all()
            ready += smoother.push(t, {1: (stacked, trust)}, placed)
        out = {}
        for t, placed, smoothed in ready + smoother.finish():
            back, root = roots.split(smoothed[1], placed)
            assert np.allclose(back, pose, atol=1e-6) and (root is None) == (t in unplaced)
            if root is not None:
                out[t] = float(np.linalg.norm(root - truths[t]))
        return out

    with_gap, without = errors(unplaced), errors(())
    assert sorted(with_gap) == [t for t in range(60) if t not in unplaced]
    assert max(with_gap.values()) <= max(without.values()) + 0.5  # the filter's own lag, no more
    without_camera, trust, placed = TrackRoots(None).stacked(pose, truths[:17, :2], ones, ones)
    assert without_camera is pose and trust is ones and placed is False


def test_offline_smoothing_hands_frames_out_in_order_with_a_bounded_wait():
    smoother = TrackSmoother(SMOOTHINGS["offline"], fps=30.0)
    handed, most_waiting = [], 0
    for t in range(200):
        handed += [key for key, _ in smoother.push(t, np.full((17, 3), float(t)))]
        most_waiting = max(most_waiting, t + 1 - len(handed))
    handed += [key for key, _ in smoother.finish()]
    assert handed == list(range(200)) and most_waiting <= 2 * smoother.lag


def test_a_low_weight_joint_follows_its_noisy_measurements_less(rng):
    truth = _moving_truth(300)
    noisy = truth + rng.normal(0, 30, truth.shape)
    weights = np.ones((300, 17))
    weights[:, 5] = 0.1
    smoothed = smooth_sequence(noisy, SMOOTHINGS["causal"], 50.0, weights)
    plain = smooth_sequence(noisy, SMOOTHINGS["causal"], 50.0)
    jitter = [np.linalg.norm(np.diff(s[:, 5] - truth[:, 5], n=2, axis=0), axis=-1).mean() for s in (smoothed, plain)]
    assert jitter[0] < 0.7 * jitter[1]


@pytest.mark.parametrize("bad", [dict(mode="gentle"), dict(mode="causal", acceleration=-1.0),
                                 dict(mode="offline", measurement=float("nan"))])
def test_bad_smoothing_settings_are_refused(bad):
    with pytest.raises(ValueError, match="smoothing"):
        Smoothing(**bad)


# Videos made here -----------------------------------------------------------------------------------------------


def _write_video(path: Path, frames: int, person: bool = True, fourcc: str = "MJPG", size: int = 320) -> Path:
    """A clip of the bundled astronaut photo drifting a pixel a frame (or a grey field without anyone)."""
    still = cv2.resize(cv2.imread(str(EXAMPLE)), (size, size), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (size, size))
    for index in range(frames):
        frame = np.roll(still, index % 20, axis=1) if person else np.full((size, size, 3), 90, np.uint8)
        writer.write(frame)
    writer.release()
    return path


def _truncated(tmp_path: Path, frames: int = 40) -> Path:
    whole = _write_video(tmp_path / "whole.avi", frames).read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole[:len(whole) * 6 // 10])
    return cut


def test_a_truncated_video_yields_its_frames_then_says_it_was_cut(tmp_path):
    video = open_video(_truncated(tmp_path))
    read = []
    with pytest.raises(VideoError, match="ends after .* of its 40 frames") as caught:
        for index, frame in video:
            read.append(index)
            assert frame.shape == (320, 320, 3) and frame.dtype == np.uint8
    assert read == list(range(len(read))) and 5 < len(read) < 40 and caught.value.frames_read == len(read)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    with pytest.raises(VideoError, match="not a readable video"):
        open_video(fake)


def test_a_video_without_frames_is_refused(tmp_path):
    empty = _write_video(tmp_path / "empty.avi", 0)
    with pytest.raises(VideoError, match="no frames"):
        open_video(empty)


def test_a_codec_ffmpeg_cannot_decode_is_named(tmp_path):
    with pytest.raises(VideoError, match="codec 'QQQQ'"):
        open_video(_strange_codec(tmp_path))


def test_a_frame_folder_plays_in_the_order_of_its_numbers(tmp_path):
    for number in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame_{number}.png"), np.full((8, 6, 3), number, np.uint8))
    video = open_frame_folder(tmp_path, fps=12.0)
    assert (video.info.width, video.info.height, video.info.fps, video.info.frames) == (6, 8, 12.0, 3)
    assert [int(frame[0, 0, 0]) for _, frame in video] == [1, 2, 10]


def test_a_frame_folder_with_a_frame_of_another_size_stops_there(tmp_path):
    cv2.imwrite(str(tmp_path / "1.png"), np.zeros((8, 6, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "2.png"), np.zeros((9, 6, 3), np.uint8))
    with pytest.raises(VideoError, match="folder's frames are 6x8"):
        list(open_frame_folder(tmp_path))


# The command on videos -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_estimate_on_a_video_writes_a_line_per_frame_a_rendered_mp4_and_a_bvh_of_as_many_frames(tmp_path, capsys):
    from poselift.datasets.bvh import read_bvh
    from poselift.skeleton import H36M17

    video = _write_video(tmp_path / "clip.avi", 30)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / ".clip_render.mp4.k1ll3d.tmp.mp4").write_bytes(b"left by a killed run")
    status = main(["estimate", str(video), "--out", str(tmp_path / "out"), "--render", "--bvh", "--quiet",
                   "--smoothing", "causal"])
    assert status == 0, capsys.readouterr().err
    header, frames, end = read_video_result(tmp_path / "out" / "clip.jsonl")
    assert header["video"]["frames"] == 30 and header["smoothing"]["mode"] == "causal"
    assert [f["frame"] for f in frames] == list(range(30)) and end["status"] == "complete"
    assert all(len(f["people"]) == 1 and f["people"][0]["track"] == 1 for f in frames)
    person = frames[10]["people"][0]
    assert np.array(person["joints_3d_mm"]).shape == (17, 3) and np.all(np.isfinite(person["joints_2d"]))
    rendered = cv2.VideoCapture(str(tmp_path / "out" / "clip_render.mp4"))
    assert int(rendered.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    motion = read_bvh(tmp_path / "out" / "clip_track1.bvh")
    assert motion.positions.shape[0] == 30 and motion.frame_time == pytest.approx(1 / 25.0)
    back = motion.positions[:, [motion.names.index(n) for n in H36M17.joints]]
    smoothed = np.array([f["people"][0]["joints_3d_mm"] for f in frames])
    for child, parent in H36M17.bones:  # each bone keeps its direction (its length is the rest pose's)
        a, b = (x[:, child] - x[:, parent] for x in (back, smoothed))
        cosine = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        assert cosine.min() > 0.999
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    assert header["camera"] is None and frames[10]["people"][0]["joints_camera_mm"] is None


@pytest.mark.parametrize("width", ["Infinity", "1e999", "10" * 400, "-320", '"wide"', "null"])
def test_a_video_header_whose_size_is_damaged_is_redone_only_where_a_camera_needs_the_size(tmp_path, width):
    from poselift.camera_space import PhotoCameras
    from poselift.video.job import VideoOptions, VideoOutputs, finished_video

    video = tmp_path / "clip.avi"
    outputs = VideoOutputs(tmp_path / "clip.jsonl", tmp_path / "clip_render.mp4")
    options = VideoOptions()
    header = json.dumps({"video": {"path": str(video), "width": 0, "height": 320}, "settings": {},
                         "smoothing": options.smoothing.describe(), "tracking": options.tracking(), "camera": None})
    outputs.jsonl.write_text(header.replace('"width": 0', f'"width": {width}')
                             + '\n{"end": {"status": "complete", "tracks": 1}}\n')
    assert finished_video(outputs, video, {}, options) == 1  # no camera: the size is not read
    assert finished_video(outputs, video, {}, VideoOptions(cameras=PhotoCameras(fov_deg=60.0))) is None


@pytest.mark.slow
def test_a_video_with_a_known_camera_is_turned_into_its_view_and_placed_in_camera_space(tmp_path, capsys, estimator):
    """The same frames lifted without and with a camera (60 degrees across 320 px): each pose turned
    by the ray to the person (ray_turn of its 2D), the smoothed pose placed in camera space; a rerun
    with the same camera is skipped, one with another camera or none redone; the Python API alike."""
    from poselift.camera_space import Camera, focal_from_fov, ray_turn

    video = _write_video(tmp_path / "clip.avi", 8)
    out = tmp_path / "out" / "clip.jsonl"

    def run(*camera: str) -> tuple[dict, list[dict], str]:  # unsmoothed: each root placed on its frame's 2D
        assert main(["estimate", str(video), "--out", str(tmp_path / "out"), "--quiet", "--smoothing", "none",
                     *camera]) == 0
        header, frames, _ = read_video_result(out)
        return header, [f["people"][0] for f in frames], capsys.readouterr().out

    _, plain, _ = run()
    header, turned, _ = run("--fov", "60")
    camera = Camera.centred(focal_from_fov(60.0, 320), 320, 320, "fov")
    assert header["camera"] == camera.describe()
    for without, with_camera in zip(plain, turned):
        assert with_camera["joints_2d"] == without["joints_2d"] and without["joints_camera_mm"] is None
        turn = ray_turn(np.array(with_camera["joints_2d"]), np.array(with_camera["confidence"]), camera)
        assert np.degrees(np.arccos((np.trace(turn) - 1) / 2)) > 2  # the person stands off the axis
        assert np.allclose(np.array(without["joints_3d_frame_mm"]) @ turn, with_camera["joints_3d_frame_mm"],
                           atol=0.2)
        joints, root = np.array(with_camera["joints_camera_mm"]), np.array(with_camera["root_camera_mm"])
        assert root[2] > 0 and np.allclose(joints - root, np.array(with_camera["joints_3d_mm"]) * [1, -1, -1],
                                           atol=0.2)  # the pose, in OpenCV axes
        projected = joints[:, :2] / joints[:, 2:] * camera.focal_px + 160.0  # the pose stands on its 2D
        assert np.linalg.norm(projected.mean(axis=0) - np.mean(with_camera["joints_2d"], axis=0)) < 10
    first = next(iter(estimator.estimate_video(video, smoothing="none", camera=camera))).people[0]
    assert np.allclose(first.pose_3d, turned[0]["joints_3d_frame_mm"], atol=0.1)
    placed = np.array([p["root_camera_mm"] for p in turned])  # each frame's own
    smoothed = np.array([f.people[0].root_mm for f in estimator.estimate_video(video, smoothing="offline",
                                                                               camera=camera)])
    assert np.abs(smoothed - placed).max() < 0.2 * placed[:, 2].min()  # the same path, steadier
    assert np.abs(np.diff(smoothed, n=2, axis=0)).mean() < 0.5 * np.abs(np.diff(placed, n=2, axis=0)).mean()
    assert "skipping" in run("--fov", "60")[2]  # the same camera: complete, not redone
    assert run("--fov", "70")[0]["camera"]["focal_px"] < camera.focal_px  # another camera: redone
    run()  # none: redone
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    del header["camera"]  # as a file written before the camera fields
    out.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert "skipping" in run()[2]


@pytest.mark.slow
def test_a_truncated_video_keeps_the_frames_before_the_cut_and_exits_1(tmp_path, capsys):
    status = main(["estimate", str(_truncated(tmp_path)), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and "ends after" in err and "kept the" in err and "Traceback" not in err
    _, frames, end = read_video_result(tmp_path / "out" / "cut.jsonl")
    assert end["status"] == "failed" and "ends after" in end["error"]
    assert 5 < len(frames) < 40 and all(f["people"] for f in frames)  # offline-smoothed, every frame kept


def _strange_codec(folder: Path) -> Path:
    data = _write_video(folder / "clip.avi", 5).read_bytes().replace(b"MJPG", b"QQQQ")
    (folder / "clip.avi").unlink()
    (folder / "strange.avi").write_bytes(data)
    return folder / "strange.avi"


@pytest.mark.parametrize("make, message", [
    (lambda folder: _write_video(folder / "empty.avi", 0), "no frames"),
    (lambda folder: (folder / "text.mp4").write_text("hello") and folder / "text.mp4", "not a readable video"),
    (_strange_codec, "codec 'QQQQ'"),
])
def test_a_video_that_cannot_be_read_exits_1_and_writes_nothing(tmp_path, capsys, make, message):
    path = make(tmp_path)
    assert main(["estimate", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert message in capsys.readouterr().err
    assert not list((tmp_path / "out").iterdir())


@pytest.mark.slow
def test_a_video_with_nobody_says_so_in_its_outputs_and_exits_1(tmp_path, capsys):
    video = _write_video(tmp_path / "empty_field.avi", 12, person=False)
    assert main(["estimate", str(video), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    assert "nobody found" in capsys.readouterr().err
    _, frames, end = read_video_result(tmp_path / "out" / "empty_field.jsonl")
    assert len(frames) == 12 and not any(f["people"] for f in frames) and end == {
        "status": "complete", "frames": 12, "tracks": 0, "detector_runs": 12, "error": None}


@pytest.mark.slow
def test_a_folder_of_photos_and_videos_gets_each_its_outputs(tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "astronaut.png")
    _write_video(folder / "astronaut.avi", 8)
    assert main(["estimate", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 0, capsys.readouterr().err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["astronaut.json", "astronaut.jsonl", "astronaut.png"]
    assert len(read_video_result(tmp_path / "out" / "astronaut.jsonl")[1]) == 8


@pytest.mark.slow
def test_the_estimator_takes_a_video_file_and_follows_its_person(tmp_path, estimator):
    frames = list(estimator.estimate_video(_write_video(tmp_path / "clip.avi", 12), smoothing="offline"))
    assert [f.index for f in frames] == list(range(12)) and frames[5].time_s == pytest.approx(5 / 25.0)
    assert all([p.track for p in f.people] == [1] for f in frames)
    assert frames[5].people[0].pose_3d.shape == (17, 3)
    with pytest.raises(ValueError, match="smoothing must be one of"):
        estimator.estimate_video(tmp_path / "clip.avi", smoothing="gentle")


@pytest.mark.slow
def test_frames_folders_run_as_videos(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    still = cv2.resize(cv2.imread(str(EXAMPLE)), (320, 320))
    for index in range(6):
        cv2.imwrite(str(frames / f"{index + 1:04d}.jpg"), np.roll(still, index, axis=1))
    assert main(["estimate", str(frames), "--frames", "--fps", "25", "--out", str(tmp_path / "out"),
                 "--quiet"]) == 0, capsys.readouterr().err
    header, lines, end = read_video_result(tmp_path / "out" / "frames.jsonl")
    assert header["video"]["fps"] == 25.0 and len(lines) == 6 and end["tracks"] == 1
    assert main(["estimate", str(EXAMPLE), "--frames", "--out", str(tmp_path / "out2")]) == 1
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_video_leaves_every_written_frame_valid_and_no_partial_file(tmp_path, signum, status):
    video = _write_video(tmp_path / "long.avi", 2000, size=256)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "poselift.cli", "estimate", str(video), "--out", str(out),
                            "--render", "--smoothing", "causal", "--quiet"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    jsonl = out / "long.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (jsonl.exists() and jsonl.read_text().count("\n") > 40):
        time.sleep(0.2)
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == status and "Traceback" not in stderr
    assert stderr.strip().endswith("interrupted" if signum == signal.SIGINT else "terminated")
    lines = jsonl.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # every line whole
    _, frames, end = read_video_result(jsonl)
    assert end["status"] == "interrupted" and end["frames"] == len(frames) >= 40
    assert [f["frame"] for f in frames] == list(range(len(frames)))
    assert sorted(p.name for p in out.iterdir()) == ["long.jsonl", "long_render.mp4"]  # no temporary file
    rendered = cv2.VideoCapture(str(out / "long_render.mp4"))
    assert int(rendered.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)


def test_a_line_cut_short_by_a_killed_process_is_dropped_on_reading(tmp_path):
    path = tmp_path / "killed.jsonl"
    header = {"format": "poselift.video", "version": 1}
    path.write_text(json.dumps(header) + "\n" + json.dumps({"frame": 0, "people": []}) + "\n" + '{"frame": 1, "peo')
    assert read_video_result(path) == (header, [{"frame": 0, "people": []}], None)
    path.write_text(json.dumps(header) + "\n{bad\n" + json.dumps({"frame": 0, "people": []}) + "\n")
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_video_result(path)


# Tracking on the real clips ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(data_dir):
    folder = data_dir / "videos"
    if not (folder / "phalp_running.mp4").is_file():
        pytest.skip("the video clips are not in the shared data")
    return folder


@pytest.mark.slow
def test_on_one_runner_the_detector_runs_far_less_than_once_per_frame(clips, estimator):
    from poselift.video.pipeline import estimate_video
    from poselift.video.tracking import Tracker

    tracker = Tracker(estimator.blazepose)
    calls = 0
    detect = estimator.blazepose.detect

    def counted(*args, **kwargs):
        nonlocal calls
        calls += 1
        return detect(*args, **kwargs)

    estimator.blazepose.detect = counted
    try:
        frames = list(estimate_video(estimator, _frames_between(open_video(clips / "phalp_running.mp4"), 0, 90),
                                     SMOOTHINGS["causal"], tracker=tracker))
    finally:
        del estimator.blazepose.detect
    assert len(frames) == 90 and {p.track for f in frames for p in f.people} == {1}
    assert tracker.detector_runs <= 4 and calls < len(frames) / 4  # frames 0, 30 and 60 (5 windows each)


@pytest.mark.slow
def test_two_people_keep_their_ids_while_both_are_tracked_on_a_real_clip(clips, estimator):
    from poselift.video.pipeline import estimate_video

    # frames 60-129 of sports2d_demo: a man jumping on a utility box, a woman walking past below
    video = _frames_between(open_video(clips / "sports2d_demo.mp4"), 60, 130)
    frames = list(estimate_video(estimator, video, SMOOTHINGS["causal"]))
    assert len(frames) == 70
    both = [f for f in frames if len(f.people) == 2]
    assert len(both) >= 60

    def height(tracked) -> float:
        return tracked.person.joints_2d[:, 1].mean()

    # (the id of the person higher in the frame, on the box; the id of the one below): one pair throughout
    pairs = {(min(f.people, key=height).track, max(f.people, key=height).track) for f in both}
    assert len(pairs) == 1 and len(set(pairs.pop())) == 2


def _frames_between(video, start: int, stop: int):
    """Frames ``start`` to ``stop - 1`` of a video, numbered from 0."""
    from poselift.video.reading import Video

    def frames():
        for index, frame in video:
            if index == stop:
                return
            if index >= start:
                yield index - start, frame

    return Video(video.info, frames())


# Temporal smoothing measured on Human3.6M -----------------------------------------------------------------------


def test_the_h36m_evaluation_measures_each_smoothing_on_the_same_frames(data_dir):
    from poselift.evaluation.h36m import evaluate_h36m
    from poselift.prior.model import PosePrior

    modes = ("none", "offline")
    results = evaluate_h36m(PosePrior.default(), 1, "gt", ("S9",), data_dir=data_dir, lifter="learned",
                            frame_step=100, smoothing=tuple(SMOOTHINGS[m] for m in modes))
    assert [r["smoothing"]["mode"] for r in results] == list(modes)
    assert results[0]["frames"] == results[1]["frames"] and results[0]["per_action"] != results[1]["per_action"]
    assert all("accel_error" not in r["average_over_frames"] for r in results)  # only over consecutive frames
    with pytest.raises(ValueError, match="take no smoothing"):
        evaluate_h36m(PosePrior.default(), 1, "gt", ("S9",), data_dir=data_dir, lifter="prior", frame_step=100,
                      hypotheses=2, smoothing=SMOOTHINGS["causal"])


# Keypoint sequences (poselift lift --sequence) -----------------------------------------------------------------


def _walking_2d(frames: int, seed: int = 0, shift: float = 0.0) -> np.ndarray:
    """(frames, 17, 2) pixels: the shipped prior's poses blended smoothly into one another, seen side-on."""
    from poselift.prior.model import PosePrior

    prior = PosePrior.default()
    keys = prior.to_millimetres(prior.sample(4, seed=seed))
    t = np.linspace(0, 3, frames)
    weights = np.clip(1 - np.abs(t[:, None] - np.arange(4)[None]), 0, 1)
    poses = np.einsum("tk,kjc->tjc", weights, keys)
    return np.stack([poses[..., 0], -poses[..., 1]], axis=-1) * 0.25 + [320.0 + shift, 240.0]


def _openpose_folder(folder: Path, people: list[np.ndarray], swap: bool = True) -> Path:
    """One OpenPose BODY_25 JSON per frame holding ``people`` ((frames, 17, 2) each), listed in
    swapped order every other frame."""
    from poselift.skeleton import H36M17, OPENPOSE25

    folder.mkdir()
    h36m = {name: i for i, name in enumerate(H36M17.joints)}
    for t in range(len(people[0])):
        listed = []
        for pose in people:
            keypoints = np.zeros((25, 3))
            for j, name in enumerate(OPENPOSE25.joints):
                if name in h36m:
                    keypoints[j] = (*pose[t, h36m[name]], 0.9)
            listed.append({"pose_keypoints_2d": keypoints.ravel().tolist()})
        if swap and t % 2:
            listed.reverse()
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": listed}))
    return folder


@pytest.mark.slow
def test_an_array_sequence_is_lifted_one_track_and_smoothing_steadies_it(tmp_path, rng):
    points = _walking_2d(150) + rng.normal(0, 2.0, (150, 17, 2))
    np.save(tmp_path / "seq.npy", points)
    assert main(["lift", str(tmp_path / "seq.npy"), "--format", "h36m", "--sequence", "--fps", "50",
                 "--out", str(tmp_path / "seq.jsonl"), "--quiet", "--lifter", "prior"]) == 0
    header, frames, end = read_video_result(tmp_path / "seq.jsonl")
    assert header["input"]["fps"] == 50.0 and end["status"] == "complete" and len(frames) == 150
    assert {p["track"] for f in frames for p in f["people"]} == {1}
    smoothed, raw = (np.array([f["people"][0][key] for f in frames]) for key in ("joints_3d_mm", "joints_3d_frame_mm"))
    jitter = [np.linalg.norm(np.diff(p, n=2, axis=0), axis=-1).mean() for p in (smoothed, raw)]
    assert jitter[0] < 0.4 * jitter[1]


def test_a_sequence_with_a_camera_is_placed_in_camera_space_and_its_path_smoothed(tmp_path, rng):
    """Poses drawn at 0.25 px/mm through a 500 px lens stand about 2 m away, on their 2D; smoothing
    steadies the root's path as it steadies the pose."""
    points = _walking_2d(150) + rng.normal(0, 2.0, (150, 17, 2))
    np.save(tmp_path / "seq.npy", points)

    def run(smoothing: str) -> tuple[dict, list[dict]]:
        out = tmp_path / f"{smoothing}.jsonl"
        assert main(["lift", str(tmp_path / "seq.npy"), "--format", "h36m", "--sequence", "--fps", "50", "--out",
                     str(out), "--quiet", "--focal-px", "500", "--principal-px", "320", "240",
                     "--smoothing", smoothing]) == 0
        header, frames, _ = read_video_result(out)
        return header, [f["people"][0] for f in frames]

    header, raw = run("none")
    assert header["camera"] == {"focal_px": 500.0, "principal_px": [320.0, 240.0], "source": "focal-px"}
    for person, seen in zip(raw, points):
        joints, root = np.array(person["joints_camera_mm"]), np.array(person["root_camera_mm"])
        assert root[2] == pytest.approx(2000, rel=0.25) and np.allclose(joints - root, np.array(
            person["joints_3d_mm"]) * [1, -1, -1], atol=0.2)  # the pose, in OpenCV axes
        projected = joints[:, :2] / joints[:, 2:] * 500 + [320, 240]
        assert np.linalg.norm(projected.mean(axis=0) - seen.mean(axis=0)) < 5
    smoothed = run("offline")[1]
    for key in ("root_camera_mm", "joints_camera_mm"):
        jitter = [np.linalg.norm(np.diff([p[key] for p in track], n=2, axis=0), axis=-1).mean()
                  for track in (smoothed, raw)]
        assert jitter[0] < 0.4 * jitter[1]


@pytest.mark.slow
def test_an_openpose_folder_keeps_each_person_on_their_track_whatever_the_listing_order(tmp_path):
    folder = _openpose_folder(tmp_path / "op", [_walking_2d(40, seed=1), _walking_2d(40, seed=2, shift=400)])
    assert main(["lift", str(folder), "--format", "openpose", "--sequence", "--out", str(tmp_path / "op.jsonl"),
                 "--quiet", "--lifter", "prior", "--smoothing", "causal"]) == 0
    header, frames, end = read_video_result(tmp_path / "op.jsonl")
    assert end["tracks"] == 2 and len(frames) == 40 and header["input"]["format"] == "openpose"
    for frame in frames:
        left = {p["track"]: p["joints_2d"][0][0] < 500 for p in frame["people"]}
        assert left == {1: True, 2: False}


def test_follow_gives_a_returning_person_a_new_track():
    from poselift.video.sequences import follow

    pose = _walking_2d(3)
    frames = [pose[:1], np.empty((0, 17, 2)), pose[2:3]]
    weights = [np.ones((len(f), 17)) for f in frames]
    assert follow(frames, weights) == [[1], [], [2]]


@pytest.mark.parametrize("args, message", [
    (["--format", "coco"], "--sequence takes --format openpose"),
    (["--format", "openpose"], "takes OpenPose's output folder"),
])
def test_a_sequence_of_the_wrong_kind_is_refused(tmp_path, capsys, args, message):
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"people": []}))
    assert main(["lift", str(path), "--sequence", "--out", str(tmp_path / "o.jsonl"), *args]) == 1
    assert message in capsys.readouterr().err and not (tmp_path / "o.jsonl").exists()


def test_an_openpose_folder_without_anyone_is_refused_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "f_000000000000_keypoints.json").write_text(json.dumps({"people": []}))
    assert main(["lift", str(folder), "--format", "openpose", "--sequence", "--out", str(tmp_path / "o.jsonl")]) == 1
    assert "no frame holds a pose" in capsys.readouterr().err and not list(tmp_path.glob("*o.jsonl*"))
