"""Differentiable eigenframework: JAX vs numpy, implicit derivatives vs finite differences of the independent numpy
solver (float64), optimal hyper-parameters vs brute-force grids and closed forms."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmt.numerics import float64_jax
from rmt.theory.eigen import Eigensystem, krr, rf
from rmt.theory.eigen_autodiff import (krr_errors, krr_kappa, optimal_ridge, optimal_width, power_law_spectrum,
                                   rf_errors, rf_gamma, sensitivities, spectrum_from)

SYS = Eigensystem.power_law(1.5, 1.8, 1000)
SPEC = spectrum_from(SYS)


@pytest.fixture(autouse=True)
def _float64():
    """Derivatives taken here with jax.grad / jax.hessian are float64 inside the scoped 64-bit mode (importing the
    package leaves JAX's global configuration alone)."""
    with float64_jax():
        yield


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("n,ridge", [(100.0, 0.0), (100.0, 1e-3), (37.5, 0.7), (2500.0, 1e-6), (5000.0, 0.0)])
def test_jax_krr_equals_numpy(n, ridge):
    a = krr_errors(SPEC, n, ridge, 0.1)
    b = krr(SYS, n, ridge, 0.1)
    for k in ("kappa", "E0", "test_error", "test_mse", "train_error", "bias", "variance"):
        assert float(a[k]) == pytest.approx(float(getattr(b, k)), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("n,p,ridge", [(100.0, 50.0, 1e-3), (100.0, 100.0, 1e-3), (100.0, 1000.0, 0.1),
                                       (100.0, 40.0, 0.0), (100.0, 300.0, 0.0), (1e4, 70.0, 1e-2)])
def test_jax_rf_equals_numpy(n, p, ridge):
    a = rf_errors(SPEC, n, p, ridge, 0.1)
    b = rf(SYS, n, p, ridge, 0.1)
    for k in ("gamma", "kappa", "E0", "test_error", "train_error", "bias", "variance", "ensemble_limit_mse",
              "feature_variance"):
        assert float(a[k]) == pytest.approx(float(getattr(b, k)), rel=1e-9, abs=1e-300)


def test_solvers_are_custom_jvp_not_unrolled():
    """The derivative comes from the implicit-function rule, not from differentiating the bisection loop: the
    linearised (tangent) program contains no loop at all."""
    assert isinstance(krr_kappa, jax.custom_jvp) and isinstance(rf_gamma, jax.custom_jvp)
    for f in (lambda r: krr_kappa(SPEC, 100.0, r), lambda r: rf_errors(SPEC, 100.0, 50.0, r, 0.1)["test_error"]):
        primal = str(jax.make_jaxpr(f)(0.01))
        assert "scan" in primal or "while" in primal  # the forward solve is a loop ...
        _, lin = jax.linearize(f, 0.01)
        tangent = str(jax.make_jaxpr(lin)(1.0))
        assert "scan" not in tangent and "while" not in tangent  # ... its derivative is not


@pytest.mark.parametrize("key", ["test_error", "train_error", "kappa", "E0"])
@pytest.mark.parametrize("n,ridge", [(100.0, 1e-2), (40.0, 1.5), (3000.0, 1e-4)])
def test_krr_derivatives_match_finite_differences_of_numpy(key, n, ridge):
    """d/dridge, d/dn, d/dnoise by autodiff vs central differences of the independent numpy solver."""
    g = jax.grad(lambda nn, rr, ee: krr_errors(SPEC, nn, rr, ee)[key], argnums=(0, 1, 2))(n, ridge, 0.1)
    val = lambda **kw: float(getattr(krr(SYS, **{"n": n, "ridge": ridge, "noise": 0.1, **kw}), key))  # noqa
    steps = (1e-4 * n, 1e-4 * ridge, 1e-4)
    fds = (_fd(lambda x: val(n=x), n, steps[0]), _fd(lambda x: val(ridge=x), ridge, steps[1]),
           _fd(lambda x: val(noise=x), 0.1, steps[2]))
    for a, b, h in zip(g, fds, steps):
        # the numpy solve is accurate to ~1e-13 relative, which bounds the finite difference's own error
        assert float(a) == pytest.approx(b, rel=2e-6, abs=1e-12 * abs(val()) / h)


@pytest.mark.parametrize("n,p,ridge", [(100.0, 60.0, 1e-2), (100.0, 300.0, 1e-3), (200.0, 210.0, 0.3)])
def test_rf_derivatives_match_finite_differences_of_numpy(n, p, ridge):
    g = jax.grad(lambda nn, pp, rr: rf_errors(SPEC, nn, pp, rr, 0.1)["test_error"], argnums=(0, 1, 2))(n, p, ridge)
    val = lambda nn=n, pp=p, rr=ridge: float(rf(SYS, nn, pp, rr, 0.1).test_error)  # noqa: E731
    fds = (_fd(lambda x: val(nn=x), n, 1e-4 * n), _fd(lambda x: val(pp=x), p, 1e-4 * p),
           _fd(lambda x: val(rr=x), ridge, 1e-4 * ridge))
    for a, b in zip(g, fds):
        assert float(a) == pytest.approx(b, rel=2e-6)


def test_spectral_derivatives_match_finite_differences():
    """d E / d alpha, d beta of a power law, and d E / d lambda_j for single modes."""
    f = lambda a, b: krr_errors(power_law_spectrum(a, b, 1000), 100.0, 1e-2, 0.1)["test_error"]  # noqa: E731
    ga, gb = jax.grad(f, argnums=(0, 1))(1.5, 1.8)
    num = lambda a, b: krr(Eigensystem.power_law(a, b, 1000), 100, 1e-2, 0.1).test_error  # noqa: E731
    assert float(ga) == pytest.approx(_fd(lambda a: num(a, 1.8), 1.5, 1e-5), rel=1e-6)
    assert float(gb) == pytest.approx(_fd(lambda b: num(1.5, b), 1.8, 1e-5), rel=1e-6)
    s = sensitivities(SYS, 100.0, 1e-2, 0.1, p=150.0)
    lam = SYS.eigenvalues.copy()
    for j in (0, 9, 99):
        h = 1e-5 * lam[j]

        def at(x):
            l2 = lam.copy()
            l2[j] = x
            return rf(Eigensystem(l2, SYS.target_power), 100, 150, 1e-2, 0.1).test_error

        assert s["d_eigenvalues"][j] == pytest.approx(_fd(at, lam[j], h), rel=1e-5)
    assert s["value"] == pytest.approx(rf(SYS, 100, 150, 1e-2, 0.1).test_error, rel=1e-10)
    assert s["dlog_ridge"] == pytest.approx(s["d_ridge"] * 1e-2 / s["value"], rel=1e-12)


def test_flat_mass_derivative():
    mm = Eigensystem.mei_montanari(1.0, 0.5, 0.09, F1_2=1.0)
    s = sensitivities(mm, 3.0, 1e-2, 0.2, p=2.0)
    fd = _fd(lambda m: rf(Eigensystem.mei_montanari(1.0, 0.5, m), 3.0, 2.0, 1e-2, 0.2).test_error, 0.09, 1e-6)
    assert s["d_flat_mass"] == pytest.approx(fd, rel=1e-6)


def test_second_derivative_in_ridge():
    f = lambda r: krr_errors(SPEC, 100.0, r, 0.1)["test_error"]  # noqa: E731
    h2 = float(jax.hessian(f)(0.05))
    g = jax.grad(f)
    assert h2 == pytest.approx(_fd(lambda r: float(g(r)), 0.05, 1e-5), rel=1e-6)


@pytest.mark.slow
def test_forward_and_reverse_mode_agree():
    f = lambda n, r: rf_errors(SPEC, n, 80.0, r, 0.1)["test_error"]  # noqa: E731
    rev = jax.grad(f, argnums=(0, 1))(120.0, 0.02)
    fwd = jax.jacfwd(f, argnums=(0, 1))(120.0, 0.02)
    for a, b in zip(rev, fwd):
        assert float(a) == pytest.approx(float(b), rel=1e-12)


def test_vmap_over_points():
    ns = jnp.array([50.0, 100.0, 400.0])
    v = jax.vmap(lambda n: krr_errors(SPEC, n, 1e-3, 0.1)["test_mse"])(ns)
    np.testing.assert_allclose(np.asarray(v), krr(SYS, np.asarray(ns), 1e-3, 0.1).test_mse, rtol=1e-11)


# ------------------------------------------------------------------------------------------------------------
# optimal hyper-parameters
# ------------------------------------------------------------------------------------------------------------

def test_optimal_ridge_isotropic_closed_form():
    """docs/models.md §6.4: ridge* = sigma^2 d / r^2 (the Dobriban-Wager / Bayes value; 75 for n = 100, d = 150)."""
    for n, d, r2, s2 in [(100, 150, 1.0, 0.5), (300, 120, 2.0, 0.3)]:
        o = optimal_ridge(Eigensystem.isotropic(d, r2), n, s2)
        assert o.x == pytest.approx(s2 * d / r2, rel=1e-8) and o.at_bound is None
        assert abs(o.slope) < 1e-10


def test_optimal_ridge_bayes_prior_matched():
    """v_i^2 = c lambda_i is prior-matched: the Bayes-optimal ridge is noise / c for any spectrum."""
    c, s2 = 3.0, 0.2
    o = optimal_ridge(Eigensystem.power_law(1.7, 1.7, 3000, target_scale=c), 150, s2)
    assert o.x == pytest.approx(s2 / c, rel=1e-7)


@pytest.mark.parametrize("p", [None, 60.0, 300.0])
def test_optimal_ridge_against_brute_force_grid(p):
    grid = np.geomspace(1e-4, 10, 801)
    curve = (krr(SYS, 100, grid, 0.1) if p is None else rf(SYS, 100, p, grid, 0.1)).test_error
    j = int(np.argmin(curve))
    o = optimal_ridge(SYS, 100.0, 0.1, p)
    step = math.log(grid[1] / grid[0])
    assert abs(math.log(o.x / grid[j])) <= step
    assert o.value <= curve[j] * (1 + 1e-12)
    assert o.value == pytest.approx(curve[j], rel=1e-5)


@pytest.mark.slow
def test_more_is_better_table():
    """"More is better" (Simon et al. arXiv:2311.14646; docs/models.md §6.6-6.7): with the ridge tuned, E* decreases
    in p towards KRR and ridge* decreases. The table was computed independently at an unstated truncation; these
    values are for M -> inf (binned spectrum with tail), which differ from the table by at most 0.3 % (E*) and 1 %
    (ridge*)."""
    s = Eigensystem.power_law(1.5, 1.8, 10 ** 7, exact_modes=10 ** 4, bins_per_decade=100, tail=True)
    table = {25: (0.4667, 1.54), 50: (0.3602, 1.05), 100: (0.2968, 0.714), 200: (0.2601, 0.493),
             400: (0.2395, 0.355), 800: (0.2282, 0.274)}
    prev_e, prev_r = math.inf, math.inf
    for p, (e_star, r_star) in table.items():
        o = optimal_ridge(s, 100.0, 0.1, float(p))
        assert o.value + 0.1 == pytest.approx(e_star, rel=4e-3)
        assert o.x == pytest.approx(r_star, rel=1.5e-2)
        assert o.value < prev_e and o.x < prev_r
        prev_e, prev_r = o.value, o.x
    k = optimal_ridge(s, 100.0, 0.1)
    assert k.value + 0.1 == pytest.approx(0.2157, rel=2e-3) and k.value < prev_e


@pytest.mark.parametrize("alpha,beta", [pytest.param(3.0, 2.0, marks=pytest.mark.slow),
                                        pytest.param(2.0, 1.5, marks=pytest.mark.slow), (2.0, 1.8),
                                        pytest.param(1.5, 1.25, marks=pytest.mark.slow)])
def test_fitting_ratio_at_optimal_ridge(alpha, beta):
    """Continuum formula for power laws (§6.5; derived independently of this code, noise-free, beta < alpha):
    E_tr/E_te at the optimum = ((a-b)/(b(a-1)))^2. A previously tabulated solver column at finite truncation is
    visibly truncation-biased (e.g. 0.116 vs 0.16 at alpha = 1.5); with M -> inf (binned spectrum plus tail) the
    solver agrees with the continuum formula to 0.3 %."""
    s = Eigensystem.power_law(alpha, beta, 10 ** 8, exact_modes=10 ** 4, bins_per_decade=100, tail=True)
    o = optimal_ridge(s, 1000.0, 0.0)
    r = krr(s, 1000, o.x, 0.0)
    assert o.at_bound is None
    assert r.train_error / r.test_mse == pytest.approx(((alpha - beta) / (beta * (alpha - 1))) ** 2, rel=3e-3)


@pytest.mark.parametrize("alpha,beta", [(2.0, 2.5), pytest.param(1.5, 1.5, marks=pytest.mark.slow),
                                        pytest.param(1.5, 3.0, marks=pytest.mark.slow)])
def test_obligatory_overfitting_when_beta_ge_alpha(alpha, beta):
    """Noise-free power-law tasks with beta >= alpha: the error decreases all the way to zero ridge."""
    s = Eigensystem.power_law(alpha, beta, 1000, tail=True)
    o = optimal_ridge(s, 30.0, 0.0)
    assert o.at_bound == "lower" and o.slope > 0


def test_optimal_width_fixed_ridge_against_grid():
    s = Eigensystem.power_law(1.5, 1.8, 1000)
    C = 2e4
    o = optimal_width(s, C, 0.1, ridge=1e-2)
    p = np.geomspace(o.bounds[0], o.bounds[1], 1001)
    curve = rf(s, C / p, p, 1e-2, 0.1).test_error
    j = int(np.argmin(curve))
    assert abs(math.log(o.x / p[j])) <= math.log(p[1] / p[0])
    assert o.value == pytest.approx(curve[j], rel=3e-5) and o.value <= curve[j] * (1 + 1e-12)
    assert o.extra["n"] == pytest.approx(C / o.x)


@pytest.mark.slow
def test_optimal_width_with_optimal_ridge_against_grid():
    s = Eigensystem.power_law(1.5, 1.8, 500)
    C = 1e4
    o = optimal_width(s, C, 0.1, grid=24, ridge_grid=32)
    p = np.geomspace(20, 500, 81)[:, None]
    r = np.geomspace(1e-3, 30, 601)[None, :]
    E = rf(s, C / p, p, r, 0.1).test_error
    best = E.min(axis=1)
    j = int(np.argmin(best))
    assert abs(math.log(o.x / p[j, 0])) <= 2 * math.log(p[1, 0] / p[0, 0])
    assert o.value <= best[j] * (1 + 1e-6)
    assert o.extra["ridge"] == pytest.approx(r[0, int(np.argmin(E[j]))], rel=0.1)
