"""Following people from frame to frame the way BlazePose does, with a track id for each.

Each frame, every live track's landmark network runs on the crop that the track's previous
landmarks gave (:meth:`~poselift.detectors.blazepose.LandmarkOutput.following_crop`): no
detector. A track ends when the network no longer sees a person in its crop (presence below
:data:`~poselift.detectors.blazepose.PRESENCE_THRESHOLD`), or when it has drifted onto
another track's person (the younger of the two ends, so the older keeps its id). The person
detector runs on the first frame, on any frame after a track ended or while nobody is
tracked, and every ``detect_every`` frames to pick up people who enter; a detection whose
person is already tracked is skipped. The others go through the landmark network twice, as in
a photo (on the detector's crop, then on the crop its answer gives), and start a new track
with a new id if the network is sure of a person both times (:data:`START_PRESENCE`). A person
who leaves and returns gets a new id; two people visible together never exchange theirs
unless one track's crop slides onto the other person, which ends that track.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..detectors.blazepose import PRESENCE_THRESHOLD, BlazePose, Crop, LandmarkOutput, same_person

__all__ = ["DETECT_EVERY", "Tracker"]

DETECT_EVERY = 30
"""Frames between detector runs that look for people entering (one second at 30 frames/s)."""

START_PRESENCE = 0.8
"""Presence the landmark network must give a detection, on both passes, to start a track (a
track then lives while its presence stays above BlazePose's 0.5). On sports2d_demo.mp4, with
0.5 to start and one pass, backlit false starts made 11 tracks of 1 to 7 frames besides the
real ones; with this, none (the only clip this was looked at on, and one the docs report)."""

TRACKED_FRACTION = 0.3
"""A detection is of a tracked person when its mid-hips lie within this fraction of the
track's crop side from the crop's centre (which sits at that person's mid-hips)."""


@dataclass
class _Track:
    id: int
    crop: Crop


class Tracker:
    """Tracks people through the frames of one video.

    Args:
        blazepose: the two networks.
        detect_every: run the detector every this many frames even when nobody was lost
            (0: only on the first frame and after a loss).
        max_people: follow at most this many people (None: everyone found).

    Attributes:
        detector_runs: how many frames the detector ran on so far.
    """

    def __init__(self, blazepose: BlazePose, detect_every: int = DETECT_EVERY, max_people: int | None = None) -> None:
        if detect_every < 0:
            raise ValueError(f"detect_every must be 0 or more, got {detect_every}")
        if max_people is not None and max_people < 1:
            raise ValueError(f"max_people must be positive, got {max_people}")
        self.blazepose, self.detect_every, self.max_people = blazepose, detect_every, max_people
        self.detector_runs = 0
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._frame = 0

    def step(self, frame: np.ndarray) -> list[tuple[int, LandmarkOutput]]:
        """The people in the next frame ((H, W, 3) uint8 RGB): ``(track id, landmarks)``, oldest track first."""
        found: list[tuple[_Track, LandmarkOutput]] = []
        lost = False
        for track in self._tracks:  # oldest first, so that a younger duplicate is the one that ends
            seen = self.blazepose.landmarks(frame, track.crop)
            if seen.presence < PRESENCE_THRESHOLD or any(same_person(seen, other) for _, other in found):
                lost = True
                continue
            found.append((track, dataclasses.replace(seen, score=seen.presence)))
        room = self.max_people is None or len(found) < self.max_people
        periodic = self.detect_every > 0 and self._frame % self.detect_every == 0
        if room and (self._frame == 0 or lost or not found or periodic):
            found += self._new_people(frame, [seen for _, seen in found])
        for track, seen in found:
            track.crop = seen.following_crop()
        self._tracks = [track for track, _ in found]
        self._frame += 1
        return [(track.id, seen) for track, seen in found]

    def _new_people(self, frame: np.ndarray, tracked: list[LandmarkOutput]) -> list[tuple[_Track, LandmarkOutput]]:
        """New tracks for the people the detector finds that no track follows."""
        self.detector_runs += 1
        new: list[tuple[_Track, LandmarkOutput]] = []
        for detection in self.blazepose.detect_windows(frame):
            if self.max_people is not None and len(tracked) + len(new) >= self.max_people:
                break
            followed = tracked + [seen for _, seen in new]
            if any(np.hypot(*(detection.keypoints[0] - seen.crop.centre)) < TRACKED_FRACTION * seen.crop.side
                   for seen in followed):
                continue
            first = self.blazepose.landmarks(frame, self.blazepose.region(detection))
            if first.presence < START_PRESENCE:
                continue
            seen = self.blazepose.landmarks(frame, first.following_crop())
            if seen.presence < START_PRESENCE or any(same_person(seen, other) for other in followed):
                continue
            scored = dataclasses.replace(seen, score=detection.score * seen.presence)
            new.append((_Track(self._next_id, seen.crop), scored))
            self._next_id += 1
        return new
