"""The crossed-design estimators: algebraic identities, a textbook reference, and unbiasedness on a synthetic
function whose Sobol-Hoeffding components are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmt.montecarlo.estimators import (FINE_GRAINED_KEYS, component_keys, crossed_anova, ensemble_error,
                                   ensemble_error_direct, mean_and_stderr)
from tests.montecarlo._reference import anova3

KEYS = FINE_GRAINED_KEYS


def test_component_keys_are_the_seven_fine_grained_terms():
    assert component_keys(("P", "X", "eps")) == ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")
    assert component_keys(("X", "eps")) == ("X", "eps", "Xeps")


@pytest.mark.parametrize("shape", [(2, 2, 2, 5), (3, 2, 4, 7), (2, 5, 3, 1)])
def test_matches_textbook_three_way_anova(shape):
    rng = np.random.default_rng(1)
    y = rng.standard_normal(shape) * 2.0 + rng.standard_normal(shape[-1]) + 0.3
    ref = anova3(y)
    est = crossed_anova(y, ("P", "X", "eps"))
    for k in KEYS + ("test_error", "bias", "variance"):
        assert est[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k


@settings(max_examples=40, deadline=None)
@given(ks=st.lists(st.integers(2, 4), min_size=1, max_size=4), t=st.integers(1, 4), seed=st.integers(0, 2**31))
def test_identities_hold_in_every_estimate(ks, t, seed):
    """bias + variance = test_error; the components sum to variance; and the bias equals the estimator corrected
    for the variance of the grand mean, mean_t rbar_t^2 - sum_S V_S / n_S (an algebraic identity of the balanced
    design)."""
    rng = np.random.default_rng(seed)
    factors = tuple("ABCD"[: len(ks)])
    r = rng.standard_normal(tuple(ks) + (t,)) * rng.uniform(0.1, 3) + rng.uniform(-2, 2)
    est = crossed_anova(r, factors)
    names = component_keys(factors)
    total = sum(est[k] for k in names)
    assert est["variance"] == pytest.approx(total, rel=1e-12, abs=1e-12)
    assert est["bias"] + est["variance"] == pytest.approx(est["test_error"], rel=1e-12, abs=1e-12)
    rbar = r.mean(axis=tuple(range(len(ks))))
    var_of_mean = sum(est[name] / math.prod(ks[factors.index(f)] for f in name) for name in names)
    assert est["bias"] == pytest.approx(np.mean(rbar**2) - var_of_mean, rel=1e-10, abs=1e-10)


def test_leading_axes_are_independent_designs():
    rng = np.random.default_rng(2)
    r = rng.standard_normal((5, 2, 3, 2, 4))
    batch = crossed_anova(r, ("P", "X", "eps"))
    for i in range(5):
        one = crossed_anova(r[i], ("P", "X", "eps"))
        for k in one:
            assert batch[k][i] == pytest.approx(one[k], rel=1e-13, abs=1e-14)


def test_rejects_single_level_factors_and_bad_shapes():
    with pytest.raises(ValueError, match="eps has 1"):
        crossed_anova(np.zeros((2, 2, 1, 3)), ("P", "X", "eps"))
    with pytest.raises(ValueError, match="shape"):
        crossed_anova(np.zeros((2, 2)), ("P", "X", "eps"))


# --- unbiasedness on a synthetic function with known Sobol components ----------------------------------------------
# f(P, X, E; t) = mu_t + a_t g1(P) + b_t g2(X) + c_t g3(E) + d_t h(P) k(X) + e_t h(P) l(E) + f_t k(X) l(E)
#                 + g_t h(P) k(X) l(E)
# with P ~ N(0,1), X ~ U(-1,1), E ~ Exp(1) - 1 independent and every g, h, k, l of mean zero. Each product of
# mean-zero functions of distinct sources has zero conditional means, so the terms are exactly the Hoeffding
# components and V_S = mean_t coef_t^2 * prod Var(.).
VAR = {"g1": 2.0, "g2": 1.0 / 7.0, "g3": 1.0, "h": 1.0, "k": 1.0 / 3.0, "l": 1.0}
COEF = {  # per test point (T = 3)
    "mu": np.array([0.5, -1.0, 0.2]), "P": np.array([1.0, 0.3, 0.6]), "X": np.array([2.0, 1.0, 0.0]),
    "eps": np.array([0.4, 0.8, 1.2]), "PX": np.array([1.0, 1.5, 0.5]), "Peps": np.array([0.0, 0.7, 0.3]),
    "Xeps": np.array([1.1, 0.2, 0.9]), "PXeps": np.array([0.6, 0.6, 1.4]),
}
TARGET = np.array([0.0, -0.5, 1.0])  # y_*(x_t)
TRUE = {
    "P": np.mean(COEF["P"] ** 2) * VAR["g1"], "X": np.mean(COEF["X"] ** 2) * VAR["g2"],
    "eps": np.mean(COEF["eps"] ** 2) * VAR["g3"], "PX": np.mean(COEF["PX"] ** 2) * VAR["h"] * VAR["k"],
    "Peps": np.mean(COEF["Peps"] ** 2) * VAR["h"] * VAR["l"], "Xeps": np.mean(COEF["Xeps"] ** 2) * VAR["k"] * VAR["l"],
    "PXeps": np.mean(COEF["PXeps"] ** 2) * VAR["h"] * VAR["k"] * VAR["l"],
}
TRUE["variance"] = sum(TRUE[k] for k in KEYS)
TRUE["bias"] = float(np.mean((COEF["mu"] - TARGET) ** 2))
TRUE["test_error"] = TRUE["bias"] + TRUE["variance"]


def synthetic_residuals(rng: np.random.Generator, reps: int, k: tuple[int, int, int]) -> np.ndarray:
    p = rng.standard_normal((reps, k[0]))
    x = rng.uniform(-1.0, 1.0, (reps, k[1]))
    e = rng.exponential(1.0, (reps, k[2])) - 1.0
    P = p[:, :, None, None, None]
    X = x[:, None, :, None, None]
    E = e[:, None, None, :, None]
    c = {name: v[None, None, None, None, :] for name, v in COEF.items()}
    f = (c["mu"] + c["P"] * (P**2 - 1) + c["X"] * X**3 + c["eps"] * E + c["PX"] * P * X + c["Peps"] * P * E
         + c["Xeps"] * X * E + c["PXeps"] * P * X * E)
    return f - TARGET


@pytest.mark.parametrize("k", [(2, 2, 2), (3, 2, 4)])
def test_unbiased_on_synthetic_function(k):
    """Means over 20000 independent designs agree with the exact components within 4.5 standard errors (the
    test checks 10 quantities; 4.5 SE keeps the false-alarm rate below 1e-4)."""
    rng = np.random.default_rng(12345)
    r = synthetic_residuals(rng, 20000, k)
    est = crossed_anova(r, ("P", "X", "eps"))
    for name in KEYS + ("variance", "bias", "test_error"):
        mean, se = mean_and_stderr(est[name])
        assert abs(mean - TRUE[name]) < 4.5 * se, (name, mean, TRUE[name], se)
        assert se < 0.05 * TRUE[name] + 0.01, (name, se)  # the check has power


def test_naive_plug_in_estimators_fail_the_same_check():
    """The power of the unbiasedness test: the plug-in variance of the P-means (ignoring that it also carries
    the interactions divided by k) and the uncorrected bias are rejected by the same 4.5 SE criterion."""
    rng = np.random.default_rng(12345)
    r = synthetic_residuals(rng, 20000, (2, 2, 2))
    naive_p = r.mean(axis=(2, 3)).var(axis=1, ddof=1).mean(axis=-1)
    naive_bias = (r.mean(axis=(1, 2, 3)) ** 2).mean(axis=-1)
    for est, truth in ((naive_p, TRUE["P"]), (naive_bias, TRUE["bias"])):
        mean, se = mean_and_stderr(est)
        assert abs(mean - truth) > 4.5 * se


def test_ensemble_error_formula_and_direct_estimate_are_unbiased():
    """Ensemble over P sharing (X, eps) and bagging over (X, eps) sharing P, against the closed form
    E(k) = B + shared terms + (1/k) redrawn terms with the exact components."""
    k = (3, 2, 2)
    rng = np.random.default_rng(7)
    r = synthetic_residuals(rng, 20000, k)
    est = crossed_anova(r, ("P", "X", "eps"))
    comps = {name: est[name] for name in KEYS}
    truth_p = TRUE["bias"] + TRUE["X"] + TRUE["eps"] + TRUE["Xeps"] + (
        TRUE["P"] + TRUE["PX"] + TRUE["Peps"] + TRUE["PXeps"]) / 3
    truth_bag = TRUE["bias"] + TRUE["P"] + (TRUE["variance"] - TRUE["P"]) / 5
    for per_rep, truth in ((ensemble_error(comps, est["bias"], 3, "P"), truth_p),
                           (ensemble_error_direct(r, ("P", "X", "eps"), "P"), truth_p),
                           (ensemble_error(comps, est["bias"], 5, ("X", "eps")), truth_bag)):
        mean, se = mean_and_stderr(per_rep)
        assert abs(mean - truth) < 4.5 * se, (mean, truth, se)
    one = ensemble_error(comps, est["bias"], 1, "P")
    np.testing.assert_allclose(one, est["test_error"], rtol=1e-12)  # k = 1 is a single model
    inf = ensemble_error(TRUE, TRUE["bias"], math.inf, ("P", "X", "eps"))
    assert inf == pytest.approx(TRUE["bias"])


def test_ensemble_error_rejects_bad_arguments():
    comps = {name: 0.0 for name in KEYS}
    with pytest.raises(ValueError, match="k must be >= 1"):
        ensemble_error(comps, 0.0, 0.5, "P")
    with pytest.raises(ValueError, match="over must name"):
        ensemble_error(comps, 0.0, 2, "W")


def test_mean_and_stderr_edge_cases():
    assert mean_and_stderr([1.0, 3.0]) == (2.0, pytest.approx(1.0))
    assert mean_and_stderr([2.0]) == (2.0, math.inf)
    assert mean_and_stderr([math.inf, math.inf]) == (math.inf, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        mean_and_stderr([1.0, math.nan])
    with pytest.raises(ValueError, match="mix"):
        mean_and_stderr([1.0, math.inf])
