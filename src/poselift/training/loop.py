"""Training the learned stages of the ``blazepose`` configuration (section 5, eq. 8 per stage).

Stage 1 is BlazePose's frozen belief maps; stages 2..T are CPM-style stages that see image
features (learned from the 128-pixel crop) and the previous stage's maps, fused with the
projected 3D pose when lifting is on. 2D labels only: the 3D prior is fitted on mocap
separately and never trained here.

One process or several: under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in
PyTorch's DistributedDataParallel with the gloo backend, each rank sees its share of every
epoch, and rank 0 writes the checkpoints and the log. Everything runs on the CPU: placing
the model and batches on GPUs (and the nccl backend) is not done yet. Seeds fix the initial weights
and the order of the examples; ``resume`` continues from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..beliefs import argmax_subpixel
from ..estimator import DIRECT_JOINTS
from ..files import write_atomically
from ..nn.beliefs import render_gaussians
from ..nn.network import LIFTING_MODES, LiftingNetwork, stage_losses
from ..nn.stages import ImageFeatures
from ..skeleton import H36M17
from .data import Examples

__all__ = ["TrainSettings", "BlazePoseStages", "train", "evaluate_stages", "load_stages", "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam")
TARGET_SIGMA = 1.5  # cells: width of the ground-truth Gaussians and of the projected maps
LIFT_INDEX = np.array([H36M17.index("neck_nose" if n == "nose" else n) for n in DIRECT_JOINTS])


@dataclass
class TrainSettings:
    """Everything that defines a training run (stored in checkpoints and the shipped weights)."""

    stages: int = 3
    lifting: str = "forward"
    width: int = 32
    kernel: int = 5
    depth: int = 3
    fusion_initial: float = 0.8
    residual: bool = True
    epochs: int = 3
    batch_size: int = 16
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0

    def check(self) -> None:
        """ValueError naming the first bad setting."""
        if self.lifting not in LIFTING_MODES:
            raise ValueError(f"lifting must be one of {LIFTING_MODES}, got {self.lifting!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("stages", "width", "kernel", "depth", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.stages < 2:
            raise ValueError(f"stages counts BlazePose's as the first: need at least 2, got {self.stages}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")


class BlazePoseStages(nn.Module):
    """Image features and the learned stages on top of BlazePose's maps.

    ``forward(patches, beliefs)``: (B, 3, 128, 128) floats in [0, 1] and (B, 13, 64, 64)
    BlazePose maps -> list of T (B, 14, 64, 64) maps (13 joints and the background), the
    first being BlazePose's.
    """

    def __init__(self, prior, settings: TrainSettings) -> None:
        super().__init__()
        settings.check()
        self.features = ImageFeatures(width=settings.width, stride=2)
        self.network = LiftingNetwork(len(DIRECT_JOINTS), settings.width, settings.stages,
                                      prior=None if settings.lifting == "off" else prior, lift_index=LIFT_INDEX,
                                      lifting=settings.lifting, sigma=TARGET_SIGMA,
                                      fusion_initial=settings.fusion_initial, width=settings.width,
                                      kernel=settings.kernel, depth=settings.depth, residual=settings.residual)

    def forward(self, patches: torch.Tensor, beliefs: torch.Tensor) -> list[torch.Tensor]:
        first = torch.cat([beliefs, 1.0 - beliefs.amax(dim=1, keepdim=True)], dim=1)
        return self.network(self.features(patches), first)


def _batch(examples: Examples, index: np.ndarray) -> tuple[torch.Tensor, ...]:
    patches = torch.as_tensor(examples.patches[index]).permute(0, 3, 1, 2).float() / 255.0
    beliefs = torch.as_tensor(examples.beliefs[index].astype(np.float32))
    labels = torch.as_tensor(examples.labels[index])
    mask = torch.as_tensor(examples.mask[index].astype(np.float32))
    joints = render_gaussians(labels, beliefs.shape[-1], TARGET_SIGMA) * mask[..., None, None]
    target = torch.cat([joints, 1.0 - joints.amax(dim=1, keepdim=True)], dim=1)
    return patches, beliefs, target, torch.cat([mask, torch.ones(len(index), 1)], dim=1)


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    if settings.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=settings.learning_rate, momentum=settings.momentum,
                           weight_decay=settings.weight_decay)


def _save(path: Path, payload: dict) -> None:
    write_atomically(path, lambda tmp: torch.save(payload, tmp))


def train(examples: Examples, prior, settings: TrainSettings, out_dir: str | Path, resume: bool = False,
          progress: bool = True) -> tuple[BlazePoseStages, list[dict]]:
    """Train on ``examples``; writes ``checkpoint.pt`` (every epoch), ``log.jsonl`` and ``stages.pt``.

    Returns the trained model and the log: per epoch, the mean loss of each learned stage and
    each fusion weight.

    Raises:
        ValueError: bad settings, or ``resume`` with a checkpoint of other settings (the number
            of epochs may differ: resuming with more continues training).
        FileNotFoundError: ``resume`` without a checkpoint.
    """
    from tqdm import tqdm

    settings.check()
    out_dir = Path(out_dir)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    torch.manual_seed(settings.seed)
    model = BlazePoseStages(prior, settings)
    optimizer = _optimizer(model, settings)
    log: list[dict] = []
    checkpoint_path = out_dir / "checkpoint.pt"
    if resume:
        if not checkpoint_path.is_file():
            raise FileNotFoundError(f"{checkpoint_path}: nothing to resume from")
        state = torch.load(checkpoint_path, weights_only=False)
        other = {**state["settings"], "epochs": settings.epochs}  # a longer budget may resume
        if other != asdict(settings):
            raise ValueError(f"{checkpoint_path} was trained with other settings: {state['settings']}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        log = state["log"]
    trained = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    for epoch in range(len(log), settings.epochs):
        order = np.random.default_rng(settings.seed + epoch).permutation(len(examples))
        order = order[: len(order) - len(order) % world][rank::world]  # equal shares: ranks step together
        batches = [order[i:i + settings.batch_size] for i in range(0, len(order), settings.batch_size)]
        totals = torch.zeros(settings.stages)  # per learned stage, then the number of examples
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{settings.epochs}", unit="batch",
                   disable=not progress or rank != 0, file=sys.stderr)
        for index in bar:
            patches, beliefs, target, mask = _batch(examples, index)
            losses = stage_losses(trained(patches, beliefs), target, mask)
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
            totals += torch.cat([losses.detach(), torch.ones(1)]) * len(index)
            bar.set_postfix(loss=f"{float(losses.detach().sum()):.4f}")
        if world > 1:
            torch.distributed.all_reduce(totals)
        entry = {"epoch": epoch + 1, "stage_loss": (totals[:-1] / totals[-1]).tolist(),
                 "fusion_weight": model.network.fusion_weights()}
        log.append(entry)
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
            _save(checkpoint_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "settings": asdict(settings), "log": log})
            write_atomically(out_dir / "log.jsonl",
                             lambda tmp: Path(tmp).write_text("".join(json.dumps(e) + "\n" for e in log)))
    if rank == 0:
        _save(out_dir / "stages.pt", {"model": model.state_dict(), "settings": asdict(settings), "log": log})
    return model, log


def load_stages(path: str | Path, prior) -> BlazePoseStages:
    """The stages saved by :func:`train` (``stages.pt``), ready for inference.

    Raises:
        FileNotFoundError: no such file. ValueError: not a stages file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such stages file")
    try:
        state = torch.load(path, weights_only=False)
        model = BlazePoseStages(prior, TrainSettings(**state["settings"]))
        model.load_state_dict(state["model"])
    except (KeyError, TypeError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise ValueError(f"{path}: not a poselift stages file ({error})") from None
    return model.eval()


@torch.no_grad()
def evaluate_stages(model: BlazePoseStages, examples: Examples, batch_size: int = 64) -> dict:
    """PCK@0.2 (of the annotated torso) and mean pixel error of every stage's joints.

    Joints are the sub-pixel argmax of each map; only labelled joints count.
    """
    stages: list[list[np.ndarray]] = []
    for start in range(0, len(examples), batch_size):
        index = np.arange(start, min(start + batch_size, len(examples)))
        patches, beliefs, _, _ = _batch(examples, index)
        outputs = model(patches, beliefs)
        for t, maps in enumerate(outputs):
            positions, _ = argmax_subpixel(maps[:, :-1].permute(0, 2, 3, 1).numpy().astype(np.float64))
            if len(stages) <= t:
                stages.append([])
            stages[t].append(positions)
    mask = examples.mask
    result = {"examples": len(examples), "pck": [], "pixel_error": []}
    for positions in stages:
        error_cells = np.linalg.norm(np.concatenate(positions) - examples.labels, axis=-1)
        hit = error_cells <= 0.2 * examples.torso_cells[:, None]
        result["pck"].append(float(hit[mask].mean()))
        result["pixel_error"].append(float((error_cells * examples.pixels_per_cell[:, None])[mask].mean()))
    return result
