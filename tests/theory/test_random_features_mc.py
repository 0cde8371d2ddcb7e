"""rmt.theory.random_features and theory.linear against the Monte Carlo engine (montecarlo): the simulation decides.

Criterion for every quantity (test and training error, bias, variance, the seven fine-grained terms, tau1, tau2,
ensemble and bagging errors): ``|theory - simulation| <= 4 standard errors + 5% of |theory|`` (the 5% is the
finite-size allowance: the limit is approached at rate O(1/n0), a few percent at n0 = 200; docs/validation.md).
``eps`` and ``Peps`` vanish in the limit; their estimates must be within 4 standard errors of 0. The slow tests run
n0 = 200 for relu, tanh and erf on both sides of the interpolation threshold, with and without ridge; one cheap check
at n0 = 100 stays in the default run. Standard errors come from at least 8 independent repetitions (so that they
are themselves reliable); seeds are fixed.
"""

from __future__ import annotations

import math

import pytest

from rmt.montecarlo.linear import simulate_linear
from rmt.montecarlo.random_features import simulate_rf
from rmt import CovarianceSpectrum, LinearProblem, Problem
from rmt.theory.linear import linear_theory
from rmt.theory.random_features import FINE_GRAINED_KEYS, rf_theory

ALLOWANCE = 0.05
NSIG = 4.0


def _pairs(th, sim):
    out = [(k, getattr(th, k), getattr(sim, k), sim.stderr[k]) for k in ("test_error", "train_error", "bias",
                                                                       "variance")]
    out += [(f"V_{k}", th.fine_grained[k], sim.fine_grained[k], sim.stderr["fine_grained"][k])
            for k in FINE_GRAINED_KEYS]
    for k in ("tau1", "tau2"):
        if math.isfinite(th_val := float(getattr(th, k))):
            out.append((k, th_val, sim.extras[k], sim.stderr[k]))
        else:
            assert sim.extras[k] == math.inf, k  # K singular (n1 < m, ridgeless): both infinite
    return out


def _check(pairs, label):
    bad = []
    for name, t, s, se in pairs:
        t, s, se = float(t), float(s), float(se)
        if not abs(t - s) <= NSIG * se + ALLOWANCE * abs(t) + 1e-12:
            bad.append(f"{name}: theory {t:.6g}, simulation {s:.6g} +- {se:.2g} "
                       f"({abs(t - s) / se if se > 0 else math.inf:.1f} se, {abs(t - s) / max(abs(t), 1e-300):.1%})")
    assert not bad, f"{label}: " + "; ".join(bad)


def _run(problem, *, reps, n_test, seed=0):
    return simulate_rf(problem, trials=(3, 3, 2), reps=reps, seed=seed, n_test=n_test)


def test_cheap_monte_carlo_check():
    """n0 = 100, both sides of n1 = m, ReLU, a small ridge: every quantity and the ensembles."""
    for n1 in (120, 300):
        p = Problem(n0=100, n1=n1, m=200, ridge=0.05, activation="relu", noise=0.25)
        sim = _run(p, reps=8, n_test=400, seed=3)
        th = rf_theory(p)
        pairs = _pairs(th, sim)
        for k in (2, math.inf):
            pairs.append((f"ensemble({k})", th.ensemble(k).test_error, *sim.ensemble(k, over="P")))
            pairs.append((f"bagging({k})", th.bagging(k).test_error, *sim.ensemble(k, over=("X", "eps"))))
        _check(pairs, f"n1={n1}")


SLOW_CASES = [
    # activation, n1, ridge, noise, signal, nonlinear_signal  (n0 = 200, m = 400)
    ("relu", 200, 0.1, 0.25, 1.0, 0.0),
    ("relu", 800, 0.1, 0.25, 1.0, 0.0),
    ("relu", 300, 0.0, 0.25, 1.0, 0.0),
    ("relu", 600, 0.0, 0.25, 1.0, 0.0),
    ("tanh", 100, 1e-3, 0.25, 1.0, 0.0),
    ("tanh", 600, 0.0, 0.25, 1.0, 0.0),
    ("tanh", 320, 1e-2, 0.0, 2.0, 0.0),
    ("erf", 800, 0.01, 0.25, 1.0, 0.0),
    ("erf", 240, 0.0, 0.5, 1.0, 0.0),
    ("erf", 500, 0.05, 0.1, 1.0, 0.3),
    ("relu", 300, 0.02, 0.1, 1.0, 0.4),
]


@pytest.mark.slow
@pytest.mark.parametrize("activation, n1, ridge, noise, signal, fstar", SLOW_CASES)
def test_theory_against_simulation_n0_200(activation, n1, ridge, noise, signal, fstar):
    p = Problem(n0=200, n1=n1, m=400, ridge=ridge, activation=activation, noise=noise, signal=signal,
                nonlinear_signal=fstar)
    sim = _run(p, reps=10, n_test=1000, seed=1)
    th = rf_theory(p)
    pairs = _pairs(th, sim)
    for k in (2, math.inf):
        pairs.append((f"ensemble({k})", th.ensemble(k).test_error, *sim.ensemble(k, over="P")))
        pairs.append((f"bagging({k})", th.bagging(k).test_error, *sim.ensemble(k, over=("X", "eps"))))
    _check(pairs, f"{activation} n1={n1} ridge={ridge}")


@pytest.mark.slow
def test_even_activation_and_the_peak():
    """zeta = 0 (quadratic features), and the double-descent peak itself: at n1 = m with a small ridge the P x X
    interaction dominates and its size is confirmed by simulation. (Exactly at the ridgeless threshold the finite-n
    error has no mean -- the inverse of a square Gaussian Gram matrix -- so only the finite terms are checked there.)"""
    p = Problem(n0=200, n1=300, m=400, ridge=0.05, activation="quadratic", noise=0.25)
    _check(_pairs(rf_theory(p), _run(p, reps=8, n_test=800, seed=2)), "quadratic")
    p = Problem(n0=200, n1=400, m=400, ridge=1e-3, activation="relu", noise=0.25)
    th = rf_theory(p)
    assert th.fine_grained["PX"] + th.fine_grained["PXeps"] > 0.6 * th.test_error
    _check(_pairs(th, _run(p, reps=10, n_test=800, seed=6)), "peak")
    thr = rf_theory(Problem(n0=1, n1=2, m=2, ridge=0.0, activation="relu", noise=0.25))
    sim = _run(Problem(n0=200, n1=400, m=400, ridge=0.0, activation="relu", noise=0.25), reps=8, n_test=800, seed=4)
    _check([("bias", thr.bias, sim.bias, sim.stderr["bias"]),
            ("V_P", thr.fine_grained["P"], sim.fine_grained["P"], sim.stderr["fine_grained"]["P"])], "threshold")


@pytest.mark.slow  # fast suite: rmt validate --quick --model linear (tests/figures/test_validate_quick.py), whose
# grid has an isotropic ridgeless and an anisotropic ridge case with beta on one eigenspace, and tests/montecarlo/
# test_mc_linear.py (the simulation against closed forms)
def test_linear_theory_against_simulation():
    cases = [LinearProblem(n=200, d=100, ridge=0.1, noise=0.5, signal=1.0),
             LinearProblem(n=200, d=400, ridge=0.0, noise=0.5, signal=1.0),
             LinearProblem(n=200, d=300, ridge=0.2, noise=0.3, signal=1.5, spectrum=CovarianceSpectrum([1.0, 9.0]),
                           beta_weights=[0.0, 1.0])]
    for p in cases:
        sim = simulate_linear(p, trials=(4, 2), reps=10, seed=0)
        th = linear_theory(p)
        # HMRT's B and V are conditional on X (the simulation's extras), not the Sobol split over (X, eps)
        pairs = [(k, getattr(th, k), getattr(sim, k), sim.stderr[k]) for k in ("test_error", "train_error")]
        pairs += [(k, getattr(th, k), sim.extras[f"conditional_{k}"], sim.stderr[f"conditional_{k}"])
                  for k in ("bias", "variance")]
        _check(pairs, f"linear gamma={float(p.gamma)}")


@pytest.mark.slow
def test_tau_deviation_is_finite_size():
    """The largest deviations in standard errors are those of tau1 and tau2 (tens of standard errors at n0 = 200,
    a few percent): they are O(1/n0) finite-size effects, halving with each doubling of n0 towards the theory."""
    for act in ("tanh", "relu"):
        th = rf_theory(Problem(n0=1, n1=3, m=2, ridge=0.0, activation=act))
        dev = []
        for n0 in (100, 200, 400):
            sim = _run(Problem(n0=n0, n1=3 * n0, m=2 * n0, ridge=0.0, activation=act, noise=0.25), reps=4,
                       n_test=200, seed=2)
            dev.append(sim.extras["tau1"] / th.tau1 - 1)
        assert dev[0] > dev[1] > dev[2] > 0
        assert dev[2] < 0.5 * dev[0]
        assert dev[2] < 0.03
