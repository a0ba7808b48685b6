"""Human3.6M (Ionescu et al., TPAMI 2014) as laid out in ``shared/data/h36m``.

* ``poses_3d/S{n}.npz``: per sequence ("Walking 1"), float32 (frames, 17, 3) world mm, z up,
  in the H36M-17 order of :data:`poselift.skeleton.H36M17`, 50 frames/s.
* ``detections_sh/S{n}.npz``: per sequence and camera ("Walking_1.54138969"), float32
  (frames, 16, 2) Stacked-Hourglass pixels in the :data:`poselift.skeleton.SH16` order.
* ``cameras.json``: the four calibrated cameras of each subject.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..geometry import PinholeCamera
from .paths import data_root

__all__ = [
    "TRAIN_SUBJECTS",
    "CAMERA_ORDER",
    "action_of",
    "load_poses_3d",
    "load_detections_sh",
    "load_cameras",
    "stack_poses",
]

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
"""The protocol #1 training split (paper section 6)."""

CAMERA_ORDER = ("54138969", "55011271", "58860488", "60457274")
"""The usual order of the four cameras; "cam 3" of protocol #3 is the third, 58860488."""

_NUM_JOINTS = 17


def _h36m_dir(data_dir: str | Path | None) -> Path:
    return Path(data_dir) / "h36m" if data_dir is not None else data_root() / "h36m"


def action_of(sequence: str) -> str:
    """The action of a sequence name: ``"Walking 1"`` -> ``"Walking"``, ``"Photo"`` -> ``"Photo"``."""
    return re.sub(r"[ _]\d+$", "", sequence)


def _open_npz(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (set --data or $POSELIFT_DATA to the data folder)")
    try:
        return np.load(path)
    except Exception as err:  # numpy raises several kinds for a damaged archive
        raise ValueError(f"{path}: not a readable .npz archive ({err})") from err


def load_poses_3d(subject: str, data_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """All 3D sequences of ``subject`` ("S9"): name -> (frames, 17, 3) float32 world mm, z up."""
    path = _h36m_dir(data_dir) / "poses_3d" / f"{subject}.npz"
    out = {}
    with _open_npz(path) as archive:
        for name in sorted(archive.files):
            poses = archive[name]
            if poses.ndim != 3 or poses.shape[1:] != (_NUM_JOINTS, 3):
                raise ValueError(f"{path}: sequence {name!r} has shape {poses.shape}, expected (frames, 17, 3)")
            if not np.all(np.isfinite(poses)):
                raise ValueError(f"{path}: sequence {name!r} holds NaN or infinite values")
            out[name] = poses
    return out


def load_detections_sh(subject: str, data_dir: str | Path | None = None) -> dict[tuple[str, str], np.ndarray]:
    """Stacked-Hourglass detections of ``subject``: (sequence, camera) -> (frames, 16, 2) px.

    Sequence names are given as in :func:`load_poses_3d` ("Walking 1", not "Walking_1").
    """
    path = _h36m_dir(data_dir) / "detections_sh" / f"{subject}.npz"
    out = {}
    with _open_npz(path) as archive:
        for key in sorted(archive.files):
            sequence, _, camera = key.rpartition(".")
            points = archive[key]
            if points.ndim != 3 or points.shape[1:] != (16, 2):
                raise ValueError(f"{path}: entry {key!r} has shape {points.shape}, expected (frames, 16, 2)")
            out[(sequence.replace("_", " "), camera)] = points
    return out


def load_cameras(data_dir: str | Path | None = None) -> dict[str, list[PinholeCamera]]:
    """Calibrated cameras: subject ("S1") -> its cameras in :data:`CAMERA_ORDER`."""
    path = _h36m_dir(data_dir) / "cameras.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (set --data or $POSELIFT_DATA to the data folder)")
    try:
        cameras = json.loads(path.read_text())["cameras"]
        out = {}
        for subject, entries in cameras.items():
            by_id = {
                str(e["id"]): PinholeCamera(
                    rotation=np.asarray(e["R_world_to_cam"], dtype=np.float64).reshape(3, 3),
                    centre=np.asarray(e["T_cam_center_world_mm"], dtype=np.float64).reshape(3),
                    focal=np.asarray(e["f"], dtype=np.float64).reshape(2),
                    principal=np.asarray(e["c"], dtype=np.float64).reshape(2),
                    radial=np.asarray(e["k_radial"], dtype=np.float64).reshape(3),
                    tangential=np.asarray(e["p_tangential"], dtype=np.float64).reshape(2),
                    name=str(e["id"]),
                )
                for e in entries
            }
            out[subject] = [by_id[c] for c in CAMERA_ORDER if c in by_id]
        return out
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a camera file of the expected layout ({err!r})") from err


def stack_poses(subjects: tuple[str, ...] | list[str], data_dir: str | Path | None = None,
                step: int = 1) -> np.ndarray:
    """Every ``step``-th frame of every sequence of ``subjects``, stacked: (N, 17, 3) float64 mm."""
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    chunks = [seq[::step] for s in subjects for seq in load_poses_3d(s, data_dir).values()]
    if not chunks:
        raise ValueError(f"no poses found for subjects {list(subjects)}")
    return np.concatenate(chunks).astype(np.float64)
