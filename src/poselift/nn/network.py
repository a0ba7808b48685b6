"""The multi-stage network of section 5: CNN stages with 3D lifting and fusion between them.

For each stage t < T, the joint maps b_t are read (argmax, eq. 3), lifted under the prior
(eq. 4), projected (eq. 5), rendered as Gaussians (eq. 6) and fused with b_t by the stage's
learned weight (eq. 7); stage t + 1 sees the image features and the fused maps. The loss is
eq. 8 at every learned stage, summed (intermediate supervision).

``lifting`` chooses what the 3D layers do:
  * ``"subgradient"``: forward and backward through them (eqs. 8 and 9 of the supplementary);
  * ``"forward"``: forward only, no gradient through the lift (the supplementary material
    reports this trains as well);
  * ``"off"``: no 3D layers; stage t + 1 sees b_t itself (the baseline of Table 2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..beliefs import DEFAULT_SIGMA
from ..detectors.blazepose import HEATMAP_SIZE
from .argmax import BeliefArgmax
from .beliefs import Fusion, ProjectedBeliefs
from .lifting import LiftingLayer
from .stages import BeliefStage

__all__ = ["LIFTING_MODES", "LiftingNetwork", "stage_losses"]

LIFTING_MODES = ("subgradient", "forward", "off")


class LiftingNetwork(nn.Module):
    """Learned stages 2..T on top of stage-1 beliefs, with lifting and fusion between stages.

    Args:
        joints: J, the number of joint maps (plus one background map).
        feature_channels: channels of the image features every stage sees.
        stages: T, the number of stages including the first (which is not part of this module).
        prior: the 3D pose prior (not needed when ``lifting="off"``).
        lift_index: (J,) for each joint map, the index of its joint in the prior's joint set,
            or -1 for a map that is not lifted (it passes the fusion unchanged).
        lifting: one of :data:`LIFTING_MODES`.
        sigma: width of the projected maps (eq. 6), in map cells.
        fusion_initial: starting w of every fusion layer.
        map_size: side of the (square) belief maps, in cells.
        width, kernel, depth, residual: shape of each :class:`~poselift.nn.stages.BeliefStage`.
        frozen_maps: joint maps that every stage passes through unchanged (fused, but not
            re-estimated): joints the training labels never mark, which nothing would
            otherwise hold in place.
    """

    def __init__(self, joints: int, feature_channels: int, stages: int, prior=None,
                 lift_index: np.ndarray | None = None, lifting: str = "forward", sigma: float = DEFAULT_SIGMA,
                 fusion_initial: float = 0.5, map_size: int = HEATMAP_SIZE, width: int = 128, kernel: int = 7,
                 depth: int = 5, residual: bool = False, frozen_maps: tuple[int, ...] = ()) -> None:
        super().__init__()
        if lifting not in LIFTING_MODES:
            raise ValueError(f"lifting must be one of {LIFTING_MODES}, got {lifting!r}")
        if stages < 2:
            raise ValueError(f"need at least 2 stages (the first plus one learned), got {stages}")
        self.joints, self.lifting, self.map_size = joints, lifting, map_size
        if any(not 0 <= k < joints for k in frozen_maps):
            raise ValueError(f"frozen_maps must index the {joints} joint maps, got {tuple(frozen_maps)}")
        self.register_buffer("frozen_maps", torch.as_tensor(sorted(frozen_maps), dtype=torch.int64),
                             persistent=False)
        self.stages = nn.ModuleList(BeliefStage(feature_channels, joints, width, kernel, depth, residual)
                                    for _ in range(stages - 1))
        if lifting != "off":
            if prior is None or lift_index is None:
                raise ValueError("lifting needs a prior and a lift_index")
            lift_index = np.asarray(lift_index, dtype=np.int64)
            if lift_index.shape != (joints,) or lift_index.max() >= len(prior.joint_set):
                raise ValueError(f"lift_index must be ({joints},) indices into {prior.joint_set.name} or -1")
            lifted = lift_index >= 0
            weights = np.zeros(len(prior.joint_set))
            weights[lift_index[lifted]] = 1.0
            self.register_buffer("maps_lifted", torch.as_tensor(np.flatnonzero(lifted)))
            self.register_buffer("prior_index", torch.as_tensor(lift_index[lifted]))
            self.lift = LiftingLayer(prior, weights=weights,
                                     backward="subgradient" if lifting == "subgradient" else "none")
            self.argmax = BeliefArgmax(sigma, backward="update" if lifting == "subgradient" else "none")
            self.render = ProjectedBeliefs(map_size, sigma)
            self.fusions = nn.ModuleList(Fusion(fusion_initial) for _ in range(stages - 1))

    def fusion_weights(self) -> list[float]:
        """The current w of each fusion layer (empty without lifting)."""
        return [float(f.weight.detach()) for f in getattr(self, "fusions", [])]

    def _fuse(self, t: int, beliefs: torch.Tensor) -> torch.Tensor:
        """Eqs. 3-7 on (B, J + 1, h, w) beliefs of stage t: the fused maps stage t + 1 sees."""
        batch = beliefs.shape[0]
        chosen = beliefs[:, self.maps_lifted]
        positions = self.argmax(chosen)  # (B, M, 2) cells
        points = torch.zeros(batch, len(self.lift.weights), 2, dtype=positions.dtype, device=positions.device)
        points = points.index_copy(1, self.prior_index, positions)
        projected = self.lift(points).projected_2d[:, self.prior_index]
        fused = self.fusions[t](chosen, self.render(projected))
        return beliefs.index_copy(1, self.maps_lifted, fused)

    def forward(self, features: torch.Tensor, first_beliefs: torch.Tensor) -> list[torch.Tensor]:
        """(B, C, S, S) features and (B, J + 1, S, S) stage-1 beliefs -> beliefs of every stage
        (S = ``map_size``).

        Returns a list of T tensors (B, J + 1, S, S), the first being ``first_beliefs``.
        """
        expected = (self.joints + 1, self.map_size, self.map_size)
        if first_beliefs.ndim != 4 or tuple(first_beliefs.shape[1:]) != expected:
            raise ValueError(f"stage-1 beliefs must have shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(first_beliefs.shape)}")
        if features.shape[0] != first_beliefs.shape[0] or features.shape[2:] != first_beliefs.shape[2:]:
            raise ValueError(f"features {tuple(features.shape)} and beliefs {tuple(first_beliefs.shape)} "
                             "must share batch size and map size")
        outputs = [first_beliefs]
        for t, stage in enumerate(self.stages):
            beliefs = outputs[-1] if self.lifting == "off" else self._fuse(t, outputs[-1])
            new = stage(features, beliefs)
            if len(self.frozen_maps):
                new = new.index_copy(1, self.frozen_maps, beliefs[:, self.frozen_maps])
            outputs.append(new)
        return outputs


def stage_losses(outputs: list[torch.Tensor], target: torch.Tensor, mask: torch.Tensor | None = None,
                 first: int = 1) -> torch.Tensor:
    """Eq. 8 per stage: squared error of each stage's maps against the target maps, summed
    over a map's pixels (as in the paper) and averaged over the labelled maps of the batch.

    Args:
        outputs: the network's list of (B, J + 1, h, w) beliefs.
        target: (B, J + 1, h, w) ground-truth maps (Gaussians at labelled joints, background last).
        mask: optional (B, J + 1) 1 where a map is labelled, 0 where it is not (no loss).
        first: index of the first stage that is learned (1 when stage 1 is frozen BlazePose).

    Returns:
        (T - first,) the loss of each learned stage; their sum is the training loss.
    """
    weight = torch.ones(target.shape[:2], dtype=target.dtype, device=target.device) if mask is None else mask
    denominator = weight.sum().clamp_min(1.0)
    return torch.stack([(((b - target) ** 2) * weight[..., None, None]).sum() / denominator
                        for b in outputs[first:]])
