"""Linear ridge regression against the closed forms of Hastie, Montanari, Rosset & Tibshirani
(arXiv:1903.08560; docs/models.md §2), within 4 standard errors + a 3% finite-size allowance (docs/validation.md).
The closed forms are computed here, from rmt.stieltjes and scipy, not from rmt.theory."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from rmt.montecarlo.estimators import mean_and_stderr
from rmt.montecarlo.linear import simulate_linear
from rmt.problem import CovarianceSpectrum, LinearProblem
from rmt.stieltjes import mp_G, mp_K


def within(result, key, theory, *, extra=False):
    value = result.extras[key] if extra else getattr(result, key)
    se = result.stderr[key]
    assert abs(value - theory) <= 4 * se + 0.03 * abs(theory), (key, value, se, theory)


def isotropic_risk(gamma: float, ridge: float, r2: float, s2: float) -> tuple[float, float]:
    """(bias, variance) conditional on X: ridgeless cases and r^2 lam^2 m'(-lam) + s^2 gamma (m - lam m')."""
    if ridge == 0:
        if gamma < 1:
            return 0.0, s2 * gamma / (1 - gamma)
        return r2 * (1 - 1 / gamma), s2 / (gamma - 1)
    g, k = float(mp_G(ridge, gamma)), float(mp_K(ridge, gamma))
    return r2 * ridge**2 * k, s2 * gamma * (g - ridge * k)


@pytest.mark.parametrize("gamma, ridges", [(0.5, (0.0, 0.1)), (2.0, (0.0, 0.1, 1.0))])
def test_isotropic_closed_forms(gamma, ridges):
    n = 300
    for ridge in ridges:  # the ridge is a runtime parameter: one compilation per gamma
        r = simulate_linear(LinearProblem(n=n, d=gamma * n, ridge=ridge, noise=1.0, signal=1.0), trials=(4, 2),
                            reps=6, seed=3)
        b, v = isotropic_risk(gamma, ridge, 1.0, 1.0)
        within(r, "test_error", b + v)
        within(r, "conditional_variance", v, extra=True)
        if b > 0:
            within(r, "conditional_bias", b, extra=True)
        assert r.bias + r.variance == pytest.approx(r.test_error, rel=1e-12)


def anisotropic_ridgeless(eigs: np.ndarray, beta_sq: np.ndarray, n: int, s2: float) -> tuple[float, float]:
    """kappa-form: sum_i s_i/(s_i + k0) = n; B = k0^2 b^T S (S + k0)^-2 b / (1 - df2/n), V = s2 df2 / (n - df2)."""
    k0 = brentq(lambda k: np.sum(eigs / (eigs + k)) - n, 1e-12, 1e6 * eigs.max(), xtol=1e-14)
    df2 = np.sum(eigs**2 / (eigs + k0) ** 2)
    bias = k0**2 * np.sum(beta_sq * eigs / (eigs + k0) ** 2) / (1 - df2 / n)
    return bias, s2 * df2 / (n - df2)


@pytest.mark.parametrize("weights, beta_sq_per_atom", [(None, (0.5, 0.5)), ((0.0, 1.0), (0.0, 1.0))])
def test_anisotropic_ridgeless(weights, beta_sq_per_atom):
    """gamma = 3, half the eigenvalues 1 and half 9, |beta| = 1 (isotropic, or on the top eigenspace)."""
    n, d = 150, 450
    spec = CovarianceSpectrum([1.0, 9.0], weights=[0.5, 0.5])
    r = simulate_linear(LinearProblem(n=n, d=d, ridge=0.0, noise=1.0, signal=1.0, spectrum=spec,
                                      beta_weights=weights), trials=(4, 2), reps=6, seed=4)
    eigs = np.repeat([1.0, 9.0], d // 2)
    beta_sq = np.repeat(np.asarray(beta_sq_per_atom) / (d // 2), d // 2)  # E beta_i^2 per coordinate
    b, v = anisotropic_ridgeless(eigs, beta_sq, n, 1.0)
    within(r, "conditional_bias", b, extra=True)
    within(r, "conditional_variance", v, extra=True)
    within(r, "test_error", b + v)
    # two unbiased estimators of E_X B(X): the exact per-X one and bias + V_X from the crossed design
    diff = r.samples["bias"] + r.samples["X"] - r.samples["conditional_bias"]
    mean, se = mean_and_stderr(diff)
    assert abs(mean) < 4 * se + 1e-12


def test_ridgeless_underparameterised_interpolates_nothing_and_has_no_bias():
    r = simulate_linear(LinearProblem(n=300, d=150, ridge=0.0, noise=0.0), reps=2)
    assert r.trials == (4, 1)
    assert r.extras["conditional_bias"] < 1e-20 and r.test_error < 1e-20
    assert r.fine_grained["eps"] == 0.0 and r.fine_grained["Xeps"] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(trials=(1, 2)), r"trials\[X\] must be an integer >= 2"),
    (dict(reps=0), "reps must be an integer >= 1"),
    (dict(dtype="int8"), "dtype must be"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_linear(LinearProblem(n=20, d=10, noise=1.0), **kwargs)
    with pytest.raises(ValueError, match="LinearProblem"):
        simulate_linear("not a problem")
