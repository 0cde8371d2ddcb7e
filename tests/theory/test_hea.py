"""The Hermite eigenstructure ansatz (rmt.theory.hea): exact cases, the heap against brute-force enumeration, the
high-dimensional spherical-harmonic limit of dot-product kernels, and (small) kernel ridge regression in JAX.

Independent references: the linear kernel's eigenvalues are the covariance eigenvalues; every multi-index of a small
problem enumerated with itertools; the eigenvalues of a dot-product kernel on the unit sphere by the Funk-Hecke
formula (Gauss-Jacobi quadrature against the normalised Gegenbauer polynomial), which the ansatz must approach as
``f^(l)(0) d^-l`` with an O(1/d) error.
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest
from scipy.special import eval_gegenbauer, roots_jacobi

from rmt.montecarlo.hea import simulate_hea
from rmt.theory.eigen import Eigensystem, krr
from rmt.theory.hea import (gaussian_kernel_eigenvalue, hea_spectrum, learning_curve, level_coefficients,
                            level_masses)


def test_linear_kernel_is_the_covariance():
    g = np.array([0.5, 0.3, 0.3, 0.1, 0.02])
    s = hea_spectrum("linear", g, 100, target={(0,): 1.0, (3,): 0.5, (1, 2): 0.7})
    np.testing.assert_array_equal(s.eigenvalues, g)
    assert s.indices == ((0,), (1,), (2,), (3,), (4,)) and s.flat_mass == pytest.approx(0.0, abs=1e-16)
    r, learn = learning_curve(s, 7.0, 0.01, 0.1)
    ref = krr(Eigensystem(g, [1.0, 0, 0, 0.25, 0], target_tail=0.49), 7.0, 0.01, 0.1)
    assert float(r.test_error) == pytest.approx(float(ref.test_error), rel=1e-14)
    assert float(learn[(1, 2)]) == 0.0 and float(learn[(0,)]) == pytest.approx(0.5 / (0.5 + float(ref.kappa)))


@pytest.mark.parametrize("kernel", ["gaussian", "relu-nngp", "laplace"])
def test_heap_order_equals_enumeration(kernel):
    g = np.array([0.4, 0.25, 0.2, 0.1, 0.05])
    L = 5
    c = level_coefficients(kernel, g.sum(), L, bandwidth=0.8)
    allv = []
    for l in range(L + 1):
        for t in itertools.combinations_with_replacement(range(5), l):
            if c[l] > 0:
                allv.append(c[l] * np.prod(g[list(t)]))
    allv = np.sort(np.array(allv))[::-1]
    s = hea_spectrum(kernel, g, 150, max_level=L, bandwidth=0.8)
    np.testing.assert_allclose(s.eigenvalues, allv[:150], rtol=1e-13)
    # the remaining ansatz trace is carried as a flat part
    assert s.flat_mass == pytest.approx(allv[150:].sum(), rel=1e-10)
    for l in range(L + 1):
        brute = sum(np.prod(g[list(t)]) for t in itertools.combinations_with_replacement(range(5), l))
        assert level_masses(np.eye(L + 1)[l], g)[l] == pytest.approx(brute, rel=1e-13)


def _funk_hecke(f, d: int, l: int) -> float:
    """Eigenvalue of degree-l spherical harmonics of k(x, y) = f(x.y) on the unit sphere S^{d-1} (uniform law)."""
    a = (d - 3) / 2
    t, w = roots_jacobi(80, a, a)  # exact for polynomials of degree < 160; f is entire or smooth
    P = eval_gegenbauer(l, (d - 2) / 2, t) / eval_gegenbauer(l, (d - 2) / 2, 1.0)
    return float((w * f(t) * P).sum() / w.sum())


@pytest.mark.parametrize("name,f_np,f_mp,levels", [
    ("exp", np.exp, mpmath.exp, (0, 1, 2, 3)),
    ("relu-nngp", lambda t: (np.sqrt(1 - t * t) + (np.pi - np.arccos(t)) * t) / (2 * np.pi), None, (0, 1, 2, 4))])
def test_dot_product_kernel_on_isotropic_data_gives_the_spherical_levels(name, f_np, f_mp, levels):
    c = level_coefficients(f_mp if f_mp is not None else name, 1.0, 4)
    prev = None
    for d in (100, 400, 1600):
        s = hea_spectrum(f_mp if f_mp is not None else name, np.full(d, 1.0 / d), 1 + d + 3, max_level=2)
        # the ansatz levels on isotropic data: c_0, then d copies of c_1/d, then c_2/d^2
        np.testing.assert_allclose(s.eigenvalues, [c[0]] + [c[1] / d] * d + [c[2] / d ** 2] * 3, rtol=1e-12)
        dev = []
        for l in levels:
            ratio = _funk_hecke(f_np, d, l) * d ** l / c[l]
            assert abs(ratio - 1) <= 1.5 * (l * l + 1) / d, (d, l, ratio)
            dev.append(abs(ratio - 1))
        if prev is not None:
            assert max(dev) < max(prev) / 3  # O(1/d)
        prev = dev


def test_gaussian_coefficients_from_the_factored_form():
    T, s = 0.7, 1.3
    closed = level_coefficients("gaussian", T, 8, bandwidth=s)
    taylor = level_coefficients(lambda t: mpmath.exp(-(2 * T - 2 * t) / (2 * s * s)), T, 8)
    np.testing.assert_allclose(closed, taylor, rtol=1e-12)
    relu = level_coefficients("relu-nngp", 1.0, 6)
    np.testing.assert_allclose(relu, [1 / (2 * np.pi), 0.25, 1 / (2 * np.pi), 0, 24 / (48 * np.pi), 0,
                                      relu[6]], rtol=1e-12, atol=1e-30)
    assert relu[6] > 0 and np.all(level_coefficients("laplace", 1.0, 8) > 0)


def test_gaussian_ansatz_against_the_exact_mehler_spectrum():
    """Isotropic: the ansatz's eigenvalues approach the exact ones with an O(1/d) error; anisotropic with
    gamma_1 / s^2 not small they do not (the measured breakdown of the ansatz for the Gaussian kernel)."""
    prev = None
    for d in (50, 200, 800):
        g = np.full(d, 1.0 / d)
        sp = hea_spectrum("gaussian", g, 10)
        dev = max(abs(sp.eigenvalue(k) / gaussian_kernel_eigenvalue(k, g) - 1) for k in [(), (0,), (0, 0), (0, 1)])
        assert dev <= 3.0 / d
        if prev is not None:
            assert dev < prev / 3
        prev = dev
    # the Mehler eigenvalues sum to the trace E k(x, x) = 1 (a check of the closed form itself)
    g = np.array([0.5, 0.3])
    total = sum(gaussian_kernel_eigenvalue((0,) * i + (1,) * j, g) for i in range(60) for j in range(60))
    assert total == pytest.approx(1.0, rel=1e-12)
    g = np.arange(1, 21.0) ** -1.0
    g /= g.sum()
    assert hea_spectrum("gaussian", g, 3).eigenvalue((0,)) / gaussian_kernel_eigenvalue((0,), g) > 1.2


def test_learning_order_follows_the_eigenvalues():
    g = np.arange(1, 11) ** -1.0
    g = g / g.sum()
    tgt = {(0,): 1.0, (5,): 1.0, (0, 0): 1.0, (0, 1, 2): 1.0}
    s = hea_spectrum("gaussian", g, 5000, target=tgt, max_level=6)
    r, learn = learning_curve(s, np.array([10.0, 100.0, 1000.0]), 1e-4, 0.0)
    lam = {k: s.eigenvalue(k) for k in tgt}
    order = sorted(tgt, key=lambda k: -lam[k])
    for j in range(3):
        vals = [float(learn[k][j]) for k in order]
        assert all(a >= b for a, b in zip(vals, vals[1:]))
    assert np.all(np.diff(r.test_error) < 0)


def test_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        level_coefficients("cosine", 1.0, 3)
    with pytest.raises(ValueError, match="gammas"):
        hea_spectrum("gaussian", [0.1, 0.5], 10)
    with pytest.raises(ValueError, match="target"):
        hea_spectrum("gaussian", [0.5, 0.1], 10, target={(2,): 1.0})
    with pytest.raises(ValueError, match="negative level"):
        level_coefficients(lambda t: 1 - t, 1.0, 3)


def _sim_vs_theory(kernel, g, target, n, ridge, trials, n_test, seed, noise=0.0):
    s = hea_spectrum(kernel, g, 20_000, target=target, max_level=4)
    th = float(learning_curve(s, n, ridge, noise)[0].test_error)
    sim = simulate_hea(kernel, g, target, n, ridge, noise, trials=trials, n_test=n_test, seed=seed)
    return th, sim


def test_gaussian_kernel_high_dimension_small():
    d = 40
    th, sim = _sim_vs_theory("gaussian", np.full(d, 1.0 / d), {(0,): 1.0, (1, 2): 0.5}, 60, 1e-3, 4, 400, 1)
    assert abs(sim.test_error - th) <= 4 * sim.test_error_stderr + 0.1 * th


@pytest.mark.slow
@pytest.mark.parametrize("kernel,n", [("gaussian", 400), ("gaussian", 1600), ("relu-ntk", 400),
                                      ("laplace", 400)])
def test_isotropic_d100_holds(kernel, n):
    d = 100
    th, sim = _sim_vs_theory(kernel, np.full(d, 1.0 / d), {(0,): 1.0, (1,): 0.6, (0, 1): 0.5, (2, 2): 0.4}, n,
                             1e-3, 8, 2000, n)
    assert abs(sim.test_error - th) <= 4 * sim.test_error_stderr + 0.08 * th


def test_cli_theory_hea(capsys):
    import json

    from rmt.figures.cli import main

    assert main(["theory", "hea", "--kernel", "linear", "--d", "5", "--decay", "1", "--n", "3,30", "--ridge", "0.01",
                 "--noise", "0.1", "--target", "0=1,3=0.5,1.2=0.7", "--json"]) == 0
    recs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    g = np.arange(1, 6.0) ** -1.0
    g /= g.sum()
    ref = krr(Eigensystem(g, [1.0, 0, 0, 0.25, 0], target_tail=0.49), np.array([3.0, 30.0]), 0.01, 0.1)
    np.testing.assert_allclose([r["test_error"] for r in recs], ref.test_error, rtol=1e-13)
    assert set(recs[0]["learnability"]) == {"0", "3", "1.2"}
    for bad, flag in ((["--kernel", "rbf"], "--kernel"), (["--kernel", "linear", "--target", "9=1"], "--target"),
                      (["--kernel", "linear", "--ridge", "-1"], "--ridge")):
        argv = ["theory", "hea", "--d", "5", "--n", "10", "--ridge", "0.1"] + bad
        assert main(argv) == 2 and flag in capsys.readouterr().err


def test_gaussian_exact_spectrum_conserves_trace_and_target():
    """The exact (Mehler) eigensystem: the trace E k(x, x) = 1 and the target power are carried by the generated
    modes plus the flat part / tail; in high dimension it approaches the ansatz's learning curve."""
    from rmt.theory.hea import gaussian_exact_spectrum

    g = np.full(60, 1.0 / 60)
    tgt = {(0,): 1.0, (0, 1): 0.5}
    ex = gaussian_exact_spectrum(g, 3000, target=tgt, max_order=8)
    assert ex.trace == pytest.approx(1.0, rel=1e-12)
    assert ex.signal == pytest.approx(1.25, rel=1e-12) and ex.target_tail < 0.01
    hea = hea_spectrum("gaussian", g, 3000, target=tgt, max_level=6)
    a, b = float(krr(ex, 200, 1e-3).test_error), float(learning_curve(hea, 200, 1e-3)[0].test_error)
    assert abs(a / b - 1) < 0.05


@pytest.mark.slow
def test_exact_gaussian_spectrum_matches_krr_where_the_ansatz_misses():
    """d = 30 isotropic, n = 1600: the eigenframework on the exact Mehler eigensystem agrees with kernel ridge
    regression (so the simulation is right), the ansatz under-predicts the error by about a third."""
    from rmt.theory.hea import gaussian_exact_spectrum

    d, n = 30, 1600
    g = np.full(d, 1.0 / d)
    tgt = {(0,): 1.0, (1,): 0.6, (0, 1): 0.5, (2, 2): 0.4, (0, 0, 0): 0.3}
    exact = float(krr(gaussian_exact_spectrum(g, 20_000, target=tgt, max_order=30), n, 1e-3).test_error)
    hea = float(learning_curve(hea_spectrum("gaussian", g, 20_000, target=tgt, max_level=8), n, 1e-3)[0].test_error)
    sim = simulate_hea("gaussian", g, tgt, n, 1e-3, trials=8, n_test=2000, seed=5)
    assert abs(sim.test_error - exact) <= 4 * sim.test_error_stderr + 0.08 * exact
    assert sim.test_error > 1.25 * hea
