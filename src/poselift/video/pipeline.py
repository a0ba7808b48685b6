"""From a video to tracked people with 2D and 3D poses, frame after frame.

Each frame: the tracker's landmark answers (:mod:`poselift.video.tracking`), each refined and
lifted like a photo's person (:meth:`poselift.Estimator.refine`, sections 5.2-5.5), then each
track's 3D pose smoothed over time (:mod:`poselift.video.smoothing`). Frames come out in order
and one at a time: causal smoothing hands each frame out as soon as it is read, offline
smoothing about :data:`~poselift.video.smoothing.OFFLINE_LAG_S` later. Nothing else is kept,
so memory does not grow with the video's length.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..camera_space import Camera
from ..estimator import Estimator, Person
from .placement import TrackRoots
from .reading import Video, VideoError
from .smoothing import SMOOTHINGS, FrameSmoother, Smoothing
from .tracking import DETECT_EVERY, Tracker

__all__ = ["TrackedPerson", "VideoFrame", "estimate_video", "STAGES"]

STAGES = ("decode", "track", "lift", "smooth")
"""The stages whose time :class:`VideoFrame` reports (``track``: the detector and landmark
networks; ``lift``: refinement and lifting)."""


@dataclass(frozen=True)
class TrackedPerson:
    """One person in one frame.

    Attributes:
        track: the track's id (1, 2 ...), the same in every frame the person is followed.
        person: the frame's own 2D and 3D pose (:class:`~poselift.Person`; its ``pose_3d`` is
            this frame's lift alone).
        pose_3d: (17, 3) millimetres, root-relative (as :attr:`poselift.Person.pose_3d`): the
            smoothed pose (the frame's own without smoothing).
        root_mm: (3,) millimetres, OpenCV camera axes: the root in camera space, smoothed with the
            pose (:mod:`poselift.video.placement`); None without a camera, or where this frame's
            2D does not fix it.
    """

    track: int
    person: Person
    pose_3d: np.ndarray
    root_mm: np.ndarray | None = None


@dataclass(frozen=True)
class VideoFrame:
    """One frame's people, oldest track first.

    Attributes:
        index: frame number, from 0.
        time_s: seconds from the start (index / fps).
        people: the people tracked in it.
        kept: what ``keep`` made of the frame's image (None without ``keep``).
        seconds: per stage of :data:`STAGES`, the time it took for this frame.
    """

    index: int
    time_s: float
    people: tuple[TrackedPerson, ...]
    kept: object = None
    seconds: dict = dataclasses.field(default_factory=dict)


def estimate_video(estimator: Estimator, video: Video, smoothing: Smoothing = SMOOTHINGS["causal"],
                   detect_every: int = DETECT_EVERY, max_people: int | None = None,
                   keep: Callable[[np.ndarray], object] | None = None,
                   tracker: Tracker | None = None, camera: Camera | None = None) -> Iterator[VideoFrame]:
    """The frames of ``video`` (:func:`~poselift.video.reading.open_video`) with everyone's poses.

    Args:
        estimator: the photo pipeline whose networks, refinement and lifter each frame uses.
        smoothing: how each track's 3D pose is smoothed (:data:`~poselift.video.smoothing.SMOOTHINGS`).
        detect_every, max_people: see :class:`~poselift.video.tracking.Tracker`.
        keep: called with each frame's image; what it returns rides along as
            :attr:`VideoFrame.kept` (e.g. a small copy for drawing), held only while the
            frame waits for its smoothing.
        tracker: the tracker to use (default: a new one on the estimator's networks); passing
            one lets a caller read its :attr:`~poselift.video.tracking.Tracker.detector_runs`.
        camera: the video's camera, if known: each pose is turned from the frame of the ray to
            the person into the camera's view (as a photo's, :meth:`poselift.Estimator.refine`)
            and placed in camera space before it is smoothed; without it each pose is as seen
            along that ray, and not placed.

    Raises:
        poselift.video.reading.VideoError: from the video, after every frame before the fault
            has been yielded (smoothed with what was read).
    """
    tracker = tracker or Tracker(estimator.blazepose, detect_every, max_people)
    fps = video.info.fps
    smoother = FrameSmoother(smoothing, fps)
    roots = TrackRoots(camera)
    frames = iter(video)
    fault = None
    while True:
        started = time.perf_counter()
        try:
            index, image = next(frames)
        except StopIteration:
            break
        except VideoError as error:
            fault = error
            break
        decoded = time.perf_counter()
        tracked = tracker.step(image)
        found = time.perf_counter()
        people = [(track, _without_rounds(estimator.refine(seen, camera=camera))) for track, seen in tracked]
        lifted = time.perf_counter()
        seconds = {"decode": decoded - started, "track": found - decoded, "lift": lifted - found}
        poses, placed = {}, {}
        for track, person in people:
            trust = np.where(np.array(person.source) == "model", 1.0, person.confidence)
            pose, weights, placed[track] = roots.stacked(person.pose_3d, person.joints_2d, person.confidence, trust)
            poses[track] = (pose, weights)
        ready = smoother.push(index, poses, (people, placed, keep(image) if keep else None, seconds))
        seconds["smooth"] = time.perf_counter() - lifted
        yield from _frames(ready, fps, roots)
    yield from _frames(smoother.finish(), fps, roots)
    if fault is not None:
        raise fault


def _without_rounds(person: Person) -> Person:
    """The person without the refinement rounds' belief maps (a video does not show them)."""
    return dataclasses.replace(person, rounds=())


def _frames(ready: list, fps: float, roots: TrackRoots) -> Iterator[VideoFrame]:
    for index, (people, placed, kept, seconds), smoothed in ready:
        tracked = tuple(TrackedPerson(track, person, *roots.split(smoothed[track], placed[track]))
                        for track, person in people)
        yield VideoFrame(index, index / fps, tracked, kept, seconds)
