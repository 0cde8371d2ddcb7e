"""theory.covariate_shift against Monte Carlo of the actual estimator (montecarlo, real activations, n0 = 400).

Criterion (issue 6): ``|theory - simulation| <= 4 standard errors + 2% of theory`` for the test error and the bias.
Standard errors are over independent repetitions (new beta, W, X, eps and test set each); 16 repetitions so that the
standard error itself is estimated reliably (with 4 repetitions it can be off by a factor of 2-3).

Shifts: the harmful swap {1.6, 0.4} -> {0.4, 1.6}, the helpful {1.6, 0.4} -> {1.9, 0.1}, and s_* = 2 s
({3.2, 0.8}) for the odd activations tanh and erf; ridge > 0 and ridgeless, under- and over-parameterised.
One configuration runs in the fast suite; the rest are marked ``slow``.

A second, independent simulator written here in plain numpy averages the error analytically over ``beta`` and the
label noise (the predictor is linear in ``Y = X beta / sqrt(n0) + eps``, so for fixed ``W``, ``X`` and test points
``E_{beta, eps} (yhat - y)^2 = |X^T a(x) - x|^2 / n0 + noise |a(x)|^2``), which removes the dominant source of
Monte Carlo noise (the split of ``|beta|^2`` between eigen-directions). Its standard errors are about 0.1%, so it is
held to ``4 standard errors + 1%`` (the sheet's finite-size expectation at ``n0 = 400``, section 6.5).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from montecarlo import simulate_rf
from rmt.problem import Problem
from theory.covariate_shift import covariate_shift_error, two_point

N0 = 400
REPS = 16

# (activation, strength, scale, phi, psi, ridge, noise)
FAST = [("tanh", -0.25, 1.0, 2.0, 1.0, 0.1, 0.1)]
SLOW = [
    ("tanh", 1.0, 1.0, 2.0, 1.0, 0.1, 0.1),  # sheet 3.10 swap row
    ("tanh", 0.0, 1.0, 2.0, 1.0, 0.1, 0.1),  # in distribution
    ("tanh", 1.0, 1.0, 0.5, 1.0, 1e-3, 0.1),  # sheet 3.10 swap, m = 800 > n1 = 400
    ("tanh", 0.0, 2.0, 2.0, 0.5, 1e-2, 0.1),  # s_* = 2 s, over-parameterised
    ("erf", 1.0, 1.0, 2.0, 0.5, 0.0, 0.1),  # ridgeless over-parameterised (min-norm interpolation), harmful
    ("erf", -0.25, 1.0, 2.0, 0.5, 0.0, 0.1),  # ridgeless, helpful
    ("erf", 0.0, 2.0, 2.0, 1.0, 0.1, 0.2),  # s_* = 2 s
    ("erf", 1.0, 1.0, 2.0, 4.0, 0.0, 0.1),  # ridgeless under-parameterised (least squares on the features)
]


def _check(act, strength, scale, phi, psi, ridge, noise, seed=0):
    sp = two_point(strength, scale=scale)
    theory = covariate_shift_error(phi, psi, spectrum=sp, ridge=ridge, activation=act, noise=noise)
    prob = Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, n0=N0, covariance=sp.covariance())
    sim = simulate_rf(prob, trials=(2, 2, 2), reps=REPS, seed=seed, taus=False)
    for key in ("test_error", "bias"):
        th, mc, se = float(getattr(theory, key)), float(getattr(sim, key)), float(sim.stderr[key])
        assert abs(mc - th) <= 4 * se + 0.02 * th, (key, th, mc, se)
    return theory, sim


@pytest.mark.parametrize("cfg", FAST, ids=str)
def test_shift_theory_matches_simulation_fast(cfg):
    theory, sim = _check(*cfg)
    assert theory.test_error < theory.id_test_error  # this shift helps; the simulation agrees within error bars


@pytest.mark.slow
@pytest.mark.parametrize("cfg", SLOW, ids=str)
def test_shift_theory_matches_simulation(cfg):
    _check(*cfg)


# ----------------------------------------------------------------------------------------------------------------
# independent numpy simulator with beta and eps averaged analytically
# ----------------------------------------------------------------------------------------------------------------

_ACTS = {"tanh": np.tanh, "erf": erf}


def simulate_beta_averaged(act, spectrum, phi, psi, ridge, noise, *, n0=N0, draws=12, n_test=2000, seed=0):
    """Mean and standard error over draws of ``(W, X, test set)`` of ``E_{beta, eps} (yhat(x) - beta.x/sqrt(n0))^2``
    with ``beta ~ N(0, I_n0)``; test inputs from ``Sigma_*``; atom ``k`` on ``weights[k] n0`` coordinates."""
    rng = np.random.default_rng(seed)
    sigma = _ACTS[act]
    m, n1 = int(round(n0 / phi)), int(round(n0 / psi))
    counts = np.round(spectrum.weights * n0).astype(int)
    assert counts.sum() == n0
    d, ds = np.repeat(spectrum.train, counts), np.repeat(spectrum.test, counts)
    out = []
    for _ in range(draws):
        W = rng.standard_normal((n1, n0))
        X = rng.standard_normal((m, n0)) * np.sqrt(d)
        Xt = rng.standard_normal((n_test, n0)) * np.sqrt(ds)
        F, Ft = sigma(X @ W.T / np.sqrt(n0)), sigma(Xt @ W.T / np.sqrt(n0))
        if n1 >= m:  # yhat(x) = a(x)^T Y with a = (K + ridge)^-1 F f(x) / n1 (kernel form; min-norm at ridge 0)
            A = np.linalg.solve(F @ F.T / n1 + ridge * np.eye(m), F @ Ft.T / n1)
        else:  # the same estimator in primal form (least squares on the features at ridge 0)
            A = F @ np.linalg.solve(F.T @ F / n1 + ridge * np.eye(n1), Ft.T) / n1
        D = A.T @ X - Xt
        out.append(np.mean(np.sum(D * D, axis=1) / n0 + noise * np.sum(A * A, axis=0)))
    out = np.asarray(out)
    return out.mean(), out.std(ddof=1) / np.sqrt(draws)


# (activation, strength, scale, phi, psi, ridge, noise)
BETA_FAST = [("tanh", -0.25, 1.0, 2.0, 1.0, 0.1, 0.1), ("erf", 0.0, 2.0, 2.0, 0.5, 1e-2, 0.1)]
BETA_SLOW = [
    ("tanh", 1.0, 1.0, 2.0, 1.0, 0.1, 0.1), ("tanh", 1.0, 1.0, 0.5, 1.0, 1e-3, 0.1),
    ("tanh", 0.0, 2.0, 2.0, 0.5, 1e-2, 0.1), ("tanh", 1.0, 1.0, 2.0, 0.5, 0.0, 0.1),
    ("erf", -0.25, 1.0, 2.0, 1.0, 0.1, 0.1), ("erf", 1.0, 1.0, 2.0, 1.0, 0.1, 0.1),
    ("erf", 1.0, 1.0, 0.5, 1.0, 1e-3, 0.1), ("erf", 1.0, 1.0, 2.0, 0.5, 0.0, 0.1),
    ("erf", -0.25, 1.0, 2.0, 4.0, 0.0, 0.2),
]


def _check_beta_averaged(act, strength, scale, phi, psi, ridge, noise, draws):
    sp = two_point(strength, scale=scale)
    th = float(covariate_shift_error(phi, psi, spectrum=sp, ridge=ridge, activation=act, noise=noise).test_error)
    mean, se = simulate_beta_averaged(act, sp, phi, psi, ridge, noise, draws=draws)
    assert abs(mean - th) <= 4 * se + 0.01 * th, (th, mean, se)


@pytest.mark.parametrize("cfg", BETA_FAST, ids=str)
def test_shift_theory_matches_beta_averaged_simulation_fast(cfg):
    _check_beta_averaged(*cfg, draws=6)


@pytest.mark.slow
@pytest.mark.parametrize("cfg", BETA_SLOW, ids=str)
def test_shift_theory_matches_beta_averaged_simulation(cfg):
    _check_beta_averaged(*cfg, draws=20)
