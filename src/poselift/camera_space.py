"""Where each person stands: the root joint in the camera's coordinates (not in the paper).

The lifters give a pose relative to its root joint (the pelvis), in millimetres at an
assumed body size (``height_mm``; the learned lifter's own size). With a pinhole camera of
known focal length, the pose and its 2D joints fix the root: joint ``j`` at
``root + p_j`` (camera axes) is seen at ``x_j = (X_j / Z_j, Y_j / Z_j)`` in normalised image
coordinates, which is linear in the root:

    root_x + p_jx - x_j (root_z + p_jz) = 0,    root_y + p_jy - y_j (root_z + p_jz) = 0.

:func:`place_root` solves these two equations per joint by weighted least squares (a 3x3
system per pose). Depth scales with the assumed size: a person 10% taller than assumed is
placed 10% too near. Camera axes are OpenCV's (x right, y down, z forward along the optical
axis), the frame Human3.6M's camera coordinates and most tools use; origin at the camera.

The focal length comes from ``--focal-px``, from a field of view (:func:`focal_from_fov`), or
from a photo's EXIF ``FocalLengthIn35mmFilm`` (:func:`focal_from_35mm`); the principal point
is the photo's centre unless given.

A pose lifted under weak perspective (the photo pipeline's lifts) is the body as seen along the
ray from the camera to the person, as if that person stood on the optical axis; a person off
the axis is seen from the side by as much. :func:`ray_turn` gives the turn from that frame into
the camera's, which the camera's focal length and principal point fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .files import rounded
from .geometry import VIEW_FROM_OPENCV

__all__ = ["Camera", "PhotoCameras", "focal_from_fov", "focal_from_35mm", "place_root", "ray_turn",
           "view_to_camera_axes", "camera_to_view_axes", "placement_fields", "FULL_FRAME_DIAGONAL_MM"]

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
"""Diagonal of a 35 mm film frame: a 35 mm-equivalent focal length is relative to it."""


@dataclass(frozen=True)
class Camera:
    """A pinhole camera for placing people (no lens distortion).

    Attributes:
        focal_px: focal length in pixels of the photo as a viewer shows it.
        principal_px: (2,) principal point in pixels.
        source: where the focal length came from: ``"focal-px"``, ``"fov"``, ``"exif"``, or a
            calibration's name.
    """

    focal_px: float
    principal_px: tuple[float, float]
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.focal_px) and self.focal_px > 0):
            raise ValueError(f"focal length must be a positive number of pixels, got {self.focal_px}")
        if len(self.principal_px) != 2 or not all(math.isfinite(c) for c in self.principal_px):
            raise ValueError(f"principal point must be two finite pixel coordinates, got {self.principal_px}")

    @classmethod
    def centred(cls, focal_px: float, width: int, height: int, source: str) -> "Camera":
        """A camera whose principal point is the centre of a ``width`` x ``height`` image."""
        return cls(float(focal_px), (width / 2.0, height / 2.0), source)

    def describe(self) -> dict:
        """The camera as written in result files."""
        return {"focal_px": round(self.focal_px, 2), "principal_px": [round(c, 2) for c in self.principal_px],
                "source": self.source}


def focal_from_fov(fov_deg: float, width: int) -> float:
    """Focal length in pixels of a camera whose horizontal field of view is ``fov_deg`` over ``width`` px."""
    if not (math.isfinite(fov_deg) and 0 < fov_deg < 180):
        raise ValueError(f"field of view must lie between 0 and 180 degrees, got {fov_deg}")
    return width / 2.0 / math.tan(math.radians(fov_deg) / 2.0)


def focal_from_35mm(focal_35mm: float, width: int, height: int) -> float:
    """Focal length in pixels from a 35 mm-equivalent focal length (EXIF ``FocalLengthIn35mmFilm``).

    The equivalence is defined on the diagonal (CIPA DC-008): the photo's diagonal in pixels
    spans what 43.3 mm spans on film, whatever the aspect ratio.
    """
    if not (math.isfinite(focal_35mm) and focal_35mm > 0):
        raise ValueError(f"35 mm-equivalent focal length must be positive, got {focal_35mm}")
    return focal_35mm * math.hypot(width, height) / FULL_FRAME_DIAGONAL_MM


def view_to_camera_axes(points_view: np.ndarray) -> np.ndarray:
    """(..., 3) points in the view frame (x right, y up, z towards the camera) -> OpenCV camera axes."""
    return np.asarray(points_view) @ VIEW_FROM_OPENCV.T  # the matrix is its own inverse


def camera_to_view_axes(points_camera: np.ndarray) -> np.ndarray:
    """(..., 3) points in OpenCV camera axes -> the view frame (the same flip: it is its own inverse)."""
    return view_to_camera_axes(points_camera)


def ray_turn(points_2d: np.ndarray, weights: np.ndarray | None, camera: Camera) -> np.ndarray:
    """The turn from the frame of the ray to a person into the camera's view frame.

    Args:
        points_2d: (..., 17, 2) Human3.6M-17 joints in pixels.
        weights: (..., 17) their weights (0: missing; None: all 1).
        camera: focal length and principal point.

    Returns:
        (..., 3, 3) ``R``: a pose ``v`` (row vectors, view frame: x right, y up, z towards the
        camera) lifted as seen along the ray through the mean of the weighted limb joints (the
        learned lifter's ray, :func:`~poselift.nn.lifter_network.ray_rotation`) is ``v @ R`` as
        the camera sees it. The identity where no limb joint is weighted.
    """
    import torch

    from .nn.lifter_network import INPUT_INDEX, ray_rotation, visible_centre

    points = np.asarray(points_2d, dtype=np.float64)[..., INPUT_INDEX.numpy(), :]
    w = np.ones(points.shape[:-1]) if weights is None else np.asarray(weights, float)[..., INPUT_INDEX.numpy()]
    visible = ((w > 0) & np.isfinite(points).all(-1)).astype(np.float64)
    normalised = (np.nan_to_num(points) - np.asarray(camera.principal_px)) / camera.focal_px
    centre = visible_centre(torch.as_tensor(normalised.reshape(-1, len(INPUT_INDEX), 2)),
                            torch.as_tensor(visible.reshape(-1, len(INPUT_INDEX))))  # 0 where none is weighted
    return ray_rotation(centre).numpy().reshape(*normalised.shape[:-2], 3, 3)


def place_root(pose_view_mm: np.ndarray, points_2d: np.ndarray, weights: np.ndarray | None,
               camera: Camera) -> np.ndarray:
    """The root joint's position in camera coordinates that best explains the 2D joints.

    Args:
        pose_view_mm: (..., J, 3) root-relative pose in millimetres, view frame (x right, y up,
            z towards the camera), as the lifters return it.
        points_2d: (..., J, 2) the 2D joints in pixels.
        weights: (..., J) non-negative weight of each joint (None: all 1).
        camera: focal length and principal point.

    Returns:
        (..., 3) root position in millimetres, OpenCV camera axes (x right, y down, z forward).
        NaN where the joints do not fix it (fewer than two weighted joints) or where it would
        lie behind the camera (``z <= 0``).
    """
    pose = view_to_camera_axes(np.asarray(pose_view_mm, dtype=np.float64))
    points = np.asarray(points_2d, dtype=np.float64)
    w = np.ones(points.shape[:-1]) if weights is None else np.broadcast_to(np.asarray(weights, float),
                                                                           points.shape[:-1])
    w = np.where(np.isfinite(points).all(-1), w, 0.0)
    normalised = (np.nan_to_num(points) - np.asarray(camera.principal_px)) / camera.focal_px  # (..., J, 2)
    # Rows a_jk . root = b_jk for k in (x, y): a = e_k - x_jk e_z, b = x_jk p_jz - p_jk.
    rows = np.zeros(points.shape[:-1] + (2, 3))
    rows[..., 0, 0] = rows[..., 1, 1] = 1.0
    rows[..., :, 2] = -normalised
    rhs = normalised * pose[..., 2:3] - pose[..., :2]
    rhs = np.where(w[..., None] > 0, rhs, 0.0)
    gram = np.einsum("...j,...jki,...jkl->...il", w, rows, rows)
    moment = np.einsum("...j,...jki,...jk->...i", w, rows, rhs)
    usable = (np.count_nonzero(w > 0, axis=-1) >= 2) & (np.abs(np.linalg.det(gram)) > 1e-12)
    safe_gram = np.where(usable[..., None, None], gram, np.eye(3))
    root = np.linalg.solve(safe_gram, moment[..., None])[..., 0]
    return np.where((usable & (root[..., 2] > 0))[..., None], root, np.nan)


@dataclass(frozen=True)
class PhotoCameras:
    """How a photo's or video's camera is found: one focal length for every file (``focal_px``),
    or one horizontal field of view (``fov_deg``), else a photo's EXIF ``FocalLengthIn35mmFilm``
    (where ``exif``; a video has none); the principal point is the picture's centre. None of
    these: no camera."""

    focal_px: float | None = None
    fov_deg: float | None = None
    exif: bool = True

    def __post_init__(self) -> None:
        if self.focal_px is not None and self.fov_deg is not None:
            raise ValueError("give a focal length or a field of view, not both")
        if self.focal_px is not None:
            Camera(self.focal_px, (0.0, 0.0), "focal-px")  # checks the value before any photo
        if self.fov_deg is not None:
            focal_from_fov(self.fov_deg, 1)

    def for_photo(self, width: int, height: int, focal_35mm: float | None) -> Camera | None:
        """The camera of a ``width`` x ``height`` photo whose EXIF gives ``focal_35mm`` (or None)."""
        if self.focal_px is not None:
            return Camera.centred(self.focal_px, width, height, "focal-px")
        if self.fov_deg is not None:
            return Camera.centred(focal_from_fov(self.fov_deg, width), width, height, "fov")
        if self.exif and focal_35mm is not None:
            return Camera.centred(focal_from_35mm(focal_35mm, width, height), width, height, "exif")
        return None

    def for_video(self, width: int, height: int) -> Camera | None:
        """The camera of a ``width`` x ``height`` video (``focal_px`` or ``fov_deg``; no EXIF)."""
        return self.for_photo(width, height, None)


def placement_fields(root_mm: np.ndarray | None, pose_view_mm: np.ndarray) -> dict:
    """A result document's ``root_camera_mm`` and ``joints_camera_mm`` (rounded, OpenCV camera
    axes) for a pose placed at ``root_mm`` (3,); both None where the root is None or not finite."""
    if root_mm is None or not np.all(np.isfinite(root_mm)):
        return {"root_camera_mm": None, "joints_camera_mm": None}
    return {"root_camera_mm": rounded(root_mm, "mm"),
            "joints_camera_mm": rounded(root_mm + view_to_camera_axes(pose_view_mm), "mm")}
