"""rmt.theory.ntk against Monte Carlo of the actual empirical-NTK kernel regression (montecarlo.ntk.simulate_ntk).

Tolerance: ``|simulation - theory| <= 4 standard errors + a finite-size allowance``. The allowances are the
deviations measured at these sizes in earlier simulations (docs/models.md §4.2, docs/validation.md) and re-measured
here (numbers in the closing report of issue 5): the empirical NTK converges to its limit more
slowly than random features, and most slowly at small width.

* quadratic scaling, ``n0 = 400``: 2% of the theory value when ``n1 >= n0`` (earlier runs measured 0.3-1.7% for tanh
  and ReLU) and 8% when ``n1 < n0`` (earlier runs: 3.8% for ReLU at ``(phi, psi) = (0.5, 2)``, and for tanh at
  ``(0.5, 2, 1e-3, 0.1)`` deviations of +0.006 to +0.009 on 0.1173, i.e. 5-8%, shrinking like ``1/n0``);
  fine-grained terms: 1% of the test error (absolute);
* linear scaling, ``n0 = 400``: 4% (we measured +0 to +3% for ``n1 = 1, 2, 4, 8``; the limit drops the
  ``n1^2 + n1`` features that live in the span of ``W`` and the second-layer features, a relative correction of
  order ``n1^2 / m``).

The fast tests (one point per activation) run in CI; ``-m slow`` runs the grids.
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt.montecarlo.ntk import simulate_ntk
from rmt import Problem
from rmt.theory.ntk import FINE_GRAINED_KEYS, infinite_width, linear_scaling, quadratic_scaling

Z = 4.0  # standard errors


def quad_allowance(problem: Problem, value: float) -> float:
    return (0.02 if problem.n1 >= problem.n0 else 0.08) * abs(value)


def check(sim_value: float, se: float, theory: float, allowance: float, what: str) -> None:
    dev = sim_value - theory
    assert abs(dev) <= Z * se + allowance, (f"{what}: simulation {sim_value:.5f} +- {se:.5f}, theory {theory:.5f}, "
                                            f"deviation {dev:+.5f} > {Z} se + {allowance:.5f}")


def compare_quadratic(problem: Problem, *, lr: float = 1.0, include_f0: bool = False, trials=(2, 2, 2), reps=3,
                      seed=0, components: bool = True) -> None:
    th = quadratic_scaling(problem, lr_ratio=lr, include_f0=include_f0)
    sim = simulate_ntk(problem, lr_ratio=lr, include_f0=include_f0, trials=trials, reps=reps, seed=seed)
    allow = quad_allowance(problem, th.test_error)
    check(sim.test_error, sim.stderr["test_error"], th.test_error, allow, "test_error")
    check(sim.bias, sim.stderr["bias"], th.bias, allow, "bias")
    check(sim.train_error, sim.stderr["train_error"], th.train_error,
          quad_allowance(problem, th.train_error) + 1e-6, "train_error")
    if float(problem.noise) > 0:  # the noise variance: V_eps + V_Peps + V_Xeps + V_PXeps of the ANOVA estimator
        check(sim.extras["noise_variance"], sim.stderr["noise_variance"], th.noise_variance, allow, "noise_variance")
        check(sim.variance - sim.extras["noise_variance"], sim.stderr["variance"] + sim.stderr["noise_variance"],
              th.variance - th.noise_variance, allow, "variance without noise")
    if components and th.fine_grained is not None:
        for k in FINE_GRAINED_KEYS:
            check(sim.fine_grained[k], sim.stderr["fine_grained"][k], th.fine_grained[k], 0.01 * th.test_error,
                  f"V_{k}")


# ---------------------------------------------------------------------------------------------------------------
# fast: one point per activation at n0 = 400
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
def test_quadratic_scaling_against_simulation(act):
    problem = Problem.from_ratios(1.0, 1.0, ridge=1e-3, activation=act, noise=0.2, n0=400)
    compare_quadratic(problem, trials=(2, 2, 2), reps=3, seed=11, components=False)


def test_linear_scaling_against_simulation_conditional_on_a():
    """n1 = 2, p = 2m: the a-conditional limit against simulation with that second layer."""
    a = np.array([0.8, -1.2])
    problem = Problem(n0=400, n1=2, m=400, ridge=1e-2, activation="relu", noise=0.1)
    th = linear_scaling(problem, second_layer=a)
    sim = simulate_ntk(problem, trials=(2, 2, 2), reps=3, seed=3, second_layer=a)
    check(sim.test_error, sim.stderr["test_error"], th.test_error, 0.04 * th.test_error, "test_error")
    check(sim.bias, sim.stderr["bias"], th.bias, 0.04 * th.test_error, "bias")


# ---------------------------------------------------------------------------------------------------------------
# slow: grids, fine-grained terms, f0, small lr ratio, linear scaling at n1 = 1, 2, 4, 8
# ---------------------------------------------------------------------------------------------------------------

QUAD_GRID = [(0.5, 0.5, 1e-3, 0.1), (1.0, 1.0, 1e-4, 0.0), (2.0, 1.0, 1e-2, 0.2), (0.8, 0.2, 1e-3, 0.1),
             (0.5, 2.0, 1e-3, 0.1)]


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "tanh", "erf"])
@pytest.mark.parametrize("phi,psi,ridge,noise", QUAD_GRID)
def test_quadratic_grid_and_fine_grained_terms(act, phi, psi, ridge, noise):
    problem = Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, n0=400)
    small_width = psi > 1  # n1 < n0: the fine-grained terms are compared after extrapolation in 1/n0 (below)
    compare_quadratic(problem, trials=(3, 3, 2), reps=4, seed=17, components=not small_width)
    if small_width:
        compare_fine_grained_extrapolated(phi, psi, ridge, noise, act)


def compare_fine_grained_extrapolated(phi, psi, ridge, noise, act, n0=400, seed=17):
    """At small width the fine-grained terms approach their limits like 1/n0 with a large constant: for tanh at
    (phi, psi) = (0.5, 2) we measured V_PXeps = 0.0118, 0.0086, 0.0069 at n0 = 200, 400, 800 against the limit 0.0053
    (deviations 0.0065, 0.0033, 0.0016: halving with each doubling), V_PX 0.0107, 0.0100, 0.0088 against 0.0077.
    Richardson extrapolation ``2 V(n0) - V(n0/2)`` removes the 1/n0 term; it is compared with the limit within 4
    combined standard errors plus 1% of the test error."""
    th = quadratic_scaling(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise))
    sims = [simulate_ntk(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, n0=n),
                         trials=(3, 3, 2), reps=4, seed=seed) for n in (n0 // 2, n0)]
    for k in FINE_GRAINED_KEYS:
        extrapolated = 2 * sims[1].fine_grained[k] - sims[0].fine_grained[k]
        se = float(np.hypot(2 * sims[1].stderr["fine_grained"][k], sims[0].stderr["fine_grained"][k]))
        check(extrapolated, se, th.fine_grained[k], 0.01 * th.test_error, f"V_{k} extrapolated in 1/n0")


@pytest.mark.slow
@pytest.mark.parametrize("act,lr", [("relu", 0.1), ("tanh", 0.1), ("relu", 0.0)])
def test_quadratic_small_learning_rate_ratio(act, lr):
    problem = Problem.from_ratios(0.5, 0.6, ridge=1e-2, activation=act, noise=0.1, n0=400)
    compare_quadratic(problem, lr=lr, trials=(3, 3, 2), reps=3, seed=5)


@pytest.mark.slow
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_initial_function_f0(act):
    problem = Problem.from_ratios(0.5, 1.0, ridge=1e-2, activation=act, noise=0.1, n0=400)
    compare_quadratic(problem, include_f0=True, trials=(3, 3, 2), reps=3, seed=23, components=False)


@pytest.mark.slow
def test_wide_network_against_infinite_width():
    """n1 = 8 m: the simulation agrees with the quadratic-scaling value, which approaches the infinite-width NTK like
    m / n1 (its gap halves when the width doubles: 5.8 %, 3.0 %, 1.5 % at n1 / m = 4, 8, 16), and with the
    infinite-width value within that gap."""
    problem = Problem(n0=200, n1=3200, m=400, ridge=1e-2, activation="tanh", noise=0.1)
    sim = simulate_ntk(problem, trials=(2, 2, 2), reps=3, seed=2)
    th = quadratic_scaling(problem)
    inf = infinite_width(problem)
    check(sim.test_error, sim.stderr["test_error"], th.test_error, 0.02 * th.test_error, "quadratic")
    gaps = [quadratic_scaling(Problem(n0=200, n1=400 * k, m=400, ridge=1e-2, activation="tanh", noise=0.1)
                              ).test_error - inf.test_error for k in (8, 16, 32)]
    assert gaps[0] > 0 and gaps[0] / gaps[1] == pytest.approx(2.0, rel=0.05)
    assert gaps[1] / gaps[2] == pytest.approx(2.0, rel=0.05)
    check(sim.test_error, sim.stderr["test_error"], inf.test_error, 0.02 * inf.test_error + gaps[0], "infinite width")


@pytest.mark.slow
@pytest.mark.parametrize("act,n1,p_over_m", [("relu", 1, 0.5), ("relu", 2, 2.0), ("relu", 4, 2.0), ("relu", 8, 2.0),
                                             ("tanh", 1, 0.5), ("tanh", 2, 2.0), ("tanh", 4, 0.5)])
def test_linear_scaling_grid_conditional(act, n1, p_over_m):
    a = np.array([0.8, -1.2, 0.5, 1.5, 1.0, 0.3, 2.0, 0.9])[:n1]
    problem = Problem(n0=400, n1=n1, m=round(400 * n1 / p_over_m), ridge=1e-2, activation=act, noise=0.1)
    th = linear_scaling(problem, second_layer=a)
    sim = simulate_ntk(problem, trials=(2, 2, 2), reps=6, seed=3, second_layer=a)
    check(sim.test_error, sim.stderr["test_error"], th.test_error, 0.04 * th.test_error, "test_error")
    check(sim.bias, sim.stderr["bias"], th.bias, 0.04 * th.test_error, "bias")
    check(sim.extras["noise_variance"], sim.stderr["noise_variance"], th.noise_variance, 0.04 * th.test_error,
          "noise_variance")


@pytest.mark.slow
@pytest.mark.parametrize("act,n1,p_over_m", [("relu", 1, 0.5), ("relu", 2, 2.0), ("relu", 4, 1.5), ("relu", 8, 2.0),
                                             ("tanh", 2, 2.0)])
def test_linear_scaling_grid_averaged_over_a(act, n1, p_over_m):
    """The contract's error: averaged over the second layer too (the simulation draws a afresh per P-cell)."""
    problem = Problem(n0=400, n1=n1, m=round(400 * n1 / p_over_m), ridge=1e-2, activation=act, noise=0.1)
    th = linear_scaling(problem)
    sim = simulate_ntk(problem, trials=(4, 2, 2), reps=6, seed=9)
    check(sim.test_error, sim.stderr["test_error"], th.test_error,
          0.04 * th.test_error + 2 * th.quadrature_stderr, "test_error")
