"""poselift: 3D human pose from a single photo, after "Lifting from the Deep" (Tome et al., CVPR 2017)."""

from .prior import PosePrior, fit_prior
from .skeleton import BLAZEPOSE33, H36M17, LSP14, SH16, JointSet

__version__ = "0.1.0"

__all__ = ["PosePrior", "fit_prior", "JointSet", "H36M17", "LSP14", "SH16", "BLAZEPOSE33", "__version__"]
