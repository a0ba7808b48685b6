"""Training the learned lifter from 3D mocap alone: virtual cameras and detector-like 2D errors.

Each step draws mocap poses, mirrors half of them, and films each with a camera of its own
(:func:`film`): turned all round the person, raised or lowered, rolled, at a distance, with
the person anywhere in the field of view (which is what the principal point does). The 2D
points are then corrupted the way detectors err (:func:`corrupt`): noise that grows with the
person's size, occasional gross outliers, left/right swaps of a limb, missing joints. The
network (:class:`~poselift.nn.lifter_network.LifterNetwork`) learns the pose from the normalised
2D, in the frame of the ray from the camera to the person (or in the camera's view frame). No
image and no detector output is used, unless asked: :func:`paired_views` gives a detector's own
2D paired with 3D, to fine-tune on its errors.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from ..files import write_atomically
from ..geometry import VIEW_FROM_OPENCV
from ..lifting.learned import MIN_VISIBLE_INPUTS
from ..nn.lifter_network import (
    FORMAT,
    FORMAT_VERSION,
    INPUT_INDEX,
    INPUT_JOINTS,
    INPUT_MIRROR,
    LifterNetwork,
    check_answer_frame,
    normalise,
    ray_rotation,
    visible_centre,
)
from ..nn.models import load_torch_file
from ..skeleton import H36M17

__all__ = ["LifterSettings", "Pairs", "reproportion", "film", "corrupt", "paired_views", "train_lifter"]

_MIRROR = torch.as_tensor(H36M17.mirror_index)
_HIPS = [INPUT_JOINTS.index("left_hip"), INPUT_JOINTS.index("right_hip")]
_SHOULDERS = [INPUT_JOINTS.index("left_shoulder"), INPUT_JOINTS.index("right_shoulder")]
_ANKLES = [INPUT_JOINTS.index("left_ankle"), INPUT_JOINTS.index("right_ankle")]
_KNEES = [INPUT_JOINTS.index("left_knee"), INPUT_JOINTS.index("right_knee")]
_BONE_FACTOR_INDEX = torch.as_tensor(np.minimum(np.arange(len(H36M17)), H36M17.mirror_index))
"""(17,) for each joint's bone (the one to its parent), whose length factor it takes: a bone and
its mirror partner both take the one drawn for the lower joint index of the two."""
_INPUT_PAIRS = torch.tensor([[i, int(INPUT_MIRROR[i])] for i, n in enumerate(INPUT_JOINTS) if n.startswith("left_")])


@dataclass
class LifterSettings:
    """Everything that defines a training run of the learned lifter (stored with its weights).

    Attributes:
        width, blocks, dropout: the network (:class:`~poselift.nn.lifter_network.LifterNetwork`).
        answer_frame: ``"ray"``: the network answers in the frame of the ray from the camera
            through the mean of the visible limb joints, which the lifter turns back into the
            camera's where it knows the camera; ``"camera"``: in the camera's view frame.
        steps, batch_size, learning_rate: Adam's steps, batch and first rate.
        halving_steps, final_learning_rate: the rate halves every ``halving_steps`` steps, down
            to the final rate (a schedule of the step alone, so that a run resumed with more
            steps continues it).
        steps_per_epoch: steps between checkpoints and validations.
        elevation_deg: (low, high) camera elevation above the person's pelvis, degrees.
        roll_deg: standard deviation of the camera's roll, degrees.
        distance_mm: (low, high) camera distance.
        off_axis_deg: (horizontal, vertical) largest angle of the person off the optical axis.
        hip_width, shoulder_width: (low, high) width of the hips and of the shoulders as a 2D
            detector places them, as a fraction of the mocap joints' width (each pose draws
            its own): detectors label hips and shoulders elsewhere than mocap's joint centres.
        ankle_lift: (low, high) how far up the shank a 2D detector places the ankles, as a
            fraction of the shank's length (each pose draws its own; 0: mocap's ankle).
            The Stacked-Hourglass ankles lie 8 to 14% up the shank on Human3.6M's S7 and S8
            (docs/learned-lifter.md).
        noise: largest 2D noise, as a fraction of the pose's RMS spread (each pose draws its own).
        outlier_rate, outlier_size: per-joint chance of a gross error and its size (fraction of spread).
        swap_rate: per-limb chance that a left joint and its right partner swap places.
        missing_rate: per-joint chance that a joint is missing (at least 6 of 12 stay).
        bone_scale: standard deviation of the log of each bone's length factor (a left bone and
            its right partner share theirs; 0: the mocap's proportions): bodies built otherwise
            than the training subjects'.
        seed: random seed.
    """

    width: int = 512
    blocks: int = 2
    dropout: float = 0.1
    answer_frame: str = "ray"
    steps: int = 24000
    batch_size: int = 1024
    learning_rate: float = 1e-3
    halving_steps: int = 5000
    final_learning_rate: float = 3e-5
    steps_per_epoch: int = 1000
    elevation_deg: tuple[float, float] = (0.0, 20.0)
    roll_deg: float = 0.0
    distance_mm: tuple[float, float] = (3000.0, 7500.0)
    off_axis_deg: tuple[float, float] = (10.0, 8.0)
    hip_width: tuple[float, float] = (0.6, 1.1)
    shoulder_width: tuple[float, float] = (0.9, 1.25)
    ankle_lift: tuple[float, float] = (0.0, 0.2)
    noise: float = 0.1
    outlier_rate: float = 0.03
    outlier_size: float = 0.25
    swap_rate: float = 0.01
    missing_rate: float = 0.05
    bone_scale: float = 0.0
    seed: int = 0

    def check(self) -> None:
        """Raises ValueError for settings out of range."""
        if min(self.width, self.blocks + 1, self.steps, self.batch_size - 1, self.steps_per_epoch,
               self.halving_steps) < 1:
            raise ValueError("width, steps, steps_per_epoch and halving_steps must be positive, batch_size at least 2 "
                             "(batch normalisation), blocks 0 or more")
        if not (0 < self.final_learning_rate <= self.learning_rate) or not math.isfinite(self.learning_rate):
            raise ValueError(f"need 0 < final_learning_rate <= learning_rate, got {self.final_learning_rate}, "
                             f"{self.learning_rate}")
        if not 0.0 <= self.bone_scale < 1.0:
            raise ValueError(f"bone_scale must lie in [0, 1), got {self.bone_scale}")
        rates = (self.dropout, self.outlier_rate, self.swap_rate, self.missing_rate)
        if not all(0.0 <= r < 1.0 for r in rates) or not 0 < self.distance_mm[0] <= self.distance_mm[1]:
            raise ValueError("rates must lie in [0, 1) and distances be positive")
        if not (0.0 <= self.roll_deg < 90.0 and all(0.0 <= angle < 80.0 for angle in self.off_axis_deg)):
            raise ValueError(f"need a roll of 0 to 90 degrees and off-axis angles of 0 to 80, got {self.roll_deg}, "
                             f"{self.off_axis_deg}")
        check_answer_frame(self.answer_frame)
        if not all(0 < low <= high for low, high in (self.hip_width, self.shoulder_width)):
            raise ValueError(f"widths must be ranges of positive fractions, got {self.hip_width}, "
                             f"{self.shoulder_width}")
        if not 0 <= self.ankle_lift[0] <= self.ankle_lift[1] < 1:
            raise ValueError(f"ankle_lift must be a range of fractions in [0, 1), got {self.ankle_lift}")

    @classmethod
    def from_dict(cls, values: dict) -> "LifterSettings":
        """Settings stored by :func:`dataclasses.asdict` (tuples come back as lists); a field
        missing from an older file takes the value those runs trained with
        (:data:`_BEFORE_THE_FIELD`), else its default."""
        names = {f.name for f in fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown learned-lifter settings {sorted(unknown)}")
        return cls(**{**_BEFORE_THE_FIELD, **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}})


_BEFORE_THE_FIELD = {"bone_scale": 0.0, "ankle_lift": (0.0, 0.0)}
"""The settings added after runs were stored, with the value those runs trained with: the
mocap's proportions and ankles."""


def reproportion(poses: torch.Tensor, bone_scale: float, generator: torch.Generator) -> torch.Tensor:
    """(B, 17, 3) poses, mm -> the same poses with each bone lengthened or shortened by a factor
    ``exp(bone_scale * n)``, ``n`` standard normal, drawn per pose and bone (a left bone and its
    right partner alike); the joints' directions from their parents are kept and the pelvis stays."""
    b = len(poses)
    factors = torch.exp(bone_scale * torch.randn(b, len(H36M17), generator=generator, device=poses.device))
    factors = factors[:, _BONE_FACTOR_INDEX.to(poses.device)]
    joints = [poses[:, 0]]
    for joint in range(1, len(H36M17)):  # parents come before their children
        parent = H36M17.parents[joint]
        joints.append(joints[parent] + factors[:, joint, None] * (poses[:, joint] - poses[:, parent]))
    return torch.stack(joints, dim=1)


def film(poses_world: torch.Tensor, settings: LifterSettings, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Film (B, 17, 3) z-up world mm poses with one random camera each.

    Returns:
        (B, 17, 2) image points (x right, y down; units of the focal length: pixels / focal)
        and (B, 17, 3) the poses in mm relative to the pelvis in the camera's view frame (x
        right, y up, z towards the camera). The poses are first given other proportions
        (:func:`reproportion`, where ``settings.bone_scale`` > 0) and half of them mirrored.
    """
    b = len(poses_world)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=generator, device=poses_world.device)

    poses = poses_world - poses_world[:, :1]
    if settings.bone_scale > 0:
        poses = reproportion(poses, settings.bone_scale, generator)
    mirrored = torch.rand(b, generator=generator, device=poses.device) < 0.5
    flipped = poses[:, _MIRROR.to(poses.device)] * torch.tensor([-1.0, 1.0, 1.0], device=poses.device)
    poses = torch.where(mirrored[:, None, None], flipped, poses)
    yaw = uniform(0.0, 2 * math.pi)
    elevation = torch.deg2rad(uniform(*settings.elevation_deg))
    roll = torch.deg2rad(torch.randn(b, generator=generator, device=poses.device) * settings.roll_deg)
    x, y, z = poses.unbind(-1)
    c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
    x, y = c * x - s * y, s * x + c * y  # turned about the vertical
    cam_x, cam_y, cam_z = x, -z, y  # a level camera looking along +y: x right, y down, z forward
    c, s = torch.cos(elevation)[:, None], torch.sin(elevation)[:, None]
    cam_y, cam_z = c * cam_y - s * cam_z, s * cam_y + c * cam_z  # raised camera looking down: the head nearer
    c, s = torch.cos(roll)[:, None], torch.sin(roll)[:, None]
    cam_x, cam_y = c * cam_x - s * cam_y, s * cam_x + c * cam_y
    camera = torch.stack([cam_x, cam_y, cam_z], dim=-1)
    distance = uniform(*settings.distance_mm)
    offset = torch.stack([distance * torch.tan(torch.deg2rad(uniform(-settings.off_axis_deg[0],
                                                                     settings.off_axis_deg[0]))),
                          distance * torch.tan(torch.deg2rad(uniform(-settings.off_axis_deg[1],
                                                                     settings.off_axis_deg[1]))),
                          distance], dim=-1)
    placed = camera + offset[:, None]
    points = placed[..., :2] / placed[..., 2:].clamp_min(100.0)
    view = camera * torch.tensor(np.diag(VIEW_FROM_OPENCV), dtype=camera.dtype, device=poses.device)
    return points, view


def corrupt(points: torch.Tensor, settings: LifterSettings, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Detector-like errors on (B, 12, 2) points of :data:`INPUT_JOINTS` (hips and shoulders
    placed wider or narrower, ankles up the shank, noise, outliers, swaps, missing joints);
    returns the points and (B, 12) visibility (0/1), at least
    :data:`~poselift.lifting.learned.MIN_VISIBLE_INPUTS` visible per pose."""
    b, j, _ = points.shape
    device = points.device

    def rand(*shape) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, device=device)

    def randn(*shape) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, device=device)

    points = points.clone()
    for pair, (low, high) in ((_HIPS, settings.hip_width), (_SHOULDERS, settings.shoulder_width)):
        middle = points[:, pair].mean(dim=1, keepdim=True)
        width = low + (high - low) * rand(b, 1, 1)
        points[:, pair] = middle + width * (points[:, pair] - middle)
    low, high = settings.ankle_lift
    if high > 0:  # (no draw otherwise: runs from before the setting stay as they were)
        points[:, _ANKLES] += (low + (high - low) * rand(b, 1, 1)) * (points[:, _KNEES] - points[:, _ANKLES])
    spread = (points - points.mean(dim=1, keepdim=True)).square().sum(-1).mean(-1).sqrt()[:, None, None]
    points = points + randn(b, j, 2) * spread * settings.noise * rand(b, 1, 1)
    outliers = (rand(b, j, 1) < settings.outlier_rate).float()
    points = points + outliers * randn(b, j, 2) * spread * settings.outlier_size
    swap = rand(b, len(_INPUT_PAIRS)) < settings.swap_rate
    order = torch.arange(j, device=device).repeat(b, 1)
    pairs = _INPUT_PAIRS.to(device)
    order[:, pairs[:, 0]] = torch.where(swap, pairs[:, 1], pairs[:, 0])
    order[:, pairs[:, 1]] = torch.where(swap, pairs[:, 0], pairs[:, 1])
    points = torch.gather(points, 1, order[..., None].expand(-1, -1, 2))
    keep = rand(b, j) >= settings.missing_rate
    rank = rand(b, j).argsort(dim=1).argsort(dim=1)
    keep |= rank < MIN_VISIBLE_INPUTS  # that many random joints always stay: the lifter needs them
    return points, keep.float()


@dataclass(frozen=True)
class Pairs:
    """2D detections paired with 3D truth, for fine-tuning on a detector's own errors.

    Attributes:
        points: (N, 12, 2) pixels of :data:`INPUT_JOINTS`; visible: (N, 12) 0/1.
        view: (N, 17, 3) mm, the truth in the camera's view frame, pelvis at 0.
        centre: (N, 2) the mean of the visible points relative to the principal point, in
            units of the focal length (x right, y down): where the ray to the person goes.
    """

    points: np.ndarray
    visible: np.ndarray
    view: np.ndarray
    centre: np.ndarray


def paired_views(source: str, subjects, data_dir=None, step: int = 1) -> Pairs:
    """Human3.6M 3D poses of ``subjects`` paired with 2D detections of the same frames.

    Args:
        source: ``"sh"`` (the Stacked-Hourglass detections) or an ``.npz`` laid out as
            ``poselift evaluate h36m --input`` reads (:func:`poselift.evaluation.h36m.load_2d_input`).
        subjects: Human3.6M subjects with 3D (never S9 or S11, the test subjects).
        step: every ``step``-th frame.

    Views with fewer than :data:`~poselift.lifting.learned.MIN_VISIBLE_INPUTS` limb joints are
    left out; so are (sequence, camera) pairs the detections lack.

    Raises:
        ValueError: a test subject; ``"gt"`` (no detector); frame counts that differ; the
            detections hold none of the subjects' (sequence, camera) pairs.
    """
    from ..evaluation.h36m import Views

    tested = sorted(set(subjects) & {"S9", "S11"})
    if tested:
        raise ValueError(f"{', '.join(tested)}: the test subjects are never trained on")
    if source == "gt":
        raise ValueError("fine-tuning pairs 3D with a detector's 2D; ground truth is what train-lifter films itself")
    points, visible, views, centres = [], [], [], []
    limb_index = INPUT_INDEX.numpy()
    for subject in subjects:  # one subject's 3D and detections in memory at a time
        for view in Views(source, [subject], step=step, data_dir=data_dir):
            seen = (view.weights[:, limb_index] > 0) & np.isfinite(view.points[:, limb_index]).all(axis=-1)
            kept = seen.sum(axis=1) >= MIN_VISIBLE_INPUTS
            limbs, seen = view.points[kept][:, limb_index], seen[kept].astype(np.float32)
            truth = view.truth[kept]
            points.append(limbs)
            visible.append(seen)
            views.append((truth - truth[:, :1]) @ VIEW_FROM_OPENCV)
            mean = visible_centre(torch.as_tensor(np.nan_to_num(limbs)), torch.as_tensor(seen)).numpy()
            centres.append((mean - view.camera.principal) / view.camera.focal)
    if not points:
        raise ValueError(f"the 2D input {source} holds none of {', '.join(subjects)}'s (sequence, camera) pairs")
    return Pairs(*(np.concatenate(parts) for parts in (points, visible, views, centres)))


def _paired_batch(pairs: tuple[torch.Tensor, ...], rows: torch.Tensor, generator: torch.Generator,
                  answer_frame: str):
    """Network inputs (B, 36) and targets (B, 17, 3) in metres, in ``answer_frame``, from detections
    paired with 3D, half mirrored."""
    points, visible, view, centre = (part[rows] for part in pairs)
    device = points.device
    mirrored = (torch.rand(len(rows), generator=generator, device=device) < 0.5)[:, None, None]
    mirror = INPUT_MIRROR.to(device)
    sign2, sign3 = torch.tensor([-1.0, 1.0], device=device), torch.tensor([-1.0, 1.0, 1.0], device=device)
    points = torch.where(mirrored, points[:, mirror] * sign2, points)
    visible = torch.where(mirrored[..., 0], visible[:, mirror], visible)
    view = torch.where(mirrored, view[:, _MIRROR.to(device)] * sign3, view)
    if answer_frame == "ray":
        view = view @ ray_rotation(torch.where(mirrored[:, 0], centre * sign2, centre)).transpose(1, 2)
    return normalise(points * visible[..., None], visible), view / 1000.0


def _batch(poses: torch.Tensor, settings: LifterSettings, generator: torch.Generator, clean: bool = False):
    """Network inputs (B, 36) and targets (B, 17, 3) in metres, in the settings' answer frame, for
    (B, 17, 3) world poses."""
    points, view = film(poses, settings, generator)
    points = points[:, INPUT_INDEX.to(points.device)]
    if clean:
        visible = torch.ones(points.shape[:2], device=points.device)
    else:
        points, visible = corrupt(points, settings, generator)
    if settings.answer_frame == "ray":  # the ray through the visible joints' mean, as the lifter draws it
        view = view @ ray_rotation(visible_centre(points, visible)).transpose(1, 2)
    return normalise(points, visible), view / 1000.0


def train_lifter(poses_world: np.ndarray | None, settings: LifterSettings, out_dir: str | Path,
                 validation_world: np.ndarray | None = None, data: str = "", resume: bool = False,
                 progress: bool = True, device: str = "cpu", pairs: Pairs | None = None,
                 init: LifterNetwork | None = None) -> tuple[LifterNetwork, list[dict]]:
    """Train on (N, 17, 3) z-up world mm poses; writes ``checkpoint.pt`` (every epoch),
    ``log.jsonl`` and ``lifter.pt`` (the weights file, see
    :func:`~poselift.nn.lifter_network.load_lifter_network`) into ``out_dir``.

    Args:
        poses_world: mocap poses in Human3.6M-17 joints (any frame rate, any subjects), filmed
            by virtual cameras; or None with ``pairs``.
        settings: the run.
        out_dir: folder for the files.
        validation_world: optional poses whose error (MPJPE, mm, through fixed virtual cameras,
            no 2D noise) is logged after every epoch.
        data: a description of the training poses, stored with the weights.
        resume: continue from ``out_dir/checkpoint.pt`` (the same settings; more steps allowed).
        progress: a progress bar on stderr.
        device: ``"cpu"`` or ``"cuda"``.
        pairs: detections paired with 3D (:func:`paired_views`) to train on instead of mocap
            through virtual cameras: fine-tuning on a detector's own errors.
        init: a network to start from (its width, blocks and answer frame replace the settings').

    Returns:
        The network (evaluation mode) and the log: per epoch the step, the mean training loss
        (mm) and, with validation poses, their MPJPE (mm), first before any training (step 0).

    Raises:
        ValueError: bad settings, poses or device; a checkpoint of other settings.
        FileNotFoundError: ``resume`` without a checkpoint.
    """
    from tqdm import tqdm

    settings.check()
    if pairs is None:
        poses_world = np.asarray(poses_world, dtype=np.float32)
        if poses_world.ndim != 3 or poses_world.shape[1:] != (len(H36M17), 3) or len(poses_world) == 0:
            raise ValueError(f"poses must have shape (N, {len(H36M17)}, 3), got {poses_world.shape}")
        if not np.all(np.isfinite(poses_world)):
            raise ValueError("training poses hold NaN or infinite values")
    if init is not None:
        settings = replace(settings, width=init.settings["width"], blocks=init.settings["blocks"],
                           answer_frame=init.settings["answer_frame"])
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    place = torch.device(device)
    out_dir = Path(out_dir)
    torch.manual_seed(settings.seed)
    network = LifterNetwork(settings.width, settings.blocks, settings.dropout, settings.answer_frame).to(place)
    if init is not None:
        network.load_state_dict(init.state_dict())
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    log: list[dict] = []
    checkpoint = out_dir / "checkpoint.pt"
    step = 0
    if resume:
        if not checkpoint.is_file():
            raise FileNotFoundError(f"{checkpoint}: nothing to resume from")
        state = load_torch_file(checkpoint, "learned-lifter checkpoint", map_location=place)
        missing = {"settings", "model", "optimizer", "step", "log"} - set(state)
        if missing:
            raise ValueError(f"{checkpoint}: not a learned-lifter checkpoint (no {', '.join(sorted(missing))})")
        stored = LifterSettings.from_dict(state["settings"])
        if {**asdict(stored), "steps": 0} != {**asdict(settings), "steps": 0}:
            raise ValueError(f"{checkpoint} was trained with other settings: {state['settings']}")
        network.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, log = int(state["step"]), list(state["log"])
    if pairs is None:
        train = torch.as_tensor(poses_world, device=place)
        count_rows = len(train)
    else:
        paired = tuple(torch.as_tensor(np.nan_to_num(part), dtype=torch.float32, device=place)
                       for part in (pairs.points, pairs.visible, pairs.view, pairs.centre))
        count_rows = len(paired[0])
    valid = None if validation_world is None else torch.as_tensor(np.asarray(validation_world, np.float32),
                                                                     device=place)
    if valid is not None and not log:
        log.append({"step": 0, "validation_mpjpe_mm": _validate(network, valid, settings)})  # where it starts
    bar = tqdm(total=settings.steps, initial=step, desc="train-lifter", unit="step", disable=not progress,
               file=sys.stderr)
    while step < settings.steps:
        epoch = step // settings.steps_per_epoch
        generator = torch.Generator(device=place).manual_seed(settings.seed * 100003 + epoch)
        torch.manual_seed(settings.seed * 100003 + epoch)  # dropout's too: resumed from an epoch's end, the same run
        network.train()
        total, count = 0.0, 0
        for _ in range(min(settings.steps_per_epoch - step % settings.steps_per_epoch, settings.steps - step)):
            for group in optimizer.param_groups:
                group["lr"] = max(settings.learning_rate * 0.5 ** (step / settings.halving_steps),
                                  settings.final_learning_rate)
            rows = torch.randint(count_rows, (settings.batch_size,), generator=generator, device=place)
            inputs, target = _batch(train[rows], settings, generator) if pairs is None else \
                _paired_batch(paired, rows, generator, settings.answer_frame)
            loss = _mpjpe(network(inputs), target).mean()  # in metres
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total, count, step = total + loss.item() * 1000.0, count + 1, step + 1
            bar.update(1)
            bar.set_postfix(mpjpe_mm=f"{total / count:.1f}")
        entry = {"step": step, "train_mpjpe_mm": total / max(count, 1)}
        if valid is not None:
            entry["validation_mpjpe_mm"] = _validate(network, valid, settings)
        log.append(entry)
        out_dir.mkdir(parents=True, exist_ok=True)
        _save(checkpoint, {"settings": asdict(settings), "model": network.state_dict(),
                           "optimizer": optimizer.state_dict(), "step": step, "log": log})
        write_atomically(out_dir / "log.jsonl",
                         lambda tmp: Path(tmp).write_text("".join(json.dumps(e) + "\n" for e in log)))
    bar.close()
    network.eval()
    _save(out_dir / "lifter.pt", {
        "format": FORMAT, "version": FORMAT_VERSION, "input_joints": list(INPUT_JOINTS),
        "output_joints": list(H36M17.joints), "settings": network.settings, "training": asdict(settings),
        "data": data, "model": {k: v.cpu() for k, v in network.state_dict().items()}, "log": log})
    return network.cpu(), log


@torch.no_grad()
def _validate(network: LifterNetwork, poses: torch.Tensor, settings: LifterSettings) -> float:
    """MPJPE (mm) of clean virtual-camera views of ``poses`` in their own proportions (the same
    cameras every time)."""
    network.eval()
    settings = replace(settings, bone_scale=0.0)
    generator = torch.Generator(device=poses.device).manual_seed(12345)
    errors = []
    for start in range(0, len(poses), 8192):
        inputs, target = _batch(poses[start:start + 8192], settings, generator, clean=True)
        errors.append(_mpjpe(network(inputs), target))
    return float(torch.cat(errors).mean()) * 1000.0


def _mpjpe(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B,) mean joint distance of (B, 17, 3) root-relative poses, the root left out (it is 0 in
    both, and the gradient of a distance is undefined at 0)."""
    return (predicted[:, 1:] - target[:, 1:]).square().sum(-1).sqrt().mean(-1) * (16 / 17)


def _save(path: Path, payload: dict) -> None:
    write_atomically(path, lambda tmp: torch.save(payload, tmp))
