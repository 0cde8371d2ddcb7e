"""Symbolic elimination: the Adlam-Pennington quartic and the Marchenko-Pastur quadratic are rederived exactly."""

import mpmath
import numpy as np
import pytest
import sympy as sp

from rmt.kernel_spectrum import ap_equations, rf_kernel_polynomial
from rmt.solvers import polyroots, polyroots_mp
from rmt.symbolic import eliminate

phi, psi, g, eta, zeta, t1, t2 = sp.symbols("phi psi gamma eta zeta tau1 tau2")

# The quartic for tau1 obtained by eliminating tau2 from Adlam & Pennington's (S67)/(S68) (arXiv:2011.03321;
# docs/models.md §3.6), typed in here from an independent elimination, not derived by the code under test: the
# elimination must reproduce it up to a constant factor.
REFERENCE_QUARTIC = (
    -g**2 * psi**2 * zeta * (eta - zeta) * t1**4
    - g * psi * zeta * (g * phi + 2 * (eta - zeta) * (phi - psi)) * t1**3
    - (g * eta * phi**2 * psi + g * phi * zeta * (phi - 2 * psi) + zeta * (eta - zeta) * (phi - psi) ** 2) * t1**2
    - phi * ((phi - psi) * (eta * phi - zeta) + g * phi**2) * t1
    + phi**3
)


@pytest.mark.parametrize("method", ["resultant", "groebner"])
def test_ap_quartic_rederived(method):
    res = eliminate(ap_equations(), t1, [t2], parameters=[phi, psi, g, eta, zeta], method=method)
    assert res.degree == 4
    assert res.equals_up_to_constant(REFERENCE_QUARTIC)
    assert sp.expand(res.expr * sp.cancel(REFERENCE_QUARTIC / res.expr) - REFERENCE_QUARTIC) == 0
    assert not res.equals_up_to_constant(REFERENCE_QUARTIC.subs(eta, 2 * eta))  # the comparison can fail
    assert any(f == t1**2 for f in res.discarded)  # the spurious root tau1 = 0 was removed


def test_module_quartic_is_the_derived_one():
    assert rf_kernel_polynomial().equals_up_to_constant(REFERENCE_QUARTIC)


def test_marchenko_pastur_quadratic():
    m, mb, z, r = sp.symbols("m mbar z r")
    # m = (1/p) tr (S - z)^-1 and its companion mbar = r m - (1 - r)/z; Silverstein: mbar (z - r/(1 + mbar)) = -1
    eqs = [z * mb - r * z * m + 1 - r, mb * (z * (1 + mb) - r) + 1 + mb]
    for method in ("resultant", "groebner"):
        res = eliminate(eqs, unknown=m, eliminate=[mb], parameters=[z, r], method=method)
        assert res.degree == 2
        assert res.equals_up_to_constant(r * z * m**2 + (z + r - 1) * m + 1)


def test_lambdified_coefficients_broadcast():
    poly = rf_kernel_polynomial()
    c = poly.coefficients(np.array([0.5, 1.0, 2.0]), 0.5, np.array([[0.1], [1.0]]), 0.34, 0.25)
    assert c.shape == (2, 3, 5)
    c1 = poly.coefficients(phi=1.0, psi=0.5, gamma=1.0, eta=0.34, zeta=0.25)
    assert c[1, 1] == pytest.approx(c1)
    with pytest.raises(ValueError, match="unknown parameter"):
        poly.coefficients(phi=1.0, psi=0.5, gamma=1.0, eta=0.34, zeta=0.25, chi=1.0)
    with pytest.raises(ValueError, match="missing"):
        poly.coefficients(phi=1.0)


def test_numeric_roots_agree_with_mpmath_at_40_digits():
    rng = np.random.default_rng(7)
    poly = rf_kernel_polynomial()
    exprs = [sp.lambdify((phi, psi, g, eta, zeta), c, modules="mpmath") for c in poly.poly.all_coeffs()]
    worst = 0.0
    for _ in range(40):
        ph, ps = np.exp(rng.uniform(-1.5, 1.5, 2))
        gm = 10 ** rng.uniform(-3, 1)
        ze = rng.uniform(0.05, 0.9)
        et = ze + rng.uniform(0.01, 0.5)
        floats = polyroots(poly.coefficients(ph, ps, gm, et, ze))
        with mpmath.workdps(50):
            cs = [f(*(mpmath.mpf(float(v)) for v in (ph, ps, gm, et, ze))) for f in exprs]
            exact = polyroots_mp(cs, precision=40)
        for root in floats:
            dist = min(abs(complex(root) - complex(e)) for e in exact)
            worst = max(worst, dist / max(1.0, abs(root)))
    assert worst < 1e-10, worst


def test_errors():
    x, y = sp.symbols("x y")
    with pytest.raises(ValueError, match="method"):
        eliminate([x - y, x + y], x, [y], method="magic")
    with pytest.raises(ValueError, match="neither unknowns nor parameters"):
        eliminate([x - y * g, x + y], x, [y], parameters=[])
    with pytest.raises(ValueError, match="only one equation"):
        eliminate([x - y, x + 1], x, [y])
