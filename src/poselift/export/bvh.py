"""Human3.6M-17 poses as a Biovision Hierarchy (BVH) file, for Blender, Unity and other tools.

The file's world is poselift's view frame: millimetres, Y up, X to the viewer's right, Z
towards the camera (a person facing the camera faces +Z). Channels: the root has
``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, every other joint the three
rotations; ``R = Rz Rx Ry`` (intrinsic Z, X, Y), degrees.

Skeleton. The rest pose is a T-pose facing +Z built from the person's median bone lengths
over all frames, left and right averaged. A BVH joint's rotation can aim only one bone, so
where Human3.6M's tree branches (the pelvis to both hips and the spine, the thorax to both
shoulders and the neck) the side branches hang from zero-length joints of their own:
``left_pelvis``/``right_pelvis`` (pelvis to hip) and ``left_clavicle``/``right_clavicle``
(thorax to shoulder), as CMU's BVH files have ``LHipJoint`` and ``LeftShoulder``. With
them every joint position is reproduced exactly wherever the bone lengths equal the rest
pose's; otherwise each bone keeps its rest length and its direction, and the error is what
the length change moves.

Rotations from positions. Rotation about a bone's own axis (twist) is not in the positions;
what is chosen:

- the torso (pelvis, spine, thorax, neck) turns with the body: its frame has one axis along
  the bone and one from the hip line (pelvis) or the shoulder line (above), so the chest
  twists against the hips as the shoulders do;
- the limbs and the branch joints carry no twist of their own: each turns by the smallest
  rotation that takes its bone from where its parent's rotation puts it to where it is
  (swing only). A straight limb, or one passing through any direction, never flips; the only
  singular direction is a bone pointing exactly against its rest direction in its parent's
  frame (a thigh straight up along the spine, a forearm folded flat back on the upper arm),
  which bodies do not reach. A forearm's twist is never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..camera_space import camera_to_view_axes
from ..files import write_atomically
from ..skeleton import H36M17
from .result import Result

__all__ = ["BVH_JOINTS", "Track", "to_bvh", "tracks", "write_bvh", "rest_bone_lengths"]

_EULER_ORDER = "ZXY"  # channel order; scipy's upper case = intrinsic = R = Rz Rx Ry
_ROOT_CHANNELS = "Xposition Yposition Zposition Zrotation Xrotation Yrotation"
_CHANNELS = "Zrotation Xrotation Yrotation"


@dataclass(frozen=True)
class _Joint:
    """One BVH joint: where it sits, the bone its rotation aims, and how its twist is chosen.

    ``at`` and ``aims`` are H36M-17 joint names: the BVH joint lies at ``at`` and its rotation
    turns the bone ``at`` -> ``aims`` (None for a leaf). A torso joint's twist follows the body
    direction ``reference`` (:func:`_body_axes`); None: swing only (the module docstring).
    """

    name: str
    parent: str | None
    at: str
    aims: str | None
    reference: str | None = None


def _chain(side: str) -> tuple[list[_Joint], list[_Joint]]:
    leg = [_Joint(f"{side}_pelvis", "pelvis", "pelvis", f"{side}_hip"),
           _Joint(f"{side}_hip", f"{side}_pelvis", f"{side}_hip", f"{side}_knee"),
           _Joint(f"{side}_knee", f"{side}_hip", f"{side}_knee", f"{side}_ankle"),
           _Joint(f"{side}_ankle", f"{side}_knee", f"{side}_ankle", None)]
    arm = [_Joint(f"{side}_clavicle", "thorax", "thorax", f"{side}_shoulder"),
           _Joint(f"{side}_shoulder", f"{side}_clavicle", f"{side}_shoulder", f"{side}_elbow"),
           _Joint(f"{side}_elbow", f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"),
           _Joint(f"{side}_wrist", f"{side}_elbow", f"{side}_wrist", None)]
    return leg, arm


_RIGHT_LEG, _RIGHT_ARM = _chain("right")
_LEFT_LEG, _LEFT_ARM = _chain("left")
_JOINTS: tuple[_Joint, ...] = (
    _Joint("pelvis", None, "pelvis", "spine", "hips"),
    *_RIGHT_LEG, *_LEFT_LEG,
    _Joint("spine", "pelvis", "spine", "thorax", "shoulders"),
    _Joint("thorax", "spine", "thorax", "neck_nose", "shoulders"),
    _Joint("neck_nose", "thorax", "neck_nose", "head_top", "shoulders"),
    _Joint("head_top", "neck_nose", "head_top", None),
    *_LEFT_ARM, *_RIGHT_ARM,
)
BVH_JOINTS: tuple[str, ...] = tuple(j.name for j in _JOINTS)
"""The BVH file's joints, in file order: H36M-17's 17 and four zero-length branch joints."""

_BLEND = (np.sin(np.radians(10.0)), np.sin(np.radians(20.0)))  # |reference x bone| where "forward" takes over


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _body_axes(positions: np.ndarray) -> dict[str, np.ndarray]:
    """(frames, 3) unit directions: the hip line and shoulder line (to the person's left), and
    forward (out of the chest: across the shoulder line and the pelvis-to-thorax line)."""
    at = {n: positions[:, H36M17.index(n)] for n in H36M17.joints}
    hips = _unit(at["left_hip"] - at["right_hip"])
    shoulders = _unit(at["left_shoulder"] - at["right_shoulder"])
    forward = _unit(np.cross(shoulders, at["thorax"] - at["pelvis"]))
    return {"hips": hips, "shoulders": shoulders, "forward": forward}


def _perpendicular(reference: np.ndarray, bone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    part = reference - np.sum(reference * bone, axis=-1, keepdims=True) * bone
    return part, np.linalg.norm(part, axis=-1, keepdims=True)


def _frames(bone: np.ndarray, reference: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(frames, 3, 3) rotations whose columns are the bone, the reference made perpendicular to
    it (blended into the fallback where the two come close: only in poses no body makes, a
    spine along the hip line), and their cross product."""
    first, first_norm = _perpendicular(reference, bone)
    second, second_norm = _perpendicular(fallback, bone)
    blend = np.clip((first_norm - _BLEND[0]) / (_BLEND[1] - _BLEND[0]), 0.0, 1.0)
    side = _unit(blend * first / np.maximum(first_norm, 1e-12) + (1 - blend) * second / np.maximum(second_norm, 1e-12))
    side, _ = _perpendicular(side, bone)
    side = _unit(side)
    return np.stack([bone, side, np.cross(bone, side)], axis=-1)


def _smallest_rotation(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(frames, 3, 3) the rotation by the smallest angle taking unit vectors ``start`` to ``end``
    (about their cross product; for opposite vectors, by 180 degrees about an axis across them)."""
    axis = np.cross(start, end)
    cosine = np.sum(start * end, axis=-1)
    cross = np.zeros(axis.shape + (3,))
    cross[:, 0, 1], cross[:, 0, 2], cross[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    cross -= np.swapaxes(cross, -1, -2)
    rotation = np.eye(3) + cross + cross @ cross / np.maximum(1 + cosine, 1e-12)[:, None, None]
    opposite = cosine < -1 + 1e-9
    if np.any(opposite):  # start = -end: a half turn about any axis across them, here the one nearest x or z
        flipped = start[opposite]
        other = np.where(np.abs(flipped[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
        across = _unit(np.cross(flipped, other))
        rotation[opposite] = 2 * np.einsum("fi,fj->fij", across, across) - np.eye(3)
    return rotation


def _world_rotations(positions: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(joints, frames, 3, 3) each BVH joint's world rotation, from the rest pose ``rest`` (17, 3)
    to ``positions`` (frames, 17, 3)."""
    axes, rest_axes = _body_axes(positions), _body_axes(rest[None])
    out = np.empty((len(_JOINTS), len(positions), 3, 3))
    for k, joint in enumerate(_JOINTS):
        parent = None if joint.parent is None else out[BVH_JOINTS.index(joint.parent)]
        if joint.aims is None:  # a leaf aims no bone: it keeps its parent's rotation
            out[k] = parent
            continue
        aims, at = H36M17.index(joint.aims), H36M17.index(joint.at)
        bone = _unit(positions[:, aims] - positions[:, at])
        rest_bone = _unit(rest[None, aims] - rest[None, at])
        if joint.reference is None:  # swing only: the smallest turn from where the parent puts the bone
            out[k] = _smallest_rotation(np.einsum("fij,fj->fi", parent, np.broadcast_to(rest_bone, bone.shape)),
                                        bone) @ parent
        else:
            posed = _frames(bone, axes[joint.reference], axes["forward"])
            at_rest = _frames(rest_bone, rest_axes[joint.reference], rest_axes["forward"])
            out[k] = posed @ np.swapaxes(at_rest, -1, -2)
    return out


def rest_bone_lengths(positions: np.ndarray) -> np.ndarray:
    """(17,) the median length (mm) of each H36M-17 bone over frames, left and right averaged;
    entry ``j`` is the bone from joint ``j``'s parent to ``j`` (0 for the root)."""
    positions = np.asarray(positions, dtype=np.float64)
    lengths = np.zeros(len(H36M17))
    for child, parent in H36M17.bones:
        lengths[child] = np.median(np.linalg.norm(positions[:, child] - positions[:, parent], axis=-1))
    return 0.5 * (lengths + lengths[H36M17.mirror_index])


def _rest_pose(lengths: np.ndarray) -> np.ndarray:
    """(17, 3) a T-pose facing +Z, pelvis at the origin, with the given bone lengths."""
    direction = {"hip": (1, 0, 0), "knee": (0, -1, 0), "ankle": (0, -1, 0), "shoulder": (1, 0, 0),
                 "elbow": (1, 0, 0), "wrist": (1, 0, 0), "spine": (0, 1, 0), "thorax": (0, 1, 0),
                 "neck_nose": (0, 1, 0), "head_top": (0, 1, 0)}
    rest = np.zeros((len(H36M17), 3))
    for j, name in enumerate(H36M17.joints):
        parent = H36M17.parents[j]
        if parent < 0:
            continue
        side, _, part = name.partition("_")
        if side in ("left", "right"):
            d = np.array(direction[part], dtype=np.float64) * (1 if side == "left" or part in ("knee", "ankle")
                                                               else np.array([-1, 1, 1]))
        else:
            d = np.array(direction[name], dtype=np.float64)
        rest[j] = rest[parent] + lengths[j] * d
    return rest


def to_bvh(positions_mm: np.ndarray, root_mm: np.ndarray | None = None, frame_time_s: float = 1 / 30) -> str:
    """The text of a BVH file for one person's poses.

    Args:
        positions_mm: (frames, 17, 3) or (17, 3) H36M-17 joints in millimetres, view frame (x
            right, y up, z towards the camera), relative to the pelvis or not.
        root_mm: (frames, 3) or (3,) the pelvis's position in the same frame (for example the
            camera-space root turned into view axes); default: the pelvis of ``positions_mm``.
        frame_time_s: seconds per frame.

    Returns:
        The file's text. See the module docstring for its skeleton and conventions.

    Raises:
        ValueError: wrong shapes, NaN or infinite values, a bone of zero median length, or a
            non-positive frame time.
    """
    positions = np.asarray(positions_mm, dtype=np.float64)
    if positions.ndim == 2:
        positions = positions[None]
    if positions.ndim != 3 or positions.shape[1:] != (len(H36M17), 3) or len(positions) == 0:
        raise ValueError(f"BVH export needs poses of shape (frames, 17, 3), got {np.shape(positions_mm)}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("BVH export: the poses hold NaN or infinite coordinates")
    roots = positions[:, 0] if root_mm is None else np.broadcast_to(np.asarray(root_mm, float), (len(positions), 3))
    if not np.all(np.isfinite(roots)):
        raise ValueError("BVH export: the root positions hold NaN or infinite coordinates")
    if not (np.isfinite(frame_time_s) and frame_time_s > 0):
        raise ValueError(f"BVH export: frame time must be a positive number of seconds, got {frame_time_s}")
    lengths = rest_bone_lengths(positions)
    if np.any(lengths[1:] <= 1e-6):
        short = [H36M17.joints[j] for j in range(1, len(H36M17)) if lengths[j] <= 1e-6]
        raise ValueError(f"BVH export: the bones to {', '.join(short)} have zero length")
    rest = _rest_pose(lengths)
    world = _world_rotations(positions, rest)
    local = np.empty_like(world)
    for k, joint in enumerate(_JOINTS):
        local[k] = world[k] if joint.parent is None else (
            np.swapaxes(world[BVH_JOINTS.index(joint.parent)], -1, -2) @ world[k])
    angles = Rotation.from_matrix(local.reshape(-1, 3, 3)).as_euler(_EULER_ORDER, degrees=True)
    angles = np.degrees(np.unwrap(np.radians(angles.reshape(len(_JOINTS), len(positions), 3)), axis=1))
    motion = np.concatenate([roots[:, None, :], angles.transpose(1, 0, 2)], axis=1).reshape(len(positions), -1)
    return _hierarchy(rest) + _motion(motion, frame_time_s)


def _hierarchy(rest: np.ndarray) -> str:
    lines = ["HIERARCHY"]

    def joint(k: int, depth: int) -> None:
        spec = _JOINTS[k]
        pad = "  " * depth
        if spec.parent is None:
            lines.append(f"{pad}ROOT {spec.name}")
            offset, channels = np.zeros(3), f"6 {_ROOT_CHANNELS}"
        else:
            parent_at = _JOINTS[BVH_JOINTS.index(spec.parent)].at
            offset = rest[H36M17.index(spec.at)] - rest[H36M17.index(parent_at)]
            lines.append(f"{pad}JOINT {spec.name}")
            channels = f"3 {_CHANNELS}"
        lines.extend([f"{pad}{{", f"{pad}  OFFSET {_numbers(offset)}", f"{pad}  CHANNELS {channels}"])
        children = [c for c, other in enumerate(_JOINTS) if other.parent == spec.name]
        for child in children:
            joint(child, depth + 1)
        if not children:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET 0.000000 0.000000 0.000000",
                          f"{pad}  }}"])
        lines.append(f"{pad}}}")

    joint(0, 0)
    return "\n".join(lines) + "\n"


def _motion(values: np.ndarray, frame_time_s: float) -> str:
    lines = ["MOTION", f"Frames: {len(values)}", f"Frame Time: {frame_time_s:.8f}"]
    lines += [_numbers(row) for row in values]
    return "\n".join(lines) + "\n"


def _numbers(values: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in np.where(np.abs(values) < 5e-7, 0.0, values))


def write_bvh(path: str | Path, positions_mm: np.ndarray, root_mm: np.ndarray | None = None,
              frame_time_s: float = 1 / 30) -> None:
    """Write :func:`to_bvh`'s text to ``path`` atomically (all of it or nothing)."""
    text = to_bvh(positions_mm, root_mm, frame_time_s)
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))


@dataclass(frozen=True)
class Track:
    """One person's poses over the frames of a result, ready for :func:`write_bvh`.

    Attributes:
        positions_mm: (frames, 17, 3) root-relative, view frame.
        root_mm: (frames, 3) the root in the view frame (from camera space), or None.
    """

    positions_mm: np.ndarray
    root_mm: np.ndarray | None


def tracks(result: Result) -> list[Track]:
    """The motions in a result: each person of a photo on their own (one frame each); the poses
    of a lift as one motion, frame after frame (a keypoint sequence of one person)."""

    def track(people) -> Track:
        roots = [p.root_camera_mm for p in people]
        root = None if any(r is None for r in roots) else camera_to_view_axes(np.stack(roots))
        return Track(np.stack([p.joints_3d_mm for p in people]), root)

    if result.kind == "estimate":
        return [track([person]) for person in result.frames[0].people]
    people = [frame.people[0] for frame in result.frames]
    return [track(people)] if people else []
