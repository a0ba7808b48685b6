"""Biovision Hierarchy (BVH) motion files, with forward kinematics.

A BVH file has a HIERARCHY of joints (``ROOT``/``JOINT`` name, ``OFFSET`` from the parent,
``CHANNELS``; ``End Site`` leaves) and a MOTION block of one line of channel values per
frame. A joint's world rotation is its parent's times its own channels' rotation, composed
in the order the channels are listed; its position is the parent's plus the parent's world
rotation applied to its offset (plus position channels, for the root).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .rotations import euler_to_matrix

__all__ = ["Motion", "read_bvh"]


@dataclass(frozen=True)
class Motion:
    """Joint positions of a mocap clip after forward kinematics.

    Attributes:
        names: joint names; BVH end sites are named ``"<parent>_end"``; ASF bones by the
            position of their far end, plus ``"root"``.
        parents: index of each joint's parent, -1 for the root.
        positions: (frames, joints, 3) positions in the file's units and axes.
        frame_time: seconds between frames.
        source: the file read.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    positions: np.ndarray
    frame_time: float
    source: str

    def joint(self, name: str) -> np.ndarray:
        """(frames, 3) positions of joint ``name``."""
        try:
            return self.positions[:, self.names.index(name)]
        except ValueError:
            raise ValueError(f"{self.source}: no joint named {name!r}") from None


_ROTATION_CHANNELS = {"xrotation": "x", "yrotation": "y", "zrotation": "z"}
_POSITION_CHANNELS = {"xposition": 0, "yposition": 1, "zposition": 2}


class _Lines:
    """Non-empty lines of a file with their numbers, for error messages."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text()
        except UnicodeDecodeError as err:
            raise ValueError(f"{path}: not a text file ({err})") from err
        self.lines = [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        self.pos = 0

    def error(self, message: str, line: int | None = None) -> ValueError:
        if line is None:
            line = self.lines[min(self.pos, len(self.lines) - 1)][0] if self.lines else 0
        return ValueError(f"{self.path}, line {line}: {message}")

    def next(self) -> tuple[int, list[str]]:
        if self.pos >= len(self.lines):
            raise self.error("unexpected end of file")
        item = self.lines[self.pos]
        self.pos += 1
        return item

    def floats(self, tokens: list[str], count: int, line: int, what: str) -> list[float]:
        if len(tokens) != count:
            raise self.error(f"{what} needs {count} numbers, found {len(tokens)}", line)
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            raise self.error(f"{what} holds a value that is not a number: {' '.join(tokens)}", line) from None
        if not np.all(np.isfinite(values)):
            raise self.error(f"{what} holds NaN or an infinite value", line)
        return values


def read_bvh(path: str | Path) -> Motion:
    """Read a BVH file and run forward kinematics.

    Returns:
        A :class:`Motion` with every joint and end site, positions in the file's units.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a malformed file; the message names the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    lines = _Lines(path)
    names, parents, offsets, channels = [], [], [], []

    line, tokens = lines.next()
    if tokens != ["HIERARCHY"]:
        raise lines.error("expected HIERARCHY", line)
    stack: list[int] = []
    while True:
        line, tokens = lines.next()
        keyword = tokens[0].upper()
        if keyword in ("ROOT", "JOINT") or (keyword == "END" and tokens[1:2] == ["Site"]):
            if keyword == "ROOT" and (stack or names):
                raise lines.error("a second ROOT is not supported", line)
            if keyword != "ROOT" and not stack:
                raise lines.error(f"{tokens[0]} outside a ROOT", line)
            if keyword != "END" and len(tokens) != 2:
                raise lines.error(f"{tokens[0]} needs one name", line)
            parent = stack[-1] if stack else -1
            name = f"{names[parent]}_end" if keyword == "END" else tokens[1]
            _, brace = lines.next()
            if brace != ["{"]:
                raise lines.error("expected '{'")
            off_line, off = lines.next()
            if off[0].upper() != "OFFSET":
                raise lines.error("expected OFFSET", off_line)
            offsets.append(lines.floats(off[1:], 3, off_line, "OFFSET"))
            joint_channels: list[str] = []
            if keyword != "END":
                ch_line, ch = lines.next()
                if ch[0].upper() != "CHANNELS":
                    raise lines.error("expected CHANNELS", ch_line)
                try:
                    count = int(ch[1])
                except (IndexError, ValueError):
                    raise lines.error("CHANNELS needs a count", ch_line) from None
                joint_channels = [c.lower() for c in ch[2:]]
                if len(joint_channels) != count:
                    raise lines.error(f"CHANNELS says {count} but lists {len(joint_channels)}", ch_line)
                unknown = set(joint_channels) - set(_ROTATION_CHANNELS) - set(_POSITION_CHANNELS)
                if unknown:
                    raise lines.error(f"unknown channel(s) {sorted(unknown)}", ch_line)
            names.append(name)
            parents.append(parent)
            channels.append(joint_channels)
            stack.append(len(names) - 1)
        elif tokens == ["}"]:
            if not stack:
                raise lines.error("unbalanced '}'", line)
            stack.pop()
            if not stack:
                break
        else:
            raise lines.error(f"unexpected {' '.join(tokens)!r} in HIERARCHY", line)

    line, tokens = lines.next()
    if tokens != ["MOTION"]:
        raise lines.error("expected MOTION", line)
    line, tokens = lines.next()
    if tokens[0] != "Frames:" or len(tokens) != 2 or not tokens[1].isdigit():
        raise lines.error("expected 'Frames: <count>'", line)
    num_frames = int(tokens[1])
    line, tokens = lines.next()
    if tokens[:2] != ["Frame", "Time:"] or len(tokens) != 3:
        raise lines.error("expected 'Frame Time: <seconds>'", line)
    frame_time = lines.floats(tokens[2:], 1, line, "Frame Time")[0]
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise lines.error(f"Frame Time must be a positive number of seconds, got {tokens[2]}", line)
    width = sum(len(c) for c in channels)
    remaining = len(lines.lines) - lines.pos
    if num_frames > remaining:  # checked before allocating: a header may claim any count
        raise lines.error(f"the file announces {num_frames} frames but holds {remaining} frame lines")
    values = np.empty((num_frames, width))
    for f in range(num_frames):
        line, tokens = lines.next()
        values[f] = lines.floats(tokens, width, line, f"frame {f + 1}")
    if lines.pos != len(lines.lines):
        raise lines.error(f"more frame lines than the {num_frames} announced")
    if num_frames == 0:
        raise lines.error("the file holds no frames")

    positions = _forward_kinematics(np.asarray(offsets), parents, channels, values)
    return Motion(tuple(names), tuple(parents), positions, frame_time, str(path))


def _forward_kinematics(offsets: np.ndarray, parents: list[int], channels: list[list[str]],
                        values: np.ndarray) -> np.ndarray:
    frames = values.shape[0]
    world_rot = np.empty((len(parents), frames, 3, 3))
    world_pos = np.empty((len(parents), frames, 3))
    column = 0
    for j, (parent, joint_channels) in enumerate(zip(parents, channels)):
        local = values[:, column:column + len(joint_channels)]
        column += len(joint_channels)
        translation = np.broadcast_to(offsets[j], (frames, 3)).copy()
        rot_axes, rot_cols = "", []
        for k, ch in enumerate(joint_channels):
            if ch in _POSITION_CHANNELS:
                translation[:, _POSITION_CHANNELS[ch]] += local[:, k]
            else:
                rot_axes += _ROTATION_CHANNELS[ch]
                rot_cols.append(k)
        rotation = euler_to_matrix(rot_axes, local[:, rot_cols])
        if parent < 0:
            world_rot[j], world_pos[j] = rotation, translation
        else:
            world_rot[j] = world_rot[parent] @ rotation
            world_pos[j] = world_pos[parent] + np.einsum("fij,fj->fi", world_rot[parent], translation)
    return np.ascontiguousarray(world_pos.transpose(1, 0, 2))
