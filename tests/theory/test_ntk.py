"""rmt.theory.ntk, quadratic scaling and infinite width: checkpoints, the random-feature reduction, limits, identities,
bad input.

Expected values come only from independent sources: checkpoint tables computed by an independent implementation of
the equations of docs/models.md §4.3-4.6 (several rows confirmed by simulation of the empirical NTK at n0 = 400),
Adlam & Pennington's published equations (S67)/(S68) (arXiv:2011.03321) and the quartic eliminated from them in
:mod:`rmt.kernel_spectrum`, the random-feature checkpoint tables (docs/models.md §3.9-3.10, computed by an independent
implementation of AP-RF), closed forms evaluated here by direct quadrature of the Marchenko-Pastur density, and finite
differences.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from rmt._validation import SMALLEST_RIDGE
from rmt import Problem, SolverError, constants
from rmt.kernel_spectrum import GAMMA, PHI, PSI, ETA, ZETA, TAU1, TAU2, ap_equations, rf_kernel_polynomial
from rmt.theory._ntk_quadratic import kappa_state
from rmt.theory.ntk import FINE_GRAINED_KEYS, infinite_width, ntk_constants, quadratic_scaling
from tests.theory._ntk_refs import mp_integral


def prob(act, phi, psi, ridge, noise, signal=1.0):
    return Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, signal=signal)


# ---------------------------------------------------------------------------------------------------------------
# NTK checkpoints (AP-NTK arXiv:2008.06786, docs/models.md §4.3-4.5; ID test error excluding test noise), 6 digits
# ---------------------------------------------------------------------------------------------------------------

TABLE_NTK = [  # act, phi, psi, gamma, sigma^2, E_NTK, Bias, kappa, d2, E_RF, E_inf
    ("relu", 0.5, 0.5, 1e-3, 0.1, 0.222208, 0.124020, 0.468497, 0.246633, 2.141539, 0.174459),
    ("relu", 0.5, 2.0, 1e-3, 0.1, 0.259046, 0.142521, 0.102881, 0.244651, 0.932424, 0.174459),
    ("relu", 1.0, 1.0, 1e-4, 0.0, 0.449441, 0.320050, 0.555305, 0.237222, 10.412538, 0.381634),
    ("relu", 2.0, 1.0, 1e-2, 0.2, 0.726658, 0.558854, 1.354752, 0.167869, 1.321399, 0.666427),
    ("relu", 0.5, 1.0, 0.0, 0.0, 0.211494, 0.131382, 0.220032, 0.253227, 0.895812, 0.145998),
    ("tanh", 0.5, 0.5, 1e-3, 0.1, 0.105492, 0.019859, 0.207502, 0.384687, 0.652934, 0.088345),
    ("tanh", 1.0, 1.0, 1e-4, 0.0, 0.247752, 0.122567, 0.332147, 0.446013, 4.333524, 0.202142),
    ("tanh", 2.0, 1.0, 1e-2, 0.2, 0.681417, 0.384203, 1.082386, 0.321693, 1.199312, 0.621863),
    ("tanh", 0.8, 0.2, 1e-3, 0.1, 0.207437, 0.066413, 1.215654, 0.446946, 0.269884, 0.196546),
]


def _six(x, ref):
    """Agreement to the 6 decimals printed (half a unit in the last place, plus rounding of the reference)."""
    return abs(x - ref) <= 6e-7 + 1e-9 * abs(ref)


@pytest.mark.parametrize("row", TABLE_NTK, ids=[f"{r[0]}-{r[1]}-{r[2]}-{r[3]}" for r in TABLE_NTK])
def test_checkpoint_table_ntk(row):
    act, phi, psi, gamma, s2, e_ntk, bias, kappa, d2, e_rf, e_inf = row
    p = prob(act, phi, psi, gamma, s2)
    ntk = quadratic_scaling(p)
    assert _six(ntk.test_error, e_ntk), ntk.test_error
    assert _six(ntk.bias, bias), ntk.bias
    assert _six(ntk.kappa, kappa), ntk.kappa
    assert _six(ntk.d2, d2), ntk.d2
    assert _six(infinite_width(p).test_error, e_inf)
    if gamma > 0:  # the RF column is at the same ridge (the ridgeless RF at n1 = m/2 is finite too)
        assert abs(quadratic_scaling(p, lr_ratio=0.0).test_error - e_rf) <= 6e-7 * max(1.0, e_rf)
    else:
        assert abs(quadratic_scaling(p, lr_ratio=0.0).test_error - e_rf) <= 6e-7


def test_simulation_rows_match_theory_column():
    """Theory column (4 digits) of an empirical-NTK comparison (tanh, n0 = 400; docs/models.md §4.2),
    (phi, psi, gamma, sigma^2)."""
    for (phi, psi, gamma, s2), ref in [((0.5, 0.5, 1e-3, 0.1), 0.1055), ((1, 1, 1e-4, 0), 0.2478),
                                       ((2, 1, 1e-2, 0.2), 0.6814), ((0.8, 0.2, 1e-3, 0.1), 0.2074)]:
        assert quadratic_scaling(prob("tanh", phi, psi, gamma, s2)).test_error == pytest.approx(ref, abs=6e-5)


def test_tanh_bias_four_digits():
    # tanh bias = r^2 (docs/models.md §4.3) at (phi, psi, gamma) = (0.5,0.5,1e-3), (1,1,1e-4), (2,0.3,1e-2); these
    # reference values are truncated to four decimals (the NTK table gives 0.019859 and 0.122567 for the first two)
    for (phi, psi, gamma), ref in [((0.5, 0.5, 1e-3), 0.0198), ((1, 1, 1e-4), 0.1225), ((2, 0.3, 1e-2), 0.3801)]:
        bias = quadratic_scaling(prob("tanh", phi, psi, gamma, 0.0)).bias
        assert ref - 1e-9 <= bias < ref + 1e-4


def test_relu_width_sweep():
    """Soft maximum of the NTK and the RF pole (docs/models.md §4.6; values from the independent implementation):
    centred ReLU, phi = 0.5, sigma^2 = 0.1, gamma = 1e-12, NTK and RF against n1/m."""
    table = [(0.05, 0.2431, 0.982), (0.10, 0.2525, 0.966), (0.18, 0.2587, 0.945), (0.30, 0.2568, 0.931),
             (0.50, 0.2454, 0.996), (2, 0.2016, 0.445), (5, 0.1860, 0.199), (20, 0.1772, 0.134)]
    ratio = np.array([t[0] for t in table])
    p = Problem.from_ratios(0.5, 0.5 / ratio, ridge=1e-12, activation="relu", noise=0.1)
    ntk, rf = quadratic_scaling(p), quadratic_scaling(p, lr_ratio=0.0)
    np.testing.assert_allclose(ntk.test_error, [t[1] for t in table], atol=6e-5)
    np.testing.assert_allclose(rf.test_error, [t[2] for t in table], atol=6e-4)
    # the soft maximum sits near n1/m = 0.18 (§4.6): neighbours on both sides are lower
    assert ntk.test_error[2] > ntk.test_error[1] and ntk.test_error[2] > ntk.test_error[3]


# ---------------------------------------------------------------------------------------------------------------
# random features (lr_ratio = 0) against Adlam & Pennington's equations and the random-feature checkpoints
# ---------------------------------------------------------------------------------------------------------------

RF_POINTS = [("relu", 0.5, 0.5, 0.1), ("relu", 0.5, 2.0, 0.01), ("relu", 1.0, 0.5, 1e-3), ("relu", 2.0, 1.0, 0.1),
             ("tanh", 1.5, 0.8, 0.1), ("erf", 0.3, 1.7, 0.05), ("tanh", 0.7, 0.2, 0.02)]


@pytest.mark.parametrize("act,phi,psi,gamma", RF_POINTS)
def test_rf_reduction_solves_ap_s67_s68(act, phi, psi, gamma):
    """tau1 = phi / (psi kappa) and tau2 = r tau1 (alpha = 1 - tau2/tau1) solve (S67)/(S68) and the quartic."""
    c = constants(act)
    res = quadratic_scaling(prob(act, phi, psi, gamma, 0.0), lr_ratio=0.0)
    tau1 = res.tau1
    tau2 = (1.0 - res.alpha) * tau1
    subs = {PHI: phi, PSI: psi, GAMMA: gamma, ETA: c.eta, ZETA: c.zeta, TAU1: tau1, TAU2: tau2}
    s67, s68 = ap_equations()
    scale = tau1 * tau2 * max(1.0, tau1) + 1.0
    assert abs(float(s67.subs(subs))) <= 1e-10 * scale
    assert abs(float(s68.subs(subs))) <= 1e-10 * scale
    coeffs = rf_kernel_polynomial().coefficients(phi, psi, gamma, c.eta, c.zeta)
    val = np.polyval(coeffs, tau1)
    assert abs(val) <= 1e-10 * np.polyval(np.abs(coeffs), abs(tau1))
    # ... and tau1 is the physical root of the quartic: real, in (0, 1/gamma], with tau2 > 0
    roots = rf_kernel_polynomial().roots(phi, psi, gamma, c.eta, c.zeta)
    phys = [r.real for r in roots if abs(r.imag) < 1e-9 * abs(r) and 0 < r.real <= 1 / gamma * (1 + 1e-12)]
    assert any(abs(r - tau1) < 1e-8 * tau1 for r in phys)


def test_rf_reduction_matches_fine_grained_sweep():
    """The fine-grained sweep of test_random_features.py (AP-RF, docs/models.md §3.9): centred ReLU, phi = 0.5,
    gamma = 1e-4, sigma^2 = 0 (B, V_P, V_X, V_PX, E)."""
    table = [(0.10, 0.73863, 0.12080, 0.00737, 0.08812, 0.95492), (0.50, 0.20078, 0.24713, 0.03607, 0.41095, 0.89493),
             (0.95, 0.05964, 0.18184, 0.02384, 3.20875, 3.47408), (1.05, 0.05345, 0.16328, 0.02242, 2.95916, 3.19831),
             (2.0, 0.05228, 0.07263, 0.02214, 0.15485, 0.30190), (10, 0.05221, 0.01275, 0.02212, 0.01260, 0.09968),
             (100, 0.05220, 0.00124, 0.02212, 0.00106, 0.07662)]
    t = np.array(table)
    res = quadratic_scaling(Problem.from_ratios(0.5, 0.5 / t[:, 0], ridge=1e-4, activation="relu"), lr_ratio=0.0)
    fg = res.fine_grained
    for got, col in ((res.bias, 1), (fg["P"], 2), (fg["X"], 3), (fg["PX"], 4), (res.test_error, 5)):
        np.testing.assert_allclose(got, t[:, col], atol=6e-6, rtol=2e-5)


def test_rf_reduction_matches_ap_table():
    """Theory values of the AP-RF table of test_random_features.py: tau1, tau2, E_train, E_test, B, V_P, V_X, V_PX,
    V_Xeps, V_PXeps."""
    rows = [((0.5, 0.5, 0.1, 0.25), (4.9796, 2.2232, 0.1944, 0.5339, 0.1993, 0.1018, 0.0361, 0.0911, 0.04523, 0.06034)),
            ((0.5, 2.0, 0.01, 0.25), (75.315, 51.100, 0.694, 0.9732, 0.4603, 0.2147, 0.0251, 0.1925, 0.01363, 0.06696)),
            ((2.0, 1.0, 0.1, 0.25), (3.4322, 2.6645, 0.1445, 0.9763, 0.6027, 0.0509, 0.0670, 0.1664, 0.02780, 0.06150))]
    for (phi, psi, gamma, s2), ref in rows:
        r = quadratic_scaling(prob("relu", phi, psi, gamma, s2), lr_ratio=0.0)
        fg = r.fine_grained
        got = (r.tau1, (1 - r.alpha) * r.tau1, r.train_error, r.test_error, r.bias, fg["P"], fg["X"], fg["PX"],
               fg["Xeps"], fg["PXeps"])
        for g, e in zip(got, ref):
            digits = len(str(e).split(".")[1]) if "." in str(e) else 0
            assert abs(g - e) <= 0.6 * 10.0 ** -digits + 1e-12, (phi, psi, g, e)


@pytest.mark.parametrize("ridge", [0.1, 1e-3, 0.0])
def test_rf_reduction_matches_theory_random_features(ridge):
    """lr_ratio = 0 against the independent implementation theory.random_features (Mei-Montanari / AP route),
    test error, bias, variance and every fine-grained term, over a grid including the ridgeless limit."""
    from rmt.theory.random_features import rf_theory

    phi = np.array([0.3, 0.5, 1.0, 2.0])[:, None]
    psi = np.array([0.2, 0.7, 1.6, 4.0])[None, :]
    for act in ("relu", "tanh", "erf"):
        p = Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=0.3, signal=1.2)
        ours, theirs = quadratic_scaling(p, lr_ratio=0.0), rf_theory(p)
        for key in ("test_error", "train_error", "bias", "variance"):
            np.testing.assert_allclose(getattr(ours, key), getattr(theirs, key), rtol=1e-8, atol=1e-12,
                                       err_msg=f"{act} {key}")
        for key in FINE_GRAINED_KEYS:
            np.testing.assert_allclose(ours.fine_grained[key], theirs.fine_grained[key], rtol=1e-7, atol=1e-11,
                                       err_msg=f"{act} V_{key}")


# ---------------------------------------------------------------------------------------------------------------
# infinite width
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("lr", [1.0, 0.3, 0.0])
@pytest.mark.parametrize("phi,gamma,s2", [(0.5, 1e-3, 0.1), (2.0, 0.05, 0.3), (1.0, 0.0, 0.2)])
def test_infinite_width_is_linear_ridge(act, lr, phi, gamma, s2):
    """E_inf = s t^2 K_phi(t) + sigma^2 phi (G_phi(t) - t K_phi(t)), t = phi lambda_e, by quadrature."""
    c = constants(act)
    lam_e = (c.mu_star2 + lr * (c.mean_sq_derivative - c.zeta) + gamma) / ((1 + lr) * c.zeta)
    t = phi * lam_e
    G = mp_integral(lambda s: 1 / (s + t), phi)
    K = mp_integral(lambda s: 1 / (s + t) ** 2, phi)
    res = infinite_width(prob(act, phi, 1.0, gamma, s2, signal=1.3), lr_ratio=lr)
    assert res.test_error == pytest.approx(1.3 * t * t * K + s2 * phi * (G - t * K), rel=1e-9)
    assert res.alpha == pytest.approx(1 - t * G, rel=1e-9)
    assert res.bias == pytest.approx(1.3 * (t * G) ** 2, rel=1e-9)
    assert res.fine_grained["X"] + res.fine_grained["Xeps"] == pytest.approx(res.variance, rel=1e-9, abs=1e-14)
    assert res.fine_grained["Xeps"] == pytest.approx(res.noise_variance, rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("lr", [1.0, 0.25])
@pytest.mark.parametrize("phi,gamma,s2", [(0.5, 0.1, 0.1), (2.0, 1e-3, 0.2), (1.0, 0.0, 0.0)])
def test_finite_width_approaches_infinite_width(act, lr, phi, gamma, s2):
    """n1/m = 1e4: within 2e-4 (relative) of the infinite-width NTK, closer than at n1/m = 1e2 and 1e3."""
    e_inf = infinite_width(prob(act, phi, 1.0, gamma, s2), lr_ratio=lr).test_error
    gaps = [abs(quadratic_scaling(prob(act, phi, phi / w, gamma, s2), lr_ratio=lr).test_error - e_inf)
            for w in (1e2, 1e3, 1e4)]
    assert gaps[2] <= 2e-4 * e_inf
    assert gaps[2] < gaps[1] < gaps[0]


def test_relu_width_1e3_near_infinite_width():
    p = Problem.from_ratios(0.5, 0.5 / 1e3, ridge=1e-12, activation="relu", noise=0.1)
    assert quadratic_scaling(p).test_error == pytest.approx(0.174166, abs=6e-7)
    assert infinite_width(p).test_error == pytest.approx(0.17410, abs=6e-6)


def test_f0_excess_tends_to_the_infinite_width_gp_limit():
    """With f0, as n1 -> infinity f0 is a Gaussian process: its linear part (power zeta) is extra signal, its
    nonlinear part (power mu_star^2) extra label noise and an unlearnable part of the test target."""
    for act in ("relu", "tanh"):
        c = constants(act)
        for phi in (0.5, 2.0):
            got = quadratic_scaling(prob(act, phi, phi * 1e-5, 1e-2, 0.1), include_f0=True)
            lim = infinite_width(prob(act, phi, 1.0, 1e-2, 0.1 + c.mu_star2, signal=1 + c.zeta)).test_error
            assert got.test_error == pytest.approx(lim + c.mu_star2, rel=1e-4)
            assert got.fine_grained is None and got.f0_excess > 0
            base = quadratic_scaling(prob(act, phi, phi * 1e-5, 1e-2, 0.1))
            assert got.bias == pytest.approx(base.bias, rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# internal consistency
# ---------------------------------------------------------------------------------------------------------------

def _trace_form_T(kappa, phi, psi, zeta, ms2, c1):
    """The trace form T = (1/m) tr (C + kappa)^-1 (feature space, averaged over W) and T', with r and r' from the
    quadratic a b r^2 + B r - 1 = 0 of docs/models.md §4.3: the form the cancellation-free d1 was derived from."""
    nu = ms2 + kappa
    a = 1 + c1 / (psi * kappa)
    b = zeta / nu
    B = a + b * (1 / psi - 1)
    r = (-B + math.sqrt(B * B + 4 * a * b)) / (2 * a * b)
    T = (phi / psi) / nu + phi / kappa - phi * ((1 - a * r) / nu + c1 * r / (psi * kappa ** 2))
    ap, bp = -c1 / (psi * kappa ** 2), -zeta / nu ** 2
    rp = -((b * r * r + r) * ap + (a * r * r + (1 / psi - 1) * r) * bp) / (2 * a * b * r + a + b * (1 / psi - 1))
    Tp = (-(phi / psi) / nu ** 2 - phi / kappa ** 2
          - phi * ((-ap * r - a * rp) / nu - (1 - a * r) / nu ** 2 + c1 / psi * (rp / kappa ** 2 - 2 * r / kappa ** 3)))
    return r, rp, T, Tp


@pytest.mark.parametrize("kappa", [0.05, 0.4, 3.0])
@pytest.mark.parametrize("phi,psi", [(0.5, 0.5), (2.0, 0.7), (0.3, 3.0)])
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_stable_d1_d2_equal_the_trace_T_form(kappa, phi, psi, act):
    c = ntk_constants(act)
    st = kappa_state(kappa, phi, psi, c.zeta, c.mu_star2, c.c1)
    r, rp, T, Tp = _trace_form_T(kappa, phi, psi, c.zeta, c.mu_star2, c.c1)
    nm = phi / psi + phi
    assert float(st.r) == pytest.approx(r, rel=1e-12)
    assert float(st.dr) == pytest.approx(rp, rel=1e-9)
    assert float(st.d1) == pytest.approx(nm - kappa * T, rel=1e-10)
    assert float(st.d2) == pytest.approx(nm - 2 * kappa * T - kappa ** 2 * Tp, rel=1e-9, abs=1e-12)
    # and r' against a central difference
    h = 1e-6 * kappa
    fd = (float(kappa_state(kappa + h, phi, psi, c.zeta, c.mu_star2, c.c1).r)
          - float(kappa_state(kappa - h, phi, psi, c.zeta, c.mu_star2, c.c1).r)) / (2 * h)
    assert float(st.dr) == pytest.approx(fd, rel=1e-7)


def _ensemble_rho_by_delta(act, phi, psi, gamma, lr):
    """Independent route to the P-averaged predictor: the deterministic equivalent of the resolvent of
    F^T F / n1 (a sample covariance of n1 rows with covariance zeta X^T X/n0 + mu*^2 I given X) gives linear ridge
    with rho = (mu*^2/(1+delta) + c2 + gamma) / (zeta/(1+delta) + c1), where
    delta = (psi/phi) int (zeta s + mu*^2) / ((zeta s + mu*^2)/(1+delta) + c1 s + c2 + gamma) dMP_{1/phi}(s)."""
    c = ntk_constants(act, lr)
    z, ms2, c1, c2 = c.zeta, c.mu_star2, float(c.c1), float(c.c2)

    def eq(x):  # x = 1/(1+delta): 1 - x = H(x), H increasing (unique root; bisect in x)
        h = (psi / phi) * mp_integral(lambda s: x * (z * s + ms2) / (x * (z * s + ms2) + c1 * s + c2 + gamma),
                                       1 / phi)
        return 1 - x - h

    x = scipy.optimize.brentq(eq, 1e-12, 1.0, xtol=1e-15)
    return (ms2 * x + c2 + gamma) / (z * x + c1)


@pytest.mark.parametrize("act,phi,psi,gamma,lr", [("relu", 0.5, 0.5, 1e-3, 1.0), ("tanh", 2.0, 0.7, 0.1, 1.0),
                                                  ("erf", 0.8, 3.0, 0.01, 0.3), ("relu", 1.5, 0.8, 0.1, 0.0)])
def test_ensemble_ridge_equals_direct_deterministic_equivalent(act, phi, psi, gamma, lr):
    """V_X and V_Xeps use rho from t G_phi(t) = r; the direct derivation of rho must agree."""
    res = quadratic_scaling(prob(act, phi, psi, gamma, 0.1), lr_ratio=lr)
    assert res.ensemble_ridge == pytest.approx(_ensemble_rho_by_delta(act, phi, psi, gamma, lr), rel=1e-8)


@settings(max_examples=60, deadline=None)
# ridges are 0 or normal floats (a subnormal ridge is refused: test_subnormal_ridges_are_refused)
@given(phi=st.floats(0.05, 8.0), psi=st.floats(0.05, 8.0),
       gamma=st.one_of(st.just(0.0), st.floats(SMALLEST_RIDGE, 2.0)), s2=st.floats(0.0, 2.0),
       signal=st.floats(0.1, 3.0), lr=st.one_of(st.just(0.0), st.floats(1e-300, 3.0)),
       act=st.sampled_from(["relu", "tanh", "erf", "gelu"]))
def test_identities(phi, psi, gamma, s2, signal, lr, act):
    if lr == 0.0 and gamma == 0.0 and abs(phi / psi - 1.0) < 1e-3:
        return  # the ridgeless random-feature pole; covered separately
    r = quadratic_scaling(prob(act, phi, psi, gamma, s2, signal), lr_ratio=lr)
    tol = 1e-9 * max(1.0, r.test_error)
    assert 0 <= r.d2 < 1 and r.kappa >= 0
    assert r.bias + r.variance == pytest.approx(r.test_error, abs=tol)
    assert -tol <= r.noise_variance <= r.variance + tol
    assert sum(r.fine_grained[k] for k in FINE_GRAINED_KEYS) == pytest.approx(r.variance, abs=tol)
    assert all(r.fine_grained[k] >= -1e-9 * max(1.0, r.test_error) for k in FINE_GRAINED_KEYS)
    assert r.fine_grained["eps"] == 0 and r.fine_grained["Peps"] == 0
    assert r.fine_grained["Xeps"] + r.fine_grained["PXeps"] == pytest.approx(r.noise_variance, abs=tol)
    assert 0 <= r.train_error <= r.test_error + s2 + tol
    inf = infinite_width(prob(act, phi, psi, gamma, s2, signal), lr_ratio=lr)
    assert inf.bias + inf.variance == pytest.approx(inf.test_error, abs=tol)
    assert -tol <= inf.noise_variance <= inf.variance + tol


@pytest.mark.parametrize("ridge", [5e-324, 1e-315, 2.2e-308])
def test_subnormal_ridges_are_refused(ridge):
    """A positive ridge below float64's smallest normal number is refused by name (it used to give an infinite test
    error at the random-feature threshold without a word); the smallest normal one is answered."""
    with pytest.raises(ValueError, match="ridge must be 0 or at least"):
        Problem.from_ratios(phi=0.5, psi=0.5, ridge=ridge, activation="relu")
    r = quadratic_scaling(Problem.from_ratios(phi=0.5, psi=0.5, ridge=SMALLEST_RIDGE, activation="relu"),
                          lr_ratio=0.0)
    assert np.isfinite(r.test_error) and r.d2 < 1
    with pytest.raises(ValueError, match="lr_ratio must be 0 or at least"):
        quadratic_scaling(Problem.from_ratios(phi=0.5, psi=0.5, ridge=0.0, activation="relu"), lr_ratio=1e-310)


def test_vectorized_grid_equals_pointwise():
    phi = np.array([0.3, 1.0, 2.5])[:, None]
    psi = np.array([0.4, 1.0, 4.0])[None, :]
    lr = np.array([0.0, 0.5, 1.0])[:, None, None]
    p = Problem.from_ratios(phi, psi, ridge=0.01, activation="tanh", noise=0.2)
    grid = quadratic_scaling(p, lr_ratio=lr)
    assert np.shape(grid.test_error) == (3, 3, 3)
    for i, j, k in np.ndindex(3, 3, 3):
        one = quadratic_scaling(prob("tanh", float(phi[j, 0]), float(psi[0, k]), 0.01, 0.2), lr_ratio=float(lr[i, 0, 0]))
        assert grid.test_error[i, j, k] == pytest.approx(one.test_error, rel=1e-12)
        assert grid.fine_grained["PX"][i, j, k] == pytest.approx(one.fine_grained["PX"], rel=1e-9, abs=1e-14)


# ---------------------------------------------------------------------------------------------------------------
# ridgeless limits (docs/models.md §4.6)
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("phi,psi", [(0.5, 2.0), (0.5, 0.25), (2.0, 1.0)])
def test_ridgeless_is_the_limit(act, phi, psi):
    for lr in (1.0, 0.0):
        e0 = quadratic_scaling(prob(act, phi, psi, 0.0, 0.2), lr_ratio=lr)
        e1 = quadratic_scaling(prob(act, phi, psi, 1e-9, 0.2), lr_ratio=lr)
        assert e0.test_error == pytest.approx(e1.test_error, rel=1e-6)
        assert e0.fine_grained["PX"] == pytest.approx(e1.fine_grained["PX"], rel=1e-5, abs=1e-9)
    # random features: kappa = 0 below the threshold (n1 < m), interpolation above (train error 0)
    rf = quadratic_scaling(prob(act, phi, psi, 0.0, 0.2), lr_ratio=0.0)
    if phi < psi:
        assert rf.kappa == 0 and math.isinf(rf.tau1)
        assert rf.train_error == pytest.approx((1 - phi / psi) ** 2 * (rf.test_error + 0.2), rel=1e-12)
    else:
        assert rf.kappa > 0 and rf.train_error == pytest.approx(0.0, abs=1e-12)


def test_ridgeless_rf_train_error():
    """docs/models.md §3.8: E_train(0+) = (1 - n1/m)(sigma^2 + B_lsamp): 0.34895, 0.50623, 1.08593."""
    for (phi, psi, s2), ref in [((0.5, 1.0, 0.25), 0.34895), ((0.5, 2.0, 0.0), 0.50623), ((0.25, 1.0, 1.0), 1.08593)]:
        assert quadratic_scaling(prob("relu", phi, psi, 0.0, s2), lr_ratio=0.0).train_error == pytest.approx(
            ref, abs=6e-6)


def test_ridgeless_rf_threshold_is_inf_not_nan():
    for s2 in (0.0, 0.3):
        r = quadratic_scaling(prob("relu", 0.5, 0.5, 0.0, s2), lr_ratio=0.0)
        assert math.isinf(r.test_error) and math.isinf(r.variance) and math.isfinite(r.bias)
        assert r.noise_variance == (0.0 if s2 == 0 else math.inf)
        assert not any(math.isnan(v) for v in r.fine_grained.values())
    # the NTK has no pole there (implicit ridge c2 > 0)
    assert math.isfinite(quadratic_scaling(prob("relu", 0.5, 0.5, 0.0, 0.3)).test_error)


def test_zero_zeta_activation_sees_no_signal():
    """quadratic: zeta = 0, so the kernel is blind to the linear target, which acts as label noise: bias = signal,
    variance = (signal + noise) d2 / (1 - d2); at infinite width the test kernel row vanishes, error = signal."""
    r = quadratic_scaling(prob("quadratic", 0.7, 1.3, 0.1, 0.4, signal=2.0))
    assert r.bias == pytest.approx(2.0, rel=1e-12) and r.alpha == 0.0
    assert r.variance == pytest.approx(2.4 * r.d2 / (1 - r.d2), rel=1e-12)
    assert infinite_width(prob("quadratic", 0.7, 1.3, 0.1, 0.4, signal=2.0)).test_error == 2.0


# ---------------------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------------------

def test_sign_activation_needs_finite_mean_square_derivative():
    with pytest.raises(ValueError, match="E sigma'"):
        quadratic_scaling(prob("sign", 0.5, 0.5, 0.1, 0.0))
    with pytest.raises(ValueError, match="E sigma'"):
        infinite_width(prob("sign", 0.5, 0.5, 0.1, 0.0), lr_ratio=0.5)
    # random features with sign are fine
    assert math.isfinite(quadratic_scaling(prob("sign", 0.5, 0.5, 0.1, 0.0), lr_ratio=0.0).test_error)


@pytest.mark.parametrize("kwargs,match", [({"lr_ratio": -1.0}, "lr_ratio"), ({"lr_ratio": float("nan")}, "lr_ratio"),
                                          ({"lr_ratio": float("inf")}, "lr_ratio")])
def test_bad_lr_ratio(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quadratic_scaling(prob("relu", 0.5, 0.5, 0.1, 0.0), **kwargs)


def test_bad_problem_fields():
    with pytest.raises(ValueError, match="phi"):
        quadratic_scaling(Problem.from_ratios(-1.0, 0.5))
    with pytest.raises(ValueError, match="ridge"):
        quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=-0.1))
    with pytest.raises(ValueError, match="nonlinear_signal"):
        quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=0.1, nonlinear_signal=0.2))
    from rmt import CovarianceSpectrum

    with pytest.raises(ValueError, match="covariance"):
        quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=0.1, covariance=CovarianceSpectrum([1.0, 2.0])))
    with pytest.raises(ValueError, match="ridge"):
        quadratic_scaling(prob("linear", 0.5, 0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match="ridge"):
        infinite_width(prob("linear", 0.5, 0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match="problem"):
        quadratic_scaling({"phi": 0.5})  # type: ignore[arg-type]


def test_solver_error_is_raised_not_nan(monkeypatch):
    """A bisection that cannot converge raises SolverError with its residual (never a silent NaN)."""
    import rmt.theory._ntk_quadratic as q

    real = q.solve_monotone
    monkeypatch.setattr(q, "solve_monotone", lambda *a, **k: real(*a, **{**k, "maxiter": 2}))
    with pytest.raises(SolverError) as exc:
        quadratic_scaling(prob("relu", 0.5, 0.5, 0.1, 0.0))
    assert math.isfinite(exc.value.residual)
