"""From a photo to 2D and 3D pose: BlazePose belief maps refined through the 3D prior (5.1-5.5).

For each person BlazePose finds, the stage-1 belief maps are its landmark network's
heatmaps of the 13 joints that Human3.6M-17 shares with BlazePose-33. Then, ``stages``
times (section 5, figure 3):

    Y_t  = argmax b_t                      (eq. 3, with sub-pixel refinement)
    lift Y_t under the prior               (eq. 4, weights = BlazePose's visibility)
    b^_t = Gaussians at the projection     (eqs. 5 and 6)
    b_t+1 = w b_t + (1 - w) b^_t           (eq. 7)

and the last maps are lifted once more for the final pose. By default no CNN stage runs
between fusions, so ``w`` and the number of rounds are documented defaults, not learned
values. With ``learned_stages``, the stages trained on top of BlazePose (``poselift train
--config blazepose``, :mod:`poselift.training`; lifting and fusion between them) first
turn BlazePose's maps into the last learned stage's maps, which the rounds then start from.

Joints BlazePose lacks: the pelvis is the mid-point of the hips (Human3.6M's definition)
and the thorax the mid-point of the shoulders (some 6 cm low); both are reported as
derived but not used in lifting; spine and head top come from the 3D model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .beliefs import DEFAULT_SIGMA, argmax_subpixel, fuse, render_gaussians
from .detectors.blazepose import HEATMAP_SIZE, LANDMARK_SIZE, BlazePose, LandmarkOutput
from .images import read_image
from .lifting import Lifted, Lifter
from .prior import PosePrior
from .skeleton import BLAZEPOSE33, H36M17

__all__ = ["Estimator", "Person", "Stage", "lift_upright", "DIRECT_JOINTS", "DEFAULT_STAGES", "DEFAULT_FUSION_WEIGHT",
           "MAX_WORKING_SIDE", "SAME_ROLL", "SHIPPED_STAGES_PATH"]

DEFAULT_STAGES = 1
"""Number of lift-project-fuse rounds before the final lift (chosen on LSP-extended, see
``benchmarks/refinement_tuning.py``; more rounds or a lower w only cost accuracy there)."""

DEFAULT_FUSION_WEIGHT = 0.8
"""The w of eq. 7: the share of BlazePose's own belief (each map scaled to peak 1) in each
fused map (chosen with :data:`DEFAULT_STAGES`)."""

SAME_ROLL = np.radians(10.0)
"""Candidate lifting frames closer than this (radians) are one frame (see :func:`lift_upright`)."""

MAX_WORKING_SIDE = 1920
"""Larger photos are shrunk to this longer side first; coordinates stay in the original pixels."""

DIRECT_JOINTS = ("nose",) + tuple(n for n in H36M17.joints if n in BLAZEPOSE33)
"""BlazePose-33 joints that H36M-17 shares (13): nose (H36M's neck/nose), shoulders, elbows,
wrists, hips, knees, ankles."""

SHIPPED_STAGES_PATH = Path(__file__).resolve().parent / "models" / "blazepose_stages.pt"
"""The learned stages shipped with poselift (see the README for the command that made them)."""

_MIDPOINTS = (("pelvis", ("left_hip", "right_hip")), ("thorax", ("left_shoulder", "right_shoulder")))

_BLAZE_DIRECT = np.array([BLAZEPOSE33.index(n) for n in DIRECT_JOINTS])
_CELL = LANDMARK_SIZE / HEATMAP_SIZE  # crop pixels per belief-map cell


_H36M_DIRECT = np.array([H36M17.index("neck_nose" if n == "nose" else n) for n in DIRECT_JOINTS])


@dataclass
class Stage:
    """One refinement round of one person (for the figure and ``--stages`` output).

    Attributes:
        joints_2d: (17, 2) image pixels read from this stage's belief maps (derived and
            model joints as in :class:`Person`).
        beliefs: (64, 64, 13) the stage's belief maps over the crop, :data:`DIRECT_JOINTS` order.
        projected_2d: (17, 2) image pixels: the lifted pose projected back (eq. 5).
    """

    joints_2d: np.ndarray
    beliefs: np.ndarray
    projected_2d: np.ndarray


@dataclass
class Person:
    """One person's 2D and 3D pose.

    Attributes:
        joints_2d: (17, 2) H36M-17 joints in pixels of the photo as read (EXIF-upright).
        confidence: (17,) BlazePose's visibility for detected joints, the lower of the two
            for derived ones, 0 for joints only the 3D model provides.
        source: (17,) per joint ``"detected"`` (read from the belief maps), ``"derived"``
            (mid-point of detected joints) or ``"model"`` (the 3D pose projected).
        pose_3d: (17, 3) millimetres, root-relative, y up, x to the viewer's right, z
            towards the camera.
        lifted: the final lift (angle, scale, component, residual, projection ...).
        score: detector score times the landmark network's presence probability.
        crop_corners: (4, 2) pixels of the region the landmark network saw.
        blazepose_2d: (33, 2) BlazePose's own regressed keypoints, pixels.
        blazepose_visibility: (33,) their visibility probabilities.
        stages: the refinement rounds, first to last.
        patch: (256, 256, 3) uint8 the crop the landmark network saw.
    """

    joints_2d: np.ndarray
    confidence: np.ndarray
    source: tuple[str, ...]
    pose_3d: np.ndarray
    lifted: Lifted
    score: float
    crop_corners: np.ndarray
    blazepose_2d: np.ndarray
    blazepose_visibility: np.ndarray
    stages: list[Stage] = field(default_factory=list)
    patch: np.ndarray | None = None

    @property
    def box(self) -> np.ndarray:
        """(4,) x0, y0, x1, y1: the bounding box of the 2D joints, pixels."""
        return np.concatenate([self.joints_2d.min(axis=0), self.joints_2d.max(axis=0)])


class Estimator:
    """Photo -> people with 2D and 3D poses.

    Args:
        prior: the 3D pose prior (default: the shipped one).
        stages: lift-project-fuse rounds before the final lift (0: lift BlazePose's maps as they are).
        fusion_weight: w of eq. 7 in [0, 1].
        sigma: standard deviation of the projected belief maps, in belief-map cells (1 cell
            = 4 pixels of the 256-pixel crop).
        height_mm: size the 3D poses for a person this tall (default: the prior's mean size).
        threads: CPU threads for each network.
        fast: fewer network runs for a little accuracy (see
            :meth:`poselift.detectors.BlazePose.find_people`).
        learned_stages: ``True`` for the shipped stages (:data:`SHIPPED_STAGES_PATH`), or
            the ``stages.pt`` of a ``blazepose`` training run; ``None``: BlazePose's maps.

    Raises:
        poselift.detectors.ModelError: the BlazePose model files are missing.
        FileNotFoundError, ValueError: ``learned_stages`` is missing, not a stages file, or
            a ``cpm`` network.
    """

    def __init__(self, prior: PosePrior | None = None, stages: int = DEFAULT_STAGES,
                 fusion_weight: float = DEFAULT_FUSION_WEIGHT, sigma: float = DEFAULT_SIGMA,
                 height_mm: float | None = None, threads: int | None = 2, fast: bool = False,
                 learned_stages: str | Path | bool | None = None) -> None:
        if stages < 0:
            raise ValueError(f"stages must be 0 or more, got {stages}")
        if not 0.0 <= fusion_weight <= 1.0:
            raise ValueError(f"fusion_weight must lie in [0, 1], got {fusion_weight}")
        self.prior = PosePrior.default() if prior is None else prior
        if self.prior.joint_set is not H36M17 and self.prior.joint_set.name != H36M17.name:
            raise ValueError(f"the estimator needs a prior over h36m17, got {self.prior.joint_set.name}")
        self.stages, self.fusion_weight, self.sigma, self.height_mm = stages, fusion_weight, sigma, height_mm
        self.fast = fast
        self.lifter = Lifter(self.prior)
        self.learned_path = str(SHIPPED_STAGES_PATH if learned_stages is True else learned_stages) \
            if learned_stages else None
        self.learned = _load_learned(self.learned_path, self.prior) if self.learned_path else None
        self.blazepose = BlazePose(threads=threads)

    def estimate(self, image: np.ndarray | str | Path, max_people: int | None = None) -> list[Person]:
        """Everyone in ``image`` (an (H, W, 3) uint8 RGB array or a path), most prominent first.

        Raises:
            poselift.images.ImageError: a path that is not a readable image.
            ValueError: an array that is not (H, W, 3) uint8.
        """
        if isinstance(image, (str, Path)):
            image = read_image(image)
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
            raise ValueError(f"image must be an (H, W, 3) uint8 RGB array, got {image.shape} {image.dtype}")
        working, factor = _shrink(image)
        found = self.blazepose.find_people(working, max_people, fast=self.fast)
        return [self.refine(person, 1.0 / factor) for person in found]

    def refine(self, found: LandmarkOutput, pixel_scale: float = 1.0) -> Person:
        """The 2D and 3D pose of one BlazePose result (sections 5.2-5.5).

        ``pixel_scale`` maps the pixels ``found`` was computed in to the pixels reported
        (the inverse of the shrink applied to a large photo).
        """
        crop_from_image = found.crop.crop_from_image(LANDMARK_SIZE)

        def to_image(cells: np.ndarray) -> np.ndarray:
            return found.crop.to_image(cells * _CELL, LANDMARK_SIZE) * pixel_scale

        def to_cells(points: np.ndarray) -> np.ndarray:
            return ((points / pixel_scale) @ crop_from_image[:, :2].T + crop_from_image[:, 2]) / _CELL

        beliefs = found.heatmaps[..., _BLAZE_DIRECT]  # (64, 64, 13)
        if self.learned is not None:
            beliefs = _learned_beliefs(self.learned, found.patch, beliefs)
        beliefs = beliefs / np.maximum(beliefs.max(axis=(0, 1)), 1e-6)  # peak 1, like the projected maps
        weights = np.zeros(len(H36M17))
        weights[_H36M_DIRECT] = found.visibility[_BLAZE_DIRECT]
        stages = []
        for round_ in range(self.stages + 1):
            cells, _peak = argmax_subpixel(beliefs)
            points = np.full((len(H36M17), 2), np.nan)
            points[_H36M_DIRECT] = to_image(cells)
            rolls = (found.crop.rotation, _torso_roll(points))
            lifted = lift_upright(self.lifter, points, weights, found.crop.centre * pixel_scale, rolls,
                                  self.height_mm)
            stages.append(Stage(joints_2d=_complete(points, lifted), beliefs=beliefs,
                                projected_2d=lifted.projected_2d))
            if round_ < self.stages:
                projected = render_gaussians(to_cells(lifted.projected_2d[_H36M_DIRECT]), HEATMAP_SIZE, self.sigma)
                beliefs = fuse(beliefs, projected, self.fusion_weight)
        confidence, source = _confidence(weights)
        return Person(joints_2d=stages[-1].joints_2d, confidence=confidence, source=source,
                      pose_3d=lifted.pose_3d, lifted=lifted, score=float(found.score),
                      crop_corners=found.crop.corners * pixel_scale, blazepose_2d=found.keypoints * pixel_scale,
                      blazepose_visibility=found.visibility, stages=stages, patch=found.patch)


def _load_learned(path: str, prior: PosePrior):
    """The learned stages of a ``blazepose`` training run, on the CPU."""
    from .training.loop import load_stages
    from .training.models import BlazePoseStages

    model = load_stages(path, prior)
    if not isinstance(model, BlazePoseStages):
        raise ValueError(f"{path}: a {model.__class__.__name__}; the estimator runs stages trained on top of "
                         "BlazePose (poselift train --config blazepose)")
    return model


def _learned_beliefs(model, patch: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(256, 256, 3) BlazePose crop and (64, 64, 13) maps -> the last learned stage's
    (64, 64, 13) joint maps, negative values cut to 0."""
    import cv2
    import torch

    from .training.data import PATCH_SIZE

    small = cv2.resize(patch, (PATCH_SIZE, PATCH_SIZE), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        outputs = model(torch.as_tensor(small.transpose(2, 0, 1)[None] / np.float32(255.0)),
                        torch.as_tensor(np.moveaxis(maps, -1, 0)[None].astype(np.float32)))
    return np.maximum(np.moveaxis(outputs[-1][0, :-1].numpy(), 0, -1), 0.0)


def lift_upright(lifter: Lifter, points: np.ndarray, weights: np.ndarray, centre: np.ndarray,
                 rolls: tuple[float, ...] = (), height_mm: float | None = None) -> Lifted:
    """Lift (L, 2) image points upright in the image, and in frames turned by ``rolls``; keep the best.

    The prior only turns people about the vertical axis, so a tilted or upside-down
    person cannot be explained upright in the image. A roll (radians, counter-clockwise
    on screen) that makes the body upright, such as the turn of BlazePose's crop, gives a
    frame where it can: the points are turned by ``-roll`` about ``centre`` (pixels),
    lifted, and the 3D pose is turned back by ``roll`` about the viewing axis. Rolls within
    :data:`SAME_ROLL` of one tried already are skipped; if no frame can be lifted (no
    positive scale), each is tried once more upside down. The frame with the lowest eq. 4
    cost wins (all frames have the same pixel scale). The result is
    in the image frame: ``pose_3d`` x right, y up, z towards the camera; ``projected_2d``
    in image pixels.

    Raises:
        ValueError: no frame can be lifted (the last frame's error).
    """
    frames: list[float] = []
    for roll in (0.0, *(float(r) for r in rolls)):
        if all(abs(np.angle(np.exp(1j * (roll - f)))) > SAME_ROLL for f in frames):
            frames.append(roll)
    best, error = None, None
    for attempt in (frames, [f + np.pi for f in frames]):  # upside down only if nothing else works
        for angle in attempt:
            upright = _screen_rotation(-angle)
            try:
                lifted = lifter.lift((points - centre) @ upright.T, weights, height_mm=height_mm)
            except ValueError as err:  # e.g. upside down in this frame: no positive scale
                error = err
                continue
            if best is None or lifted.cost < best[1].cost:
                best = (angle, lifted)
        if best is not None:
            break
    if best is None:
        raise error
    angle, lifted = best
    back = _screen_rotation(angle)
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # the same turn, y up
    return dataclasses.replace(lifted, pose_3d=lifted.pose_3d @ turn.T,
                               projected_2d=lifted.projected_2d @ back.T + centre,
                               translation=lifted.translation @ back.T + centre)


def _complete(points: np.ndarray, lifted: Lifted) -> np.ndarray:
    """Fill the joints BlazePose lacks: mid-points where sound, else the projected 3D pose."""
    full = points.copy()
    for name, pair in _MIDPOINTS:
        full[H36M17.index(name)] = points[[H36M17.index(p) for p in pair]].mean(axis=0)
    missing = np.isnan(full[:, 0])
    full[missing] = lifted.projected_2d[missing]
    return full


def _confidence(weights: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-joint confidence and source (see :class:`Person`) from the detected joints' weights."""
    confidence = weights.copy()
    source = ["model"] * len(H36M17)
    for j in _H36M_DIRECT:
        source[j] = "detected"
    for name, pair in _MIDPOINTS:
        confidence[H36M17.index(name)] = min(weights[H36M17.index(p)] for p in pair)
        source[H36M17.index(name)] = "derived"
    return confidence, tuple(source)


def _torso_roll(points: np.ndarray) -> float:
    """The roll (radians, counter-clockwise on screen) that turns mid-hips -> mid-shoulders upward."""
    hips = points[[H36M17.index("left_hip"), H36M17.index("right_hip")]].mean(axis=0)
    shoulders = points[[H36M17.index("left_shoulder"), H36M17.index("right_shoulder")]].mean(axis=0)
    up = shoulders - hips
    return float(np.arctan2(-up[0], -up[1]))


def _screen_rotation(angle: float) -> np.ndarray:
    """(2, 2) turn of pixel coordinates (y down) by ``angle`` radians counter-clockwise on screen."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, s], [-s, c]])


def _shrink(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image shrunk to :data:`MAX_WORKING_SIDE` if larger, and the factor applied."""
    import cv2

    longest = max(image.shape[:2])
    if longest <= MAX_WORKING_SIDE:
        return image, 1.0
    factor = MAX_WORKING_SIDE / longest
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), factor
