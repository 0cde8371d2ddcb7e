"""Activation constants: closed forms, 30-digit quadrature, Gauss-Hermite, and the documented known values."""

import math

import mpmath
import numpy as np
import pytest

from rmt.activations import KNOWN_ACTIVATIONS, constants, exact_moments, get_activation, hermite_coefficients

CLOSED = ["relu", "erf", "linear", "sign", "quadratic"]
SMOOTH = ["tanh", "erf", "softplus", "gelu", "linear", "quadratic"]


def test_known_values():
    relu = constants("relu")
    assert relu.mu1 == 0.5
    assert relu.mu_star2 == pytest.approx(0.25 - 1 / (2 * math.pi), abs=1e-15)
    assert relu.mu0 == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-15)
    tanh = constants("tanh")
    assert round(tanh.mu1, 6) == 0.605706
    assert round(tanh.mu_star, 6) == 0.165576
    erf = constants("erf")
    assert erf.mu1 == pytest.approx(2 / math.sqrt(3 * math.pi), abs=1e-15)
    assert round(erf.mu1, 6) == 0.651470
    assert constants("sign").mu1 == pytest.approx(math.sqrt(2 / math.pi), abs=1e-15)
    # Adlam-Pennington constants of the centred activation: eta - zeta = mu_star^2 at unit variance
    for name in KNOWN_ACTIVATIONS:
        c = constants(name)
        assert c.eta - c.zeta == pytest.approx(c.mu_star2, abs=1e-14)
        assert c.zeta == pytest.approx(c.mu1**2, abs=1e-15)


@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("variance", [1.0, 2.5])
def test_closed_forms_against_30_digit_quadrature(name, variance):
    exact = constants(name, variance, method="exact", precision=30)
    quad = constants(name, variance, method="mpmath", precision=30)
    with mpmath.workdps(30):
        for field in ("mu0", "mu1", "mu_star2", "eta", "mean_derivative", "mean_sq_derivative"):
            a, b = getattr(exact, field), getattr(quad, field)
            if mpmath.isinf(a):
                assert mpmath.isinf(b), field
                continue
            assert abs(a - b) <= mpmath.mpf(10) ** -25 * max(1, abs(a)), (field, a, b)


@pytest.mark.parametrize("name", SMOOTH)
def test_gauss_hermite_fast_path_matches_quadrature(name):
    gh = constants(name, method="gauss-hermite")
    mp = constants(name, method="mpmath")
    for field in ("mu0", "mu1", "mu_star2", "eta", "mean_sq_derivative"):
        assert getattr(gh, field) == pytest.approx(getattr(mp, field), abs=1e-12), field


@pytest.mark.parametrize("nodes", [400, 2000])
def test_gauss_hermite_many_nodes_stay_finite(nodes):
    gh = constants("tanh", method="gauss-hermite", nodes=nodes)
    assert gh.mu_star2 == pytest.approx(constants("tanh").mu_star2, abs=1e-12)


def test_gauss_hermite_on_a_kink_is_accurate_to_1e_3():
    gh, exact = constants("relu", method="gauss-hermite"), constants("relu")
    for field in ("mu0", "mu1", "mu_star2", "mean_derivative", "mean_sq_derivative"):
        assert abs(getattr(gh, field) - getattr(exact, field)) < 2e-3, field


def test_callable_matches_named_activation():
    import jax.numpy as jnp

    custom = constants(lambda x: jnp.tanh(x))
    named = constants("tanh")
    for field in ("mu0", "mu1", "mu_star2", "mean_derivative", "mean_sq_derivative"):
        assert getattr(custom, field) == pytest.approx(getattr(named, field), abs=1e-10), field


def test_numpy_only_callable_and_its_finite_difference_derivative():
    c = constants(lambda x: np.tanh(x) + 0.5 * np.tanh(2 * x), method="mpmath")
    d = get_activation(lambda x: np.tanh(x) + 0.5 * np.tanh(2 * x))
    x = np.linspace(-3, 3, 7)
    assert d.d(x) == pytest.approx(1 - np.tanh(x) ** 2 + (1 - np.tanh(2 * x) ** 2), abs=1e-9)
    assert c.mean_derivative == pytest.approx(c.mu1, abs=1e-9)  # Stein's lemma


@pytest.mark.parametrize("name", KNOWN_ACTIVATIONS)
def test_jax_and_numpy_implementations_agree(name):
    import jax

    jax.config.update("jax_enable_x64", True)
    act = get_activation(name)
    x = np.linspace(-3.1, 2.9, 13)
    assert np.asarray(act.jax_fn()(jax.numpy.asarray(x))) == pytest.approx(act(x), abs=1e-14)
    if name != "sign":
        assert np.asarray(act.jax_derivative()(jax.numpy.asarray(x))) == pytest.approx(act.d(x), abs=1e-12)


def test_hermite_coefficients():
    c = hermite_coefficients("relu", 4)
    assert c[0] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-15)
    assert c[1] == pytest.approx(0.5, abs=1e-15)
    assert c[2] == pytest.approx(1 / (2 * math.sqrt(math.pi)), abs=1e-15)  # E[relu(z)(z^2-1)]/sqrt(2)
    assert c[3] == pytest.approx(0.0, abs=1e-15)
    # Parseval: sum of squares -> E sigma^2 (erf has fast-decaying coefficients)
    ce = hermite_coefficients("erf", 41, method="gauss-hermite")
    assert np.sum(ce**2) == pytest.approx(constants("erf").eta, abs=1e-6)
    assert ce[1] == pytest.approx(constants("erf").mu1, abs=1e-13)


def test_exact_moments_table_is_sympy():
    assert exact_moments("tanh") is None
    assert set(exact_moments("relu")) == {"E_sigma", "mu1", "E_sigma2", "E_dsigma2"}


def test_sign_has_infinite_derivative_moment():
    assert math.isinf(constants("sign").mean_sq_derivative)


@pytest.mark.parametrize("bad,match", [("foo", "relu, tanh"), (3, "activation must be"), ("", "activation")])
def test_unknown_activation_lists_known_ones(bad, match):
    with pytest.raises(ValueError, match=match):
        get_activation(bad)


@pytest.mark.parametrize("variance", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_variance(variance):
    with pytest.raises(ValueError, match="variance"):
        constants("relu", variance)


def test_exact_method_without_closed_form_raises():
    with pytest.raises(ValueError, match="closed form"):
        constants("tanh", method="exact")
    with pytest.raises(ValueError, match="method"):
        constants("relu", method="magic")  # type: ignore[arg-type]
