"""Training the network of section 5 with 2D labels only: on top of BlazePose, or CPM from the image.

The networks themselves, their settings and their loading live in :mod:`poselift.nn`, so
that inference never imports this package.
"""

from ..nn.models import BlazePoseStages, CpmNetwork, build_model, load_stages
from ..nn.settings import CONFIGS, TrainSettings
from .data import ExampleDataset, Examples, build_examples, load_examples, save_examples
from .loop import evaluate_stages, train
from .photos import LabelledPhotos, PhotoCrops, lsp_photos

__all__ = ["Examples", "ExampleDataset", "build_examples", "load_examples", "save_examples", "evaluate_stages",
           "load_stages", "train", "BlazePoseStages", "CpmNetwork", "build_model", "LabelledPhotos", "PhotoCrops",
           "lsp_photos", "CONFIGS", "TrainSettings"]
