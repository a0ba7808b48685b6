"""A video's path through the room: the root placed in camera space frame by frame against smoothed.

Human3.6M S9, every frame of every sequence (50 frames/s), all four cameras, from
Stacked-Hourglass detections (the joints they only approximate, such as the head top, left
out, as ``evaluate h36m`` does) and from ground-truth 2D, undistorted (the cameras' lens
distortion taken out, as ``evaluate h36m`` does before placing); the learned lifter (the
default) with each camera's focal length and principal point (as ``poselift estimate
--focal-px`` on a video, or ``lift --sequence --focal-px``), each frame's root placed by
:func:`~poselift.camera_space.place_root`
and smoothed with its pose as the video pipeline does (:class:`poselift.video.placement.TrackRoots`
through a :class:`~poselift.video.smoothing.FrameSmoother` of each mode). Per mode: MRPE (mm,
the root's distance from the true pelvis, mean over frames) and the root's acceleration error
(mm per frame squared, mean over frames 1 .. T-2 of every sequence and camera). Prints a table and
writes ``benchmarks/results/video_root.json``.

    python benchmarks/video_root.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from poselift.camera_space import Camera
from poselift.evaluation.h36m import Views
from poselift.evaluation.metrics import acceleration_error
from poselift.lifting.learned import LearnedLifter
from poselift.skeleton import H36M17
from poselift.video.placement import TrackRoots
from poselift.video.smoothing import SMOOTHINGS, FrameSmoother

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("none", "causal", "offline")


def smoothed_roots(poses: np.ndarray, points: np.ndarray, weights: np.ndarray, camera: Camera,
                   mode: str) -> np.ndarray:
    """(T, 3) roots (mm, OpenCV camera axes; NaN where unplaced) of one track of (T, 17, 3) poses."""
    roots, smoother = TrackRoots(camera), FrameSmoother(SMOOTHINGS[mode], 50.0)
    out = np.full((len(poses), 3), np.nan)

    def keep(ready: list) -> None:
        for t, placed, smoothed in ready:
            root = roots.split(smoothed[1], placed)[1]
            if root is not None:
                out[t] = root

    for t in range(len(poses)):
        stacked, trust, placed = roots.stacked(poses[t], points[t], weights[t], weights[t])
        keep(smoother.push(t, {1: (stacked, trust)}, placed))
    keep(smoother.finish())
    return out


def measure(source: str, lifter: LearnedLifter) -> dict:
    errors = {mode: [] for mode in MODES}
    accelerations = {mode: [] for mode in MODES}
    frames = 0
    for view in Views(source, ["S9"]):
        camera = Camera(view.camera.focal_px, tuple(view.camera.principal), "h36m")
        weights = np.ones(view.points.shape[:2]) if view.weights is None else view.weights.copy()
        weights[:, [H36M17.index(name) for name in view.approximate]] = 0.0
        points = view.camera.undistort(view.points)
        poses = lifter.lift(points, weights, camera=(camera.focal_px, np.asarray(camera.principal_px))).pose_3d
        truth = view.truth[:, 0]  # the pelvis, camera coordinates, mm
        frames += len(poses)
        for mode in MODES:
            roots = smoothed_roots(poses, points, weights, camera, mode)
            errors[mode].append(np.linalg.norm(roots - truth, axis=-1))
            accelerations[mode].append(acceleration_error(roots[:, None], truth[:, None], root=None))
    return {"frames": frames, **{mode: {"mrpe_mm": float(np.nanmean(np.concatenate(errors[mode]))),
                                        "root_accel_error": float(np.nanmean(np.concatenate(accelerations[mode])))}
                                 for mode in MODES}}


def main() -> None:
    lifter, out = LearnedLifter(threads=2), {}
    print(f"{'input':<7}{'mode':<9}{'MRPE mm':>10}{'root accel mm/frame^2':>24}")
    for source in ("sh", "gt"):
        started = time.perf_counter()
        out[source] = measure(source, lifter)
        for mode in MODES:
            row = out[source][mode]
            print(f"{source:<7}{mode:<9}{row['mrpe_mm']:>10.1f}{row['root_accel_error']:>24.2f}")
        print(f"  ({out[source]['frames']} frames, {time.perf_counter() - started:.0f} s)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "video_root.json").write_text(json.dumps({
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}",
        "protocol": "S9, every frame, all four cameras, 2D undistorted, the learned lifter with each camera",
        "smoothing": {mode: SMOOTHINGS[mode].describe() for mode in MODES}, "results": out}, indent=1))


if __name__ == "__main__":
    main()
