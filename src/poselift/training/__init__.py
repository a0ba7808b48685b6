"""Training the learned stages on top of BlazePose (section 5), with 2D labels only."""

from .data import Examples, build_examples, load_examples, save_examples
from .loop import BlazePoseStages, TrainSettings, evaluate_stages, load_stages, train

__all__ = ["Examples", "build_examples", "load_examples", "save_examples", "BlazePoseStages", "TrainSettings",
           "evaluate_stages", "load_stages", "train"]
