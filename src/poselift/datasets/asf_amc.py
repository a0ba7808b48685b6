"""Acclaim skeleton (ASF) and motion (AMC) files, with forward kinematics.

The ASF gives each bone a ``direction`` (unit vector in the world frame at rest), a
``length``, a local frame ``axis`` (Euler angles with their order) and its degrees of
freedom; the AMC gives, per frame, the root's position and orientation and each bone's
rotation about its own axes. A bone's world rotation is
``parent_world @ C @ M @ C^-1`` with ``C`` from ``axis`` and ``M`` from the frame's values
(rotations about x, then y, then z), and its far end lies at
``parent_end + length * world_rotation @ direction`` (the CMU convention).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bvh import Motion, _Lines
from .rotations import euler_to_matrix

__all__ = ["Skeleton", "read_asf", "read_amc"]


@dataclass(frozen=True)
class _Bone:
    name: str
    direction: np.ndarray
    length: float
    axis: np.ndarray  # (3, 3) C
    dofs: tuple[str, ...]


@dataclass(frozen=True)
class Skeleton:
    """An ASF skeleton.

    Attributes:
        bones: bones by name (``root`` excluded), each with direction, length, axis, dofs.
        children: bone name (or ``"root"``) -> the names of the bones that hang from it.
        root_order: the AMC root channels, e.g. ``("tx", "ty", "tz", "rx", "ry", "rz")``.
        root_axis: (3, 3) the root's C matrix.
        root_position: (3,) rest position of the root.
        length_unit: the ``:units length`` value (CMU: 0.45, i.e. a unit of 1/0.45 inch).
        degrees: True if angles are in degrees.
        source: the file read.
    """

    bones: dict
    children: dict
    root_order: tuple[str, ...]
    root_axis: np.ndarray
    root_position: np.ndarray
    length_unit: float
    degrees: bool
    source: str

    @property
    def millimetres_per_unit(self) -> float:
        """Millimetres in one file unit: the CMU convention, (1 / length_unit) inches."""
        return 25.4 / self.length_unit


def _axis_matrix(angles: list[float], order: str, degrees: bool) -> np.ndarray:
    """The C matrix of an ``axis`` line: rotations applied in ``order`` (first letter first)."""
    values = np.asarray(angles) if degrees else np.rad2deg(angles)
    return euler_to_matrix(order[::-1], values[::-1])


def read_asf(path: str | Path) -> Skeleton:
    """Read an ASF skeleton; ValueError naming file and line if it is malformed."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lines = _Lines(path)
    length_unit, degrees = 1.0, True
    root_order: tuple[str, ...] = ()
    root_axis_order, root_orientation, root_position = "XYZ", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
    raw_bones: list[dict] = []
    children: dict[str, list[str]] = {}
    section = None
    while lines.pos < len(lines.lines):
        line, tokens = lines.next()
        if tokens[0].startswith("#"):
            continue
        if tokens[0].startswith(":"):
            section = tokens[0][1:].lower()
            continue
        key = tokens[0].lower()
        if section == "units":
            if key == "length":
                length_unit = lines.floats(tokens[1:], 1, line, "length unit")[0]
            elif key == "angle":
                degrees = tokens[1:2] != ["rad"]
        elif section == "root":
            if key == "order":
                root_order = tuple(t.lower() for t in tokens[1:])
            elif key == "axis":
                root_axis_order = tokens[1].upper()
            elif key == "position":
                root_position = lines.floats(tokens[1:], 3, line, "root position")
            elif key == "orientation":
                root_orientation = lines.floats(tokens[1:], 3, line, "root orientation")
        elif section == "bonedata":
            if key == "begin":
                raw_bones.append({"line": line})
            elif key == "end":
                continue
            elif not raw_bones:
                raise lines.error(f"{tokens[0]} outside a begin/end block", line)
            elif key == "name":
                raw_bones[-1]["name"] = tokens[1]
            elif key == "direction":
                raw_bones[-1]["direction"] = lines.floats(tokens[1:], 3, line, "direction")
            elif key == "length":
                raw_bones[-1]["length"] = lines.floats(tokens[1:], 1, line, "length")[0]
            elif key == "axis":
                raw_bones[-1]["axis"] = (lines.floats(tokens[1:4], 3, line, "axis"),
                                         tokens[4].upper() if len(tokens) > 4 else "XYZ")
            elif key == "dof":
                raw_bones[-1]["dofs"] = tuple(t.lower() for t in tokens[1:])
        elif section == "hierarchy":
            if key in ("begin", "end"):
                continue
            children.setdefault(tokens[0], []).extend(tokens[1:])

    bones = {}
    for raw in raw_bones:
        missing = {"name", "direction", "length"} - set(raw)
        if missing:
            raise lines.error(f"bone lacks {', '.join(sorted(missing))}", raw["line"])
        angles, order = raw.get("axis", ([0.0, 0.0, 0.0], "XYZ"))
        bones[raw["name"]] = _Bone(raw["name"], np.asarray(raw["direction"]), raw["length"],
                                   _axis_matrix(angles, order, degrees), raw.get("dofs", ()))
    if not bones:
        raise ValueError(f"{path}: no bonedata found; is this an ASF file?")
    if "root" not in children:
        raise ValueError(f"{path}: the hierarchy names no children of root")
    for parent, kids in children.items():
        for name in [parent, *kids]:
            if name != "root" and name not in bones:
                raise ValueError(f"{path}: the hierarchy names an unknown bone {name!r}")
    if sorted(root_order) != ["rx", "ry", "rz", "tx", "ty", "tz"]:
        raise ValueError(f"{path}: root order must list TX TY TZ RX RY RZ, found {root_order}")
    return Skeleton(
        bones=bones,
        children={k: tuple(v) for k, v in children.items()},
        root_order=root_order,
        root_axis=_axis_matrix(root_orientation, root_axis_order, degrees),
        root_position=np.asarray(root_position),
        length_unit=length_unit,
        degrees=degrees,
        source=str(path),
    )


def read_amc(path: str | Path, skeleton: Skeleton, frame_time: float = 1 / 120) -> Motion:
    """Read an AMC motion for ``skeleton`` and run forward kinematics.

    Returns:
        A :class:`Motion` with ``"root"`` and the far end of every bone, in ASF units and
        axes (CMU: y up).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lines = _Lines(path)
    frames: list[dict[str, list[float]]] = []
    while lines.pos < len(lines.lines):
        line, tokens = lines.next()
        if tokens[0].startswith(("#", ":")):
            continue
        if len(tokens) == 1 and tokens[0].isdigit():
            frames.append({})
            continue
        if not frames:
            raise lines.error("bone values before the first frame number", line)
        name = tokens[0]
        if name == "root":
            expected = len(skeleton.root_order)
        elif name in skeleton.bones:
            expected = len(skeleton.bones[name].dofs)
        else:
            raise lines.error(f"unknown bone {name!r} (not in {skeleton.source})", line)
        frames[-1][name] = lines.floats(tokens[1:], expected, line, f"bone {name!r}")
    if not frames:
        raise ValueError(f"{path}: no frames found; is this an AMC file?")
    for i, frame in enumerate(frames):
        if "root" not in frame:
            raise ValueError(f"{path}: frame {i + 1} has no root line")
    return _forward_kinematics(skeleton, frames, frame_time, str(path))


def _values(frames: list[dict[str, list[float]]], name: str, width: int) -> np.ndarray:
    return np.array([f.get(name, [0.0] * width) for f in frames], dtype=np.float64).reshape(len(frames), width)


def _dof_rotation(dofs: tuple[str, ...], values: np.ndarray, degrees: bool) -> np.ndarray:
    """Rotation from a bone's rx/ry/rz values: about x first, then y, then z (Rz Ry Rx)."""
    angles = np.zeros(values.shape[:1] + (3,))
    for k, dof in enumerate(dofs):
        if dof in ("rx", "ry", "rz"):
            angles[:, "xyz".index(dof[1])] = values[:, k]
    if not degrees:
        angles = np.rad2deg(angles)
    return euler_to_matrix("zyx", angles[:, ::-1])


def _forward_kinematics(skeleton: Skeleton, frames: list[dict[str, list[float]]],
                        frame_time: float, source: str) -> Motion:
    root_values = _values(frames, "root", 6)
    order = skeleton.root_order
    translation = np.stack([root_values[:, order.index(t)] for t in ("tx", "ty", "tz")], -1)
    rotation_values = np.stack([root_values[:, order.index(r)] for r in ("rx", "ry", "rz")], -1)
    c = skeleton.root_axis
    root_rot = c @ _dof_rotation(("rx", "ry", "rz"), rotation_values, skeleton.degrees) @ c.T

    names, parents = ["root"], [-1]
    positions = [translation + skeleton.root_position]
    world = {"root": root_rot}
    queue = [("root", 0)]
    while queue:
        parent, parent_index = queue.pop(0)
        for child in skeleton.children.get(parent, ()):
            bone = skeleton.bones[child]
            local = _dof_rotation(bone.dofs, _values(frames, child, len(bone.dofs)), skeleton.degrees)
            world[child] = world[parent] @ bone.axis @ local @ bone.axis.T
            positions.append(positions[parent_index] + bone.length * (world[child] @ bone.direction))
            names.append(child)
            parents.append(parent_index)
            queue.append((child, len(names) - 1))
    return Motion(tuple(names), tuple(parents), np.stack(positions, axis=1), frame_time, source)
