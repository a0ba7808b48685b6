"""The lifting layer (section 5.3) in PyTorch: the twin of :class:`poselift.lifting.Lifter`.

Forward: the same search as the NumPy lifter (every component on the coarse angle grid,
then the fine grid around the winner), batched on the layer's device, from solver
matrices built once by the NumPy code and stored as buffers.

Backward (supplementary material, section 1.1): with the chosen component and rotation held
fixed, the map from the 2D input to the solution and to the projected pose of eq. 5 is
smooth (a linear solve, with centring and the scale normalisation around it); its
gradient is the sub-gradient ``dY_hat / dY = E E_bar^t`` of eq. 8. The layer gets it by
re-solving the fixed problem with differentiable operations after a search done without
gradients. ``backward="none"`` detaches the outputs instead (the supplementary material
notes that training with the lift in the forward pass only works as well).

One weight pattern per layer (default: all joints; e.g. zeros for joints a detector lacks),
fixed at construction: per-sample weights are the NumPy lifter's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..lifting import DEFAULT_ANGLES, DEFAULT_REGULARIZATION, MIN_VISIBLE_JOINTS, REFINE_STEPS, SCALE_PRIOR, Lifter
from ..prior.model import PosePrior

__all__ = ["BACKWARD_MODES", "TorchLifted", "LiftingLayer"]

BACKWARD_MODES = ("subgradient", "none")


@dataclass
class TorchLifted:
    """Outputs of :class:`LiftingLayer`, batch shape ``(B,)`` first; see :class:`poselift.lifting.Lifted`."""

    pose_3d: torch.Tensor
    projected_2d: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor
    coefficients: torch.Tensor
    component: torch.Tensor


class LiftingLayer(nn.Module):
    """Lift (B, L, 2) pixel joints to 3D under a fixed prior (section 5.3).

    Args:
        prior: the pose prior.
        angles, refine, camera_rotation, regularization, scale_prior: as for
            :class:`poselift.lifting.Lifter`.
        weights: (L,) fixed joint weights (0 = ignored); default all ones.
        backward: ``"subgradient"`` (eq. 8, component and rotation fixed) or ``"none"``.

    The search runs in float64 whatever the input's type (in float32, near-ties between
    angles resolve differently and answers move by millimetres); outputs come back in the
    input's floating type.
    """

    def __init__(self, prior: PosePrior, angles: int = DEFAULT_ANGLES, refine: int = REFINE_STEPS,
                 camera_rotation: np.ndarray | None = None, regularization: float = DEFAULT_REGULARIZATION,
                 scale_prior: float = SCALE_PRIOR, weights: np.ndarray | None = None,
                 backward: str = "subgradient"):
        super().__init__()
        if backward not in BACKWARD_MODES:
            raise ValueError(f"backward must be one of {BACKWARD_MODES}, got {backward!r}")
        self.backward_mode = backward
        lifter = Lifter(prior, angles, refine, camera_rotation, regularization, scale_prior)
        num_joints = len(prior.joint_set)
        pattern = np.ones(num_joints) if weights is None else np.asarray(weights, dtype=np.float64)
        if pattern.shape != (num_joints,) or np.any(pattern < 0) or np.count_nonzero(pattern) < MIN_VISIBLE_JOINTS:
            raise ValueError(f"weights must be ({num_joints},), non-negative, with at least {MIN_VISIBLE_JOINTS} "
                             "non-zero")
        coarse = lifter.solver_matrices(pattern, lifter.angles)
        fine_angles = lifter.angles[:, None] + lifter.fine_offsets()[None, :]  # (A, F)
        fine = lifter.solver_matrices(pattern, fine_angles.ravel())
        k, a, f = prior.n_components, len(lifter.angles), fine_angles.shape[1]

        def buffer(name: str, values: np.ndarray) -> None:
            # derived from the prior and the settings at construction: moved with the layer
            # (.to(device)) but not saved in state dicts (they would be megabytes)
            self.register_buffer(name, torch.as_tensor(np.ascontiguousarray(values), dtype=torch.float64),
                                 persistent=False)

        buffer("weights", pattern)
        buffer("coarse_rows", coarse.rows)
        buffer("coarse_offset", coarse.offset)
        buffer("coarse_constant", coarse.constant)
        r = coarse.rows.shape[0]
        buffer("fine_rows", fine.rows.reshape(r, k, a, f, -1).transpose(1, 2, 3, 0, 4))
        buffer("fine_offset", fine.offset.reshape(r, k, a, f).transpose(1, 2, 3, 0))
        buffer("fine_constant", fine.constant.reshape(k, a, f))
        buffer("fine_back", fine.back.reshape(k, a, f, r - 1, r - 1))
        buffer("fine_angles", fine_angles)
        buffer("means", prior.means)
        buffer("bases", prior.bases)
        buffer("projection", lifter.projection)
        self.size_mm = float(prior.size_mm)
        self.root = prior.joint_set.parents.index(-1)

    def forward(self, points: torch.Tensor) -> TorchLifted:
        """Lift (B, L, 2) points in pixels; returns a :class:`TorchLifted`."""
        if points.ndim != 3 or points.shape[1:] != (len(self.weights), 2):
            raise ValueError(f"points must have shape (B, {len(self.weights)}, 2), got {tuple(points.shape)}")
        if not torch.isfinite(points[:, self.weights > 0]).all():
            raise ValueError("points hold NaN or infinite values at joints with non-zero weight")
        out_dtype = points.dtype if points.dtype.is_floating_point else torch.float64
        points = points.to(torch.float64)
        w = self.weights
        total = w.sum()
        visible = (w > 0)[None, :, None]
        safe = torch.where(visible, points, torch.zeros_like(points))
        centre = torch.einsum("l,blc->bc", w, safe) / total
        centred = torch.where(visible, safe - centre[:, None], torch.zeros_like(points))
        spread = torch.sqrt(torch.einsum("l,blc->b", w, centred**2) / total)
        if not bool((spread > 0).all()):
            raise ValueError("cannot lift a pose whose weighted joints all lie at one point")
        y = (centred / spread[:, None, None]).reshape(len(points), -1)
        k, a = self.fine_rows.shape[:2]
        with torch.no_grad():
            norm = torch.einsum("x,bx->b", w.repeat_interleave(2), y * y)
            out = torch.einsum("rkax,bx->rkab", self.coarse_rows, y) + self.coarse_offset[..., None]
            costs = norm + self.coarse_constant[..., None] - (out[:-1] ** 2).sum(0)
            costs = torch.where(out[-1] > 0, costs, torch.full_like(costs, float("inf")))
            flat = costs.reshape(k * a, -1).argmin(0)
            best_k, best_a = flat // a, flat % a
            rows = self.fine_rows[best_k, best_a]  # (B, F, R, 2L)
            fine = torch.einsum("bfrx,bx->bfr", rows, y) + self.fine_offset[best_k, best_a]
            fine_cost = norm[:, None] + self.fine_constant[best_k, best_a] - (fine[..., :-1] ** 2).sum(-1)
            fine_cost = torch.where(fine[..., -1] > 0, fine_cost, torch.full_like(fine_cost, float("inf")))
            pick = fine_cost.argmin(1)
        # the fixed problem, differentiable in the input (eq. 8 of the supplementary material)
        index = (best_k, best_a, pick)
        h = torch.einsum("brx,bx->br", self.fine_rows[index][:, :-1], y) + self.fine_offset[index][:, :-1]
        z = torch.einsum("bji,bi->bj", self.fine_back[index], h)
        scale_unit = z[:, 0]
        coefficients = z[:, 1:] / scale_unit[:, None]
        shape = self.means[best_k] + torch.einsum("bj,bjlc->blc", coefficients, self.bases[best_k])
        angle = torch.remainder(self.fine_angles[best_a, pick] + np.pi, 2 * np.pi) - np.pi  # in [-pi, pi)
        c, s = torch.cos(angle)[:, None], torch.sin(angle)[:, None]
        rotated = torch.stack([c * shape[..., 0] + s * shape[..., 2], shape[..., 1],
                               c * shape[..., 2] - s * shape[..., 0]], dim=-1)
        scale = scale_unit * spread
        projected = scale[:, None, None] * (rotated @ self.projection.T)
        projected = projected + (centre - torch.einsum("l,blc->bc", w, projected) / total)[:, None]
        pose = rotated * self.size_mm
        pose = pose - pose[:, self.root:self.root + 1]
        outputs = [t.to(out_dtype) for t in (pose, projected, angle, scale, coefficients)]
        if self.backward_mode == "none":
            outputs = [t.detach() for t in outputs]
        return TorchLifted(*outputs, best_k)
