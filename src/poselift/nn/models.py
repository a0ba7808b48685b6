"""The two trainable networks of section 5, built from :class:`TrainSettings`.

* :class:`BlazePoseStages` (``blazepose``): learned stages on top of BlazePose's frozen maps.
* :class:`CpmNetwork` (``cpm``): the paper's network from the image, every stage learned.

Both return the beliefs of every stage (the first included) and say which is the first
learned one (``first_learned``), so that one training loop serves both. Between stages,
joints that the prior knows are lifted (:func:`lift_index`); others pass the fusion unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..detectors.blazepose import HEATMAP_SIZE
from ..detectors.blazepose_joints import SHARED_JOINTS, h36m_name
from ..skeleton import H36M17, JointSet, get_joint_set
from .network import LiftingNetwork
from .settings import TrainSettings
from .stages import CpmFeatures, FirstStage, ImageFeatures

__all__ = ["PATCH_SIZE", "SHIPPED_STAGES_PATH", "BlazePoseStages", "CpmNetwork", "build_model", "load_stages",
           "lift_index", "unlabelled_joints"]

PATCH_SIZE = 128
"""Side of the crop the learned stages see (the 256-pixel BlazePose crop, shrunk 2x)."""

SHIPPED_STAGES_PATH = Path(__file__).resolve().parent.parent / "models" / "blazepose_stages.pt"
"""The learned stages shipped with poselift (``make stages`` re-creates them)."""


def lift_index(joint_names: tuple[str, ...]) -> np.ndarray:
    """(J,) for each joint, its index in the prior's H36M-17 joints, or -1 if it has none
    (e.g. LSP's upper neck, which lies between two H36M joints)."""
    names = [h36m_name(n) for n in joint_names]
    return np.array([H36M17.index(n) if n in H36M17 else -1 for n in names], dtype=np.int64)


def unlabelled_joints(joint_names: tuple[str, ...], labelled: np.ndarray) -> tuple[str, ...]:
    """The joints that no row of the (N, J) labelled mask marks."""
    return tuple(n for n, any_label in zip(joint_names, np.asarray(labelled).any(axis=0)) if not any_label)


def _network(settings: TrainSettings, prior, joint_names: tuple[str, ...], feature_channels: int,
             map_size: int) -> LiftingNetwork:
    unknown = set(settings.unlabelled_joints) - set(joint_names)
    if unknown:
        raise ValueError(f"unlabelled_joints {sorted(unknown)} are not among the maps' joints {joint_names}")
    return LiftingNetwork(len(joint_names), feature_channels, settings.stages,
                          prior=None if settings.lifting == "off" else prior, lift_index=lift_index(joint_names),
                          lifting=settings.lifting, sigma=settings.sigma, fusion_initial=settings.fusion_initial,
                          map_size=map_size, width=settings.width, kernel=settings.kernel, depth=settings.depth,
                          residual=settings.residual,
                          frozen_maps=tuple(joint_names.index(n) for n in settings.unlabelled_joints))


class BlazePoseStages(nn.Module):
    """Image features and the learned stages on top of BlazePose's maps.

    ``forward(patches, beliefs)``: (B, 3, 128, 128) floats in [0, 1] and (B, 13, 64, 64)
    BlazePose maps of :data:`~poselift.detectors.blazepose_joints.SHARED_JOINTS` -> list of T (B, 14, 64, 64)
    maps (13 joints and the background), the first being BlazePose's.
    """

    first_learned = 1
    joint_names = SHARED_JOINTS

    def __init__(self, prior, settings: TrainSettings) -> None:
        super().__init__()
        settings.check()
        self.features = ImageFeatures(width=settings.width, stride=2)
        self.network = _network(settings, prior, SHARED_JOINTS, settings.width, HEATMAP_SIZE)

    def forward(self, patches: torch.Tensor, beliefs: torch.Tensor) -> list[torch.Tensor]:
        first = torch.cat([beliefs, 1.0 - beliefs.amax(dim=1, keepdim=True)], dim=1)
        return self.network(self.features(patches), first)


class CpmNetwork(nn.Module):
    """The ``cpm`` configuration: CPM's trunk, its first stage and T - 1 later stages with
    lifting and fusion between them (section 5.1-5.6).

    ``forward(images)``: (B, 3, S, S) floats in [0, 1] -> list of T (B, J + 1, S / 8, S / 8)
    maps (the joints of ``joint_set``, then the background).
    """

    first_learned = 0

    def __init__(self, prior, settings: TrainSettings, joint_set: JointSet) -> None:
        super().__init__()
        settings.check()
        self.joint_names = joint_set.joints
        self.features = CpmFeatures(settings.width)
        channels = self.features.out_channels
        self.first = FirstStage(channels, len(joint_set), width=channels, hidden=4 * channels)
        self.network = _network(settings, prior, joint_set.joints, channels, settings.input_size // 8)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        features = self.features(images)
        return self.network(features, self.first(features))


def build_model(settings: TrainSettings, prior, joint_set: JointSet | None = None) -> nn.Module:
    """The network of ``settings.config`` (``cpm`` needs the joint set of its labels)."""
    if settings.config == "blazepose":
        return BlazePoseStages(prior, settings)
    if joint_set is None:
        raise ValueError("the cpm configuration needs the joint set of its labels")
    return CpmNetwork(prior, settings, joint_set)


def load_stages(path: str | Path, prior) -> nn.Module:
    """The network saved by :func:`poselift.training.train` (``stages.pt``), on the CPU, ready for inference.

    The file is read with ``torch.load(weights_only=True)``: plain data and tensors only, so
    a file carrying code is refused, not run.

    Raises:
        FileNotFoundError: no such file. ValueError: not a stages file (or one carrying code).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such stages file")
    state = load_torch_file(path, "stages")
    try:
        settings = TrainSettings(**state["settings"])
        joint_set = get_joint_set(state["joint_set"]) if state.get("joint_set") else None
        model = build_model(settings, prior, joint_set)
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path}: not a poselift stages file ({error})") from None
    return model.eval()


def load_torch_file(path: Path, kind: str, map_location: str | torch.device = "cpu") -> dict:
    """A dict saved with ``torch.save``, read without unpickling anything but plain data.

    Raises:
        ValueError: not such a file, or one whose pickle holds anything else (e.g. code).
    """
    try:
        state = torch.load(path, weights_only=True, map_location=map_location)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError ... for foreign files
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise ValueError(f"{path}: not a poselift {kind} file, or one carrying code ({reason})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a poselift {kind} file (holds a {type(state).__name__})")
    return state
