import numpy as np
import pytest

from poselift.prior.ppca import PPCA, fit_mixture_ppca, fit_ppca, ppca_log_density


def draw(model: PPCA, n: int, rng) -> np.ndarray:
    coeffs = rng.standard_normal((n, len(model.variances))) * np.sqrt(model.variances)
    return model.mean + coeffs @ model.basis + rng.standard_normal((n, model.mean.size)) * np.sqrt(model.noise)


def random_model(rng, d=12, j=3, shift=0.0) -> PPCA:
    basis, _ = np.linalg.qr(rng.normal(size=(d, j)))
    return PPCA(rng.normal(size=d) + shift, basis.T, np.array([9.0, 4.0, 1.0])[:j], 0.05, d)


def test_ppca_recovers_a_known_model(rng):
    truth = random_model(rng)
    fitted = fit_ppca(draw(truth, 40000, rng), n_basis=3)
    np.testing.assert_allclose(fitted.mean, truth.mean, atol=0.05)
    np.testing.assert_allclose(fitted.variances, truth.variances, rtol=0.05)
    assert abs(fitted.noise - truth.noise) / truth.noise < 0.05
    # the same subspace: singular values of B_fit B_true^T are the cosines of principal angles
    cosines = np.linalg.svd(fitted.basis @ truth.basis.T, compute_uv=False)
    assert cosines.min() > 0.999


def test_log_density_matches_a_dense_gaussian(rng):
    model = random_model(rng, d=6, j=2)
    x = draw(model, 5, rng)
    cov = model.basis.T @ np.diag(model.variances) @ model.basis + model.noise * np.eye(6)
    d = x - model.mean
    expected = -0.5 * (np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d) + np.linalg.slogdet(cov)[1]
                       + 6 * np.log(2 * np.pi))
    np.testing.assert_allclose(ppca_log_density(x, model), expected, rtol=1e-10)


def test_weighted_fit_equals_fit_on_the_selected_rows(rng):
    x = rng.normal(size=(500, 8))
    weights = (rng.random(500) < 0.5).astype(float)
    a, b = fit_ppca(x, 2, weights), fit_ppca(x[weights > 0], 2)
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-12)
    np.testing.assert_allclose(a.variances, b.variances, rtol=1e-9)


def test_em_never_decreases_the_log_likelihood_and_finds_the_clusters(rng):
    models = [random_model(rng, shift=-4.0), random_model(rng, shift=4.0)]
    x = np.concatenate([draw(models[0], 3000, rng), draw(models[1], 1000, rng)])
    start = rng.integers(0, 2, size=len(x))  # a poor, random start
    fit = fit_mixture_ppca(x, start, n_basis=3, tol=0.0, max_iter=30)
    assert np.all(np.diff(fit.log_likelihood) >= -1e-9)
    assert sorted(np.round(fit.weights, 2)) == [0.25, 0.75]


@pytest.mark.parametrize("x, n_basis, message", [
    (np.full((10, 4), np.nan), 1, "NaN"),
    (np.zeros(10), 1, r"must be \(N, D\)"),
    (np.zeros((3, 5)), 3, "3 samples cannot fit a basis of 3"),
    (np.zeros((10, 4)), 4, r"basis size must be in \[0, 3\]"),
])
def test_bad_input_raises_value_error(x, n_basis, message):
    with pytest.raises(ValueError, match=message):
        fit_ppca(x, n_basis)


def test_mixture_rejects_a_component_too_small_for_its_basis(rng):
    x = rng.normal(size=(20, 6))
    assignment = np.zeros(20, dtype=int)
    assignment[:2] = 1
    with pytest.raises(ValueError, match="more than 3 samples"):
        fit_mixture_ppca(x, assignment, n_basis=3)
