"""rmt.theory.ntk.linear_scaling (width fixed, n0 and m proportional): closed-form special cases, quadrature
convergence, identities, bad input. The comparison with simulation is in test_ntk_simulation.py.

Independent references: for a linear activation the first-layer NTK is a multiple of ``x.x'/n0``, so the limit is
linear ridge regression; for ReLU with one neuron the gate ``1[w.x > 0]`` splits the data in halves, so the limit is
linear ridge on the half of the samples with an open gate plus the unexplained signal on the other half. Both are
evaluated by direct quadrature of the Marchenko-Pastur density (tests/theory/_ntk_refs.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate

from rmt import Problem, constants
from rmt.theory._ntk_linear import gate_rule, second_layer_rule
from rmt.theory.ntk import linear_scaling, quadratic_scaling
from tests.theory._ntk_refs import lin_problem, linear_ridge


@pytest.mark.parametrize("phi,ridge,lr,a", [(0.5, 0.01, 1.0, 0.7), (2.0, 0.1, 1.0, 1.9), (1.0, 0.003, 0.4, 1.2)])
def test_linear_activation_one_neuron_is_linear_ridge(phi, ridge, lr, a):
    res = linear_scaling(lin_problem("linear", 1, phi, ridge, 0.3, 1.4), lr_ratio=lr, second_layer=[a])
    err, alpha = linear_ridge(phi, ridge / (lr * a * a), 1.4, 0.3)
    assert res.test_error == pytest.approx(err, rel=1e-9)
    assert res.alpha == pytest.approx(alpha, rel=1e-9)
    assert res.noise_variance == pytest.approx(linear_ridge(phi, ridge / (lr * a * a), 0.0, 0.3)[0], rel=1e-9)


def test_linear_activation_two_neurons_is_linear_ridge():
    """sigma' = 1: the kernel is r (a1^2 + a2^2)/2 x.x'/n0, one linear ridge with ridge 2 gamma / (r |a|^2)."""
    a = np.array([0.4, -1.3])
    res = linear_scaling(lin_problem("linear", 2, 0.7, 0.02, 0.2), second_layer=a)
    err, alpha = linear_ridge(0.7, 2 * 0.02 / (a @ a), 1.0, 0.2)
    assert res.test_error == pytest.approx(err, rel=1e-9)
    assert res.alpha == pytest.approx(alpha, rel=1e-9)


@pytest.mark.parametrize("phi,ridge,a", [(0.5, 0.01, 0.8), (1.0, 0.01, 1.5), (3.0, 0.2, 0.3)])
def test_relu_one_neuron_is_linear_ridge_on_half_the_data(phi, ridge, a):
    res = linear_scaling(lin_problem("relu", 1, phi, ridge, 0.25), second_layer=[a])
    err, alpha = linear_ridge(2 * phi, ridge / (a * a), 1.0, 0.25)  # m/2 samples with an open gate
    assert res.test_error == pytest.approx(0.5 * 1.0 + 0.5 * err, rel=1e-9)
    assert res.alpha == pytest.approx(0.5 * alpha, rel=1e-9)
    assert res.bias == pytest.approx((1 - 0.5 * alpha) ** 2, rel=1e-9)


def test_average_over_a_one_neuron_matches_adaptive_quadrature():
    for act, phi in (("relu", 1.0), ("tanh", 0.5)):
        prob = lin_problem(act, 1, phi, 0.01, 0.1)

        def integrand(a):
            cond = linear_scaling(prob, second_layer=[a]).test_error
            return cond * 2 * math.exp(-a * a / 2) / math.sqrt(2 * math.pi)

        ref = scipy.integrate.quad(integrand, 0, np.inf, epsabs=1e-10, epsrel=1e-8, limit=200)[0]
        assert linear_scaling(prob).test_error == pytest.approx(ref, rel=2e-5)


def test_gate_rules():
    v, w, kind = gate_rule("relu", 3)
    assert kind == "exact" and v.shape == (8, 3) and np.allclose(w, 1 / 8)
    c = constants("tanh")
    v, w, kind = gate_rule("tanh", 2)
    assert kind == "gauss" and w.sum() == pytest.approx(1.0, rel=1e-12)
    assert w @ v[:, 0] == pytest.approx(c.mean_derivative, rel=1e-10)
    assert w @ v[:, 0] ** 2 == pytest.approx(c.mean_sq_derivative, rel=1e-10)
    v, w, kind = gate_rule("tanh", 6)
    assert kind == "sobol" and w @ v[:, 3] == pytest.approx(c.mean_derivative, rel=1e-3)


def test_product_gate_rule_is_converged():
    """tanh, at the interpolation threshold p = m with a small ridge (the hardest case): default vs finer rules."""
    a = [0.8, -1.2, 0.5]
    for n1, fine in ((2, 24), (3, 14)):
        prob = lin_problem("tanh", n1, 1.0 / n1, 1e-3, 0.1)
        base = linear_scaling(prob, second_layer=a[:n1]).test_error
        assert linear_scaling(prob, second_layer=a[:n1], gate_nodes_per_dim=fine).test_error == pytest.approx(
            base, rel=2e-4)


def test_sobol_average_over_a_reports_its_error():
    prob = lin_problem("relu", 3, 0.5, 0.01, 0.1)
    res = linear_scaling(prob)
    assert res.quadrature["a_rule"] == "sobol" and 0 < res.quadrature_stderr < 2e-3 * res.test_error
    fine = linear_scaling(prob, a_nodes_per_dim=20)  # product Gauss rule, 1540 multisets
    assert abs(fine.test_error - res.test_error) <= 4 * res.quadrature_stderr + 2e-3 * res.test_error
    nodes, weights, groups, kind = second_layer_rule(4)
    assert kind == "sobol" and weights.sum() == pytest.approx(1.0) and groups.max() == 7
    assert np.mean(nodes ** 2) == pytest.approx(1.0, rel=0.02)  # E a^2 = 1


@pytest.mark.parametrize("act,n1", [("relu", 1), ("relu", 2), ("relu", 3), ("tanh", 1), ("tanh", 2)])
def test_identities_and_vectorization(act, n1):
    phi = np.array([0.2, 0.5, 1.0 / n1, 2.0])
    noise = 0.3
    res = linear_scaling(lin_problem(act, n1, phi, 0.02, noise, 1.5))
    assert np.shape(res.test_error) == (4,)
    np.testing.assert_allclose(res.bias + res.variance, res.test_error, rtol=1e-12)
    assert np.all(res.noise_variance >= 0) and np.all(res.noise_variance <= res.variance + 1e-12)
    assert np.all(res.spectral_radius < 1) and np.all(res.spectral_radius > 0)
    np.testing.assert_allclose(res.p_over_m, n1 * phi)
    # linear in (signal, noise)
    e_s = linear_scaling(lin_problem(act, n1, phi, 0.02, 0.0, 1.0)).test_error
    e_n = linear_scaling(lin_problem(act, n1, phi, 0.02, 1.0, 0.0)).test_error
    np.testing.assert_allclose(res.test_error, 1.5 * e_s + noise * e_n, rtol=1e-9)
    for k in (1, 3):
        one = linear_scaling(lin_problem(act, n1, float(phi[k]), 0.02, noise, 1.5))
        assert one.test_error == pytest.approx(res.test_error[k], rel=1e-10)


@pytest.mark.parametrize("act,n1,threshold", [("linear", 1, 1.0), ("tanh", 2, 1.0), ("relu", 1, 0.5), ("relu", 2, 0.75)])
def test_interpolation_peak(act, n1, threshold):
    """Small ridge: the error peaks (and the spectral radius of L approaches 1) where the number of first-layer
    features of the samples reaches the number of samples that have any. For tanh that is p = n1 n0 = m. A ReLU sample
    whose gates are all closed (probability 2^-n1) has no first-layer feature, so the peak moves to
    p = (1 - 2^-n1) m; a linear activation has only n0 distinct features (peak at n0 = m)."""
    pm = threshold * np.array([0.6, 0.8, 1.0, 1.25, 1.6])
    res = linear_scaling(lin_problem(act, n1, pm / n1 if act != "linear" else pm, 1e-5, 0.1),
                         second_layer=np.ones(n1))
    assert np.argmax(res.test_error) == 2 and np.argmax(res.spectral_radius) == 2
    assert res.spectral_radius[2] > 0.96 and res.test_error[2] > 5 * max(res.test_error[0], res.test_error[4])


def test_lr_ratio_zero_learns_nothing():
    res = linear_scaling(lin_problem("tanh", 2, 0.5, 0.1, 0.3, 1.7), lr_ratio=0.0)
    assert res.test_error == pytest.approx(1.7) and res.bias == pytest.approx(1.7) and res.alpha == 0


def test_approaches_the_quadratic_scaling_as_the_width_grows():
    """n1 -> infinity at fixed phi: the first-layer kernel concentrates on zeta x.x'/n0 + (eta' - zeta) delta, the
    quadratic-scaling limit at n1/m -> 0 (linear ridge with ridge (gamma + c2)/c1); the gap shrinks with n1."""
    phi = 1.0
    target = quadratic_scaling(Problem.from_ratios(phi, phi / 1e-8, ridge=0.01, activation="relu",
                                                   noise=0.1)).test_error
    gaps = [linear_scaling(lin_problem("relu", n1, phi, 0.01, 0.1)).test_error - target for n1 in (1, 2, 4)]
    assert gaps[0] > gaps[1] > gaps[2] > 0


def test_bad_input():
    with pytest.raises(ValueError, match="ridge"):
        linear_scaling(lin_problem("relu", 2, 0.5, 0.0, 0.0), method="exact")
    with pytest.raises(ValueError, match="n1"):
        linear_scaling(Problem(n0=1.0, n1=2.5, m=2.0, ridge=0.1))
    with pytest.raises(ValueError, match="n1"):
        linear_scaling(Problem(n0=1.0, n1=13, m=2.0, ridge=0.1), method="exact")
    with pytest.raises(ValueError, match="n1"):
        linear_scaling(Problem(n0=1.0, n1=np.array([1.0, 2.0]), m=2.0, ridge=0.1))
    with pytest.raises(ValueError, match="second_layer"):
        linear_scaling(lin_problem("relu", 2, 0.5, 0.1, 0.0), second_layer=[1.0])
    with pytest.raises(ValueError, match="second_layer"):
        linear_scaling(lin_problem("relu", 2, 0.5, 0.1, 0.0), second_layer=[1.0, 0.0])
    with pytest.raises(ValueError, match="E sigma'"):
        linear_scaling(lin_problem("sign", 2, 0.5, 0.1, 0.0))
    with pytest.raises(ValueError, match="lr_ratio"):
        linear_scaling(lin_problem("relu", 2, 0.5, 0.1, 0.0), lr_ratio=-1)
