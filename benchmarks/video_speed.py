"""Video speed and memory on this CPU: frames per second end to end, milliseconds per stage.

    python benchmarks/video_speed.py [--memory]

The clip: shared/data/videos/phalp_running.mp4 (one runner, 180 frames at 30 frames/s),
cropped to 4:3 and shrunk to 640x480, written once as an MPEG-4 file in a temporary folder,
so that decoding is part of the time. ``poselift estimate``'s video path runs on it in this
process (the default lifter, offline smoothing, the detector every 30 frames),
once without and once with ``--render``, after a warm-up run; each stage's time per frame:

    decode  reading and converting the frame
    detect  the person detector (on the frames it runs on, spread over all frames)
    landmarks  the landmark network on each track's crop
    lift    refinement and lifting (sections 5.2-5.5)
    smooth  the Kalman filter and its backward pass
    write   the JSON line
    render  drawing and encoding the rendered frame

``--memory`` also measures peak resident memory of the same run (no render) on the clip
looped for 10 seconds and for 10 minutes, each in a process of its own (a looped reader
re-opens the file: the frames are decoded every time, none is held).

Prints a table and writes benchmarks/results/video_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from poselift import Estimator
from poselift.datasets.paths import data_root
from poselift.lifting.choice import lifter_settings
from poselift.video.job import VideoOptions
from poselift.video.output import FrameLog
from poselift.video.pipeline import estimate_video
from poselift.video.reading import Video, open_video
from poselift.video.render import Renderer
from poselift.video.tracking import Tracker

RESULTS = Path(__file__).resolve().parent / "results"
SIZE = (640, 480)
STAGES = ("decode", "detect", "landmarks", "lift", "smooth", "write", "render")


def make_clip(folder: Path) -> Path:
    """The runner clip cropped to 4:3 and shrunk to 640x480, as an MPEG-4 file."""
    source = open_video(data_root() / "videos" / "phalp_running.mp4")
    width, height = source.info.width, source.info.height
    crop = int(round(height * 4 / 3))
    left = (width - crop) // 2
    path = folder / "running_640x480.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), source.info.fps, SIZE)
    for _, frame in source:
        writer.write(cv2.cvtColor(cv2.resize(frame[:, left:left + crop], SIZE, interpolation=cv2.INTER_AREA),
                                  cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def looped(path: Path, seconds: float) -> Video:
    """The clip at ``path`` played again and again for ``seconds``."""
    info = open_video(path).info
    total = int(round(seconds * info.fps))

    def frames():
        index = 0
        while True:
            for _, frame in open_video(path):
                if index == total:
                    return
                yield index, frame
                index += 1

    return Video(info, frames())


def run(estimator: Estimator, video: Video, out: Path, render: bool) -> dict:
    """One run as ``poselift estimate`` does it; seconds per stage (summed), frames, detector runs."""
    options = VideoOptions()
    tracker = Tracker(estimator.blazepose, options.detect_every, options.max_people)
    clock = dict.fromkeys(STAGES, 0.0)
    detect = tracker.blazepose.detect_windows

    def timed_detect(image):
        started = time.perf_counter()
        try:
            return detect(image)
        finally:
            clock["detect"] += time.perf_counter() - started

    tracker.blazepose.detect_windows = timed_detect
    renderer = Renderer(out / "clip_render.mp4", video.info) if render else None
    log = FrameLog(out / "clip.jsonl", {"video": video.info.describe()}, {}, options.smoothing.describe(),
                   options.tracking())
    frames = 0
    started = time.perf_counter()
    try:
        for frame in estimate_video(estimator, video, options.smoothing, keep=renderer.keep if renderer else None,
                                    tracker=tracker):
            for stage in ("decode", "lift", "smooth"):
                clock[stage] += frame.seconds[stage]
            clock["landmarks"] += frame.seconds["track"]
            before = time.perf_counter()
            log.write(frame)
            written = time.perf_counter()
            if renderer:
                renderer.write(frame)
            clock["write"] += written - before
            clock["render"] += time.perf_counter() - written
            frames += 1
    finally:
        log.close("complete")
        if renderer:
            renderer.close()
        del tracker.blazepose.detect_windows
    total = time.perf_counter() - started
    clock["landmarks"] -= clock["detect"]  # the tracker's time less the detector's
    return {"frames": frames, "seconds": total, "fps": frames / total, "detector_runs": tracker.detector_runs,
            "ms_per_frame": {stage: 1000 * clock[stage] / frames for stage in STAGES}}


def peak_rss_mb(clip: Path, seconds: float) -> float:
    """Peak resident memory (MB) of a process running the clip looped for ``seconds``."""
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import video_speed as v, tempfile; "
            f"import resource; from pathlib import Path; from poselift import Estimator; "
            f"v.run(Estimator(), v.looped(Path({str(clip)!r}), {seconds}), Path(tempfile.mkdtemp()), False); "
            f"print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true", help="also peak memory on 10 s and 10 min of video")
    args = parser.parse_args()
    estimator = Estimator()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        clip = make_clip(folder)
        run(estimator, open_video(clip), folder, render=False)  # warm-up: compiled kernels, caches
        results = {name: run(estimator, open_video(clip), folder, render=render)
                   for name, render in (("no render", False), ("render", True))}
        rendered = cv2.VideoCapture(str(folder / "clip_render.mp4"))
        rendered_frames = int(rendered.get(cv2.CAP_PROP_FRAME_COUNT))
        memory = None
        if args.memory:
            memory = {"10 s": peak_rss_mb(clip, 10.0), "10 min": peak_rss_mb(clip, 600.0)}
    lifter = lifter_settings(estimator.lifter)["lifter"]
    print(f"640x480, one person, {results['render']['frames']} frames, {lifter} lifter, offline smoothing, "
          f"detector every 30 frames ({platform.processor() or platform.machine()})")
    print(f"{'':<11}" + "".join(f"{stage:>10}" for stage in STAGES) + f"{'total fps':>11}{'detector':>10}")
    for name, result in results.items():
        print(f"{name:<11}" + "".join(f"{result['ms_per_frame'][s]:>10.2f}" for s in STAGES)
              + f"{result['fps']:>11.1f}{result['detector_runs']:>10}")
    print(f"rendered MP4 read back: {rendered_frames} frames")
    if memory:
        print(f"peak RSS: {memory['10 s']:.0f} MB for 10 s of video, {memory['10 min']:.0f} MB for 10 min")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_speed.json").write_text(json.dumps(
        {"machine": platform.processor() or platform.machine(), "size": SIZE, "lifter": lifter, "runs": results,
         "rendered_frames": rendered_frames, "peak_rss_mb": memory,
         "ms_per_frame_units": "milliseconds per frame, averaged over the clip"}, indent=1) + "\n")
    print(f"wrote {RESULTS / 'video_speed.json'}")


if __name__ == "__main__":
    main()
