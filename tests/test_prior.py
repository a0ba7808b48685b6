import numpy as np
import pytest

from poselift.geometry import mirror, prior_to_world, rotate_about_up
from poselift.prior import PosePrior, fit_prior
from poselift.prior.model import DEFAULT_PRIOR_PATH
from poselift.skeleton import H36M17


def test_fit_reports_monotone_logs_and_sane_parameters(small_prior):
    prior = small_prior.prior
    assert prior.n_components == 2 and prior.n_basis == 6
    assert np.all(np.diff(small_prior.alignment.objective) <= 1e-9)
    assert np.all(np.diff(small_prior.mixture.log_likelihood) >= -1e-9)
    np.testing.assert_allclose(prior.weights.sum(), 1)
    for k in range(prior.n_components):
        basis = prior.bases[k].reshape(6, -1)
        np.testing.assert_allclose(basis @ basis.T, np.eye(6), atol=1e-9)
    assert 1000 < prior.size_mm < 1300  # Human3.6M adults


def test_log_likelihood_ignores_ground_rotation_and_position(small_prior, s1_poses, rng):
    prior = small_prior.prior
    poses = s1_poses[:50]
    turned = prior_to_world(rotate_about_up(
        np.asarray(poses) @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0.0]]).T, rng.uniform(-3, 3, 50)))
    moved = turned + rng.normal(size=(50, 1, 3)) * 500
    np.testing.assert_allclose(prior.log_likelihood(moved), prior.log_likelihood(poses), atol=1e-6)


def test_real_poses_are_likelier_than_scrambled_ones(small_prior, s1_poses, rng):
    prior = small_prior.prior
    scrambled = s1_poses[:50][:, rng.permutation(17)]
    assert np.median(prior.log_likelihood(s1_poses[:50])) > np.median(prior.log_likelihood(scrambled)) + 50


def test_mirrored_poses_are_as_likely(small_prior, s1_poses):
    """The prior is fitted with mirrored copies, so a mirrored pose is no less probable."""
    prior = small_prior.prior
    poses = s1_poses[:200]
    gap = prior.log_likelihood(mirror(poses, H36M17)) - prior.log_likelihood(poses)
    assert abs(np.median(gap)) < 1.0


def test_samples_project_back_onto_the_prior(small_prior):
    prior = small_prior.prior
    samples = prior.sample(64, seed=3)
    assert samples.shape == (64, 17, 3)
    np.testing.assert_allclose(samples.mean(axis=1), 0, atol=1e-12)
    assert prior.to_millimetres(samples)[:, 0].max() == 0  # root-relative
    with pytest.raises(ValueError, match="component must be in"):
        prior.sample(1, component=5)


def test_reconstruction_of_training_poses_is_close(small_prior, s1_poses):
    recon, component = small_prior.prior.reconstruct(s1_poses[:300])
    error = np.linalg.norm(recon - s1_poses[:300], axis=-1).mean()
    assert error < 60, error
    assert set(np.unique(component)) <= {0, 1}


def test_save_load_round_trip(small_prior, tmp_path):
    prior = small_prior.prior
    path = tmp_path / "prior.npz"
    prior.save(path)
    loaded = PosePrior.load(path)
    for name in ("means", "bases", "variances", "noise", "weights"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(prior, name))
    assert loaded.joint_set is H36M17 and loaded.size_mm == prior.size_mm
    assert loaded.metadata == prior.metadata
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind


def _rewrite_header(path, **changes):
    """Rewrite the JSON header of a saved prior file with ``changes``; the arrays stay as they are."""
    import json

    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = {**json.loads(str(arrays.pop("header"))), **changes}
    np.savez(path, header=np.array(json.dumps(header)), **arrays)


def test_a_version_1_file_with_the_old_header_still_loads(small_prior, tmp_path):
    path = tmp_path / "old.npz"
    small_prior.prior.save(path)
    _rewrite_header(path, format="poselift-prior", version=1)
    np.testing.assert_array_equal(PosePrior.load(path).bases, small_prior.prior.bases)
    _rewrite_header(path, format="poselift.prior", version=1)  # the new name was never written as version 1
    with pytest.raises(ValueError, match="prior format version 1, this poselift reads 2"):
        PosePrior.load(path)
    _rewrite_header(path, format="poselift.prior", version=3)
    with pytest.raises(ValueError, match="prior format version 3"):
        PosePrior.load(path)


def test_corrupt_and_foreign_files_fail_clearly(small_prior, tmp_path):
    truncated = tmp_path / "truncated.npz"
    small_prior.prior.save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a poselift prior file"):
        PosePrior.load(truncated)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.ones(1))
    with pytest.raises(ValueError, match="not a poselift prior file"):
        PosePrior.load(foreign)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a poselift prior file"):
        PosePrior.load(text)
    with pytest.raises(FileNotFoundError, match="no such prior file"):
        PosePrior.load(tmp_path / "absent.npz")


def test_a_tampered_array_shape_is_rejected(small_prior, tmp_path):
    path = tmp_path / "prior.npz"
    small_prior.prior.save(path)
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["variances"] = arrays["variances"][:, :2]
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="'variances' has shape"):
        PosePrior.load(path)


@pytest.mark.parametrize("poses, kwargs, message", [
    (np.full((100, 17, 3), np.nan), {}, "NaN"),
    (np.zeros((100, 16, 3)), {}, r"shape \(\.\.\., 17, 3\)"),
    (np.zeros((100, 17, 2)), {}, r"shape \(\.\.\., 17, 3\)"),
    (None, {"joint_set": "stick9"}, "unknown joint set 'stick9'"),
    ("few", {"n_basis": 6, "n_components": 2}, "too few for 2 components"),
    (None, {"n_basis": 48}, "below the pose dimension 48"),
])
def test_bad_fit_input_raises_value_error(s1_poses, poses, kwargs, message):
    if poses is None:
        poses = s1_poses
    elif isinstance(poses, str):
        poses = s1_poses[:12]
    with pytest.raises(ValueError, match=message):
        fit_prior(poses, **kwargs)


def test_shipped_prior_loads_without_the_data():
    prior = PosePrior.default()
    assert DEFAULT_PRIOR_PATH.stat().st_size < 200_000
    assert "S1 S5 S6 S7 S8" in prior.metadata["training_data"]
    assert prior.metadata["training_poses"] == 366100


def test_shipped_prior_models_held_out_poses(data_dir):
    from poselift.datasets.h36m import stack_poses

    s9 = stack_poses(["S9"], data_dir, step=200)
    recon, _ = PosePrior.default().reconstruct(s9)
    assert np.linalg.norm(recon - s9, axis=-1).mean() < 50
