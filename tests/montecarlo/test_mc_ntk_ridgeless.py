"""Empirical-NTK simulation at ridge = 0: the pseudo-inverse kernel regression against plain numpy on the same draws,
on both sides of the interpolation threshold (the kernel is singular on both: with fewer features than samples, and
for ReLU through the samples whose gates are all closed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmt.montecarlo.estimators import FINE_GRAINED_KEYS
from rmt.montecarlo.ntk import ntk_draws, simulate_ntk
from rmt.problem import Problem
from tests.montecarlo._reference import anova3

TRIALS, N_TEST, SEED = (2, 2, 2), 30, 7


@pytest.mark.parametrize("n0,n1,m,f0", [(12, 2, 16, True), (5, 2, 24, False)])
def test_ridgeless_matches_numpy_pseudo_inverse(n0, n1, m, f0):
    problem = Problem(n0=n0, n1=n1, m=m, ridge=0.0, activation="relu", noise=0.3)
    r = 0.8
    run = simulate_ntk(problem, lr_ratio=r, include_f0=f0, trials=TRIALS, reps=1, seed=SEED, n_test=N_TEST)
    relu = lambda u: np.maximum(u, 0.0)  # noqa: E731
    d, a = ntk_draws(problem, seed=SEED, rep=0, trials=TRIALS, n_test=N_TEST)
    resid = np.empty(TRIALS + (N_TEST,))
    train = []
    for p in range(TRIALS[0]):
        def feats(x):
            z = x @ d.w[p].T / math.sqrt(n0)
            return relu(z) - d.mu0, (z > 0).astype(float)

        ft, gt = feats(d.x_test)
        for i in range(TRIALS[1]):
            f, g = feats(d.x[i])
            theta = f @ f.T / n1 + r * (d.x[i] @ d.x[i].T / n0) * ((g * a[p] ** 2) @ g.T / n1)
            theta_t = ft @ f.T / n1 + r * (d.x_test @ d.x[i].T / n0) * ((gt * a[p] ** 2) @ g.T / n1)
            assert np.linalg.matrix_rank(theta) < m  # singular: the pseudo-inverse is needed
            f0_train = f @ a[p] / math.sqrt(n1) if f0 else 0.0
            f0_test = ft @ a[p] / math.sqrt(n1) if f0 else 0.0
            for e in range(TRIALS[2]):
                y = d.y_train[i] + d.eps[e] - f0_train
                alpha = np.linalg.pinv(theta, hermitian=True) @ y
                resid[p, i, e] = f0_test + theta_t @ alpha - d.y_test
                train.append(np.mean((y - theta @ alpha) ** 2))
    ref = anova3(resid)
    for k in FINE_GRAINED_KEYS + ("test_error", "bias", "variance"):
        assert run.samples[k][0] == pytest.approx(ref[k], rel=1e-7, abs=1e-9), k
    assert run.samples["train_error"][0] == pytest.approx(np.mean(train), rel=1e-7)
    assert np.mean(train) > 0.01  # least squares / closed gates: the training error does not vanish
