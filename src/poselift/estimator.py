"""From a photo to 2D and 3D pose: BlazePose belief maps refined through the 3D prior (5.1-5.5).

For each person BlazePose finds, the stage-1 belief maps are its landmark network's
heatmaps of the 13 joints that Human3.6M-17 shares with BlazePose-33
(:mod:`poselift.detectors.blazepose_joints`). Then, ``rounds`` times (section 5, figure 3):

    Y_t  = argmax b_t                      (eq. 3, with sub-pixel refinement)
    lift Y_t                               (eq. 4, weights = BlazePose's visibility)
    b^_t = Gaussians at the projection     (eqs. 5 and 6)
    b_t+1 = w b_t + (1 - w) b^_t           (eq. 7)

and the last maps are lifted once more for the final pose. The lift is the learned lifter's
by default (the network alone, its pose put on the 2D by a weak-perspective fit,
:mod:`poselift.lifting.learned`); the combined one (``lifter="combined"``: eq. 4 with the
network's pose as a term, :mod:`poselift.lifting.combined`) or the paper's (``"prior"``) can
be chosen. Any of them projects back, so the rounds run alike. By default no CNN stage runs
between fusions, so ``w`` and the number of rounds are documented defaults, not learned
values. With ``learned_stages``, the stages trained on top of BlazePose (``poselift train
--config blazepose``, :mod:`poselift.nn.models`; lifting and fusion between them) first
turn BlazePose's maps into the last learned stage's maps, which the rounds then start from.

Joints BlazePose lacks: the pelvis and the thorax are mid-points of detected joints
(:data:`~poselift.detectors.blazepose_joints.MIDPOINTS`), reported as derived but not used
in lifting; spine and head top come from the 3D model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .beliefs import DEFAULT_SIGMA, argmax_subpixel, fuse, render_gaussians
from .camera_space import Camera, ray_turn
from .detectors.blazepose import HEATMAP_SIZE, LANDMARK_SIZE, BlazePose, LandmarkOutput
from .detectors.blazepose_joints import BLAZEPOSE_INDEX, CELL_PX, H36M_INDEX, MIDPOINTS
from .images import read_image
from .lifting import Lifted, lift_upright
from .lifting.choice import DEFAULT_LIFTER, build_lifter
from .lifting.frames import torso_roll
from .lifting.hypotheses import check_request
from .lifting.learned import TAKES_NO_HEIGHT, LearnedLift
from .prior import PosePrior
from .skeleton import H36M17

__all__ = ["Estimator", "Person", "Round", "DetectorView", "DEFAULT_ROUNDS", "DEFAULT_FUSION_WEIGHT",
           "MAX_WORKING_SIDE"]

DEFAULT_ROUNDS = 1
"""Number of lift-project-fuse rounds before the final lift (chosen on LSP-extended, see
``benchmarks/refinement_tuning.py``; more rounds or a lower w only cost accuracy there)."""

DEFAULT_FUSION_WEIGHT = 0.8
"""The w of eq. 7: the share of BlazePose's own belief (each map scaled to peak 1) in each
fused map (chosen with :data:`DEFAULT_ROUNDS`)."""

MAX_WORKING_SIDE = 1920
"""Larger photos are shrunk to this longer side first; coordinates stay in the original pixels."""


@dataclass(frozen=True)
class Round:
    """One lift-project-fuse round of one person (for the figure and ``--save-rounds`` output).

    Attributes:
        joints_2d: (17, 2) image pixels read from this round's belief maps (derived and
            model joints as in :class:`Person`).
        beliefs: (64, 64, 13) the round's belief maps over the crop, in the order of
            :data:`~poselift.detectors.blazepose_joints.SHARED_JOINTS`.
        projected_2d: (17, 2) image pixels: the lifted pose projected back (eq. 5).
    """

    joints_2d: np.ndarray
    beliefs: np.ndarray
    projected_2d: np.ndarray


@dataclass(frozen=True)
class DetectorView:
    """What BlazePose saw and said of one person (for figures and debugging).

    Attributes:
        patch: (256, 256, 3) uint8 the crop the landmark network saw.
        crop_corners: (4, 2) pixels of the photo: that crop's corners.
        keypoints_2d: (33, 2) BlazePose's own regressed keypoints, pixels.
        visibility: (33,) their visibility probabilities.
    """

    patch: np.ndarray
    crop_corners: np.ndarray
    keypoints_2d: np.ndarray
    visibility: np.ndarray


@dataclass(frozen=True)
class Person:
    """One person's 2D and 3D pose.

    Attributes:
        joints_2d: (17, 2) H36M-17 joints in pixels of the photo as read (EXIF-upright).
        confidence: (17,) BlazePose's visibility for detected joints, the lower of the two
            for derived ones, 0 for joints only the 3D model provides.
        source: (17,) per joint ``"detected"`` (read from the belief maps), ``"derived"``
            (mid-point of detected joints) or ``"model"`` (the 3D pose projected).
        lifted: the final lift: a :class:`~poselift.lifting.Lifted` (3D pose, angle, scale,
            component, residual, projection ...) from the prior and combined lifters, a
            :class:`~poselift.lifting.learned.LearnedLift` (3D pose, scale, residual,
            projection) from the learned one.
        score: detector score times the landmark network's presence probability.
        rounds: the refinement rounds, first to last.
        detector: what BlazePose saw and said, or None.
    """

    joints_2d: np.ndarray
    confidence: np.ndarray
    source: tuple[str, ...]
    lifted: Lifted | LearnedLift
    score: float
    rounds: tuple[Round, ...] = ()
    detector: DetectorView | None = None

    @property
    def pose_3d(self) -> np.ndarray:
        """(17, 3) millimetres, root-relative, y up, x to the viewer's right, z towards the camera."""
        return self.lifted.pose_3d

    @property
    def box(self) -> np.ndarray:
        """(4,) x0, y0, x1, y1: the bounding box of the 2D joints, pixels."""
        return np.concatenate([self.joints_2d.min(axis=0), self.joints_2d.max(axis=0)])


class Estimator:
    """Photo -> people with 2D and 3D poses.

    Args:
        prior: the 3D pose prior (default: the shipped one).
        rounds: lift-project-fuse rounds before the final lift (0: lift BlazePose's maps as they are).
        fusion_weight: w of eq. 7 in [0, 1].
        sigma: standard deviation of the projected belief maps, in belief-map cells (1 cell
            = 4 pixels of the 256-pixel crop).
        height_mm: size the 3D poses for a person this tall (default: the prior's mean size).
        threads: CPU threads for each network.
        fast: fewer network runs for a little accuracy (see
            :meth:`poselift.detectors.BlazePose.find_people`).
        learned_stages: ``True`` for the shipped stages
            (:data:`~poselift.nn.models.SHIPPED_STAGES_PATH`), or
            the ``stages.pt`` of a ``blazepose`` training run; ``None``: BlazePose's maps.
        lifter: which lifter lifts each round (:data:`~poselift.lifting.choice.LIFTERS`; the
            learned one takes no ``height_mm``).
        lifter_weights: the learned lifter's weights file (default: the shipped one).
        hypotheses: the final lift also gives up to this many 3D poses with their
            probabilities and each joint's uncertainty (prior and combined lifters;
            :mod:`poselift.lifting.hypotheses`).

    Raises:
        poselift.detectors.ModelError: the BlazePose model files are missing.
        FileNotFoundError, ValueError: ``learned_stages`` is missing, not a stages file, or
            a ``cpm`` network.
    """

    def __init__(self, prior: PosePrior | None = None, rounds: int = DEFAULT_ROUNDS,
                 fusion_weight: float = DEFAULT_FUSION_WEIGHT, sigma: float = DEFAULT_SIGMA,
                 height_mm: float | None = None, threads: int | None = 2, fast: bool = False,
                 learned_stages: str | Path | bool | None = None, lifter: str = DEFAULT_LIFTER,
                 lifter_weights: str | Path | None = None, hypotheses: int | None = None) -> None:
        if rounds < 0:
            raise ValueError(f"rounds must be 0 or more, got {rounds}")
        if not 0.0 <= fusion_weight <= 1.0:
            raise ValueError(f"fusion_weight must lie in [0, 1], got {fusion_weight}")
        self.prior = PosePrior.default() if prior is None else prior
        if self.prior.joint_set is not H36M17 and self.prior.joint_set.name != H36M17.name:
            raise ValueError(f"the estimator needs a prior over h36m17, got {self.prior.joint_set.name}")
        self.prior.millimetres_per_unit(height_mm)  # an impossible height fails here, before any photo
        self.rounds, self.fusion_weight, self.sigma, self.height_mm = rounds, fusion_weight, sigma, height_mm
        self.fast = fast
        if lifter == "learned" and height_mm is not None:
            raise ValueError(TAKES_NO_HEIGHT)
        check_request(hypotheses, lifter)
        self.hypotheses = hypotheses
        self.lifter = build_lifter(lifter, None if lifter == "learned" else self.prior, lifter_weights)
        self.learned_path = _learned_path(learned_stages)
        self.learned = _load_learned(self.learned_path, self.prior) if self.learned_path else None
        self.blazepose = BlazePose(threads=threads)

    def estimate(self, image: np.ndarray | str | Path, max_people: int | None = None,
                 pixel_scale: float = 1.0, camera: Camera | None = None) -> list[Person]:
        """Everyone in ``image`` (an (H, W, 3) uint8 RGB array or a path), most prominent first.

        ``pixel_scale``: pixels of the photo reported in per pixel of ``image`` (for a photo
        decoded reduced, :func:`poselift.images.read_photo`). ``camera``: the photo's camera (in
        the pixels reported), if known: the 3D poses are then as that camera sees each person
        (see :meth:`refine`); without it, as if each person stood on the optical axis.

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
        return [self.refine(person, pixel_scale / factor, camera) for person in found]

    def estimate_video(self, video, smoothing: str = "causal", fps: float | None = None, **options):
        """Everyone in a video, frame after frame: :class:`~poselift.video.pipeline.VideoFrame`
        objects, in order, as the video is read (:mod:`poselift.video`).

        Args:
            video: a video file, a folder of numbered frames, or an opened
                :class:`~poselift.video.reading.Video`.
            smoothing: ``"none"``, ``"causal"`` or ``"offline"``
                (:data:`~poselift.video.smoothing.SMOOTHINGS`).
            fps: frame rate of a folder of frames (default 30).
            **options: ``detect_every``, ``max_people``, ``keep``, ``tracker``, ``camera`` of
                :func:`~poselift.video.pipeline.estimate_video` (``camera``: turn each pose
                into that camera's view, as :meth:`estimate` does for a photo).

        Raises:
            poselift.video.reading.VideoError: the video cannot be read (or breaks off, after
                the frames before the fault).
            ValueError: an unknown smoothing.
        """
        from .video.pipeline import estimate_video
        from .video.reading import FRAME_FOLDER_FPS, Video, open_frame_folder, open_video
        from .video.smoothing import SMOOTHING_MODES, SMOOTHINGS

        if smoothing not in SMOOTHING_MODES:
            raise ValueError(f"smoothing must be one of {', '.join(SMOOTHING_MODES)}, got {smoothing!r}")
        if not isinstance(video, Video):
            video = (open_frame_folder(video, FRAME_FOLDER_FPS if fps is None else fps) if Path(video).is_dir()
                     else open_video(video))
        return estimate_video(self, video, SMOOTHINGS[smoothing], **options)

    def refine(self, found: LandmarkOutput, pixel_scale: float = 1.0, camera: Camera | None = None) -> Person:
        """The 2D and 3D pose of one BlazePose result (sections 5.2-5.5).

        ``pixel_scale`` maps the pixels ``found`` was computed in to the pixels reported
        (the inverse of the shrink applied to a large photo). The lifts are weak-perspective,
        so the final 3D pose (and its hypotheses) is the body as seen along the ray to the
        person; with ``camera`` (in the pixels reported) it is turned into that camera's view
        frame (:func:`~poselift.camera_space.ray_turn`).
        """
        crop_from_image = found.crop.crop_from_image(LANDMARK_SIZE)

        def to_image(cells: np.ndarray) -> np.ndarray:
            return found.crop.to_image(cells * CELL_PX, LANDMARK_SIZE) * pixel_scale

        def to_cells(points: np.ndarray) -> np.ndarray:
            return ((points / pixel_scale) @ crop_from_image[:, :2].T + crop_from_image[:, 2]) / CELL_PX

        beliefs = found.heatmaps[..., BLAZEPOSE_INDEX]  # (64, 64, 13)
        if self.learned is not None:
            beliefs = _learned_beliefs(self.learned, found.patch, beliefs)
        beliefs = beliefs / np.maximum(beliefs.max(axis=(0, 1)), 1e-6)  # peak 1, like the projected maps
        weights = np.zeros(len(H36M17))
        weights[H36M_INDEX] = found.visibility[BLAZEPOSE_INDEX]
        rounds = []
        for round_ in range(self.rounds + 1):
            cells, _peak = argmax_subpixel(beliefs)
            points = np.full((len(H36M17), 2), np.nan)
            points[H36M_INDEX] = to_image(cells)
            rolls = (found.crop.rotation, torso_roll(points))
            lifted = lift_upright(self.lifter, points, weights, found.crop.centre * pixel_scale, rolls,
                                  self.height_mm, self.hypotheses if round_ == self.rounds else None)
            rounds.append(Round(joints_2d=_complete(points, lifted), beliefs=beliefs,
                                projected_2d=lifted.projected_2d))
            if round_ < self.rounds:
                projected = render_gaussians(to_cells(lifted.projected_2d[H36M_INDEX]), HEATMAP_SIZE, self.sigma)
                beliefs = fuse(beliefs, projected, self.fusion_weight)
        if camera is not None:
            lifted = _turned(lifted, ray_turn(points, weights, camera))
        confidence, source = _confidence(weights)
        detector = DetectorView(patch=found.patch, crop_corners=found.crop.corners * pixel_scale,
                                keypoints_2d=found.keypoints * pixel_scale, visibility=found.visibility)
        return Person(joints_2d=rounds[-1].joints_2d, confidence=confidence, source=source, lifted=lifted,
                      score=float(found.score), rounds=tuple(rounds), detector=detector)


def _turned(lifted: Lifted | LearnedLift, turn: np.ndarray) -> Lifted | LearnedLift:
    """``lifted`` with its 3D pose and hypotheses ``v`` turned to ``v @ turn``; the rest is the
    lift's as it was (its angle, scale and 2D projection: the weak-perspective fit, in the ray's frame)."""
    hypotheses = lifted.hypotheses and lifted.hypotheses.turned(turn.T, np.eye(2), np.zeros(2))
    return replace(lifted, pose_3d=lifted.pose_3d @ turn, hypotheses=hypotheses)


def _learned_path(learned_stages: str | Path | bool | None) -> str | None:
    """The stages file the estimator runs: the shipped one for ``True``, none for ``None`` or ``False``."""
    if learned_stages is True:
        from .nn.models import SHIPPED_STAGES_PATH

        return str(SHIPPED_STAGES_PATH)
    return str(learned_stages) if learned_stages else None


def _load_learned(path: str, prior: PosePrior):
    """The learned stages of a ``blazepose`` training run, on the CPU."""
    from .nn.models import BlazePoseStages, load_stages

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

    from .nn.models import PATCH_SIZE

    small = cv2.resize(patch, (PATCH_SIZE, PATCH_SIZE), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        outputs = model(torch.as_tensor(small.transpose(2, 0, 1)[None] / np.float32(255.0)),
                        torch.as_tensor(np.moveaxis(maps, -1, 0)[None].astype(np.float32)))
    return np.maximum(np.moveaxis(outputs[-1][0, :-1].numpy(), 0, -1), 0.0)


def _complete(points: np.ndarray, lifted: Lifted | LearnedLift) -> np.ndarray:
    """Fill the joints BlazePose lacks: mid-points where sound, else the projected 3D pose."""
    full = points.copy()
    for name, pair in MIDPOINTS:
        full[H36M17.index(name)] = points[[H36M17.index(p) for p in pair]].mean(axis=0)
    missing = np.isnan(full[:, 0])
    full[missing] = lifted.projected_2d[missing]
    return full


def _confidence(weights: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Per-joint confidence and source (see :class:`Person`) from the detected joints' weights."""
    confidence = weights.copy()
    source = ["model"] * len(H36M17)
    for j in H36M_INDEX:
        source[j] = "detected"
    for name, pair in MIDPOINTS:
        confidence[H36M17.index(name)] = min(weights[H36M17.index(p)] for p in pair)
        source[H36M17.index(name)] = "derived"
    return confidence, tuple(source)


def _shrink(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image shrunk to :data:`MAX_WORKING_SIDE` if larger, and the factor applied."""
    import cv2

    longest = max(image.shape[:2])
    if longest <= MAX_WORKING_SIDE:
        return image, 1.0
    factor = MAX_WORKING_SIDE / longest
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), factor
