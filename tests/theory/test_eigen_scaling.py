"""Scaling laws of power-law spectra (docs/models.md §6.5, §6.10, §6.11) and Bahri et al.'s four regimes
(arXiv:2102.06701)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmt.theory.eigen import krr
from rmt.theory.eigen_scaling import (bahri_regimes, c_alpha, data_scaling, fit_exponent, kappa_asymptotic,
                                  learning_curve_asymptotic, powerlaw_system, predicted_exponents, width_scaling)


def test_fit_exponent_exact_power_law_and_window():
    x = np.geomspace(1, 1e4, 30)
    e, se, loc, c = fit_exponent(x, 3.0 * x ** -1.7)
    assert e == pytest.approx(1.7, rel=1e-12) and loc == pytest.approx(1.7, rel=1e-10) and se < 1e-12
    assert math.exp(c) == pytest.approx(3.0, rel=1e-10)
    with pytest.raises(ValueError, match="at least 3 points"):
        fit_exponent(x, x, window=(2.0, 3.0))


def test_c_alpha_closed_form():
    from scipy.integrate import quad
    for a in (1.3, 2.0, 3.7):
        assert c_alpha(a) == pytest.approx(quad(lambda x: 1 / (1 + x ** a), 0, np.inf)[0], rel=1e-8)


@pytest.mark.parametrize("alpha,beta,n,asym", [(1.5, 2.0, 1000, 0.0029243), (2.0, 2.5, 1000, 6.9149e-5),
                                               (2.0, 3.5, 1000, 1.0862e-7)])
def test_learning_curve_asymptote_values(alpha, beta, n, asym):
    """The noise-free ridgeless asymptote A(alpha, beta) (C_alpha/n)^(beta - 1) (continuum approximation, §6.5;
    values evaluated independently), and the solver within 1 % of it at n = 1000."""
    assert learning_curve_asymptotic(alpha, beta, n) == pytest.approx(asym, rel=2e-4)
    solver = krr(powerlaw_system(alpha, beta, n), n, 0.0).test_error
    assert solver == pytest.approx(asym, rel=1e-2)


def test_ridgeless_kappa_and_E0_asymptotics():
    """kappa -> (C/(n+1/2))^alpha and E0 -> alpha (tempered overfitting), with noise E_te -> alpha sigma^2."""
    for a in (1.5, 2.5):
        s = powerlaw_system(a, 2.0, 1e4)
        r = krr(s, 1e4, 0.0, 0.3)
        assert r.kappa == pytest.approx(kappa_asymptotic(a, 1e4), rel=1e-3)
        assert r.E0 == pytest.approx(a, rel=2e-3)
        assert r.test_mse == pytest.approx(a * 0.3, rel=5e-3)


@pytest.mark.parametrize("alpha,beta", [(1.5, 2.0), (2.0, 2.5), (1.5, 3.5), (1.2, 4.0), (3.0, 2.0), (1.3, 5.0)])
def test_data_exponent(alpha, beta):
    """KRR ridgeless noise-free: E ~ n^-min(beta-1, 2 alpha), including the saturated cases beta > 2 alpha + 1."""
    fit = data_scaling(alpha, beta)
    pred = min(beta - 1, 2 * alpha)
    assert fit.predicted == pred
    assert fit.local_exponent == pytest.approx(pred, rel=1e-2)
    assert fit.exponent == pytest.approx(pred, rel=3e-2)


@pytest.mark.parametrize("alpha,beta", [(1.5, 2.0), (2.0, 2.5), (1.5, 3.5), (1.2, 4.0), (3.0, 2.0)])
def test_width_exponent(alpha, beta):
    """RF with unlimited data: E ~ p^-min(beta-1, alpha); saturates at alpha, not 2 alpha."""
    fit = width_scaling(alpha, beta)
    pred = min(beta - 1, alpha)
    assert fit.local_exponent == pytest.approx(pred, rel=1e-2)
    assert fit.exponent == pytest.approx(pred, rel=3e-2)


def test_width_exponent_log_correction_at_crossover():
    """At beta - 1 = alpha the feature-direction error is ~ p^-alpha log p: the local exponent approaches alpha from
    below, slowly (a finite-window fit underestimates it)."""
    loc = [width_scaling(2.0, 3.0, p=np.geomspace(x / 10, x, 11)).local_exponent for x in (1e3, 1e5)]
    assert loc[0] < loc[1] < 2.0 and 2.0 - loc[1] < 0.6 * (2.0 - loc[0])


def test_duality_only_below_crossover():
    """Data and width exponents coincide for beta - 1 <= alpha and separate above (docs/models.md §6.10-6.11:
    min(beta - 1, 2 alpha) for data, min(beta - 1, alpha) for width)."""
    e = predicted_exponents(1.5, 2.0)
    assert e.data == e.features == 1.0
    e = predicted_exponents(1.5, 3.5)
    assert (e.data, e.features) == (2.5, 1.5)
    d, w = data_scaling(1.5, 3.5), width_scaling(1.5, 3.5)
    assert d.exponent - w.exponent > 0.9


@pytest.mark.parametrize("alpha,beta", [(1.8, 1.8), (1.5, 3.5)])
def test_bahri_four_regimes(alpha, beta):
    """Variance-limited exponents are 1 (any spectrum); resolution-limited ones are the spectral exponents
    (Bahri et al. arXiv:2102.06701; docs/models.md §6.11; their kernel exponent a = 0.8 gives alpha = beta = 1.8)."""
    b = bahri_regimes(alpha, beta)
    assert b.variance_data.exponent == pytest.approx(1.0, abs=0.01)
    assert b.variance_width.exponent == pytest.approx(1.0, abs=0.01)
    assert b.resolution_data.exponent == pytest.approx(min(beta - 1, 2 * alpha), rel=0.015)
    assert b.resolution_width.exponent == pytest.approx(min(beta - 1, alpha), rel=0.015)
    assert set(b.as_dict()) == {"variance_data", "variance_width", "resolution_data", "resolution_width"}


def test_noisy_learning_curve_has_no_power_law():
    """With label noise and no ridge the excess error tends to (alpha - 1) sigma^2: no power law (E0 -> alpha,
    docs/models.md §6.5)."""
    fit = data_scaling(2.0, 2.0, noise=0.1)
    assert fit.y[-1] == pytest.approx(0.1, rel=5e-3)
    assert fit.exponent < 0.1


def test_bad_input():
    with pytest.raises(ValueError, match="alpha must be > 1"):
        predicted_exponents(0.9, 2.0)
    with pytest.raises(ValueError, match="beta must be < 2 alpha"):
        learning_curve_asymptotic(1.5, 4.5, 100)
