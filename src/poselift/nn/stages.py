"""Convolutional stages in the style of Convolutional Pose Machines (Wei et al. 2016), section 5.1.

* :class:`CpmFeatures`: CPM's image trunk, stride 8 (the ``cpm`` configuration's input is
  368x368, giving 46x46 maps).
* :class:`ImageFeatures`: a lighter trunk of stride 2, 4 or 8 (the ``blazepose``
  configuration runs it on BlazePose's crop shrunk to 128x128 with stride 2, to match its
  64x64 heatmaps).
* :class:`FirstStage`: beliefs from features alone (stage 1 of ``cpm``).
* :class:`BeliefStage`: a later stage: features and the previous stage's fused beliefs in,
  new beliefs out. Every stage outputs J joint maps plus a background map.

Widths default to CPM's (128 channels, 7x7 kernels in the later stages); tests use tiny ones.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CpmFeatures", "ImageFeatures", "FirstStage", "BeliefStage"]


def _conv(in_channels: int, out_channels: int, kernel: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class ImageFeatures(nn.Module):
    """(B, 3, H, W) image in [0, 1] -> (B, width, H / stride, W / stride) features.

    Args:
        width: output channels (CPM: 128 after a VGG-like trunk of 64-128-256 channels).
        stride: 2, 4 or 8 (one, two or three 2x2 poolings).
    """

    def __init__(self, width: int = 128, stride: int = 8) -> None:
        super().__init__()
        if stride not in (2, 4, 8) or width < 1:
            raise ValueError(f"stride must be 2, 4 or 8 and width positive, got {stride}, {width}")
        channels = [3, max(width // 2, 1), width, width * 2][: {2: 2, 4: 3, 8: 4}[stride]]
        layers: list[nn.Module] = []
        for i in range(len(channels) - 1):
            layers += _conv(channels[i], channels[i + 1], 3) + _conv(channels[i + 1], channels[i + 1], 3)
            layers.append(nn.MaxPool2d(2))
        layers += _conv(channels[-1], width, 3)
        self.layers = nn.Sequential(*layers)
        self.out_channels = width

    def forward(self, image):
        return self.layers(image)


class CpmFeatures(nn.Module):
    """CPM's trunk: (B, 3, H, W) image in [0, 1] -> (B, width, H / 8, W / 8) features.

    VGG-19's first ten 3x3 convolutions (64, 64, pool, 128, 128, pool, 256 x 4, pool, 512,
    512) and CPM's two (256, 128), every width scaled by ``width / 128`` (CPM: 128).
    """

    PLAN = (64, 64, "pool", 128, 128, "pool", 256, 256, 256, 256, "pool", 512, 512, 256, 128)

    def __init__(self, width: int = 128) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        layers: list[nn.Module] = []
        channels = 3
        for step in self.PLAN:
            if step == "pool":
                layers.append(nn.MaxPool2d(2))
                continue
            scaled = max(1, step * width // 128)
            layers += _conv(channels, scaled, 3)
            channels = scaled
        self.layers = nn.Sequential(*layers)
        self.out_channels = channels

    def forward(self, image):
        return self.layers(image)


class FirstStage(nn.Module):
    """Stage 1 of ``cpm``: (B, C, h, w) features -> (B, joints + 1, h, w) beliefs (last: background).

    CPM's: three 3x3 convolutions of ``width`` channels (CPM: 128), then 1x1 layers of
    ``hidden`` (CPM: 512) and of joints + 1 channels.
    """

    def __init__(self, in_channels: int, joints: int, width: int = 128, hidden: int = 512) -> None:
        super().__init__()
        self.layers = nn.Sequential(*_conv(in_channels, width, 3), *_conv(width, width, 3), *_conv(width, width, 3),
                                    *_conv(width, hidden, 1), *_conv(hidden, joints + 1, 1, relu=False))

    def forward(self, features):
        return self.layers(features)


class BeliefStage(nn.Module):
    """A later stage: (B, C, h, w) features and (B, joints + 1, h, w) fused beliefs -> new beliefs.

    Args:
        feature_channels: C.
        joints: J (the output has J + 1 maps, the last the background).
        width: channels of the hidden layers (CPM: 128).
        kernel: size of the spatial kernels (CPM: 7).
        depth: spatial convolutions before the two 1x1 layers (CPM: 5).
        residual: output the input beliefs plus the stage's correction, the last layer
            starting at zero, so that an untrained stage passes its input through (CPM's
            stages predict from scratch: ``False``).
    """

    def __init__(self, feature_channels: int, joints: int, width: int = 128, kernel: int = 7, depth: int = 5,
                 residual: bool = False) -> None:
        super().__init__()
        if depth < 1 or kernel % 2 == 0:
            raise ValueError(f"need depth >= 1 and an odd kernel, got {depth}, {kernel}")
        layers = _conv(feature_channels + joints + 1, width, kernel)
        for _ in range(depth - 1):
            layers += _conv(width, width, kernel)
        layers += _conv(width, width, 1) + _conv(width, joints + 1, 1, relu=False)
        self.layers = nn.Sequential(*layers)
        self.residual = residual
        if residual:
            nn.init.zeros_(self.layers[-1].weight)
            nn.init.zeros_(self.layers[-1].bias)

    def forward(self, features, beliefs):
        correction = self.layers(torch.cat([features, beliefs], dim=1))
        return beliefs + correction if self.residual else correction
