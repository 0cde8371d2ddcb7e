"""Solvers: batched roots, branch rules, continuation, bracketing, fixed points, and the mpmath path."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmt.activations import constants
from rmt.kernel_spectrum import rf_kernel_polynomial
from rmt.solvers import (Solution, SolverError, Status, continue_roots, fixed_point, polyroots, polyroots_mp,
                         polyval, select_real_in_interval, select_upper_half_plane, solve_monotone, stieltjes_roots)


def _match_error(a, b):
    """Largest distance from a root in ``a`` to the nearest root in ``b`` (relative), per row."""
    d = np.abs(a[..., :, None] - b[..., None, :]).min(axis=-1) / np.maximum(1.0, np.abs(a))
    return d.max()


@pytest.mark.parametrize("deg", [1, 2, 3, 4, 5, 7])
def test_polyroots_closed_forms_agree_with_companion(deg):
    rng = np.random.default_rng(deg)
    c = rng.normal(size=(5000, deg + 1))
    fast = polyroots(c)
    comp = polyroots(c, method="companion")
    assert _match_error(fast, comp) < 1e-9
    assert _match_error(comp, fast) < 1e-9
    # both are genuine roots
    scale = (np.abs(c)[:, None, :] * np.abs(fast)[..., None] ** np.arange(deg, -1, -1)).sum(-1)
    assert np.max(np.abs(polyval(c[:, None, :], fast)) / scale) < 1e-12


def test_polyroots_complex_and_degenerate():
    roots = polyroots(np.array([[1, -2, 1], [1, 0, 0], [1j, 1, 0]]))
    assert np.sort_complex(roots[0]) == pytest.approx([1, 1])
    assert roots[1] == pytest.approx([0, 0])
    assert sorted(np.abs(roots[2])) == pytest.approx([0.0, 1.0])
    quartic = polyroots(np.array([1.0, -4, 6, -4, 1]))  # (x-1)^4: a four-fold root
    assert quartic == pytest.approx(np.ones(4), abs=1e-3)


def test_polyroots_degree_drop_gives_infinite_roots():
    r = polyroots(np.array([[0.0, 0.0, 1.0, -3.0], [1.0, 0.0, 0.0, -8.0]]))
    assert np.isinf(r[0, 1:]).all() and r[0, 0] == pytest.approx(3.0)
    assert np.isfinite(r[1]).all()


def test_polyroots_rejects_bad_input():
    with pytest.raises(ValueError, match="identically zero"):
        polyroots(np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        polyroots(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="degree"):
        polyroots(np.array([1.0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.just(0.0), st.floats(1e-6, 1e3), st.floats(-1e3, -1e-6)), min_size=3, max_size=5)
       .filter(lambda c: abs(c[0]) > 1e-3))
def test_polyroots_backward_error_hypothesis(coeffs):
    c = np.array(coeffs)
    r = polyroots(c)
    assert r.shape == (c.size - 1,)
    scale = (np.abs(c) * np.abs(r)[:, None] ** np.arange(c.size - 1, -1, -1)).sum(-1)
    assert np.all(np.abs(polyval(c, r)) <= 1e-9 * scale)
    # Vieta: the product of the roots is (-1)^d c_d / c_0
    assert np.prod(r) * c[0] * (-1) ** (c.size - 1) == pytest.approx(c[-1], abs=1e-6 * max(1, abs(c[-1])),
                                                                       rel=1e-6)


def test_polyroots_mp_precision():
    roots = polyroots_mp([1, 0, -2], precision=60)
    with mpmath.workdps(60):
        assert min(abs(r - mpmath.sqrt(2)) for r in roots) < mpmath.mpf(10) ** -55
    with pytest.raises(ValueError):
        polyroots_mp([0, 0, 3])


def test_select_real_in_interval_statuses():
    roots = np.array([[0.5 + 0j, 2.0, -1.0], [3.0, 4.0, 5.0], [0.2, 0.4, 7.0], [0.5 + 1e-3j, 0.5 - 1e-3j, 9]])
    sol = select_real_in_interval(roots, 0.0, 1.0)
    assert sol.status.tolist() == [Status.SUCCESS, Status.NO_PHYSICAL_ROOT, Status.AMBIGUOUS_BRANCH,
                                   Status.NO_PHYSICAL_ROOT]
    assert sol.value[0] == 0.5 and np.isnan(sol.value[1:]).all()
    with pytest.raises(SolverError, match="no physical root"):
        sol.raise_for_status()
    extra = np.array([[True] * 3, [True] * 3, [False, True, True], [True] * 3])
    sol2 = select_real_in_interval(roots, 0.0, 1.0, extra=extra)
    assert sol2.status[2] == Status.SUCCESS and sol2.value[2] == pytest.approx(0.4)


def test_select_upper_half_plane():
    sol = select_upper_half_plane(np.array([[1 + 1j, 1 - 1j], [1 + 1j, 2 + 1j]]))
    assert sol.status.tolist() == [Status.SUCCESS, Status.AMBIGUOUS_BRANCH]


def _tau1_by_rule(phi, psi, gamma, eta, zeta):
    """tau1 by the physical-branch rule of docs/models.md §3.6: the real quartic root in (0, 1/gamma]
    with tau2 > 0 (tau2 from (S67) solved for tau2)."""
    roots = rf_kernel_polynomial().roots(phi, psi, gamma, eta, zeta)
    phi, psi, gamma = (np.asarray(v, dtype=float)[..., None] for v in (phi, psi, gamma))
    with np.errstate(all="ignore"):
        t1 = roots.real
        tau2 = phi**2 * t1 / (phi**2 + (phi - psi) * zeta * t1 + gamma * psi * zeta * t1**2)
    sol = select_real_in_interval(roots, 0.0, 1.0 / gamma[..., 0], extra=tau2 > 0)
    return sol, roots


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("gamma", [1e-4, 1e-2])
def test_branch_never_jumps_across_the_interpolation_threshold(act, gamma):
    """2000 points of psi = n0/n1 at phi = 1: n1/m sweeps from 10 to 0.25, through the threshold n1 = m."""
    c = constants(act)
    psi = np.geomspace(0.1, 4.0, 2000)
    sol, roots = _tau1_by_rule(1.0, psi, gamma, c.eta, c.zeta)
    sol.raise_for_status("tau1 branch rule")
    tau1 = sol.value
    # never jumps: on this smooth grid the second differences are a small fraction of the first differences; a
    # switch to a neighbouring root (as close as ~5 to the physical one at n1/m = 1/4, gamma = 1e-4) would break it
    d1 = np.abs(np.diff(tau1))
    d2 = np.abs(np.diff(tau1, 2))
    assert np.all(d2 <= 0.05 * (d1[:-1] + d1[1:])), np.max(d2 / (d1[:-1] + d1[1:]))
    # the physical root obeys the atom bound tau1 >= (1 - n1/m)_+ / gamma of a Stieltjes transform at -gamma
    assert np.all(gamma * tau1 >= np.maximum(1 - 1 / psi, 0) * (1 - 1e-12))
    # and predictor-corrector continuation from the first point follows the same branch
    cont = continue_roots(roots, tau1[0])
    assert cont.real == pytest.approx(tau1, rel=1e-12)
    # physical limits: gamma tau1 -> 1 - n1/m below the threshold for small gamma
    if gamma == 1e-4:
        under = (1.0 / psi) < 0.5
        assert gamma * tau1[under] == pytest.approx(1 - 1.0 / psi[under], abs=2e-3)


def test_tau1_large_ridge_limit():
    c = constants("relu")
    gamma = np.geomspace(1e2, 1e6, 20)
    sol, _ = _tau1_by_rule(0.5, 0.8, gamma, c.eta, c.zeta)
    assert gamma * sol.value == pytest.approx(np.ones(20), abs=2e-2)
    assert np.all(np.diff(gamma * sol.value) > 0)


def test_stieltjes_roots_continuation_on_marchenko_pastur():
    from rmt.stieltjes import mp_stieltjes

    r = 0.5
    coeffs = lambda z: np.stack(np.broadcast_arrays(r * z, z + r - 1, np.ones_like(z)), axis=-1)  # noqa: E731
    x = np.linspace(0.01, 4.0, 300)
    sol = stieltjes_roots(coeffs, x)
    assert sol.value == pytest.approx(mp_stieltjes(x + 1e-10j, r), rel=1e-6, abs=1e-8)
    assert sol.ok and np.all(sol.residual < 1e-12)


def test_solve_monotone_vectorized_and_log():
    target = np.array([1e-8, 1.0, 3e5])
    sol = solve_monotone(lambda x: np.log(x) - np.log(target), np.full(3, 1e-3), np.full(3, 1e3))
    assert sol.ok and sol.value == pytest.approx(target, rel=1e-12)
    dec = solve_monotone(lambda x: 2.0 - x, 0.0, 10.0, log=False)
    assert dec.value == pytest.approx(2.0)


def test_solve_monotone_reports_failures():
    with pytest.raises(SolverError, match="no bracket"):
        solve_monotone(lambda x: x * 0 + 1.0, 1.0, 2.0)
    sol = solve_monotone(lambda x: x**3 - 2.0, 0.0, 4.0, log=False, maxiter=2, throw=False)
    assert sol.status == Status.MAX_ITERATIONS and np.isnan(sol.value)
    with pytest.raises(SolverError) as info:
        sol.raise_for_status()
    assert math.isfinite(info.value.residual) and info.value.residual > 0
    with pytest.raises(ValueError, match="positive bracket"):
        solve_monotone(lambda x: x, -1.0, 1.0)


def test_fixed_point():
    sol = fixed_point(np.cos, 1.0)
    assert sol.value == pytest.approx(0.7390851332151607, abs=1e-12)
    pair = fixed_point(lambda a, b: (0.5 * b + 1, 0.5 * a), (0.0, 0.0))
    assert pair.value[0] == pytest.approx(4 / 3) and pair.value[1] == pytest.approx(2 / 3)
    with pytest.raises(SolverError, match="max iterations"):
        fixed_point(lambda x: 2 * x + 1, 1.0, maxiter=50)


def test_solution_ok_flag():
    s = Solution(value=np.ones(2), residual=np.zeros(2), status=np.zeros(2, dtype=np.int8))
    assert s.ok and s.raise_for_status() is s
