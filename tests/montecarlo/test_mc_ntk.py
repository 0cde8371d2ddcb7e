"""Empirical NTK: the kernel builder against automatic differentiation of the network, the full simulation
against plain numpy on the same draws, and lr_ratio = 0 against random features."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmt.montecarlo.estimators import FINE_GRAINED_KEYS
from rmt.numerics import float64_jax
from rmt.montecarlo.ntk import empirical_ntk, kernel_ridge_predict, network_output, ntk_draws, simulate_ntk
from rmt.montecarlo.random_features import simulate_rf
from rmt.problem import Problem
from tests.montecarlo._reference import anova3

PROBLEM = Problem(n0=12, n1=20, m=16, ridge=0.3, activation="relu", noise=0.5, nonlinear_signal=0.3)
TRIALS, N_TEST, SEED = (2, 3, 2), 40, 11


@pytest.fixture(autouse=True)
def _float64():
    """Arrays these tests build with JAX directly are float64 inside the scoped 64-bit mode (importing the package
    leaves JAX's global configuration alone)."""
    with float64_jax():
        yield


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_kernel_is_the_gradient_inner_product(activation):
    """Theta = J_a(x1) J_a(x2)^T + r sum_ij J_Wij(x1) J_Wij(x2) for f(x) = a.sigma_c(W x / sqrt n0) / sqrt n1."""
    n0, n1, mu0 = 5, 7, 0.3
    keys = jax.random.split(jax.random.key(0), 4)
    w = jax.random.normal(keys[0], (n1, n0))
    a = jax.random.normal(keys[1], (n1,))
    x1 = jax.random.normal(keys[2], (3, n0))
    x2 = jax.random.normal(keys[3], (4, n0))
    act = jnp.tanh if activation == "tanh" else (lambda u: jnp.maximum(u, 0.0))

    def f(params, x):
        w_, a_ = params
        return (act(x @ w_.T / math.sqrt(n0)) - mu0) @ a_ / math.sqrt(n1)

    jac = jax.jit(jax.jacobian(f))
    j1, j2 = jac((w, a), x1), jac((w, a), x2)
    second, first = j1[1] @ j2[1].T, jnp.einsum("pij,qij->pq", j1[0], j2[0])
    assert float(jnp.abs(first).max()) > 0.1  # both layers contribute
    for lr_ratio in (0.0, 0.5, 1.0):
        got = empirical_ntk(x1, x2, w, a, activation, lr_ratio=lr_ratio, mu0=mu0)
        np.testing.assert_allclose(got, second + lr_ratio * first, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(network_output(x1, w, a, activation, mu0=mu0), f((w, a), x1), rtol=1e-12)


def test_kernel_ridge_predict_matches_a_direct_solve():
    rng = np.random.default_rng(0)
    b = rng.standard_normal((6, 6))
    theta, theta_t = b @ b.T, rng.standard_normal((3, 6))
    y, f0, f0t = rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(3)
    want = theta_t @ np.linalg.solve(theta + 0.2 * np.eye(6), y - f0) + f0t
    got = kernel_ridge_predict(theta, theta_t, y, 0.2, f0_train=f0, f0_test=f0t)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(ValueError, match="together"):
        kernel_ridge_predict(theta, theta_t, y, 0.2, f0_train=f0)
    with pytest.raises(ValueError, match="ridge must be non-negative"):
        kernel_ridge_predict(theta, theta_t, y, -1.0)


def test_zero_learning_rate_ratio_is_random_features():
    rf = simulate_rf(PROBLEM, trials=TRIALS, reps=2, seed=SEED, n_test=N_TEST)
    ntk = simulate_ntk(PROBLEM, lr_ratio=0.0, trials=TRIALS, reps=2, seed=SEED, n_test=N_TEST)
    for k in FINE_GRAINED_KEYS + ("test_error", "train_error", "bias", "variance"):
        np.testing.assert_allclose(ntk.samples[k], rf.samples[k], rtol=1e-9, atol=1e-12)


def test_matches_plain_numpy_with_initial_function():
    r, reps = 0.7, 2
    run = simulate_ntk(PROBLEM, lr_ratio=r, include_f0=True, trials=TRIALS, reps=reps, seed=SEED, n_test=N_TEST)
    n0, n1, m, ridge = 12, 20, 16, 0.3
    relu = lambda u: np.maximum(u, 0.0)  # noqa: E731
    drelu = lambda u: (u > 0).astype(float)  # noqa: E731
    for rep in range(reps):
        d, a = ntk_draws(PROBLEM, seed=SEED, rep=rep, trials=TRIALS, n_test=N_TEST)
        resid = np.empty(TRIALS + (N_TEST,))
        train = []
        for p in range(TRIALS[0]):
            def feats(x):
                z = x @ d.w[p].T / math.sqrt(n0)
                return relu(z) - d.mu0, drelu(z)

            ft, gt = feats(d.x_test)
            f0t = ft @ a[p] / math.sqrt(n1)
            for i in range(TRIALS[1]):
                f, g = feats(d.x[i])
                theta = f @ f.T / n1 + r * (d.x[i] @ d.x[i].T / n0) * ((g * a[p] ** 2) @ g.T / n1)
                theta_t = ft @ f.T / n1 + r * (d.x_test @ d.x[i].T / n0) * ((gt * a[p] ** 2) @ g.T / n1)
                f0 = f @ a[p] / math.sqrt(n1)
                for e in range(TRIALS[2]):
                    y = d.y_train[i] + d.eps[e]
                    alpha = np.linalg.solve(theta + ridge * np.eye(m), y - f0)
                    resid[p, i, e] = f0t + theta_t @ alpha - d.y_test
                    train.append(np.mean((y - f0 - theta @ alpha) ** 2))
        ref = anova3(resid)
        for k in FINE_GRAINED_KEYS + ("test_error", "bias", "variance"):
            assert run.samples[k][rep] == pytest.approx(ref[k], rel=1e-10, abs=1e-10), (k, rep)
        assert run.samples["train_error"][rep] == pytest.approx(np.mean(train), rel=1e-10)
    np.testing.assert_allclose(run.samples["noise_variance"] + run.samples["init_variance"]
                               + run.samples["sample_variance"], run.samples["variance"], rtol=1e-12)


def test_bad_learning_rate_ratio():
    with pytest.raises(ValueError, match="lr_ratio must be non-negative"):
        simulate_ntk(PROBLEM, lr_ratio=-1.0)
