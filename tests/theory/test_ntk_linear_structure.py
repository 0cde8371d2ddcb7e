"""Structure of the exact linear-scaling NTK fixed point (rmt.theory.ntk.linear_scaling, ``method="exact"``): what a
formulation with O(n1) unknowns could and could not use (docs/ntk_linear_shift.md, "An exact formulation at any
width").

* The gate law the exact formulation integrates over has independent coordinates (``u = W x / sqrt(n0) ~ N(0, I)``
  in the limit), so the mean gate covariance ``E v v^T`` is exactly ``(eta' - zeta) I + zeta 1 1^T``: diagonal plus
  rank one, the part the wide formulation uses.
* The unknown ``J = (1/phi) E[v v^T / (1 + v^T (J + Lambda)^-1 v)]`` itself is NOT diagonal plus rank one for ReLU
  at ``n1 >= 4`` (the weight ``1 / (1 + delta(v))`` couples all coordinates): the cross-ratio
  ``J12 J34 / (J13 J24)``, identically 1 for any diagonal-plus-rank-one matrix, differs from 1. For a linear
  activation (constant gate) it is exactly 1, which is the control. Its off-diagonal part is numerically low rank
  (least-squares rank-2 fit two orders closer than rank 1).

The fixed point is solved here independently (plain monotone iteration from ``J = 0`` by full enumeration of the gate
patterns) and tied to the module through the mean shrinkage ``alpha = h.E v``, ``h = (J + Lambda)^-1 q``,
``q = (1/phi) E[v / (1 + delta)]``.
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.theory._ntk_common import ntk_constants
from rmt.theory._ntk_linear import gate_rule
from rmt.theory.ntk import linear_scaling


def _fixed_point(phi, lam, v, w, iters=20000, tol=1e-15):
    J = np.zeros((lam.size, lam.size))
    for _ in range(iters):
        mt = np.linalg.inv(J + np.diag(lam))
        delta = np.einsum("ki,ij,kj->k", v, mt, v)
        new = np.einsum("k,ki,kj->ij", w / (1.0 + delta), v, v) / phi
        done = np.max(np.abs(new - J)) <= tol * np.max(np.abs(new))
        J = new
        if done:
            break
    mt = np.linalg.inv(J + np.diag(lam))
    delta = np.einsum("ki,ij,kj->k", v, mt, v)
    return J, mt, delta


def _case(act, n1):
    a = np.linspace(0.5, 1.6, n1)
    ridge, phi = 1e-2, 1.5 / n1
    v, w, kind = gate_rule(act, n1)
    J, mt, delta = _fixed_point(phi, ridge * n1 / a ** 2, v, w)
    prob = Problem(n0=phi, n1=n1, m=1.0, ridge=ridge, activation=act, noise=0.1)
    return a, phi, v, w, kind, J, mt, delta, prob


@pytest.mark.parametrize("act,n1", [("relu", 5), ("tanh", 2)])
def test_mean_gate_covariance_is_diagonal_plus_rank_one(act, n1):
    v, w, _ = gate_rule(act, n1)
    c = ntk_constants(act)
    v2 = np.einsum("k,ki,kj->ij", w, v, v)
    expected = (c.eta_prime - c.zeta) * np.eye(n1) + c.zeta * np.ones((n1, n1))
    np.testing.assert_allclose(v2, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("act,n1,lo", [("relu", 4, 0.03), ("relu", 6, 0.005)])
def test_exact_unknown_is_not_diagonal_plus_rank_one(act, n1, lo):
    """Measured cross-ratio minus one (a = linspace(0.5, 1.6, n1), p = 1.5 m, ridge 1e-2): relu +5.3% at n1 = 4,
    +1.3% at n1 = 6 (+0.45% at 8, +0.18% at 10)."""
    a, phi, v, w, kind, J, mt, delta, prob = _case(act, n1)
    assert kind == "exact"
    # the J solved here is the module's fixed point: same mean shrinkage
    q = np.einsum("k,ki->i", w / (1.0 + delta), v) / phi
    alpha = (mt @ q) @ (w @ v)
    ref = linear_scaling(prob, second_layer=a, method="exact")
    assert alpha == pytest.approx(float(ref.alpha), rel=1e-9)
    cross = J[0, 1] * J[2, 3] / (J[0, 2] * J[1, 3]) - 1.0
    assert cross > lo, cross


def test_constant_gate_unknown_is_rank_one():
    """Control: a linear activation has v = 1, J = 1 1^T / (phi (1 + delta)) and the cross-ratio is 1."""
    a, phi, v, w, kind, J, mt, delta, prob = _case("linear", 4)
    cross = J[0, 1] * J[2, 3] / (J[0, 2] * J[1, 3]) - 1.0
    assert abs(cross) < 1e-12
    q = np.einsum("k,ki->i", w / (1.0 + delta), v) / phi
    assert (mt @ q) @ (w @ v) == pytest.approx(float(linear_scaling(prob, second_layer=a, method="exact").alpha),
                                               rel=1e-9)


def _best_offdiagonal_misfit(J, k):
    """Largest relative misfit of the off-diagonal entries of ``J`` to ``X S X^T`` (rank ``k``, signs ``S``), by
    nonlinear least squares from the top eigenvectors."""
    import scipy.optimize

    n = J.shape[0]
    iu = np.triu_indices(n, 1)
    ev, U = np.linalg.eigh(J)
    x0 = (U[:, -k:] * np.sqrt(np.abs(ev[-k:]))).ravel()
    best = np.inf
    for signs in {(1.0,) * k, (1.0,) + (-1.0,) * (k - 1)}:
        sg = np.array(signs)

        def resid(x):
            X = x.reshape(n, k)
            return ((X * sg) @ X.T)[iu] / J[iu] - 1.0

        fit = scipy.optimize.least_squares(resid, x0, xtol=1e-14, ftol=1e-14, gtol=1e-14)
        best = min(best, float(np.max(np.abs(fit.fun))))
    return best


def test_exact_unknown_is_numerically_low_rank():
    """Measured (relu, n1 = 8), largest misfit of the least-squares rank-k fit of the off-diagonal entries: rank 1
    9.7e-3, rank 2 8.3e-5 (rank 3 8.0e-7): a rapidly converging sum of rank-one terms, not rank one."""
    *_, J, _, _, _ = _case("relu", 8)
    m1, m2 = _best_offdiagonal_misfit(J, 1), _best_offdiagonal_misfit(J, 2)
    assert m1 > 5e-3, m1
    assert m2 < 1e-3 and m2 < m1 / 20, (m1, m2)
