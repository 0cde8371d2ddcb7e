"""Covariate shift: exact scaling identities on common random numbers, and the sampled test law."""

from __future__ import annotations

import numpy as np
import pytest

from rmt.montecarlo.covariate_shift import simulate_shift
from rmt.montecarlo.estimators import FINE_GRAINED_KEYS
from rmt.montecarlo.random_features import rf_draws
from rmt.problem import CovarianceSpectrum, Problem


def test_scaled_test_covariance_scales_every_term_exactly():
    """With sigma(u) = u the predictor and the target are linear in x, so Sigma_* = c Sigma multiplies every
    squared error by c: OOD = c * IID for each estimate of each repetition (the test sets share their normals)."""
    c = 2.5
    cov = CovarianceSpectrum([1.0, 3.0], [c * 1.0, c * 3.0], [0.5, 0.5])
    r = simulate_shift(Problem(n0=10, n1=14, m=12, ridge=0.2, activation="linear", noise=0.3, covariance=cov),
                       trials=(2, 2, 2), reps=2, n_test=30)
    for k in FINE_GRAINED_KEYS + ("test_error", "bias", "variance"):
        np.testing.assert_allclose(r.ood.samples[k], c * r.iid.samples[k], rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(r.ood.samples["train_error"], r.iid.samples["train_error"])
    rec = r.as_dict()
    assert rec["test_error"] == r.ood.test_error
    assert rec["in_distribution"]["test_error"] == r.iid.test_error
    assert set(rec["in_distribution"]["stderr"]) == {"test_error", "bias", "variance", "fine_grained"}


def test_inputs_follow_the_train_and_test_laws():
    """Coordinates of atom k have variance train[k] in training and test[k] in testing (4 standard errors)."""
    cov = CovarianceSpectrum([1.0, 4.0], [2.0, 0.5], [0.5, 0.5])
    d = rf_draws(Problem(n0=8, n1=6, m=400, ridge=0.1, activation="tanh", covariance=cov), n_test=400, seed=5)
    for data, want in ((d.x_test, [2.0, 0.5]), (d.x.reshape(-1, 8), [1.0, 4.0])):
        for block, v in zip((data[:, :4], data[:, 4:]), want):
            sample = block.ravel() ** 2
            assert abs(sample.mean() - v) < 4 * sample.std() / np.sqrt(sample.size)


def test_needs_a_covariance():
    with pytest.raises(ValueError, match="covariance=CovarianceSpectrum"):
        simulate_shift(Problem(n0=10, n1=14, m=12, ridge=0.2))
