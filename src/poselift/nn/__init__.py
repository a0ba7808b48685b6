"""PyTorch layers and network of section 5: lifting, argmax, projected beliefs, fusion, stages."""

from .argmax import BeliefArgmax
from .beliefs import Fusion, ProjectedBeliefs, render_gaussians
from .lifting import LiftingLayer, TorchLifted
from .network import LIFTING_MODES, LiftingNetwork, stage_losses
from .stages import BeliefStage, CpmFeatures, FirstStage, ImageFeatures

__all__ = ["LiftingLayer", "TorchLifted", "BeliefArgmax", "ProjectedBeliefs", "Fusion", "render_gaussians",
           "LiftingNetwork", "LIFTING_MODES", "stage_losses", "CpmFeatures", "ImageFeatures", "FirstStage",
           "BeliefStage"]
