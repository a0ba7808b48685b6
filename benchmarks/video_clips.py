"""The two real clips through ``poselift estimate --render``: tracks, jumps, speed, and pictures to check them by eye.

    python benchmarks/video_clips.py

For shared/data/videos/sports2d_demo.mp4 and phalp_running.mp4, in this process with the
command's defaults (the default lifter, offline smoothing, the detector every 30 frames), it
writes each clip's JSON lines and rendered MP4 to a temporary folder and reports: frames,
tracks and the frames each covers, the detector's runs, frames per second, the rendered MP4's
frame count as read back, and each "jump" (a track's mid-hips moving more than half the
person's height between consecutive frames: where an id switch would show). It saves for
``docs/``:

- ``docs/images/video_<clip>_sheet.jpg``: a contact sheet of every ``--every``-th frame with
  each person's box and track id, to check the ids frame by frame;
- ``docs/images/video_<clip>_frame<k>.jpg``: a few rendered frames.

Writes benchmarks/results/video_clips.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from poselift import Estimator
from poselift.datasets.paths import data_root
from poselift.estimate_output import estimator_settings
from poselift.video.job import VideoOptions, VideoOutputs, estimate_video_file
from poselift.video.output import read_video_result

ROOT = Path(__file__).resolve().parent
IMAGES = ROOT.parent / "docs" / "images"
CLIPS = {"sports2d_demo": (120, 210), "phalp_running": (120,)}
"""The clips and the frames of each saved as pictures."""
THUMB_WIDTH = 240


def sheet(video: Path, frames: list[dict], every: int, out: Path) -> None:
    """A contact sheet of every ``every``-th frame of the clip: each person's box in its track's
    colour with the track id large beside it, the frame number in the corner."""
    colours = [(0, 200, 255), (255, 80, 0), (0, 220, 0), (200, 0, 200), (0, 0, 255), (255, 255, 0)]
    by_index = {frame["frame"]: frame for frame in frames}
    capture = cv2.VideoCapture(str(video))
    thumbs, index = [], 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index % every == 0:
            for person in by_index.get(index, {"people": []})["people"]:
                x0, y0, x1, y1 = (int(round(v)) for v in person["box"])
                colour = colours[(person["track"] - 1) % len(colours)]
                cv2.rectangle(image, (x0, y0), (x1, y1), colour, 6)
                cv2.putText(image, str(person["track"]), (x0, max(60, y0 - 10)), cv2.FONT_HERSHEY_SIMPLEX, 2.5,
                            colour, 8, cv2.LINE_AA)
            height = int(round(image.shape[0] * THUMB_WIDTH / image.shape[1]))
            thumb = cv2.resize(image, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA)
            cv2.putText(thumb, str(index), (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4, cv2.LINE_AA)
            cv2.putText(thumb, str(index), (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 1, cv2.LINE_AA)
            thumbs.append(thumb)
        index += 1
    columns = 6
    blank = np.full_like(thumbs[0], 255)
    rows = [np.hstack(thumbs[i:i + columns] + [blank] * (columns - len(thumbs[i:i + columns])))
            for i in range(0, len(thumbs), columns)]
    cv2.imwrite(str(out), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 70])


def frame_count(video: Path) -> int:
    """Frames of a video, counted by reading them all."""
    capture = cv2.VideoCapture(str(video))
    count = 0
    while capture.grab():
        count += 1
    return count


def save_frames(rendered: Path, frames: tuple[int, ...], stem: str) -> list[str]:
    capture = cv2.VideoCapture(str(rendered))
    saved = []
    for index in frames:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if ok:
            path = IMAGES / f"video_{stem}_frame{index}.jpg"
            cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
            saved.append(str(path.relative_to(ROOT.parent)))
    return saved


def jumps(frames: list[dict]) -> list[dict]:
    """Each track's moves of its mid-hips by more than half its 2D height between consecutive frames."""
    last: dict[int, tuple[int, np.ndarray, float]] = {}
    found = []
    for frame in frames:
        for person in frame["people"]:
            joints = np.array(person["joints_2d"])
            height = float(np.ptp(joints[:, 1]))
            if person["track"] in last and last[person["track"]][0] == frame["frame"] - 1:
                move = float(np.linalg.norm(joints[0] - last[person["track"]][1]))
                if move > 0.5 * max(height, last[person["track"]][2]):
                    found.append({"frame": frame["frame"], "track": person["track"], "move_px": round(move, 1)})
            last[person["track"]] = (frame["frame"], joints[0], height)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=4, help="contact sheet: every N-th frame")
    args = parser.parse_args()
    estimator = Estimator()
    settings = estimator_settings(estimator)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for stem, pictures in CLIPS.items():
            outputs = VideoOutputs(Path(folder) / f"{stem}.jsonl", Path(folder) / f"{stem}_render.mp4")
            started = time.perf_counter()
            row = estimate_video_file(data_root() / "videos" / f"{stem}.mp4", outputs, estimator, settings,
                                      VideoOptions(render=True))
            seconds = time.perf_counter() - started
            _, frames, end = read_video_result(outputs.jsonl)
            spans = {}
            for frame in frames:
                for person in frame["people"]:
                    first, last, count = spans.get(person["track"], (frame["frame"], frame["frame"], 0))
                    spans[person["track"]] = (first, frame["frame"], count + 1)
            rendered = frame_count(outputs.mp4)
            sheet(data_root() / "videos" / f"{stem}.mp4", frames, args.every, IMAGES / f"video_{stem}_sheet.jpg")
            results[stem] = {"status": row.status, "frames": len(frames), "tracks": end["tracks"],
                             "detector_runs": end["detector_runs"], "seconds": seconds, "fps": len(frames) / seconds,
                             "rendered_frames_read_back": rendered,
                             "track_spans": {str(t): {"first": a, "last": b, "frames": n}
                                             for t, (a, b, n) in sorted(spans.items())},
                             "jumps": jumps(frames), "pictures": save_frames(outputs.mp4, pictures, stem)}
            result = results[stem]
            print(f"{stem}: {result['frames']} frames, {result['tracks']} tracks, detector on "
                  f"{result['detector_runs']} frames, {result['fps']:.1f} frames/s with rendering, rendered MP4 "
                  f"read back: {rendered} frames")
            for track, span in result["track_spans"].items():
                print(f"  track {track}: frames {span['first']}-{span['last']} ({span['frames']} frames)")
            print(f"  jumps: {result['jumps'] or 'none'}")
    (ROOT / "results" / "video_clips.json").write_text(json.dumps(
        {"machine": platform.processor() or platform.machine(), "clips": results}, indent=1) + "\n")
    print(f"wrote {ROOT / 'results' / 'video_clips.json'}")


if __name__ == "__main__":
    main()
