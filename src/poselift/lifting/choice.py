"""Which lifter: the paper's, the learned one, or the two combined, by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import rounded
from ..prior.model import PosePrior
from .combined import CombinedLifter
from .learned import LearnedLift, LearnedLifter
from .lifter import Lifted, Lifter

__all__ = ["LIFTERS", "DEFAULT_LIFTER", "build_lifter", "lifter_settings", "lift_diagnostics"]

LIFTERS = ("prior", "learned", "combined")
"""The lifters by name: section 5.3 under the prior (:class:`~poselift.lifting.Lifter`), the
network trained on mocap alone (:class:`~poselift.lifting.learned.LearnedLifter`), and the
prior's search with the network's pose as a term of eq. 4
(:class:`~poselift.lifting.combined.CombinedLifter`)."""

DEFAULT_LIFTER = "learned"
"""The lifter used unless another is asked for: the one with the lowest protocol #1 error on
the validation subject S8, summed over ground-truth 2D and Stacked-Hourglass detections, with
the prior and the combined lifter measured through a prior fitted without S8 (the shipped
prior has seen S8's poses; docs/learned-lifter.md)."""


def build_lifter(kind: str, prior: PosePrior | None = None, weights: str | Path | None = None,
                 **lifter_options) -> Lifter | LearnedLifter | CombinedLifter:
    """The lifter called ``kind`` (one of :data:`LIFTERS`).

    Args:
        prior: the pose prior of ``prior`` and ``combined`` (default: the shipped one).
        weights: the learned lifter's weights file of ``learned`` and ``combined`` (default:
            the shipped one).
        **lifter_options: passed to :class:`~poselift.lifting.Lifter` (``prior``, ``combined``).

    Raises:
        ValueError: an unknown kind, or options the kind does not take.
    """
    if kind not in LIFTERS:
        raise ValueError(f"lifter must be one of {', '.join(LIFTERS)}, got {kind!r}")
    if kind == "learned":
        if lifter_options:
            raise ValueError(f"the learned lifter takes no {', '.join(sorted(lifter_options))}")
        return LearnedLifter(weights)
    if kind == "combined":
        return CombinedLifter(prior, weights, **lifter_options)
    if weights is not None:
        raise ValueError("the prior lifter takes no learned weights")
    return Lifter(PosePrior.default() if prior is None else prior, **lifter_options)


def lifter_settings(lifter: Lifter | LearnedLifter | CombinedLifter) -> dict:
    """What an output records of the lifter: ``lifter`` (its name in :data:`LIFTERS`),
    ``lifter_weights`` (the learned weights file or None) and ``guide_weight`` (the combined
    lifter's, or None)."""
    if isinstance(lifter, Lifter):
        return {"lifter": "prior", "lifter_weights": None, "guide_weight": None}
    guide = lifter.guide_weight if isinstance(lifter, CombinedLifter) else None
    return {"lifter": "combined" if guide is not None else "learned", "lifter_weights": str(lifter.path),
            "guide_weight": guide}


def lift_diagnostics(lifted: Lifted | LearnedLift, row: int | None = None) -> dict:
    """One pose's fit, rounded for output: ``residual_px2`` always; ``angle_deg``, ``component``
    and ``scale_px_per_unit`` from the prior's search (prior and combined lifters);
    ``scale_px_per_mm`` from the learned lifter's fitted camera. ``row`` picks a pose of a batch."""

    def at(values: np.ndarray):
        return values if row is None else values[row]

    residual = {"residual_px2": rounded(at(lifted.residual), "px2")}
    if isinstance(lifted, LearnedLift):
        return {"scale_px_per_mm": rounded(at(lifted.scale), "scale"), **residual}
    return {"angle_deg": rounded(np.degrees(at(lifted.angle)), "deg"), "component": int(at(lifted.component)),
            "scale_px_per_unit": rounded(at(lifted.scale), "scale"), **residual}
