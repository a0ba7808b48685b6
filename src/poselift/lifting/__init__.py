"""Section 5.3: lifting 2D joints to the most probable 3D pose under the prior.

* :mod:`.lifter`: the public :class:`Lifter`, :func:`lift` and :class:`Lifted`, and the checks of their input;
* :mod:`.fit`: what a lift holds per pose (:class:`~.fit.PoseFit`);
* :mod:`.tables`: the search tables of one weight pattern (the fast path);
* :mod:`.individual`: the search for poses with weights of their own;
* :mod:`.kernels`: the compiled kernels both searches run on (numba);
* :mod:`.candidates`: solved candidates, several a frame, and the local minima that seed them;
* :mod:`.hypotheses`: several hypotheses per pose, their probabilities and per-joint uncertainty;
* :mod:`.frames`: lifting tilted people in frames turned about the viewing axis;
* :mod:`.reference`: the plain twin, one least-squares solve at a time, for tests and benchmarks.
"""

from .frames import lift_upright
from .lifter import (
    DEFAULT_ANGLES,
    DEFAULT_REGULARIZATION,
    MIN_VISIBLE_JOINTS,
    REFINE_STEPS,
    SCALE_PRIOR,
    Lifted,
    Lifter,
    lift,
)

__all__ = ["DEFAULT_ANGLES", "REFINE_STEPS", "DEFAULT_REGULARIZATION", "SCALE_PRIOR", "MIN_VISIBLE_JOINTS", "Lifted",
           "Lifter", "lift", "lift_upright"]
