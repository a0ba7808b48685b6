"""Section 4: the probabilistic 3D human pose model (a mixture of PPCA over aligned poses)."""

from .fit import FitReport, fit_prior
from .model import PosePrior

__all__ = ["PosePrior", "fit_prior", "FitReport"]
