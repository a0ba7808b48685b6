"""PyTorch layers of the network (section 5): lifting, argmax, projected beliefs and fusion."""

from .argmax import BeliefArgmax
from .beliefs import Fusion, ProjectedBeliefs, render_gaussians
from .lifting import LiftingLayer, TorchLifted

__all__ = ["LiftingLayer", "TorchLifted", "BeliefArgmax", "ProjectedBeliefs", "Fusion", "render_gaussians"]
