"""Marchenko-Pastur: stable forms, derivative, inversion, and agreement with sampled Wishart matrices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from rmt.stieltjes import (density_from_stieltjes, ks_distance, mp_atom, mp_cdf, mp_density, mp_edges, mp_G, mp_K,
                           mp_moment, mp_stieltjes, mp_stieltjes_derivative)

RATIOS = [0.25, 1.0, 3.0]


@pytest.mark.parametrize("r", RATIOS)
def test_density_integrates_to_one_with_its_atom(r):
    a, b = mp_edges(r)
    mass = quad(lambda x: mp_density(x, r), a, b, limit=200)[0]
    assert mass + mp_atom(r) == pytest.approx(1.0, abs=1e-9)
    assert mp_atom(r) == pytest.approx(max(0.0, 1 - 1 / r))


@pytest.mark.parametrize("r", RATIOS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_moments_are_narayana(r, k):
    a, b = mp_edges(r)
    val = quad(lambda x: x**k * mp_density(x, r), a, b, limit=200)[0]
    assert val == pytest.approx(mp_moment(k, r), rel=1e-9)


@pytest.mark.parametrize("r", RATIOS)
@pytest.mark.parametrize("t", [1e-3, 0.7, 50.0])
def test_G_and_K_against_quadrature(r, t):
    a, b = mp_edges(r)
    atom = mp_atom(r)
    G = quad(lambda x: mp_density(x, r) / (x + t), a, b, limit=200)[0] + atom / t
    K = quad(lambda x: mp_density(x, r) / (x + t) ** 2, a, b, limit=200)[0] + atom / t**2
    assert mp_G(t, r) == pytest.approx(G, rel=1e-8)
    assert mp_K(t, r) == pytest.approx(K, rel=1e-8)
    assert mp_stieltjes(-t, r).real == pytest.approx(G, rel=1e-8)
    assert mp_stieltjes_derivative(-t, r).real == pytest.approx(K, rel=1e-8)
    # K = -dG/dt by a central difference
    h = 1e-5 * t
    assert -(mp_G(t + h, r) - mp_G(t - h, r)) / (2 * h) == pytest.approx(K, rel=1e-6)


def test_G_stable_at_extremes():
    r = np.array([0.5, 1.0, 2.0])
    big = mp_G(1e12, r)
    assert np.all(np.isfinite(big)) and big == pytest.approx(1e-12 * np.ones(3), rel=1e-9)
    small = mp_G(1e-14, r)
    assert small[0] == pytest.approx(1 / (1 - 0.5), rel=1e-9)
    assert small[2] == pytest.approx(mp_atom(2.0) / 1e-14, rel=1e-6)
    assert mp_G(0.0, 0.5) == pytest.approx(2.0) and np.isinf(mp_G(0.0, 2.0))


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-20, 20), y=st.floats(1e-6, 20), r=st.floats(0.05, 10))
def test_stieltjes_maps_upper_half_plane_to_itself(x, y, r):
    m = mp_stieltjes(complex(x, y), r)
    assert m.imag > 0
    # it solves the MP quadratic  r z m^2 + (z + r - 1) m + 1 = 0
    z = complex(x, y)
    assert abs(r * z * m * m + (z + r - 1) * m + 1) <= 1e-9 * max(1.0, abs(z * m * m), abs(m))


def test_stieltjes_decays_like_minus_one_over_z():
    z = 1e7 * np.exp(1j * np.linspace(0.1, 3.0, 7))
    assert mp_stieltjes(z, 0.7) * (-z) == pytest.approx(np.ones(7), rel=1e-6)


@pytest.mark.parametrize("r", RATIOS)
def test_density_by_inversion(r):
    a, b = mp_edges(r)
    x = np.linspace(a + 1e-3, b - 1e-3, 50)
    inv = density_from_stieltjes(lambda z: mp_stieltjes(z, r), x, eps=1e-12)
    assert inv == pytest.approx(mp_density(x, r), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("r", [0.5, 2.0])
def test_wishart_spectrum_ks(r):
    """n = 2000 samples: the empirical spectrum of X X^T / n is within KS distance 0.02 of MP_r (atom included)."""
    rng = np.random.default_rng(2024)
    n = 2000
    p = int(r * n)
    X = rng.standard_normal((p, n))
    # X X^T / n has the spectrum of the smaller X^T X / n plus p - n exact zeros when p > n
    eig = np.linalg.eigvalsh(X @ X.T / n) if p <= n else np.concatenate([np.linalg.eigvalsh(X.T @ X / n),
                                                                           np.zeros(p - n)])
    d = ks_distance(eig, lambda t: mp_cdf(t, r))
    assert d < 0.02, d
    # the test can fail: a wrong ratio is far away
    assert ks_distance(eig, lambda t: mp_cdf(t, 1.5 * r)) > 0.05


def test_ks_distance_handles_atoms():
    samples = np.array([0.0, 0.0, 1e-15, 1.0])
    cdf = lambda t: np.where(t >= 0, 0.75, 0.0) + np.where(t >= 1.0, 0.25, 0.0)  # noqa: E731
    assert ks_distance(samples, cdf) == pytest.approx(0.0, abs=1e-12)
    assert ks_distance(samples, lambda t: np.where(t >= 1.0, 1.0, 0.0)) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        ks_distance([], cdf)


def test_bad_inputs():
    with pytest.raises(ValueError, match="ratio"):
        mp_G(1.0, -1.0)
    with pytest.raises(ValueError, match="t must be"):
        mp_G(-1.0, 0.5)
    with pytest.raises(ValueError, match="x must be"):
        mp_density(np.nan, 0.5)


@pytest.mark.parametrize("r,t", [(50.0, 1e-6), (4.0, 1e-9), (1.0, 1e-8), (0.2, 1e-7), (3.0, 1e3)])
def test_K_has_no_cancellation(r, t):
    """Against 50-digit mpmath of -dG/dt (the implicit-differentiation denominator 2rtG + 1 - r + t
    cancels for r > 1, small t; docs/models.md §1.2 gives the cancellation-free form)."""
    import mpmath

    with mpmath.workdps(50):
        rr, tt = mpmath.mpf(r), mpmath.mpf(t)
        G = lambda x: (mpmath.sqrt((1 - rr + x) ** 2 + 4 * rr * x) - (1 - rr + x)) / (2 * rr * x)  # noqa: E731
        exact = -mpmath.diff(G, tt)
    assert mp_K(t, r) == pytest.approx(float(exact), rel=1e-13)
