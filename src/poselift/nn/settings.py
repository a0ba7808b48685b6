"""What defines a trained network and its training run, with each configuration's defaults.

* ``blazepose``: stage 1 is BlazePose's frozen belief maps of a 256-pixel crop (64x64 maps);
  the learned stages see features of the crop shrunk to 128 pixels. Small residual stages.
* ``cpm``: the paper's network from the image (section 5.1, after Convolutional Pose
  Machines): a 368x368 crop, CPM's VGG trunk, 6 stages of CPM's widths, 46x46 maps, every
  stage learned and supervised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..beliefs import DEFAULT_SIGMA
from .network import LIFTING_MODES

__all__ = ["CONFIGS", "OPTIMIZERS", "TrainSettings"]

CONFIGS = ("blazepose", "cpm")
OPTIMIZERS = ("sgd", "adam")

_CPM_DEFAULTS = dict(
    stages=6, width=128, kernel=7, depth=5, residual=False, input_size=368, sigma=1.0, fusion_initial=0.5,
    flip=True, optimizer="sgd", fusion_lr_factor=1.0,
    # CPM's SGD rate 8e-6 was for caffe's loss, half the squared error summed over all J + 1
    # maps; eq. 8 here is averaged over the maps, so the same step is 8e-6 * (14 + 1) / 2.
    learning_rate=6e-5, epochs=100,
)


@dataclass
class TrainSettings:
    """Everything that defines a training run (stored in checkpoints and in the weights file).

    The field defaults are the ``blazepose`` configuration's; :meth:`defaults` gives either's.

    Attributes:
        config: one of :data:`CONFIGS`.
        stages: T, counting stage 1 (BlazePose's maps in ``blazepose``).
        lifting: one of :data:`poselift.nn.network.LIFTING_MODES`.
        width, kernel, depth, residual: shape of the learned stages
            (:class:`~poselift.nn.stages.BeliefStage`); ``width`` also sets the image trunk's.
        input_size: side of the crop the network sees, in pixels (``cpm``; ``blazepose``
            always sees a 128-pixel crop).
        sigma: width of the target and projected Gaussians, in map cells.
        fusion_initial: starting w of every fusion layer (eq. 7).
        fusion_lr_factor: the fusion weights learn at this multiple of ``learning_rate``.
        flip: mirror each example left/right with probability 1/2, swapping the sides' labels.
        unlabelled_joints: joints no training example labels (LSP has no nose): every stage
            passes their maps through (see :class:`~poselift.nn.network.LiftingNetwork`).
        epochs, batch_size, optimizer, learning_rate, momentum, weight_decay, seed: the
            optimisation.
    """

    config: str = "blazepose"
    stages: int = 3
    lifting: str = "forward"
    width: int = 32
    kernel: int = 5
    depth: int = 3
    residual: bool = True
    input_size: int = 128
    sigma: float = DEFAULT_SIGMA
    fusion_initial: float = 0.8
    fusion_lr_factor: float = 100.0
    flip: bool = False
    unlabelled_joints: tuple[str, ...] = ()
    epochs: int = 3
    batch_size: int = 16
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0

    @classmethod
    def defaults(cls, config: str, **overrides) -> "TrainSettings":
        """The settings of ``config`` with ``overrides`` (``None`` values are ignored).

        Raises:
            ValueError: an unknown configuration or setting.
        """
        if config not in CONFIGS:
            raise ValueError(f"config must be one of {CONFIGS}, got {config!r}")
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        base = _CPM_DEFAULTS if config == "cpm" else {}
        return cls(**{**base, "config": config, **{k: v for k, v in overrides.items() if v is not None}})

    def __post_init__(self) -> None:
        self.unlabelled_joints = tuple(self.unlabelled_joints)  # a list when read back from a file

    def check(self) -> None:
        """ValueError naming the first bad setting."""
        if self.config not in CONFIGS:
            raise ValueError(f"config must be one of {CONFIGS}, got {self.config!r}")
        if self.lifting not in LIFTING_MODES:
            raise ValueError(f"lifting must be one of {LIFTING_MODES}, got {self.lifting!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("stages", "width", "kernel", "depth", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.stages < 2:
            raise ValueError(f"stages counts the first (BlazePose's in blazepose): need at least 2, got {self.stages}")
        if self.config == "cpm" and (self.input_size < 32 or self.input_size % 8):
            raise ValueError(f"input_size must be a multiple of 8 and at least 32, got {self.input_size}")
        if self.config == "blazepose" and self.input_size != 128:
            raise ValueError(f"the blazepose configuration sees 128-pixel crops, got input_size {self.input_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not self.fusion_lr_factor > 0:
            raise ValueError(f"fusion_lr_factor must be positive, got {self.fusion_lr_factor}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")

    def same_run(self, other: "TrainSettings") -> bool:
        """Whether a checkpoint of ``other`` may be resumed with these settings (only the
        epoch budget may differ)."""
        return {**asdict(other), "epochs": self.epochs} == asdict(self)
