"""``poselift estimate`` on videos: each video's JSON lines (and rendered MP4), its row in the run's summary.

A video's outputs are ``<name>.jsonl`` (:mod:`poselift.video.output`), with ``render``
``<name>_render.mp4`` (:mod:`poselift.video.render`), and with ``bvh`` one
``<name>_track<k>.bvh`` per track: its smoothed 3D motion, made from the JSON lines once the
video is done (:mod:`poselift.export.bvh`). A video that cannot be opened writes
nothing; one that breaks off (truncated, a frame that cannot be read) keeps every frame
before the fault, says why in its end line and counts as failed; Ctrl-C or SIGTERM ends the
JSON lines with an ``interrupted`` end line and closes the MP4 on the frames drawn, then
the interruption goes on (the command exits with 130 or 143).
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..batch.summary import Row
from ..camera_space import Camera, PhotoCameras
from ..files import interruptions_held, raise_if_shared
from .output import FrameLog
from .pipeline import estimate_video
from .reading import FRAME_FOLDER_FPS, VIDEO_SUFFIXES, VideoError, open_frame_folder, open_video
from .render import Renderer
from .smoothing import SMOOTHINGS, Smoothing
from .tracking import DETECT_EVERY, Tracker

__all__ = ["VideoOptions", "VideoOutputs", "is_video", "video_outputs", "estimate_video_file", "finished_video",
           "write_track_bvh"]


def is_video(path: Path, frame_folders: bool = False) -> bool:
    """Whether ``path`` is taken as a video: a file with a :data:`VIDEO_SUFFIXES` ending, or
    (``frame_folders``) a folder of frames."""
    return path.is_dir() if frame_folders else path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoOptions:
    """How videos are run: smoothing, tracking, people, rendering, the frame rate of frame
    folders, and the camera (``--focal-px`` or ``--fov``; none by default)."""

    smoothing: Smoothing = SMOOTHINGS["offline"]
    detect_every: int = DETECT_EVERY
    max_people: int | None = None
    render: bool = False
    folder_fps: float = FRAME_FOLDER_FPS
    bvh: bool = False
    cameras: PhotoCameras = PhotoCameras(exif=False)

    def tracking(self) -> dict:
        """The ``tracking`` entry of the header."""
        return {"detect_every": self.detect_every, "max_people": self.max_people}


@dataclass(frozen=True)
class VideoOutputs:
    """Where one video's results go."""

    jsonl: Path
    mp4: Path

    def bvh(self, track: int) -> Path:
        """Track ``track``'s BVH file."""
        return self.jsonl.with_name(f"{self.jsonl.stem}_track{track}.bvh")

    def stale_bvh(self) -> list[Path]:
        """BVH files an earlier run wrote for this video."""
        stem = self.jsonl.stem
        return [p for p in self.jsonl.parent.glob(f"{glob.escape(stem)}_track*.bvh")
                if p.stem[len(stem) + len("_track"):].isdigit()]


def video_outputs(videos: list[Path], out_dir: Path, taken: set[Path]) -> list[VideoOutputs]:
    """Each video's outputs in ``out_dir``: ``<stem>.jsonl`` and ``<stem>_render.mp4``, with
    ``-2``, ``-3`` ... added where a name is taken (``taken``: other outputs and the inputs,
    resolved) or would be a video's own file."""
    inputs = {v.resolve() for v in videos}
    chosen = []
    for video in videos:
        base, count = video.stem if video.is_file() else video.name, 1
        while True:
            name = base if count == 1 else f"{base}-{count}"
            outputs = VideoOutputs(out_dir / f"{name}.jsonl", out_dir / f"{name}_render.mp4")
            paths = {outputs.jsonl.resolve(), outputs.mp4.resolve()}
            if not paths & (taken | inputs):
                break
            count += 1
        taken |= paths
        chosen.append(outputs)
    return chosen


def finished_video(outputs: VideoOutputs, path: Path, settings: dict, options: VideoOptions) -> int | None:
    """The number of tracks in the outputs an earlier run left complete for the same video (and,
    for a frame folder, frame rate), settings, options and camera (header and end line agree;
    the MP4 is there if asked for); None: redo it."""
    try:
        with open(outputs.jsonl, "rb") as file:
            header = json.loads(file.readline())
            file.seek(max(0, os.path.getsize(outputs.jsonl) - 4096))
            end = json.loads(file.read().rstrip(b"\n").rsplit(b"\n", 1)[-1])["end"]
        video = header.get("video", {})
        camera = _camera_of(options.cameras, video)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ArithmeticError):
        return None
    same = (video.get("path") == str(path) and (not path.is_dir() or video.get("fps") == options.folder_fps)
            and header.get("settings") == settings and header.get("smoothing") == options.smoothing.describe()
            and header.get("tracking") == options.tracking()
            and header.get("camera") == (None if camera is None else camera.describe()))
    if not same or not isinstance(end, dict) or end.get("status") != "complete":
        return None
    if options.render and not outputs.mp4.is_file():
        return None
    tracks = end.get("tracks")
    if options.bvh and not (isinstance(tracks, int) and all(outputs.bvh(k).is_file() for k in range(1, tracks + 1))):
        return None
    return tracks


def _camera_of(cameras: PhotoCameras, video: dict) -> Camera | None:
    """The camera ``cameras`` gives a video whose header describes it as ``video`` (None without
    ``--focal-px`` or ``--fov``: then the header's size is not read)."""
    if cameras.focal_px is None and cameras.fov_deg is None:
        return None
    width, height = int(video["width"]), int(video["height"])
    if width <= 0 or height <= 0:
        raise ValueError(f"a video of {width} x {height} pixels")
    return cameras.for_video(width, height)


def write_track_bvh(outputs: VideoOutputs, fps: float) -> None:
    """One BVH per track of the video's JSON lines (its smoothed motion, root at the origin), each
    written atomically; those an earlier run left for this video are removed first."""
    from ..export.bvh import write_bvh
    from .output import track_motions

    for stale in outputs.stale_bvh():
        stale.unlink(missing_ok=True)
    for track, motion in track_motions(outputs.jsonl).items():
        write_bvh(outputs.bvh(track), motion, frame_time_s=1.0 / fps)


def estimate_video_file(path: Path, outputs: VideoOutputs, estimator, settings: dict, options: VideoOptions,
                        frame_folder: bool = False, progress: bool = False) -> Row:
    """Run one video and write its outputs; its :class:`~poselift.batch.summary.Row` (status
    ``ok``, ``nobody`` or ``failed``, the number of tracks). Raises only
    :class:`~poselift.files.OutputError` (nothing more can be written; a failure to close the
    outputs may also come as another :class:`OSError`) and interruptions, after closing the
    outputs on the frames done."""
    from tqdm import tqdm

    started = time.perf_counter()
    try:
        video = open_frame_folder(path, options.folder_fps) if frame_folder else open_video(path)
    except VideoError as error:
        return Row(str(path), "failed", None, time.perf_counter() - started, str(error))
    renderer = log = None
    status, error = "interrupted", None
    tracker = Tracker(estimator.blazepose, options.detect_every, options.max_people)
    try:
        try:
            renderer = Renderer(outputs.mp4, video.info) if options.render else None
            camera = options.cameras.for_video(video.info.width, video.info.height)
            log = FrameLog(outputs.jsonl, {"video": video.info.describe()}, settings, options.smoothing.describe(),
                           options.tracking(), camera=camera)
        except OSError as failure:
            raise_if_shared(failure, outputs.jsonl)
            raise
        frames = estimate_video(estimator, video, options.smoothing, keep=renderer.keep if renderer else None,
                                tracker=tracker, camera=camera)
        for frame in tqdm(frames, total=video.info.frames, disable=not progress, unit="frame", leave=False,
                          desc=path.name):
            with interruptions_held():  # the line and its picture, or neither
                log.write(frame)
                if renderer:
                    renderer.write(frame)
        status = "complete"
    except VideoError as fault:
        status, error = "failed", str(fault)
    except OSError as failure:
        status, error = "failed", str(failure)
        raise_if_shared(failure, outputs.jsonl)
    except Exception as failure:  # any other fault is this video's: the next one still runs
        status, error = "failed", f"{path}: {type(failure).__name__}: {failure}"
    finally:
        video.close()
        try:
            if log is not None:
                log.close(status, error, tracker.detector_runs)
        finally:
            if renderer is not None:
                if log is None:
                    renderer.abandon()
                else:
                    renderer.close()
    if options.bvh and log is not None and log.frames:
        try:
            write_track_bvh(outputs, video.info.fps)
        except (OSError, ValueError) as failure:
            if isinstance(failure, OSError):
                raise_if_shared(failure, outputs.jsonl)
            status, error = "failed", f"{path}: no BVH written: {failure}"
    seconds = time.perf_counter() - started
    tracks = len(log.tracks) if log else 0
    if status == "failed":
        kept = f"; kept the {log.frames} frame(s) before it in {outputs.jsonl}" if log else ""
        return Row(str(path), "failed", tracks, seconds, error + kept)
    written = f"wrote {outputs.jsonl} ({log.frames} frames, {tracks} track(s), {log.frames / seconds:.1f} frames/s)"
    also = ([str(outputs.mp4)] if renderer and renderer.frames else []) + (
        [f"{tracks} BVH file(s)"] if options.bvh and tracks else [])
    print(written + "".join(f" and {item}" for item in also), file=sys.stdout)
    return Row(str(path), "ok" if tracks else "nobody", tracks, seconds)
