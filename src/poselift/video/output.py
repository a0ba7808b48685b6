"""A video's results as JSON lines: a header, one line per frame, an end line.

The file (``poselift.video``, version :data:`SCHEMA_VERSION`; docs/output-format.md
describes every field) is written as the video is read, one whole line per frame, flushed,
so memory stays flat and a run that is stopped leaves every frame it finished readable::

    {"format": "poselift.video", "version": 1, "video": {...} | "input": {...}, "joint_names": [...],
     "bones": [...], "settings": {...}, "smoothing": {...}, "tracking": {...}, "camera": {...} | null}
    {"frame": 0, "time_s": 0.0, "people": [{"track": 1, "score": .., "box": [..], "joints_2d": [..],
     "confidence": [..], "joints_3d_mm": [..], "joints_3d_frame_mm": [..], "angle_deg": .., ...,
     "root_camera_mm": [..] | null, "joints_camera_mm": [..] | null}]}
    ...
    {"end": {"status": "complete" | "interrupted" | "failed", "frames": N, "tracks": K,
             "detector_runs": D, "error": null | "..."}}

An interrupted run (Ctrl-C, SIGTERM) still writes its end line; only a killed process
(SIGKILL, a lost machine) can leave a last line cut short, which :func:`read_video_result`
drops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import numpy as np

from ..camera_space import Camera, placement_fields
from ..files import json_header, raise_if_shared, rounded
from ..lifting.choice import lift_diagnostics
from ..skeleton import H36M17, JointSet
from .pipeline import VideoFrame

__all__ = ["SCHEMA_VERSION", "FrameLog", "video_lines", "read_video_result", "track_motions", "END_STATUSES"]

SCHEMA_VERSION = 1

END_STATUSES = ("complete", "interrupted", "failed")


def _person_entry(tracked) -> dict:
    person = tracked.person
    return {"track": tracked.track, "score": rounded(person.score, "fraction"), "box": rounded(person.box, "px"),
            "joints_2d": rounded(person.joints_2d, "px"), "confidence": rounded(person.confidence, "fraction"),
            "joints_3d_mm": rounded(tracked.pose_3d, "mm"), "joints_3d_frame_mm": rounded(person.pose_3d, "mm"),
            **lift_diagnostics(person.lifted), **placement_fields(tracked.root_mm, tracked.pose_3d)}


def frame_entry(frame: VideoFrame) -> dict:
    """One frame's line (see the module docstring)."""
    return {"frame": frame.index, "time_s": round(frame.time_s, 4), "people": [_person_entry(p) for p in frame.people]}


class FrameLog:
    """Writes a video's JSON lines to ``path`` (see the module docstring); :meth:`close` ends them.

    Args:
        path: the ``.jsonl`` file (replaced if it exists).
        source: what was read: ``{"video": VideoInfo.describe()}``, or ``{"input": ...}`` for
            a keypoint sequence.
        settings: the estimator's or the lift's settings.
        smoothing, tracking: descriptions of the smoothing and the tracker's settings.
        joint_set: the joints of the poses (H36M-17 unless a prior of other joints lifted them).
        camera: the camera the poses were lifted and placed with (None: none known), for the header.
    """

    def __init__(self, path: Path, source: dict, settings: dict, smoothing: dict, tracking: dict,
                 joint_set: JointSet = H36M17, camera: Camera | None = None) -> None:
        self.path = Path(path)
        self.frames, self.tracks = 0, set()
        header = {**json_header("video", SCHEMA_VERSION), **source,
                  "joint_names": list(joint_set.joints), "bones": joint_set.bones.tolist(),
                  "settings": settings, "smoothing": smoothing, "tracking": tracking,
                  "camera": None if camera is None else camera.describe()}
        self._file = open(self.path, "w", encoding="utf-8")
        try:
            self._line(header)
        except BaseException:
            self._file.close()
            raise

    def _line(self, entry: dict) -> None:
        self._file.write(json.dumps(entry, allow_nan=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def write(self, frame: VideoFrame) -> None:
        """Add a video frame's line."""
        self.write_entry(frame_entry(frame))

    def write_entry(self, entry: dict) -> None:
        """Add a frame's line made elsewhere (``{"frame", "time_s", "people": [{"track", ...}]}``)."""
        self._line(entry)
        self.frames += 1
        self.tracks.update(p["track"] for p in entry["people"])

    def close(self, status: str, error: str | None = None, detector_runs: int | None = None) -> None:
        """Write the end line and close the file."""
        if status not in END_STATUSES:
            raise ValueError(f"status must be one of {', '.join(END_STATUSES)}, got {status!r}")
        try:
            self._line({"end": {"status": status, "frames": self.frames, "tracks": len(self.tracks),
                                "detector_runs": detector_runs, "error": error}})
        except OSError as failure:
            raise_if_shared(failure, self.path)
            raise
        finally:
            self._file.close()


def video_lines(path: str | Path) -> Iterator[dict]:
    """The entries of a ``poselift.video`` file, one line at a time (nothing else held): the
    header (checked) first, then each frame's, then the end entry (``{"end": ...}``) if the file
    has one. A last line that is not whole JSON (a killed process) is dropped; any other bad line
    is an error.

    Raises:
        ValueError: not a ``poselift.video`` file of a version this reads, or a damaged line.
    """
    path, number = Path(path), 0
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number > 1 and next(file, "") == "":  # the last line, cut short by a killed process
                    return
                raise ValueError(f"{path}: line {number} is not JSON" if number > 1 else
                                 f"{path}: not a poselift.video file") from None
            if number == 1 and not (isinstance(entry, dict) and entry.get("format") == "poselift.video"):
                raise ValueError(f"{path}: not a poselift.video file")
            if number == 1 and entry.get("version") != SCHEMA_VERSION:
                raise ValueError(f"{path}: poselift.video version {entry.get('version')}, this reads "
                                 f"{SCHEMA_VERSION}")
            yield entry
    if number == 0:
        raise ValueError(f"{path}: not a poselift.video file (empty)")


def read_video_result(path: str | Path) -> tuple[dict, list[dict], dict | None]:
    """(header, frame entries, end entry or None) of a ``poselift.video`` file, read whole
    (:func:`video_lines` says what is checked and dropped).

    Raises:
        ValueError: not a ``poselift.video`` file of a version this reads, or a damaged line.
    """
    entries = list(video_lines(path))
    end = entries[-1]["end"] if len(entries) > 1 and "end" in entries[-1] else None
    return entries[0], entries[1:-1] if end is not None else entries[1:], end


def track_motions(path: str | Path) -> dict[int, np.ndarray]:
    """Each track's smoothed 3D poses, frame after frame, from a ``poselift.video`` file read
    line by line: track id -> (frames, J, 3) millimetres (a track covers consecutive frames)."""
    motions: dict[int, list[np.ndarray]] = {}
    for entry in islice(video_lines(path), 1, None):
        for person in entry.get("people", ()):
            motions.setdefault(person["track"], []).append(np.asarray(person["joints_3d_mm"], dtype=np.float64))
    return {track: np.stack(poses) for track, poses in sorted(motions.items())}
