"""Every theory answers for every ridge from 1e-300 to 1e300: finite, on the physical branch, continuous into the
exact ridgeless branch as the ridge -> 0 and into the null predictor as the ridge -> inf.

Expected values are independent of the code under test: the ridgeless limits come from the closed-form ridgeless
branches (ridge = 0 exactly), the large-ridge limit is the error of the zero predictor (test error = signal power +
nonlinear power, training error = that plus the label noise), and at the interpolation threshold the divergence
must follow the square-root law ``test_error ~ C / sqrt(ridge)`` of a double root (a constant ``C`` over 280 decades).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pytest

from rmt import LinearProblem, Problem
from rmt.solvers import Status, solve_monotone
from rmt.theory.linear import linear_theory
from rmt.theory.ntk import FINE_GRAINED_KEYS as NTK_KEYS
from rmt.theory.ntk import infinite_width, quadratic_scaling
from rmt.theory.random_features import FINE_GRAINED_KEYS, rf_theory

TINY = np.logspace(-300, -20, 15)
HUGE = np.logspace(20, 300, 15)
ALL = np.logspace(-300, 300, 61)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an overflow anywhere is a bug here
        yield


# ---------------------------------------------------------------------------------------------------------------
# the bracketed solver
# ---------------------------------------------------------------------------------------------------------------

def test_solve_monotone_converges_on_the_float_grid_far_from_one():
    """In log space the spacing of u = log x near x = 1e-31 is 1.4e-14 > xtol: the bracket cannot get narrower,
    which must count as converged (it used to run to maxiter with residual 1e-45)."""
    sol = solve_monotone(lambda k: 3.0 * k - 5e-31, np.array([2.5e-31]), np.array([0.085]), throw=False)
    assert sol.status[0] == Status.SUCCESS
    assert sol.value[0] == pytest.approx(5e-31 / 3, rel=1e-13)
    sol = solve_monotone(lambda k: k * (1.0 + k) - 1e-300, np.array([1e-305]), np.array([1.0]))
    assert sol.value[0] == pytest.approx(1e-300, rel=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# NTK (the falsifying example of tests/theory/test_ntk.py::test_identities and its neighbours)
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gamma", [3e-45, 1e-30, 1e-100, 1e-300, 2.2250738585072014e-308])
@pytest.mark.parametrize("lr", [0.0, 1.0])
def test_ntk_tiny_ridge_is_continuous_into_ridge_zero(gamma, lr):
    """Found by hypothesis: relu, lr_ratio 0, ridge ~1e-45 raised 'NTK kappa: max iterations ... worst residual
    2.96e-60'. A tiny ridge, down to float64's smallest normal number, must give the ridgeless value (n1 < m:
    finite) to rounding; a subnormal ridge is refused by name (rmt._validation.check_ridge)."""
    p0 = Problem.from_ratios(0.5, 2.0, ridge=0.0, activation="relu", noise=0.1)
    r0 = quadratic_scaling(p0, lr_ratio=lr)
    with _quiet():
        r = quadratic_scaling(Problem.from_ratios(0.5, 2.0, ridge=gamma, activation="relu", noise=0.1), lr_ratio=lr)
    assert r.test_error == pytest.approx(r0.test_error, rel=1e-10)
    for k in NTK_KEYS:
        assert r.fine_grained[k] == pytest.approx(r0.fine_grained[k], rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("phi,psi", [(0.5, 2.0), (0.5, 0.25), (2.0, 1.0), (3.0, 0.5)])
def test_ntk_every_ridge(act, phi, psi):
    p = Problem.from_ratios(phi, psi, ridge=ALL, activation=act, noise=0.3, signal=1.5)
    with _quiet():
        for lr in (0.0, 1.0):
            r = quadratic_scaling(p, lr_ratio=lr)
            te = np.asarray(r.test_error)
            assert np.all(np.isfinite(te)) and np.all(te > 0)
            assert te[-1] == pytest.approx(1.5, rel=1e-12)  # the zero predictor
            assert np.asarray(r.train_error)[-1] == pytest.approx(1.8, rel=1e-12)
            for k in NTK_KEYS:
                assert np.all(np.asarray(r.fine_grained[k]) >= -1e-12 * te)
        w = infinite_width(p, lr_ratio=1.0)
        assert np.all(np.isfinite(w.test_error)) and w.test_error[-1] == pytest.approx(1.5, rel=1e-12)
        w0 = infinite_width(Problem.from_ratios(phi, psi, ridge=0.0, activation=act, noise=0.3, signal=1.5))
        assert w.test_error[0] == pytest.approx(w0.test_error, rel=1e-10)


def test_ntk_fine_grained_without_cancellation_along_psi():
    """Issue: linear activation, ridge 1e-12, lr_ratio 10: V_PXeps flipped sign between neighbouring psi (82 negative
    values) and V_Xeps moved in steps of 2^-14. phi (G - t K) and 1 - 2tG + t^2 K are now evaluated without
    cancellation: along a 200-point psi sweep every term is >= -1e-12 test_error and its second difference is
    below 1e-6 (it was 4e-3)."""
    psi = np.linspace(0.05, 5.0, 200)
    for phi, noise in ((2.0, 1.0), (4.0, 1.0), (1.5, 0.1), (0.5, 0.1)):
        r = quadratic_scaling(Problem.from_ratios(phi, psi, ridge=1e-12, activation="linear", noise=noise),
                              lr_ratio=10.0)
        te = np.asarray(r.test_error)
        for k in NTK_KEYS:
            v = np.asarray(r.fine_grained[k])
            assert np.all(v >= -1e-12 * te), (phi, k, v.min())
            assert np.max(np.abs(np.diff(v, 2))) < 1e-6 * te.max(), (phi, k)


# ---------------------------------------------------------------------------------------------------------------
# random features
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("phi,psi", [(0.5, 2.0), (0.5, 0.25), (2.0, 1.0), (3.0, 0.5), (0.2, 0.05)])
def test_rf_every_ridge(act, phi, psi):
    """Issue: ridge 1e-30 at (0.5, 2) failed with 'max iterations', 1e-50 at (0.5, 0.25) with 'no physical root',
    ridges above 1.8e154 everywhere."""
    fstar = 0.2 if act == "tanh" else 0.0
    p = Problem.from_ratios(phi, psi, ridge=ALL, activation=act, noise=0.3, signal=1.5, nonlinear_signal=fstar)
    with _quiet():
        r = rf_theory(p)
    assert r.diagnostics.ok
    te, tr = np.asarray(r.test_error), np.asarray(r.train_error)
    assert np.all(np.isfinite(te)) and np.all(np.isfinite(tr)) and np.all(te > 0) and np.all(tr >= 0)
    for k in FINE_GRAINED_KEYS:
        assert np.all(np.asarray(r.fine_grained[k]) >= -1e-12 * te), k
    # ridge -> 0: the exact ridgeless branch
    r0 = rf_theory(Problem.from_ratios(phi, psi, ridge=0.0, activation=act, noise=0.3, signal=1.5,
                                       nonlinear_signal=fstar))
    tiny = np.asarray(p.ridge) <= 1e-20
    assert np.allclose(te[tiny], r0.test_error, rtol=1e-9, atol=0)
    assert np.allclose(tr[tiny], r0.train_error, rtol=1e-9, atol=1e-15)
    for k in FINE_GRAINED_KEYS:
        assert np.allclose(np.asarray(r.fine_grained[k])[tiny], r0.fine_grained[k], rtol=1e-8, atol=1e-12), k
    # ridge -> inf: the zero predictor
    big = np.asarray(p.ridge) >= 1e20
    assert np.allclose(te[big], 1.5 + fstar, rtol=1e-12)
    assert np.allclose(tr[big], 1.8 + fstar, rtol=1e-12)
    # no branch jump: on a 10x grid the error changes by less than a factor 10 per step
    assert np.max(np.abs(np.diff(np.log(te)))) < math.log(10.0)


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_rf_threshold_diverges_as_inverse_square_root(act):
    """At n1 = m the ridgeless error is infinite; for ridge -> 0 it grows as C / sqrt(ridge). It used to come out
    wrong silently below 1e-30 (1e-50 gave 1.99e14 instead of 1.2e24)."""
    ridge = np.logspace(-300, -20, 15)
    with _quiet():
        r = rf_theory(Problem.from_ratios(1.0, 1.0, ridge=ridge, activation=act, noise=0.1))
    c = np.asarray(r.test_error) * np.sqrt(ridge)
    assert np.all(np.isfinite(c))
    assert np.allclose(c, c[0], rtol=1e-7)


def test_rf_issue_examples():
    with _quiet():
        a = rf_theory(Problem.from_ratios(0.5, 2.0, ridge=1e-30, activation="relu"))
        b = rf_theory(Problem.from_ratios(0.5, 0.25, ridge=1e-50, activation="relu", noise=0.1))
        c = rf_theory(Problem.from_ratios(0.5, 2.0, ridge=np.logspace(-60, -20, 41), activation="relu"))
    assert np.isfinite(a.test_error) and np.isfinite(b.test_error) and c.diagnostics.ok


# ---------------------------------------------------------------------------------------------------------------
# linear ridge regression
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_linear_every_ridge(gamma):
    """Issue: ridge 1e200 printed NaN with status success (kappa * kappa overflowed); ridge 1e-300 failed."""
    p = LinearProblem.from_ratio(gamma, ridge=ALL, noise=0.5, signal=1.5)
    with _quiet():
        r = linear_theory(p)
    te = np.asarray(r.test_error)
    assert np.all(np.asarray(r.status) == 0) and np.all(np.isfinite(te))
    r0 = linear_theory(LinearProblem.from_ratio(gamma, ridge=0.0, noise=0.5, signal=1.5))
    assert np.allclose(te[ALL <= 1e-20], r0.test_error, rtol=1e-9)
    assert np.allclose(te[ALL >= 1e20], 1.5, rtol=1e-12)
    assert np.allclose(np.asarray(r.train_error)[ALL >= 1e20], 2.0, rtol=1e-12)


def test_linear_threshold_diverges_as_inverse_square_root():
    ridge = np.logspace(-300, -20, 15)
    with _quiet():
        r = linear_theory(LinearProblem.from_ratio(1.0, ridge=ridge, noise=0.5, signal=1.0))
    c = np.asarray(r.test_error) * np.sqrt(ridge)
    assert np.allclose(c, c[0], rtol=1e-7)


# ---------------------------------------------------------------------------------------------------------------
# NTK at its interpolation thresholds (random features at n1 = m; the linear activation at n0 = m)
# ---------------------------------------------------------------------------------------------------------------

THRESHOLD_RIDGES = np.logspace(-300, -10, 30)


def _ntk_test_error_mp(act, phi, psi, ridge, lr, noise, dps=200):
    """Independent reference: the direct trace form ``d1 = N/m - kappa T``, ``d2 = N/m - 2 kappa T - kappa^2 T'``
    (the literal formulas of tests/theory/test_ntk.py::_trace_form_T, with their cancellation) in 200-digit arithmetic,
    ``kappa (1 - d1) = lam`` by bisection in ``log kappa`` to 1e-30, error ``(r - kappa r') / (1 - d2) +
    noise d2 / (1 - d2)`` (signal 1)."""
    import mpmath as mp

    from rmt.theory.ntk import ntk_constants

    c = ntk_constants(act, lr)
    with mp.workdps(dps):
        phi, psi, ridge, noise = (mp.mpf(x) for x in (phi, psi, ridge, noise))
        z, ms2, c1, c2 = (mp.mpf(float(x)) for x in (c.zeta, c.mu_star2, c.c1, c.c2))
        nm = phi / psi + phi

        def parts(k):
            nu, a, b = ms2 + k, 1 + c1 / (psi * k), z / (ms2 + k)
            B = a + b * (1 / psi - 1)
            r = (-B + mp.sqrt(B * B + 4 * a * b)) / (2 * a * b)
            T = (phi / psi) / nu + phi / k - phi * ((1 - a * r) / nu + c1 * r / (psi * k ** 2))
            ap, bp = -c1 / (psi * k ** 2), -z / nu ** 2
            rp = -((b * r * r + r) * ap + (a * r * r + (1 / psi - 1) * r) * bp) / (2 * a * b * r + B)
            Tp = (-(phi / psi) / nu ** 2 - phi / k ** 2
                  - phi * ((-ap * r - a * rp) / nu - (1 - a * r) / nu ** 2 + c1 / psi * (rp / k ** 2 - 2 * r / k ** 3)))
            return r, rp, nm - k * T, nm - 2 * k * T - k ** 2 * Tp

        lam = (ridge + c2) * phi / psi
        lo, hi = mp.log(lam) - 1, mp.log(lam + nm * (z + ms2 + c1)) + 1
        while hi - lo > mp.mpf(10) ** -30:
            mid = (lo + hi) / 2
            k = mp.exp(mid)
            if k * (1 - parts(k)[2]) > lam:
                hi = mid
            else:
                lo = mid
        k = mp.exp((lo + hi) / 2)
        r, rp, _, d2 = parts(k)
        return float((r - k * rp) / (1 - d2) + noise * d2 / (1 - d2))


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu"])
@pytest.mark.parametrize("phi", [1.0, 0.5, 2.0, 0.1])
def test_ntk_lr_zero_equals_rf_theory_at_the_threshold(act, phi):
    """Issue: lr_ratio 0 at n1 = m (phi = psi) gave 1.6e15 at ridge 1e-300 where 1.2e149 is due, and inf at some
    ridges (tanh, phi = psi = 0.5, ridge 1e-100): 1 - d1 and 1 - d2 were formed from d1, d2 ~ 1 - kappa. The
    random-feature theory (another route, Mei & Montanari's fixed point) must be reproduced to 1e-8 at every ridge
    from 1e-10 down to 1e-300, and both follow C / sqrt(ridge)."""
    p = Problem.from_ratios(phi, phi, ridge=THRESHOLD_RIDGES, activation=act, noise=0.1)
    with _quiet():
        n = quadratic_scaling(p, lr_ratio=0.0)
        r = rf_theory(p)
    te, ref = np.asarray(n.test_error), np.asarray(r.test_error)
    assert np.all(np.isfinite(te))
    np.testing.assert_allclose(te, ref, rtol=1e-8)
    np.testing.assert_allclose(np.asarray(n.bias), np.asarray(r.bias), rtol=1e-8)
    c = te * np.sqrt(THRESHOLD_RIDGES)
    np.testing.assert_allclose(c[:-1], c[0], rtol=1e-6)  # the last point (1e-10) is still 1e-5 from the law


@pytest.mark.parametrize("act,phi,psi,lr", [("linear", 1.0, 0.5, 1.0), ("linear", 1.0, 2.0, 10.0),
                                            ("linear", 1.0, 1.0, 0.5), ("linear", 1.0, 0.5, 0.0),
                                            ("linear", 2.0, 2.0, 0.0), ("relu", 1.0, 1.0, 0.0)])
def test_ntk_threshold_against_high_precision(act, phi, psi, lr):
    """The linear activation at n0 = m (any lr_ratio) and linear random features at n0 = m or n1 = m diverge too
    (no implicit ridge); before, 1e-50 gave inf, NaN or ~9e14. Against the direct trace form in 200 digits, and
    the fitted log-log slope is -1/2."""
    ridges = np.array([1e-10, 1e-50, 1e-150, 1e-300])
    with _quiet():
        te = np.asarray(quadratic_scaling(Problem.from_ratios(phi, psi, ridge=THRESHOLD_RIDGES, activation=act,
                                                              noise=0.1), lr_ratio=lr).test_error)
        sel = np.asarray(quadratic_scaling(Problem.from_ratios(phi, psi, ridge=ridges, activation=act, noise=0.1),
                                           lr_ratio=lr).test_error)
    assert np.all(np.isfinite(te)) and np.all(np.diff(te) < 0)
    slope = np.polyfit(np.log(THRESHOLD_RIDGES[:-5]), np.log(te[:-5]), 1)[0]  # ridges <= 1e-60
    assert slope == pytest.approx(-0.5, abs=1e-9)
    for g, v in zip(ridges, sel):
        assert v == pytest.approx(_ntk_test_error_mp(act, phi, psi, g, lr, 0.1), rel=1e-10), g


@pytest.mark.parametrize("phi", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("lr", [0.5, 10.0])
def test_ntk_relu_at_n1_equal_m_is_continuous_in_the_ridge(phi, lr):
    """relu at phi = psi with lr_ratio > 0 has the implicit ridge c2 > 0: no pole. Every tiny ridge gives the ridge-0
    value, the approach is linear in the ridge (fitted slope 1 of |E(ridge) - E(0)| in log-log), and no term is inf
    or NaN."""
    p = Problem.from_ratios(phi, phi, ridge=np.concatenate([np.logspace(-300, -20, 15), np.logspace(-9, -5, 9)]),
                            activation="relu", noise=0.1)
    with _quiet():
        r = quadratic_scaling(p, lr_ratio=lr)
        r0 = quadratic_scaling(Problem.from_ratios(phi, phi, ridge=0.0, activation="relu", noise=0.1), lr_ratio=lr)
    te = np.asarray(r.test_error)
    assert np.all(np.isfinite(te)) and all(np.all(np.isfinite(v)) for v in r.fine_grained.values())
    np.testing.assert_allclose(te[:15], r0.test_error, rtol=1e-12)
    d = np.abs(te[15:] - r0.test_error)
    assert np.polyfit(np.log(np.asarray(p.ridge)[15:]), np.log(d), 1)[0] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("act", ["relu", "tanh", "linear", "quadratic"])
@pytest.mark.parametrize("lr", [0.0, 0.3, 3.0])
def test_ntk_complements_equal_one_minus_d_away_from_thresholds(act, lr):
    """Internal identities of the cancellation-free complements on a grid of kappa, phi, psi: 1 - d1 and 1 - d2
    equal one minus the direct forms where those do not cancel, and 1 - d2 = d(kappa (1 - d1))/dkappa (a central
    difference)."""
    from rmt.theory._ntk_quadratic import kappa_state
    from rmt.theory.ntk import ntk_constants

    c = ntk_constants(act, lr)
    kappa = np.logspace(-3, 2, 11)[:, None, None]
    phi = np.array([0.2, 0.7, 1.0, 1.6, 5.0])[None, :, None]
    psi = np.array([0.3, 0.9, 1.0, 2.5, 7.0])[None, None, :]
    st = kappa_state(kappa, phi, psi, c.zeta, c.mu_star2, c.c1)
    scale = 1 + phi / psi + phi  # N/m + 1: the size of the terms
    assert np.max(np.abs(st.one_minus_d1 - (1.0 - st.d1)) / scale) < 1e-13
    assert np.max(np.abs(st.one_minus_d2 - (1.0 - st.d2)) / scale) < 1e-12
    h = 1e-5 * kappa

    def ke(k):
        return k * kappa_state(k, phi, psi, c.zeta, c.mu_star2, c.c1).one_minus_d1

    fd = (ke(kappa + h) - ke(kappa - h)) / (2 * h)
    assert np.max(np.abs(st.one_minus_d2 - fd) / scale) < 1e-7


@pytest.mark.parametrize("act", ["relu", "erf"])
def test_ntk_training_error_at_tiny_ridges(act):
    """Over-parameterised (n1 > m) the training error vanishes like ridge^2; it was evaluated from 1 - d1 at the
    root, which cancels (1.9e-29 at ridge 1e-100 where 2.5e-199 is due): against rf_theory (lr_ratio 0) to 1e-10.
    At the threshold n1 = m it vanishes like sqrt(ridge)."""
    ridge = np.logspace(-100, 0, 11)
    with _quiet():
        for phi, psi in ((2.0, 0.5), (3.0, 0.5), (0.5, 2.0)):
            p = Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=0.1)
            np.testing.assert_allclose(quadratic_scaling(p, lr_ratio=0.0).train_error, rf_theory(p).train_error,
                                       rtol=1e-10)
        tr = np.asarray(quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=THRESHOLD_RIDGES, activation=act,
                                                              noise=0.1), lr_ratio=0.0).train_error)
    c = tr / np.sqrt(THRESHOLD_RIDGES)
    np.testing.assert_allclose(c[:-1], c[0], rtol=1e-6)
