r"""NTK regression in the linear scaling: width ``n1`` fixed while ``n0, m -> infinity`` (``p = n1 n0 ~ m``).

Derived in this project (the regime is described but not solved in the paper's abstract; docs/models.md §4.7); checked
against simulation of the empirical NTK in ``tests/theory/test_ntk_linear.py``. Adlam & Pennington 2020
(arXiv:2008.06786) place the classical interpolation peak at ``p = m`` in this regime.

**Reduction.** With ``u = W x / sqrt(n0)`` the first-layer NTK term is the Gram matrix of the ``p = n0 n1`` features
``x (x) g(u) / sqrt(n0)``, ``g(u)_i = sqrt(r / n1) a_i sigma'(u_i)``. As ``n0 -> infinity`` at fixed ``n1``: the
component of ``x`` in the ``n1``-dimensional span of ``W`` and the ``n1`` second-layer features ``sigma(u_i)`` are
finitely many features and drop out; ``W W^T / n0 -> I``, so ``u ~ N(0, I_n1)`` independent of the remaining part of
``x``. Kernel ridge regression with the NTK is then ridge regression on i.i.d. samples ``z = x (x) g / sqrt(n0)``
whose covariance *given the gate* ``g`` is ``I (x) g g^T / n0``: a sample covariance with per-sample covariance. The
second-layer weights ``a`` do not concentrate at fixed ``n1``; the limit is computed conditionally on ``a`` and then
averaged over ``a ~ N(0, I_n1)``. Conditionally on ``a`` the problem depends on ``a`` only through per-neuron ridges
``lambda_i = ridge n1 / (r a_i^2)`` acting on the gate vector ``v = (sigma'(u_i))_i``.

**Deterministic equivalent** (heterogeneous-sample resolvent ``(Z Z^T + Gamma)^-1 ~ (sum_a C_a / (1 + delta_a) +
Gamma)^-1``, ``delta_a = tr C_a (...)^-1``). The unknown is an ``n1 x n1`` matrix ``J``:

    ``J = (1/phi) E_v[ v v^T / (1 + v^T Mt v) ]``,  ``Mt = (J + Lambda)^-1``,  ``Lambda = diag(lambda_i)``,

its unique positive-semidefinite solution (the map is Loewner-monotone; iteration from ``J = 0`` increases to it;
Newton polishes). With ``delta(v) = v^T Mt v``, ``q = (1/phi) E[v / (1 + delta)]``, ``h = Mt q`` (the mean predictor
is ``(beta.x / sqrt n0) h.v``), ``V2 = E v v^T``, ``vbar = E v``, the linear map
``L(Y) = (1/phi) E[v v^T (v^T Mt Y Mt v) / (1 + delta)^2]`` and ``Om = (I - L)^-1 V2`` (``I - L`` is the Jacobian of
the fixed point; the physical branch has spectral radius of ``L`` below one, the analogue of ``d2 < 1``):

    ``E(a) = s [1 - 2 h.vbar + h^T Om h + (1/phi) E[(v^T Mt Om Mt v)(1 - 2 h.v) / (1 + delta)^2]]
             + sigma^2 [tr(V2 Mt) - tr(Lambda Mt Om Mt)]``.

The signal part follows from an augmented resolvent (target appended to the features) and its derivative along the
test covariance; the noise part is ``sigma^2 tr(R C R Z Z^T)`` by the same deterministic equivalent. For ``n1 = 1``
and a constant gate it reduces to linear ridge regression, ``E = s (1 - h)^2 / (1 - d2) + ...`` (tested), and for
ReLU with ``n1 = 1`` to linear ridge on the half of the samples whose gate is open plus ``s/2`` (tested).

**Ridgeless limit of the exact formulation** (``ridge = 0``; its own branches, not a tiny ridge). Write
``Lambda = ridge C`` (``C_i = n1 / (r a_i^2)``) and let ``pi = P(v != 0)`` be the fraction of samples that carry a
first-layer feature (ReLU: ``1 - 2^-n1``, the samples with every gate closed carry none; smooth ``sigma'``: 1).

* ``n1 phi < pi`` (least squares): the resolvent stays bounded and ``Mt = J^-1`` with ``J`` positive definite, the
  largest fixed point of ``J = (1/phi) E[v v^T / (1 + v^T J^-1 v)]`` (monotone iteration from the bound ``V2 / phi``;
  ``J = 0`` is spurious); the error formula at ``Lambda = 0``. Taking the trace against ``J^-1`` gives
  ``n1 = (1/phi) E[delta / (1 + delta)] < pi / phi``, hence the condition. The least-squares fit does not depend on
  the penalty, so the limit is independent of ``a`` and ``r``.
* ``n1 phi > pi`` (interpolation): ``J = ridge K`` vanishes with the ridge, ``Mt = N / ridge`` with
  ``N = (K + C)^-1`` and ``delta(v) = d(v) / ridge``, ``d(v) = v^T N v``. Exactly at any ridge,
  ``K = (1/phi) E[v v^T / (ridge + d(v))]``; at ``ridge = 0`` the unknown ``K`` solves
  ``K = (1/phi) E[v v^T / d(v); v != 0]`` (trace against ``N``: ``tr(N C) = n1 - pi / phi > 0``, hence the
  condition). In the error every ``1 + delta`` becomes ``d`` and ``Mt`` becomes ``N`` (``q = ridge q~``,
  ``h = N q~``, ``L`` and ``Om`` finite). The noise coefficient in the trace form above is a difference of two terms
  of order ``1 / ridge``; substituting ``Lambda = Mt^-1 - J`` and ``Om - L(Om) = V2`` gives the equivalent form
  ``(1/phi) E[(v^T Mt Om Mt v) / (1 + delta)^2]`` (at any ridge), which is finite: ``(1/phi) E[(v^T N Om N v) / d^2]``.
  The limit depends on ``a`` only through the ratios of the ``C_i`` (not on ``r``).
* ``n1 phi = pi``: the limit diverges (refused). For ReLU this is ``p = (1 - 2^-n1) m``, not ``p = m``.

A constant gate (linear activation) has features in only ``n0`` directions: it is one neuron with penalty
``1 / sum_i C_i^-1`` (the least ``sum_i C_i |B_i|^2`` at fixed ``sum_i B_i``), threshold ``phi = 1``, and the
branches reproduce ridgeless least squares and min-norm interpolation in closed form. For a smooth ``sigma'`` the
interpolation branch is not provided: its weights ``1 / d(v)`` are singular where every gate is near 0 (the limit is
finite for tanh, whose ``1 / sigma'`` grows like ``e^(2|u|)``, but infinite for erf at ``n1 <= 4``), and the product
rules in ``v`` do not resolve that (at ``n1 = 1`` the tanh value keeps growing with the rule's order). Averaged over
``a``, the interpolation branch also diverges where ``k phi = P(one of k gates open)`` for some ``k < n1``: as
``n1 - k`` weights ``a_i -> 0`` the other neurons sit at their own threshold (refused there).

**Wide formulation** (:func:`_wide_conditional`, cost linear in ``n1``). The matrix unknown costs ``n1^4`` per gate
node because the gate law is ``n1``-dimensional. As ``n1`` grows, the quadratic form ``delta(v) = v^T Mt v`` is a sum
of ``n1`` weakly dependent terms and concentrates (fluctuations ``O(n1^-1/2)``); replacing ``1 / (1 + delta(v))`` by
its value at the mean drops the per-sample covariance ``g g^T`` for its mean ``G = E g g^T``. Then
``J = V2 / (phi (1 + delta))``, ``Mt`` is a diagonal-plus-rank-one matrix in the basis of the second-layer weights
(``G = diag(e) + u u^T``, ``e_i = r (eta' - zeta) a_i^2 / n1``, ``u_i = sqrt(r zeta / n1) a_i``), and the
problem is ridge regression on Gaussian features with covariance ``I_n0 (x) G / n0``: one scalar self-consistent
equation whose traces are sums over neurons (Sherman-Morrison). Exact for a linear activation (constant gate) and
as ``n1 -> infinity`` (where it tends to linear ridge with kernel ``r zeta x.x'/n0`` and implicit ridge
``r (eta' - zeta)``, the quadratic-scaling limit at ``n1 / m -> 0``); for ReLU and tanh its relative deviation from
the exact formulation is 0.4-2.3% at ``n1 = 10`` and shrinks like ``1/n1`` (measured in the tests). It also gives the
ridgeless limit as its own branch.

**Initial function.** ``f0`` is a combination of the ``n1`` second-layer features, which the kernel contains; with
``m -> infinity`` samples finitely many features are learnt exactly, so adding ``f0`` to the predictor (and removing
it from the labels) leaves the limit unchanged, in both formulations and at ``ridge = 0`` (checked against the
simulation with ``f0``).

Expectations over the gate ``v`` are exact sums for activations whose derivative takes finitely many values (ReLU:
``2^n1`` patterns) and otherwise a product Gauss rule for the law of ``sigma'(u)`` (Golub-Welsch on a 160-node
Gauss-Hermite discretisation). The average over ``a`` is a product Gauss rule in ``log(a_i^2)``, reduced to
multisets by the permutation symmetry of the integrand.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import scipy.special

from rmt._validation import check_positive, check_positive_int
from rmt.activations import get_activation
from rmt.problem import Problem
from rmt.solvers import SolverError, Status
from rmt.numerics import frozen_value
from rmt.theory._ntk_common import FINE_GRAINED_KEYS, NTKConstants, NTKTabular, check_problem, ntk_constants

__all__ = ["LinearScalingResult", "linear_scaling", "gate_rule", "second_layer_rule"]

_MAX_WIDTH = 12  # the exact formulation's work grows like n1^4 per node (ReLU: all 2^12 gate patterns)
_AUTO_WIDTH = 10  # method="auto" takes the exact formulation up to here (its answers beyond are the wide ones)
_MAX_PATTERNS = 4096  # exact enumeration of a finite gate law up to this many patterns
_GATE_ORDER = {1: 24, 2: 16, 3: 10, 4: 6}  # Gauss points per dimension of the product gate rule (smooth sigma')


# ------------------------------------------------------------------------------------------------------------------
# quadrature rules
# ------------------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _derivative_law(act_name_key: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Nodes and weights of the law of ``sigma'(u)``, ``u ~ N(0, 1)``: exact when it has few atoms."""
    act = act_name_key
    x, w = np.polynomial.hermite_e.hermegauss(160)
    w = w / w.sum()
    vals = np.asarray(act.d(x), dtype=float)
    uniq = np.unique(np.round(vals, 12))
    if uniq.size <= 8:  # a finite law (ReLU: {0, 1}; linear: {1})
        weights = np.array([w[np.abs(vals - u) < 1e-9].sum() for u in uniq])
        return uniq, weights, True
    return vals, w, False


def _gauss_rule(vals: np.ndarray, w: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k``-point Gauss rule of a discrete measure (Stieltjes procedure + Golub-Welsch)."""
    p_prev = np.zeros_like(vals)
    p = np.ones_like(vals)
    alphas, betas = [], []
    nrm_prev = 1.0
    for j in range(k):
        nrm = float(np.sum(w * p * p))
        alphas.append(float(np.sum(w * vals * p * p)) / nrm)
        if j > 0:
            betas.append(nrm / nrm_prev)
        p_new = (vals - alphas[-1]) * p - (betas[-1] if j > 0 else 0.0) * p_prev
        p_prev, p, nrm_prev = p, p_new, nrm
    jac = np.diag(alphas) + np.diag(np.sqrt(betas), 1) + np.diag(np.sqrt(betas), -1)
    nodes, vecs = np.linalg.eigh(jac)
    return nodes, vecs[0] ** 2


def gate_rule(activation: Any, n1: int, nodes_per_dim: int | None = None, *, qmc_points: int = 2048,
              seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """Nodes ``v`` (shape ``(K, n1)``) and weights (``K``) for ``E_v`` over ``v_i = sigma'(u_i)``, ``u ~ N(0, I)``.

    Returns ``(nodes, weights, kind)``:

    * ``"exact"``: the law of ``sigma'`` is finite (ReLU: ``{0, 1}``), all ``atoms^n1`` patterns (up to 4096);
    * ``"gauss"``: product Gauss rule for the law of ``sigma'(u)`` with ``nodes_per_dim`` points per dimension
      (default 24, 16, 10, 6 for ``n1 = 1, 2, 3, 4``; converged to about 1e-5);
    * ``"sobol"``: otherwise a scrambled Sobol' sequence of ``qmc_points`` points (fixed ``seed``) mapped through the
      normal quantile (``n1 >= 5``; integration error about 0.3% of the test error near the interpolation
      threshold, measured against larger rules in the tests).
    """
    act = get_activation(activation)
    n1 = check_positive_int(n1, "n1")
    vals, w, exact = _derivative_law(act)
    if exact and vals.size ** n1 > _MAX_PATTERNS:
        return _sobol_rule(act, n1, check_positive_int(qmc_points, "qmc_points"), seed)
    if exact:
        kind = "exact"
    else:
        k = nodes_per_dim or _GATE_ORDER.get(n1, 0)
        if not k:
            return _sobol_rule(act, n1, check_positive_int(qmc_points, "qmc_points"), seed)
        vals, w = _gauss_rule(vals, w, check_positive_int(k, "nodes_per_dim", minimum=1))
        kind = "gauss"
    idx = np.array(list(itertools.product(range(vals.size), repeat=n1)))
    return vals[idx], np.prod(w[idx], axis=1), kind


def _sobol_rule(activation: Any, n1: int, points: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Gate nodes ``sigma'(u)`` at scrambled Sobol' points ``u`` (equal weights)."""
    act = get_activation(activation)
    v = np.asarray(act.d(scipy.special.ndtri(_sobol(n1, points, seed))), dtype=float)
    return v, np.full(v.shape[0], 1.0 / v.shape[0]), "sobol"


def _sobol(dim: int, n: int, seed: int) -> np.ndarray:
    """``n`` scrambled Sobol' points in ``(0, 1)^dim`` (``n`` rounded up to a power of two)."""
    from scipy.stats import qmc

    m = max(1, int(math.ceil(math.log2(n))))
    pts = qmc.Sobol(d=dim, scramble=True, seed=seed).random_base2(m)
    return np.clip(pts, 1e-12, 1.0 - 1e-12)


@functools.lru_cache(maxsize=64)
def _log_chi2_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k``-point Gauss rule for the law of ``x = log(a^2)``, ``a ~ N(0, 1)`` (density
    ``exp(x/2 - e^x/2) / sqrt(2 pi)``), from a fine trapezoidal discretisation on ``[-70, 6]``."""
    xs = np.linspace(-70.0, 6.0, 60001)
    px = np.exp(xs / 2.0 - np.exp(xs) / 2.0)
    return _gauss_rule(xs, px / px.sum(), k)


def second_layer_rule(n1: int, nodes_per_dim: int | None = None, *, qmc_points: int = 1024, scrambles: int = 8,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Nodes ``|a|`` (shape ``(A, n1)``), weights and group labels for ``E_a`` over ``a ~ N(0, I_n1)`` of a function
    that is even in each ``a_i`` and symmetric under permutations of the ``a_i``.

    * ``"gauss"`` (``n1 <= 2``, or ``nodes_per_dim`` given): a product Gauss rule in ``x_i = log(a_i^2)`` (the
      integrand depends on ``a_i`` through a per-neuron ridge ``~ 1/a_i^2`` and is smooth in its logarithm; a rule in
      ``a_i^2`` itself misses the switch-off at small ``|a_i|``), one node per multiset with its multiplicity as
      weight; default order 32 (``n1 = 1``) and 24 (``n1 = 2``). All nodes are in group 0.
    * ``"sobol"`` (``n1 >= 3``): ``scrambles`` independent scrambled Sobol' sets of ``qmc_points / scrambles``
      points, ``|a_i|`` by the half-normal quantile; the group label says which scramble a node belongs to, so the
      spread between scrambles estimates the integration error. (For ``n1 >= 3`` the integrand has sharp features
      where switching a neuron off moves the effective number of parameters across ``m``, and product rules converge
      slowly.)
    """
    n1 = check_positive_int(n1, "n1")
    if nodes_per_dim is None and n1 >= 3:
        r = check_positive_int(scrambles, "scrambles", minimum=2)
        per = max(2, int(check_positive_int(qmc_points, "qmc_points")) // r)
        nodes = np.concatenate([np.abs(scipy.special.ndtri(0.5 + 0.5 * _sobol(n1, per, seed + 1 + j)))
                                for j in range(r)])
        groups = np.repeat(np.arange(r), nodes.shape[0] // r)
        return nodes, np.full(nodes.shape[0], 1.0 / nodes.shape[0]), groups, "sobol"
    k = check_positive_int(nodes_per_dim or (32 if n1 == 1 else 24), "nodes_per_dim")
    x, wx = _log_chi2_rule(k)
    a = np.exp(x / 2.0)
    nodes, weights = [], []
    for combo in itertools.combinations_with_replacement(range(k), n1):
        counts = np.bincount(combo, minlength=k)
        mult = math.factorial(n1) / np.prod([math.factorial(int(c)) for c in counts])
        nodes.append(a[list(combo)])
        weights.append(mult * np.prod(wx[list(combo)]))
    nodes_arr = np.array(nodes)
    return nodes_arr, np.array(weights), np.zeros(nodes_arr.shape[0], dtype=int), "gauss"


# ------------------------------------------------------------------------------------------------------------------
# the conditional solution (given per-neuron ridges)
# ------------------------------------------------------------------------------------------------------------------

def _conditional(phi: np.ndarray, lam: np.ndarray, v: np.ndarray, w: np.ndarray, *, offset: float = 1.0,
                 tol: float = 1e-13, max_newton: int = 60) -> dict[str, np.ndarray]:
    """Solve the fixed point and evaluate the error pieces for a batch of ``(phi, Lambda)`` (shapes ``(B,)``,
    ``(B, n)``); ``v`` (``(K, n)``) and ``w`` are the gate rule.

    ``offset`` is the ``1`` of ``1 + delta``. ``offset = 1`` is the ridge problem (and, with ``Lambda = 0``, the
    ridgeless branch with fewer parameters than samples: ``Mt = J^-1``, iteration from the upper bound
    ``J = V2 / phi`` down to the largest fixed point). ``offset = 0`` is the ridgeless interpolation branch in the
    rescaled unknown ``K = J / ridge`` with ``Lambda = C = Lambda / ridge`` (module docstring): every ``1 + delta``
    becomes ``d(v) = v^T (K + C)^-1 v``, gate patterns ``v = 0`` drop out, and the noise coefficient is evaluated in
    the form ``(1/phi) E[(v^T Mt Om Mt v) / (offset + delta)^2]`` (equal to the trace form at any ridge and finite
    at ``ridge = 0``).

    Every gate expectation is a GEMM against ``VV[k] = vec(v_k v_k^T)``: ``E[c v v^T] = c @ VV`` and
    ``v_k^T A v_k = VV @ vec(A)``; the linear map is ``L = Q kron(Mt, Mt)^T`` with
    ``Q = sum_k c_k VV[k] VV[k]^T`` (one GEMM for all rows against the ``K x n^4`` table of ``VV[k] (x) VV[k]``,
    built in chunks; the callers pass many rows at once so that building it is amortised).

    Returns per-row signal error ``es`` (per unit signal), noise coefficient ``en`` (per unit noise; ``en_trace``
    is the same in the trace form of the module docstring, kept for the identity test), mean coefficient
    ``alpha = h.vbar``, the spectral radius ``rho`` of ``L`` and the final relative residual.
    """
    B, n = lam.shape
    vbar = w @ v
    V2 = (w @ (v[:, :, None] * v[:, None, :]).reshape(v.shape[0], n * n)).reshape(n, n)
    if offset == 0.0:  # patterns with every gate closed carry no feature; 1/d(v) is undefined there
        keep = np.any(v != 0.0, axis=1)
        v, w = v[keep], w[keep]
    K = v.shape[0]
    n2 = n * n
    eye = np.eye(n)
    VV = (v[:, :, None] * v[:, None, :]).reshape(K, n2)
    VVw = VV * w[:, None]
    # Q = sum_k c_k VV[k] VV[k]^T as one GEMM against the K x n^4 table of w_k VV[k] (x) VV[k], in chunks of
    # kstep gate nodes; kept across calls when it is small (2e7 entries: ReLU up to n1 = 10), else rebuilt per call
    kstep = max(1, int(1e7 // (n2 * n2)))

    def table(k: int) -> np.ndarray:
        sl = slice(k, k + kstep)
        return (VV[sl, :, None] * VV[sl, None, :]).reshape(-1, n2 * n2) * w[sl, None]

    tables = [table(k) for k in range(0, K, kstep)] if K * n2 * n2 <= 2e7 else None

    every = np.arange(B)

    def fmap(J: np.ndarray, rows: np.ndarray = every) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = rows.size
        mt = np.linalg.inv(J + lam[rows, :, None] * eye)
        delta = mt.reshape(b, n2) @ VV.T  # (b, K)
        return ((1.0 / (offset + delta)) @ VVw).reshape(b, n, n) / phi[rows, None, None], mt, delta

    def gram4(delta: np.ndarray, rows: np.ndarray = every) -> np.ndarray:
        """``Q = (1/phi) sum_k w_k VV[k] VV[k]^T / (offset + delta_k)^2`` (symmetric PSD, ``(b, n^2, n^2)``)."""
        c = 1.0 / (phi[rows, None] * (offset + delta) ** 2)
        q = np.zeros((rows.size, n2 * n2))
        for j, k in enumerate(range(0, K, kstep)):
            q += c[:, k:k + kstep] @ (tables[j] if tables is not None else table(k))
        return q.reshape(rows.size, n2, n2)

    def kron(x: np.ndarray) -> np.ndarray:
        return np.einsum("bij,bkl->bikjl", x, x).reshape(x.shape[0], n2, n2)

    def lin_map(mt: np.ndarray, delta: np.ndarray, rows: np.ndarray = every) -> np.ndarray:
        # L = Q kron(Mt, Mt)^T (the transpose made contiguous: matmul with a strided operand does not use BLAS)
        return gram4(delta, rows) @ np.ascontiguousarray(np.swapaxes(kron(mt), 1, 2))

    def relres(J: np.ndarray, FJ: np.ndarray) -> np.ndarray:
        b = J.shape[0]
        return (np.max(np.abs(J - FJ).reshape(b, -1), axis=1)
                / np.maximum(1e-300, np.max(np.abs(J).reshape(b, -1), axis=1)))

    # monotone iteration from J = 0 (the map is Loewner-increasing), then chord-Newton steps with the Jacobian
    # I - L, refreshed per row only when its residual stops falling fast (L costs K n^4 per row, a step K n^2);
    # rows leave the iteration once converged, so a hard row does not make the others iterate.
    # Ridgeless with fewer parameters than samples (Lambda = 0): J must stay positive definite (J = 0 is a spurious
    # fixed point); the map is bounded by V2 / phi, and the iteration from there decreases to the largest one
    pd = np.all(lam == 0.0, axis=1) & (offset > 0)
    J = np.where(pd[:, None, None], V2[None] / phi[:, None, None], 0.0)
    for _ in range(6):
        J, _, _ = fmap(J)
    jac_inv = np.zeros((B, n2, n2))
    fresh = np.zeros(B, dtype=bool)
    prev = np.full(B, np.inf)
    act = every
    for _ in range(max_newton):
        FJ, mt, delta = fmap(J[act], act)
        res_now = relres(J[act], FJ)
        keep = res_now > tol
        if not np.any(keep):
            break
        act, FJ, mt, delta, res_now = act[keep], FJ[keep], mt[keep], delta[keep], res_now[keep]
        ref = ~fresh[act] | (res_now > 0.3 * prev[act])
        if np.any(ref):
            rows = act[ref]
            jac_inv[rows] = np.linalg.inv(np.eye(n2)[None] - lin_map(mt[ref], delta[ref], rows))
            fresh[rows] = True
        prev[act] = res_now
        Ja = J[act]
        step = (jac_inv[act] @ (Ja - FJ).reshape(act.size, n2, 1)).reshape(act.size, n, n)
        cand = Ja - step
        cand = 0.5 * (cand + np.swapaxes(cand, 1, 2))
        # keep the step only where it stays positive semidefinite; else take a monotone fixed-point step
        ev_c = np.linalg.eigvalsh(cand)
        ok = np.where(pd[act], ev_c[:, 0] > 1e-12 * ev_c[:, -1], ev_c[:, 0] > -1e-12)
        J[act] = np.where(ok[:, None, None], cand, FJ)
    FJ, mt, delta = fmap(J)
    res = relres(J, FJ)
    if not np.all(res <= 1e3 * tol):
        worst = float(np.max(res))
        raise SolverError(f"linear-scaling NTK fixed point did not converge (worst relative residual {worst:.3g}; "
                          "branch rule: PSD solution by monotone iteration from 0, or from V2/phi down to the "
                          "largest positive definite one when ridgeless with p < m, + Newton)",
                          residual=worst, status=Status.MAX_ITERATIONS)
    Q = gram4(delta)
    L = Q @ np.ascontiguousarray(np.swapaxes(kron(mt), 1, 2))
    # L is self-adjoint and positive in <X, Y> = tr(X Mt Y Mt): with A = Mt^(1/2) it is similar to the symmetric PSD
    # matrix kron(A, A) Q kron(A, A); its largest eigenvalue is the spectral radius of L
    ev, evec = np.linalg.eigh(mt)
    a_half = (evec * np.sqrt(np.clip(ev, 0.0, None))[:, None, :]) @ np.swapaxes(evec, 1, 2)
    ka = kron(a_half)
    ls = ka @ Q @ ka
    ls = 0.5 * (ls + np.swapaxes(ls, 1, 2))
    try:  # physical branch <=> I - L' positive definite (Cholesky: exact and cheap)
        np.linalg.cholesky(np.eye(n2)[None] - ls)
    except np.linalg.LinAlgError:
        raise SolverError("linear-scaling NTK: the spectral radius of L is >= 1 at some point (not the physical "
                          "branch)", status=Status.NO_PHYSICAL_ROOT) from None
    x = np.ones((B, n2, 1))
    for _ in range(100):  # power iteration for the reported spectral radius (L' is symmetric PSD)
        x = ls @ x
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    rho = np.einsum("bpi,bpq,bqi->b", x, ls, x)
    om = np.linalg.solve(np.eye(n2)[None] - L, np.broadcast_to(V2.reshape(1, n2, 1), (B, n2, 1))).reshape(B, n, n)
    om = 0.5 * (om + np.swapaxes(om, 1, 2))
    coef2 = 1.0 / (phi[:, None] * (offset + delta) ** 2)
    q = ((1.0 / (offset + delta)) * w) @ v / phi[:, None]
    h = np.einsum("bnm,bm->bn", mt, q)
    hv = h @ v.T  # (B, K)
    mom = mt @ om @ mt
    ddot = mom.reshape(B, n2) @ VV.T
    alpha = h @ vbar
    es = (1.0 - 2.0 * alpha + np.einsum("bn,bnm,bm->b", h, om, h)
          + np.sum(w * ddot * (1.0 - 2.0 * hv) * coef2, axis=1))
    # noise: (1/phi) E[(v^T Mt Om Mt v) / (offset + delta)^2], equal to the trace form tr(V2 Mt) - tr(Lambda Mt Om Mt)
    # (substitute Lambda = Mt^-1 - J and use Om - L(Om) = V2), which is a difference of two terms of order 1/ridge
    # at small ridges with more parameters than samples (relative rounding error ~ eps / ridge); this form is not
    en = np.sum(w * ddot * coef2, axis=1)
    en_trace = np.einsum("nm,bmn->b", V2, mt) - np.einsum("bn,bnn->b", lam, mom)
    # pieces of the two-replica overlap (independent gates, shared data): _cross_overlap. In the interpolation
    # branch (offset 0) qraw, rraw are 1/ridge times the true ones and Mt^(1/2) sqrt(ridge) times: the products are
    # the true ones, and Mt J = (K + C)^-1 K
    qraw = ((1.0 / (offset + delta)) * w) @ v  # E[v / (1 + delta)], (B, n)
    rraw = (((1.0 - hv) / (offset + delta)) * w) @ v  # E[v (1 - h.v) / (1 + delta)]
    dS, U = np.linalg.eigh(a_half @ J @ a_half)  # Mt^(1/2) J Mt^(1/2) = U diag(d) U^T: Mt J = P diag(d) P^-1
    proj = lambda x: np.einsum("bkn,bk->bn", U, np.einsum("bkl,bl->bk", a_half, x))  # noqa: E731  U^T Mt^(1/2) x
    ybar = proj(np.broadcast_to(vbar, (B, n)))
    return {"es": es, "en": en, "en_trace": en_trace, "alpha": alpha, "rho": rho, "residual": res,
            "hv2h": np.einsum("bn,nm,bm->b", h, V2, h), "cross_d": np.clip(dS, 0.0, None),
            "cross_s": ybar * proj(rraw), "cross_n": ybar * proj(qraw)}


def _cross_overlap(phi: float, weights: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """``E_{a1, a2} sum_kl x1_k x2_l / (1 - phi d1_k d2_l)`` over independent second layers (nodes ``d``, ``x`` of
    shape ``(A, n)`` with weights ``(A,)``): the two-replica overlap ``y1^T xi y2`` of :func:`_fine_grained` in the
    eigenbases of ``Mt J``. Raises :class:`~rmt.solvers.SolverError` when ``phi d1 d2 >= 1`` (no convergent
    two-replica solution: not the physical branch)."""
    dd = d.ravel()
    xx = (weights[:, None] * x).ravel()
    if phi * float(np.max(dd, initial=0.0)) ** 2 >= 1.0:
        raise SolverError("linear-scaling NTK: the two-replica map has spectral radius >= 1 (phi d^2 >= 1)",
                          status=Status.NO_PHYSICAL_ROOT)
    total = 0.0
    step = max(1, int(2e7 // max(dd.size, 1)))
    for k in range(0, dd.size, step):
        total += float(xx[k:k + step] @ (1.0 / (1.0 - phi * np.outer(dd[k:k + step], dd))) @ xx)
    return total


def _fine_grained(s: np.ndarray, noise: np.ndarray, aw: np.ndarray, nodes: dict[str, np.ndarray], xs: np.ndarray,
                  xn: np.ndarray) -> dict[str, np.ndarray]:
    r"""The seven symmetric variance terms of the linear scaling, per point, averaged over ``a``, from the
    one-replica pieces per ``a`` node (``es``, ``en``, ``alpha``, ``hv2h = h^T E[v v^T] h``) and the two-replica
    overlaps ``xs = rho1^T Xi rho2 / phi``, ``xn = q1^T Xi q2 / phi`` averaged over independent second layers
    (:func:`_cross_overlap` for the exact formulation, :func:`_wide_cross` for the wide one).

    Derivation (this project; the sources are ``P = (W, a)``, ``X``, ``eps`` as in Adlam & Pennington,
    arXiv:2011.03321, eq. (10)). Write ``t = beta.x / |beta|``. The ``n1`` features ``t v / sqrt(n0)`` carry the
    signal; their coefficients concentrate, so the predictor is ``sqrt(s) t(x) h.v(x) + b(x)``, where ``b`` is ridge
    regression on the remaining (bulk) features ``x_perp (x) v`` with per-sample labels ``r = sqrt(s) t (1 - h.v) +
    eps``: heteroscedastic noise independent of the bulk features (this reproduces the one-replica error of
    :func:`_conditional`). For two fits that share ``X`` but not ``P`` the gates ``v1 = sigma'(W1 x / sqrt n0)``,
    ``v2`` of every sample and of the test point are independent, so

        ``C_X = s alpha1 alpha2 + (s / phi) rho1^T Xi rho2``, ``C_Xeps - C_X = (noise / phi) q1^T Xi q2``,

    with ``q = E[v / (1 + delta)]``, ``rho = E[v (1 - h.v) / (1 + delta)]`` and the two-replica deterministic
    equivalent ``Xi = Mt1 vbar vbar^T Mt2 + phi Mt1 J1 Xi J2 Mt2`` (the second-order equivalent of ``R1 B R2``
    whose gate expectations factorise between the replicas). Sharing ``P`` only gives ``C_P = s h^T E[v v^T] h``
    (the mean over ``X`` is ``sqrt(s) t h.v``), sharing nothing ``C_0 = s E_a[alpha]^2``, sharing ``P`` and ``X``
    the one-replica error; sharing ``eps`` without ``X`` adds nothing (the data-averaged weight of a label is
    ``O(1/m)``), so ``V_eps = V_Peps = 0``. The terms follow by inclusion-exclusion and sum to the variance.
    ``Xi`` is solved in the eigenbases of ``Mt J`` (``Mt^(1/2) J Mt^(1/2) = U diag(d) U^T``):
    ``y1^T Xi y2 = sum_kl (U1^T Mt1^(1/2) vbar)_k (U1^T Mt1^(1/2) y1)_k (...)_l / (1 - phi d1_k d2_l)``.

    The wide formulation's closure (every ``E[F(v) / (1 + delta)]`` replaced by ``E[F(v)] / (1 + E delta)``) turns
    these into its Gaussian-feature quantities (``G = E g g^T``, ``u = E g``, effective ridge ``k``): ``J Mt =
    (G + k)^-1 G``, ``h = (G + k)^-1 u``, ``rho ~ k (G + k)^-1 u``, ``q ~ u``; :func:`_wide_cross` sums the series.
    """
    abar = nodes["alpha"] @ aw
    c0 = s * abar ** 2
    c_p = s * (nodes["hv2h"] @ aw)
    c_px = s * ((nodes["es"] - 1.0 + 2.0 * nodes["alpha"]) @ aw)
    c_x = c0 + s * xs
    zero = np.zeros_like(c0)
    return {"P": c_p - c0, "X": c_x - c0, "eps": zero, "PX": c_px - c_p - c_x + c0, "Peps": zero.copy(),
            "Xeps": noise * xn, "PXeps": noise * (nodes["en"] @ aw - xn)}


# ------------------------------------------------------------------------------------------------------------------
# the wide formulation: the gate replaced by its second moments (cost linear in n1)
# ------------------------------------------------------------------------------------------------------------------

def _wide_sums(k: np.ndarray, e: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, ...]:
    """Traces of ``G = diag(e) + u u^T`` at ``k`` (rows of ``e``, ``u2 = u^2`` are neurons), by Sherman-Morrison:
    ``t0 = tr G (G + k)^-1``, ``t2 = tr G^2 (G + k)^-2``, ``al = u^T (G + k)^-1 u``, ``al2 = u^T (G + k)^-2 u``."""
    kk = k[:, None]
    d = e + kk
    n = e.shape[1]
    s1 = np.sum(u2 / d, axis=1)
    s2 = np.sum(u2 / d ** 2, axis=1)
    s3 = np.sum(u2 / d ** 3, axis=1)
    trinv = np.sum(1.0 / d, axis=1) - s2 / (1.0 + s1)
    trinv2 = np.sum(1.0 / d ** 2, axis=1) - (2.0 * s3 * (1.0 + s1) - s2 * s2) / (1.0 + s1) ** 2
    t0 = n - k * trinv
    t2 = n - 2.0 * k * trinv + k * k * trinv2
    return t0, t2, s1 / (1.0 + s1), s2 / (1.0 + s1) ** 2


def _wide_conditional(phi: np.ndarray, gamma: np.ndarray, e: np.ndarray, u2: np.ndarray, rank: int, *,
                      tol: float = 1e-13) -> dict[str, np.ndarray]:
    r"""The wide (Gaussian-gate) formulation conditional on the second layer, for rows of ``(phi, ridge)`` and
    per-neuron ``e_i = r (eta' - zeta) a_i^2 / n1``, ``u_i^2 = r zeta a_i^2 / n1``.

    The per-sample gate covariance ``g g^T`` is replaced by its mean ``G = E g g^T = diag(e) + u u^T`` (``u = E g``):
    ridge regression on ``p = n0 n1`` features with covariance ``I_n0 (x) G / n0``. With ``k = n0 kappa`` the
    self-consistent equation of the effective ridge is ``ridge phi = k (1 - phi t0(k))`` (``t0 = tr G (G + k)^-1``;
    the left side is increasing on the physical branch, derivative ``1 - d2``), and

        ``d2 = phi tr G^2 (G + k)^-2``, ``alpha = u^T (G + k)^-1 u``,
        ``E = [s (1 - alpha - k u^T (G + k)^-2 u) + d2 noise] / (1 - d2)``.

    Ridgeless (``ridge = 0``): ``k = 0`` when ``phi rank(G) < 1`` (fewer parameters than samples) and otherwise the
    unique positive root of ``phi t0(k) = 1`` (``t0`` decreases from ``rank(G)`` to 0).

    Solved by Newton from an upper bound (the residual is convex and increasing there, so the iterates decrease
    monotonically to the physical root; relative tolerance ``tol``); a residual above ``1e3 tol`` raises
    :class:`~rmt.solvers.SolverError`.
    """
    B = phi.size
    k = np.zeros(B)
    ridgeless = gamma <= 0
    zero = ridgeless & (phi * rank < 1.0)
    live = ~zero
    if np.any(live):
        ph, gm, ee, uu = phi[live], gamma[live], e[live], u2[live]

        def resid(kv: np.ndarray) -> np.ndarray:
            return kv * (1.0 - ph * _wide_sums(kv, ee, uu)[0]) - gm * ph

        # resid is convex in k (k t0(k) = sum_j k g_j / (g_j + k) is concave) and positive at the upper bound
        # k <= ridge phi + phi tr G; Newton from there decreases monotonically to the largest root, the physical
        # one (the ridgeless branch with p > m has the spurious root k = 0 below it)
        # Safeguarded: the bracket [lo, kv] keeps resid(lo) < 0 <= resid(kv); a Newton step that leaves it (in
        # floating point it can, when the root is many orders below the start, e.g. a second-layer weight near 0
        # makes G tiny) is replaced by the geometric mean of the bracket.
        lo = np.maximum(gm * ph, 1e-300) * (1.0 - 1e-12)
        kv = gm * ph + ph * (np.sum(ee, axis=1) + np.sum(uu, axis=1)) + 1.0
        t0, t2, _, _ = _wide_sums(kv, ee, uu)
        for _ in range(400):  # d/dk [k (1 - phi t0)] = 1 - d2
            slope = 1.0 - ph * t2
            step = (kv * (1.0 - ph * t0) - gm * ph) / np.where(slope > 0, slope, np.inf)
            done = np.abs(step) <= tol * kv
            if np.all(done):
                break
            cand = kv - step
            cand = np.where((slope > 0) & (cand > lo), cand, np.sqrt(lo * kv))
            t0c, t2c, _, _ = _wide_sums(cand, ee, uu)
            fc = cand * (1.0 - ph * t0c) - gm * ph
            # below the root by more than rounding: a new lower end of the bracket; within rounding: the root
            below = ~done & (fc < -1e-13 * (cand + gm * ph))
            lo = np.where(below, cand, lo)
            move = ~done & ~below
            kv, t0, t2 = (np.where(move, x, y) for x, y in ((cand, kv), (t0c, t0), (t2c, t2)))
        res = np.abs(resid(kv)) / np.maximum(kv, 1e-300)
        if not np.all(res <= 1e3 * tol):
            worst = float(np.max(res))
            raise SolverError(f"wide linear-scaling NTK: effective ridge did not converge (worst relative residual "
                              f"{worst:.3g}; branch rule: largest root, Newton from above)",
                              residual=worst, status=Status.MAX_ITERATIONS)
        k[live] = kv
    t0, t2, al, al2 = _wide_sums(k, e, u2)
    d2 = phi * t2
    if np.any(d2 >= 1.0):
        raise SolverError("wide linear-scaling NTK: d2 >= 1 (not the physical branch)", status=Status.NO_PHYSICAL_ROOT)
    es = (1.0 - al - k * al2) / (1.0 - d2)
    en = d2 / (1.0 - d2)
    return {"es": es, "en": en, "alpha": al, "rho": d2, "kappa": k, "hv2h": al - k * al2}


def _wide_cross(phi: float, weights: np.ndarray, k: np.ndarray, e: np.ndarray, u2: np.ndarray, *,
                tol: float = 1e-15, max_terms: int = 20000) -> tuple[float, float]:
    r"""Two-replica overlaps of the wide formulation for independent second layers (nodes ``k`` ``(A,)``, ``e``,
    ``u2`` ``(A, n)`` with weights ``(A,)``): ``(T_s, T_n) = (sum_j phi^j E_a[k c.A^j c]^2, sum_j phi^j
    E_a[u.A^j c]^2)`` with ``c = (G + k)^-1 u``, ``A = (G + k)^-1 G`` (the Neumann series of the two-replica equation
    ``Y = c1 c2^T + phi A1 Y A2^T``; each power is a Sherman-Morrison solve, ``O(n)`` per node). The ratio of the
    series is at most ``phi d^2`` with ``d = lambda_max(G) / (lambda_max(G) + k)``; raises
    :class:`~rmt.solvers.SolverError` when it is not below one or the series has not converged in ``max_terms``."""
    u = np.sqrt(u2)
    kk = k[:, None]
    d = e + kk
    su = 1.0 + np.sum(u2 / d, axis=1, keepdims=True)

    def solve(x: np.ndarray) -> np.ndarray:  # (G + k)^-1 x, G = diag(e) + u u^T
        y = x / d
        return y - (u / d) * np.sum(u * y, axis=1, keepdims=True) / su

    lmax = np.max(e, axis=1) + np.sum(u2, axis=1)  # >= the largest eigenvalue of G
    dmax = float(np.max(lmax / (lmax + k)))
    ratio = phi * dmax * dmax
    if ratio >= 1.0:
        raise SolverError("wide linear-scaling NTK: the two-replica series does not converge (phi d^2 >= 1)",
                          status=Status.NO_PHYSICAL_ROOT)
    w = solve(u)  # c, then A^j c
    c = w.copy()
    ts = tn = 0.0
    scale = 1.0
    for j in range(max_terms):
        ms = float(weights @ (k * np.sum(c * w, axis=1)))
        mn = float(weights @ np.sum(u * w, axis=1))
        ts += scale * ms * ms
        tn += scale * mn * mn
        # stop when this term, continued as a geometric tail of the largest ratio, is below tol of the sum
        if scale * (ms * ms + mn * mn) <= tol * (ts + tn) * (1.0 - ratio) or (ts + tn) == 0.0:
            return ts, tn
        w = w - kk * solve(w)
        scale *= phi
    raise SolverError(f"wide linear-scaling NTK: the two-replica series did not converge in {max_terms} terms "
                      f"(ratio {ratio:.6g})", residual=ratio, status=Status.MAX_ITERATIONS)

_RIDGE, _LEAST_SQUARES, _INTERPOLATING = 0, 1, 2  # branches of the exact formulation, per point
_ROW_KEYS = ("es", "en", "alpha", "rho", "hv2h")  # per-row outputs of _conditional used by linear_scaling
_CROSS_KEYS = ("cross_d", "cross_s", "cross_n")  # per-row vectors (length n) of the two-replica overlap


def _conditional_chunks(phi: np.ndarray, lam: np.ndarray, v: np.ndarray, w: np.ndarray, *,
                        offset: float = 1.0) -> dict[str, np.ndarray]:
    """:func:`_conditional` over the rows in chunks that bound the memory (a few ``(rows, n^2, n^2)`` arrays)."""
    n = lam.shape[1]
    if phi.size == 0:
        return {**{key: np.empty(0) for key in _ROW_KEYS}, **{key: np.empty((0, n)) for key in _CROSS_KEYS}}
    chunk = max(1, int(4e6 // n ** 4))
    parts = [_conditional(phi[k:k + chunk], lam[k:k + chunk], v, w, offset=offset)
             for k in range(0, phi.size, chunk)]
    return {key: np.concatenate([pt[key] for pt in parts]) for key in _ROW_KEYS + _CROSS_KEYS}


def _fill(out: dict[str, np.ndarray], sel: np.ndarray, part: dict[str, np.ndarray]) -> None:
    """``out[key][sel] = part[key]``; vectors shorter than ``out``'s (a constant gate's one neuron) are padded with
    zeros, which add nothing to the two-replica sums."""
    for key, arr in out.items():
        if arr.ndim == 2:
            arr[sel] = 0.0
            arr[np.ix_(np.flatnonzero(sel), np.arange(part[key].shape[1]))] = part[key]
        else:
            arr[sel] = part[key]


def _ridgeless_branches(phi: np.ndarray, gamma: np.ndarray, v: np.ndarray, w: np.ndarray, kind: str,
                        n1: int, averaged: bool) -> np.ndarray:
    """Branch of the exact formulation per point (module docstring, *Ridgeless limit*), validated.

    ``ridge > 0``: the ridge problem. ``ridge = 0``: compare ``p_eff = n_eff phi`` with ``pi = P(v != 0)``, the
    fraction of samples that carry a first-layer feature (``n_eff = n1``, or 1 for a constant gate, whose features
    span only ``n0`` directions): below, least squares (``Mt = J^-1``); above, interpolation (``J = ridge K``); equal,
    the limit diverges (``ValueError``). The interpolation branch needs a finite gate law: for a smooth ``sigma'``
    its weights ``1 / v^T Mt v`` are singular where every gate is near 0, and the product rules do not resolve that.

    Averaged over the second layer (``averaged``), interpolation is also refused where ``k phi = P(one of k gates
    open)`` for some ``k < n1``: as ``n1 - k`` weights ``a_i -> 0`` the remaining ``k`` neurons sit at their own
    threshold and the conditional error diverges (like ``1/a_i`` for ``k = n1 - 1``: a logarithmically divergent
    average).
    """
    branch = np.full(phi.shape, _RIDGE)
    ridgeless = gamma <= 0
    if not np.any(ridgeless):
        return branch
    const = v.shape[0] == 1
    n_eff = 1 if const else n1
    pi = float(np.sum(w[np.any(v != 0.0, axis=1)]))
    ratio = n_eff * phi / pi
    if np.any(ridgeless & (np.abs(ratio - 1.0) < 1e-9)):
        raise ValueError(f"ridge = 0 where the effective parameters reach the samples that carry a feature "
                         f"({n_eff} phi = P(some gate open) = {pi:.6g}): the ridgeless limit diverges there")
    branch[ridgeless & (ratio < 1.0)] = _LEAST_SQUARES
    branch[ridgeless & (ratio > 1.0)] = _INTERPOLATING
    if averaged and not const and np.any(branch == _INTERPOLATING):
        for k in range(1, n1):
            pk = float(np.sum(w[np.any(v[:, :k] != 0.0, axis=1)]))
            if np.any((branch == _INTERPOLATING) & (np.abs(k * phi / pk - 1.0) < 1e-9)):
                raise ValueError(f"ridge = 0 averaged over the second layer at {k} phi = P(one of {k} gates open) = "
                                 f"{pk:.6g}: the conditional error diverges as second-layer weights go to 0 there; "
                                 "give second_layer or a ridge > 0")
    if kind != "exact" and np.any(branch == _INTERPOLATING):
        raise ValueError("ridge = 0 with more parameters than samples (n1 phi > 1) is available in the exact "
                         "formulation only for activations whose derivative takes finitely many values (ReLU, "
                         "linear); use a ridge > 0 or method='wide'")
    return branch


# ------------------------------------------------------------------------------------------------------------------
# public entry point
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinearScalingResult(NTKTabular):
    """The linear-scaling limit of NTK regression (``n1`` fixed, ``n0, m -> infinity``, ``p = n1 n0 ~ m``).

    Attributes:
        test_error: ``E_{W,a,X,eps,x} (yhat(x) - beta.x/sqrt n0)^2`` (no test noise), averaged over ``a``.
        bias: ``s (1 - alpha)^2``.
        variance: ``test_error - bias``.
        noise_variance: the label-noise part of the error.
        alpha: mean shrinkage, ``E yhat(x) = alpha beta.x / sqrt(n0)``.
        conditional_sd: standard deviation over ``a`` of the ``a``-conditional test error (the limit is random in
            ``a`` at fixed width; 0 when ``second_layer`` is given).
        n1: the width.
        p_over_m: ``p / m = n1 phi`` (``p = n1 n0`` first-layer parameters).
        spectral_radius: the largest spectral radius of ``L`` over the ``a`` nodes (``< 1``; near 1 close to the
            interpolation threshold).
        quadrature_stderr: integration error of the average over ``a`` estimated from independent scrambles
            (``a_rule = "sobol"``); 0 for the Gauss rules (their convergence is checked in the tests).
        quadrature: ``a_rule`` (``gauss``, ``sobol`` or ``fixed``), ``a_nodes``, ``gate_rule`` (``exact``,
            ``gauss`` or ``sobol``), ``gate_nodes``.
        constants: the :class:`~theory.ntk.NTKConstants` used.
        fine_grained: the seven symmetric variance terms (``FINE_GRAINED_KEYS``; sources ``P = (W, a)``, or ``W``
            alone when ``second_layer`` is given), averaged over ``a`` (:func:`_fine_grained`; for the wide
            formulation under its closure, :func:`_wide_cross`).
    """

    test_error: Any
    bias: Any
    variance: Any
    noise_variance: Any
    alpha: Any
    conditional_sd: Any
    quadrature_stderr: Any
    n1: int
    p_over_m: Any
    spectral_radius: Any
    quadrature: Mapping[str, Any]
    constants: NTKConstants
    fine_grained: Mapping[str, Any] | None = None
    problem: Problem | None = field(default=None, repr=False, compare=False)
    lr_ratio: Any = field(default=1.0, repr=False, compare=False)
    scaling = "linear"
    unused = ("n0", "m", "psi")

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("test_error", "bias", "variance", "noise_variance", "alpha",
                                              "conditional_sd", "quadrature_stderr", "n1", "p_over_m",
                                              "spectral_radius")}
        out["quadrature"] = dict(self.quadrature)
        out["fine_grained"] = None if self.fine_grained is None else dict(self.fine_grained)
        return out


def linear_scaling(problem: Problem, *, lr_ratio: Any = 1.0, second_layer: Any = None,
                   a_nodes_per_dim: int | None = None, gate_nodes_per_dim: int | None = None,
                   a_points: int | None = None, gate_points: int = 2048, method: str = "auto",
                   include_f0: bool = False) -> LinearScalingResult:
    r"""NTK regression with the width ``n1`` fixed while ``n0, m -> infinity`` at ``phi = n0 / m`` (derived here;
    module docstring of :mod:`theory._ntk_linear`; Adlam & Pennington 2020, arXiv:2008.06786, the ``p ~ m`` scale of
    their Figure 1).

    Vectorized over ``phi``, ``ridge``, ``noise``, ``signal`` and ``lr_ratio``; ``problem.n1`` must be one positive
    integer (it is a dimension of the limit, not a ratio). ``p = n1 n0`` crosses ``m`` at ``n1 phi = 1``.

    Args:
        problem: ``n0, n1, m`` (only ``phi = n0/m`` and the integer ``n1`` are used), ``ridge >= 0``, activation,
            noise, signal.
        lr_ratio: learning-rate ratio ``r >= 0``; ``r = 0`` leaves ``n1`` random features, which learn nothing of a
            linear target in this limit (``test_error = signal``).
        second_layer: optional fixed second-layer weights ``a`` (length ``n1``): the ``a``-conditional limit instead
            of the average over ``a ~ N(0, I)``.
        a_nodes_per_dim, gate_nodes_per_dim: orders of the product Gauss rules (defaults keep the work bounded; see
            :func:`second_layer_rule` and :func:`gate_rule`).
        a_points: Sobol' points for the average over ``a`` when ``n1 >= 3`` (default: 1024, fewer when the gate
            rule is large; ``wide``: 4096 i.i.d. draws with a fixed seed at ``n1 <= 100``, down to 256 at
            ``n1 >= 1600``); its integration error is reported as ``quadrature_stderr``.
        gate_points: Sobol' points for the gate expectation of a smooth activation when ``n1 >= 5``.
        method: ``"exact"`` (the ``n1 x n1`` matrix fixed point with the exact law of the gate; ``n1 <= 12``;
            ``ridge = 0`` by its ridgeless branches, module docstring: ReLU and linear on both sides of the
            threshold, smooth activations with fewer parameters than samples), ``"wide"`` (the gate replaced by its
            second moments, cost linear in ``n1``: exact for a linear activation and as ``n1 -> infinity``, relative
            error ``O(1/n1)`` otherwise, measured in the tests; see :func:`_wide_conditional`) or ``"auto"``
            (``exact`` for ``n1 <= 10``, ridgeless included, else ``wide``: the answers of ``auto`` at ``n1 = 11,
            12`` stay the wide ones; ask for ``exact`` there). A constant gate (linear activation) is one neuron in
            the exact formulation at any ``n1``; ``auto`` takes it there when a ridge is 0.
        include_f0: add the network's initial function to the predictor. ``f0(x) = a.sigma(W x / sqrt n0) /
            sqrt(n1)`` lies in the span of the ``n1`` second-layer features ``sigma(w_i.x / sqrt n0)``, which are
            part of the kernel; finitely many features are fitted exactly from ``m -> infinity`` samples, so
            ``Y - f0(X)`` is fitted as ``Y`` plus an exactly learnt ``-f0`` and the limit is unchanged (checked
            against the simulation with ``f0`` in the tests).

    Raises:
        ValueError: bad input, a non-integer or array ``n1``, the exact formulation (``n1 <= 10`` under
            ``"auto"``) with ``n1 > 12``; ``ridge = 0`` at its threshold (``n1 phi = P(v != 0)``, ``phi = 1`` for a
            linear activation; the wide formulation: at ``p = m``, and with a linear activation), with more
            parameters than samples for a smooth activation in the exact formulation, or averaged over ``a`` at a
            threshold of fewer neurons (the limit diverges there); a ``second_layer`` of the wrong length or with a
            zero entry.
        SolverError: a fixed point did not converge, or the solution is not on the physical branch.
    """
    check_problem(problem, "linear_scaling")
    n1_arr = np.asarray(problem.n1, dtype=float)
    if n1_arr.ndim != 0 or float(n1_arr) != round(float(n1_arr)) or float(n1_arr) < 1:
        raise ValueError(f"n1 must be a single positive integer for the linear scaling, got {problem.n1!r}")
    n1 = int(round(float(n1_arr)))
    if method not in ("auto", "exact", "wide"):
        raise ValueError(f"method must be 'auto', 'exact' or 'wide', got {method!r}")
    c = ntk_constants(problem.activation, lr_ratio)
    phi = np.asarray(problem.phi, dtype=float)
    gamma = np.asarray(problem.ridge, dtype=float)
    if np.any(gamma < 0):
        raise ValueError("ridge must be >= 0")
    # a constant gate (linear activation) is one neuron in the exact formulation (cost independent of n1); auto takes
    # it there for the ridgeless limit, which the wide formulation does not have for a constant gate
    constant_gate = not c.eta_prime > c.zeta
    if method == "auto":  # the wide formulation is O(1/n1) from the exact one: never chosen silently at n1 <= 10
        method = "exact" if n1 <= _AUTO_WIDTH or (constant_gate and np.any(gamma <= 0)) else "wide"
    if method == "exact":
        if n1 > _MAX_WIDTH and not constant_gate:
            raise ValueError(f"n1 must be <= {_MAX_WIDTH} for method='exact' (its cost grows like n1^4), got {n1}; "
                             "use method='wide'")

    noise = np.asarray(problem.noise, dtype=float)
    s = np.asarray(problem.signal, dtype=float)
    lr = np.asarray(c.lr_ratio, dtype=float)
    shape = np.broadcast_shapes(phi.shape, gamma.shape, noise.shape, s.shape, lr.shape)
    phi, gamma, noise, s, lr = (np.broadcast_to(x, shape).ravel() for x in (phi, gamma, noise, s, lr))
    wide = method == "wide"
    if wide and np.any(gamma <= 0):
        if not c.eta_prime > c.zeta:
            raise ValueError("ridge must be > 0 for a linear activation in the wide formulation (no implicit ridge); "
                             "its ridgeless limit (least squares or min-norm interpolation) is in method='exact' or "
                             "'auto'")
        if np.any((gamma <= 0) & (np.abs(phi * n1 - 1.0) < 1e-12)):
            raise ValueError("ridge = 0 at p = m (n1 phi = 1): the ridgeless limit diverges there")
        # averaged over a, second-layer weights near 0 switch neurons off: at k phi = 1 (k < n1) the conditional
        # error diverges on a set of a of positive density near those switch-offs (d2 -> 1)
        near = [k for k in range(1, n1) if np.any((gamma <= 0) & (np.abs(k * phi - 1.0) < 1e-9))]
        if near and second_layer is None:
            raise ValueError(f"ridge = 0 averaged over the second layer at {near[0]} phi = 1: the conditional error "
                             "diverges as second-layer weights go to 0 there; give second_layer or a ridge > 0")
    if wide:
        v, w, g_kind = np.ones((1, n1)), np.ones(1), "second-moment"
    else:
        v, w, g_kind = gate_rule(problem.activation, n1, gate_nodes_per_dim, qmc_points=gate_points)
        ridgeless_branch = _ridgeless_branches(phi, gamma, v, w, g_kind, n1, second_layer is None)
    if second_layer is None:
        if a_points is None:  # exact: 1024, fewer when the gate rule is large (work ~ A K n1^4)
            budget = 2e9 / (v.shape[0] * n1 ** 4)
            if wide:  # i.i.d. draws: work ~ A n1, 4096 draws at n1 <= 100 down to 256 at n1 >= 1600
                budget = 4e5 / n1
            a_points = int(min(1024 if not wide else 4096, max(128 if not wide else 256,
                                                               2 ** int(math.floor(math.log2(max(budget, 1.0)))))))
        if wide and a_nodes_per_dim is None and n1 >= 3:
            # i.i.d. draws in 8 independent groups (the spread of the group means is the reported error); a
            # scrambled Sobol' set in n1 dimensions costs more than the wide solve itself and gains little there
            per = max(2, int(check_positive_int(a_points, "a_points")) // 8)
            anodes = np.abs(np.random.default_rng(20201).standard_normal((8 * per, n1)))
            aw, groups, a_kind = np.full(8 * per, 1.0 / (8 * per)), np.repeat(np.arange(8), per), "monte-carlo"
        else:
            anodes, aw, groups, a_kind = second_layer_rule(n1, a_nodes_per_dim, qmc_points=a_points)
    else:
        a = check_positive(np.abs(np.atleast_1d(np.asarray(second_layer, dtype=float))), "second_layer (|a_i| > 0)")
        if a.shape != (n1,):
            raise ValueError(f"second_layer must have length n1 = {n1}, got shape {a.shape}")
        anodes, aw, groups, a_kind = a[None, :], np.ones(1), np.zeros(1, dtype=int), "fixed"
    P, A = phi.size, anodes.shape[0]
    live = lr > 0
    es = np.ones((P, A))  # r = 0: nothing is learnt, the error is the signal
    en = np.zeros((P, A))
    al = np.zeros((P, A))
    rho = np.zeros((P, A))
    hv2h = np.zeros((P, A))
    xs, xn = np.zeros(P), np.zeros(P)
    if np.any(live):
        idx = np.flatnonzero(live)
        ph = np.repeat(phi[idx], A)
        if wide:
            a2 = np.broadcast_to(anodes[None, :, :] ** 2, (idx.size, A, n1)).reshape(-1, n1)
            # G = E g g^T / r with g_i = sqrt(r / n1) a_i sigma'(u_i); the kernel is r x (first-layer term), so the
            # ridge is ridge / r against G
            e = max(c.eta_prime - c.zeta, 0.0) * a2 / n1
            u2 = c.zeta * a2 / n1
            rank = n1 if c.eta_prime > c.zeta else 1
            gm = np.repeat(gamma[idx] / lr[idx], A)
            chunk = max(1, int(4e6 // n1))
            parts = [_wide_conditional(ph[k:k + chunk], gm[k:k + chunk], e[k:k + chunk], u2[k:k + chunk], rank)
                     for k in range(0, ph.size, chunk)]
        else:
            # per-neuron ridges lambda_i = ridge n1 / (r a_i^2) = ridge C_i; batch = (live points) x (a nodes)
            c_unit = (n1 / (lr[idx, None, None] * anodes[None, :, :] ** 2)).reshape(-1, n1)
            branch = np.repeat(ridgeless_branch[idx], A)
            out = {key: np.zeros(ph.size) for key in _ROW_KEYS}
            out.update({key: np.zeros((ph.size, n1)) for key in _CROSS_KEYS})
            # a constant gate (linear activation) is one neuron with the harmonic-mean ridge (the minimum of
            # sum_i C_i |B_i|^2 at fixed sum_i B_i is |sum_i B_i|^2 / sum_i C_i^-1): exact at every ridge, and the
            # n1 x n1 problem (rank-one J plus a small ridge) is ill-conditioned at small ridges
            const = v.shape[0] == 1
            vr = v[:, :1] if const else v
            cr = 1.0 / np.sum(1.0 / c_unit, axis=1, keepdims=True) if const else c_unit
            sel = branch == _RIDGE
            _fill(out, sel, _conditional_chunks(ph[sel], np.repeat(gamma[idx], A)[sel, None] * cr[sel], vr, w))
            if np.any(branch != _RIDGE):  # the ridgeless branches
                sel = branch == _INTERPOLATING  # J = ridge K: the rescaled fixed point, Lambda / ridge = C
                _fill(out, sel, _conditional_chunks(ph[sel], cr[sel], vr, w, offset=0.0))
                # fewer parameters than samples: Mt = J^-1 does not depend on the second layer; one row per point
                sel = (branch == _LEAST_SQUARES) & (np.arange(ph.size) % A == 0)
                one = _conditional_chunks(ph[sel], np.zeros((int(sel.sum()), vr.shape[1])), vr, w)
                _fill(out, branch == _LEAST_SQUARES, {k: np.repeat(x, A, axis=0) for k, x in one.items()})
            parts = [out]
        for key, arr in (("es", es), ("en", en), ("alpha", al), ("rho", rho), ("hv2h", hv2h)):
            arr[idx] = np.concatenate([pt[key] for pt in parts]).reshape(idx.size, A)
        # two-replica overlaps, averaged over independent second layers
        keys = ("kappa",) if wide else ("cross_d", "cross_s", "cross_n")
        per = {key: np.concatenate([pt[key] for pt in parts]).reshape((idx.size, A, -1)) for key in keys}
        for j, i in enumerate(idx):
            if wide:
                ts, tn = _wide_cross(float(phi[i]), aw, per["kappa"][j, :, 0], e[:A], u2[:A])
                xs[i], xn[i] = phi[i] * ts, phi[i] * tn
            else:
                xs[i] = _cross_overlap(float(phi[i]), aw, per["cross_d"][j], per["cross_s"][j]) / phi[i]
                xn[i] = _cross_overlap(float(phi[i]), aw, per["cross_d"][j], per["cross_n"][j]) / phi[i]
    cond = s[:, None] * es + noise[:, None] * en
    test = cond @ aw
    sd = np.sqrt(np.maximum(((cond - test[:, None]) ** 2) @ aw, 0.0))
    alpha = al @ aw
    ngroups = int(groups.max()) + 1
    if ngroups > 1:  # spread of the independent scrambles: standard error of their mean
        gm_ = np.stack([cond[:, groups == j].mean(axis=1) for j in range(ngroups)], axis=1)
        q_err = gm_.std(axis=1, ddof=1) / math.sqrt(ngroups)
    else:
        q_err = np.zeros(P)
    bias = s * (1.0 - alpha) ** 2
    nv = noise * (en @ aw)
    rs = lambda x: frozen_value(np.reshape(x, shape))  # noqa: E731
    terms = _fine_grained(s, noise, aw, {"es": es, "en": en, "alpha": al, "hv2h": hv2h}, xs, xn)
    fine = MappingProxyType({k: rs(terms[k]) for k in FINE_GRAINED_KEYS})
    quad = MappingProxyType({"a_rule": a_kind, "a_nodes": int(A), "gate_rule": g_kind, "gate_nodes": int(v.shape[0]),
                             "method": method})
    return LinearScalingResult(test_error=rs(test), bias=rs(bias), variance=rs(test - bias), noise_variance=rs(nv),
                               alpha=rs(alpha), conditional_sd=rs(sd), quadrature_stderr=rs(q_err), n1=n1,
                               p_over_m=rs(n1 * phi), spectral_radius=rs(np.max(rho, axis=1)), quadrature=quad,
                               constants=c, fine_grained=fine, problem=problem, lr_ratio=lr_ratio)
