"""Reading 2D keypoint files from other detectors, for ``poselift lift``.

Formats (``--format``):

* ``coco``: COCO keypoint JSON: a list of annotations, or a dict with ``"annotations"``,
  each with ``"keypoints"`` = J x (x, y, v); v = 0 (not labelled) gives weight 0. The joints
  are those its category names (``"categories": [{"id", "keypoints": [names]}]``, as mmpose
  writes Human3.6M-17, CrowdPose or AIC files; see
  :func:`poselift.skeleton.joint_set_from_names`), COCO-17 where the file names none.
* ``openpose``: OpenPose JSON, ``{"people": [{"pose_keypoints_2d": 25 x (x, y, c)}]}``
  (BODY_25); the confidence c is the weight (0: not detected).
* ``h36m``, ``lsp``: a ``.npy`` or JSON array (N, J, 2) or (N, J, 3) in the H36M-17 or
  LSP-14 order; a third column is a weight in [0, 1] (1 = visible). The original LSP
  ``joints.mat`` flag, where 0 means visible, must be turned into such a weight first.
* ``npy``: the same array layout for any joint set named by ``joint_set``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .skeleton import COCO17, H36M17, LSP14, OPENPOSE25, JointSet, get_joint_set, joint_set_from_names

__all__ = ["FORMATS", "Keypoints", "read_keypoints"]

FORMATS = ("coco", "openpose", "h36m", "lsp", "npy")


@dataclass(frozen=True)
class Keypoints:
    """2D poses read from a file.

    Attributes:
        points: (N, J, 2) pixels.
        weights: (N, J) in [0, 1]; 0 = missing.
        joint_set: the joint set of ``points``.
        labels: one label per pose (annotation id, person index).
    """

    points: np.ndarray
    weights: np.ndarray
    joint_set: JointSet
    labels: tuple[str, ...]


def _finite_float(text: str) -> float:
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _read_json(path: Path):
    """The JSON document in ``path``; NaN, Infinity and numbers beyond float64 are refused."""
    try:
        return json.loads(path.read_text(), parse_float=_finite_float, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError; so is a 5000-digit integer
        raise ValueError(f"{path}: not a JSON file ({err})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a JSON file (nested too deep)") from None


def _numbers(path: Path, values, what: str) -> np.ndarray:
    """JSON ``values`` (a number or nested lists of them) as a float64 array; booleans,
    strings, null and ragged lists are refused, naming ``what``."""
    try:
        items = np.asarray(values, dtype=object)
    except ValueError:  # ragged
        raise ValueError(f"{path}: {what} is not a rectangular array of numbers") from None
    kinds = {type(item) for item in items.flat}
    if not kinds <= {int, float}:
        odd = sorted(k.__name__ if k is not type(None) else "null" for k in kinds - {int, float})
        raise ValueError(f"{path}: {what} holds {', '.join(odd)} where numbers belong")
    try:
        array = items.astype(np.float64)
    except OverflowError:
        raise ValueError(f"{path}: {what} holds a number too large") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{path}: {what} holds a number too large")
    return array


def _array(path: Path) -> np.ndarray:
    if path.suffix.lower() != ".npy":
        return _numbers(path, _read_json(path), "the JSON array")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)  # maps the file: a header's shape is checked
    except (ValueError, OSError, EOFError) as err:  # against its size before any memory is taken
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{path}: the array holds {array.dtype} values, not numbers")
    return np.array(array, dtype=np.float64)


def _from_array(path: Path, array: np.ndarray, joint_set: JointSet) -> Keypoints:
    num_joints = len(joint_set)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1] != num_joints or array.shape[2] not in (2, 3):
        raise ValueError(f"{path}: expected an array (N, {num_joints}, 2 or 3) for {joint_set.name}, "
                         f"got {array.shape}")
    if len(array) == 0:
        raise ValueError(f"{path}: holds no poses")
    weights = array[..., 2] if array.shape[2] == 3 else np.ones(array.shape[:2])
    bad = ~((weights >= 0) & (weights <= 1))  # NaN too
    if np.any(bad):
        pose = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ValueError(f"{path}: pose {pose}: the third column must be a weight in [0, 1]")
    return Keypoints(array[..., :2], weights, joint_set, tuple(str(i) for i in range(len(array))))


def _triplets(path: Path, values, count: int, what: str) -> np.ndarray:
    values = _numbers(path, values, what)
    if values.shape != (3 * count,):
        raise ValueError(f"{path}: {what} must hold {3 * count} numbers, found {values.size}")
    return values.reshape(count, 3)


def read_keypoints(path: str | Path, fmt: str, joint_set: str = "h36m17") -> Keypoints:
    """Read a keypoint file of format ``fmt`` (one of :data:`FORMATS`).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not of that format, or holds no poses.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown keypoint format {fmt!r}; known: {', '.join(FORMATS)}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such keypoint file")
    if fmt in ("h36m", "lsp", "npy"):
        return _from_array(path, _array(path), {"h36m": H36M17, "lsp": LSP14}.get(fmt) or get_joint_set(joint_set))
    data = _read_json(path)
    rows, labels = [], []
    if fmt == "coco":
        annotations = data.get("annotations") if isinstance(data, dict) else data
        if not isinstance(annotations, list):
            raise ValueError(f"{path}: not COCO keypoints (expected a list of annotations)")
        joint_set = _coco_joint_set(path, data)
        for i, ann in enumerate(annotations):
            if not isinstance(ann, dict) or "keypoints" not in ann:
                raise ValueError(f"{path}: annotation {i} has no 'keypoints'")
            triplets = _triplets(path, ann["keypoints"], len(joint_set), f"annotation {i}'s keypoints")
            rows.append(np.column_stack([triplets[:, :2], (triplets[:, 2] > 0).astype(float)]))
            labels.append(str(ann.get("id", i)))
    else:
        people = data.get("people") if isinstance(data, dict) else None
        if not isinstance(people, list):
            raise ValueError(f"{path}: not OpenPose JSON (expected a 'people' list)")
        for i, person in enumerate(people):
            if not isinstance(person, dict):
                raise ValueError(f"{path}: person {i} is not an object with 'pose_keypoints_2d'")
            triplets = _triplets(path, person.get("pose_keypoints_2d", []), len(OPENPOSE25),
                                 f"person {i}'s pose_keypoints_2d")
            rows.append(np.column_stack([triplets[:, :2], np.clip(triplets[:, 2], 0, 1)]))
            labels.append(str(i))
        joint_set = OPENPOSE25
    if not rows:
        raise ValueError(f"{path}: holds no poses")
    array = np.stack(rows)
    return Keypoints(array[..., :2], array[..., 2], joint_set, tuple(labels))


def _coco_joint_set(path: Path, data) -> JointSet:
    """The joint set a COCO file's person category names, COCO-17 if it names none.

    Raises:
        ValueError: several categories name different joints, or the names match no known joints.
    """
    categories = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(categories, list):
        return COCO17
    names = [c.get("keypoints") for c in categories if isinstance(c, dict) and c.get("keypoints") is not None]
    if not names:
        return COCO17
    if any(n != names[0] for n in names) or not isinstance(names[0], list) or not all(
            isinstance(n, str) for n in names[0]):
        raise ValueError(f"{path}: the categories' 'keypoints' must be one list of joint names")
    try:
        return joint_set_from_names(names[0], label=f"{path.name}'s joints")
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
