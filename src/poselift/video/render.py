"""A rendered video: each frame with its 2D skeletons, and the 3D skeletons beside it, drawn with OpenCV.

The frame is shrunk to :data:`RENDER_HEIGHT` pixels (if taller) and a square panel of the
same height is added on its right, where each person's smoothed 3D pose is drawn seen from
:data:`VIEW_YAW_DEG` to the side and :data:`VIEW_PITCH_DEG` above, side by side in the order
they stand in across the frame. Lines and text only (no plotting library): drawing and
encoding take about 4.5 ms a frame for a 640x480 video (``benchmarks/video_speed.py``).
Colours: left limbs blue, right red, the rest grey, as in the photo pictures; each track's id
is written by its head, in both panels.

The MP4 (MPEG-4 Part 2, OpenCV's FFmpeg) is written to a temporary file beside the output
and renamed onto it when closed, so the output is always a whole, playable video; the next
render of the same output removes the temporary file a killed run left.
"""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..files import OutputError, check_replaceable, readable_by_all
from ..skeleton import H36M17
from .pipeline import VideoFrame
from .reading import VideoInfo

__all__ = ["Renderer", "RENDER_HEIGHT"]

RENDER_HEIGHT = 540
"""Height of the rendered video, pixels (frames less tall keep theirs)."""

VIEW_YAW_DEG, VIEW_PITCH_DEG = 30.0, 15.0
PANEL_SPAN_MM = 2400.0
"""Height of the 3D panel, millimetres of the scene."""

_BGR = {"left": (200, 110, 30), "right": (40, 40, 220), "centre": (150, 150, 150)}
_COLOURS = [_BGR[side] for side in H36M17.sides]


def _view_rotation() -> np.ndarray:
    yaw, pitch = np.radians(VIEW_YAW_DEG), np.radians(VIEW_PITCH_DEG)
    turn = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    return tilt @ turn


class Renderer:
    """Draws frames into ``path`` (an ``.mp4``); use :meth:`keep` as the pipeline's ``keep``.

    Raises:
        OutputError: the video cannot be written there (folder unwritable, full, or no encoder).
    """

    def __init__(self, path: Path, info: VideoInfo) -> None:
        self.path = Path(path)
        check_replaceable(self.path)
        self.scale = min(1.0, RENDER_HEIGHT / info.height)
        self.size = (max(2, round(info.width * self.scale)) // 2 * 2, max(2, round(info.height * self.scale)) // 2 * 2)
        self.panel = self.size[1]
        self.frames = 0
        self._rotation = _view_rotation()
        for stale in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp.mp4"):  # a killed run's
            stale.unlink(missing_ok=True)
        fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp.mp4")
        os.close(fd)
        self._writer = cv2.VideoWriter(self._tmp, cv2.VideoWriter_fourcc(*"mp4v"), info.fps,
                                       (self.size[0] + self.panel, self.size[1]))
        if not self._writer.isOpened():
            self._discard()
            raise OutputError(0, f"cannot write {self.path}: OpenCV's FFmpeg opened no MPEG-4 encoder")

    def keep(self, image: np.ndarray) -> np.ndarray:
        """The frame as drawn (BGR, shrunk): what the pipeline holds until the frame is drawn."""
        small = image if image.shape[1::-1] == self.size else cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small, cv2.COLOR_RGB2BGR)

    def draw(self, frame: VideoFrame) -> np.ndarray:
        """The picture of one frame (kept by :meth:`keep`): (H, W + H, 3) uint8 BGR."""
        canvas = np.full((self.size[1], self.size[0] + self.panel, 3), 255, np.uint8)
        canvas[:, :self.size[0]] = frame.kept
        ground = int(self.panel * 0.85)
        cv2.line(canvas, (self.size[0], ground), (self.size[0] + self.panel, ground), (210, 210, 210), 1)
        left_to_right = sorted(frame.people, key=lambda tracked: tracked.person.joints_2d[0, 0])
        for slot, tracked in enumerate(left_to_right):
            self._skeleton(canvas, tracked.person.joints_2d * self.scale, tracked.track)
            across = (slot + 1) / (len(left_to_right) + 1)
            pose = tracked.pose_3d @ self._rotation.T
            feet = pose[:, 1].min()
            pixels_per_mm = self.panel / PANEL_SPAN_MM
            xy = np.stack([self.size[0] + across * self.panel + pose[:, 0] * pixels_per_mm,
                           ground - (pose[:, 1] - feet) * pixels_per_mm], axis=1)
            self._skeleton(canvas, xy, tracked.track)
        return canvas

    @staticmethod
    def _skeleton(canvas: np.ndarray, points: np.ndarray, track: int) -> None:
        """One (17, 2) pixel skeleton with its track id by the head."""
        if not np.all(np.isfinite(points)):
            return
        pts = np.round(points).astype(np.int32)
        for child, parent in H36M17.bones:
            cv2.line(canvas, tuple(pts[child]), tuple(pts[parent]), _COLOURS[child], 2, cv2.LINE_AA)
        head = pts[H36M17.index("head_top")]
        cv2.putText(canvas, str(track), (int(head[0]) - 6, int(head[1]) - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(canvas, str(track), (int(head[0]) - 6, int(head[1]) - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 1, cv2.LINE_AA)

    def write(self, frame: VideoFrame) -> None:
        """Draw a frame and add it to the video."""
        self._writer.write(self.draw(frame))
        self.frames += 1

    def close(self) -> None:
        """Finish the video and move it onto its path (a video of no frames is not kept).

        Raises:
            OutputError: it could not be moved there.
        """
        self._writer.release()
        if not self.frames:
            self._discard()
            return
        try:
            readable_by_all(self._tmp)
            os.replace(self._tmp, self.path)
        except OSError as error:
            self._discard()
            raise OutputError(error.errno or 0, f"cannot write {self.path}: {error.strerror or error}") from None

    def abandon(self) -> None:
        """Stop without keeping anything."""
        self._writer.release()
        self._discard()

    def _discard(self) -> None:
        try:
            os.unlink(self._tmp)
        except OSError:
            pass
