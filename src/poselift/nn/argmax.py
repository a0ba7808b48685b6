"""Argmax of belief maps with the supplementary material's sub-gradient (section 1.2, "Updating B").

Forward: eq. 3 with the sub-pixel refinement of :func:`poselift.beliefs.argmax_subpixel`,
on (B, J, H, W) maps, giving (B, J, 2) x, y in cells. The position of a maximum has no
useful derivative, so the backward pass builds the update the supplementary material
describes: for a gradient ``g`` on a joint's position, a belief change that lowers the map
at its argmax by ``m = k |g|`` and raises it by ``m N(Y; sigma)`` over the quadrant of
cells on the side of the peak that ``-g`` points to in x and in y, so that a descent step
moves the peak the way the loss wants it moved. ``k`` is :data:`DEFAULT_GAIN`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..beliefs import argmax_subpixel

__all__ = ["BeliefArgmax", "DEFAULT_GAIN"]

DEFAULT_GAIN = 1.0


def _peaks(maps: torch.Tensor) -> torch.Tensor:
    """(B, J, H, W) -> (B, J, 2) sub-pixel peaks, computed by the NumPy code on the CPU."""
    positions, _ = argmax_subpixel(maps.detach().permute(0, 2, 3, 1).cpu().double().numpy())
    return torch.as_tensor(positions, dtype=maps.dtype, device=maps.device)


class _ArgmaxWithUpdate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, maps, sigma, gain):
        positions = _peaks(maps)
        ctx.save_for_backward(positions)
        ctx.shape, ctx.sigma, ctx.gain = maps.shape, sigma, gain
        return positions

    @staticmethod
    def backward(ctx, grad_positions):
        (positions,) = ctx.saved_tensors
        batch, joints, height, width = ctx.shape
        peak = torch.round(positions).long()
        peak[..., 0].clamp_(0, width - 1)
        peak[..., 1].clamp_(0, height - 1)
        magnitude = ctx.gain * torch.linalg.vector_norm(grad_positions, dim=-1)  # (B, J)
        xs = torch.arange(width, device=positions.device, dtype=positions.dtype)
        ys = torch.arange(height, device=positions.device, dtype=positions.dtype)
        dx = xs - peak[..., 0:1].to(positions.dtype)  # (B, J, W)
        dy = ys - peak[..., 1:2].to(positions.dtype)  # (B, J, H)
        gauss = torch.exp(-0.5 * (dy[..., :, None] ** 2 + dx[..., None, :] ** 2) / ctx.sigma**2)
        # the quadrant the descent direction -g points to (an axis with g = 0: both sides)
        want_x, want_y = -grad_positions[..., 0:1], -grad_positions[..., 1:2]
        in_x = (torch.sign(dx) == torch.sign(want_x)) | (want_x == 0)
        in_y = (torch.sign(dy) == torch.sign(want_y)) | (want_y == 0)
        quadrant = in_y[..., :, None] & in_x[..., None, :]
        # a descent step subtracts the gradient: raise the quadrant, lower the peak
        grad_maps = -magnitude[..., None, None] * gauss * quadrant
        flat = grad_maps.view(batch, joints, -1)
        index = (peak[..., 1] * width + peak[..., 0]).unsqueeze(-1)
        flat.scatter_(-1, index, magnitude.unsqueeze(-1).to(flat.dtype))
        return grad_maps, None, None


class BeliefArgmax(nn.Module):
    """(B, J, H, W) belief maps -> (B, J, 2) sub-pixel peak positions in cells (eq. 3).

    Args:
        sigma: width (cells) of the Gaussian of the backward update (the projected maps').
        gain: ``k`` of the update's magnitude ``k |g|``.
        backward: ``"update"`` (the supplementary material's sub-gradient) or ``"none"``.
    """

    def __init__(self, sigma: float, gain: float = DEFAULT_GAIN, backward: str = "update") -> None:
        super().__init__()
        if backward not in ("update", "none"):
            raise ValueError(f"backward must be 'update' or 'none', got {backward!r}")
        if not sigma > 0 or not gain >= 0:
            raise ValueError(f"need sigma > 0 and gain >= 0, got {sigma}, {gain}")
        self.sigma, self.gain, self.backward = float(sigma), float(gain), backward

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        if maps.ndim != 4:
            raise ValueError(f"belief maps must have shape (B, J, H, W), got {tuple(maps.shape)}")
        if self.backward == "none" or not maps.requires_grad:
            return _peaks(maps)
        return _ArgmaxWithUpdate.apply(maps, self.sigma, self.gain)
