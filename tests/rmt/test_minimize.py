"""rmt.solvers.minimize_scalar (the one 1-d minimiser) and rmt.solvers.monotone_newton (a root finder returning a
Solution): closed-form optima and roots, failure reports."""

import math

import numpy as np
import pytest

from rmt.solvers import SolverError, Status, minimize_scalar, monotone_newton


def test_golden_section_finds_closed_form_minima_vectorized():
    centers = np.array([0.3, -2.0, 4.9])
    sol = minimize_scalar(lambda u: np.cosh(u - centers), [0.0, -5.0, 0.0], [1.0, 1.0, 5.0], xtol=1e-10)
    assert sol.ok and sol.value.shape == (3,)
    np.testing.assert_allclose(sol.value, centers, atol=1e-7)  # values are compared: ~sqrt(eps) resolution
    np.testing.assert_allclose(sol.objective, 1.0, rtol=1e-14)
    assert np.all(sol.residual <= 1e-10)


def test_golden_section_fixed_steps_shrink_by_the_golden_ratio():
    sol = minimize_scalar(lambda u: (u - 0.7) ** 2, 0.0, 1.0, steps=10)
    assert sol.iterations == 10
    assert sol.residual == pytest.approx(((math.sqrt(5) - 1) / 2) ** 10, rel=1e-12)
    assert abs(sol.value - 0.7) < sol.residual


def test_golden_section_reports_an_unfinished_bracket():
    with pytest.raises(SolverError, match="max iterations"):
        minimize_scalar(lambda u: u * u, -1.0, 1.0, xtol=1e-12, maxiter=5)
    sol = minimize_scalar(lambda u: u * u, -1.0, 1.0, xtol=1e-12, maxiter=5, throw=False)
    assert sol.status == Status.MAX_ITERATIONS
    with pytest.raises(ValueError, match="lo < hi"):
        minimize_scalar(lambda u: u, 1.0, 0.0)


def test_slope_mode_solves_the_derivative_to_rounding():
    # f = exp(u) - 2u: minimum at log 2, f' = exp(u) - 2 (no sign change on [0.8, 1.0])
    sol = minimize_scalar(lambda u: np.exp(u) - 2 * u, [-3.0, 0.8], [3.0, 1.0], slope=lambda u: np.exp(u) - 2.0,
                          throw=False)
    assert sol.value[0] == pytest.approx(math.log(2.0), abs=1e-12)
    assert sol.objective[0] == pytest.approx(2.0 - 2.0 * math.log(2.0), rel=1e-14)
    assert sol.status[0] == Status.SUCCESS and sol.status[1] == Status.NO_BRACKET
    with pytest.raises(SolverError, match="no bracket"):
        minimize_scalar(lambda u: u * u, 1.0, 2.0, slope=lambda u: 2 * u)


def test_monotone_newton_root_and_failures():
    target = np.array([2.0, 9.0, 0.5])
    sol = monotone_newton(lambda x, idx: (x * x - target[idx], 2 * x), np.array([3.0, 5.0, 2.0]))
    np.testing.assert_allclose(sol.value, np.sqrt(target), rtol=1e-15)
    assert sol.ok and np.all(sol.residual <= 1e-14)
    with pytest.raises(SolverError) as info:
        monotone_newton(lambda x, idx: (x * x - target[idx], 2 * x), np.array([3.0, 5.0, 2.0]), maxiter=1)
    assert info.value.residual > 0.1
    sol = monotone_newton(lambda x, idx: (x * x - 2.0, 0.0 * x), np.array([3.0]), throw=False)
    assert sol.status[0] == Status.NONFINITE and sol.value[0] == 3.0


def test_bracket_root_mp_to_high_precision():
    import mpmath

    from rmt.solvers import bracket_root_mp

    with mpmath.workdps(50):
        sol = bracket_root_mp(lambda x: x * x - 2, mpmath.mpf(0), mpmath.mpf(2), tol=mpmath.mpf(10) ** -45)
        assert abs(sol.value - mpmath.sqrt(2)) < mpmath.mpf(10) ** -44 and sol.ok
        with pytest.raises(SolverError, match="no sign change"):
            bracket_root_mp(lambda x: x * x + 1, mpmath.mpf(0), mpmath.mpf(2), tol=mpmath.mpf(10) ** -45)
