"""poselift: 3D human pose from photos and 2D keypoints, after "Lifting from the Deep" (Tome et al., CVPR 2017).

The names here are the public API: ``Estimator`` (photo -> people with 2D and 3D poses),
``Lifter`` / ``lift`` (2D keypoints -> 3D under the prior, section 5.3), ``PosePrior`` /
``fit_prior`` (the 3D pose model of section 4), ``convert`` and the joint sets, ``draw``.
"""

from .lifting import Lifted, Lifter, lift
from .prior import PosePrior, fit_prior
from .skeleton import BLAZEPOSE33, H36M17, LSP14, SH16, JointSet, convert

__version__ = "0.1.0"

__all__ = ["Estimator", "Person", "Lifter", "lift", "Lifted", "PosePrior", "fit_prior", "convert", "draw", "JointSet",
           "H36M17", "LSP14", "SH16", "BLAZEPOSE33", "__version__"]

_LAZY = {"Estimator": "estimator", "Person": "estimator", "draw": "visualize"}
"""Names whose modules pull in OpenCV, the TFLite runtime or matplotlib: loaded on first use."""


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'poselift' has no attribute {name!r}")
