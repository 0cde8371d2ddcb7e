"""The fine-grained (P, X, eps) split of the linear-scaling NTK limit (``linear_scaling(...).fine_grained``, exact
formulation): a closed form, identities, and the empirical-NTK simulation's unbiased ANOVA estimates at two sizes.

Independent references: for a linear activation the gate is constant, the first-layer NTK is ``c x.x'/n0`` with
``c = r sum_i a_i^2 / n1`` whatever ``W`` is, so at a fixed second layer nothing depends on ``P``; the limit is linear
ridge regression with ``gamma = phi`` and per-sample ridge ``phi ridge / c``, whose bias and noise variance are the
Marchenko-Pastur closed forms of :func:`rmt.theory.linear.hmrt_isotropic` (an independent solver): ``V_X`` plus the
bias is the signal part of that error and ``V_Xeps`` its noise part.
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.montecarlo.ntk import simulate_ntk
from rmt.quantities import FINE_GRAINED_KEYS
from rmt.theory.linear import hmrt_isotropic
from rmt.theory.ntk import linear_scaling
from tests.theory._ntk_refs import lin_problem


@pytest.mark.parametrize("phi,ridge,n1,lr", [(0.5, 1e-2, 3, 1.0), (1.7, 0.1, 2, 0.5), (0.9, 1e-3, 4, 2.0),
                                          (0.4, 1e-9, 4, 3.0)])
def test_linear_activation_is_linear_ridge(phi, ridge, n1, lr):
    a = np.linspace(0.5, 1.6, n1)
    res = linear_scaling(lin_problem("linear", n1, phi, ridge, 0.3, 1.3), second_layer=a, lr_ratio=lr)
    bias, var = hmrt_isotropic(phi, phi * ridge / (lr * np.sum(a ** 2) / n1), signal=1.3, noise=0.3)
    fg = res.fine_grained
    assert float(fg["X"]) + float(res.bias) == pytest.approx(float(bias), rel=1e-10, abs=1e-13)
    assert float(fg["Xeps"]) == pytest.approx(float(var), rel=1e-10)
    for k in ("P", "PX", "PXeps", "eps", "Peps"):  # the weights W play no role for a constant gate
        assert abs(float(fg[k])) < 1e-11


@pytest.mark.parametrize("act,n1,phi", [("relu", 3, 0.5), ("tanh", 2, 0.3), ("relu", 4, 0.1)])
def test_terms_sum_to_variance_and_structural_zeros(act, n1, phi):
    prob = Problem(n0=np.array([phi, 2 * phi]), n1=n1, m=1.0, ridge=1e-2, activation=act, noise=0.2, signal=1.1)
    for kw in ({"second_layer": np.linspace(0.6, 1.4, n1)}, {"a_points": 128}):
        res = linear_scaling(prob, **kw)
        fg = res.fine_grained
        assert set(fg) == set(FINE_GRAINED_KEYS)
        total = sum(np.asarray(fg[k]) for k in FINE_GRAINED_KEYS)
        np.testing.assert_allclose(total, res.variance, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(fg["eps"], 0.0)  # the data-averaged weight of one label is O(1/m)
        np.testing.assert_array_equal(fg["Peps"], 0.0)
        assert np.all(np.asarray(fg["X"]) >= -1e-14) and np.all(np.asarray(fg["P"]) >= -1e-14)
        assert np.all(np.asarray(fg["Xeps"]) >= 0) and np.all(np.asarray(fg["PXeps"]) >= 0)
        # the noise terms are the noise variance, split by whether the weights are shared
        np.testing.assert_allclose(np.asarray(fg["Xeps"]) + np.asarray(fg["PXeps"]), res.noise_variance, rtol=1e-12)


def test_noise_free_and_no_learning():
    res = linear_scaling(lin_problem("relu", 3, 0.4, 1e-2, 0.0), second_layer=[0.7, 1.0, 1.3])
    assert float(res.fine_grained["Xeps"]) == 0.0 and float(res.fine_grained["PXeps"]) == 0.0
    frozen = linear_scaling(lin_problem("tanh", 2, 0.4, 1e-2, 0.3), lr_ratio=0.0)  # n1 random features: nothing
    assert all(float(v) == 0.0 for v in frozen.fine_grained.values())


def test_quadrature_over_second_layer_converges():
    """n1 = 2: the product Gauss rule in log a^2 at two orders agrees for every term (pairs of nodes for X, Xeps)."""
    prob = lin_problem("relu", 2, 0.6, 1e-2, 0.1)
    lo, hi = (linear_scaling(prob, a_nodes_per_dim=k).fine_grained for k in (16, 24))
    for k in FINE_GRAINED_KEYS:
        assert float(lo[k]) == pytest.approx(float(hi[k]), rel=2e-3, abs=1e-6)


@pytest.mark.parametrize("lr,avg", [(1.0, False), (0.5, True)])
def test_wide_split_equals_exact_for_a_constant_gate(lr, avg):
    """A linear activation is where the wide closure is exact: its split (a Neumann series of Sherman-Morrison
    solves) equals the exact formulation's (eigenbases of Mt J, pair sums over the a nodes) term by term."""
    prob = lin_problem("linear", 3, 0.7, 1e-2, 0.3, 1.2)
    kw = {"a_nodes_per_dim": 6} if avg else {"second_layer": [0.6, 1.0, 1.5]}
    ex, wd = (linear_scaling(prob, lr_ratio=lr, method=m, **kw).fine_grained for m in ("exact", "wide"))
    for k in FINE_GRAINED_KEYS:
        assert float(wd[k]) == pytest.approx(float(ex[k]), rel=1e-9, abs=1e-12)


def test_wide_cross_series_against_a_dense_solve():
    """The two-replica series of the wide formulation against the dense Kronecker solve of
    ``Y = c1 c2^T + phi A1 Y A2^T`` (``A = (G + k)^-1 G``, ``c = (G + k)^-1 u``, ``G = diag(e) + u u^T``), averaged
    over independent pairs of nodes."""
    from rmt.theory._ntk_linear import _wide_cross

    rng = np.random.default_rng(3)
    n, nodes, phi = 5, 3, 0.8
    e, u2, k = rng.uniform(0.05, 0.4, (nodes, n)), rng.uniform(0.01, 0.2, (nodes, n)), rng.uniform(0.1, 1.0, nodes)
    wts = np.array([0.2, 0.5, 0.3])
    mats = []
    for i in range(nodes):
        u = np.sqrt(u2[i])
        g = np.diag(e[i]) + np.outer(u, u)
        inv = np.linalg.inv(g + k[i] * np.eye(n))
        mats.append((inv @ g, inv @ u, u, k[i]))
    ts = tn = 0.0
    for i in range(nodes):
        for j in range(nodes):
            a1, c1, u1, k1 = mats[i]
            a2, c2, u2_, k2 = mats[j]
            y = np.linalg.solve(np.eye(n * n) - phi * np.kron(a1, a2), np.outer(c1, c2).ravel()).reshape(n, n)
            ts += wts[i] * wts[j] * k1 * k2 * c1 @ y @ c2
            tn += wts[i] * wts[j] * u1 @ y @ u2_
    got = _wide_cross(phi, wts, k, e, u2)
    assert got[0] == pytest.approx(ts, rel=1e-12) and got[1] == pytest.approx(tn, rel=1e-12)


@pytest.mark.parametrize("n1", [20, 400])
def test_wide_split_sums_to_the_variance(n1):
    res = linear_scaling(lin_problem("relu", n1, 1.5 / n1, 1e-2, 0.1), a_points=256)
    fg = res.fine_grained
    total = sum(float(fg[k]) for k in FINE_GRAINED_KEYS)
    assert total == pytest.approx(float(res.variance), rel=1e-12)
    assert float(fg["eps"]) == 0.0 and float(fg["Peps"]) == 0.0
    assert float(fg["Xeps"]) + float(fg["PXeps"]) == pytest.approx(float(res.noise_variance), rel=1e-12)


def test_wide_split_close_to_exact_at_ten():
    """At n1 = 10 (fixed second layer) the wide closure's terms lie within its stated O(1/n1) error of the exact
    ones: every term within 15 % of the exact variance (measured: relu V_PX 0.1579 vs 0.1792, the rest within
    0.003)."""
    prob = lin_problem("relu", 10, 0.15, 1e-2, 0.1)
    a = np.linspace(0.5, 1.6, 10)
    ex, wd = (linear_scaling(prob, second_layer=a, method=m) for m in ("exact", "wide"))
    for k in FINE_GRAINED_KEYS:
        assert abs(float(wd.fine_grained[k]) - float(ex.fine_grained[k])) <= 0.15 * float(ex.variance)


# ---------------------------------------------------------------------------------------------------------------
# against the empirical-NTK simulation (unbiased crossed-design ANOVA), two sizes
# ---------------------------------------------------------------------------------------------------------------

def _compare(act, n1, p_over_m, second_layer, sizes, reps, seed=1):
    """Each term within 3 standard errors plus a finite-size allowance of 5% of the test error (the simulation
    keeps the ``n1^2`` features in the span of ``W`` and the ``n1`` second-layer features, which the limit drops)."""
    phi = p_over_m / n1
    lim = linear_scaling(lin_problem(act, n1, phi, 1e-2, 0.1), second_layer=second_layer)
    for n0, rep in zip(sizes, reps):
        prob = Problem(n0=n0, n1=n1, m=round(n0 / phi), ridge=1e-2, activation=act, noise=0.1)
        sim = simulate_ntk(prob, trials=(3, 3, 2), reps=rep, second_layer=second_layer, seed=seed)
        allowance = 0.05 * float(lim.test_error)
        for k in FINE_GRAINED_KEYS:
            diff = abs(float(sim.fine_grained[k]) - float(lim.fine_grained[k]))
            assert diff <= 3 * float(sim.stderr["fine_grained"][k]) + allowance, (n0, k, sim.fine_grained[k],
                                                                                   lim.fine_grained[k])


def test_simulation_fixed_second_layer_small():
    """One cheap size (ReLU, n1 = 4, p = 1.5 m, fixed a: P = W)."""
    _compare("relu", 4, 1.5, np.linspace(0.5, 1.6, 4), (60,), (6,))


@pytest.mark.slow
@pytest.mark.parametrize("act,n1,p_over_m,fixed", [("relu", 4, 1.5, True), ("tanh", 6, 0.5, True),
                                                  ("relu", 3, 1.5, False)])
def test_simulation_two_sizes(act, n1, p_over_m, fixed):
    """Measured (seed 1): ReLU n1 = 4, p = 1.5 m, fixed a, n0 = 100 / 200 (theory, simulation +- se):
    V_P 0.1295 / 0.1317, 0.1278 +- 0.0045; V_X 0.0063 / 0.0085, 0.0101 +- 0.0029; V_PX 0.2827 / 0.3047, 0.2942 +-
    0.0065; V_Xeps 0.0249 / 0.0260, 0.0258 +- 0.0010; V_PXeps 0.1441 / 0.1460, 0.1466 +- 0.0040."""
    second = np.linspace(0.5, 1.6, n1) if fixed else None
    _compare(act, n1, p_over_m, second, (100, 200), (20, 10))


@pytest.mark.slow
def test_simulation_wide_two_sizes():
    """The wide formulation's split (n1 = 16, p = 2 m, a fixed draw) against simulation. Measured: V_P 0.0667 vs 0.0624 +- 0.0022 / 0.0681 +- 0.0012 at n0 = 100 /
    200, V_PX 0.1107 vs 0.1160 +- 0.0049 / 0.1175 +- 0.0016, V_Xeps 0.0107 vs 0.0158 +- 0.0003 / 0.0138 +- 0.0004,
    V_PXeps 0.1229 vs 0.1236 +- 0.0020 / 0.1260 +- 0.0009 (``V_Xeps`` converges like ``1/n0``: 2 x 0.0138 - 0.0158
    = 0.0118)."""
    a = np.abs(np.random.default_rng(5).standard_normal(16))
    _compare("relu", 16, 2.0, a, (100, 200), (8, 8), seed=3)


def test_wide_split_tends_to_the_linear_ridge_split_as_the_width_grows():
    """At fixed ``phi`` and ``n1 -> infinity`` the first-layer kernel concentrates on ``r zeta x.x'/n0`` plus the
    implicit ridge ``r (eta' - zeta)``: the weights' terms vanish and ``V_X + bias``, ``V_Xeps`` tend to linear
    ridge's closed forms (per-sample ridge ``phi (ridge + r (eta' - zeta)) / (r zeta)``), like ``1/n1`` (measured:
    ``n1 x gap`` -0.50 for the signal part and 1.05 for ``V_PXeps`` at ``n1 = 1000`` and ``4000``)."""
    from rmt.theory.ntk import ntk_constants

    phi, ridge, lr = 0.5, 1e-2, 1.0
    c = ntk_constants("relu", lr)
    bias, var = hmrt_isotropic(phi, phi * (ridge + lr * (c.eta_prime - c.zeta)) / (lr * c.zeta), signal=1.0,
                               noise=0.2)
    scaled = []
    for n1 in (500, 2000):
        res = linear_scaling(lin_problem("relu", n1, phi, ridge, 0.2), lr_ratio=lr, method="wide", a_points=64)
        fg = {k: float(v) for k, v in res.fine_grained.items()}
        gaps = np.array([float(res.bias) + fg["X"] - float(bias), fg["Xeps"] - float(var), fg["P"], fg["PX"],
                         fg["PXeps"]])
        assert np.all(np.abs(gaps) < 2.0 / n1)
        scaled.append(n1 * gaps)
    np.testing.assert_allclose(scaled[0], scaled[1], rtol=0.1)
