"""Fitting the pose prior to motion capture: sections 4, 4.1 and 4.2 end to end."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..geometry import mirror
from ..skeleton import JointSet, get_joint_set
from .alignment import AlignmentResult, align_poses, unrotate
from .model import PosePrior, to_model_space
from .ppca import MixtureFit, fit_mixture_ppca
from .seeding import greedy_seeds, nearest_seed

__all__ = ["DEFAULT_COMPONENTS", "DEFAULT_BASIS", "SEED_SUBSAMPLE", "FitReport", "fit_prior"]

DEFAULT_COMPONENTS = 3
"""Mixture components of the shipped prior (the paper's 3; see README for the comparison)."""

DEFAULT_BASIS = 16
"""Basis size J of every component (chosen by lifting accuracy on a validation subject; see README)."""

ALIGNMENT_FINAL_SWEEPS = 3
"""Rotation/PPCA alternations of section 4.1 once the basis has its full size."""

SEED_SUBSAMPLE = 4000
"""Aligned poses among which section 4.2's greedy seeding runs (its cost is quadratic)."""


@dataclass(frozen=True)
class FitReport:
    """What :func:`fit_prior` did: the prior and the logs of each stage.

    Attributes:
        prior: the fitted :class:`PosePrior`.
        alignment: section 4.1's result (angles of every training pose, objective log).
        mixture: section 4.2's EM result (log-likelihood log).
        seconds: wall time of each stage.
    """

    prior: PosePrior
    alignment: AlignmentResult
    mixture: MixtureFit
    seconds: dict


def fit_prior(poses_world: np.ndarray, joint_set: str | JointSet = "h36m17", n_components: int = DEFAULT_COMPONENTS,
              n_basis: int = DEFAULT_BASIS, add_mirrored: bool = True, min_separation: float | None = None,
              em_iterations: int = 50, seed: int = 0, training_data: str = "unspecified",
              progress: bool = False) -> FitReport:
    """Fit a :class:`PosePrior` to 3D poses.

    Args:
        poses_world: (N, L, 3) poses in world millimetres, z up.
        joint_set: the joint set of ``poses_world`` (default H36M-17).
        n_components: K, the most mixture components; section 4.2's seeding may choose
            fewer when candidates come too close (the report's prior says how many).
        n_basis: J, the basis size of each component.
        add_mirrored: add left/right mirrored copies (section 4).
        min_separation: seeding's stop distance (model-space units); default
            :data:`poselift.prior.seeding.MIN_SEPARATION` x the median seed distance.
        em_iterations: most EM iterations for the mixture.
        seed: random seed of the seeding subsample.
        training_data: a description stored in the prior's metadata.
        progress: show progress bars on stderr.

    Returns:
        A :class:`FitReport`.

    Raises:
        ValueError: NaN, wrong shape, an unknown joint set, too few poses for the basis.
    """
    joint_set = get_joint_set(joint_set)
    if n_components < 1 or n_basis < 1:
        raise ValueError(f"need at least one component and one basis vector, got {n_components} and {n_basis}")
    poses, sizes = to_model_space(poses_world, joint_set)
    if poses.ndim != 3:
        raise ValueError(f"poses must be a stack (N, {len(joint_set)}, 3), got {poses.shape}")
    dim = 3 * len(joint_set) - 3
    if n_basis >= dim:
        raise ValueError(f"basis size {n_basis} must be below the pose dimension {dim}")
    if len(poses) <= n_basis * n_components:
        raise ValueError(f"{len(poses)} poses are too few for {n_components} components of basis {n_basis}: "
                         f"need more than {n_basis * n_components}")
    if add_mirrored:
        poses = np.concatenate([poses, mirror(poses, joint_set)])
    seconds = {}

    t0 = time.perf_counter()
    sweeps = n_basis - 1 + ALIGNMENT_FINAL_SWEEPS
    with tqdm(total=sweeps, desc="aligning (4.1)", disable=not progress, unit="sweep") as bar:
        def on_sweep(size, objective):
            bar.set_postfix(basis=size, nll=f"{objective:.2f}")
            bar.update()
        alignment = align_poses(poses, n_basis, dim=dim, final_sweeps=ALIGNMENT_FINAL_SWEEPS, progress=on_sweep)
    aligned = unrotate(poses, alignment.angles).reshape(len(poses), -1)
    seconds["alignment"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    subsample = aligned[rng.choice(len(aligned), size=min(SEED_SUBSAMPLE, len(aligned)), replace=False)]
    seeds = subsample[greedy_seeds(subsample, n_components, min_separation)]
    assignment = nearest_seed(aligned, seeds)
    seconds["seeding"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with tqdm(total=em_iterations, desc="mixture EM (4.2)", disable=not progress, unit="iter") as bar:
        def on_iteration(_, log_likelihood):
            bar.set_postfix(loglik=f"{log_likelihood:.3f}")
            bar.update()
        mixture = fit_mixture_ppca(aligned, assignment, n_basis, dim=dim, max_iter=em_iterations,
                                   progress=on_iteration)
    seconds["mixture"] = time.perf_counter() - t0

    order = np.argsort(mixture.weights)[::-1]
    comps = [mixture.components[k] for k in order]
    num_joints = len(joint_set)
    prior = PosePrior(
        joint_set=joint_set,
        means=np.stack([c.mean.reshape(num_joints, 3) for c in comps]),
        bases=np.stack([c.basis.reshape(n_basis, num_joints, 3) for c in comps]),
        variances=np.stack([c.variances for c in comps]),
        noise=np.array([c.noise for c in comps]),
        weights=mixture.weights[order],
        size_mm=float(sizes.mean()),
        metadata={
            "training_data": training_data,
            "training_poses": int(len(sizes)),
            "mirrored": bool(add_mirrored),
            "requested_components": int(n_components),
            "n_basis": int(n_basis),
            "em_iterations": len(mixture.log_likelihood),
            "final_log_likelihood": mixture.log_likelihood[-1],
            "seed": int(seed),
        },
    )
    return FitReport(prior, alignment, mixture, seconds)
