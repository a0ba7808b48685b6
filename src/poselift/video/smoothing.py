"""Temporal smoothing of one tracked person's poses: a constant-velocity Kalman filter per coordinate.

Each coordinate of the pose (17 joints x 3 for the 3D pose, in millimetres, root-relative)
is a position with a velocity, driven by white acceleration noise of spectral density
``q`` (mm^2/s^3) and seen each frame with measurement noise ``r^2 / w`` (mm^2), where ``w``
is the joint's weight, clipped to [:data:`MIN_WEIGHT`, 1]: in videos BlazePose's visibility of
a detected joint, 1 for a joint only the 3D model provides. A joint the detector barely sees
moves the estimate less. A coordinate given as NaN is no reading: the filter carries its
prediction through that frame (and a track that starts without one starts from nothing known).
Time steps are in seconds, so the same settings hold at any frame rate.

Two modes:

- ``"causal"``: the forward filter. A frame's estimate uses that frame and the ones before
  it only, so it is ready as soon as the frame is (for live use).
- ``"offline"``: the Rauch-Tung-Striebel backward pass over the filtered states. To keep
  memory flat on an hour of video it runs over blocks: whenever :data:`OFFLINE_LAG_S` of
  frames wait beyond a block of the same length, the block is smoothed from the newest
  frame back and handed out. Every frame thus sees at least that much of the future; on
  Human3.6M's S8 (the prior lifter's poses from SH detections, one camera's 30 sequences)
  this differs from the whole-sequence smoother by 0.00002 mm on average, 0.004 mm at most
  (``benchmarks/video_smoothing.py --tune``).

The noise settings were chosen on Human3.6M's S8 (the validation subject), per mode, as the
least smoothing within 0.1 mm of the lowest MPJPE from Stacked-Hourglass detections with the
default (learned) lifter that still cuts the acceleration error by 60%, every frame of the four
cameras (``benchmarks/video_smoothing.py --tune``,
which says why not the lowest); docs/video.md has the numbers. The measurement noise is
fixed at 30 mm: with every joint weighted alike only the ratio of the two matters.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["SMOOTHING_MODES", "Smoothing", "SMOOTHINGS", "TrackSmoother", "FrameSmoother", "smooth_sequence",
           "OFFLINE_LAG_S"]

SMOOTHING_MODES = ("none", "causal", "offline")

OFFLINE_LAG_S = 1.5
"""Seconds of later frames every offline-smoothed frame sees (and the delay of its output): the
less the acceleration noise, the further back a frame's future reaches; 1.5 s keeps the blocks
within a few thousandths of a millimetre of the whole-sequence smoother at the shipped noise (1 s
did at the noise shipped before, 2.5 times larger)."""

MIN_WEIGHT = 0.05
"""Weights are clipped to at least this: a joint seen with weight 0 still has a finite (large) noise."""

INITIAL_SPEED_MM_S = 1000.0
"""Standard deviation of the velocity before the first frame (a person moves at walking speed)."""

UNKNOWN_POSITION_MM = 1.0e6
"""Standard deviation of a position before its first reading, where a track starts without one."""


@dataclass(frozen=True)
class Smoothing:
    """A mode and its noise: ``acceleration`` (q, mm^2/s^3) and ``measurement`` (r, mm)."""

    mode: str
    acceleration: float = 0.0
    measurement: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in SMOOTHING_MODES:
            raise ValueError(f"smoothing must be one of {', '.join(SMOOTHING_MODES)}, got {self.mode!r}")
        if self.mode != "none" and not (self.acceleration > 0 and self.measurement > 0
                                        and np.isfinite(self.acceleration) and np.isfinite(self.measurement)):
            raise ValueError(f"smoothing noise must be positive and finite, got {self.acceleration}, "
                             f"{self.measurement}")

    def describe(self) -> dict:
        """What an output records of the smoothing."""
        if self.mode == "none":
            return {"mode": "none"}
        return {"mode": self.mode, "acceleration_noise_mm2_s3": self.acceleration,
                "measurement_noise_mm": self.measurement,
                "lag_s": OFFLINE_LAG_S if self.mode == "offline" else 0.0}


SMOOTHINGS = {
    "none": Smoothing("none"),
    "causal": Smoothing("causal", acceleration=5.0e6, measurement=30.0),
    "offline": Smoothing("offline", acceleration=2.0e5, measurement=30.0),
}
"""The shipped settings of each mode (chosen on S8, see the module docstring)."""


class TrackSmoother:
    """Smooths one track's poses as they come.

    Args:
        smoothing: the mode and noise (:data:`SMOOTHINGS`).
        fps: frames per second of the track.
        lag_s: offline: seconds of later frames each frame sees at least (default
            :data:`OFFLINE_LAG_S`; ``inf``: the whole track, in memory).

    :meth:`push` takes a frame's pose and returns the frames whose smoothed poses are ready
    (the same frame in causal mode, a block of earlier ones now and then offline);
    :meth:`finish` returns the rest. Frames come back in order, as ``(key, pose)`` with the
    ``key`` given to :meth:`push`.
    """

    def __init__(self, smoothing: Smoothing, fps: float, lag_s: float = OFFLINE_LAG_S) -> None:
        if not (fps > 0 and np.isfinite(fps)):
            raise ValueError(f"fps must be positive and finite, got {fps}")
        self.smoothing, self.dt = smoothing, 1.0 / fps
        self.lag = max(1, int(round(lag_s * fps))) if np.isfinite(lag_s) else np.inf
        self._state = None  # (position, velocity, p00, p01, p11), each (D,)
        self._waiting: deque = deque()  # offline: (key, filtered state, predicted state) per frame

    def push(self, key, pose: np.ndarray, weights: np.ndarray | None = None) -> list[tuple[object, np.ndarray]]:
        """Add a frame: ``pose`` (J, C) (millimetres for 3D; NaN: no reading of that coordinate),
        ``weights`` (J,) in [0, 1] or None (all 1)."""
        shape = pose.shape
        if self.smoothing.mode == "none":
            return [(key, pose)]
        z = np.asarray(pose, dtype=np.float64).reshape(-1)
        noise = self._noise(shape, weights)
        predicted = None if self._state is None else self._predict(self._state)
        unread = ~np.isfinite(z)
        if unread.any():  # no reading: the prediction with infinite noise (a gain of 0), or nothing known yet
            z = np.where(unread, 0.0 if predicted is None else predicted[0], z)
            noise = np.where(unread, UNKNOWN_POSITION_MM ** 2 if predicted is None else np.inf, noise)
        self._state = self._start(z, noise) if predicted is None else self._update(predicted, z, noise)
        if self.smoothing.mode == "causal":
            return [(key, self._state[0].reshape(shape))]
        self._waiting.append((key, self._state, predicted, shape))
        if len(self._waiting) < 2 * self.lag:
            return []
        return self._smoothed(count=self.lag)

    def finish(self) -> list[tuple[object, np.ndarray]]:
        """The frames still waiting (offline), smoothed with everything seen."""
        return self._smoothed(count=len(self._waiting)) if self._waiting else []

    def _noise(self, shape: tuple[int, ...], weights: np.ndarray | None) -> np.ndarray:
        variance = np.full(shape, self.smoothing.measurement ** 2)
        if weights is not None:
            variance /= np.clip(np.nan_to_num(np.asarray(weights, dtype=np.float64)), MIN_WEIGHT, 1.0)[:, None]
        return variance.reshape(-1)

    def _start(self, z: np.ndarray, noise: np.ndarray):
        return z.copy(), np.zeros_like(z), noise.copy(), np.zeros_like(z), np.full_like(z, INITIAL_SPEED_MM_S ** 2)

    def _predict(self, state):
        x, v, p00, p01, p11 = state
        dt, q = self.dt, self.smoothing.acceleration
        return (x + dt * v, v, p00 + 2 * dt * p01 + dt * dt * p11 + q * dt ** 3 / 3,
                p01 + dt * p11 + q * dt * dt / 2, p11 + q * dt)

    @staticmethod
    def _update(predicted, z: np.ndarray, noise: np.ndarray):
        x, v, p00, p01, p11 = predicted
        gain0, gain1 = p00 / (p00 + noise), p01 / (p00 + noise)
        innovation = z - x
        return x + gain0 * innovation, v + gain1 * innovation, (1 - gain0) * p00, (1 - gain0) * p01, p11 - gain1 * p01

    def _smoothed(self, count: int) -> list[tuple[object, np.ndarray]]:
        """RTS backward pass from the newest waiting frame; hands out the oldest ``count``."""
        frames = list(self._waiting)
        x, v = frames[-1][1][0], frames[-1][1][1]
        out = [None] * len(frames)
        out[-1] = x
        dt = self.dt
        for t in range(len(frames) - 2, -1, -1):
            fx, fv, f00, f01, f11 = frames[t][1]
            px, pv, p00, p01, p11 = frames[t + 1][2]
            # C = P_t F^T (P'_{t+1})^-1, with F^T = [[1, 0], [dt, 1]]
            a00, a01, a10, a11 = f00 + dt * f01, f01, f01 + dt * f11, f11
            det = p00 * p11 - p01 * p01
            c00, c01 = (a00 * p11 - a01 * p01) / det, (a01 * p00 - a00 * p01) / det
            c10, c11 = (a10 * p11 - a11 * p01) / det, (a11 * p00 - a10 * p01) / det
            dx, dv = x - px, v - pv
            x, v = fx + c00 * dx + c01 * dv, fv + c10 * dx + c11 * dv
            out[t] = x
        ready = [(frames[t][0], out[t].reshape(frames[t][3])) for t in range(count)]
        for _ in range(count):
            self._waiting.popleft()
        return ready


def smooth_sequence(poses: np.ndarray, smoothing: Smoothing, fps: float, weights: np.ndarray | None = None,
                    lag_s: float = OFFLINE_LAG_S) -> np.ndarray:
    """Smooth a whole track at once: (T, J, C) poses, (T, J) weights or None -> (T, J, C)."""
    smoother = TrackSmoother(smoothing, fps, lag_s)
    out = np.empty(poses.shape, dtype=np.float64)
    for t in range(len(poses)):
        for key, pose in smoother.push(t, poses[t], None if weights is None else weights[t]):
            out[key] = pose
    for key, pose in smoother.finish():
        out[key] = pose
    return out


class FrameSmoother:
    """Smooths every track of a stream of frames and hands the frames back in order, each when
    all its tracks' smoothed poses are in.

    A track missing from a frame has ended: its smoother is finished then (a track id is never
    used again).

    Args:
        smoothing: the mode and noise.
        fps: frames per second of the stream.
    """

    def __init__(self, smoothing: Smoothing, fps: float) -> None:
        TrackSmoother(smoothing, fps)  # checks the arguments now
        self.smoothing, self.fps = smoothing, fps
        self._smoothers: dict[int, TrackSmoother] = {}
        self._waiting: deque = deque()  # [index, payload, tracks, {track: smoothed pose}]

    def push(self, index: int, poses: dict[int, tuple[np.ndarray, np.ndarray | None]], payload=None) -> list:
        """Add frame ``index``: per track id its (J, C) pose and (J,) weights (or None); ``payload``
        rides along. Returns the frames now ready: ``(index, payload, {track: smoothed pose})``."""
        entry = [index, payload, set(poses), {}]
        self._waiting.append(entry)
        by_index = {e[0]: e for e in self._waiting}
        for track in [t for t in self._smoothers if t not in poses]:
            self._store(by_index, self._smoothers.pop(track).finish(), track)
        for track, (pose, weights) in poses.items():
            if track not in self._smoothers:
                self._smoothers[track] = TrackSmoother(self.smoothing, self.fps)
            self._store(by_index, self._smoothers[track].push(index, pose, weights), track)
        return self._ready()

    def finish(self) -> list:
        """The frames still waiting, with every track smoothed to its end."""
        by_index = {e[0]: e for e in self._waiting}
        for track, smoother in self._smoothers.items():
            self._store(by_index, smoother.finish(), track)
        self._smoothers.clear()
        return self._ready()

    @staticmethod
    def _store(by_index: dict, ready: list, track: int) -> None:
        for index, pose in ready:
            by_index[index][3][track] = pose

    def _ready(self) -> list:
        out = []
        while self._waiting and len(self._waiting[0][3]) == len(self._waiting[0][2]):
            index, payload, _, smoothed = self._waiting.popleft()
            out.append((index, payload, smoothed))
        return out
