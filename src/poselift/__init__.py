"""poselift: 3D human pose from a single photo, after "Lifting from the Deep" (Tome et al., CVPR 2017)."""

from .prior import PosePrior, fit_prior
from .skeleton import BLAZEPOSE33, H36M17, LSP14, SH16, JointSet

__version__ = "0.1.0"

__all__ = ["Estimator", "PosePrior", "fit_prior", "JointSet", "H36M17", "LSP14", "SH16", "BLAZEPOSE33",
           "__version__"]


def __getattr__(name: str):
    # the photo pipeline pulls in OpenCV, Pillow and the TFLite runtime: load it on first use
    if name == "Estimator":
        from .estimator import Estimator

        return Estimator
    raise AttributeError(f"module 'poselift' has no attribute {name!r}")
