"""poselift's result documents (``poselift estimate`` and ``poselift lift`` JSON), read back and checked.

The exporters (BVH, CSV, the HTML viewer) work from a :class:`Result`: frames, each with its
people, each with 17 joints in 2D and 3D. An estimate document is one frame (the photo) with
its people; a lift document is one frame per lifted pose, in the file's order (a keypoint
sequence reads as a clip). A file that is not one of these documents, or whose numbers are
not finite or of the wrong shape, is refused with a message naming the file and the person.
JSON is parsed, never unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import H36M17

__all__ = ["PersonPose", "Frame", "Result", "read_result", "result_from_document", "READABLE"]

READABLE = {"poselift.estimate": (2, 3), "poselift.lift": (2,)}
"""Formats and versions this module reads."""


@dataclass(frozen=True)
class PersonPose:
    """One person in one frame.

    Attributes:
        label: the person's name in the document (``"person 1"``, a lift pose's label).
        joints_3d_mm: (17, 3) root-relative millimetres, view frame (x right, y up, z towards the camera).
        joints_2d: (17, 2) pixels, or None.
        confidence: (17,) in [0, 1], or None (a lift: the weights it was lifted with).
        root_camera_mm: (3,) the root in camera coordinates (OpenCV axes: x right, y down,
            z forward), or None where no camera was known.
        joints_camera_mm: (17, 3) the joints in camera coordinates, or None likewise.
        alternatives: (H-1, 17, 3) mm the other hypotheses (docs/hypotheses.md), view frame,
            root-relative, most probable first, and probabilities (H,) (the first: this
            pose's), or None where the document has no hypotheses.
        joint_sd_mm: (17,) each joint's standard deviation, or None likewise.
    """

    label: str
    joints_3d_mm: np.ndarray
    joints_2d: np.ndarray | None
    confidence: np.ndarray | None
    root_camera_mm: np.ndarray | None
    joints_camera_mm: np.ndarray | None
    alternatives: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    joint_sd_mm: np.ndarray | None = None


@dataclass(frozen=True)
class Frame:
    """A photo or one pose of a keypoint file: its name and its people."""

    name: str
    people: tuple[PersonPose, ...]


@dataclass(frozen=True)
class Result:
    """A result document, read.

    Attributes:
        kind: ``"estimate"`` or ``"lift"``.
        source: the file read (or ``"<document>"``).
        frames: the frames, in order.
        image_path: the photo an estimate was made from (None for a lift).
        image_size: (width, height) pixels of that photo, or None.
        camera: the document's camera (focal_px, principal_px, source), or None.
        lifter: the lifter's name.
    """

    kind: str
    source: str
    frames: tuple[Frame, ...]
    image_path: str | None
    image_size: tuple[int, int] | None
    camera: dict | None
    lifter: str | None

    @property
    def people_count(self) -> int:
        return sum(len(f.people) for f in self.frames)


def read_result(path: str | Path) -> Result:
    """Read and check a poselift estimate or lift JSON.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, not a poselift result of a version this reads, or malformed
            (the message names the file and what is wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not a JSON document ({error})") from None
    return result_from_document(document, str(path))


def result_from_document(document, source: str = "<document>") -> Result:
    """A :class:`Result` from a parsed estimate or lift document (see :func:`read_result`)."""
    if not isinstance(document, dict) or document.get("format") not in READABLE:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{source}: not a poselift result (its format is {found!r}; expected one of "
                         f"{', '.join(sorted(READABLE))})")
    kind = document["format"]
    if document.get("version") not in READABLE[kind]:
        raise ValueError(f"{source}: {kind} version {document.get('version')!r} is not one this poselift reads "
                         f"({', '.join(map(str, READABLE[kind]))})")
    try:
        if document.get("joint_names") != list(H36M17.joints):
            raise ValueError("its joints are not Human3.6M-17's")
        camera = document.get("camera")
        if kind == "poselift.estimate":
            image = document["image"]
            people = tuple(_person(p, f"person {i + 1}", p.get("joints_2d"), p.get("confidence"))
                           for i, p in enumerate(_list(document["people"], "people")))
            frames = (Frame(str(image["path"]), people),)
            return Result("estimate", source, frames, str(image["path"]),
                          (int(image["width"]), int(image["height"])), camera, document["settings"].get("lifter"))
        frames = tuple(Frame(str(p.get("label", i)), (_person(p, f"pose {p.get('label', i)}", p.get("projected_2d_px"),
                                                              p.get("weights")),))
                       for i, p in enumerate(_list(document["poses"], "poses")) if p.get("lifted"))
        return Result("lift", source, frames, None, None, camera, document.get("lifter"))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{source}: a malformed {kind} document ({type(error).__name__}: {error})") from None
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


def _list(value, what: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"'{what}' is not a list")
    return value


def _array(values, shape: tuple[int, ...], what: str, label: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label}: '{what}' is not an array of numbers") from None
    if array.shape != shape:
        raise ValueError(f"{label}: '{what}' has shape {array.shape}, expected {shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{label}: '{what}' holds NaN or infinite values")
    return array


def _person(entry: dict, label: str, joints_2d, confidence) -> PersonPose:
    joints = len(H36M17)
    root, placed = entry.get("root_camera_mm"), entry.get("joints_camera_mm")
    several = entry.get("hypotheses")
    if several is not None:
        several = _list(several, "hypotheses")
        if not several:
            raise ValueError(f"{label}: 'hypotheses' is empty")
        alternatives = np.stack([_array(h["joints_3d_mm"], (joints, 3), "hypotheses joints_3d_mm", label)
                                 for h in several[1:]]) if len(several) > 1 else np.empty((0, joints, 3))
        probabilities = _array([h["probability"] for h in several], (len(several),), "hypotheses probability", label)
        deviation = _array(entry["joint_sd_mm"], (joints,), "joint_sd_mm", label)
    return PersonPose(
        label=label,
        joints_3d_mm=_array(entry["joints_3d_mm"], (joints, 3), "joints_3d_mm", label),
        joints_2d=None if joints_2d is None else _array(joints_2d, (joints, 2), "joints_2d", label),
        confidence=None if confidence is None else _array(confidence, (joints,), "confidence", label),
        root_camera_mm=None if root is None else _array(root, (3,), "root_camera_mm", label),
        joints_camera_mm=None if placed is None else _array(placed, (joints, 3), "joints_camera_mm", label),
        alternatives=None if several is None else alternatives,
        probabilities=None if several is None else probabilities,
        joint_sd_mm=None if several is None else deviation,
    )
