"""BlazePose (Bazarevsky et al. 2020) run offline from the .tflite files shipped with poselift.

Two networks: a person detector (224x224 input, SSD-style anchors, one box and four
alignment keypoints per anchor) and a landmark network (256x256 crop of one person,
rotated upright) whose output ``Identity_3`` holds 64x64 heatmaps for 39 keypoints: the
stage-1 belief maps of the paper's section 5.1. The pre- and post-processing that
MediaPipe compiles into its graphs is re-implemented here from its documented options:

- detector input: the whole image letterboxed to a square (plus a border, see
  :data:`DETECTION_BORDER`), RGB scaled to [-1, 1];
- anchors: 5 layers, strides 8, 16, 32, 32, 32, scales 0.1484375 to 0.75, two anchors of
  fixed unit size per cell and layer (2254 in all); offsets are in input pixels / 224;
- scores: sigmoid of the clipped logit, kept above :data:`DETECTION_THRESHOLD`; overlapping
  boxes (IoU > 0.3) merged by score-weighted averaging ("weighted NMS");
- region of interest: centred on keypoint 0 (mid-hips), side 2 x |kp1 - kp0| x 1.25,
  rotated so that kp0 -> kp1 points up in the crop;
- landmark input: that crop, RGB scaled to [0, 1], zero outside the image.

All coordinates returned are pixels of the image passed in (x right, y down).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..geometry import wrap_angle

__all__ = [
    "BlazePose", "Detection", "Crop", "LandmarkOutput", "model_paths", "ModelError", "same_person",
    "DETECTION_THRESHOLD", "DETECTION_BORDER", "LANDMARK_SIZE", "HEATMAP_SIZE", "NUM_KEYPOINTS",
]

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
HEATMAP_SIZE = 64
NUM_KEYPOINTS = 33  # the first 33 of the 39 outputs; the rest are alignment points
DETECTION_THRESHOLD = 0.5
NMS_IOU = 0.3
ROI_SCALE = 1.25
DETECTION_BORDER = 0.25  # padding on each side, as a fraction of the longer image side
PRESENCE_THRESHOLD = 0.5  # landmark network's person-presence probability to keep a crop
SAME_PERSON = 0.1  # median keypoint distance, as a fraction of the crop side, of one person
SAME_CROP = (0.05, 0.1, np.radians(10.0))  # with fast=True: no second landmark pass this close
WINDOW_ASPECT = 1.2  # images longer than this times their short side also get square windows
MAX_SQUARE_WINDOWS = 16  # at most this many, spread evenly (more only for images over 8.5 times as long as wide)


class ModelError(OSError):
    """The BlazePose model files are missing, damaged or cannot be loaded."""


# The BlazePose model files shipped in the package (Apache-2.0, taken unchanged from the
# mediapipe 0.10.14 wheel: see NOTICE.md in that folder) and their SHA-256 digests. After
# replacing a file, re-create its digest with `sha256sum src/poselift/models/blazepose/*.tflite`.
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "blazepose"
DETECTOR_FILE = "pose_detection.tflite"
DETECTOR_SHA256 = "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
LANDMARK_FILE = "pose_landmark_full.tflite"
LANDMARK_SHA256 = "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"


def model_paths() -> tuple[Path, Path]:
    """Paths of (pose_detection.tflite, pose_landmark_full.tflite) shipped with poselift.

    Each file's SHA-256 is checked against :data:`DETECTOR_SHA256` / :data:`LANDMARK_SHA256`
    the first time it is asked for in a process (again only if the file changes on disk).

    Raises:
        ModelError: a file is missing, unreadable, or not the shipped model (checksum mismatch).
    """
    paths = (MODEL_DIR / DETECTOR_FILE, MODEL_DIR / LANDMARK_FILE)
    for path, expected in zip(paths, (DETECTOR_SHA256, LANDMARK_SHA256)):
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise ModelError(f"{path}: the BlazePose model file is missing (it ships with poselift); "
                             "reinstall poselift") from None
        except OSError as error:
            raise ModelError(f"{path}: cannot read the BlazePose model file ({error})") from None
        _verify(path, expected, stat.st_size, stat.st_mtime_ns)
    return paths


@functools.lru_cache(maxsize=None)
def _verify(path: Path, expected: str, size: int, mtime_ns: int) -> None:
    """Raise ModelError unless the file's SHA-256 is ``expected``; cached (size and mtime
    are in the key so that a file replaced on disk is checked again)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ModelError(f"{path}: cannot read the BlazePose model file ({error})") from None
    if digest.hexdigest() != expected:
        raise ModelError(f"{path}: checksum mismatch (SHA-256 {digest.hexdigest()}, expected {expected}): "
                         "the file is damaged or not the shipped model; reinstall poselift")


def _interpreter(path: Path, threads: int | None):
    from ai_edge_litert.interpreter import Interpreter

    try:
        with _native_stderr_silenced():  # the runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate"
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise ModelError(f"{path}: cannot load the model ({error})") from None
    return interpreter


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what native code writes to the process's stderr (file descriptor 2) to nowhere, for a while."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _anchors() -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1] of the detector input, in the network's output order."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):  # layers of equal stride share cells
        cells = DETECTOR_SIZE // stride
        grid = (np.arange(cells) + 0.5) / cells
        y, x = np.meshgrid(grid, grid, indexing="ij")
        centres.append(np.repeat(np.stack([x.ravel(), y.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres)


@dataclass(frozen=True)
class Detection:
    """One person found by the detector, in image pixels.

    Attributes:
        box: (4,) x0, y0, x1, y1 of the detector's box (the face-and-body box it regresses).
        score: detector confidence in (0, 1).
        keypoints: (4, 2) alignment points: mid-hips, body-size/rotation point, mid-shoulders,
            upper-body point.
    """

    box: np.ndarray
    score: float
    keypoints: np.ndarray


@dataclass(frozen=True)
class Crop:
    """A rotated square region of the image, mapped onto a ``size`` x ``size`` crop.

    Attributes:
        centre: (2,) pixels. side: side length in image pixels. rotation: radians, the
        angle by which the person leans (counter-clockwise on screen is positive).
    """

    centre: np.ndarray
    side: float
    rotation: float

    def crop_from_image(self, size: int) -> np.ndarray:
        """(2, 3) affine matrix taking image pixels to crop pixels (crop ``size`` wide)."""
        return cv2.invertAffineTransform(self.image_from_crop(size))

    def image_from_crop(self, size: int) -> np.ndarray:
        """(2, 3) affine matrix taking crop pixels (crop ``size`` wide) to image pixels."""
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        k = self.side / size
        # crop axes in the image: x -> (c, -s), y -> (s, c), scaled to the side
        linear = k * np.array([[c, s], [-s, c]])
        offset = self.centre - linear @ np.array([size / 2.0, size / 2.0])
        return np.concatenate([linear, offset[:, None]], axis=1)

    def to_image(self, points: np.ndarray, size: int) -> np.ndarray:
        """Map (..., 2) crop pixels (crop ``size`` wide) to image pixels."""
        m = self.image_from_crop(size)
        return points @ m[:, :2].T + m[:, 2]

    @property
    def corners(self) -> np.ndarray:
        """(4, 2) image pixels of the crop's corners (top-left, top-right, bottom-right, bottom-left)."""
        return self.to_image(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), 1)


@dataclass(frozen=True)
class LandmarkOutput:
    """The landmark network's answer for one crop.

    Attributes:
        crop: the region it saw.
        presence: probability that a person is in the crop.
        keypoints: (33, 2) BlazePose keypoints, image pixels (the network's regression).
        visibility: (33,) probability that each keypoint is visible (not occluded).
        heatmaps: (64, 64, 33) belief maps in (0, 1) over the crop; cell (r, c) is crop
            pixel (4c, 4r).
        alignment: (2, 2) image pixels of the network's own mid-hips and body-top points.
        patch: (256, 256, 3) uint8 the crop the network saw.
        score: detector score times presence (set by :meth:`BlazePose.find_people`).
        world: (33, 3) BlazePose's own 3D keypoints (output ``Identity_4``, MediaPipe's "world
            landmarks"), metres, origin between the hips, in the crop's axes (x right, y down,
            z away from the camera), the crop's turn not undone.
    """

    crop: Crop
    presence: float
    keypoints: np.ndarray
    visibility: np.ndarray
    heatmaps: np.ndarray
    alignment: np.ndarray
    patch: np.ndarray
    score: float = 0.0
    world: np.ndarray | None = None

    def following_crop(self) -> Crop:
        """The crop the landmark network's own alignment points give: where BlazePose looks for
        this person next (in the same image, or in the next frame of a video)."""
        return _region_from_points(self.alignment[0], self.alignment[1])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -100.0, 100.0)))


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of a (4,) x0, y0, x1, y1 box with each of (..., 4) boxes: (...)."""
    overlap = np.minimum(box[2:], boxes[..., 2:]) - np.maximum(box[:2], boxes[..., :2])
    inter = np.prod(np.clip(overlap, 0, None), axis=-1)
    area = np.prod(np.clip(boxes[..., 2:] - boxes[..., :2], 0, None), axis=-1)
    union = np.prod(np.clip(box[2:] - box[:2], 0, None)) + area - inter
    return inter / np.maximum(union, 1e-12)


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray, keypoints: np.ndarray) -> list[Detection]:
    """Merge overlapping candidates: each cluster becomes its score-weighted mean."""
    order = np.argsort(-scores)
    boxes, scores, keypoints = boxes[order], scores[order], keypoints[order]
    remaining = np.ones(len(scores), dtype=bool)
    found = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        cluster = remaining & (_iou(boxes[i], boxes) > NMS_IOU)
        weight = scores[cluster] / scores[cluster].sum()
        found.append(Detection(box=weight @ boxes[cluster], score=float(scores[i]),
                               keypoints=np.einsum("n,nkc->kc", weight, keypoints[cluster])))
        remaining &= ~cluster
    return found


class BlazePose:
    """The two BlazePose networks with their pre- and post-processing.

    Args:
        threads: CPU threads for each interpreter (default: the runtime's choice).

    Raises:
        ModelError: the model files are missing or unreadable.
    """

    def __init__(self, threads: int | None = None) -> None:
        detector_path, landmark_path = model_paths()
        self._detector = _interpreter(detector_path, threads)
        self._landmarks = _interpreter(landmark_path, threads)
        self._anchors = _anchors()
        outputs = {d["name"]: d["index"] for d in self._detector.get_output_details()}
        self._det_in = self._detector.get_input_details()[0]["index"]
        self._det_regressors, self._det_scores = outputs["Identity"], outputs["Identity_1"]
        outputs = {d["name"]: d["index"] for d in self._landmarks.get_output_details()}
        self._lm_in = self._landmarks.get_input_details()[0]["index"]
        self._lm_keypoints, self._lm_presence, self._lm_heatmaps, self._lm_world = (
            outputs["Identity"], outputs["Identity_1"], outputs["Identity_3"], outputs["Identity_4"])

    def detect(self, image: np.ndarray, threshold: float = DETECTION_THRESHOLD,
               border: float = DETECTION_BORDER) -> list[Detection]:
        """People in an (H, W, 3) uint8 RGB image, most confident first.

        The image is letterboxed into a square with ``border`` (a fraction of its longer
        side) of black on each side, then shrunk to the detector's 224 pixels.
        """
        height, width = image.shape[:2]
        side = int(round(max(height, width) * (1.0 + 2.0 * border)))
        left, top = (side - width) // 2, (side - height) // 2
        canvas = cv2.copyMakeBorder(image, top, side - height - top, left, side - width - left,
                                    cv2.BORDER_CONSTANT, value=(0, 0, 0))
        canvas = cv2.resize(canvas, (DETECTOR_SIZE, DETECTOR_SIZE),
                            interpolation=cv2.INTER_AREA if side > DETECTOR_SIZE else cv2.INTER_LINEAR)
        self._detector.set_tensor(self._det_in, canvas[None].astype(np.float32) / 127.5 - 1.0)
        self._detector.invoke()
        raw = self._detector.get_tensor(self._det_regressors)[0].astype(np.float64)
        scores = _sigmoid(self._detector.get_tensor(self._det_scores)[0, :, 0].astype(np.float64))
        keep = scores > threshold
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        # offsets are in detector pixels: to the unit square, then to image pixels
        offset = np.array([left, top], dtype=np.float64)
        centre = raw[:, :2] / DETECTOR_SIZE + anchors
        half = raw[:, 2:4] / DETECTOR_SIZE / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1) * side - np.tile(offset, 2)
        keypoints = (raw[:, 4:12].reshape(-1, 4, 2) / DETECTOR_SIZE + anchors[:, None]) * side - offset
        return _weighted_nms(boxes, scores, keypoints)

    @staticmethod
    def region(detection: Detection) -> Crop:
        """The landmark network's crop for a detection (see the module docstring)."""
        return _region_from_points(detection.keypoints[0], detection.keypoints[1])

    def landmarks(self, image: np.ndarray, crop: Crop) -> LandmarkOutput:
        """Run the landmark network on ``crop`` of an (H, W, 3) uint8 RGB image."""
        patch = self._patch(image, crop)
        self._landmarks.set_tensor(self._lm_in, patch[None].astype(np.float32) / 255.0)
        self._landmarks.invoke()
        raw = self._landmarks.get_tensor(self._lm_keypoints)[0].reshape(-1, 5).astype(np.float64)
        # the presence output is already a probability; the visibility outputs are logits
        presence = float(self._landmarks.get_tensor(self._lm_presence).ravel()[0])
        heatmaps = _sigmoid(self._landmarks.get_tensor(self._lm_heatmaps)[0, ..., :NUM_KEYPOINTS].astype(np.float64))
        return LandmarkOutput(crop=crop, presence=presence,
                              keypoints=crop.to_image(raw[:NUM_KEYPOINTS, :2], LANDMARK_SIZE),
                              visibility=_sigmoid(raw[:NUM_KEYPOINTS, 3]), heatmaps=heatmaps,
                              alignment=crop.to_image(raw[NUM_KEYPOINTS:NUM_KEYPOINTS + 2, :2], LANDMARK_SIZE),
                              patch=patch, world=self._landmarks.get_tensor(self._lm_world)[0].reshape(-1, 3)[
                                  :NUM_KEYPOINTS].astype(np.float64))

    @staticmethod
    def _patch(image: np.ndarray, crop: Crop) -> np.ndarray:
        """The (256, 256, 3) crop; a large region is first shrunk by area to avoid aliasing."""
        shrink = int(crop.side // (2 * LANDMARK_SIZE))
        if shrink > 1:
            small = cv2.resize(image, (max(1, image.shape[1] // shrink), max(1, image.shape[0] // shrink)),
                               interpolation=cv2.INTER_AREA)
            factor = np.array([small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]])
            crop = Crop(centre=crop.centre * factor, side=crop.side * factor.mean(), rotation=crop.rotation)
            image = small
        return cv2.warpAffine(image, crop.crop_from_image(LANDMARK_SIZE), (LANDMARK_SIZE, LANDMARK_SIZE),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))

    def find_people(self, image: np.ndarray, max_people: int | None = None, fast: bool = False) -> list[LandmarkOutput]:
        """Every person in an (H, W, 3) uint8 RGB image, the most prominent first.

        The detector runs on the whole image (with and without a border) and, for a wide or
        tall image, on square windows of its shorter side every half side, because it misses
        people that are small in the letterboxed whole. Candidates from all windows are taken
        most confident first; one whose box overlaps (IoU > 0.3) the detection of a person
        already accepted is skipped. Each goes through the landmark network; its crop is then
        re-centred on the landmark network's own alignment points (as BlazePose does when it
        tracks) and run once more. Crops with a presence below :data:`PRESENCE_THRESHOLD`
        are dropped, and crops that found a person already accepted (keypoints within
        :data:`SAME_PERSON` of the crop side) are merged into it. Candidates are not
        averaged across windows: on the 400 LSP-extended images that found a person in 385,
        this finds one in 393 (the whole image with a border only: 390).

        ``fast`` trades a little accuracy for time: the whole image without a border is
        searched only when nothing was found otherwise, and the second landmark pass is
        skipped when the re-centred crop is within :data:`SAME_CROP` of the first.
        """
        windows = _windows(image.shape[1], image.shape[0])
        groups = [[windows[0], *windows[2:]], [windows[1]]] if fast else [windows]
        people: list[LandmarkOutput] = []
        accepted_boxes: list[np.ndarray] = []
        for group in groups:
            if people:
                break
            for detection in self._candidates(image, group):
                if accepted_boxes and np.any(_iou(detection.box, np.array(accepted_boxes)) > NMS_IOU):
                    continue
                first = self.landmarks(image, self.region(detection))
                if first.presence < PRESENCE_THRESHOLD:
                    continue
                accepted_boxes.append(detection.box)
                if any(same_person(first, other) for other in people):
                    continue
                recentred = first.following_crop()
                result = first
                if not (fast and _similar_crops(first.crop, recentred)):
                    second = self.landmarks(image, recentred)
                    result = second if second.presence >= PRESENCE_THRESHOLD else first
                if not any(same_person(result, other) for other in people):
                    people.append(dataclasses.replace(result, score=detection.score * result.presence))
        people.sort(key=lambda p: -p.score * p.crop.side)  # confident and large first
        return people[:max_people]

    def detect_windows(self, image: np.ndarray) -> list[Detection]:
        """Detections of every window :meth:`find_people` searches (the whole image with and
        without a border, squares along a long one), most confident first, not merged across
        windows: the detector pass of video tracking."""
        return self._candidates(image, _windows(image.shape[1], image.shape[0]))

    def _candidates(self, image: np.ndarray, windows) -> list[Detection]:
        """Detections of every window, in image pixels, most confident first."""
        candidates = []
        for x0, y0, window, border in windows:
            for found in self.detect(image[y0:y0 + window[1], x0:x0 + window[0]], border=border):
                shift = np.array([x0, y0], dtype=np.float64)
                candidates.append(Detection(box=found.box + np.tile(shift, 2), score=found.score,
                                            keypoints=found.keypoints + shift))
        return sorted(candidates, key=lambda d: -d.score)


def _region_from_points(hips: np.ndarray, top: np.ndarray) -> Crop:
    """Crop centred on ``hips``, side 2 x |top - hips| x 1.25, turned so that top points up."""
    up = top - hips
    rotation = float(np.arctan2(-up[0], -up[1]))  # 0 when top is straight above the hips
    return Crop(centre=np.array(hips, dtype=np.float64), side=float(2.0 * np.hypot(*up) * ROI_SCALE),
                rotation=rotation)


def _windows(width: int, height: int) -> list[tuple[int, int, tuple[int, int], float]]:
    """Detector windows (x0, y0, (w, h), border): the whole image with and without a border
    (people at its edges need the border; people small in the middle are lost with it),
    then squares along its long side, half overlapping (at most :data:`MAX_SQUARE_WINDOWS`)."""
    windows = [(0, 0, (width, height), DETECTION_BORDER), (0, 0, (width, height), 0.0)]
    short, long = min(width, height), max(width, height)
    if long > WINDOW_ASPECT * short:
        starts = np.unique(np.round(np.r_[np.arange(0, long - short, short / 2.0), long - short]).astype(int))
        if len(starts) > MAX_SQUARE_WINDOWS:  # a panorama: detection time bounded, not proportional to its length
            starts = np.unique(np.round(np.linspace(0, long - short, MAX_SQUARE_WINDOWS)).astype(int))
        for start in starts:
            windows.append((int(start), 0, (short, short), 0.0) if width > height else
                           (0, int(start), (short, short), 0.0))
    return windows


def _similar_crops(a: Crop, b: Crop) -> bool:
    """Crops that differ by less than :data:`SAME_CROP` (centre shift and side change as
    fractions of the side, turn in radians)."""
    shift, size, turn = SAME_CROP
    return bool(np.hypot(*(a.centre - b.centre)) < shift * a.side and abs(b.side / a.side - 1.0) < size
                and abs(wrap_angle(a.rotation - b.rotation)) < turn)


def same_person(a: LandmarkOutput, b: LandmarkOutput) -> bool:
    """Whether two landmark answers found the same person: median keypoint distance under
    :data:`SAME_PERSON` of the smaller crop's side."""
    distance = np.median(np.linalg.norm(a.keypoints - b.keypoints, axis=1))
    return bool(distance < SAME_PERSON * min(a.crop.side, b.crop.side))
