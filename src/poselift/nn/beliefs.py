"""Projected-belief and fusion layers of the network (paper sections 5.4-5.5, supplementary 1.2).

``ProjectedBeliefs`` renders eq. 6: a unit-height Gaussian at each projected joint. Its
backward is the supplementary material's eq. 9: the gradient of a map with respect to the
joint's x (or y) is the difference of the maps rendered one step either side, over twice
the step (a difference of Gaussians), with the step one belief-map cell as in the paper.

``Fusion`` is eq. 7 with one learned weight per stage, kept in [0, 1] by a sigmoid.

Shapes follow PyTorch's channels-first convention: maps are (B, J, H, W); positions are
(B, J, 2) x, y in map cells (cell (row r, column c) is the point (c, r)).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["render_gaussians", "ProjectedBeliefs", "Fusion", "DEFAULT_STEP"]

DEFAULT_STEP = 1.0
"""The step of eq. 9's difference of Gaussians, in map cells (the paper's one pixel)."""


def render_gaussians(positions: torch.Tensor, size: int, sigma: float) -> torch.Tensor:
    """(B, J, 2) positions in cells -> (B, J, size, size) unit-height Gaussians (eq. 6), differentiable."""
    grid = torch.arange(size, dtype=positions.dtype, device=positions.device)
    gx = torch.exp(-0.5 * ((grid - positions[..., 0:1]) / sigma) ** 2)  # (B, J, W)
    gy = torch.exp(-0.5 * ((grid - positions[..., 1:2]) / sigma) ** 2)  # (B, J, H)
    return gy[..., :, None] * gx[..., None, :]


class _DifferenceOfGaussians(torch.autograd.Function):
    @staticmethod
    def forward(ctx, positions, size, sigma, step):
        ctx.save_for_backward(positions)
        ctx.size, ctx.sigma, ctx.step = size, sigma, step
        return render_gaussians(positions, size, sigma)

    @staticmethod
    def backward(ctx, grad_maps):
        (positions,) = ctx.saved_tensors
        grads = []
        for axis in (0, 1):
            shift = torch.zeros_like(positions)
            shift[..., axis] = ctx.step
            ahead = render_gaussians(positions + shift, ctx.size, ctx.sigma)
            behind = render_gaussians(positions - shift, ctx.size, ctx.sigma)
            grads.append(((ahead - behind) * grad_maps).sum(dim=(-2, -1)) / (2.0 * ctx.step))
        return torch.stack(grads, dim=-1), None, None, None


class ProjectedBeliefs(nn.Module):
    """Eq. 6: projected joints (B, J, 2) in cells -> belief maps (B, J, size, size).

    Args:
        size: side of the square maps, in cells.
        sigma: standard deviation of each Gaussian, in cells.
        step: the step of eq. 9's difference of Gaussians (cells); the backward pass is that
            central difference (``None``: the exact derivative through autograd instead).
    """

    def __init__(self, size: int, sigma: float, step: float | None = DEFAULT_STEP) -> None:
        super().__init__()
        if size < 1 or not sigma > 0 or (step is not None and not step > 0):
            raise ValueError(f"need size >= 1, sigma > 0 and step > 0 (or None), got {size}, {sigma}, {step}")
        self.size, self.sigma, self.step = int(size), float(sigma), step

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        if positions.ndim != 3 or positions.shape[-1] != 2:
            raise ValueError(f"positions must have shape (B, J, 2), got {tuple(positions.shape)}")
        if self.step is None:
            return render_gaussians(positions, self.size, self.sigma)
        return _DifferenceOfGaussians.apply(positions, self.size, self.sigma, float(self.step))

    def extra_repr(self) -> str:
        return f"size={self.size}, sigma={self.sigma}, step={self.step}"


class Fusion(nn.Module):
    """Eq. 7: ``w * beliefs + (1 - w) * projected`` with a learned ``w`` in [0, 1].

    ``w`` is the sigmoid of a free parameter, so gradient steps never leave [0, 1].

    Args:
        initial: the starting ``w``, strictly between 0 and 1.
    """

    def __init__(self, initial: float = 0.5) -> None:
        super().__init__()
        if not 0.0 < initial < 1.0:
            raise ValueError(f"the initial fusion weight must lie strictly between 0 and 1, got {initial}")
        self.logit = nn.Parameter(torch.tensor(math.log(initial / (1.0 - initial))))

    @property
    def weight(self) -> torch.Tensor:
        """The current ``w`` (a 0-d tensor in (0, 1))."""
        return torch.sigmoid(self.logit)

    def forward(self, beliefs: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
        if beliefs.shape != projected.shape:
            raise ValueError(f"beliefs {tuple(beliefs.shape)} and projected maps {tuple(projected.shape)} differ")
        w = self.weight.to(beliefs.dtype)
        return w * beliefs + (1.0 - w) * projected
