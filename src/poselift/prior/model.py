"""The probabilistic 3D pose model of section 4: a mixture of PPCA over aligned poses.

Poses enter in the z-up world frame in millimetres, (..., L, 3). The model works on them in
its own space (:func:`to_model_space`): y up, centred on the mean of the joints, scaled so
the sum of squared limb lengths is one (section 4). Densities are taken there, after the
best rotation about the vertical axis for each component. Poses leave the model (means,
samples) in millimetres, y up, relative to the root joint, scaled by the training poses'
mean size.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from ..files import json_header, write_atomically
from ..geometry import normalise_size, prior_to_world, rotate_about_up, world_to_prior
from ..skeleton import JointSet, get_joint_set
from .alignment import best_yaw, unrotate
from .ppca import PPCA

__all__ = ["FORMAT_VERSION", "DEFAULT_PRIOR_PATH", "PosePrior", "to_model_space", "check_poses"]

FORMAT_VERSION = 2
"""Version of the ``.npz`` file written by :meth:`PosePrior.save` (2: the ``poselift.prior``
header; version 1 files, whose header said ``poselift-prior``, hold the same arrays and are read too)."""

HEIGHT_RANGE_MM = (300.0, 3000.0)
"""Heights (ankles to head top, mm) a pose may be sized for: from a toddler to past the tallest person measured."""

_FORMAT = json_header("prior", FORMAT_VERSION)["format"]
_READABLE = {(_FORMAT, FORMAT_VERSION), ("poselift-prior", 1)}  # (format, version) pairs load() reads

DEFAULT_PRIOR_PATH = Path(__file__).resolve().parents[1] / "models" / "h36m_prior.npz"
"""The shipped prior, fitted on Human3.6M S1, S5, S6, S7, S8 (``make prior`` re-creates it)."""

_ARRAYS = ("means", "bases", "variances", "noise", "weights")
_MAX_MEMBER_BYTES = 64 * 2**20  # a prior's arrays are a few MB: a larger member is not a prior (or a zip bomb)


def _read_archive(path: Path) -> tuple[object, dict[str, np.ndarray]]:
    """The decoded JSON header and the arrays of a prior file, each member's size checked before it is read.

    Raises:
        ValueError: not such an archive.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
        too_large = [name for name, size in sizes.items() if size > _MAX_MEMBER_BYTES]
        if too_large:
            raise ValueError(f"member {too_large[0]} holds more than {_MAX_MEMBER_BYTES // 2**20} MB")
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            arrays = {name: np.asarray(archive[name], dtype=np.float64) for name in _ARRAYS}
    except RecursionError:
        raise ValueError(f"{path}: not a poselift prior file (its header is nested too deep)") from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a poselift prior file ({type(err).__name__}: {err})") from None
    return header, arrays


def check_poses(poses: np.ndarray, joint_set: JointSet, what: str = "poses") -> np.ndarray:
    """Validate (..., L, 3) poses for ``joint_set``; ValueError saying what is wrong."""
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim < 2 or poses.shape[-2:] != (len(joint_set), 3):
        raise ValueError(f"{what} must have shape (..., {len(joint_set)}, 3) for {joint_set.name}, got {poses.shape}")
    if poses.size == 0:
        raise ValueError(f"{what} is empty")
    if not np.all(np.isfinite(poses)):
        raise ValueError(f"{what} holds NaN or infinite values")
    return poses


def to_model_space(poses_world: np.ndarray, joint_set: JointSet) -> tuple[np.ndarray, np.ndarray]:
    """World mm (..., L, 3), z up -> (normalised y-up poses (..., L, 3), sizes in mm (...))."""
    return normalise_size(world_to_prior(check_poses(poses_world, joint_set)), joint_set)


@dataclass(frozen=True)
class PosePrior:
    """A fitted mixture of PPCA over ground-plane-aligned 3D poses (section 4).

    Attributes:
        joint_set: the joints modelled.
        means: (K, L, 3) component means, model space.
        bases: (K, J, L, 3) orthonormal basis of each component (the ``e`` of eq. 1).
        variances: (K, J) variance of each basis coefficient.
        noise: (K,) isotropic noise variance of each component.
        weights: (K,) mixing proportions.
        size_mm: mean limb size (sqrt of the summed squared bone lengths) of the training
            poses, to express model-space poses in millimetres.
        metadata: what it was fitted on and how (JSON-serialisable).
    """

    joint_set: JointSet
    means: np.ndarray
    bases: np.ndarray
    variances: np.ndarray
    noise: np.ndarray
    weights: np.ndarray
    size_mm: float
    metadata: dict = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        return len(self.weights)

    @property
    def n_basis(self) -> int:
        return self.bases.shape[1]

    @property
    def components(self) -> tuple[PPCA, ...]:
        """The mixture's components as :class:`~poselift.prior.ppca.PPCA` over flat poses."""
        num_joints = len(self.joint_set)
        return tuple(
            PPCA(self.means[k].ravel(), self.bases[k].reshape(self.n_basis, -1), self.variances[k],
                 float(self.noise[k]), 3 * num_joints - 3)
            for k in range(self.n_components)
        )

    # ---- poses out, in millimetres -------------------------------------------------
    def to_millimetres(self, model_poses: np.ndarray, height_mm: float | None = None) -> np.ndarray:
        """Model-space poses (..., L, 3) -> mm, y up, relative to the root joint.

        Scaled by the training poses' mean size, or, given ``height_mm``, so that the most
        common component's mean pose would measure ``height_mm`` from its lowest to its
        highest joint (ankles to head top when standing; a person's stature is some 5 cm
        more, the ankle's height above the floor).
        """
        root = self.joint_set.parents.index(-1)
        mm = np.asarray(model_poses) * self.millimetres_per_unit(height_mm)
        return mm - mm[..., root:root + 1, :]

    def millimetres_per_unit(self, height_mm: float | None = None) -> float:
        """Millimetres in one model-space unit: the training poses' mean size, or the size
        that gives the most common component's mean pose an ankle-to-head-top height of
        ``height_mm``."""
        if height_mm is None:
            return self.size_mm
        low, high = HEIGHT_RANGE_MM
        if not low <= height_mm <= high:
            raise ValueError(f"height must lie in [{low:.0f}, {high:.0f}] mm, got {height_mm}")
        return height_mm / float(np.ptp(self.means[int(np.argmax(self.weights))][:, 1]))

    def mean_poses(self) -> np.ndarray:
        """(K, L, 3) component means in mm, y up, root-relative."""
        return self.to_millimetres(self.means)

    def sample(self, n: int, seed: int | None = None, component: int | None = None) -> np.ndarray:
        """Draw (n, L, 3) model-space poses (no rotation), with the component noise.

        Args:
            n: how many.
            seed: random seed.
            component: draw from this component only (default: from the mixture).
        """
        rng = np.random.default_rng(seed)
        if component is None:
            which = rng.choice(self.n_components, size=n, p=self.weights)
        elif 0 <= component < self.n_components:
            which = np.full(n, component)
        else:
            raise ValueError(f"component must be in [0, {self.n_components}), got {component}")
        coeffs = rng.standard_normal((n, self.n_basis)) * np.sqrt(self.variances[which])
        poses = self.means[which] + np.einsum("nj,njlc->nlc", coeffs, self.bases[which])
        poses = poses + rng.standard_normal(poses.shape) * np.sqrt(self.noise[which])[:, None, None]
        return poses - poses.mean(axis=1, keepdims=True)  # noise stays in the centred subspace

    # ---- poses in -----------------------------------------------------------------
    def log_likelihood(self, poses_world: np.ndarray) -> np.ndarray:
        """Log density of (N, L, 3) world-mm poses in model space, each turned to its best
        ground-plane rotation per component (nats; the density of centred, size-normalised
        poses, as the model was fitted)."""
        poses, _ = to_model_space(poses_world, self.joint_set)
        flat_shape = poses.shape[:-2]
        poses = poses.reshape(-1, *poses.shape[-2:])
        per_component = []
        for ppca, weight in zip(self.components, self.weights):
            _, distance = best_yaw(poses, ppca)
            per_component.append(-0.5 * (distance + ppca.log_det() + ppca.dim * np.log(2 * np.pi)) + np.log(weight))
        return logsumexp(np.stack(per_component, -1), axis=-1).reshape(flat_shape)

    def reconstruct(self, poses_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project (N, L, 3) world-mm poses onto the best component's subspace.

        Each pose is normalised, turned to the rotation that minimises its distance to each
        component's affine subspace ``mean + span(basis)``, projected onto the nearest
        subspace, turned back and rescaled to its own size and position.

        Returns:
            ``(reconstructions (N, L, 3) world mm, component (N,))``.
        """
        poses, sizes = to_model_space(poses_world, self.joint_set)  # validates
        best = np.full(len(poses), np.inf)
        out = np.empty_like(poses)
        component = np.zeros(len(poses), dtype=np.int64)
        for k, ppca in enumerate(self.components):
            # huge variances, unit noise: its Mahalanobis distance is the squared residual
            # off the component's affine subspace
            residual_metric = PPCA(ppca.mean, ppca.basis, np.full(self.n_basis, 1e12), 1.0, ppca.dim)
            angles, distance = best_yaw(poses, residual_metric)
            flat = unrotate(poses, angles).reshape(len(poses), -1) - ppca.mean
            projected = ppca.mean + (flat @ ppca.basis.T) @ ppca.basis
            better = distance < best
            out[better] = rotate_about_up(projected.reshape(poses.shape), angles)[better]
            best[better], component[better] = distance[better], k
        centroid = np.asarray(poses_world, dtype=np.float64).mean(axis=-2, keepdims=True)
        return prior_to_world(out * sizes[:, None, None]) + centroid, component

    # ---- files --------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` (atomically: a failed write leaves no partial file)."""
        path = Path(path)
        header = {**json_header("prior", FORMAT_VERSION), "joint_set": self.joint_set.name,
                  "size_mm": self.size_mm, "metadata": self.metadata}
        arrays = {name: getattr(self, name) for name in _ARRAYS}

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, header=np.array(json.dumps(header)), **arrays)

        write_atomically(path, write)

    @classmethod
    def default(cls) -> "PosePrior":
        """The prior shipped with poselift (:data:`DEFAULT_PRIOR_PATH`)."""
        return cls.load(DEFAULT_PRIOR_PATH)

    @classmethod
    def load(cls, path: str | Path) -> "PosePrior":
        """Read a prior written by :meth:`save`; ValueError if the file is not one."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such prior file")
        header, arrays = _read_archive(path)
        if not isinstance(header, dict) or header.get("format") not in {f for f, _ in _READABLE}:
            raise ValueError(f"{path}: not a poselift prior file (no {_FORMAT} header)")
        if (header.get("format"), header.get("version")) not in _READABLE:
            raise ValueError(f"{path}: prior format version {header.get('version')}, "
                             f"this poselift reads {FORMAT_VERSION}")
        size_mm = header.get("size_mm")
        if isinstance(size_mm, bool) or not isinstance(size_mm, (int, float)) or not 0 < size_mm < 1e5:
            raise ValueError(f"{path}: the header's size_mm must be a positive number of millimetres, got {size_mm!r}")
        if not isinstance(header.get("joint_set"), str) or not isinstance(header.get("metadata", {}), dict):
            raise ValueError(f"{path}: the header's joint_set must be a name and its metadata an object")
        joint_set = get_joint_set(header["joint_set"])
        k, num_joints = len(arrays["weights"]), len(joint_set)
        means, bases = arrays["means"], arrays["bases"]
        j = bases.shape[1] if bases.ndim == 4 else -1
        expected = {"means": (k, num_joints, 3), "bases": (k, j, num_joints, 3), "variances": (k, j), "noise": (k,)}
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{path}: array {name!r} has shape {arrays[name].shape}, expected {shape}")
        if not all(np.all(np.isfinite(a)) for a in arrays.values()):
            raise ValueError(f"{path}: prior arrays hold NaN or infinite values")
        positive = np.all(arrays["noise"] > 0) and np.all(arrays["variances"] > 0)
        if not positive or not np.isclose(arrays["weights"].sum(), 1):
            raise ValueError(f"{path}: prior variances must be positive and weights sum to one")
        return cls(joint_set, means, bases, arrays["variances"], arrays["noise"], arrays["weights"],
                   float(size_mm), header.get("metadata", {}))

    def describe(self) -> str:
        """One line: components, basis size, joints, size, what it was fitted on."""
        data = str(self.metadata.get("training_data", "unknown data"))[:200]
        return (f"PosePrior: {self.n_components} components x {self.n_basis} basis, {self.joint_set.name}, "
                f"mean limb size {self.size_mm:.0f} mm, fitted on {data}")

