"""rmt.theory.random_features against checkpoint tables and the identities every implementation must satisfy.

The checkpoint tables (Mei & Montanari's risk, arXiv:1908.05355, docs/models.md §3.3-3.5; Adlam & Pennington's
tau1, tau2, training error and fine-grained terms, arXiv:2011.03321, §3.6-3.10; d'Ascoli et al.'s overlaps,
arXiv:2003.01054, §3.12) were computed by an independent implementation of the published equations (MM's from the
authors' public code) and partly confirmed by simulation, so they are independent references. They are matched to
the digits printed (``_sig``): the absolute error must be below half a unit in the last printed digit.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmt import Problem, constants
from rmt.problem import CovarianceSpectrum, LinearProblem
from rmt.solvers import SolverError, Status
from rmt.stieltjes import mp_G, mp_K
from rmt.theory import _rf_core
from rmt.theory.linear import linear_theory
from rmt.theory.random_features import (FINE_GRAINED_KEYS, mei_montanari, mm_large_sample_limit, mm_omega,
                                    mm_test_error, mm_wide_limit, mm_wide_optimal_lambda, optimal_ridge, rf_theory,
                                    large_sample_limit, wide_limit)

RELU = constants("relu")
ZETA_MM = float(RELU.zeta_mm)  # mu1 / mu_star
MU_STAR2 = float(RELU.mu_star2)


def _sig(actual: float, expected: str) -> None:
    """``actual`` rounds to the printed ``expected`` (half a unit in its last digit, plus float slack)."""
    e = float(expected)
    mant = expected.lower().split("e")[0]
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    exp = int(expected.lower().split("e")[1]) if "e" in expected.lower() else 0
    tol = 0.5 * 10.0 ** (exp - decimals) * (1 + 1e-9) + 1e-14 * abs(e)
    assert abs(actual - e) <= tol, f"{actual!r} != {expected} (tolerance {tol:.1e})"


def _mm_problem(psi1, psi2, lam, tau2=0.0, fstar2=0.0):
    return Problem.from_mei_montanari(psi1, psi2, lam, activation="relu", tau2=tau2, Fstar_2=fstar2)


# ---------------------------------------------------------------------------------------------------------------
# Mei-Montanari checkpoints (ReLU, F1 = 1; docs/models.md §3.3-3.4)
# ---------------------------------------------------------------------------------------------------------------

MM_CHECKPOINTS = [  # psi1, psi2, lambda, chi, B, V
    (1, 3, 1e-3, "-0.443218", "0.667047", "0.489198"),
    (3, 3, 1e-3, "-1.754635", "0.577099", "2.953974"),
    (6, 3, 1e-3, "-2.024008", "0.161969", "1.137516"),
    (3, 3, 1e-6, "-2.131141", "15.0037", "102.563"),
    (0.5, 2, 0.1, "-0.135274", "0.822601", "0.200179"),
    (1, 3, 0, "-0.447906", "0.671859", "0.500000"),
    (6, 3, 0, "-2.144874", "0.172627", "1.322309"),
    (0.3, 3, 0, "-0.094176", "0.882418", "0.111111"),
]


@pytest.mark.parametrize("psi1, psi2, lam, chi, B, V", MM_CHECKPOINTS)
def test_mm_checkpoints(psi1, psi2, lam, chi, B, V):
    r = mei_montanari(ZETA_MM, psi1, psi2, lam / MU_STAR2)
    _sig(float(r.chi), chi)
    _sig(float(r.B), B)
    _sig(float(r.V), V)
    # the same numbers through the Adlam-Pennington problem (AP <-> MM mapping, docs/models.md §1.3)
    ap = rf_theory(_mm_problem(psi1, psi2, lam))
    _sig(ap.chi, chi)
    _sig(ap.B_mm, B)
    _sig(ap.V_mm, V)
    _sig(ap.test_error, B)


CURVE = [  # psi1, R(1e-3), R(0.1), B0, V0
    (0.3, "0.88219", "0.86641", "0.88242", "0.11111"),
    (1.0, "0.66705", "0.58194", "0.67186", "0.5"),
    (2.0, "0.60119", "0.39869", "0.68490", "2.0"),
    (2.7, "0.62604", "0.34178", "1.63201", "9.0"),
    (3.0, "0.57710", "0.32516", None, None),
    (3.3, "0.49680", "0.31151", "1.47649", "10.3223"),
    (4.5, "0.26254", "0.27502", "0.31750", "2.32231"),
    (6.0, "0.16197", "0.25007", "0.17263", "1.32231"),
    (15, "0.06483", "0.20603", "0.06397", "0.57231"),
    (30, "0.04517", "0.19173", "0.04385", "0.43342"),
    (300, "0.03062", "0.17907", "0.02922", "0.33241"),
]


def test_mm_curve_at_psi2_3():
    psi1 = np.array([row[0] for row in CURVE], dtype=float)
    r3 = rf_theory(_mm_problem(psi1, 3.0, 1e-3))
    r1 = rf_theory(_mm_problem(psi1, 3.0, 0.1))
    r0 = rf_theory(_mm_problem(psi1, 3.0, 0.0))
    for i, (_, a, b, B0, V0) in enumerate(CURVE):
        _sig(r3.test_error[i], a)
        _sig(r1.test_error[i], b)
        if B0 is None:  # psi1 = psi2: the ridgeless curve diverges
            assert r0.B_mm[i] == math.inf and r0.V_mm[i] == math.inf and r0.test_error[i] == math.inf
        else:
            _sig(r0.B_mm[i], B0)
            _sig(r0.V_mm[i], V0)


def test_mm_curve_local_maximum_and_noise_rows():
    # the lambda = 1e-3 curve has its local maximum at psi1 = 2.5445 with R = 0.63206 (golden section)
    f = lambda p: -float(rf_theory(_mm_problem(p, 3.0, 1e-3)).test_error)  # noqa: E731
    lo, hi = 2.0, 3.0
    g = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        if f(a) < f(b):
            hi = b
        else:
            lo = a
    _sig(0.5 * (lo + hi), "2.5445")
    _sig(-f(0.5 * (lo + hi)), "0.63206")
    # lambda = 0.1 has no local maximum on (2, 4): the curve decreases
    e = rf_theory(_mm_problem(np.linspace(2, 4, 81), 3.0, 0.1)).test_error
    assert np.all(np.diff(e) < 0)
    # tau^2 = 0.5
    psi1 = np.array([1.0, 3.0, 6.0, 30.0])
    for lam, vals in ((1e-3, ["0.91165", "2.05409", "0.73073", "0.25584"]),
                      (0.1, ["0.66997", "0.41419", "0.33160", "0.26400"])):
        r = rf_theory(_mm_problem(psi1, 3.0, lam, tau2=0.5))
        for i, v in enumerate(vals):
            _sig(r.test_error[i], v)


def test_mm_monte_carlo_table_theory_column():
    """Theory values (4 digits) of a published-formula table checked by simulation at d = 400, including a nonlinear
    teacher."""
    rows = [((1, 3, 1e-3, 0, 0), "0.6670"), ((1, 3, 1e-3, 0.5, 0), "0.9116"), ((6, 3, 1e-3, 0, 0), "0.1620"),
            ((6, 3, 1e-3, 0.5, 0), "0.7307"), ((3, 3, 0.1, 0, 0), "0.3252"), ((0.5, 2, 0.1, 0.09, 0.25), "1.1407")]
    for (p1, p2, lam, t2, f2), val in rows:
        p = _mm_problem(p1, p2, lam, tau2=t2, fstar2=f2)
        _sig(rf_theory(p).test_error, val)
        _sig(float(mm_test_error(p)), val)


def test_mm_training_error_table():
    rows = [((1, 3, 0.01, 0.25, 0.25), "0.6353"), ((2, 1, 0.05, 0, 0.49), "0.0908"), ((0.5, 2, 0.1, 0.5, 0), "0.9031")]
    for (p1, p2, lam, t2, f2), val in rows:
        _sig(rf_theory(_mm_problem(p1, p2, lam, tau2=t2, fstar2=f2)).train_error, val)


# ---------------------------------------------------------------------------------------------------------------
# Adlam-Pennington checkpoints, centred ReLU (docs/models.md §3.6, §3.8, §3.9, §3.10)
# ---------------------------------------------------------------------------------------------------------------

def test_tau_checkpoint():
    r = rf_theory(Problem.from_ratios(0.5, 0.5, ridge=0.1, activation="relu"))
    _sig(r.tau1, "4.97964")
    _sig(r.tau2, "2.22321")
    # limits: tau1 ~ tau2 ~ 1/gamma as gamma -> inf; gamma tau1 -> 1 - n1/m as gamma -> 0 (n1 < m)
    big = rf_theory(Problem.from_ratios(0.5, 0.5, ridge=1e7))
    assert big.tau1 * 1e7 == pytest.approx(1.0, abs=1e-6) and big.tau2 * 1e7 == pytest.approx(1.0, abs=1e-6)
    small = rf_theory(Problem.from_ratios(0.5, 2.0, ridge=1e-10))
    assert small.tau1 * 1e-10 == pytest.approx(1 - 0.5 / 2.0, rel=1e-8)


SWEEP_RELU = [  # n1/m, B, V_P, V_X, V_PX, E
    (0.10, "0.73863", "0.12080", "0.00737", "0.08812", "0.95492"),
    (0.50, "0.20078", "0.24713", "0.03607", "0.41095", "0.89493"),
    (0.95, "0.05964", "0.18184", "0.02384", "3.20875", "3.47408"),
    (1.05, "0.05345", "0.16328", "0.02242", "2.95916", "3.19831"),
    (2.0, "0.05228", "0.07263", "0.02214", "0.15485", "0.30190"),
    (10, "0.05221", "0.01275", "0.02212", "0.01260", "0.09968"),
    (100, "0.05220", "0.00124", "0.02212", "0.00106", "0.07662"),
]


def test_fine_grained_sweep():
    w = np.array([row[0] for row in SWEEP_RELU])
    r = rf_theory(Problem.from_ratios(0.5, 0.5 / w, ridge=1e-4, activation="relu"))
    fg = r.fine_grained
    for i, (_, B, VP, VX, VPX, E) in enumerate(SWEEP_RELU):
        _sig(r.bias[i], B)
        _sig(fg["P"][i], VP)
        _sig(fg["X"][i], VX)
        _sig(fg["PX"][i], VPX)
        _sig(r.test_error[i], E)
        assert fg["Xeps"][i] == 0 and fg["PXeps"][i] == 0  # no noise
    noisy = rf_theory(Problem.from_ratios(0.5, 0.5 / 0.95, ridge=1e-4, noise=0.25))
    _sig(noisy.fine_grained["Xeps"], "0.09995")
    _sig(noisy.fine_grained["PXeps"], "3.24662")
    _sig(noisy.test_error, "6.82065")
    for k in ("P", "X", "PX"):  # the other terms are unchanged by label noise
        assert noisy.fine_grained[k] == pytest.approx(fg[k][2], rel=1e-13)
    ridge = rf_theory(Problem.from_ratios(0.5, 0.5 / np.array([0.1, 1.05, 100.0]), ridge=0.1, noise=0.25))
    for v, s in zip(ridge.test_error, ["0.97361", "0.51970", "0.22992"]):
        _sig(v, s)
    dense = rf_theory(Problem.from_ratios(0.5, 0.5 / np.geomspace(0.1, 100, 200), ridge=0.1, noise=0.25))
    assert np.all(np.diff(dense.test_error) < 0)  # monotone: no double descent at this ridge


TABLE_AP_RELU = [  # (phi, psi, gamma, noise): tau1, tau2, E_train, E_test, B, V_P, V_X, V_PX, V_Xeps, V_PXeps
    ((0.5, 0.5, 0.1, 0.25), ("4.9796", "2.2232", "0.1944", "0.5339", "0.1993", "0.1018", "0.0361", "0.0911",
                             "0.04523", "0.06034")),
    ((0.5, 2.0, 0.01, 0.25), ("75.315", "51.100", "0.694", "0.9732", "0.4603", "0.2147", "0.0251", "0.1925",
                              "0.01363", "0.06696")),
    ((1.0, 0.5, 1e-3, 0.25), ("9.632", "4.347", "1.23e-4", "1.0718", "0.2037", "0.1005", "0.0877", "0.3336",
                              "0.1077", "0.2386")),
    ((2.0, 1.0, 0.1, 0.25), ("3.4322", "2.6645", "0.1445", "0.9763", "0.6027", "0.0509", "0.0670", "0.1664",
                             "0.02780", "0.06150")),
    ((0.5, 1.0, 1e-6, 0.25), ("5.0e5", None, "0.349", "1.1458", "0.2006", "0.2473", "0.0361", "0.4118", "0.04495",
                              "0.2050")),
    ((0.5, 0.25, 1e-6, 0.25), ("13.52", "3.087", "0", "0.6585", "0.0521", "0.0727", "0.0221", "0.1556", "0.1060",
                               "0.2500")),
    ((1.0, 1.0, 0.01, 0.0), ("19.108", "9.990", "0.0503", "1.3768", "0.2733", "0.1878", "0.0806", "0.8351", "0",
                             "0")),
]


@pytest.mark.parametrize("params, vals", TABLE_AP_RELU)
def test_theory_column_of_ap_table(params, vals):
    """Only the theory column: the simulation column carries finite-size error (see the Monte Carlo tests)."""
    phi, psi, gamma, noise = params
    r = rf_theory(Problem.from_ratios(phi, psi, ridge=gamma, noise=noise, activation="relu"))
    fg = r.fine_grained
    got = (r.tau1, r.tau2, r.train_error, r.test_error, r.bias, fg["P"], fg["X"], fg["PX"], fg["Xeps"], fg["PXeps"])
    for g, v in zip(got, vals):
        if v is None:
            continue
        if v == "0":
            assert g == pytest.approx(0.0, abs=1e-9)
        else:
            _sig(g, v)


def test_ridgeless_training_error():
    for (phi, psi, noise), val in (((0.5, 1, 0.25), "0.34895"), ((0.5, 2, 0), "0.50623"), ((0.25, 1, 1), "1.08593")):
        r0 = rf_theory(Problem.from_ratios(phi, psi, ridge=0.0, noise=noise))
        _sig(r0.train_error, val)
        # "identical from both sides": the closed form equals the limit of the ridge formula
        small = rf_theory(Problem.from_ratios(phi, psi, ridge=1e-9, noise=noise))
        assert small.train_error == pytest.approx(r0.train_error, rel=1e-7)
    over = rf_theory(Problem.from_ratios(0.5, 0.25, ridge=0.0, noise=0.5))
    assert over.train_error == 0.0  # interpolation for n1 >= m


# ---------------------------------------------------------------------------------------------------------------
# d'Ascoli et al. overlaps (arXiv:2003.01054; docs/models.md §3.12)
# ---------------------------------------------------------------------------------------------------------------

def test_dascoli_overlaps():
    r = rf_theory(_mm_problem(2, 2, 0.1))
    o = r.dascoli_overlaps()
    _sig(o["Psi1"], "0.473530")
    _sig(r.B_mm, "0.450711")
    _sig(o["Psi2"], "0.397771")
    for (p1, p2, lam), val in (((1, 3, 1e-3), "0.549490"), ((6, 3, 1e-3), "0.847792"), ((0.5, 2, 0.5), "0.176516")):
        _sig(rf_theory(_mm_problem(p1, p2, lam)).overlap, val)


def test_dascoli_ensemble_formula_and_ordered_decomposition():
    p = Problem.from_ratios(np.array([0.5, 2.0, 1.0]), np.array([0.7, 1.5, 1.0]), ridge=np.array([0.01, 0.1, 0.0]),
                            noise=0.3, nonlinear_signal=0.2, signal=1.5)
    r = rf_theory(p)
    o = r.dascoli_overlaps()
    F1, Fs, tau2 = 1.5, 0.2, 0.3
    for k in (1, 3, 10):
        ek = (F1 * (1 - 2 * o["Psi1"] + o["Psi2"] / k) + (Fs + tau2) * o["Psi3"] / k + Fs
              + (1 - 1 / k) * (F1 * o["Psi4"] + (Fs + tau2) * o["Psi5"]))
        np.testing.assert_allclose(r.ensemble(k).test_error[:2], ek[:2], rtol=1e-12)
    d = r.ordered_decomposition()
    np.testing.assert_allclose(d["bias"] + d["var_samp"] + d["var_init"] + d["var_noise"], r.test_error, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# identities and limits
# ---------------------------------------------------------------------------------------------------------------

def _random_problem(rng, n, activation, *, ridgeless_fraction=0.1):
    phi = 10 ** rng.uniform(-1.3, 1.3, n)
    psi = 10 ** rng.uniform(-1.3, 1.3, n)
    gamma = 10 ** rng.uniform(-6, 2, n)
    gamma[rng.uniform(size=n) < ridgeless_fraction] = 0.0
    return Problem.from_ratios(phi, psi, ridge=gamma, activation=activation, noise=rng.uniform(0, 1, n),
                               signal=rng.uniform(0.2, 2, n), nonlinear_signal=rng.uniform(0, 0.5, n))


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf", "sign", "softplus"])
def test_identities_on_random_points(activation):
    rng = np.random.default_rng(7)
    r = rf_theory(_random_problem(rng, 3000, activation))
    fg = r.fine_grained
    total = sum(fg[k] for k in FINE_GRAINED_KEYS)
    np.testing.assert_allclose(total, r.variance, rtol=1e-12)
    np.testing.assert_allclose(r.bias + r.variance, r.test_error, rtol=1e-12)
    for k in FINE_GRAINED_KEYS:
        assert np.all(fg[k] >= -1e-12 * r.test_error), k
    assert np.all(fg["eps"] == 0) and np.all(fg["Peps"] == 0)
    # training error never exceeds test error plus noise (a bound on the training error of docs/models.md §3.8)
    p = r.problem
    assert np.all(r.train_error <= r.test_error + p.noise + 1e-12)
    assert np.all(r.diagnostics.status == Status.SUCCESS)
    assert np.all(r.diagnostics.residual <= 1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_three_overlap_expressions_agree(activation):
    """c = 1 - t G_phi(t) (from gamma_tilde) = (1 - t_W G_W)/psi (from kappa') = -z chi/(1 - z chi) (from MM's chi),
    recomputed here from the three independently solved quantities with rmt.stieltjes' MP transforms."""
    rng = np.random.default_rng(3)
    r = rf_theory(_random_problem(rng, 2000, activation))
    p = r.problem
    phi, psi = np.asarray(p.phi), np.asarray(p.psi)
    a = r.eta - r.zeta
    t = phi * (a + r.gamma_tilde) / r.zeta
    tw = (a + r.kappa_prime) / r.zeta
    z2 = r.zeta / a
    c1 = 1 - t * mp_G(t, phi)
    c2 = (1 - tw * mp_G(tw, 1 / psi)) / psi
    c3 = -z2 * r.chi / (1 - z2 * r.chi)
    np.testing.assert_allclose(c1, c2, rtol=0, atol=1e-10)
    np.testing.assert_allclose(c1, c3, rtol=0, atol=1e-10)
    np.testing.assert_allclose(r.overlap, c1, rtol=0, atol=1e-12)
    # the tau identities of §3.9 (i), (ii): gamma tau1 = (gt/zeta) G_{1/phi}(rho), gamma taubar1 = (k'/zeta) G_{1/psi}
    pos = np.asarray(p.ridge) > 0
    gam = np.asarray(p.ridge)[pos]
    lhs = gam * r.tau1[pos]
    rhs = r.gamma_tilde[pos] / r.zeta * mp_G((a + r.gamma_tilde[pos]) / r.zeta, 1 / phi[pos])
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
    taubar = (psi / phi)[pos] * r.tau1[pos] + (1 - (psi / phi)[pos]) / gam
    rhs2 = r.kappa_prime[pos] / r.zeta * mp_G((a + r.kappa_prime[pos]) / r.zeta, 1 / psi[pos])
    np.testing.assert_allclose(gam * taubar, rhs2, rtol=1e-9, atol=1e-12)


def test_terms_from_the_G_K_formulas():
    """The cancellation-free forms of the code equal the expressions in G and K of docs/models.md §3.9 (iii)."""
    rng = np.random.default_rng(11)
    r = rf_theory(_random_problem(rng, 500, "relu", ridgeless_fraction=0.0))
    p = r.problem
    phi, psi, s, noise = (np.asarray(getattr(p, k)) for k in ("phi", "psi", "signal", "noise"))
    fstar = np.asarray(p.nonlinear_signal)
    a = r.eta - r.zeta
    t = phi * (a + r.gamma_tilde) / r.zeta
    G, K = mp_G(t, phi), mp_K(t, phi)
    c = 1 - t * G
    tw = (a + r.kappa_prime) / r.zeta
    GW, KW = mp_G(tw, 1 / psi), mp_K(tw, 1 / psi)
    np.testing.assert_allclose(r.bias, s * (1 - c) ** 2 + fstar, rtol=1e-11)
    np.testing.assert_allclose(r.fine_grained["X"], s * ((1 - 2 * t * G + t * t * K) - c * c)
                               + fstar * phi * (G - t * K), rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(r.fine_grained["Xeps"], noise * phi * (G - t * K), rtol=1e-10)
    vp = s * ((1 / psi) * ((1 - tw * GW) - r.kappa_prime / r.zeta * (GW - tw * KW)) - c * c)
    np.testing.assert_allclose(r.fine_grained["P"], vp, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(r.test_error, s * r.B_mm + (noise + fstar) * r.V_mm + fstar, rtol=1e-12)


def test_large_ridge_gives_the_signal():
    p = Problem.from_ratios(np.array([0.3, 1.0, 3.0]), np.array([2.0, 1.0, 0.5]), ridge=1e9, noise=0.5, signal=1.7,
                            nonlinear_signal=0.3, activation="tanh")
    r = rf_theory(p)
    np.testing.assert_allclose(r.test_error, 1.7 + 0.3, rtol=1e-6)
    np.testing.assert_allclose(r.bias, 1.7 + 0.3, rtol=1e-6)
    assert np.all(r.variance < 1e-6)
    np.testing.assert_allclose(r.train_error, 1.7 + 0.3 + 0.5, rtol=1e-6)  # predicts 0: residual = label power


def test_ridgeless_variance_below_threshold():
    """MM ridgeless (docs/models.md §3.4): V_0 = psi1/(psi2 - psi1) for psi1 < psi2 (OLS variance with N features)."""
    for p1, p2, val in ((1, 3, 0.5), (2, 3, 2.0), (2.9, 3, 29.0), (0.3, 3, 0.3 / 2.7)):
        r = rf_theory(_mm_problem(p1, p2, 0.0))
        assert r.V_mm == pytest.approx(p1 / (p2 - p1), rel=1e-10)
        assert r.V_mm == pytest.approx(val, rel=1e-10)
    p1 = np.geomspace(0.01, 2.99, 50)
    r = mei_montanari(1.3, p1, 3.0, 0.0)
    np.testing.assert_allclose(r.V, p1 / (3 - p1), rtol=1e-9)
    # and the ridgeless bias depends only on min(n1, m)/n0 and is flat above the threshold
    over = rf_theory(_mm_problem(np.array([4.0, 8.0, 50.0]), 3.0, 0.0))
    np.testing.assert_allclose(over.bias, over.bias[0], rtol=1e-12)


@pytest.mark.parametrize("side", ["under", "over"])
def test_ridgeless_closed_form_is_the_limit(side):
    """gamma = 0 is evaluated in closed form; it must be the limit of the ridge formulas, term by term."""
    psi = np.array([1.3, 2.0, 5.0]) if side == "under" else np.array([0.7, 0.4, 0.05])
    base = dict(activation="erf", noise=0.4, signal=1.2, nonlinear_signal=0.1)
    r0 = rf_theory(Problem.from_ratios(0.8, psi, ridge=0.0, **base))
    r1 = rf_theory(Problem.from_ratios(0.8, psi, ridge=1e-11, **base))
    for name in ("test_error", "train_error", "bias", "variance", "chi", "overlap", "gamma_tilde", "kappa_prime"):
        np.testing.assert_allclose(getattr(r1, name), getattr(r0, name), rtol=1e-7, atol=1e-9, err_msg=name)
    for k in FINE_GRAINED_KEYS:
        np.testing.assert_allclose(r1.fine_grained[k], r0.fine_grained[k], rtol=1e-7, atol=1e-9, err_msg=k)
    if side == "over":
        np.testing.assert_allclose(r1.tau1, r0.tau1, rtol=1e-7)
        np.testing.assert_allclose(r1.tau2, r0.tau2, rtol=1e-7)
        np.testing.assert_allclose(r0.tau1, (0.8 / psi) / r0.kappa_prime, rtol=1e-10)  # identity §3.9 (ii)
    else:
        assert np.all(np.isinf(r0.tau1)) and np.all(np.isinf(r0.tau2))


def test_interpolation_threshold():
    r = rf_theory(Problem.from_ratios(0.5, 0.5, ridge=0.0, noise=0.25, activation="relu"))
    fg = r.fine_grained
    for k in ("PX", "PXeps"):
        assert fg[k] == math.inf
    assert r.variance == math.inf and r.test_error == math.inf
    for v in (r.bias, fg["P"], fg["X"], fg["Xeps"], r.train_error):
        assert math.isfinite(v)
    # V_PX diverges even without noise; V_PXeps is then exactly 0 (0 x inf is not a NaN here)
    r = rf_theory(Problem.from_ratios(0.5, 0.5, ridge=0.0, noise=0.0))
    assert r.fine_grained["PX"] == math.inf and r.fine_grained["PXeps"] == 0.0
    # the finite terms are the limits from both sides
    near = rf_theory(Problem.from_ratios(0.5, 0.5 * np.array([1 - 1e-7, 1 + 1e-7]), ridge=0.0, noise=0.25))
    for name, v in (("bias", r.bias), ("P", r.fine_grained["P"]), ("X", r.fine_grained["X"])):
        got = near.bias if name == "bias" else near.fine_grained[name]
        np.testing.assert_allclose(got, v, rtol=1e-4)
    assert np.all(near.fine_grained["PX"] > 1e3)
    # ensembling or bagging infinitely many models removes the divergence
    assert math.isfinite(r.ensemble(math.inf).test_error) and math.isfinite(r.bagging("inf").test_error)
    assert r.ensemble(5).test_error == math.inf


def test_wide_and_large_sample_limits_equal_the_omega_forms():
    phi = np.array([0.2, 0.5, 1.0, 3.0])
    base = dict(ridge=np.array([0.0, 0.01, 0.1, 1.0]), noise=0.3, activation="relu")
    # the finite-width correction is O(1/psi1): the relative gap shrinks tenfold per decade of psi1
    limit = wide_limit(Problem.from_ratios(phi, 1.0, **base))
    gaps = [np.abs(rf_theory(Problem.from_ratios(phi, ps, **base)).test_error / limit - 1) for ps in (1e-5, 1e-6)]
    np.testing.assert_allclose(gaps[0] / gaps[1], 10.0, rtol=1e-3)
    wide = rf_theory(Problem.from_ratios(phi, 1e-9, **base))
    np.testing.assert_allclose(wide.test_error, limit, rtol=1e-7)
    lam_bar = phi * base["ridge"] / MU_STAR2
    B, V = mm_wide_limit(ZETA_MM, 1 / phi, lam_bar)
    np.testing.assert_allclose(wide.B_mm, B, rtol=1e-7)
    np.testing.assert_allclose(wide.V_mm, V, rtol=1e-7)
    # omega = zeta^2 lim chi
    w = mm_omega(ZETA_MM, 1 / phi, lam_bar)
    np.testing.assert_allclose(w, ZETA_MM ** 2 * wide.chi, rtol=1e-7)
    # omega form = linear ridge with rho = (1 + lambda_bar psi2)/zeta^2 (docs/models.md §3.5), through theory.linear
    rho = (1 + lam_bar / phi) / ZETA_MM ** 2
    lin = linear_theory(LinearProblem.from_ratio(phi, ridge=phi * rho, noise=0.0, signal=1.0))
    np.testing.assert_allclose(B, lin.test_error, rtol=1e-10)
    # large sample: psi2 -> inf, V -> 0
    psi = np.array([0.3, 1.0, 2.0])
    lsamp = rf_theory(Problem.from_ratios(1e-6, psi, ridge=np.array([0.0, 1e-3, 1e-2]) * 1e6, activation="relu"))
    Bl = mm_large_sample_limit(ZETA_MM, 1 / psi, np.array([0.0, 1e-3, 1e-2]) * 1e6 * 1e-6 / MU_STAR2)
    np.testing.assert_allclose(lsamp.B_mm, Bl, rtol=1e-5)
    assert np.all(np.asarray(lsamp.V_mm) < 1e-4)
    np.testing.assert_allclose(large_sample_limit(Problem.from_ratios(1.0, psi, ridge=0.0)),
                               mm_large_sample_limit(ZETA_MM, 1 / psi, 0.0), rtol=1e-14)


def test_ensemble_and_bagging():
    p = Problem.from_ratios(0.5, np.array([2.0, 0.5, 0.1]), ridge=1e-3, noise=0.3, nonlinear_signal=0.2)
    r = rf_theory(p)
    fg = r.fine_grained
    one = r.ensemble(1)
    np.testing.assert_allclose(one.test_error, r.test_error, rtol=1e-14)
    np.testing.assert_allclose(r.bagging(1).test_error, r.test_error, rtol=1e-14)
    e4 = r.ensemble(4)
    np.testing.assert_allclose(e4.test_error, r.bias + fg["X"] + fg["Xeps"] + (fg["P"] + fg["PX"] + fg["PXeps"]) / 4)
    b4 = r.bagging(4)
    np.testing.assert_allclose(b4.test_error, r.bias + fg["P"] + (fg["X"] + fg["PX"] + fg["Xeps"] + fg["PXeps"]) / 4)
    # the infinite ensemble is linear ridge regression on the raw inputs with ridge rho (docs/models.md §3.9 (i)),
    # i.e. HMRT with gamma = phi, ridge phi * rho; the nonlinear teacher part acts as extra label noise plus F*^2
    inf = r.ensemble(math.inf)
    lin = linear_theory(LinearProblem.from_ratio(0.5, ridge=0.5 * np.asarray(r.rho), noise=0.3 + 0.2, signal=1.0))
    np.testing.assert_allclose(inf.test_error, lin.test_error + 0.2, rtol=1e-10)
    np.testing.assert_allclose(r.bagging(math.inf).test_error, r.bias + fg["P"], rtol=1e-14)
    with pytest.raises(ValueError, match="k must be"):
        r.ensemble(0)
    with pytest.raises(ValueError, match="k must be"):
        r.bagging(2.5)


def test_vectorized_equals_scalar_and_quartic_route():
    rng = np.random.default_rng(2)
    p = _random_problem(rng, 40, "tanh", ridgeless_fraction=0.0)
    r = rf_theory(p)
    for i, sub in enumerate(p.map(lambda q: q)):
        s = rf_theory(sub)
        assert s.test_error == r.test_error[i]
        assert s.fine_grained["PX"] == r.fine_grained["PX"][i]
        assert s.train_error == r.train_error[i]
    # the branch rule of docs/models.md §3.6 (unique real quartic root in (0, 1/gamma] with tau2 > 0, all four roots
    # examined) selects the same tau1 as the effective-ridge route, at every point
    # wherever float64 can separate the quartic's roots. Where n1 < m and the ridge is small, the physical root has
    # a spurious twin within ~1e-5 relative (tau2 < 0 there); float64 then blurs the pair into a complex one or loses
    # digits in tau2, and the point is reported as failed -- never as a wrong value -- while the effective-ridge route
    # (convex equation, unique root) is unaffected.
    big = _random_problem(rng, 3000, "relu", ridgeless_fraction=0.0)
    q = rf_theory(big, method="quartic", throw=False)
    e = rf_theory(big)
    st = np.asarray(q.diagnostics.status)
    routes = np.asarray(q.diagnostics.residuals["tau1_routes"])
    assert np.mean(st == Status.SUCCESS) > 0.8
    assert not np.any(st == Status.AMBIGUOUS_BRANCH)  # the rule never finds two qualifying roots
    assert np.all(np.asarray(big.width_ratio)[st != Status.SUCCESS] < 1)
    np.testing.assert_allclose(q.tau1[st == Status.SUCCESS], e.tau1[st == Status.SUCCESS], rtol=1e-10)
    assert np.max(routes[st != Status.NO_PHYSICAL_ROOT]) < 1e-7


def test_mm_fixed_point_branch():
    rng = np.random.default_rng(5)
    p1, p2 = 10 ** rng.uniform(-1.5, 1.5, 500), 10 ** rng.uniform(-1.5, 1.5, 500)
    lb = 10 ** rng.uniform(-8, 3, 500)
    z = rng.uniform(0.1, 3, 500)
    r = mei_montanari(z, p1, p2, lb)
    a1, a2, z2, s = r.a1, r.a2, z * z, np.sqrt(p1 * p2 * lb)
    assert np.all(a1 > 0) and np.all(a2 > 0) and np.all(r.chi < 0)
    np.testing.assert_allclose(-a1 * a2, r.chi, rtol=1e-9)
    # MM's original equations (arXiv:1908.05355; docs/models.md §3.3) at nu_j = i a_j
    np.testing.assert_allclose(a1, p1 / (s + a2 + z2 * a2 / (1 + z2 * a1 * a2)), rtol=1e-9)
    np.testing.assert_allclose(a2, p2 / (s + a1 + z2 * a1 / (1 + z2 * a1 * a2)), rtol=1e-9)
    # large lambda: a_j ~ psi_j / s, B -> 1, V -> 0
    big = mei_montanari(1.2, 2.0, 3.0, 1e12)
    assert big.a1 * math.sqrt(6e12) == pytest.approx(2.0, rel=1e-5) and big.B == pytest.approx(1.0, abs=1e-5)
    assert big.V == pytest.approx(0.0, abs=1e-5)


def test_optimal_ridge():
    # MM's closed form in the wide limit (docs/models.md §3.5; values checked by a grid search: ReLU, psi2 = 3, F1 = 1,
    # F* = 0)
    for tau2, val in ((0.01, 0.0), (0.1, 0.0), (0.5, "0.12532"), (2.0, "1.5013")):
        lam = float(mm_wide_optimal_lambda(ZETA_MM, 3.0, 1.0 / tau2))
        if val == 0.0:
            assert lam == 0.0
        else:
            _sig(lam, val)
    # the vectorized search approaches the closed form as n1 -> inf
    noise = np.array([0.01, 0.5, 2.0])
    opt = optimal_ridge(Problem.from_ratios(1 / 3, 1e-5, ridge=0.0, noise=noise, activation="relu"))
    closed = mm_wide_optimal_lambda(ZETA_MM, 3.0, 1.0 / noise)
    assert opt.lambda_bar[0] == 0.0
    np.testing.assert_allclose(opt.lambda_bar[1:], closed[1:], rtol=2e-3)
    # the error at the optimum is the MM formula there, and no grid ridge does better
    rng = np.random.default_rng(9)
    p = Problem.from_ratios(10 ** rng.uniform(-1, 1, 30), 10 ** rng.uniform(-1, 1, 30), ridge=0.0,
                            noise=rng.uniform(0, 1, 30), activation="erf")
    o = optimal_ridge(p)
    fin = np.isfinite(o.ridge)
    at = rf_theory(p.replace(ridge=np.where(fin, o.ridge, 0.0)))
    np.testing.assert_allclose(at.test_error[fin], o.test_error[fin], rtol=1e-12)
    dense = np.geomspace(1e-7, 1e4, 400)
    for i in range(30):
        grid = rf_theory(Problem.from_ratios(p.phi[i], p.psi[i], ridge=dense, noise=p.noise[i], activation="erf"))
        assert o.test_error[i] <= np.min(grid.test_error) * (1 + 1e-9)
        if 0 < o.ridge[i] < np.inf:  # a local minimum
            near = rf_theory(Problem.from_ratios(p.phi[i], p.psi[i], ridge=o.ridge[i] * np.array([0.99, 1.01]),
                                                 noise=p.noise[i], activation="erf"))
            assert np.all(near.test_error >= o.test_error[i] * (1 - 1e-12))
    # zero signal: the zero predictor (infinite ridge) is optimal
    z = optimal_ridge(Problem.from_ratios(0.5, 0.5, ridge=0.0, noise=1.0, signal=0.0))
    assert z.ridge == math.inf and z.test_error == 0.0


def test_quadratic_activation_zeta_zero():
    """An even activation (zeta = mu1^2 = 0) learns nothing linear: bias = signal, V_P = V_X = 0; tau1 is the MP
    Stieltjes transform of eta times a Wishart matrix of ratio m/n1."""
    p = Problem.from_ratios(np.array([0.5, 2.0]), np.array([1.0, 0.5]), ridge=np.array([0.1, 1e-3]),
                            activation="quadratic", noise=0.5)
    r = rf_theory(p)
    eta = r.eta
    np.testing.assert_allclose(r.bias, 1.0)
    np.testing.assert_allclose(r.fine_grained["P"], 0.0, atol=1e-15)
    np.testing.assert_allclose(r.tau1, mp_G(np.asarray(p.ridge) / eta, np.asarray(p.psi / p.phi)) / eta, rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="psi"):
        Problem.from_ratios(0.5, -1.0, ridge=0.1)
    with pytest.raises(ValueError, match="ridge"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=-0.1))
    with pytest.raises(ValueError, match="ridge"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=float("nan")))
    with pytest.raises(ValueError, match="activation"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=0.1, activation="nope"))
    with pytest.raises(ValueError, match="nonlinear"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=0.1, activation="linear"))
    with pytest.raises(ValueError, match="covariance"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=0.1, covariance=CovarianceSpectrum([1.0, 2.0])))
    with pytest.raises(ValueError, match="method"):
        rf_theory(Problem.from_ratios(0.5, 1.0, ridge=0.1), method="newton")
    with pytest.raises(ValueError, match="problem"):
        rf_theory({"phi": 0.5})
    with pytest.raises(ValueError, match="psi1"):
        mei_montanari(1.0, 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="lam_bar"):
        mei_montanari(1.0, 1.0, 1.0, -0.1)
    with pytest.raises(ValueError, match="noise"):
        Problem.from_ratios(0.5, 1.0, ridge=0.1, noise=-1)


def test_failed_solve_raises_with_residual(monkeypatch):
    """A solve that does not converge raises SolverError carrying its residual; with throw=False the failed points
    are marked, never silently NaN."""
    real = _rf_core.monotone_newton
    monkeypatch.setattr(_rf_core, "monotone_newton",
                        lambda f, x0, **kw: real(f, x0, **{**kw, "maxiter": 1}))
    p = Problem.from_ratios(np.array([0.5, 2.0]), np.array([0.5, 0.3]), ridge=1e-4, noise=0.1)
    with pytest.raises(SolverError) as info:
        rf_theory(p)
    assert info.value.residual > 1e-8
    r = rf_theory(p, throw=False)
    assert np.all(r.diagnostics.status != Status.SUCCESS)
    assert np.all(r.diagnostics.residual > 1e-8)
