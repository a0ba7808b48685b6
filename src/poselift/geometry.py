"""Geometry shared by the prior, lifting and evaluation.

Frames (see README "Conventions"):

* world: the frame of the mocap readers, millimetres, **z up** (Human3.6M's world frame;
  CMU data is rotated into it).
* prior: the frame of the 3D pose model (paper section 4.1), **y up**; x to the person's
  viewer's right and z towards the viewer (right-handed), so that weak perspective with no
  camera rotation sees the x-y plane: image ``u = s x``, ``v = -s y`` (image y points down).
* camera: OpenCV, x right, y down, z forward.

All functions take any leading batch shape: joints on the second-to-last axis and
coordinates on the last, ``(..., J, 3)`` poses and ``(..., J, 2)`` image points. Angles are
radians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import JointSet

__all__ = [
    "PRIOR_FROM_WORLD",
    "world_to_prior",
    "prior_to_world",
    "rotation_about_up",
    "rotate_about_up",
    "VIEW_FROM_OPENCV",
    "wrap_angle",
    "WEAK_PERSPECTIVE",
    "weak_perspective",
    "PinholeCamera",
    "limb_size",
    "normalise_size",
    "mirror",
    "procrustes_align",
]

# Rotation taking z-up world coordinates (x, y, z) to the y-up prior frame (x, z, -y).
PRIOR_FROM_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# A camera's view frame (x right, y up, z towards the camera) from its OpenCV axes (x right, y down, z forward).
VIEW_FROM_OPENCV = np.diag([1.0, -1.0, -1.0])

# Weak-perspective projection Pi of eq. 4: (x, y, z) in the prior frame -> (x, -y) pixels
# per unit of scale (image y points down).
WEAK_PERSPECTIVE = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def world_to_prior(points: np.ndarray) -> np.ndarray:
    """(..., J, 3) z-up world points -> (..., J, 3) y-up prior-frame points."""
    return np.asarray(points) @ PRIOR_FROM_WORLD.T


def prior_to_world(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`world_to_prior`."""
    return np.asarray(points) @ PRIOR_FROM_WORLD


def rotation_about_up(theta: np.ndarray | float) -> np.ndarray:
    """Ground-plane rotation of the prior frame by ``theta`` radians about the y axis.

    Returns (..., 3, 3) matrices ``[[c, 0, s], [0, 1, 0], [-s, 0, c]]`` (the R of eq. 1 and 4).
    """
    theta = np.asarray(theta, dtype=np.float64)
    c, s = np.cos(theta), np.sin(theta)
    zero, one = np.zeros_like(theta), np.ones_like(theta)
    return np.stack([np.stack([c, zero, s], -1), np.stack([zero, one, zero], -1),
                     np.stack([-s, zero, c], -1)], -2)


def rotate_about_up(points: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """Rotate (..., J, 3) prior-frame points about the y axis by ``theta`` (shape (...)).

    Equal to ``points @ rotation_about_up(theta).T``, written out (a batched 3x3 product is
    several times slower on large stacks).
    """
    points = np.asarray(points, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)[..., None]
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    new_x = c * x + s * z
    return np.stack([new_x, np.broadcast_to(y, new_x.shape), c * z - s * x], axis=-1)


def wrap_angle(theta: np.ndarray | float) -> np.ndarray:
    """Angles in radians, turned by whole turns into [-pi, pi)."""
    return (np.asarray(theta, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi


def weak_perspective(points: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
    """Weak-perspective projection ``s Pi X`` of (..., J, 3) prior-frame points.

    Args:
        points: (..., J, 3) prior-frame points.
        scale: (...) pixels per unit of ``points``.

    Returns:
        (..., J, 2) image-plane points (y down), before any translation.
    """
    return np.asarray(scale)[..., None, None] * (np.asarray(points) @ WEAK_PERSPECTIVE.T)


@dataclass(frozen=True)
class PinholeCamera:
    """A calibrated camera with the Human3.6M distortion model.

    Attributes:
        rotation: (3, 3) world-to-camera rotation.
        centre: (3,) camera centre in world millimetres.
        focal: (2,) focal lengths in pixels.
        principal: (2,) principal point in pixels.
        radial: (3,) k1, k2, k3.
        tangential: (2,) p1, p2.
        name: camera id, e.g. ``"54138969"``.
    """

    rotation: np.ndarray
    centre: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    radial: np.ndarray
    tangential: np.ndarray
    name: str = ""

    @property
    def focal_px(self) -> float:
        """One focal length in pixels, the mean of the two: what a model of one focal length takes."""
        return float(np.mean(self.focal))

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., J, 3) world mm -> (..., J, 3) camera mm (OpenCV axes)."""
        return (np.asarray(points) - self.centre) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Project (..., J, 3) world mm to (..., J, 2) pixels, with lens distortion.

        The model of ``shared/data/README.md``: ``x = Xc[:2] / Xc[2]``,
        ``xd = x (1 + k1 r2 + k2 r2^2 + k3 r2^3 + p1 x_y + p2 x_x) + [p2, p1] r2``,
        ``uv = f xd + c``.
        """
        cam = self.world_to_camera(points)
        if np.any(cam[..., 2] <= 0):
            raise ValueError(f"camera {self.name}: points behind the camera cannot be projected")
        return self.focal * self._distort(cam[..., :2] / cam[..., 2:]) + self.principal

    def _distort(self, x: np.ndarray) -> np.ndarray:
        """(..., 2) normalised image coordinates -> the lens's distorted ones."""
        r2 = np.sum(x**2, axis=-1, keepdims=True)
        k1, k2, k3 = self.radial
        p1, p2 = self.tangential
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        tangential = p1 * x[..., 1:] + p2 * x[..., :1]
        return x * (radial + tangential) + np.array([p2, p1]) * r2

    def undistort(self, pixels: np.ndarray, iterations: int = 20) -> np.ndarray:
        """(..., 2) pixels -> where a camera without lens distortion (same focal length and
        principal point) would see the same rays: the inverse of :meth:`project`'s distortion,
        by fixed-point iteration (to well under 0.01 px within Human3.6M's images)."""
        distorted = (np.asarray(pixels, dtype=np.float64) - self.principal) / self.focal
        x = distorted
        for _ in range(iterations):
            x = x + distorted - self._distort(x)
        return self.focal * x + self.principal


def limb_size(points: np.ndarray, joint_set: JointSet) -> np.ndarray:
    """Square root of the sum of squared bone lengths: (..., J, D) -> (...).

    Section 4: poses are normalised so that this is one.
    """
    bones = joint_set.bones
    diff = points[..., bones[:, 0], :] - points[..., bones[:, 1], :]
    return np.sqrt(np.sum(diff**2, axis=(-1, -2)))


def normalise_size(points: np.ndarray, joint_set: JointSet) -> tuple[np.ndarray, np.ndarray]:
    """Centre (mean of the joints at the origin) and scale to unit :func:`limb_size`.

    Returns:
        ``(normalised (..., J, D), size (...))`` with ``points = normalised * size + centroid``.
    """
    points = np.asarray(points, dtype=np.float64)
    size = limb_size(points, joint_set)
    if np.any(~(size > 0)):
        raise ValueError("cannot normalise a pose whose joints all coincide (or hold NaN)")
    centred = points - points.mean(axis=-2, keepdims=True)
    return centred / size[..., None, None], size


def mirror(points: np.ndarray, joint_set: JointSet, axis: int = 0) -> np.ndarray:
    """Reflect (..., J, D) points in the plane ``coordinate[axis] = 0`` and relabel left/right.

    Section 4: left-right symmetry is exploited by flipping each pose in x and swapping
    left and right. Mirroring twice gives the input back.
    """
    flipped = np.array(points, dtype=np.float64)[..., joint_set.mirror_index, :]
    flipped[..., axis] *= -1
    return flipped


def procrustes_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Align ``source`` to ``target`` by the best similarity transform (Umeyama 1991).

    Rotation (no reflection), isotropic scale and translation minimising the summed squared
    distance, per pose. Used by the PA-MPJPE of protocols #2 and #3.

    Args:
        source, target: (..., J, D) point sets.

    Returns:
        (..., J, D) ``source`` after the transform.
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape:
        raise ValueError(f"procrustes_align: shapes differ, {source.shape} vs {target.shape}")
    mu_s = source.mean(axis=-2, keepdims=True)
    mu_t = target.mean(axis=-2, keepdims=True)
    s0, t0 = source - mu_s, target - mu_t
    cov = np.swapaxes(t0, -1, -2) @ s0  # (..., D, D)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.where(np.linalg.det(u @ vt) < 0, -1.0, 1.0)
    d = np.ones(sv.shape)
    d[..., -1] = sign
    rotation = (u * d[..., None, :]) @ vt
    var_s = np.sum(s0**2, axis=(-1, -2))
    scale = np.sum(sv * d, axis=-1) / np.where(var_s > 0, var_s, 1.0)
    return scale[..., None, None] * (s0 @ np.swapaxes(rotation, -1, -2)) + mu_t
