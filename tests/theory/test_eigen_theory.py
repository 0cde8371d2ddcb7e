"""Tests of theory.eigen against checkpoint tables, closed forms and independent implementations.

Sources: checkpoint values computed by an independent implementation of the eigenframework equations
(docs/models.md §6.1-6.10: Simon et al. arXiv:2110.03922; Atanasov et al. arXiv:2405.00592); Marchenko-Pastur and
Hastie et al. (arXiv:1903.08560) closed forms; Mei & Montanari's theorem (arXiv:1908.05355, docs/models.md §3.3-3.4)
and Simon's nested random-feature equations, implemented independently in tests/theory/_eigen_refs.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rmt.activations import constants
from rmt.solvers import SolverError
from rmt.stieltjes import mp_G
from tests.theory import _eigen_refs as ref
from rmt.theory.eigen import (EigenProblem, Eigensystem, evaluate, kare, krr, rf, rf_data_limit, solve_gamma,
                          solve_kappa)


# ------------------------------------------------------------------------------------------------------------
# checkpoint tables
# ------------------------------------------------------------------------------------------------------------

def test_krr_checkpoints():
    """KRR checkpoints (independent solve, §6.1): lambda_i = v_i^2 = i^-2, M = 10 000, n = 100, noise 0.1."""
    s = Eigensystem.power_law(2.0, 2.0, 10_000)
    r = krr(s, 100, np.array([0.0, 1e-3, 1e-1, 1.0]), 0.1)
    np.testing.assert_allclose(r.kappa, [2.422970833e-4, 2.618954462e-4, 1.623868451e-3, 1.163518755e-2], rtol=2e-9)
    np.testing.assert_allclose(r.E0, [1.9982551, 1.924251465, 1.234417294, 1.072745027], rtol=1e-7)
    np.testing.assert_allclose(r.test_mse, [0.2240552183, 0.2166904397, 0.1623868451, 0.1980482311], rtol=2e-9)
    np.testing.assert_allclose(r.train_error, [0, 3.159249e-4, 0.06158134297, 0.1462932174], rtol=2e-6, atol=1e-18)
    np.testing.assert_allclose(r.df1, [100, 96.181682, 38.418657, 14.053813], rtol=1e-7)
    np.testing.assert_allclose(r.test_error, r.test_mse - 0.1, rtol=1e-12)


def test_rf_checkpoints():
    """Deterministic RF values (independent solve of §6.6-6.8 in both Simon's and Atanasov's forms, which agree to
    1e-10): lambda_i = i^-1.5, v_i^2 = i^-1.8, M = 10 000, n = 100, noise 0.1."""
    s = Eigensystem.power_law(1.5, 1.8, 10_000)
    k = np.array([50, 50, 100, 100, 200, 200, 1000, 1000.0])
    d = np.array([1e-3, 1e-1] * 4)
    r = rf(s, 100, k, d, 0.1)
    table = np.array([
        [9.910212265e-3, 1.995979969e-5, 1.99198825, 0.5373298159, 0.1348741071, 0.2205218726],
        [1.243409624e-2, 1.752887878e-3, 1.594971007, 0.4331729745, 0.1409785626, 0.2268144014],
        [3.722351647e-3, 1.929339692e-4, 10.03522583, 1.990309753, 5.346914912e-3, 0.2225544566],
        [7.062011069e-3, 2.657444462e-3, 1.746893279, 0.3626735241, 0.05135555872, 0.2153039031],
        [3.46062628e-3, 1.740256005e-3, 2.503555908, 0.4187468313, 1.382691367e-5, 0.2253468066],
        [5.643011847e-3, 3.604318516e-3, 1.605778538, 0.2876688865, 0.02214351529, 0.2149197868],
        [3.44716626e-3, 3.103560348e-3, 1.64429297, 0.2473556995, 2.568038514e-6, 0.2255112485],
        [4.993618523e-3, 4.602748765e-3, 1.424203919, 0.2288324938, 0.0108014772, 0.2159079904]])
    got = np.stack([r.gamma, r.kappa, r.E0, r.test_mse, r.train_error, r.ensemble_limit_mse], axis=1)
    np.testing.assert_allclose(got, table, rtol=5e-9)
    # KRR on the same spectrum (k = infinity)
    np.testing.assert_allclose(krr(s, 100, [1e-3, 1e-1], 0.1).test_mse, [0.2255321638, 0.2162081104], rtol=2e-9)


@pytest.mark.parametrize("alpha,n,kappa,E0", [(2, 100, 2.44281e-4, 1.9901), (2, 1000, 2.46394e-6, 1.9994),
                                              (3, 100, 1.74179e-6, 2.9851)])
def test_powerlaw_kappa_table(alpha, n, kappa, E0):
    """Power laws (§6.5; independent solve, M = 2e6, ridgeless): kappa and E0, and the Euler-Maclaurin asymptote
    (C/(n+1/2))^alpha."""
    s = Eigensystem.power_law(alpha, 2.0, 2_000_000)
    r = krr(s, n, 0.0)
    assert r.kappa == pytest.approx(kappa, rel=5e-6)
    assert r.E0 == pytest.approx(E0, rel=5e-5)
    C = (math.pi / alpha) / math.sin(math.pi / alpha)
    assert r.kappa == pytest.approx((C / (n + 0.5)) ** alpha, rel=1e-3)


@pytest.mark.parametrize("alpha,beta,n,value", [(1.5, 2.0, 100, 0.028896), (1.5, 2.0, 1000, 0.0029033),
                                                (2.0, 2.5, 1000, 6.9055e-5), (2.0, 3.5, 1000, 1.0839e-7)])
def test_powerlaw_learning_curve_table(alpha, beta, n, value):
    """Noise-free ridgeless learning-curve values (§6.5; independent solve, M = 2e6; values are given to 5 digits)."""
    s = Eigensystem.power_law(alpha, beta, 2_000_000)
    assert krr(s, n, 0.0).test_error == pytest.approx(value, rel=2e-4)


# ------------------------------------------------------------------------------------------------------------
# isotropic spectra: Marchenko-Pastur and Hastie et al. closed forms (docs/models.md §6.4, §1.2, §2)
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,d,lam_r", [(100, 200, 0.5), (300, 150, 0.1), (57, 900, 1e-3), (1000, 3, 2.5),
                                       (250, 251, 1e-4)])
def test_isotropic_kappa_closed_form_and_mp_link(n, d, lam_r):
    iso = Eigensystem.isotropic(d)
    kap = krr(iso, n, n * lam_r).kappa
    assert kap == pytest.approx(ref.isotropic_kappa(n, d, n * lam_r), rel=1e-12)
    # lambda_r m_MP(-lambda_r) = kappa / (1 + kappa), with rmt.stieltjes' Marchenko-Pastur transform
    assert lam_r * float(mp_G(lam_r, d / n)) == pytest.approx(kap / (1 + kap), rel=1e-11)


def test_isotropic_mp_link_values():
    for n, d, lam_r, val in [(100, 200, 0.5, 0.640388), (300, 150, 0.1, 0.148331)]:
        k = krr(Eigensystem.isotropic(d), n, n * lam_r).kappa
        assert k / (1 + k) == pytest.approx(val, abs=1e-6)


@pytest.mark.parametrize("n,d,lam_r,signal,noise", [(200, 100, 0.3, 1.0, 0.5), (100, 300, 0.05, 2.0, 0.1),
                                                    (400, 400, 1e-3, 1.0, 1.0), (50, 10, 5.0, 0.3, 2.0)])
def test_isotropic_ridge_equals_hastie_mp_formula(n, d, lam_r, signal, noise):
    r = krr(Eigensystem.isotropic(d, signal), n, n * lam_r, noise)
    assert r.test_error == pytest.approx(ref.hastie_isotropic_excess(n, d, lam_r, signal, noise), rel=1e-10)


@pytest.mark.parametrize("n,d", [(200, 100), (100, 200), (1000, 999), (37, 1000)])
def test_isotropic_ridgeless_equals_hastie(n, d):
    r = krr(Eigensystem.isotropic(d, 1.0), n, 0.0, 0.3)
    assert r.test_error == pytest.approx(ref.hastie_ridgeless_excess(n, d, 1.0, 0.3), rel=1e-10)
    if d < n:
        assert r.kappa == 0.0 and r.E0 == pytest.approx(n / (n - d), rel=1e-14)


def test_isotropic_ridgeless_values():
    assert krr(Eigensystem.isotropic(100), 200, 0.0, 0.3).test_mse == pytest.approx(0.6, rel=1e-14)
    assert krr(Eigensystem.isotropic(200), 100, 0.0, 0.3).test_mse == pytest.approx(1.1, rel=1e-12)


@pytest.mark.parametrize("n,k,d", [(100, 50, 400), (100, 250, 400), (300, 120, 1000), (80, 500, 600)])
def test_isotropic_linear_rf_ridgeless_closed_forms(n, k, d):
    r = rf(Eigensystem.isotropic(d, 1.3), n, k, 0.0, 0.2)
    assert r.test_mse == pytest.approx(ref.linear_rf_isotropic_ridgeless(n, k, d, 1.3, 0.2), rel=1e-10)


def test_isotropic_linear_rf_noise_free_duality():
    """Noise-free ridgeless isotropic RF: E(n, k) = E(k, n) (the data-feature duality, docs/models.md §6.10)."""
    iso = Eigensystem.isotropic(500)
    for a, b in [(100, 300), (50, 400), (200, 210)]:
        assert rf(iso, a, b, 0.0).test_error == pytest.approx(rf(iso, b, a, 0.0).test_error, rel=1e-10)


# ------------------------------------------------------------------------------------------------------------
# Mei-Montanari (arXiv:1908.05355; docs/models.md §3.3-3.4) through the eigenframework mapping (§6.10)
# ------------------------------------------------------------------------------------------------------------

def _mm_via_eigen(psi1, psi2, lam, act, d=1.0, noise=0.0):
    c = constants(act)
    s = Eigensystem.mei_montanari(d, c.mu1, c.mu_star2, F1_2=1.0)
    return rf(s, psi2 * d, psi1 * d, psi2 * lam, noise)


@pytest.mark.parametrize("psi1,psi2,lam,chi,B,V", [
    (1, 3, 1e-3, -0.443218, 0.667047, 0.489198), (3, 3, 1e-3, -1.754635, 0.577099, 2.953974),
    (6, 3, 1e-3, -2.024008, 0.161969, 1.137516), (3, 3, 1e-6, -2.131141, 15.0037, 102.563),
    (0.5, 2, 0.1, -0.135274, 0.822601, 0.200179)])
def test_mei_montanari_checkpoint_table(psi1, psi2, lam, chi, B, V):
    """MM checkpoints (ReLU; the table of test_random_features.py): B from the noise-free error, V = E0 - 1 (the
    noise coefficient)."""
    r = _mm_via_eigen(psi1, psi2, lam, "relu")
    assert r.test_error == pytest.approx(B, rel=2e-5)
    assert r.E0 - 1 == pytest.approx(V, rel=2e-5)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("psi1,psi2,lam,tau2", [(2.2, 1.3, 0.05, 0.0), (0.7, 4.0, 0.3, 0.4), (5.0, 5.1, 1e-4, 0.2),
                                                (13.0, 0.6, 2.0, 1.0)])
def test_mei_montanari_formula_unseen_points(act, psi1, psi2, lam, tau2):
    """The eigenframework mapping reproduces MM's fixed-point formula exactly in the proportional limit (it depends
    on (psi1, psi2, lambda) only), at points outside the checkpoint table and for several activations."""
    c = constants(act)
    _, B, V = ref.mei_montanari(psi1, psi2, lam, c.mu1, c.mu_star2)
    for d in (1.0, 733.0):
        r = _mm_via_eigen(psi1, psi2, lam, act, d=d, noise=tau2)
        assert r.test_error == pytest.approx(B + tau2 * V, rel=1e-9)


@pytest.mark.parametrize("psi1,psi2", [(1, 3), (6, 3), (0.3, 3), (2.9, 3), (4.0, 1.5)])
def test_mei_montanari_ridgeless(psi1, psi2):
    c = constants("relu")
    _, B0, V0 = ref.mei_montanari_ridgeless(psi1, psi2, c.mu1, c.mu_star2)
    r = _mm_via_eigen(psi1, psi2, 0.0, "relu", noise=1.0)
    assert r.test_error - (r.E0 - 1) == pytest.approx(B0, rel=1e-9)
    assert r.E0 - 1 == pytest.approx(V0, rel=1e-9)
    if psi1 < psi2:
        assert V0 == pytest.approx(psi1 / (psi2 - psi1), rel=1e-12)


# ------------------------------------------------------------------------------------------------------------
# RF: Simon's nested form, limits, ensembles (docs/models.md §6.6-6.10)
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,k,ridge,noise", [(100, 50, 1e-3, 0.1), (100, 300, 1e-2, 0.0), (77, 77, 0.5, 0.3),
                                             (300, 120, 2.0, 1.0), (40, 900, 1e-5, 0.05)])
def test_rf_equals_simon_nested_form(n, k, ridge, noise):
    lam = np.arange(1, 2001) ** -1.3
    v2 = np.arange(1, 2001) ** -2.1
    s = Eigensystem(lam, v2)
    g, kap, mse = ref.simon_rf(lam, np.ones_like(lam), v2, n, k, ridge, noise)
    r = rf(s, n, k, ridge, noise)
    assert r.gamma == pytest.approx(g, rel=1e-9)
    assert r.kappa == pytest.approx(kap, rel=1e-8)
    assert r.test_mse == pytest.approx(mse, rel=1e-9)


def test_rf_tends_to_krr_as_p_grows():
    s = Eigensystem.power_law(1.5, 1.8, 5000)
    for ridge in (0.0, 1e-3, 0.1):
        a, b = rf(s, 100, 1e10, ridge, 0.1), krr(s, 100, ridge, 0.1)
        assert a.test_mse == pytest.approx(b.test_mse, rel=1e-7)
        assert a.train_error == pytest.approx(b.train_error, rel=1e-6, abs=1e-30)
        assert a.gamma == pytest.approx(b.kappa, rel=1e-7)
    # approach rate: E(p) - E_KRR ~ c/p (Bahri's variance-limited width regime)
    p = np.geomspace(1e5, 1e7, 5)
    gap = rf(s, 100, p, 1e-3, 0.1).test_mse - krr(s, 100, 1e-3, 0.1).test_mse
    slope = np.polyfit(np.log(p), np.log(gap), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.01)


def test_rf_large_n_limit():
    """n -> inf at fixed p: E_te -> sum (1 - L) v^2 + noise with df1(gamma) = p (docs/models.md §6.10, linear in
    1 - L)."""
    s = Eigensystem.power_law(1.5, 1.8, 10_000)
    lim = rf_data_limit(s, np.array([50.0, 300.0]))
    big = rf(s, 1e11, np.array([50.0, 300.0]), 1e-3, 0.1)
    np.testing.assert_allclose(big.test_error, lim, rtol=1e-6)
    # independent: solve df1(gamma) = p directly with scipy
    from scipy.optimize import brentq
    lam, v2 = s.eigenvalues, s.target_power
    for p, val in zip([50.0, 300.0], lim):
        g = math.exp(brentq(lambda u: (lam / (lam + math.exp(u))).sum() - p, -60, 10, xtol=1e-14))
        assert val == pytest.approx(float((g / (lam + g) * v2).sum()), rel=1e-10)


def test_rf_ensemble_limit_is_krr_at_inflated_ridge():
    """docs/models.md §6.7-6.8 / Jacot et al. arXiv:2002.08404: E_inf = KRR at ridge delta / (1 - df1(gamma)/p), whose
    kappa is gamma."""
    s = Eigensystem.power_law(1.3, 2.0, 4000)
    for n, p, ridge in [(100, 50, 1e-2), (100, 300, 0.1), (250, 260, 1.0)]:
        r = rf(s, n, p, ridge, 0.2)
        k2 = krr(s, n, ridge / (1 - r.df1 / p), 0.2)
        assert k2.kappa == pytest.approx(r.gamma, rel=1e-10)
        assert k2.test_mse == pytest.approx(r.ensemble_limit_mse, rel=1e-10)
        assert r.ensemble_test_error(1) == pytest.approx(r.test_error, rel=1e-12)
        assert r.ensemble_test_error(np.inf) == pytest.approx(r.ensemble_limit_mse - 0.2, rel=1e-12)
        assert r.feature_variance > 0


def test_rf_ridgeless_edge_cases():
    s = Eigensystem.power_law(1.5, 1.8, 3000)
    below = rf(s, 100, 40, 0.0, 0.1)  # p < n: E0 = n/(n - p), kappa = 0
    assert below.E0 == pytest.approx(100 / 60, rel=1e-10) and below.kappa == 0.0
    assert below.test_mse == pytest.approx(100 / 60 * (rf_data_limit(s, 40) + 0.1), rel=1e-10)
    assert below.train_error == pytest.approx((1 - 40 / 100) * (rf_data_limit(s, 40) + 0.1), rel=1e-10)
    peak = rf(s, 100, 100, 0.0, 0.1)
    assert math.isinf(peak.E0) and math.isinf(peak.test_error)
    # finite rank <= min(n, p) and no ridge: gamma = 0 and the OLS value
    small = Eigensystem(np.linspace(1, 2, 10), np.full(10, 0.1))
    r = rf(small, 50, 30, 0.0, 0.2)
    assert r.gamma == 0 and r.E0 == pytest.approx(50 / 40) and r.bias == 0
    assert r.test_error == pytest.approx(0.2 * 10 / 40, rel=1e-12)


# ------------------------------------------------------------------------------------------------------------
# identities and properties
# ------------------------------------------------------------------------------------------------------------

@settings(max_examples=30, deadline=None)
@given(alpha=st.floats(1.1, 3.0), c=st.floats(0.01, 10.0), noise=st.floats(1e-3, 2.0), n=st.floats(5, 2000),
       M=st.integers(50, 3000))
def test_bayes_optimal_identity(alpha, c, noise, n, M):
    """Bayes-optimal identity of the KRR equations (§6.1): with v_i^2 = c lambda_i and ridge = noise / c,
    E_te = c n kappa (any spectrum)."""
    s = Eigensystem.power_law(alpha, alpha, M, target_scale=c)
    r = krr(s, n, noise / c, noise)
    assert r.test_mse == pytest.approx(c * n * r.kappa, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(1.05, 4.0), n=st.floats(1, 5000), log_ridge=st.floats(-14, 4), M=st.integers(1, 4000),
       flat=st.sampled_from([0.0, 0.3]))
def test_kappa_solves_its_equation(alpha, n, log_ridge, M, flat):
    """kappa satisfies the conservation law sum L = n - ridge/kappa to rounding, for random spectra and ridges."""
    lam = np.arange(1, M + 1) ** -alpha
    s = Eigensystem(lam, lam, flat_mass=flat)
    ridge = 10.0 ** log_ridge
    k = float(solve_kappa(s, n, ridge).value)
    assert k > 0
    lhs = float((lam / (lam + k)).sum()) + flat / k + ridge / k
    assert lhs == pytest.approx(n, rel=1e-11)


def test_kappa_monotone_in_n_and_ridge():
    s = Eigensystem.power_law(1.7, 2.0, 5000)
    n = np.geomspace(1, 3000, 60)
    k = solve_kappa(s, n, 1e-3).value
    assert np.all(np.diff(k) < 0)
    r = np.geomspace(1e-10, 1e3, 60)
    k = solve_kappa(s, 100, r).value
    assert np.all(np.diff(k) > 0)


@settings(max_examples=30, deadline=None)
@given(n=st.floats(2, 3000), p=st.floats(2, 3000), log_ridge=st.floats(-12, 3), alpha=st.floats(1.1, 3.0))
def test_gamma_solves_single_equation(n, p, log_ridge, alpha):
    s = Eigensystem.power_law(alpha, 2.0, 4000)
    ridge = 10.0 ** log_ridge
    g = float(solve_gamma(s, n, p, ridge).value)
    z = float(s.df1(g))
    assert z <= min(n, p) * (1 + 1e-12)
    # residual of h(gamma) = gamma (1 - z/n)(1 - z/p) - ridge/n, measured as a relative error in gamma (h is badly
    # conditioned next to gamma_B at tiny ridges, so a relative residual in h would test the conditioning instead)
    lam = s.eigenvalues
    dz = -float((lam / (lam + g) ** 2).sum())
    sn, sp = 1 - z / n, 1 - z / p
    dh = sn * sp - g * dz / n * sp - g * sn * dz / p
    assert abs(g * sn * sp - ridge / n) <= 1e-10 * g * abs(dh) + 1e-12 * ridge / n


def test_vectorized_shapes_and_consistency():
    s = Eigensystem.power_law(1.5, 1.8, 2000)
    n = np.array([50.0, 100.0, 400.0])[:, None]
    ridge = np.array([0.0, 1e-3, 0.1, 1.0])[None, :]
    r = krr(s, n, ridge, 0.1)
    assert r.kappa.shape == (3, 4) and r.learnabilities().shape == (3, 4, 2000)
    for i in range(3):
        for j in range(4):
            one = krr(s, float(n[i, 0]), float(ridge[0, j]), 0.1)
            assert one.test_mse == pytest.approx(r.test_mse[i, j], rel=1e-13)
    q = rf(s, n, 150.0, ridge, 0.1)
    assert q.gamma.shape == (3, 4)


def test_bias_variance_and_per_mode_split():
    s = Eigensystem.power_law(1.5, 1.8, 3000)
    r = krr(s, np.array([30.0, 300.0]), np.array([1e-3, 1.0]), 0.2)
    np.testing.assert_allclose(r.bias + r.variance, r.test_error, rtol=1e-14)
    modes = (r.mode_error() * s.multiplicities).sum(-1)
    np.testing.assert_allclose(modes, r.test_error, rtol=1e-12)
    # variance = (E0 - 1)(bias + noise)
    np.testing.assert_allclose(r.variance, (r.E0 - 1) * (r.bias + 0.2), rtol=1e-12)


def test_ridgeless_full_rank_and_singular_point():
    small = Eigensystem(np.linspace(0.5, 2, 20), np.full(20, 0.05))
    r = krr(small, 50, 0.0, 0.3)
    assert r.kappa == 0 and r.E0 == pytest.approx(50 / 30) and r.train_error == pytest.approx(30 / 50 * 0.3)
    at = krr(small, 20, 0.0, 0.3)
    assert math.isinf(at.E0) and math.isinf(at.test_error)
    clean = krr(small, 20, 0.0, 0.0)  # noise-free interpolation at n = rank recovers the target: no NaN
    assert clean.test_error == 0.0


def test_flat_mass_equals_many_tiny_modes():
    """The analytic white part (flat_mass/kappa in df1, 0 in df2) is the limit of many equal tiny modes."""
    base = np.arange(1, 101) ** -1.0
    analytic = Eigensystem(base, base, flat_mass=0.2)
    m = 1e7
    explicit = Eigensystem(np.append(base, 0.2 / m), np.append(base, 0.0), np.append(np.ones(100), m))
    for f in (lambda s: krr(s, 80, 1e-2, 0.1), lambda s: rf(s, 80, 120, 1e-2, 0.1)):
        assert f(analytic).test_mse == pytest.approx(f(explicit).test_mse, rel=1e-5)


def test_powerlaw_tail_and_binning():
    """Tail correction and logarithmic binning against a long exact spectrum."""
    ref_s = Eigensystem.power_law(1.5, 2.0, 1_000_000)
    exact = krr(ref_s, 1000, 0.0).test_error
    quarter = krr(Eigensystem.power_law(1.5, 2.0, 250_000), 1000, 0.0).test_error
    # Richardson extrapolation M -> inf of the plain truncation, whose error decays like M^-(alpha-1) = M^-1/2
    limit = exact + (exact - quarter) * 0.5 / (1 - 0.5)
    plain = krr(Eigensystem.power_law(1.5, 2.0, 50_000), 1000, 0.0).test_error
    tail = krr(Eigensystem.power_law(1.5, 2.0, 50_000, tail=True), 1000, 0.0).test_error
    assert abs(plain / limit - 1) > 0.04  # truncation at M = 50 n is visibly biased (§6.2: needs lambda_M << kappa)
    assert abs(tail / limit - 1) < 0.15 * abs(plain / limit - 1)
    binned = Eigensystem.power_law(1.5, 2.0, 1_000_000, exact_modes=5000, bins_per_decade=200)
    assert binned.size < 6000
    assert binned.trace == pytest.approx(ref_s.trace, rel=1e-12)
    assert binned.signal == pytest.approx(ref_s.signal, rel=1e-12)
    assert krr(binned, 1000, 0.0).test_error == pytest.approx(exact, rel=1e-5)
    assert rf(binned, 1000, 3000, 1e-4).test_error == pytest.approx(rf(ref_s, 1000, 3000, 1e-4).test_error, rel=1e-5)


# ------------------------------------------------------------------------------------------------------------
# KARE / GCV (Jacot et al. arXiv:2006.09796; docs/models.md §6.3) on a given kernel matrix
# ------------------------------------------------------------------------------------------------------------

def test_kare_matches_direct_linear_algebra():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 40)) * np.arange(1, 41) ** -0.7
    K = X @ X.T
    y = X @ rng.normal(size=40) + 0.3 * rng.normal(size=60)
    ridges = np.array([1e-3, 0.1, 2.0])
    out = kare(K, y, ridges)
    for i, r in enumerate(ridges):
        A = np.linalg.inv(K + r * np.eye(60))
        yhat = K @ A @ y
        train = np.mean((y - yhat) ** 2)
        trS = np.trace(K @ A)
        assert out.train_error[i] == pytest.approx(train, rel=1e-9)
        assert out.kappa_hat[i] == pytest.approx(1 / np.trace(A), rel=1e-9)
        assert out.kare[i] == pytest.approx(train / (1 - trS / 60) ** 2, rel=1e-8)  # = GCV
        assert out.df[i] == pytest.approx(trS, rel=1e-9)


def test_kare_input_validation():
    with pytest.raises(ValueError, match="kernel must be n x n"):
        kare(np.eye(3), np.ones(4), 0.1)
    with pytest.raises(ValueError, match="symmetric"):
        kare(np.array([[1.0, 2.0], [0.0, 1.0]]), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="invertible"):
        kare(np.zeros((3, 3)), np.ones(3), 0.0)


# ------------------------------------------------------------------------------------------------------------
# input validation and failure reporting
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda s: krr(s, 0, 0.1), "n must be positive"),
    (lambda s: krr(s, 10, -1.0), "ridge must be non-negative"),
    (lambda s: krr(s, 10, 0.1, noise=np.nan), "noise must be a non-negative"),
    (lambda s: rf(s, 10, -3, 0.1), "p must be positive"),
    (lambda s: Eigensystem([1.0, -1.0], [1.0, 1.0]), "eigenvalues must be positive"),
    (lambda s: Eigensystem([1.0, 2.0], [1.0]), "target_power must have one entry"),
    (lambda s: Eigensystem.power_law(1.0, 2.0, 10), "alpha must be > 1"),
    (lambda s: Eigensystem.power_law(2.0, 2.0, 0), "modes must be an integer"),
    (lambda s: EigenProblem(s, n=10, ridge=0.1, p=0), "p must be positive"),
])
def test_bad_input_names_the_argument(call, match):
    s = Eigensystem.power_law(2.0, 2.0, 50)
    with pytest.raises(ValueError, match=match):
        call(s)


def test_solver_failure_raises_with_residual(monkeypatch):
    """A solve that cannot converge raises SolverError carrying its residual (never a silent NaN)."""
    import rmt.theory.eigen as te
    import rmt.solvers as rs

    real = rs.solve_monotone

    def starved(*a, **kw):
        kw["maxiter"] = 2
        return real(*a, **kw)

    monkeypatch.setattr(te, "solve_monotone", starved)
    s = Eigensystem.power_law(2.0, 2.0, 100)
    with pytest.raises(SolverError) as exc:
        krr(s, 10, 1e-3)
    assert math.isfinite(exc.value.residual) and exc.value.residual > 0


def test_evaluate_keys():
    s = Eigensystem.power_law(1.5, 1.8, 500)
    k = evaluate(EigenProblem(s, n=100, ridge=0.01, noise=0.1))
    assert set(k) >= {"test_error", "train_error", "bias", "variance", "test_mse", "kappa", "E0"}
    r = evaluate(EigenProblem(s, n=100, ridge=0.01, noise=0.1, p=50))
    assert set(r) >= set(k) | {"gamma", "feature_variance", "ensemble_limit_error"}
    assert r["test_error"] == pytest.approx(r["ensemble_limit_error"] + r["feature_variance"], rel=1e-12)


@pytest.mark.parametrize("psi1,psi2,lam,tau2,act", [(1.0, 3.0, 1e-3, 0.0, "relu"), (2.2, 1.3, 0.05, 0.5, "tanh"),
                                                    (6.0, 3.0, 0.1, 0.2, "erf"), (0.7, 4.0, 0.3, 1.0, "relu")])
def test_mapping_matches_theory_random_features(psi1, psi2, lam, tau2, act):
    """The Mei-Montanari mapping of docs/models.md §6.10 against the project's own Mei-Montanari implementation
    (theory.random_features, branch rf);
    skipped until that module is merged."""
    rfm = pytest.importorskip("rmt.theory.random_features")
    if not hasattr(rfm, "mm_test_error"):
        pytest.skip("rmt.theory.random_features has no mm_test_error")
    from rmt.problem import Problem

    prob = Problem.from_mei_montanari(psi1, psi2, lam, activation=act, tau2=tau2)
    expected = float(np.asarray(rfm.mm_test_error(prob)))
    got = _mm_via_eigen(psi1, psi2, lam, act, noise=tau2).test_error
    assert got == pytest.approx(expected, rel=1e-7)
    if hasattr(rfm, "rf_theory"):  # Adlam-Pennington route of the same model
        assert got == pytest.approx(float(np.asarray(rfm.rf_theory(prob).test_error)), rel=1e-6)
