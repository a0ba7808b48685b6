"""A lifter learned from mocap alone: 2D limb joints -> a 3D pose in the camera's view frame.

The network sees only the 12 limb joints every 2D detector gives (:data:`INPUT_JOINTS`), each
with a visibility mask, normalised per pose so that nothing depends on pixels or image position
(:func:`normalise`): centred on the visible joints' mean and divided by their RMS spread. It
returns the 17 Human3.6M joints in metres, relative to the pelvis, in the view frame of the
camera (x right, y up, z towards the camera), or of the ray from the camera to the person
(:func:`ray_rotation`; the weights say which); :class:`poselift.lifting.learned.LearnedLifter`
gives millimetres in the camera's frame. The architecture is the residual MLP of
Martinez et al. (2017), smaller. It is trained on mocap projected through virtual cameras
(:mod:`poselift.training.lifter`), never on images: the paper's decoupling of 3D and 2D data.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..skeleton import H36M17

__all__ = ["INPUT_JOINTS", "INPUT_INDEX", "INPUT_MIRROR", "FORMAT", "FORMAT_VERSION", "ANSWER_FRAMES",
           "SHIPPED_LIFTER_PATH", "LifterNetwork", "check_answer_frame", "visible_centre", "normalise", "ray_rotation",
           "load_lifter_network"]

INPUT_JOINTS = ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
"""The joints the network reads (names of :data:`poselift.skeleton.H36M17`)."""

FORMAT, FORMAT_VERSION = "poselift.learned-lifter", 2
"""What a weights file says it is (its ``"format"`` and ``"version"`` entries). Version 2 added
the answer's frame to the network's settings; a version-1 file answers in the camera's frame."""

ANSWER_FRAMES = ("camera", "ray")
"""The frames a network may answer in: the camera's view frame, or the frame of the ray from
the camera through the person (:func:`ray_rotation`)."""

SHIPPED_LIFTER_PATH = Path(__file__).resolve().parent.parent / "models" / "h36m_lifter.pt"
"""The learned lifter shipped with poselift (``make lifter`` re-creates it)."""

INPUT_INDEX = torch.tensor([H36M17.index(n) for n in INPUT_JOINTS])
"""(12,) each input joint's index among H36M-17's."""

INPUT_MIRROR = torch.tensor([INPUT_JOINTS.index(H36M17.joints[H36M17.mirror_index[H36M17.index(n)]])
                             for n in INPUT_JOINTS])
"""(12,) each input joint's left/right partner among the inputs."""


def check_answer_frame(answer_frame: str) -> None:
    """Raises ValueError unless ``answer_frame`` is one of :data:`ANSWER_FRAMES`."""
    if answer_frame not in ANSWER_FRAMES:
        raise ValueError(f"answer frame must be one of {', '.join(ANSWER_FRAMES)}, got {answer_frame!r}")


def visible_centre(points: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """(B, J, 2) points and (B, J) visibility (0/1) -> (B, 2) the mean of the visible points (0
    where none is): the centre :func:`normalise` removes, and where :func:`ray_rotation`'s ray goes."""
    return (points * visible[..., None]).sum(dim=1) / visible.sum(dim=1, keepdim=True).clamp_min(1.0)


def normalise(points: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """(B, 12, 2) points of :data:`INPUT_JOINTS` in any units and (B, 12) visibility (0/1) ->
    (B, 36) network input: the visible points centred on their mean and divided by their RMS
    distance from it (0 where not visible), then the mask. Shifting or scaling the points
    changes nothing."""
    mask = visible[..., None]
    count = visible.sum(dim=1).clamp_min(1.0)[:, None]
    centred = (points - visible_centre(points, visible)[:, None]) * mask
    spread = ((centred**2).sum(dim=(1, 2)) / count[:, 0]).sqrt().clamp_min(1e-9)
    return torch.cat([(centred / spread[:, None, None]).flatten(1), visible], dim=1)


def ray_rotation(centre: torch.Tensor) -> torch.Tensor:
    """(B, 2) image points relative to the principal point, in units of the focal length (x
    right, y down) -> (B, 3, 3) the smallest rotation that turns the ray through each point onto
    the optical axis, in the view frame (x right, y up, z towards the camera).

    A pose ``v`` (row vectors, view frame) seen along that ray is ``v @ R.T`` in the ray's
    frame and ``w @ R`` turns an answer ``w`` in the ray's frame back into the camera's. The
    normalised 2D cannot show where in the picture a person stands; in the ray's frame that
    does not matter, and the point shows the ray with no guess where the camera is known.
    """
    ray = torch.cat([centre * torch.tensor([1.0, -1.0], dtype=centre.dtype, device=centre.device),
                     -torch.ones_like(centre[:, :1])], dim=1)  # view frame: the camera looks along -z
    ray = ray / ray.norm(dim=1, keepdim=True)
    axis = torch.tensor([0.0, 0.0, -1.0], dtype=centre.dtype, device=centre.device).expand_as(ray)
    v = torch.linalg.cross(ray, axis)
    cosine = (ray * axis).sum(dim=1)
    zero = torch.zeros_like(cosine)
    cross = torch.stack([zero, -v[:, 2], v[:, 1], v[:, 2], zero, -v[:, 0], -v[:, 1], v[:, 0], zero],
                        dim=1).view(-1, 3, 3)  # v x (.)
    eye = torch.eye(3, dtype=centre.dtype, device=centre.device).expand_as(cross)
    return eye + cross + cross @ cross / (1.0 + cosine)[:, None, None]  # Rodrigues; the ray is never behind


class LifterNetwork(nn.Module):
    """Residual MLP: (B, 36) normalised input -> (B, 17, 3) pose in metres (root-relative, view frame).

    Args:
        width: units of each hidden layer.
        blocks: residual blocks of two layers each.
        dropout: dropout probability in training.
        answer_frame: one of :data:`ANSWER_FRAMES`, the frame the network was trained to answer in.

    Raises:
        ValueError: an unknown answer frame.
    """

    def __init__(self, width: int = 512, blocks: int = 2, dropout: float = 0.1, answer_frame: str = "camera") -> None:
        super().__init__()
        check_answer_frame(answer_frame)
        self.settings = {"width": width, "blocks": blocks, "dropout": dropout, "answer_frame": answer_frame}
        self.inp = nn.Sequential(nn.Linear(3 * len(INPUT_JOINTS), width), nn.BatchNorm1d(width), nn.ReLU(),
                                 nn.Dropout(dropout))
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout),
                          nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout))
            for _ in range(blocks))
        self.out = nn.Linear(width, 3 * len(H36M17))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.inp(inputs)
        for block in self.blocks:
            hidden = hidden + block(hidden)
        pose = self.out(hidden).view(-1, len(H36M17), 3)
        return pose - pose[:, :1]  # root-relative by construction


def load_lifter_network(path: str | Path) -> LifterNetwork:
    """The network in a weights file written by :func:`poselift.training.lifter.train_lifter`, on
    the CPU, in evaluation mode; read without unpickling anything but plain data.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a learned-lifter file, another version, other input joints, or weights
            that do not fit.
    """
    from .models import load_torch_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such learned-lifter file")
    state = load_torch_file(path, "learned-lifter")
    if state.get("format") != FORMAT:
        raise ValueError(f"{path}: not a poselift learned-lifter file (format {state.get('format')!r})")
    if state.get("version") not in (1, FORMAT_VERSION):
        raise ValueError(f"{path}: learned-lifter version {state.get('version')!r}, this poselift reads "
                         f"1 to {FORMAT_VERSION}")
    if tuple(state.get("input_joints", ())) != INPUT_JOINTS or tuple(state.get("output_joints", ())) != H36M17.joints:
        raise ValueError(f"{path}: a lifter of other joints ({state.get('input_joints')!r} -> "
                         f"{state.get('output_joints')!r}); this poselift lifts {', '.join(INPUT_JOINTS)}")
    try:
        network = LifterNetwork(**state["settings"])
        network.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: the weights do not fit the network ({error})") from None
    return network.eval()
