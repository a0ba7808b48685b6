"""PyTorch layers of the network (section 5): lifting, and later projection and fusion."""

from .lifting import LiftingLayer, TorchLifted

__all__ = ["LiftingLayer", "TorchLifted"]
