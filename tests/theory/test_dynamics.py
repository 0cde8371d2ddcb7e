"""Theory of learning dynamics (rmt.theory.dynamics): checkpoints, limits, internal identities, bad input.

Independent references: the eigenframework ridge risk (rmt.theory.eigen.krr) for the t -> infinity limits, closed
forms (population gradient flow, population gradient descent), a plain loop and the full-matrix covariance recursion
for online SGD, and the exact per-data-set gradient-descent formula. Comparisons with simulated training runs are in
tests/montecarlo/test_mc_dynamics.py.
"""


import numpy as np
import pytest

from rmt.theory import dynamics as D
from rmt.theory.eigen import Eigensystem, krr

# the gradient-flow setting of Paquette et al.-style checks: n = 150, M = 400, lambda_i = i^-1.2, v_i^2 = i^-1.5
GF_SYS = Eigensystem(np.arange(1, 401) ** -1.2, np.arange(1, 401) ** -1.5)
GF_T = [0.5, 2, 10, 50, 200, 1000]
# contour deterministic equivalent (test MSE incl. noise 0.2), computed independently; and the average over 200
# datasets of the exact per-dataset flow
GF_DE = [1.8532622, 1.1232821, 0.6694541, 0.4803205, 0.4533590, 0.51377]
GF_EXACT = [1.85543, 1.12348, 0.67038, 0.47887, 0.45317, 0.51529]


def test_gf_checkpoints():
    c = D.gradient_flow(GF_SYS, 150, GF_T, noise=0.2)
    mse = c.test_error + 0.2
    np.testing.assert_allclose(mse[:5], GF_DE[:5], rtol=2e-7)
    assert mse[5] == pytest.approx(GF_DE[5], abs=5e-6)  # quoted to 5 digits
    # the dataset average of the exact flow agrees within its O(1/n) finite-size deviation (3/n)
    np.testing.assert_allclose(mse, GF_EXACT, rtol=3 / 150)
    # non-monotone: early-stopping optimum near t = 200, then up towards the ridgeless value
    assert mse[4] < mse[3] and mse[5] > mse[4]


def test_gf_ridge_checkpoints():
    c = D.gradient_flow(GF_SYS, 150, [5, 50, 500], ridge=0.01, noise=0.2)
    np.testing.assert_allclose(c.test_error + 0.2, [0.83312, 0.50764, 0.47396], rtol=2 / 150)


def test_gf_long_time_equals_ridge_regression():
    # ridgeless, over-parameterised (M = 400 > n = 150): slow approach to the interpolating least-norm solution
    c = D.gradient_flow(GF_SYS, 150, [1e4], noise=0.2)
    k = krr(GF_SYS, 150, 0.0, 0.2)
    assert c.test_error[0] == pytest.approx(float(k.test_error), rel=2e-5)
    assert abs(c.train_error[0]) < 1e-9
    # with a ridge the flow converges at rate >= ridge; t = 3000 gives e^{-30}
    c = D.gradient_flow(GF_SYS, 150, [3000.0], ridge=0.01, noise=0.2)
    k = krr(GF_SYS, 150, 150 * 0.01, 0.2)
    assert c.test_error[0] == pytest.approx(float(k.test_error), rel=1e-9)
    assert c.train_error[0] == pytest.approx(float(k.train_error), rel=1e-9)
    # ridgeless, under-parameterised (M = 40 < n = 150, smallest eigenvalue of Sigma_hat about 0.04): least squares
    s40 = Eigensystem(np.arange(1, 41) ** -0.5, np.arange(1, 41) ** -1.5)
    c = D.gradient_flow(s40, 150, [1000.0], noise=0.3)
    k = krr(s40, 150, 0.0, 0.3)
    assert c.test_error[0] == pytest.approx(float(k.test_error), rel=1e-7)
    assert c.train_error[0] == pytest.approx(float(k.train_error), rel=1e-7)


def test_gf_quadrature_converged():
    """Doubling the contour nodes changes nothing beyond 1e-9 (internal check of the quadrature rule)."""
    from rmt.theory._dynamics_contour import build_contour

    a = build_contour(GF_SYS, 150, 0.2, 4 / 1000)
    b = build_contour(GF_SYS, 150, 0.2, 4 / 1000, refine=2.0)
    t = np.array(GF_T)
    ea = a.test_train(np.exp(-t[:, None] * a.z))
    eb = b.test_train(np.exp(-t[:, None] * b.z))
    np.testing.assert_allclose(ea[0], eb[0], rtol=1e-9)
    np.testing.assert_allclose(ea[1], eb[1], rtol=1e-9)


def test_population_flow_closed_form_and_large_n_limit():
    s = Eigensystem(np.arange(1, 101) ** -1.5, np.arange(1, 101) ** -1.2)
    t = np.array([0.0, 1.0, 10.0, 100.0])
    p = D.population_gradient_flow(s, t)
    lam, v2 = s.eigenvalues, s.target_power
    np.testing.assert_allclose(p.test_error, [np.sum(v2 * np.exp(-2 * lam * x)) for x in t], rtol=1e-13)
    # finite n -> infinity: O(1/n)
    f = D.gradient_flow(s, 1e6, t[1:], noise=0.1)
    np.testing.assert_allclose(f.test_error, p.test_error[1:], rtol=1e-4)
    # with a ridge: the limit is the population ridge solution sum v^2 (d/(lam+d))^2
    pr = D.population_gradient_flow(s, [1e6], ridge=0.1)
    assert pr.test_error[0] == pytest.approx(float(np.sum(v2 * (0.1 / (lam + 0.1)) ** 2)), rel=1e-12)


def test_gradient_descent_small_step_is_gradient_flow():
    t = np.array([2.0, 20.0, 100.0])
    gf = D.gradient_flow(GF_SYS, 150, t, noise=0.2)
    errs = []
    for lr in (0.02, 0.01):
        gd = D.gradient_descent(GF_SYS, 150, lr, np.round(t / lr), noise=0.2)
        errs.append(np.max(np.abs(gd.test_error / gf.test_error - 1)))
    assert errs[0] < 0.01 and errs[1] < 0.6 * errs[0]  # O(lr)


def test_gradient_descent_on_a_data_set_matches_the_contour_filter_identity():
    """Internal identity: hsgd with an infinite batch is full-batch gradient descent on that data set, which is the
    exact spectral filter (1 - lr s)^k (computed here by an explicit loop)."""
    rng = np.random.default_rng(1)
    n, d = 60, 30
    lam = np.arange(1, d + 1) ** -1.0
    ws = rng.normal(size=d)
    X = rng.normal(size=(n, d)) * np.sqrt(lam)
    y = X @ ws + 0.3 * rng.normal(size=n)
    data = D.HSGDData.from_data(X, y, lam, ws)
    c = D.hsgd(data, 0.1, [0, 5, 50], batch=10**15, ridge=0.05)
    w = np.zeros(d)
    out = []
    for k in range(51):
        if k in (0, 5, 50):
            out.append(((w - ws) @ (lam * (w - ws)), np.mean((X @ w - y) ** 2)))
        w = w - 0.1 * (X.T @ (X @ w - y) / n + 0.05 * w)
    np.testing.assert_allclose(c.test_error, [o[0] for o in out], rtol=1e-9)
    np.testing.assert_allclose(c.train_error, [o[1] for o in out], rtol=1e-9)


ON_SYS = Eigensystem(np.arange(1, 201) ** -1.3, np.arange(1, 201) ** -1.0)
ON_STEPS = [0, 10, 50, 100, 200, 400]


@pytest.mark.parametrize("lr,batch,expected", [
    (0.8, 4, [5.928, 4.3987, 2.7532, 1.9987, 1.2846, 0.6880]),
    (0.3, 1, [5.928, 5.6389, 4.4439, 3.7071, 2.8796, 2.0160]),
])
def test_online_sgd_checkpoints(lr, batch, expected):
    c = D.online_sgd(ON_SYS, lr, ON_STEPS, batch, noise=0.05)
    np.testing.assert_allclose(c.test_error + 0.05, expected, rtol=1.5e-4)


def test_online_sgd_scan_equals_plain_loop_and_full_covariance_recursion():
    lr, B, s2 = 0.5, 2, 0.1
    s = Eigensystem(np.arange(1, 31) ** -1.2, np.arange(1, 31) ** -1.4)
    steps = [0, 1, 7, 60]
    c = D.online_sgd(s, lr, steps, B, s2, method="scan")
    np.testing.assert_allclose(c.test_error, D.online_sgd_loop(s, lr, steps, B, s2), rtol=1e-12)
    # the full (non-diagonal) covariance recursion from E[x x^T C x x^T] = 2 Lam C Lam + Lam tr(Lam C)
    lam = s.eigenvalues
    Lam = np.diag(lam)
    ws = np.sqrt(s.target_power / lam)
    C = np.outer(ws, ws)
    out = []
    for t in range(61):
        if t in steps:
            out.append(np.trace(Lam @ C))
        C = C - lr * (Lam @ C + C @ Lam) + lr ** 2 * ((1 + 1 / B) * Lam @ C @ Lam + Lam * (np.trace(Lam @ C) + s2) / B)
    np.testing.assert_allclose(c.test_error, out, rtol=1e-11)


def test_online_sgd_limits():
    s = Eigensystem(np.arange(1, 101) ** -1.5, np.arange(1, 101) ** -1.2)
    # batch -> infinity: population gradient descent, sum v^2 (1 - lr lam)^{2t}
    c = D.online_sgd(s, 0.7, [0, 3, 30, 300], batch=10**12, noise=0.5)
    lam, v2 = s.eigenvalues, s.target_power
    np.testing.assert_allclose(c.test_error, [np.sum(v2 * (1 - 0.7 * lam) ** (2 * t)) for t in (0, 3, 30, 300)],
                               rtol=1e-9)
    # lr -> 0: population gradient flow at t = lr x steps, error O(lr)
    t = np.array([1.0, 10.0, 100.0])
    pop = D.population_gradient_flow(s, t).test_error
    errs = []
    for lr in (0.02, 0.01):
        on = D.online_sgd(s, lr, np.round(t / lr), batch=1, noise=0.1).test_error
        errs.append(np.max(np.abs(on / pop - 1)))
    assert errs[0] < 0.05 and errs[1] < 0.6 * errs[0]


def test_online_sgd_stability_threshold():
    thr = D.online_sgd_threshold(ON_SYS, 1)
    assert D.online_sgd_mass(ON_SYS, thr, 1) == pytest.approx(1.0, abs=1e-9)
    # small lr lambda_max: about 2B / trace (from below, since 2 - lr lam < 2)
    assert 0.7 * 2 / ON_SYS.trace < thr < 2 / ON_SYS.trace
    D.online_sgd(ON_SYS, 0.99 * thr, [0, 10])
    with pytest.raises(ValueError, match="lr"):
        D.online_sgd(ON_SYS, 1.01 * thr, [0, 10])
    assert D.online_sgd_threshold(ON_SYS, 8) > 3 * thr  # the threshold grows with the batch


def test_hsgd_terminal_loss_and_trace_threshold():
    rng = np.random.default_rng(2)
    n, d = 200, 50
    lam = np.ones(d)
    lam[0] = 20.0  # one dominant direction: the GD threshold 2/s_max is small, the SGD one is set by the trace
    ws = rng.normal(size=d) / np.sqrt(d)
    X = rng.normal(size=(n, d)) * np.sqrt(lam)
    y = X @ ws + 0.5 * rng.normal(size=n)
    data = D.HSGDData.from_data(X, y, lam, ws)
    thr = D.sgd_threshold_data(data.s, 1, 0.0)
    tr = data.s.sum()
    assert thr == pytest.approx(2 / tr, rel=0.35) and thr < 2 / tr
    lr = 0.5 * thr
    mass = D.kernel_mass_data(data.s, lr, 1, 0.0)
    c = D.hsgd(data, lr, [0, 20000])
    # terminal training error: the least-squares residual inflated by 1/(1 - kernel mass)
    wls = np.linalg.lstsq(X, y, rcond=None)[0]
    floor = np.mean((X @ wls - y) ** 2)
    assert c.train_error[-1] == pytest.approx(floor / (1 - mass), rel=1e-6)
    with pytest.raises(ValueError, match="lr"):
        D.hsgd(data, 1.05 * thr, [0, 10])


def test_multipass_de_infinite_batch_is_gradient_descent():
    s = Eigensystem(np.arange(1, 101) ** -1.2, np.arange(1, 101) ** -1.5)
    a = D.multipass_sgd(s, 50, 0.3, [0, 10, 100], batch=10**15, noise=0.1)
    b = D.gradient_descent(s, 50, 0.3, [0, 10, 100], noise=0.1)
    np.testing.assert_allclose(a.test_error, b.test_error, rtol=1e-10)
    np.testing.assert_allclose(a.train_error, b.train_error, rtol=1e-10)
    # SGD noise only adds risk
    c = D.multipass_sgd(s, 50, 0.3, [0, 10, 100], batch=1, noise=0.1)
    assert np.all(c.train_error[1:] > b.train_error[1:]) and np.all(c.test_error[1:] > b.test_error[1:])


def test_early_stopping_vs_optimal_ridge():
    iso = Eigensystem.isotropic(100, 1.0)
    es = D.early_stopping(iso, 80, noise=0.5)
    # optimal ridge is Bayes-optimal among linear estimators for an isotropic prior: never worse than stopping
    assert es.ridge_error <= es.test_error * (1 + 1e-9)
    assert es.test_error < es.final_error
    assert 0.1 < es.time_times_ridge < 10
    # isotropic optimal per-sample ridge (Hastie et al. arXiv:1903.08560): noise (d/n) / signal
    assert es.ridge == pytest.approx(0.5 * (100 / 80) / 1.0, rel=1e-4)


def test_bad_input():
    with pytest.raises(ValueError, match="times"):
        D.DynamicsProblem(ON_SYS, "online-sgd", times=(1.0,), lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        D.online_sgd(ON_SYS, 0.1, [0, 10, 5])
    with pytest.raises(ValueError, match="n"):
        D.DynamicsProblem(ON_SYS, "sgd", steps=(0, 1), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        D.online_sgd(ON_SYS, -0.1, [0, 1])
    with pytest.raises(ValueError, match="times"):
        D.gradient_flow(GF_SYS, 150, [-1.0])


def test_projected_flow_limits_and_frontier_exponents():
    from rmt.theory.eigen import rf_data_limit, solve_kappa

    s = Eigensystem.power_law(1.5, 1.3, 2000)
    t = [1.0, 10.0, 100.0]
    # width -> infinity: the population flow, O(1/N)
    big = D.projected_gradient_flow(s, 1e6, t).test_error
    np.testing.assert_allclose(big, D.population_gradient_flow(s, t).test_error, rtol=1e-4)
    # t -> infinity: the random-feature eigenframework at n = inf (independent solver), continuous at the switch
    k0 = float(solve_kappa(s, 50, 0.0).value)
    c = D.projected_gradient_flow(s, 50, [39.9 / k0, 40 / k0]).test_error
    assert c[0] == pytest.approx(float(rf_data_limit(s, 50)), rel=1e-9)
    assert c[1] == pytest.approx(float(rf_data_limit(s, 50)), rel=1e-12)
    # finite width only hurts, and more time only helps
    w = D.projected_gradient_flow(s, 30, t).test_error
    assert np.all(w >= big) and np.all(np.diff(w) < 0)
