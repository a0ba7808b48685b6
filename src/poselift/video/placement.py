"""Each track's root in camera space, smoothed with its pose.

With a known camera each frame's pose is placed in camera space
(:func:`~poselift.camera_space.place_root`), and its root rides through the track's smoother
as one more joint, so that the track's path through the room is as steady as its pose: on
Human3.6M S9 from Stacked-Hourglass detections the root placed frame by frame has an
acceleration error of 90 mm per frame squared, which the pose's own smoothing settings cut by
66% (causal) and 99% (offline) (``benchmarks/video_root.py``; docs/video.md).
"""

from __future__ import annotations

import numpy as np

from ..camera_space import Camera, place_root

__all__ = ["TrackRoots"]


class TrackRoots:
    """Appends each track's camera-space root to its pose before smoothing, and splits it off after.

    Args:
        camera: the video's camera; None: no root (:meth:`stacked` returns the pose as it is).
    """

    def __init__(self, camera: Camera | None) -> None:
        self.camera = camera

    def stacked(self, pose_3d: np.ndarray, points_2d: np.ndarray, weights: np.ndarray,
                trust: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """A frame's pose and smoothing weights with the root appended, and whether the 2D fixed it.

        Args:
            pose_3d: (J, 3) root-relative pose, mm, view frame (as lifted, turned into the camera's view).
            points_2d, weights: (J, 2) pixels and (J,) weights the root is placed from.
            trust: (J,) the pose's smoothing weights.

        Returns:
            ``(J + 1, 3)`` the pose with the root (mm, OpenCV camera axes) as its last row,
            ``(J + 1,)`` the weights with the root's: the mean weight of the joints it was
            placed from, and whether the root was placed. Where the 2D does not fix it
            (:func:`~poselift.camera_space.place_root` gives NaN) the root row is NaN, which the
            smoother takes as no reading. Without a camera: ``(pose_3d, trust, False)``.
        """
        if self.camera is None:
            return pose_3d, trust, False
        root = place_root(pose_3d, points_2d, weights, self.camera)
        placed = bool(np.all(np.isfinite(root)))
        seen = np.asarray(weights, dtype=np.float64)[np.isfinite(points_2d).all(-1) & (np.asarray(weights) > 0)]
        certainty = float(np.clip(seen.mean(), 0.0, 1.0)) if placed else 1.0
        return np.vstack([pose_3d, root]), np.append(trust, certainty), placed

    def split(self, smoothed: np.ndarray, placed: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """``(pose (J, 3), root (3,) or None)`` of a smoothed :meth:`stacked` array; the root is
        None without a camera or where this frame's 2D did not fix it."""
        if self.camera is None:
            return smoothed, None
        return smoothed[:-1], smoothed[-1] if placed else None
