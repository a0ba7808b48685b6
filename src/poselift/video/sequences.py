"""Keypoint sequences: ``poselift lift --sequence`` on a video's 2D keypoints from another detector.

Inputs: an OpenPose output folder (one ``*_keypoints.json`` per frame, as OpenPose writes for
a video; frames in the order of the number in their names), or an array file ``(frames, J,
2 | 3)`` of one person (the ``h36m``, ``lsp`` and ``npy`` formats of :mod:`poselift.keypoints`).
Every pose is lifted as ``poselift lift`` lifts it; people are followed from frame to frame
(:func:`follow`), each track's 3D pose smoothed (:mod:`poselift.video.smoothing`), and the
result written as the same JSON lines as a video's (:mod:`poselift.video.output`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..camera_space import placement_fields
from ..files import rounded
from ..keypoints import Keypoints, read_keypoints
from ..lifting.choice import lift_diagnostics, lifter_settings
from .output import FrameLog
from .placement import TrackRoots
from .reading import frame_number
from .smoothing import FrameSmoother, Smoothing

__all__ = ["read_sequence", "follow", "lift_sequence", "SAME_TRACK"]

SAME_TRACK = 0.5
"""A person continues a track when the median distance of their joints from the track's last
pose is under this fraction of that pose's size (its joints' bounding-box diagonal)."""


def read_sequence(path: Path, fmt: str, joint_set: str) -> list[Keypoints | None]:
    """The frames of a keypoint sequence: per frame its people (None: a frame with nobody).

    Raises:
        FileNotFoundError, ValueError: no such file or folder, a folder without JSON files,
            a file that is not of the format (named with its frame).
    """
    path = Path(path)
    if fmt == "openpose":
        if not path.is_dir():
            raise ValueError(f"{path}: --sequence with --format openpose takes OpenPose's output folder "
                             "(one JSON file per frame)")
        files = sorted(path.glob("*.json"), key=frame_number)
        if not files:
            raise ValueError(f"{path}: the folder holds no .json files")
        frames = []
        for file in files:
            try:
                frames.append(read_keypoints(file, fmt))
            except ValueError as error:
                if "holds no poses" not in str(error):
                    raise
                frames.append(None)
        return frames
    if fmt not in ("h36m", "lsp", "npy"):
        raise ValueError(f"--sequence takes --format openpose (a folder) or an array format (h36m, lsp, npy), "
                         f"not {fmt}")
    whole = read_keypoints(path, fmt, joint_set)
    return [Keypoints(whole.points[i:i + 1], whole.weights[i:i + 1], whole.joint_set, (label,))
            for i, label in enumerate(whole.labels)]


def follow(frames: list[np.ndarray], weights: list[np.ndarray]) -> list[list[int]]:
    """Track ids (1, 2 ...) for the people of each frame.

    Args:
        frames: per frame (n_t, J, 2) pixel poses. weights: per frame (n_t, J), 0 = missing.

    People of consecutive frames are matched by the least total median joint distance
    (Hungarian assignment over the joints both see); a match farther than :data:`SAME_TRACK`
    of the person's size, or a person without a match, starts a new track. A track missing
    from a frame ends; its id is not used again.
    """
    ids: list[list[int]] = []
    previous: list[tuple[int, np.ndarray, np.ndarray]] = []
    next_id = 1
    for points, seen in zip(frames, weights):
        current = [0] * len(points)
        if previous and len(points):
            cost = np.full((len(previous), len(points)), np.inf)
            for i, (_, last, last_seen) in enumerate(previous):
                size = _size(last, last_seen)
                for j in range(len(points)):
                    both = (last_seen > 0) & (seen[j] > 0)
                    if both.sum() >= 2 and size > 0:
                        cost[i, j] = np.median(np.linalg.norm(points[j][both] - last[both], axis=-1)) / size
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
            for i, j in zip(rows, cols):
                if cost[i, j] < SAME_TRACK:
                    current[j] = previous[i][0]
        for j in range(len(points)):
            if not current[j]:
                current[j], next_id = next_id, next_id + 1
        ids.append(current)
        previous = [(track, points[j], seen[j]) for j, track in enumerate(current)]
    return ids


def _size(points: np.ndarray, seen: np.ndarray) -> float:
    visible = points[seen > 0]
    return float(np.linalg.norm(np.ptp(visible, axis=0))) if len(visible) >= 2 else 0.0


def lift_sequence(path: Path, out: Path, settings, model, smoothing: Smoothing, fps: float,
                  progress: bool = False) -> tuple[int, int, list[str]]:
    """Lift, follow and smooth the keypoint sequence at ``path`` into the JSON lines ``out``.

    ``settings``, ``model``: :class:`~poselift.lift_output.LiftSettings` and what it builds.

    Returns:
        (frames written, tracks, notes for stderr).

    Raises:
        ValueError: the input cannot be read, or no pose in it can be lifted.
    """
    from ..lift_output import converted, lift_poses

    frames = read_sequence(path, settings.format, settings.joints)
    counts = [0 if frame is None else len(frame.labels) for frame in frames]
    present = [frame for frame in frames if frame is not None]
    if not present:
        raise ValueError(f"{path}: no frame holds a pose")
    stacked = Keypoints(np.concatenate([f.points for f in present]), np.concatenate([f.weights for f in present]),
                        present[0].joint_set, tuple(label for f in present for label in f.labels))
    conversion, weights, target = converted(stacked, settings, model)
    lifted, todo, done, problems = lift_poses(conversion.points, weights, settings, model, progress)
    if not len(done):
        raise ValueError(f"{path}: no pose could be lifted; the first: {next(p for p in problems if p)}")
    row = dict(zip(todo[done].tolist(), range(len(done))))
    starts = np.concatenate([[0], np.cumsum(counts)])
    kept = [[i for i in range(starts[t], starts[t + 1]) if i in row] for t in range(len(frames))]
    ids = follow([conversion.points[k][..., :2] for k in kept], [weights[k] for k in kept])
    # the smoother trusts a joint as the input does (derived ones as their inputs); joints the input's set
    # never has, which only the 3D model provides, count fully, as in a video
    trust = conversion.weights.copy()
    trust[:, [target.index(name) for name in conversion.missing]] = 1.0
    smoother, roots = FrameSmoother(smoothing, fps), TrackRoots(model.camera)
    source = {"input": {"path": str(path), "format": settings.format, "joint_set": stacked.joint_set.name,
                        "frames": len(frames), "fps": fps}}
    described = {**settings.options(), **lifter_settings(model.lifter),
                 "prior": None if model.prior is None else model.prior.describe()}
    log = FrameLog(out, source, described, smoothing.describe(), {"method": "hungarian", "same_track": SAME_TRACK},
                   target, camera=model.camera)
    status, error = "interrupted", None
    try:
        for t, (poses, tracks) in enumerate(zip(kept, ids)):
            entry, placed = {}, {}
            for i, track in zip(poses, tracks):
                pose, trusted, placed[track] = roots.stacked(lifted.pose_3d[row[i]], conversion.points[i],
                                                             weights[i], trust[i])
                entry[track] = (pose, trusted)
            ready = smoother.push(t, entry, placed)
            for index, placed_then, smoothed in ready + (smoother.finish() if t == len(kept) - 1 else []):
                placements = {track: roots.split(smoothed[track], placed_then[track]) for track in smoothed}
                log.write_entry(_entry(index, fps, kept[index], ids[index], placements, row, lifted, conversion,
                                       weights))
        status = "complete"
    except Exception as failure:  # the caller's atomic write then drops the file, end line and all
        status, error = "failed", str(failure)
        raise
    finally:
        log.close(status, error)
    failed = [p for p in problems if p]
    notes = [f"poselift: {path}: {len(failed)} of {len(problems)} pose(s) could not be lifted and are left out; "
             f"the first: {failed[0]}"] if failed else []
    return log.frames, len(log.tracks), notes


def _entry(index, fps, poses, tracks, placements, row, lifted, conversion, weights) -> dict:
    """One frame's line of a keypoint sequence (the input's 2D where seen, else the lift's projection;
    ``placements``: each track's smoothed pose and camera-space root or None)."""
    people = []
    for i, track in zip(poses, tracks):
        r = row[i]
        pose, root = placements[track]
        seen = weights[i] > 0
        joints_2d = np.where(seen[:, None], np.nan_to_num(conversion.points[i]), lifted.projected_2d[r])
        people.append({"track": track, "joints_2d": rounded(joints_2d, "px"),
                       "confidence": rounded(weights[i], "fraction"),
                       "joints_3d_mm": rounded(pose, "mm"),
                       "joints_3d_frame_mm": rounded(lifted.pose_3d[r], "mm"), **lift_diagnostics(lifted, r),
                       **placement_fields(root, pose)})
    return {"frame": index, "time_s": round(index / fps, 4), "people": people}
