"""The float64 fast path of the activation constants (``method="float"``, :func:`gaussian_mean`) against the exact
sympy closed forms and 30-digit quadrature, and the start-up it exists for (no sympy in a simulation)."""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import pytest

from rmt.activations import KNOWN_ACTIVATIONS, constants, exact_moments, gaussian_mean

CLOSED = [name for name in KNOWN_ACTIVATIONS if exact_moments(name) is not None]
VARIANCES = [0.01, 0.3, 1.0, 2.5, 1e3, 1e6]
FIELDS = ("mu0", "mu1", "mu_star2", "eta", "zeta", "mean_derivative", "mean_sq_derivative")


def close(a: float, b: float, rel: float = 1e-14) -> bool:
    """Equal to ``rel`` relative (or absolute, below a magnitude of 1); infinities equal only themselves."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(1.0, abs(b))


def test_closed_forms_cover_the_expected_activations():
    assert CLOSED == ["relu", "erf", "linear", "sign", "quadratic"]


@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("s", VARIANCES)
def test_float_constants_equal_exact(name, s):
    fast, exact = constants(name, s, method="float"), constants(name, s, method="exact")
    assert fast.method == "float"
    for f in FIELDS:
        assert close(float(getattr(fast, f)), float(getattr(exact, f))), (name, s, f)
    # relative to the value itself too, where it is not zero (the scale of the numbers varies with s)
    for f in FIELDS:
        e = float(getattr(exact, f))
        if e != 0 and math.isfinite(e) and f != "mu_star2":
            assert abs(float(getattr(fast, f)) - e) <= 1e-14 * abs(e), (name, s, f)


_MP = {  # written here, independently of the module's own mpmath versions
    "tanh": mpmath.tanh,
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "gelu": lambda x: x * mpmath.ncdf(x),
}


def _mean_30_digits(name: str, s: float) -> float:
    with mpmath.workdps(30):
        sd = mpmath.sqrt(mpmath.mpf(s))
        return float(mpmath.quad(lambda z: _MP[name](sd * z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf]))


@pytest.mark.parametrize("name", KNOWN_ACTIVATIONS)
@pytest.mark.parametrize("s", [0.3, 2.5])
def test_gaussian_mean_equals_exact_or_30_digit_quadrature(name, s):
    if name in CLOSED:
        ref = float(constants(name, s, method="exact").mu0)
    else:  # tanh, softplus, gelu: independent 30-digit quadrature
        ref = _mean_30_digits(name, s)
    assert close(gaussian_mean(name, s), ref), (name, s, gaussian_mean(name, s), ref)


def test_gelu_mean_closed_form_matches_quadrature_at_high_precision():
    # s / sqrt(2 pi (1 + s)) (Stein's lemma) against 40-digit quadrature of E[u Phi(u)], away from float rounding
    s = mpmath.mpf("0.7")
    with mpmath.workdps(40):
        quad = mpmath.quad(lambda z: mpmath.sqrt(s) * z * mpmath.ncdf(mpmath.sqrt(s) * z) * mpmath.npdf(z),
                           [-mpmath.inf, mpmath.inf])
        closed = s / mpmath.sqrt(2 * mpmath.pi * (1 + s))
        assert abs(quad - closed) < mpmath.mpf(10) ** -35


def test_float_method_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="closed form"):
        constants("tanh", method="float")
    with pytest.raises(ValueError, match="precision"):
        constants("relu", method="float", precision=30)
    with pytest.raises(ValueError, match="variance"):
        gaussian_mean("relu", 0.0)


def test_custom_callable_mean_is_gauss_hermite():
    f = lambda x: x * x  # noqa: E731  (not the named "quadratic": Gauss-Hermite, exact for a polynomial)
    assert abs(gaussian_mean(f, 2.0) - 2.0) < 1e-12


def test_simulation_start_up_never_loads_sympy():
    code = ("import sys\n"
            "import rmt.figures.commands.simulate, rmt.montecarlo.sweep, rmt.montecarlo.random_features\n"
            "from rmt.activations import get_activation\n"
            "from rmt.montecarlo._engine import centering_mean\n"
            "for name in ('relu', 'tanh', 'erf', 'gelu'):\n"
            "    centering_mean(get_activation(name), 1.3)\n"
            "print(sorted(m for m in ('sympy', 'mpmath', 'scipy.special') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
