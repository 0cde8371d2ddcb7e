"""Empirical spectra against Marchenko-Pastur closed forms (4 standard errors + 3% finite-size allowance)."""

from __future__ import annotations

import numpy as np
import pytest

from rmt.montecarlo.estimators import mean_and_stderr
from rmt.montecarlo.spectra import empirical_stieltjes, rf_gram_eigenvalues, wishart_eigenvalues
from rmt import constants
from rmt.problem import Problem
from rmt.stieltjes import mp_G, mp_moment


def close(samples, theory):
    mean, se = mean_and_stderr(samples)
    return abs(mean - theory) <= 4 * se + 0.03 * abs(theory), (mean, se, theory)


@pytest.mark.parametrize("p, n", [(200, 400), (300, 150)])
def test_wishart_matches_marchenko_pastur(p, n):
    r = p / n
    eig = wishart_eigenvalues(p, n, reps=3, seed=1)
    assert eig.shape == (3, p)
    for t in (0.2, 1.0, 3.0):
        ok, info = close(empirical_stieltjes(eig, t), float(mp_G(t, r)))
        assert ok, (t, info)
    for k in (1, 2, 3):
        ok, info = close(np.mean(eig**k, axis=1), float(mp_moment(k, r)))
        assert ok, (k, info)
    zero = np.sum(eig < 1e-9 * eig.max(axis=1, keepdims=True), axis=1)
    assert np.all(zero == max(p - n, 0))  # the atom (1 - 1/r)_+ exactly: rank min(p, n)


def test_rf_gram_mean_eigenvalue_is_eta():
    """(1/m) tr K = E sigma_c(u)^2 = eta (centred ReLU)."""
    eig = rf_gram_eigenvalues(Problem(n0=100, n1=200, m=150, ridge=0.0, activation="relu"), reps=3)
    ok, info = close(eig.mean(axis=1), constants("relu").eta)
    assert ok, info
    assert np.all(eig > -1e-10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="p must be an integer >= 1"):
        wishart_eigenvalues(0, 10)
    with pytest.raises(ValueError, match="t must be non-negative"):
        empirical_stieltjes(np.ones(3), -1.0)
