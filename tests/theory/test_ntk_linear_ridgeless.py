"""The ridgeless branch of the exact linear-scaling NTK formulation (rmt.theory.ntk.linear_scaling, ridge = 0,
n1 <= 10) and the initial function f0 in the exact formulation.

Independent references:

* ReLU with one neuron: the gate ``1[w.x > 0]`` splits the data in halves, so the limit is ridgeless linear
  regression on the ``m/2`` samples with an open gate (aspect ratio ``t = 2 phi``) plus the unexplained signal on the
  other half: ``E = s/2 + (1/2) [noise t/(1 - t)]`` for ``t < 1`` and ``s/2 + (1/2) [s (1 - 1/t) + noise/(t - 1)]``
  for ``t > 1`` (Hastie et al. 2019, arXiv:1903.08560, isotropic case); the threshold is ``p = m/2``, not ``p = m``;
* a linear activation: a constant gate, so the features span only ``n0`` directions: ridgeless least squares
  (``phi < 1``) or min-norm interpolation (``phi > 1``) of ``x -> beta.x``, the same closed forms with ``t = phi``;
* the existing ridge solver at ridges 1e-6, 1e-8, 1e-10, whose limit must be the ridgeless branch (linear rate);
* the empirical-NTK simulation with the pseudo-inverse kernel regression at ``n0 = 100`` and ``200`` (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.theory._ntk_linear import _conditional, gate_rule
from rmt.theory.ntk import linear_scaling
from tests.theory._ntk_refs import check_against_simulation, lin_problem


def ridgeless_linear(t, signal, noise):
    """Isotropic ridgeless linear regression, ``t = dimension / samples``: (error, mean shrinkage)."""
    if t < 1:
        return noise * t / (1 - t), 1.0
    return signal * (1 - 1 / t) + noise / (t - 1), 1 / t


@pytest.mark.parametrize("phi", [0.2, 0.4, 0.75, 3.0])
def test_relu_one_neuron_is_ridgeless_linear_on_half_the_data(phi):
    err, alpha = ridgeless_linear(2 * phi, 1.3, 0.3)
    for a in ([0.7], None):  # the ridgeless limit does not depend on the second layer at n1 = 1
        res = linear_scaling(lin_problem("relu", 1, phi, 0.0, 0.3, 1.3), second_layer=a)
        assert res.quadrature["method"] == "exact"
        assert float(res.test_error) == pytest.approx(0.5 * 1.3 + 0.5 * err, rel=1e-10)
        assert float(res.alpha) == pytest.approx(0.5 * alpha, rel=1e-10)
        assert float(res.noise_variance) == pytest.approx(0.5 * ridgeless_linear(2 * phi, 0.0, 0.3)[0], rel=1e-10)
        assert float(res.conditional_sd) < 1e-8


@pytest.mark.parametrize("n1", [1, 3])
@pytest.mark.parametrize("phi", [0.3, 2.0])
def test_linear_activation_is_least_squares(n1, phi):
    """Constant gate: the threshold is n0 = m whatever n1 (the wide formulation refuses this case: its ridgeless
    branch needs the implicit ridge of a nonlinear gate)."""
    res = linear_scaling(lin_problem("linear", n1, phi, 0.0, 0.3, 1.2), second_layer=np.linspace(0.5, 1.5, n1),
                         lr_ratio=0.7)
    err, alpha = ridgeless_linear(phi, 1.2, 0.3)
    assert float(res.test_error) == pytest.approx(err, rel=1e-10)
    assert float(res.alpha) == pytest.approx(alpha, rel=1e-10)


@pytest.mark.parametrize("n1", [2, 3, 5])
def test_least_squares_mean_is_the_population_projection(n1):
    """Below the threshold least squares is unbiased for the population projection of beta.x on the features: by
    symmetry B_i = b beta with b minimising E (b S - 1)^2, S = sum_i v_i ~ Binomial(n1, 1/2), so b = E S / E S^2 =
    2/(n1 + 1) and alpha = b E S = n1/(n1 + 1) at every phi below the threshold."""
    phi = np.array([0.2, 0.6]) / n1
    res = linear_scaling(lin_problem("relu", n1, phi, 0.0, 0.1), second_layer=np.linspace(0.4, 1.7, n1))
    np.testing.assert_allclose(res.alpha, n1 / (n1 + 1), rtol=1e-10)


@pytest.mark.parametrize("phi", [0.3, 2.0])
def test_fine_grained_linear_activation(phi):
    """Nothing depends on W: V_P = V_PX = V_PXeps = 0; least squares (phi < 1) has V_X = 0 and V_Xeps = noise
    phi/(1 - phi); min-norm interpolation has bias s (1 - 1/phi)^2, V_X = s (1 - 1/phi)/phi, V_Xeps = noise/(phi - 1)."""
    res = linear_scaling(lin_problem("linear", 3, phi, 0.0, 0.3, 1.2), second_layer=[0.5, 1.0, 1.5])
    f = {k: float(x) for k, x in res.fine_grained.items()}
    for k in ("P", "PX", "PXeps", "eps", "Peps"):
        assert abs(f[k]) < 1e-12, k
    vx = 0.0 if phi < 1 else 1.2 * (1 - 1 / phi) / phi
    vxe = 0.3 * phi / (1 - phi) if phi < 1 else 0.3 / (phi - 1)
    assert f["X"] == pytest.approx(vx, rel=1e-10, abs=1e-12)
    assert f["Xeps"] == pytest.approx(vxe, rel=1e-10)


@pytest.mark.parametrize("act,n1,pm", [("relu", 3, 0.5), ("relu", 3, 1.5), ("tanh", 2, 0.5)])
def test_fine_grained_continuity_and_sum(act, n1, pm):
    """The seven terms of the ridgeless branch: the limit of ridge 1e-9 (fixed second layer; gaps ~1e-8, linear in
    the ridge like the error), summing to the variance, V_Xeps + V_PXeps the noise variance."""
    a = np.linspace(0.5, 1.5, n1)
    r0 = linear_scaling(lin_problem(act, n1, pm / n1, 0.0, 0.3), second_layer=a)
    r1 = linear_scaling(lin_problem(act, n1, pm / n1, 1e-9, 0.3), second_layer=a)
    for k in r0.fine_grained:
        assert float(r0.fine_grained[k]) == pytest.approx(float(r1.fine_grained[k]), abs=1e-7 * float(r0.test_error))
    assert sum(float(x) for x in r0.fine_grained.values()) == pytest.approx(float(r0.variance), rel=1e-11)
    assert float(r0.fine_grained["Xeps"] + r0.fine_grained["PXeps"]) == pytest.approx(float(r0.noise_variance),
                                                                                    rel=1e-11)


CONTINUITY = [("relu", 2, 0.5), ("relu", 2, 1.5), ("relu", 3, 0.5), ("relu", 3, 1.5), ("tanh", 2, 0.5)]


@pytest.mark.parametrize("act,n1,pm", CONTINUITY)
def test_small_ridges_approach_the_ridgeless_branch_linearly(act, n1, pm):
    """The existing ridge solver at ridge = 1e-6, 1e-8, 1e-10 against the new branch: the gap falls 100-fold per
    100-fold smaller ridge (a linear rate, the solution is smooth in the ridge), and Richardson extrapolation of the
    two larger ridges lands on the branch (measured: the gap over the ridge is constant to 4 digits, -2.1 to -35
    here; the extrapolation within 1e-10 relative, the solvers' tolerance)."""
    a = np.linspace(0.5, 1.6, n1)
    ridges = (1e-6, 1e-8, 1e-10)
    zero = linear_scaling(lin_problem(act, n1, pm / n1, 0.0, 0.2), second_layer=a)
    vals = [float(linear_scaling(lin_problem(act, n1, pm / n1, g, 0.2), second_layer=a).test_error) for g in ridges]
    e0 = float(zero.test_error)
    gaps = [abs(v - e0) for v in vals]
    assert gaps[0] > 1e-8 * e0
    assert gaps[0] / gaps[1] == pytest.approx(100.0, rel=0.02)
    assert gaps[2] < 2e-9 * e0 + 1e-3 * gaps[0]
    extrapolated = vals[1] + (vals[1] - vals[0]) / 99.0
    assert extrapolated == pytest.approx(e0, rel=3e-10)


@pytest.mark.parametrize("act,n1,pm", [("relu", 3, 0.5), ("relu", 3, 1.5), ("tanh", 2, 1.5)])
def test_noise_coefficient_identity(act, n1, pm):
    """The noise coefficient (1/phi) E[(v^T Mt Om Mt v)/(1 + delta)^2] equals the trace form
    tr(V2 Mt) - tr(Lambda Mt Om Mt) at moderate ridges (the trace form loses digits like eps / ridge above the
    threshold, which is why the former is used)."""
    v, w, _ = gate_rule(act, n1)
    lam = np.outer([1.0, 1e-2, 1e-4], n1 / np.linspace(0.5, 1.6, n1) ** 2)
    out = _conditional(np.full(3, pm / n1), lam, v, w)
    np.testing.assert_allclose(out["en"], out["en_trace"], rtol=1e-10)


def test_least_squares_branch_ignores_the_second_layer_and_lr_ratio():
    """p < m (p_eff = n1 phi below P(some gate open)): the least-squares fit does not depend on the norm, hence not
    on a or r; above the threshold only the ratios of the per-neuron penalties matter (not r)."""
    prob = lin_problem("relu", 3, 0.2, 0.0, 0.1)
    base = linear_scaling(prob)
    assert float(base.conditional_sd) < 1e-9 and float(base.quadrature_stderr) == 0.0
    assert float(linear_scaling(prob, second_layer=[0.3, 1.0, 2.0], lr_ratio=0.3).test_error) == pytest.approx(
        float(base.test_error), rel=1e-10)
    over = lin_problem("relu", 3, 0.5, 0.0, 0.1)
    a = [0.3, 1.0, 2.0]
    assert float(linear_scaling(over, second_layer=a, lr_ratio=0.3).test_error) == pytest.approx(
        float(linear_scaling(over, second_layer=a).test_error), rel=1e-10)


def test_identities_vectorization_and_threshold():
    """bias + variance = test error; vectorized over phi across the ReLU threshold p_eff = (1 - 2^-n1) m (not
    p = m: samples with every gate closed carry no feature); the error grows towards it from both sides."""
    n1 = 2
    thr = 0.75 / n1
    phi = thr * np.array([0.5, 0.9, 0.97, 1.03, 1.1, 2.0])
    res = linear_scaling(lin_problem("relu", n1, phi, 0.0, 0.2), second_layer=[0.6, 1.3])
    np.testing.assert_allclose(res.bias + res.variance, res.test_error, rtol=1e-12)
    assert np.all(np.diff(res.test_error[:3]) > 0) and np.all(np.diff(res.test_error[3:]) < 0)
    assert np.all(res.spectral_radius < 1) and res.spectral_radius[2] > 0.9 and res.spectral_radius[3] > 0.9
    one = linear_scaling(lin_problem("relu", n1, float(phi[4]), 0.0, 0.2), second_layer=[0.6, 1.3])
    assert float(one.test_error) == pytest.approx(res.test_error[4], rel=1e-10)
    assert linear_scaling(lin_problem("relu", n1, 0.6, 0.0, 0.2)).quadrature["method"] == "exact"  # auto


def test_include_f0_in_the_exact_formulation_is_accepted_and_unchanged():
    for ridge in (0.0, 1e-2):
        prob = lin_problem("relu", 2, 0.75, ridge, 0.1)
        with_f0 = linear_scaling(prob, second_layer=[0.8, 1.2], include_f0=True, method="exact")
        assert float(with_f0.test_error) == float(linear_scaling(prob, second_layer=[0.8, 1.2]).test_error)


def test_bad_input():
    with pytest.raises(ValueError, match="ridge = 0"):  # the ReLU threshold, n1 phi = 3/4
        linear_scaling(lin_problem("relu", 2, 0.375, 0.0, 0.1))
    with pytest.raises(ValueError, match="ridge = 0"):  # a linear activation: threshold n0 = m
        linear_scaling(lin_problem("linear", 3, 1.0, 0.0, 0.1))
    with pytest.raises(ValueError, match="ridge = 0"):  # smooth gate, p > m: not available in the exact formulation
        linear_scaling(lin_problem("tanh", 2, 1.0, 0.0, 0.1))
    # averaged over a at phi = 1/2 with n1 = 2: as a_1 -> 0 the other neuron sits at its threshold (p = m/2) and
    # the conditional error grows like 1/a_1 (measured: 266 at a_1 = 1e-3, 26513 at 1e-5): an infinite average
    with pytest.raises(ValueError, match="second_layer"):
        linear_scaling(lin_problem("relu", 2, 0.5, 0.0, 0.1))
    assert float(linear_scaling(lin_problem("relu", 2, 0.5, 0.0, 0.1), second_layer=[0.5, 1.0]).test_error) > 0
    errs = [float(linear_scaling(lin_problem("relu", 2, 0.5, 0.0, 0.2), second_layer=[a1, 1.0]).test_error)
            for a1 in (1e-3, 1e-5)]
    assert errs[1] / errs[0] == pytest.approx(100.0, rel=0.01)


def test_cli_ridgeless_exact(capsys):
    import json

    from rmt.figures.cli import main

    code = main(["theory", "ntk", "--phi", "0.2,3", "--linear-width", "1", "--ridge", "0", "--noise", "0.3",
                 "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    recs = [json.loads(line) for line in out.splitlines()]
    for rec in recs:
        err_, _ = ridgeless_linear(2 * rec["phi"], 1.0, 0.3)
        assert rec["test_error"] == pytest.approx(0.5 + 0.5 * err_, rel=1e-10)
        assert rec["quadrature"]["method"] == "exact"


def test_simulation_with_f0_small():
    """Fast check: ridgeless min-norm kernel regression with the initial function at a small size, exact
    formulation (the two-size checks are the slow tests below)."""
    from rmt.montecarlo.ntk import simulate_ntk

    a = np.array([0.8, 1.2])
    prob = Problem(n0=60, n1=2, m=80, ridge=0.0, activation="relu", noise=0.1)
    th = linear_scaling(prob, second_layer=a, include_f0=True)
    sim = simulate_ntk(prob, trials=(2, 2, 2), reps=2, seed=4, second_layer=a, include_f0=True)
    allowance = (0.02 + 2 ** 2 / 80) * float(th.test_error)
    assert abs(sim.test_error - float(th.test_error)) <= 4 * sim.stderr["test_error"] + allowance


# ---------------------------------------------------------------------------------------------------------------
# slow: against the empirical-NTK simulation (pseudo-inverse kernel regression) at n0 = 100 and 200
# ---------------------------------------------------------------------------------------------------------------

def _allowance(n1, m):
    """Relative finite-size allowance: the limit drops the ~n1^2 + n1 features in the span of W and the second-layer
    features, a relative correction of order n1^2 / m (measured up to +5.6% at n1 = 3, m = 200)."""
    return 0.02 + n1 * n1 / m


@pytest.mark.slow
@pytest.mark.parametrize("n0", [100, 200])
@pytest.mark.parametrize("act,n1,pm,ridge,f0", [("relu", 3, 0.5, 0.0, False), ("relu", 3, 1.5, 0.0, False),
                                                ("relu", 1, 1.0, 0.0, False), ("tanh", 2, 0.5, 0.0, False),
                                                ("relu", 3, 1.5, 0.0, True), ("relu", 3, 1.5, 1e-2, True)])
def test_against_simulation_fixed_second_layer(n0, act, n1, pm, ridge, f0):
    from rmt.montecarlo.ntk import simulate_ntk

    a = np.array([0.8, 1.2, 0.5])[:n1]
    prob = Problem(n0=n0, n1=n1, m=round(n0 * n1 / pm), ridge=ridge, activation=act, noise=0.1)
    th = linear_scaling(prob, second_layer=a, include_f0=f0)
    sim = simulate_ntk(prob, trials=(2, 2, 2), reps=6, seed=3, second_layer=a, include_f0=f0)
    print(f"{act} n1={n1} p/m={pm} ridge={ridge} f0={f0} n0={n0}: sim {sim.test_error:.5f} +- "
          f"{sim.stderr['test_error']:.5f}, theory {float(th.test_error):.5f}")
    allow = _allowance(n1, prob.m) * float(th.test_error)
    check_against_simulation(sim.test_error, sim.stderr["test_error"], float(th.test_error), allow, "test_error")
    check_against_simulation(sim.bias, sim.stderr["bias"], float(th.bias), allow, "bias")
    check_against_simulation(sim.extras["noise_variance"], sim.stderr["noise_variance"], float(th.noise_variance),
                             allow, "noise_variance")


@pytest.mark.slow
@pytest.mark.parametrize("n0", [100, 200])
@pytest.mark.parametrize("pm", [0.5, 1.5])
def test_against_simulation_averaged_over_a(n0, pm):
    from rmt.montecarlo.ntk import simulate_ntk

    n1 = 2
    prob = Problem(n0=n0, n1=n1, m=round(n0 * n1 / pm), ridge=0.0, activation="relu", noise=0.1)
    th = linear_scaling(prob)
    sim = simulate_ntk(prob, trials=(6, 2, 2), reps=4, seed=5)
    print(f"averaged over a, relu n1={n1} p/m={pm} n0={n0}: sim {sim.test_error:.5f} +- "
          f"{sim.stderr['test_error']:.5f}, theory {float(th.test_error):.5f} (conditional sd "
          f"{float(th.conditional_sd):.4f})")
    check_against_simulation(sim.test_error, sim.stderr["test_error"], float(th.test_error),
                             _allowance(n1, prob.m) * float(th.test_error) + 2 * float(th.quadrature_stderr),
                             "test_error")


@pytest.mark.slow
@pytest.mark.parametrize("n0", [100, 200])
@pytest.mark.parametrize("pm", [0.5, 1.5])
def test_fine_grained_against_simulation(n0, pm):
    """The seven terms of the ridgeless branches against the ANOVA estimates (ReLU, n1 = 3, fixed a). Measured:
    least squares V_X = 0 (simulation -0.0024 +- 0.0045, -0.0022 +- 0.0022); all terms within 4 se + 5% of the
    error."""
    from rmt.montecarlo.ntk import simulate_ntk

    a = np.array([0.8, 1.2, 0.5])
    prob = Problem(n0=n0, n1=3, m=round(n0 * 3 / pm), ridge=0.0, activation="relu", noise=0.1)
    th = linear_scaling(prob, second_layer=a)
    sim = simulate_ntk(prob, trials=(3, 3, 2), reps=4, seed=8, second_layer=a)
    for k, val in th.fine_grained.items():
        check_against_simulation(sim.fine_grained[k], sim.stderr["fine_grained"][k], float(val),
                                 0.05 * float(th.test_error), f"V_{k}")


@pytest.mark.parametrize("n1,phi", [(40, 0.5), (40, 2.0), (200, 0.3)])
def test_linear_activation_ridgeless_at_any_width(n1, phi):
    """A constant gate is one neuron in the exact formulation, at any width: ``auto`` takes it for the ridgeless limit
    (the wide formulation has none for a constant gate), which is ridgeless least squares / min-norm interpolation
    (Marchenko-Pastur closed forms of :func:`rmt.theory.linear.hmrt_isotropic`), with or without averaging over a."""
    from rmt.theory.linear import hmrt_isotropic

    prob = Problem(n0=phi, n1=n1, m=1.0, ridge=0.0, activation="linear", noise=0.3, signal=1.2)
    bias, var = hmrt_isotropic(phi, 0.0, signal=1.2, noise=0.3)
    for kw in ({}, {"second_layer": np.abs(np.random.default_rng(1).standard_normal(n1)) + 0.1}):
        res = linear_scaling(prob, **kw)
        assert res.quadrature["method"] == "exact"
        assert float(res.test_error) == pytest.approx(float(bias + var), rel=1e-10)
        assert float(res.fine_grained["Xeps"]) == pytest.approx(float(var), rel=1e-10)
    with pytest.raises(ValueError, match="method='exact'"):
        linear_scaling(prob, method="wide")
