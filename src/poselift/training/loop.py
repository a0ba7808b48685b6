"""One training loop for both configurations (section 5, eq. 8 at every learned stage).

``blazepose``: stage 1 is BlazePose's frozen belief maps; stages 2..T are learned.
``cpm``: every stage is learned, from the image. Either way 2D labels only: the 3D prior
is fitted on mocap separately and never trained here.

One process or several: under ``torchrun`` (``WORLD_SIZE`` > 1) the model is wrapped in
PyTorch's DistributedDataParallel, each rank sees its share of every epoch, and rank 0
writes the checkpoints and the log. ``device`` places model and batches (``"cuda"`` puts
rank r on GPU ``LOCAL_RANK``); the process group uses nccl on GPUs and gloo on the CPU.
Seeds fix the initial weights, the order of the examples and their augmentation;
``resume`` continues from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..beliefs import argmax_subpixel
from ..evaluation.metrics import pck_hits
from ..files import write_atomically
from ..nn.beliefs import Fusion, render_gaussians
from ..nn.models import build_model, load_torch_file
from ..nn.network import stage_losses
from ..nn.settings import TrainSettings

__all__ = ["train", "evaluate_stages"]


def _targets(labels: torch.Tensor, mask: torch.Tensor, map_size: int, sigma: float) -> tuple[torch.Tensor, ...]:
    """Eq. 8's ground truth: Gaussians at labelled joints and the background map, with the
    (B, J + 1) mask of maps that carry a loss (the background always does)."""
    joints = render_gaussians(labels, map_size, sigma) * mask[..., None, None]
    target = torch.cat([joints, 1.0 - joints.amax(dim=1, keepdim=True)], dim=1)
    return target, torch.cat([mask, torch.ones(len(mask), 1, dtype=mask.dtype, device=mask.device)], dim=1)


def _device(device: str) -> torch.device:
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' asked for, but PyTorch sees no GPU")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    return torch.device("cpu")


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    """The optimiser of ``settings``; the fusion weights (eq. 7) form their own group, without
    weight decay (which would pull every w towards 1/2) and at ``fusion_lr_factor`` times the
    rate (one scalar each: with Adam's steps of about the rate, w would otherwise barely move)."""
    fusion = {id(m.logit) for m in model.modules() if isinstance(m, Fusion)}
    groups = [{"params": [p for p in model.parameters() if id(p) not in fusion]},
              {"params": [p for p in model.parameters() if id(p) in fusion], "weight_decay": 0.0,
               "lr": settings.learning_rate * settings.fusion_lr_factor}]
    if settings.optimizer == "adam":
        return torch.optim.Adam(groups, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    return torch.optim.SGD(groups, lr=settings.learning_rate, momentum=settings.momentum,
                           weight_decay=settings.weight_decay)


def _save(path: Path, payload: dict) -> None:
    write_atomically(path, lambda tmp: torch.save(payload, tmp))


def _loader(dataset: torch.utils.data.Dataset, batches: list, workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=workers)


def _to(batch: dict, device: torch.device) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
    inputs = tuple(x.to(device) for x in batch["inputs"])
    return inputs, batch["labels"].to(device), batch["mask"].to(device)


def train(dataset: torch.utils.data.Dataset, prior, settings: TrainSettings, out_dir: str | Path,
          resume: bool = False, progress: bool = True, joint_set=None, held_out=None, device: str = "cpu",
          workers: int = 0) -> tuple[nn.Module, list[dict]]:
    """Train on ``dataset``; writes ``checkpoint.pt`` (every epoch), ``log.jsonl`` and ``stages.pt``.

    Args:
        dataset: an :class:`~poselift.training.data.ExampleDataset` (``blazepose``) or a
            :class:`~poselift.training.photos.PhotoCrops` (``cpm``), augmenting or not.
        prior: the 3D pose prior (unused with ``lifting="off"``).
        settings: the run (:class:`TrainSettings`).
        out_dir: folder for the files.
        resume: continue from ``out_dir/checkpoint.pt``.
        joint_set: the joints of the labels (``cpm`` only).
        held_out: an optional dataset of the same kind (not augmenting), evaluated after
            every epoch: its PCK per stage goes into the log.
        device: ``"cpu"`` or ``"cuda"``.
        workers: processes loading the data (0: in this process).

    Returns:
        The trained model and the log: per epoch, the mean loss of each learned stage, each
        fusion weight and, with ``held_out``, its PCK@0.2 and mean pixel error per stage.

    Raises:
        ValueError: bad settings or device, or ``resume`` with a checkpoint of other settings
            (the number of epochs may differ: resuming with more continues training).
        FileNotFoundError: ``resume`` without a checkpoint.
    """
    from tqdm import tqdm

    settings.check()
    place = _device(device)
    out_dir = Path(out_dir)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if place.type == "cuda":
        torch.cuda.set_device(place)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if place.type == "cuda" else "gloo")
    torch.manual_seed(settings.seed)
    model = build_model(settings, prior, joint_set).to(place)
    optimizer = _optimizer(model, settings)
    log: list[dict] = []
    checkpoint_path = out_dir / "checkpoint.pt"
    if resume:
        if not checkpoint_path.is_file():
            raise FileNotFoundError(f"{checkpoint_path}: nothing to resume from")
        state = load_torch_file(checkpoint_path, "checkpoint", map_location=place)
        if not settings.same_run(TrainSettings(**state["settings"])):
            raise ValueError(f"{checkpoint_path} was trained with other settings: {state['settings']}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        log = state["log"]
    trained = model
    if world > 1:
        trained = nn.parallel.DistributedDataParallel(model, device_ids=[place.index] if place.type == "cuda" else None)
    payload = {"settings": asdict(settings), "joint_set": joint_set.name if settings.config == "cpm" else None}
    map_size = model.network.map_size
    for epoch in range(len(log), settings.epochs):
        model.train()
        dataset.set_epoch(epoch)
        order = np.random.default_rng(settings.seed + epoch).permutation(len(dataset))
        order = order[: len(order) - len(order) % world][rank::world]  # equal shares: ranks step together
        batches = [order[i:i + settings.batch_size].tolist() for i in range(0, len(order), settings.batch_size)]
        totals = torch.zeros(settings.stages - model.first_learned + 1, device=place)  # + the number of examples
        bar = tqdm(_loader(dataset, batches, workers), total=len(batches), desc=f"epoch {epoch + 1}/{settings.epochs}",
                   unit="batch", disable=not progress or rank != 0, file=sys.stderr)
        for batch in bar:
            inputs, labels, mask = _to(batch, place)
            target, map_mask = _targets(labels, mask, map_size, settings.sigma)
            losses = stage_losses(trained(*inputs), target, map_mask, first=model.first_learned)
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
            totals += torch.cat([losses.detach(), torch.ones(1, device=place)]) * len(labels)
            bar.set_postfix(loss=f"{float(losses.detach().sum()):.4f}")
        if world > 1:
            torch.distributed.all_reduce(totals)
        entry = {"epoch": epoch + 1, "stage_loss": (totals[:-1] / totals[-1]).tolist(),
                 "fusion_weight": model.network.fusion_weights()}
        if held_out is not None and rank == 0:
            figures = evaluate_stages(model, held_out, device=device, workers=workers)
            entry.update(held_out_pck=figures["pck"], held_out_pixel_error=figures["pixel_error"])
        log.append(entry)
        if rank == 0:
            out_dir.mkdir(parents=True, exist_ok=True)
            _save(checkpoint_path, {**payload, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "log": log})
            write_atomically(out_dir / "log.jsonl",
                             lambda tmp: Path(tmp).write_text("".join(json.dumps(e) + "\n" for e in log)))
    if rank == 0:
        _save(out_dir / "stages.pt", {**payload, "model": model.state_dict(), "log": log})
    return model, log


@torch.no_grad()
def evaluate_stages(model: nn.Module, dataset: torch.utils.data.Dataset, batch_size: int = 32,
                    device: str = "cpu", workers: int = 0) -> dict:
    """PCK@0.2 (of the annotated torso, |right shoulder - left hip|) and mean pixel error of
    every stage's joints, on a dataset that does not augment.

    Joints are the sub-pixel argmax of each map (negative values cut to 0); only labelled
    joints count, and PCK only in examples whose torso is labelled.
    """
    was_training = model.training
    model.eval()
    place = _device(device)
    order = list(range(len(dataset)))
    errors: list[list[np.ndarray]] = []
    masks, torsos, scales = [], [], []
    for batch in _loader(dataset, [order[i:i + batch_size] for i in range(0, len(order), batch_size)], workers):
        inputs, labels, mask = _to(batch, place)
        for t, maps in enumerate(model(*inputs)):
            joint_maps = maps[:, :-1].clamp_min(0).permute(0, 2, 3, 1).cpu().numpy().astype(np.float64)
            positions, _ = argmax_subpixel(joint_maps)
            if len(errors) <= t:
                errors.append([])
            errors[t].append(np.linalg.norm(positions - labels.cpu().numpy(), axis=-1))
        masks.append(mask.cpu().numpy() > 0)
        torsos.append(batch["torso_cells"].numpy())
        scales.append(batch["pixels_per_cell"].numpy())
    model.train(was_training)
    mask, torso, scale = np.concatenate(masks), np.concatenate(torsos), np.concatenate(scales)
    counted = mask & np.isfinite(torso)[:, None]
    result = {"examples": len(dataset), "pck": [], "pixel_error": []}
    for stage_errors in errors:
        error_cells = np.concatenate(stage_errors)
        result["pck"].append(float(pck_hits(error_cells, torso)[counted].mean()))
        result["pixel_error"].append(float((error_cells * scale[:, None])[mask].mean()))
    return result
