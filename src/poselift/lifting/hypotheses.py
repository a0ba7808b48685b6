"""Several 3D poses for one 2D pose, their probabilities, and per-joint uncertainty (not in the paper).

A 2D pose fits several 3D poses: a body leaning towards or away from the camera, a limb in
front of or behind the body. Section 5.3's search already solves eq. 4 at every component
and angle; its local minima over the angles (:func:`.candidates.local_minima`), each refined
on the fine angles, are the hypotheses here.

* **Distinct**: hypotheses are taken in order of cost, and one whose 3D pose lies within
  :data:`SEPARATION_MM` (mean per-joint distance, root-relative) of one already taken is
  dropped: neighbouring minima that refine to the same pose count once.
* **Probability**: eq. 4's cost is a negative log posterior up to a factor: with 2D noise of
  variance ``sigma^2`` it is ``cost / (2 sigma^2)``. Measured in units of the pose's own 2D
  size (the cost divided by the weighted mean squared distance of the 2D joints from their
  centre: ``relative_cost``, the same for a person near or far), ``p_h = exp(-c_h / T) /
  sum_i exp(-c_i / T)`` over the hypotheses returned, with the temperature ``T`` fitted on the
  validation subject S8 by maximum likelihood of which hypothesis lies nearest the truth.
* **Uncertainty**: given its component and angle, a hypothesis is ridge regression in
  ``z = (s, s a)``; with noise of variance ``sigma^2`` the posterior covariance of ``z`` is
  ``sigma^2 G^-1`` (``G``: eq. 4's normal matrix in the same units, :mod:`.tables`). The noise
  is not known, so, as in regression with unknown variance, it is read from the fit itself:
  ``sigma^2 = c * relative_cost`` (a pose the prior explains badly is uncertain), with ``c``
  fitted on S8 by maximum likelihood of the joints' true positions. It is carried to
  ``a = z_{1:} / s`` to first order, and to each joint by the (linear) map from ``a`` to the
  joint's root-relative position in mm. The covariance reported for a frame is the second
  moment about its most probable pose of the mixture of hypotheses: ``sum_h p_h (C_h + d_h
  d_h^T)``, ``d_h`` the joint's offset from the most probable hypothesis.

``T`` and ``c`` depend on the lifter (a guide pose, :mod:`.combined`, narrows both), so
:data:`CALIBRATIONS` holds a pair for each; ``python benchmarks/hypotheses.py --fit`` fits
them (docs/hypotheses.md gives the run).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..geometry import rotate_about_up
from .candidates import Candidates
from .fit import PoseFit

__all__ = ["Calibration", "CALIBRATIONS", "MAX_HYPOTHESES", "SEPARATION_MM", "SEEDS_PER_HYPOTHESIS", "Hypotheses",
           "check_request", "hypotheses_of", "probabilities"]


@dataclass(frozen=True)
class Calibration:
    """The two numbers fitted on S8 (see the module text): the temperature ``T`` of the
    probabilities (in units of the pose's squared 2D size) and the factor ``c`` of the noise
    variance ``c * relative_cost`` (a pure number)."""

    temperature: float
    covariance_scale: float


CALIBRATIONS = {"prior": Calibration(0.1220, 0.1522), "guided": Calibration(0.3826, 0.2017)}
"""The :class:`Calibration` of the prior's search alone and of the search with a guide pose
(the combined lifter), fitted on S8's Stacked-Hourglass detections, every 25th frame of
protocol #1, 10,400 poses, through a prior fitted like the shipped one but without S8, so
that S8's errors are those of people the prior has not seen (``make validation-prior``;
``python benchmarks/hypotheses.py --fit --prior runs/prior_noS8.npz``;
benchmarks/results/hypotheses_calibration.json)."""

MAX_HYPOTHESES = 10
"""The most hypotheses a pose may be asked for (the CLI's bound)."""

SEPARATION_MM = 20.0
"""No two hypotheses of a pose lie closer than this mean per-joint distance (root-relative)."""

SEEDS_PER_HYPOTHESIS = 3
"""Local minima refined per hypothesis asked for (several refine to one pose)."""


@dataclass(frozen=True)
class Hypotheses(PoseFit):
    """Up to H hypotheses per pose, most probable first: each one's fit (the fields of
    :class:`~poselift.lifting.fit.PoseFit` with the hypothesis axis after the batch:
    ``pose_3d`` (..., H, L, 3) mm, ``cost`` (..., H) pixels^2, ...), and

    Slots past a pose's ``count`` hold NaN (-1 for ``component``) and probability 0.

    Attributes:
        relative_cost: (..., H) ``cost`` over the pose's weighted mean squared 2D spread: what
            the probabilities come from.
        probability: (..., H) posterior probability; the valid ones sum to 1.
        count: (...) hypotheses found (at least 1).
        joint_covariance: (..., L, 3, 3) mm^2, each joint's covariance about the most probable
            pose (root-relative, so the root's is 0).
        joint_sd: (..., L) mm, ``sqrt(trace / 3)`` of it: the root-mean-square standard
            deviation over the three axes.
    """

    relative_cost: np.ndarray
    probability: np.ndarray
    count: np.ndarray
    joint_covariance: np.ndarray
    joint_sd: np.ndarray

    def turned(self, turn: np.ndarray, back: np.ndarray, centre: np.ndarray) -> "Hypotheses":
        """The same hypotheses seen in a frame turned about the viewing axis: 3D by ``turn``
        (3, 3), 2D by ``back`` (2, 2) then moved to ``centre`` (2,) pixels
        (:func:`~poselift.lifting.frames.lift_upright`)."""
        return replace(self, pose_3d=self.pose_3d @ turn.T, projected_2d=self.projected_2d @ back.T + centre,
                       translation=self.translation @ back.T + centre,
                       joint_covariance=turn @ self.joint_covariance @ turn.T)

    def fields(self, row: int | None = None) -> dict:
        """One pose's hypotheses for a JSON output (docs/output-format.md): ``hypotheses``, a
        list, most probable first, of ``probability``, ``relative_cost``, ``angle_deg``,
        ``component``, ``joints_3d_mm`` and ``projected_2d_px``; ``joint_sd_mm`` (L,) and
        ``joint_covariance_mm2`` (L, 3, 3). ``row`` picks a pose of a batch."""
        from ..files import rounded

        one = self if row is None else Hypotheses(**{f.name: getattr(self, f.name)[row] for f in fields(self)})
        listed = [{"probability": rounded(one.probability[h], "fraction"),
                   "relative_cost": rounded(one.relative_cost[h], "relative"),
                   "angle_deg": rounded(np.degrees(one.angle[h]), "deg"), "component": int(one.component[h]),
                   "joints_3d_mm": rounded(one.pose_3d[h], "mm"), "projected_2d_px": rounded(one.projected_2d[h], "px")}
                  for h in range(int(one.count))]
        return {"hypotheses": listed, "joint_sd_mm": rounded(one.joint_sd, "mm"),
                "joint_covariance_mm2": rounded(one.joint_covariance, "mm2")}

    def reshaped(self, batch: tuple) -> "Hypotheses":
        """The same hypotheses with the flat leading axis (n,) as the batch shape ``batch``."""
        return Hypotheses(**{f.name: getattr(self, f.name).reshape(batch + getattr(self, f.name).shape[1:])
                             for f in fields(self)})


def check_request(count, lifter: str = "prior") -> None:
    """Refuse ``count`` hypotheses (None: none asked for) that is not a whole number of at
    least 1, or that is asked of the learned lifter (``lifter``, a name of
    :data:`~poselift.lifting.choice.LIFTERS`), which gives one pose.

    Raises:
        ValueError: saying which.
    """
    if count is None:
        return
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"hypotheses must be a whole number of at least 1, got {count!r}")
    if lifter == "learned":
        raise ValueError("hypotheses come from the prior's search: use the prior or combined lifter (--lifter "
                         "combined); the learned lifter gives one pose")


def probabilities(cost: np.ndarray, temperature: float) -> np.ndarray:
    """(n, H) probabilities of hypotheses from (n, H) relative costs (inf: none) at ``temperature``."""
    lowest = np.min(cost, axis=1, keepdims=True)
    weight = np.where(np.isfinite(cost), np.exp(-(np.where(np.isfinite(cost), cost, lowest) - lowest) / temperature),
                      0.0)
    return weight / weight.sum(axis=1, keepdims=True)


def hypotheses_of(fits: dict[str, np.ndarray], found: Candidates, prior, millimetres_per_unit: float,
                  count: int, calibration: Calibration) -> Hypotheses:
    """Up to ``count`` distinct hypotheses per frame from solved candidates.

    Args:
        fits: the :class:`~poselift.lifting.Lifted` fields of the n H candidates, flat (n H, ...),
            NaN (or -1) where a candidate is missing; ``cost`` in pixels^2.
        found: the (n, H) candidates, with ``gram_inverse``, in unit-spread units.
        prior: the :class:`~poselift.prior.PosePrior` they were solved under.
        millimetres_per_unit: the poses' scale (:meth:`~poselift.prior.PosePrior.millimetres_per_unit`).
        count: hypotheses per frame (>= 1).
        calibration: the temperature and covariance scale.
    """
    n, per_frame = found.cost.shape
    fits = {name: value.reshape((n, per_frame) + value.shape[1:]) for name, value in fits.items()}
    chosen = _distinct(fits["pose_3d"], found.cost, count)  # (n, count), -1 padded
    rows = np.arange(n)[:, None]
    taken = np.maximum(chosen, 0)
    present = chosen >= 0
    picked = {name: np.where(present.reshape(present.shape + (1,) * (value.ndim - 2)), value[rows, taken],
                             -1 if np.issubdtype(value.dtype, np.integer) else np.nan)
              for name, value in fits.items()}
    unit_cost = np.where(present, found.cost[rows, taken], np.inf)
    probability = probabilities(unit_cost, calibration.temperature)
    noise = calibration.covariance_scale * np.where(present, unit_cost, 0.0)  # sigma^2, unit-spread units
    own = _joint_covariances(prior, millimetres_per_unit, picked["component"], picked["angle"],
                             found.z[rows, taken], noise[..., None, None] * found.gram_inverse[rows, taken])
    offset = picked["pose_3d"] - picked["pose_3d"][:, :1]  # (n, count, L, 3)
    spread = own + offset[..., :, None] * offset[..., None, :]
    covariance = np.einsum("nh,nhlcd->nlcd", probability, np.where(present[..., None, None, None], spread, 0.0))
    return Hypotheses(**picked, relative_cost=np.where(present, unit_cost, np.nan), probability=probability,
                      count=present.sum(axis=1), joint_covariance=covariance,
                      joint_sd=np.sqrt(np.trace(covariance, axis1=-2, axis2=-1) / 3))


def _distinct(poses: np.ndarray, cost: np.ndarray, count: int) -> np.ndarray:
    """(n, count) indices into the H candidates (n, H, L, 3) mm of each frame, -1 padded: in
    order of cost (n, H), skipping one within :data:`SEPARATION_MM` of one taken."""
    n = len(cost)
    order = np.argsort(cost, axis=1, kind="stable")
    chosen = np.full((n, count), -1)
    taken = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    for rank in range(cost.shape[1]):
        candidate = order[:, rank]
        ok = np.isfinite(cost[rows, candidate]) & (taken < count)
        for slot in range(count):
            has = chosen[:, slot] >= 0
            other = poses[rows, np.maximum(chosen[:, slot], 0)]
            distance = np.linalg.norm(poses[rows, candidate] - other, axis=-1).mean(axis=-1)
            ok &= ~(has & ~(distance >= SEPARATION_MM))
        chosen[rows[ok], taken[ok]] = candidate[ok]
        taken += ok
    return chosen


def _joint_covariances(prior, millimetres_per_unit: float, component: np.ndarray, angle: np.ndarray,
                       z: np.ndarray, z_covariance: np.ndarray) -> np.ndarray:
    """(..., L, 3, 3) mm^2 joint covariances of hypotheses (...) (component -1: zeros) from
    the covariance (..., J+1, J+1) of their solutions z (..., J+1) = (s, s a)."""
    present = component >= 0
    k = np.maximum(component, 0)
    s = np.where(present, z[..., 0], 1.0)
    coefficients = z[..., 1:] / s[..., None]
    # a = z_{1:} / s to first order: da = (dz_{1:} - a ds) / s
    jacobian = np.concatenate([-coefficients[..., None], np.broadcast_to(np.eye(z.shape[-1] - 1),
                                                                        coefficients.shape + (z.shape[-1] - 1,))],
                              axis=-1) / s[..., None, None]
    a_covariance = jacobian @ np.where(present[..., None, None], z_covariance, 0.0) @ np.swapaxes(jacobian, -1, -2)
    basis = rotate_about_up(prior.bases[k], np.where(present, angle, 0.0)[..., None])  # (..., J, L, 3)
    root = prior.joint_set.parents.index(-1)
    basis = millimetres_per_unit * (basis - basis[..., root:root + 1, :])
    carried = (a_covariance @ basis.reshape(basis.shape[:-2] + (-1,))).reshape(basis.shape)  # (..., J, L, 3)
    return np.einsum("...jlc,...jld->...lcd", basis, carried, optimize=True)
