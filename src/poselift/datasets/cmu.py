"""CMU motion capture (BVH or ASF/AMC) mapped onto the H36M-17 joint set.

Which CMU point stands for which H36M joint. CMU's ASF bones are named by the position of
their far end; the BVH files in ``shared/data/cmu/bvh_walk`` name joints by where they
start. Exact matches (the same anatomical joint centre up to marker placement): hips,
knees, ankles, shoulders, elbows, wrists. Approximate matches, chosen by their height above
the hips against the H36M averages (pelvis-spine 234 mm, pelvis-thorax 483 mm,
thorax-neck/nose 121 mm, neck/nose-head top 115 mm):

================  ==========================  ================================
H36M-17           ASF (bone end)              BVH joint
================  ==========================  ================================
pelvis            mid-point of the hip joints  mid-point of LeftHip, RightHip
spine             upperback                   Chest2
thorax            lowerneck                   Neck
neck_nose         upperneck                   Head
head_top          head                        Head_end
================  ==========================  ================================

CMU's root lies about 10 cm above its hip joints, so it is not used for the pelvis.
These BVH files were converted without the ASF ``thorax`` bone: every joint above the
upper back sits that bone's length (about 12 cm) lower than in the ASF/AMC version of the
same clip, while hips, legs and lower spine agree to 0.01 mm (see tests).

Units: CMU lengths are in 1/0.45 inch (``:units length 0.45``, 56.4 mm); the BVH files use
the same units. Axes: CMU is y up; poses are returned in the z-up world frame of
:mod:`poselift.geometry`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..skeleton import H36M17
from .asf_amc import read_amc, read_asf
from .bvh import Motion, read_bvh

__all__ = ["ASF_TO_H36M", "BVH_TO_H36M", "CMU_MM_PER_UNIT", "motion_to_h36m", "read_cmu_clip", "read_cmu_folder"]

CMU_MM_PER_UNIT = 25.4 / 0.45
"""Millimetres per CMU length unit (1/0.45 inch)."""

# H36M joint -> CMU joints averaged (ASF: far ends of bones).
ASF_TO_H36M: dict[str, tuple[str, ...]] = {
    "pelvis": ("lhipjoint", "rhipjoint"),
    "right_hip": ("rhipjoint",), "right_knee": ("rfemur",), "right_ankle": ("rtibia",),
    "left_hip": ("lhipjoint",), "left_knee": ("lfemur",), "left_ankle": ("ltibia",),
    "spine": ("upperback",), "thorax": ("lowerneck",), "neck_nose": ("upperneck",),
    "head_top": ("head",),
    "left_shoulder": ("lclavicle",), "left_elbow": ("lhumerus",), "left_wrist": ("lradius",),
    "right_shoulder": ("rclavicle",), "right_elbow": ("rhumerus",), "right_wrist": ("rradius",),
}

BVH_TO_H36M: dict[str, tuple[str, ...]] = {
    "pelvis": ("LeftHip", "RightHip"),
    "right_hip": ("RightHip",), "right_knee": ("RightKnee",), "right_ankle": ("RightAnkle",),
    "left_hip": ("LeftHip",), "left_knee": ("LeftKnee",), "left_ankle": ("LeftAnkle",),
    "spine": ("Chest2",), "thorax": ("Neck",), "neck_nose": ("Head",), "head_top": ("Head_end",),
    "left_shoulder": ("LeftShoulder",), "left_elbow": ("LeftElbow",), "left_wrist": ("LeftWrist",),
    "right_shoulder": ("RightShoulder",), "right_elbow": ("RightElbow",), "right_wrist": ("RightWrist",),
}

# CMU y-up (x, y, z) -> world z-up (x, -z, y).
_WORLD_FROM_CMU = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def motion_to_h36m(motion: Motion, table: dict[str, tuple[str, ...]],
                   mm_per_unit: float = CMU_MM_PER_UNIT) -> np.ndarray:
    """(frames, 17, 3) world mm (z up) H36M-17 poses from a CMU :class:`Motion`."""
    joints = [np.mean([motion.joint(n) for n in table[name]], axis=0) for name in H36M17.joints]
    return np.stack(joints, axis=1) * mm_per_unit @ _WORLD_FROM_CMU.T


def read_cmu_clip(path: str | Path) -> np.ndarray:
    """One CMU clip as (frames, 17, 3) world mm H36M-17 poses.

    ``.bvh`` files are read directly; an ``.amc`` file needs its skeleton, found beside it
    as ``<subject>.asf`` (``02_01.amc`` -> ``02.asf``) or as the folder's only ``.asf``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return motion_to_h36m(read_bvh(path), BVH_TO_H36M)
    if suffix == ".amc":
        candidates = [path.with_name(path.stem.split("_")[0] + ".asf")]
        candidates += sorted(path.parent.glob("*.asf"))
        asf = next((c for c in candidates if c.is_file()), None)
        if asf is None:
            raise FileNotFoundError(f"{path}: no .asf skeleton beside it")
        skeleton = read_asf(asf)
        return motion_to_h36m(read_amc(path, skeleton), ASF_TO_H36M, skeleton.millimetres_per_unit)
    raise ValueError(f"{path}: not a CMU clip (expected .bvh or .amc)")


def read_cmu_folder(folder: str | Path) -> dict[str, np.ndarray]:
    """Every ``.bvh`` and ``.amc`` clip below ``folder``: relative path -> (frames, 17, 3) mm."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    clips = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".bvh", ".amc"))
    if not clips:
        raise ValueError(f"{folder}: no .bvh or .amc files found")
    return {str(p.relative_to(folder)): read_cmu_clip(p) for p in clips}
