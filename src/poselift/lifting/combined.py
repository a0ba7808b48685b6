"""The combined lifter: the learned lifter proposes, the prior of section 4 decides.

The learned lifter (:mod:`poselift.lifting.learned`) is good at what a single 2D pose leaves
open (which way a limb points in depth, how the body leans) but its answer need not project
onto the 2D joints, and nothing keeps it to plausible poses. The prior lifter (section 5.3)
explains the 2D under the mixture of PPCA but has to guess the depth from the prior alone.
Here the learned pose enters eq. 4 as a Gaussian term on the 3D pose
(:meth:`poselift.lifting.Lifter.lift` with ``guide``): every component and angle is searched
as in the paper, and the coefficients now balance the 2D residual, the PPCA prior and the
distance from the learned pose. The answer is a pose of the prior's model that explains the
2D joints, pulled towards the learned lifter's reading of their depth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..prior.model import PosePrior
from ..skeleton import H36M17
from .learned import LearnedLifter
from .lifter import DEFAULT_GUIDE_WEIGHT, Lifted, Lifter

__all__ = ["CombinedLifter"]


class CombinedLifter:
    """Lifts Human3.6M-17 pixel points with the learned lifter's pose as a term of eq. 4.

    Args:
        prior: the pose prior (default: the shipped one); it must model Human3.6M-17.
        learned: a :class:`~poselift.lifting.learned.LearnedLifter`, or the path of its
            weights (default: the shipped ones).
        guide_weight: weight of the 3D term (:data:`~poselift.lifting.lifter.DEFAULT_GUIDE_WEIGHT`).
        **lifter_options: passed to :class:`~poselift.lifting.Lifter` (angles, refine,
            camera_rotation, regularization, scale_prior).

    Raises:
        ValueError: a prior of another joint set, or a bad weight.
    """

    def __init__(self, prior: PosePrior | None = None, learned: LearnedLifter | str | Path | None = None,
                 guide_weight: float = DEFAULT_GUIDE_WEIGHT, **lifter_options) -> None:
        prior = PosePrior.default() if prior is None else prior
        if prior.joint_set.name != H36M17.name:
            raise ValueError(f"the combined lifter needs a prior of {H36M17.name} joints, not {prior.joint_set.name}")
        if not guide_weight > 0 or not np.isfinite(guide_weight):
            raise ValueError(f"guide_weight must be positive and finite, got {guide_weight}")
        self.prior_lifter = Lifter(prior, **lifter_options)
        self.learned = learned if isinstance(learned, LearnedLifter) else LearnedLifter(learned)
        self.guide_weight = float(guide_weight)

    @property
    def path(self) -> Path:
        """The learned lifter's weights file."""
        return self.learned.path

    def guide(self, points_2d: np.ndarray, weights: np.ndarray | None = None,
              camera: tuple[float, np.ndarray] | None = None) -> np.ndarray:
        """The learned lifter's (..., 17, 3) mm poses in the prior lifter's view frame (E applied);
        ``camera``: focal length and principal point, pixels, where known."""
        return self.learned.lift(points_2d, weights, camera=camera).pose_3d

    def problems(self, points: np.ndarray, weights: np.ndarray) -> list[str | None]:
        """Why each of (n, 17, 2) pixel poses with (n, 17) weights cannot be lifted by both
        lifters, or None (the prior lifter's reason first: it looks at every joint)."""
        return [prior or learned for prior, learned in zip(self.prior_lifter.problems(points, weights),
                                                           self.learned.problems(points, weights))]

    def lift(self, points_2d: np.ndarray, weights: np.ndarray | None = None,
             height_mm: float | None = None, hypotheses: int | None = None) -> Lifted:
        """Lift (..., 17, 2) pixel points under weak perspective; see :meth:`poselift.lifting.Lifter.lift`.

        Raises:
            ValueError: what either lifter refuses (the learned one needs 6 of the 12 limb joints).
        """
        return self.prior_lifter.lift(points_2d, weights, height_mm, self.guide(points_2d, weights),
                                      self.guide_weight, hypotheses)

    def lift_perspective(self, points_2d: np.ndarray, focal_px: float, principal_px: np.ndarray,
                         weights: np.ndarray | None = None, iterations: int = 1,
                         height_mm: float | None = None, hypotheses: int | None = None) -> Lifted:
        """As :meth:`poselift.lifting.Lifter.lift_perspective`, with the learned pose as a term."""
        return self.prior_lifter.lift_perspective(points_2d, focal_px, principal_px, weights, iterations,
                                                  height_mm, self.guide(points_2d, weights, (focal_px, principal_px)),
                                                  self.guide_weight,
                                                  hypotheses)
