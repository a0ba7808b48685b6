"""The learned lifter (:mod:`poselift.nn.lifter_network`) behind the same kind of call as :class:`Lifter`.

It reads the 12 limb joints of Human3.6M-17 points (others are ignored) with their weights
(0: missing) and returns the 17 joints in millimetres, relative to the pelvis, in the
camera's view frame (x right, y up, z towards the camera), at the size of the training
subjects. No angle, scale or prior coefficients: those are the prior lifter's.

A network that answers in the frame of the ray from the camera to the person (the shipped
one; :func:`~poselift.nn.lifter_network.ray_rotation`) needs the camera to turn its answer into
the camera's frame: given the focal length and principal point, the ray goes through the mean
of the visible limb joints; without them, the person is taken to stand on the optical axis.

Each pose is lifted as it is and mirrored (x -> -x, left and right swapped), and the two
answers are averaged, the second mirrored back: so a mirrored input gives exactly the
mirrored pose, as a lifter should.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..camera_space import Camera, ray_turn
from ..nn.lifter_network import INPUT_INDEX, INPUT_MIRROR, SHIPPED_LIFTER_PATH, load_lifter_network, normalise
from ..skeleton import H36M17
from .lifter import checked_poses, pose_problems

__all__ = ["MIN_VISIBLE_INPUTS", "TAKES_NO_HEIGHT", "LearnedLift", "LearnedLifter"]

MIN_VISIBLE_INPUTS = 6
"""Fewest of the 12 limb joints with a non-zero weight that a pose may be lifted from."""

TAKES_NO_HEIGHT = ("the learned lifter answers at the size of its training subjects; it takes no height (use the "
                   "prior or combined lifter: --lifter combined)")
"""Why a height given to the learned lifter is refused."""

_BATCH = 8192  # poses per network call


@dataclass(frozen=True)
class LearnedLift:
    """The learned lifter's answer for a batch ``(...)`` of poses, with the weak-perspective
    camera that best puts it on the 2D joints (weighted least squares; the network itself
    sees no pixels).

    Attributes:
        pose_3d: (..., 17, 3) millimetres, pelvis at 0, view frame (x right, y up, z to the camera).
        scale: (...) pixels per millimetre of that camera.
        translation: (..., 2) pixels added after projection.
        residual: (...) weighted squared 2D error of the projection, pixels^2.
        projected_2d: (..., 17, 2) the pose projected into the image, pixels.
        hypotheses: always None: one pose, no uncertainty (as
            :attr:`poselift.lifting.Lifted.hypotheses` without them).
    """

    pose_3d: np.ndarray
    scale: np.ndarray
    translation: np.ndarray
    residual: np.ndarray
    projected_2d: np.ndarray
    hypotheses: None = None

    @property
    def cost(self) -> np.ndarray:
        """(...) what lifts are compared by (:func:`~poselift.lifting.frames.lift_upright`): the
        residual, as no prior term enters."""
        return self.residual


class LearnedLifter:
    """Lifts Human3.6M-17 pixel points with a network trained on mocap alone.

    Args:
        path: a weights file of ``poselift train-lifter`` (default: the shipped one).
        threads: CPU threads for the network (None: PyTorch's default).

    Raises:
        FileNotFoundError, ValueError: see :func:`poselift.nn.lifter_network.load_lifter_network`.
    """

    def __init__(self, path: str | Path | None = None, threads: int | None = None) -> None:
        self.path = Path(path) if path else SHIPPED_LIFTER_PATH
        self.network = load_lifter_network(self.path)
        self._threads = threads

    @property
    def answer_frame(self) -> str:
        """``"ray"`` or ``"camera"``: the frame the network answers in (see the module's notes)."""
        return self.network.settings["answer_frame"]

    def lift(self, points_2d: np.ndarray, weights: np.ndarray | None = None,
             height_mm: float | None = None, camera: tuple[float, np.ndarray] | None = None) -> LearnedLift:
        """Lift (..., 17, 2) pixel points with (..., 17) weights (default: all ones).

        ``height_mm`` must be None: the network answers at its training subjects' size (the
        argument is there so that every lifter can be called alike). ``camera``: the focal
        length (pixels) and principal point ((2,) pixels) the points were seen with, if known.

        Raises:
            ValueError: wrong shapes, negative or non-finite weights, or a pose with fewer than
                :data:`MIN_VISIBLE_INPUTS` weighted limb joints, NaN or far-off coordinates at
                them, or all of them at one point (the first such pose is named); a focal
                length that is not positive or a principal point that is not two finite numbers.
        """
        if height_mm is not None:
            raise ValueError(TAKES_NO_HEIGHT)
        if camera is not None:
            focal, principal = float(camera[0]), np.asarray(camera[1], dtype=np.float64)
            if not (np.isfinite(focal) and focal > 0) or principal.shape != (2,) or not np.isfinite(principal).all():
                raise ValueError(f"camera must be a positive focal length and a principal point (x, y), got {camera}")
        points, w, batch = checked_poses(points_2d, weights, H36M17.name, len(H36M17), self.problems)
        flat = points[:, INPUT_INDEX.numpy()]
        visible = (w[:, INPUT_INDEX.numpy()] > 0).astype(np.float64)
        previous = torch.get_num_threads()
        if self._threads:
            torch.set_num_threads(self._threads)
        try:
            inputs = np.where(visible[..., None] > 0, flat, 0.0)
            poses = self._run(inputs, visible)
            mirrored = self._run(inputs[:, INPUT_MIRROR.numpy()] * [-1.0, 1.0], visible[:, INPUT_MIRROR.numpy()])
            poses = (poses + mirrored[:, H36M17.mirror_index] * [-1.0, 1.0, 1.0]) / 2
        finally:
            torch.set_num_threads(previous)
        if camera is not None and self.answer_frame == "ray":
            poses = poses @ ray_turn(points, w, Camera(focal, tuple(principal), "given"))
        poses = poses * 1000.0
        seen = np.where(w[..., None] > 0, points, 0.0)  # unweighted joints may hold NaN
        scale, translation, projected = _weak_perspective_fit(poses, seen, w)
        residual = np.einsum("nl,nlc->n", w, (seen - projected) ** 2)
        return LearnedLift(pose_3d=poses.reshape(batch + (len(H36M17), 3)), scale=scale.reshape(batch),
                           translation=translation.reshape(batch + (2,)), residual=residual.reshape(batch),
                           projected_2d=projected.reshape(batch + (len(H36M17), 2)))

    @staticmethod
    def problems(points: np.ndarray, weights: np.ndarray) -> list[str | None]:
        """Why each of (n, 17, 2) pixel poses with (n, 17) weights cannot be lifted by it, or None
        (:func:`~poselift.lifting.lifter.pose_problems` on the 12 limb joints, at least
        :data:`MIN_VISIBLE_INPUTS` of them)."""
        index = INPUT_INDEX.numpy()
        found = pose_problems(points[:, index], (weights[:, index] > 0).astype(np.float64), MIN_VISIBLE_INPUTS)
        return [problem and f"{problem} (of the 12 limb joints)" for problem in found]

    def _run(self, points: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """The network's (n, 17, 3) poses in metres for (n, 12, 2) points and (n, 12) visibility."""
        with torch.no_grad():
            inputs = normalise(torch.as_tensor(points, dtype=torch.float32), torch.as_tensor(visible,
                                                                                          dtype=torch.float32))
            return torch.cat([self.network(inputs[start:start + _BATCH])
                              for start in range(0, len(inputs), _BATCH)]).double().numpy()


def _weak_perspective_fit(poses: np.ndarray, points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """The scale (n,) and translation (n, 2) minimising ``sum_l w_l |Y_l - s (x_l, -y_l) - t|^2``
    for (n, L, 3) view-frame poses and (n, L, 2) image points (y down), and the projection (n, L, 2)."""
    flat = poses[..., :2] * [1.0, -1.0]  # image axes: y down
    total = weights.sum(axis=1)[:, None]
    flat_centre = np.einsum("nl,nlc->nc", weights, flat) / total
    point_centre = np.einsum("nl,nlc->nc", weights, points) / total
    flat_c, points_c = flat - flat_centre[:, None], points - point_centre[:, None]
    scale = np.einsum("nl,nlc->n", weights, flat_c * points_c) / np.maximum(
        np.einsum("nl,nlc->n", weights, flat_c**2), 1e-12)
    translation = point_centre - scale[:, None] * flat_centre
    return scale, translation, scale[:, None, None] * flat + translation[:, None]
