r"""Feature transfer in the spectrum-only case: ridge regression on a pretrained linear featurisation.

Setting (Li, Sen & Adlam, "Understanding Optimal Feature Transfer via a Fine-Grained Bias-Variance Analysis",
arXiv:2404.12481, the case they call spectrum-only): downstream inputs ``x ~ N(0, Lambda)``,
``Lambda = diag(lambda_i)``; a task ``y = beta . x + eps`` with ``Var eps = noise`` and ``beta`` drawn from a prior
with ``E beta beta^T = diag(omega_i)``; a pretrained featurisation ``z = B^T x`` co-diagonal with ``Lambda`` and the
prior, i.e. ``z_i = b_i x_i`` with feature scales ``b_i >= 0`` (``b_i = 0`` discards mode ``i``); ridge regression on
``n`` samples of ``z`` with the sum-convention ridge, ``w_hat = argmin sum_j (y_j - z_j . w)^2 + ridge |w|^2``.

This is kernel ridge regression with the kernel ``z . z'``, whose Mercer eigenvalues are ``c_i = b_i^2 lambda_i``
(eigenfunctions ``x_i / sqrt(lambda_i)``), and a target of power ``w_i = omega_i lambda_i`` in mode ``i`` (averaged
over the prior, the risk is linear in ``beta beta^T``). The eigenframework (Simon, Dickens, Karkada & DeWeese
arXiv:2110.03922; Canatar, Bordelon & Pehlevan arXiv:2006.13198) then gives, with ``kappa`` the root of

    ``sum_i c_i / (c_i + kappa) + ridge / kappa = n``  and  ``q_i = c_i / (c_i + kappa)`` (``q_i = 0`` if ``b_i = 0``),

* ``bias = sum_i w_i (1 - q_i)^2`` (discarded modes contribute their full power ``w_i``),
* ``V_X = d2 / (1 - d2) * bias`` and ``V_eps = d2 / (1 - d2) * noise`` with ``d2 = sum_i q_i^2 / n``,
* ``test_error = bias + V_X + V_eps = (bias + d2 noise) / (1 - d2)`` (excess error, without the test label's noise).

``V_X = Var_X E_eps f_hat`` is the variance from sampling the training inputs with noiseless labels, ``V_eps =
E_X Var_eps f_hat`` the part from label noise (in Adlam & Pennington's symmetric decomposition it is the ``X x eps``
interaction: ``Var_eps E_X f_hat`` vanishes in the limit). The features are deterministic, so there is no ``P`` term.
Identity features (``b = 1``) are exactly :func:`rmt.theory.eigen.krr`; ``top:K`` is principal-component regression
(hard selection); ``power:P`` sets ``b_i = lambda_i^P``. Ridgeless, the error diverges where ``n`` equals the number
of kept features (and, without label noise or discarded power, only through ``V_X``).

Optimal featurisation (derived here; the paper's own formulas could not be consulted). The risk depends on ``b``
only through the learnabilities ``q``: for a ridge ``> 0`` any ``q in [0, 1)^M`` with ``sum q < n`` is reached by
``kappa = ridge / (n - sum q)``, ``c_i = kappa q_i / (1 - q_i)``. Writing ``R = test_error`` and ``D = sum q^2/n``,
``R = sum w (1-q)^2 + (R + noise) D``, so with ``tau = (R + noise)/n`` the optimum is the largest root of

    ``n tau - noise = phi(tau) = min_q [ sum_i w_i (1 - q_i)^2 + tau sum_i q_i^2 ]`` over the feasible ``q``,

(``phi`` is concave, so ``n tau - noise - phi`` is convex and negative at 0: the root is unique), attained at
``q_i = max(0, w_i - theta) / (w_i + tau)``. With ``sum q <= n`` (any ridge ``> 0``, the ridge being absorbed by
the scale of ``b``) the multiplier ``theta >= 0`` vanishes when the task's effective rank
``r_eff(tau) = sum_i w_i / (w_i + tau)`` is at most ``n``: **soft selection**, every mode kept and shrunk. When
``r_eff > n`` the constraint binds, ``theta > 0`` and every mode with ``w_i <= theta`` is discarded: **hard
selection** (a sparse featurisation; for ridge ``> 0`` the infimum is then approached as the feature scale grows,
i.e. at vanishing effective ridge). Ridgeless, ``sum q = n`` exactly (``theta`` of either sign, ``q`` clipped to
``[0, 1]``), compared with least squares on the best ``K < n`` modes (``kappa = 0``). The gradient of the risk with
respect to ``b`` through the fixed point (:func:`risk_gradient`, by implicit differentiation of ``kappa`` in
:mod:`rmt.theory.eigen_autodiff`) vanishes at an attained optimum, which the tests check.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmt.records import Tabular, broadcast_records
from rmt._validation import check_nonnegative, check_positive
from rmt.numerics import float64_jax
from rmt.solvers import SolverError, Status, solve_monotone
from rmt.theory.eigen import Eigensystem, compress, krr
from rmt.transfer_problem import TransferProblem, TransferSetting, feature_scales  # the problem lives in rmt

__all__ = ["OptimalFeatures", "TransferProblem", "TransferResult", "TransferSetting", "features", "optimal_features",
           "risk_gradient",
           "SelectionTransition", "ridgeless_branches", "selection_transition",
           "transfer", "transfer_theory"]


def features(spec: Any, setting: TransferSetting) -> np.ndarray:
    """Feature scales ``b`` from ``"identity"``, ``"top:K"`` (``b_i = 1`` for the ``K`` largest eigenvalues, else 0),
    ``"power:P"`` (``b_i = lambda_i^P``) or an array of ``M`` non-negative scales.

    Raises:
        ValueError: an unknown specification (named ``features``), ``K`` not in ``1..M``, a non-finite ``P``.
    """
    return feature_scales(spec, setting.eigenvalues)


@dataclass(frozen=True, eq=False)
class TransferResult(Tabular):
    """Task-averaged risk of ridge regression on transferred features (module docstring for the formulas).

    Attributes (broadcast over ``n``, ``ridge``, ``noise``):
        test_error: excess test error (no test-label noise). bias: ``sum w (1 - q)^2``.
        variance: ``V_X + V_eps``. V_X, V_eps: the fine-grained terms. kappa: the effective regularisation.
        df2: ``sum q^2``. kept: number of features with ``b_i > 0``. discarded_power: ``sum_{b_i = 0} w_i``.
    """

    test_error: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    V_X: np.ndarray
    V_eps: np.ndarray
    kappa: np.ndarray
    df2: np.ndarray
    kept: int
    discarded_power: float
    n: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray

    def nested_records(self) -> list[dict[str, Any]]:
        """One dict per point of the ``n``/``ridge``/``noise`` grid: the coordinates, then :meth:`as_dict`'s keys."""
        values = {"test_error": np.asarray(self.test_error), "bias": np.asarray(self.bias),
                  "variance": np.asarray(self.variance),
                  "fine_grained": {"X": np.asarray(self.V_X), "eps": np.asarray(self.V_eps)},
                  "kappa": np.asarray(self.kappa), "df2": np.asarray(self.df2), "kept_features": self.kept}
        return broadcast_records({"model": "transfer", "n": np.asarray(self.n), "ridge": np.asarray(self.ridge),
                                  "noise": np.asarray(self.noise)}, values)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` record: ``test_error``, ``bias``, ``variance``, ``fine_grained`` (``X``, ``eps``),
        ``kappa``, ``df2``, ``kept_features``."""
        f = lambda v: float(v) if np.ndim(v) == 0 else np.asarray(v).tolist()  # noqa: E731
        return {"test_error": f(self.test_error), "bias": f(self.bias), "variance": f(self.variance),
                "fine_grained": {"X": f(self.V_X), "eps": f(self.V_eps)}, "kappa": f(self.kappa),
                "df2": f(self.df2), "kept_features": self.kept}


def _kept_system(setting: TransferSetting, b: np.ndarray, fast: bool) -> tuple[Eigensystem | None, float, int]:
    keep = b > 0
    tail = float(setting.target_power[~keep].sum())
    if not np.any(keep):
        return None, tail, 0
    c = b[keep] ** 2 * setting.eigenvalues[keep]
    system = Eigensystem(c, setting.target_power[keep], target_tail=tail)
    return (compress(system) if fast else system), tail, int(keep.sum())


def transfer(setting: TransferSetting, b: Any, n: Any, ridge: Any, noise: Any = 0.0, *,
             fast: bool | None = None) -> TransferResult:
    r"""Risk, bias and fine-grained variance of ridge regression on the features ``z_i = b_i x_i``.

    Args:
        setting: spectrum and task prior (:class:`TransferSetting`).
        b: feature scales (array of ``M`` values ``>= 0``, or a specification for :func:`features`).
        n: samples ``> 0``. ridge: sum-convention ridge ``>= 0``. noise: label-noise variance ``>= 0``.
        fast: use the compressed eigenframework (default: when more than 20,000 modes are kept).

    Returns:
        :class:`TransferResult`; ``test_error = inf`` at the ridgeless divergence ``n = kept``.
    """
    bb = features(b, setting)
    n = check_positive(n, "n")
    ridge = check_nonnegative(ridge, "ridge")
    noise = check_nonnegative(noise, "noise")
    keep_count = int((bb > 0).sum())
    system, tail, kept = _kept_system(setting, bb, keep_count > 20_000 if fast is None else fast)
    n_, r_, s_ = np.broadcast_arrays(n, ridge, noise)
    if system is None:  # no feature: the predictor is 0
        z = np.zeros(n_.shape)
        return TransferResult(test_error=z + tail, bias=z + tail, variance=z, V_X=z, V_eps=z, kappa=z + np.inf,
                              df2=z, kept=0, discarded_power=tail, n=n_, ridge=r_, noise=s_)
    res = krr(system, n_, r_, s_)
    with np.errstate(divide="ignore", invalid="ignore"):
        # d2 / (1 - d2) = df2 / (n - df2) = df2 E0 / n (E0 = n / (n - df2) is computed without cancellation)
        ratio = np.asarray(res.df2) * np.asarray(res.E0) / np.asarray(res.n)
        vx = np.where(np.asarray(res.bias) > 0, ratio * np.asarray(res.bias), 0.0)
        veps = np.where(s_ > 0, ratio * s_, 0.0)
    return TransferResult(test_error=np.asarray(res.test_error), bias=np.asarray(res.bias),
                          variance=np.asarray(res.variance), V_X=vx, V_eps=veps, kappa=np.asarray(res.kappa),
                          df2=np.asarray(res.df2), kept=kept, discarded_power=tail, n=n_, ridge=r_, noise=s_)


def transfer_theory(problem: TransferProblem, *, fast: bool | None = None) -> TransferResult:
    """The theory entry point of the model table: :func:`transfer` at one :class:`rmt.TransferProblem` (the same
    object :func:`rmt.montecarlo.transfer.simulate_transfer` takes).

    Raises:
        ValueError: ``problem`` is not a :class:`rmt.TransferProblem`.
    """
    if not isinstance(problem, TransferProblem):
        raise ValueError(f"problem must be a TransferProblem, got {type(problem).__name__}")
    return transfer(problem.setting, problem.features, problem.n, problem.ridge, problem.noise, fast=fast)


# ----------------------------------------------------------------------------------------------------------------
# optimal featurisation
# ----------------------------------------------------------------------------------------------------------------

def _q_of(w: np.ndarray, tau: float, theta: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(w + tau > 0, (w - theta) / (w + tau), 0.0)
    return np.clip(q, 0.0, 1.0)


def _theta(w: np.ndarray, tau: float, n: float, equality: bool) -> float:
    """Multiplier of ``sum q = n`` (``theta >= 0`` for the inequality). ``S(theta) = sum clip((w - theta)/(w + tau),
    0, 1)`` is decreasing and piecewise linear, ``= M`` for ``theta <= -tau`` and with kinks at the ``w_i`` above:
    on the piece where the ``k`` largest ``w`` are active, ``theta_k = (sum_{i<=k} w_i/(w_i+tau) - n) /
    sum_{i<=k} 1/(w_i+tau)``; the root is the ``theta_k`` that lies on its own piece."""
    if not equality and float(_q_of(w, tau, 0.0).sum()) <= n:
        return 0.0
    if tau <= 0:  # S = sum (1 - theta/w)_+ : same construction with weights 1/w
        ws = np.sort(w[w > 0])[::-1]
        A, B = np.cumsum(np.ones_like(ws)), np.cumsum(1.0 / ws)
    else:
        ws = np.sort(w)[::-1]
        A, B = np.cumsum(ws / (ws + tau)), np.cumsum(1.0 / (ws + tau))
    th = (A - n) / B
    nxt = np.concatenate([ws[1:], [-tau if tau > 0 else 0.0]])
    ok = (th >= nxt) & (th <= ws)
    if not np.any(ok):
        raise SolverError(f"optimal featurisation: no threshold with sum q = {n} at tau = {tau:.3g}",
                          residual=float(n), status=Status.NO_BRACKET)
    t = float(th[np.flatnonzero(ok)[0]])
    return t if equality else max(t, 0.0)


def _phi(w: np.ndarray, tau: float, n: float, equality: bool) -> tuple[float, np.ndarray, float]:
    th = _theta(w, tau, n, equality)
    q = _q_of(w, tau, th)
    return float(np.sum(w * (1 - q) ** 2) + tau * np.sum(q * q)), q, th


@dataclass(frozen=True, eq=False)
class OptimalFeatures:
    """The featurisation minimising the task-averaged risk at given ``n``, ridge and noise.

    Attributes:
        b: optimal feature scales (0 for discarded modes). learnabilities: the optimal ``q``.
        test_error: the minimal (infimum) risk. tau: ``(test_error + noise)/n``. theta: the selection threshold
            (modes with ``w_i <= theta`` are discarded when ``theta > 0``).
        kept: number of modes with ``b_i > 0``. effective_rank: ``r_eff = sum w/(w + tau)`` at the optimum.
        regime: ``"soft"`` (``r_eff <= n``, all modes with target power kept), ``"hard"`` (``r_eff > n``, sparse),
            or ``"least-squares"`` (ridgeless, ``K < n`` modes with ``kappa = 0``).
        attained: False when the infimum is only approached (ridge > 0 with hard selection: the feature scale grows
            without bound; or a learnability clipped at 1).
        kappa: the effective regularisation of ``b`` (1 by convention where the scale is free).
    """

    b: np.ndarray = field(repr=False)
    learnabilities: np.ndarray = field(repr=False)
    test_error: float
    tau: float
    theta: float
    kept: int
    effective_rank: float
    regime: str
    attained: bool
    kappa: float

    def as_dict(self) -> dict[str, Any]:
        return {"test_error": self.test_error, "kept_features": self.kept, "effective_rank": self.effective_rank,
                "regime": self.regime, "attained": self.attained, "theta": self.theta, "tau": self.tau}


def _solve_tau(w: np.ndarray, n: float, noise: float, equality: bool) -> float:
    """Largest root of the convex ``H(tau) = n tau - noise - phi(tau)`` (``H(0) <= 0``)."""
    try:
        phi0 = _phi(w, 0.0, n, equality)[0]
    except SolverError:  # sum q = n unreachable at tau = 0 (fewer modes with prior power than n): phi(0) = 0
        phi0 = 0.0
    if noise == 0 and phi0 <= 0:
        return 0.0
    lo = max(noise, phi0) / (2 * n)
    # phi <= sum w + tau sum q^2 at a feasible q: q = 0 (inequality) or q = n/M uniformly (equality)
    shrink = 1.0 - n / w.size if equality else 1.0
    hi = 1.01 * (noise + float(w.sum())) / (n * shrink) + lo

    def H(t: np.ndarray) -> np.ndarray:
        return np.array([n * x - noise - _phi(w, float(x), n, equality)[0] for x in np.atleast_1d(t)])

    if H(np.array([lo]))[0] >= 0:
        return lo  # only when phi is flat there (rounding); the bracket is valid by construction otherwise
    sol = solve_monotone(lambda t: H(t), np.array([lo]), np.array([hi]), log=True, xtol=1e-14, maxiter=300,
                         expand=False, throw=True, what="optimal featurisation tau")
    return float(sol.value[0])


def _branches(w: np.ndarray, n: float, ridge: float, noise: float) -> list[tuple[str, float, float, np.ndarray,
                                                                              float]]:
    """Candidate optima ``(kind, risk, tau, q, theta)``: ``le`` (ridge > 0: ``sum q <= n``), or ridgeless ``eq``
    (``sum q = n``, if ``M >= n``) and ``ls`` (least squares on the ``K < n`` modes of largest power)."""
    cands = []
    kinds = ("le",) if ridge > 0 else (("eq",) if w.size > n else ())
    for kind in kinds:
        tau = _solve_tau(w, n, noise, equality=kind == "eq")
        _, q, th = _phi(w, tau, n, kind == "eq")
        cands.append((kind, tau, q, th))
    if ridge == 0:
        order = np.argsort(-w, kind="stable")
        Ks = np.arange(0, min(w.size, math.ceil(n) - 1) + 1)
        Ks = Ks[Ks < n]
        rest = w.sum() - np.concatenate([[0.0], np.cumsum(w[order])])[Ks]
        R_ls = (rest + noise * Ks / n) / (1 - Ks / n)
        q = np.zeros_like(w)
        q[order[:int(Ks[int(np.argmin(R_ls))])]] = 1.0
        cands.append(("ls", (float(R_ls.min()) + noise) / n, q, 0.0))
    out = []
    for kind, tau, q, th in cands:
        D = float(np.sum(q * q)) / n
        R = (float(np.sum(w * (1 - q) ** 2)) + noise * D) / (1 - D) if D < 1 else math.inf
        out.append((kind, R, tau, q, th))
    return out


def optimal_features(setting: TransferSetting, n: float, ridge: float, noise: float = 0.0) -> OptimalFeatures:
    r"""The feature scales ``b`` minimising the task-averaged risk (module docstring: the derivation).

    With a ridge ``> 0`` the optimum is **soft** and keeps every mode with target power: at the root,
    ``r_eff(tau) = sum w/(w + tau) = n - noise/tau <= n``, so the budget ``sum q <= n`` never binds and the risk
    does not depend on the ridge (absorbed into the scale of ``b``, which is returned for the given ridge).
    Ridgeless, the soft optimum must spend ``sum q = n`` exactly; least squares on the ``K < n`` modes of largest
    power (principal-component regression, **hard** selection) wins when the noise is large
    (:func:`selection_transition`).

    Args:
        setting: spectrum and prior. n: samples ``> 0``. ridge: sum-convention ridge ``>= 0``. noise: ``>= 0``.

    Returns:
        :class:`OptimalFeatures` (``regime``: ``soft``, ``hard`` when a positive threshold discards modes, or
        ``least-squares``).

    Raises:
        SolverError: no featurisation with finite risk (cannot happen for ``ridge > 0``).
    """
    n = float(check_positive(n, "n"))
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    lam, w = setting.eigenvalues, setting.target_power
    kind, R, tau, q, th = min(_branches(w, n, ridge, noise), key=lambda c: c[1])
    if not math.isfinite(R):
        raise SolverError("optimal featurisation: no feasible featurisation with finite risk", residual=math.inf,
                          status=Status.NONFINITE)
    reff = float(np.sum(w / (w + tau))) if tau > 0 else float(np.sum(w > 0))
    sq = float(q.sum())
    clipped = bool(np.any(q >= 1.0)) and kind != "ls"
    qq = np.minimum(q, 1.0 - 1e-15)
    if kind == "ls":
        b = (q > 0).astype(float)
        kappa, attained, regime = 0.0, True, "least-squares"
    else:
        regime = "hard" if th > 0 else "soft"
        if ridge > 0 and n - sq > 1e-12 * n:
            kappa = ridge / (n - sq)
            attained = not clipped
        else:
            kappa = 1.0
            attained = ridge == 0 and not clipped
        b = np.sqrt(kappa * qq / (1 - qq) / lam)
    return OptimalFeatures(b=b, learnabilities=q, test_error=float(R), tau=float(tau), theta=float(th),
                           kept=int((b > 0).sum()), effective_rank=reff, regime=regime, attained=attained,
                           kappa=float(kappa))


def ridgeless_branches(setting: TransferSetting, n: float, noise: float = 0.0) -> dict[str, float]:
    """The two candidate minima of the ridgeless risk: ``soft`` (``sum q = n``, every mode; ``inf`` when there are
    no more modes than samples) and ``least_squares`` (the best ``K < n`` modes, ``kappa = 0``)."""
    n = float(check_positive(n, "n"))
    noise = float(check_nonnegative(noise, "noise"))
    br = {c[0]: c[1] for c in _branches(setting.target_power, n, 0.0, noise)}
    return {"soft": br.get("eq", math.inf), "least_squares": br["ls"]}


@dataclass(frozen=True)
class SelectionTransition:
    """Where the ridgeless optimal featurisation switches from soft (all modes) to hard selection (least squares on
    ``kept`` modes): at label-noise variance ``noise``; ``effective_rank`` is ``r_eff = sum w/(w + tau)`` of the
    soft optimum there (``tau = (risk + noise)/n``), ``risk`` the common risk of both branches."""

    noise: float
    kept: int
    effective_rank: float
    risk: float


def selection_transition(setting: TransferSetting, n: float, *, noise_bounds: tuple[float, float] = (1e-8, 1e4)
                         ) -> SelectionTransition:
    """Locate the hard/soft transition of the ridgeless optimum in the label noise: the root of
    ``R_soft(noise) - R_least_squares(noise)`` (bisection in ``log noise``; soft below, hard above).

    Raises:
        ValueError: the optimum does not change regime within ``noise_bounds`` (named).
    """
    n = float(check_positive(n, "n"))
    w = setting.target_power
    if setting.modes <= n:
        raise ValueError(f"n must be < the number of modes ({setting.modes}) for a soft ridgeless optimum")

    def gap(s: np.ndarray) -> np.ndarray:
        out = []
        for x in np.atleast_1d(s):
            br = {c[0]: c[1] for c in _branches(w, n, 0.0, float(x))}
            out.append(br["eq"] - br["ls"])
        return np.array(out)

    lo, hi = (float(v) for v in noise_bounds)
    if not (gap(np.array([lo]))[0] < 0 < gap(np.array([hi]))[0]):
        raise ValueError(f"noise_bounds {noise_bounds!r} do not bracket the hard/soft transition")
    s = float(solve_monotone(gap, np.array([lo]), np.array([hi]), log=True, xtol=1e-12, maxiter=300,
                             expand=False, throw=True, what="hard/soft selection transition").value[0])
    br = {c[0]: c for c in _branches(w, n, 0.0, s)}
    _, R, tau, _, _ = br["eq"]
    return SelectionTransition(noise=s, kept=int((br["ls"][3] > 0).sum()),
                               effective_rank=float(np.sum(w / (w + tau))), risk=R)


@functools.cache
def _risk_grad_c():
    """The jitted ``d test_error / d c`` (built on first use, so importing this module does not import JAX)."""
    import jax
    import jax.numpy as jnp

    from rmt.theory.eigen_autodiff import Spectrum, krr_errors

    def risk(c, w, tail, n, ridge, noise):
        spec = Spectrum(c, w, jnp.ones_like(c), jnp.asarray(0.0), tail)
        return krr_errors(spec, n, ridge, noise)["test_error"]

    return jax.jit(jax.grad(risk))


def risk_gradient(setting: TransferSetting, b: Any, n: float, ridge: float, noise: float = 0.0) -> np.ndarray:
    r"""``d test_error / d b_i`` for every mode, by implicit differentiation through ``kappa``
    (:func:`rmt.theory.eigen_autodiff.krr_errors`; ``c_i = b_i^2 lambda_i`` so ``dR/db_i = 2 b_i lambda_i dR/dc_i``,
    which is 0 for a discarded mode)."""
    bb = features(b, setting)
    n = float(check_positive(n, "n"))
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    keep = bb > 0
    lam, w = setting.eigenvalues, setting.target_power
    c = bb[keep] ** 2 * lam[keep]
    with float64_jax():
        dc = np.asarray(_risk_grad_c()(c, w[keep], float(w[~keep].sum()), n, ridge, noise))
    g = np.zeros_like(bb)
    g[keep] = 2.0 * bb[keep] * lam[keep] * dc
    return g
