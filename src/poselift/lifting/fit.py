"""What a lift of section 5.3 holds for each pose: the fit of eq. 4 (:class:`PoseFit`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PoseFit"]


@dataclass(frozen=True)
class PoseFit:
    """The fit of eq. 4 to a batch of 2D poses; every field has the batch shape ``(...)`` first.

    Attributes:
        pose_3d: (..., L, 3) millimetres, relative to the root joint, in the prior's frame
            (y up, z towards the camera) turned by ``angle``: as the camera sees the body.
        angle: (...) ground-plane rotation in radians, in [-pi, pi).
        scale: (...) pixels per model unit (the ``s`` of eq. 4).
        translation: (..., 2) pixels added after projection.
        coefficients: (..., J) basis coefficients ``a`` of the chosen component.
        component: (...) index of the mixture component chosen.
        residual: (...) weighted squared 2D error of the fit, pixels^2.
        cost: (...) eq. 4 at the optimum (residual plus prior term), pixels^2.
        projected_2d: (..., L, 2) eq. 5: the 3D pose projected back into the image, pixels.
    """

    pose_3d: np.ndarray
    angle: np.ndarray
    scale: np.ndarray
    translation: np.ndarray
    coefficients: np.ndarray
    component: np.ndarray
    residual: np.ndarray
    cost: np.ndarray
    projected_2d: np.ndarray
