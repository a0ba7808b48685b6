"""Joint sets as data, and conversions between them.

A :class:`JointSet` is declared once: joint names, and for each joint the parent it is
drawn from (``-1`` for the root). Everything else is derived from the names: a joint named
``left_*`` has the partner ``right_*`` (and back), which gives the left/right swap used for
mirroring (paper section 4) and the colours of drawings.

Names are anatomical and shared between sets: ``right_knee`` in LSP-14 is the same point
as ``right_knee`` in H36M-17. Points that only resemble each other get different names
(LSP's ``upper_neck`` is not H36M's ``thorax``; the Stacked-Hourglass ``sh_spine`` sits a
median 46 px from H36M's ``spine``), and :data:`DERIVATIONS` says how one stands in for the
other. :func:`convert` applies them and reports which joints are approximate and which the
source set lacks.

Sets: :data:`H36M17` (the order of ``shared/data/README.md``: joints 1-3 are the RIGHT leg),
:data:`LSP14`, :data:`SH16` (the Stacked-Hourglass detections released with Martinez et
al. 2017), :data:`BLAZEPOSE33`, :data:`COCO17` and :data:`OPENPOSE25` (BODY_25).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "JointSet",
    "Conversion",
    "H36M17",
    "LSP14",
    "SH16",
    "BLAZEPOSE33",
    "COCO17",
    "OPENPOSE25",
    "JOINT_SETS",
    "KNOWN_LAYOUTS",
    "NAME_ALIASES",
    "joint_set_from_names",
    "DERIVATIONS",
    "get_joint_set",
    "convert",
]


@dataclass(frozen=True)
class JointSet:
    """A named, ordered set of joints with a drawing tree.

    Attributes:
        name: identifier used in files and on the command line, e.g. ``"h36m17"``.
        joints: joint names, in array order.
        parents: for each joint, the index of the joint it hangs from, ``-1`` for roots.
    """

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.joints) != len(self.parents):
            raise ValueError(f"{self.name}: {len(self.joints)} joints but {len(self.parents)} parents")
        if len(set(self.joints)) != len(self.joints):
            raise ValueError(f"{self.name}: joint names repeat")
        for j, p in enumerate(self.parents):
            if not -1 <= p < len(self.joints) or p == j:
                raise ValueError(f"{self.name}: joint {self.joints[j]!r} has bad parent {p}")
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.joints)})
        for n in self.joints:
            partner = _partner_name(n)
            if partner != n and partner not in self._index:
                raise ValueError(f"{self.name}: {n!r} has no partner {partner!r}")

    def __len__(self) -> int:
        return len(self.joints)

    def index(self, name: str) -> int:
        """Position of joint ``name``; ValueError naming the set if it has no such joint."""
        try:
            return self._index[name]
        except KeyError:
            raise ValueError(f"joint set {self.name!r} has no joint {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._index

    @property
    def bones(self) -> np.ndarray:
        """(B, 2) int array of (child, parent) index pairs: every joint that has a parent."""
        return np.array([(j, p) for j, p in enumerate(self.parents) if p >= 0], dtype=np.int64)

    @property
    def mirror_index(self) -> np.ndarray:
        """(J,) int array: the index of each joint's left/right partner (itself if central).

        ``points[..., mirror_index, :]`` relabels left as right and right as left.
        """
        return np.array([self._index[_partner_name(n)] for n in self.joints], dtype=np.int64)

    @property
    def sides(self) -> tuple[str, ...]:
        """For each joint ``"left"``, ``"right"`` or ``"centre"`` (for colours in drawings)."""
        return tuple(n.split("_", 1)[0] if n.startswith(("left_", "right_")) else "centre" for n in self.joints)


def _partner_name(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[len("left_"):]
    if name.startswith("right_"):
        return "left_" + name[len("right_"):]
    return name


H36M17 = JointSet(
    "h36m17",
    joints=(
        "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
        "left_ankle", "spine", "thorax", "neck_nose", "head_top", "left_shoulder",
        "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
    ),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
)

LSP14 = JointSet(
    "lsp14",
    joints=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
        "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
        "left_wrist", "upper_neck", "head_top",
    ),
    # drawn from the upper neck: hips hang from the shoulders of their side
    parents=(1, 2, 8, 9, 3, 4, 7, 8, 12, 12, 9, 10, -1, 12),
)

SH16 = JointSet(
    "sh16",
    joints=(
        "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
        "pelvis", "sh_spine", "thorax", "sh_head", "right_wrist", "right_elbow",
        "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    ),
    parents=(1, 2, 6, 6, 3, 4, -1, 6, 7, 8, 11, 12, 8, 8, 13, 14),
)

BLAZEPOSE33 = JointSet(
    "blazepose33",
    joints=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
        "right_eye", "right_eye_outer", "left_ear", "right_ear", "left_mouth", "right_mouth",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
        "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
        "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee",
        "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index",
        "right_foot_index",
    ),
    parents=(
        -1, 0, 1, 2, 0, 4, 5, 3, 6, 0, 0,
        0, 0, 11, 12, 13, 14, 15, 16, 15, 16, 15, 16,
        11, 12, 23, 24, 25, 26, 27, 28, 27, 28,
    ),
)

COCO17 = JointSet(
    "coco17",
    joints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
)

OPENPOSE25 = JointSet(
    "openpose25",
    joints=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
        "left_wrist", "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
        "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
        "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    ),
    parents=(1, 8, 1, 2, 3, 1, 5, 6, -1, 8, 9, 10, 8, 12, 13, 0, 0, 15, 16, 14, 19, 14, 11, 22, 11),
)

JOINT_SETS: dict[str, JointSet] = {s.name: s for s in (H36M17, LSP14, SH16, BLAZEPOSE33, COCO17, OPENPOSE25)}

KNOWN_LAYOUTS: dict[tuple[str, ...], str] = {
    tuple(s.joints): s.name for s in JOINT_SETS.values()} | {
    # Human3.6M-17 as some tools name it (mmpose-style COCO files, e.g. the annotated frames'
    # h36m_coco.json): the order is H36M-17's. These files call joints 1-3 "left", but the
    # frames' 3D puts joint 1 beside joint 14 (the right shoulder) in all four: they are the
    # subject's right leg, as in H36M-17 (the labels of the two codebases disagree).
    ("root_(pelvis)", "left_hip", "left_knee", "left_foot", "right_hip", "right_knee", "right_foot", "spine",
     "thorax", "neck_base", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
     "right_wrist"): H36M17.name,
    ("root", "right_hip", "right_knee", "right_foot", "left_hip", "left_knee", "left_foot", "spine", "thorax",
     "neck_base", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
     "right_wrist"): H36M17.name,
}
"""Whole lists of joint names (normalised: lower case, ``_`` for spaces) that are a known joint set, in its order."""

NAME_ALIASES = {"root": "pelvis", "head": "head_top", "left_foot": "left_ankle", "right_foot": "right_ankle"}
"""Other tools' names of single joints (CrowdPose's and AIC's "head" is the top of the head)."""


def _normalised(name: str) -> str:
    return "_".join(str(name).strip().lower().replace("-", " ").split())


def joint_set_from_names(names: list[str] | tuple[str, ...], label: str) -> JointSet:
    """The joint set a file names its joints with (COCO categories' ``keypoints``).

    A whole list that is a known layout (:data:`KNOWN_LAYOUTS`) is that joint set. Otherwise
    each name must be a joint of a known set, or an alias of one (:data:`NAME_ALIASES`), and
    the file's joints make a set of their own, ``label``, converted by name like any other.

    Raises:
        ValueError: names that map to no known joint, listed; repeated names.
    """
    normalised = tuple(_normalised(n) for n in names)
    if normalised in KNOWN_LAYOUTS:
        return JOINT_SETS[KNOWN_LAYOUTS[normalised]]
    known = {joint for s in JOINT_SETS.values() for joint in s.joints}
    mapped = tuple(NAME_ALIASES.get(n, n) for n in normalised)
    unknown = [name for name, m in zip(names, mapped) if m not in known]
    if unknown:
        raise ValueError(f"joint names that match no known joint: {', '.join(map(str, unknown))} "
                         f"(known sets: {', '.join(JOINT_SETS)})")
    if len(set(mapped)) != len(mapped):
        raise ValueError(f"joint names repeat once read: {', '.join(map(str, names))}")
    partners = {_partner_name(m) for m in mapped} - set(mapped)
    if partners:
        raise ValueError(f"joint names lack their left/right partners: {', '.join(sorted(partners))}")
    return JointSet(label, mapped, tuple(-1 for _ in mapped))


def get_joint_set(name: str | JointSet) -> JointSet:
    """The joint set called ``name`` (``h36m17``, ``lsp14``, ``sh16``, ``blazepose33``)."""
    if isinstance(name, JointSet):
        return name
    try:
        return JOINT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown joint set {name!r}; known: {', '.join(JOINT_SETS)}") from None


# How a joint is made from others when a set lacks it: (joint, joints averaged, note).
# Tried in order; a derived joint may feed a later rule. Every derived joint is reported
# as approximate: none of these is the same anatomical point, only a stand-in.
DERIVATIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("pelvis", ("left_hip", "right_hip"), "mid-hips; in Human3.6M the pelvis is the hip mid-point"),
    ("thorax", ("left_shoulder", "right_shoulder"), "mid-shoulders; H36M's thorax sits ~6 cm higher"),
    ("thorax", ("upper_neck",), "LSP's neck (top of the neck) stands in for H36M's thorax"),
    ("thorax", ("neck",), "OpenPose's neck is the mid-shoulder point"),
    ("neck_nose", ("nose",), "the nose stands in for H36M's neck/nose point"),
    ("upper_neck", ("thorax", "neck_nose"), "half way between thorax and neck/nose"),
    ("upper_neck", ("thorax",), "H36M's thorax stands in for LSP's neck"),
    ("spine", ("sh_spine",), "Stacked-Hourglass spine: median 46 px from H36M's spine"),
    ("head_top", ("sh_head",), "Stacked-Hourglass head: median 24 px from H36M's head top"),
    ("sh_spine", ("spine",), "H36M's spine stands in for the Stacked-Hourglass spine"),
    ("sh_head", ("head_top",), "H36M's head top stands in for the Stacked-Hourglass head"),
)


@dataclass(frozen=True)
class Conversion:
    """Points expressed in another joint set.

    Attributes:
        points: (..., J_target, D) array; joints the source lacks are NaN.
        weights: (..., J_target) array in [0, 1]; 0 where the source lacks the joint (or it
            was missing in the source), else the source weight (the smallest of those
            averaged for a derived joint).
        approximate: target joint names that were derived, not copied.
        missing: target joint names the source set cannot provide at all.
    """

    points: np.ndarray
    weights: np.ndarray
    approximate: tuple[str, ...]
    missing: tuple[str, ...]


def convert(points: np.ndarray, source: str | JointSet, target: str | JointSet,
            weights: np.ndarray | None = None) -> Conversion:
    """Express ``points`` of joint set ``source`` in joint set ``target``.

    Args:
        points: (..., J_source, D) coordinates of any dimension D (2D pixels, 3D mm).
        source, target: joint sets or their names.
        weights: optional (..., J_source) per-joint weights (0 = missing); default ones.

    Returns:
        A :class:`Conversion`. Joints copied by name keep their weight; joints made by
        :data:`DERIVATIONS` are means of their inputs and listed as approximate; joints
        neither can provide are NaN with weight 0 and listed as missing.
    """
    source, target = get_joint_set(source), get_joint_set(target)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 2 or points.shape[-2] != len(source):
        raise ValueError(f"points must have shape (..., {len(source)}, D) for {source.name}, got {points.shape}")
    if weights is None:
        weights = np.ones(points.shape[:-1])
    weights = np.broadcast_to(np.asarray(weights, dtype=np.float64), points.shape[:-1])

    known = {n: (points[..., i, :], weights[..., i]) for i, n in enumerate(source.joints)}
    derived = set()
    for name, inputs, _note in DERIVATIONS:  # every rule, so that one can feed another
        if name in known or not all(i in known for i in inputs):
            continue
        with np.errstate(over="ignore"):  # inputs near the float limit give inf, refused where lifted
            known[name] = (np.mean([known[i][0] for i in inputs], axis=0),
                           np.min([known[i][1] for i in inputs], axis=0))
        derived.add(name)

    batch = points.shape[:-2]
    out_points = np.full(batch + (len(target), points.shape[-1]), np.nan)
    out_weights = np.zeros(batch + (len(target),))
    missing = []
    for j, name in enumerate(target.joints):
        if name in known:
            out_points[..., j, :], out_weights[..., j] = known[name]
        else:
            missing.append(name)
    approximate = tuple(n for n in target.joints if n in derived)
    return Conversion(out_points, out_weights, approximate, tuple(missing))
