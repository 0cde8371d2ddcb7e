"""Theory of learning dynamics against simulated training runs (rmt.montecarlo.dynamics, and a numpy SGD on a fixed
data set for homogenized SGD).

Criterion: |sim - theory| <= 4 sqrt(se^2 + (allowance * theory)^2), with the allowance of
rmt.theory.dynamics.finite_size_allowance (0 for online SGD, whose recursion is exact for Gaussian features; 3/n for
the finite-n deterministic equivalents) plus 1e-12 absolute for the deterministic step 0.
"""

import numpy as np
import pytest

from rmt.montecarlo.dynamics import simulate_dynamics, simulate_runs
from rmt.theory import dynamics as D
from rmt.theory.eigen import Eigensystem


def _check(sim, th, allowance, label=""):
    se = np.asarray(sim.test_stderr)
    tol = 4 * np.sqrt(se ** 2 + (allowance * th.test_error) ** 2) + 1e-9 * np.abs(th.test_error)
    dev = np.abs(sim.test_error - th.test_error)
    assert np.all(dev <= tol), (label, sim.test_error, th.test_error, se)
    if sim.train_error is not None and th.train_error is not None:
        se = np.asarray(sim.train_stderr)
        tol = 4 * np.sqrt(se ** 2 + (allowance * th.train_error) ** 2) + 1e-12
        assert np.all(np.abs(sim.train_error - th.train_error) <= tol), (label, sim.train_error, th.train_error)
    return float(np.max(dev / np.maximum(th.test_error, 1e-300)))


def test_online_sgd_small():
    s = Eigensystem(np.arange(1, 21) ** -1.3, np.arange(1, 21) ** -1.0)
    steps = [0, 5, 20, 60]
    sim = simulate_runs(*s.expanded(), "online-sgd", steps, lr=0.5, batch=2, noise=0.1, reps=2, runs_per_rep=100,
                        seed=3)
    _check(sim, D.online_sgd(s, 0.5, steps, 2, 0.1), 0.0)


def test_gradient_descent_small_via_problem():
    s = Eigensystem(np.arange(1, 41) ** -1.2, np.arange(1, 41) ** -1.5)
    p = D.DynamicsProblem(s, "gf", steps=(0, 5, 30, 150), n=40, lr=0.5, noise=0.2)
    sim = simulate_dynamics(p, reps=2, runs_per_rep=100, seed=1)
    _check(sim, D.evaluate(p), D.finite_size_allowance(p))
    recs = sim.nested_records()
    assert recs[1]["step"] == 5 and set(recs[1]) == {"model", "algorithm", "step", "test_error", "train_error",
                                                     "stderr"}
    flat = sim.records()  # flat dotted columns, as every result of the package
    assert flat[1]["stderr.test_error"] == recs[1]["stderr"]["test_error"]


def test_hsgd_on_a_fixed_data_set_against_sgd_runs():
    """Homogenized SGD for one data set vs 400 actual SGD runs on it (numpy, vectorized over runs)."""
    rng = np.random.default_rng(5)
    n, d, runs = 120, 40, 400
    lam = np.arange(1, d + 1) ** -0.8
    ws = rng.normal(size=d) * np.sqrt(np.arange(1, d + 1) ** -1.2 / lam)
    X = rng.normal(size=(n, d)) * np.sqrt(lam)
    y = X @ ws + 0.4 * rng.normal(size=n)
    data = D.HSGDData.from_data(X, y, lam, ws)
    lr = 0.5 * D.sgd_threshold_data(data.s, 1, 0.01)
    steps = [0, 50, 300, 1500]
    th = D.hsgd(data, lr, steps, 1, 0.01)
    W = np.zeros((runs, d))
    rec_te, rec_tr = [], []
    for k in range(steps[-1] + 1):
        if k in steps:
            E = W - ws
            rec_te.append(np.einsum("rj,j,rj->r", E, lam, E))
            rec_tr.append(np.mean((W @ X.T - y) ** 2, axis=1))
        idx = rng.integers(0, n, size=runs)
        Xb = X[idx]
        W = W - lr * (Xb * (np.einsum("rj,rj->r", Xb, W) - y[idx])[:, None]) - lr * 0.01 * W
    te, tr = np.array(rec_te), np.array(rec_tr)
    for sim_v, th_v in ((te, th.test_error), (tr, th.train_error)):
        m, se = sim_v.mean(1), sim_v.std(1, ddof=1) / np.sqrt(runs)
        # homogenized SGD drops the grad grad^T part of the gradient covariance: O(1/n) (allowance 3/n)
        assert np.all(np.abs(m - th_v) <= 4 * np.sqrt(se ** 2 + (3 / n * th_v) ** 2) + 1e-12), (m, th_v, se)


# ------------------------------------------------------------------------------------------------------------------
# two sizes per algorithm (slow)
# ------------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("M,lr,batch", [(50, 0.8, 4), (200, 0.8, 4), (200, 0.3, 1)])
def test_online_sgd_two_sizes(M, lr, batch):
    s = Eigensystem(np.arange(1, M + 1) ** -1.3, np.arange(1, M + 1) ** -1.0)
    steps = [0, 10, 50, 100, 200, 400]
    sim = simulate_runs(*s.expanded(), "online-sgd", steps, lr=lr, batch=batch, noise=0.05, reps=8,
                        runs_per_rep=250, seed=M)
    dev = _check(sim, D.online_sgd(s, lr, steps, batch, 0.05), 0.0, f"online M={M}")
    print(f"online-sgd M={M} lr={lr} B={batch}: max relative deviation {dev:.4f}")


@pytest.mark.slow
@pytest.mark.parametrize("n,M", [(50, 100), (200, 400)])
def test_gradient_descent_two_sizes(n, M):
    s = Eigensystem(np.arange(1, M + 1) ** -1.2, np.arange(1, M + 1) ** -1.5)
    lr = 0.5
    steps = [0, 4, 20, 100, 400, 1600]
    p = D.DynamicsProblem(s, "gf", steps=tuple(steps), n=n, lr=lr, noise=0.2)
    sim = simulate_dynamics(p, reps=8, runs_per_rep=40, seed=n)
    dev = _check(sim, D.evaluate(p), D.finite_size_allowance(p), f"gd n={n}")
    print(f"gd n={n} M={M}: max relative deviation {dev:.4f}")


@pytest.mark.slow
def test_gradient_flow_times():
    s = Eigensystem(np.arange(1, 201) ** -1.2, np.arange(1, 201) ** -1.5)
    p = D.DynamicsProblem(s, "gf", times=(1.0, 10.0, 50.0), n=100, noise=0.2)
    sim = simulate_dynamics(p, reps=4, runs_per_rep=40, seed=7)
    th = D.gradient_flow(s, 100, sim.x, noise=0.2)  # at the simulated times lr x steps
    # GD with lr s_edge = 0.01 instead of the flow: a further relative 0.5 % allowance
    _check(sim, th, D.finite_size_allowance(p) + 0.005, "gf times")


@pytest.mark.slow
@pytest.mark.parametrize("n,M", [(100, 100), (300, 150)])
def test_multipass_sgd_two_sizes(n, M):
    s = Eigensystem(np.arange(1, M + 1) ** -0.9, np.arange(1, M + 1) ** -1.3)
    lr = 0.5 * 2 / (s.trace)
    steps = [0, 100, 400, 1000, 2500]
    p = D.DynamicsProblem(s, "sgd", steps=tuple(steps), n=n, lr=lr, batch=1, ridge=0.01, noise=0.2)
    sim = simulate_dynamics(p, reps=8, runs_per_rep=25, seed=n)
    dev = _check(sim, D.evaluate(p), D.finite_size_allowance(p), f"sgd n={n}")
    print(f"multi-pass sgd n={n} M={M}: max relative deviation {dev:.4f}")


@pytest.mark.slow
@pytest.mark.parametrize("width", [40, 160])
def test_projected_model_two_widths(width):
    """Gradient descent on N random projections with unlimited data (Bordelon, Atanasov & Pehlevan) against
    the one-point contour formula; allowance 3/N."""
    s = Eigensystem.power_law(1.5, 1.3, 800)
    steps = [0, 10, 100, 1000, 4000]
    sim = simulate_runs(*s.expanded(), "projected", steps, lr=0.5, n=width, reps=4, runs_per_rep=50, seed=width)
    dev = _check(sim, D.projected_gradient_descent(s, width, 0.5, steps), 3 / width, f"projected N={width}")
    print(f"projected N={width}: max relative deviation {dev:.4f}")
