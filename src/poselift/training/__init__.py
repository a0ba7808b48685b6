"""Training the network of section 5 with 2D labels only: on top of BlazePose, or CPM from the image."""

from .data import Examples, ExampleDataset, build_examples, load_examples, save_examples
from .loop import evaluate_stages, load_stages, train
from .models import BlazePoseStages, CpmNetwork, build_model
from .photos import LabelledPhotos, PhotoCrops, lsp_photos
from .settings import CONFIGS, TrainSettings

__all__ = ["Examples", "ExampleDataset", "build_examples", "load_examples", "save_examples", "evaluate_stages",
           "load_stages", "train", "BlazePoseStages", "CpmNetwork", "build_model", "LabelledPhotos", "PhotoCrops",
           "lsp_photos", "CONFIGS", "TrainSettings"]
