r"""Gradient flow and full-batch gradient descent on least squares (private to :mod:`theory.dynamics`).

Conventions: features ``x ~ N(0, Lambda)``, ``Lambda = diag(lambda_i)``, target ``y = w*.x + eps``,
``Var eps = noise``, target power ``v_i^2 = lambda_i w*_i^2``, start ``w = 0``; flow
``dw/dt = -(Sigma_hat w - X^T y/n) - ridge w`` (``ridge`` is the per-sample ridge of ``(Sigma_hat + ridge)^-1``,
i.e. the eigenframework's sum-convention ridge ``n ridge``). ``test_error = E (w - w*)^T Lambda (w - w*)`` (excess,
no label noise); ``train_error = (1/n)|X w - y|^2`` with the noisy labels.

* Population flow (``n = inf``), per mode ``e_i(t) = -w*_i [ridge + lambda_i e^{-(lambda_i + ridge) t}] /
  (lambda_i + ridge)``: ``test_error(t) = sum_i v_i^2 [ridge + lambda_i e^{-(lambda_i+ridge)t}]^2/(lambda_i+ridge)^2``
  (Bordelon, Atanasov & Pehlevan arXiv:2402.01092, the ``N, P -> inf`` limit of their mode dynamics).
* Finite ``n``: the flow is the spectral filter ``r(s) = [ridge + s e^{-t(s + ridge)}]/(s + ridge)`` (gradient
  descent with step ``lr``: ``e^{-t(s+ridge)} -> (1 - lr (s + ridge))^k``), and its risk is the contour integral of
  the two-point deterministic equivalent of ridge regression (see :mod:`theory._dynamics_contour`; the
  "two-point deterministic equivalence" of arXiv:2502.05074 and the gradient-flow risk of Paquette, Paquette,
  Adlam & Pennington arXiv:2205.07069).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

from rmt.records import Tabular
from rmt.dynamics_problem import steps_array, times_array
from rmt._validation import check_nonnegative, check_positive
from rmt.theory._dynamics_contour import Contour, build_contour, spectral_edge
from rmt.theory.eigen import Eigensystem, krr

__all__ = ["Curve", "EarlyStopping", "early_stopping", "gd_contour", "gradient_descent", "gradient_flow",
           "population_gradient_flow", "steps_array", "times_array"]

MAX_NODES_EPS = 6.4e-5  # m/R below this would need more than 4000 nodes


@dataclass(frozen=True, eq=False)
class Curve(Tabular):
    """A risk trajectory.

    Attributes:
        algorithm: ``"gf"``, ``"gd"``, ``"online-sgd"`` or ``"sgd"``.
        axis: ``"time"`` (gradient flow) or ``"step"`` (gradient descent, SGD).
        x: the times or steps.
        test_error: excess population risk ``E (w - w*)^T Lambda (w - w*)`` at each ``x``.
        train_error: ``(1/n)|X w - y|^2`` with noisy labels (``None`` without a finite training set).
        params: the parameters (plain values).
    """

    algorithm: str
    axis: str
    x: np.ndarray
    test_error: np.ndarray
    train_error: np.ndarray | None
    params: dict[str, Any]

    def nested_records(self) -> list[dict[str, Any]]:
        """One dict per time/step: ``model``, ``algorithm``, ``time`` or ``step``, ``test_error`` and
        ``train_error`` where it exists (:meth:`records` and :meth:`to_frame` come from :class:`rmt.records.Tabular`)."""
        out = []
        for i, x in enumerate(self.x):
            rec: dict[str, Any] = {"model": "dynamics", "algorithm": self.algorithm, self.axis: int(x) if self.axis == "step" else float(x),
                                   "test_error": float(self.test_error[i])}
            if self.train_error is not None:
                rec["train_error"] = float(self.train_error[i])
            out.append(rec)
        return out


def population_gradient_flow(system: Eigensystem, times: Any, ridge: float = 0.0) -> Curve:
    r"""Excess risk of population gradient flow ``dw/dt = -Lambda (w - w*) - ridge w`` from ``w = 0``.

    ``test_error(t) = sum_i m_i v_i^2 [ridge + lambda_i e^{-(lambda_i + ridge) t}]^2 / (lambda_i + ridge)^2
    + target_tail`` (elementary; the infinite-width, infinite-data limit of Bordelon, Atanasov & Pehlevan
    arXiv:2402.01092). With ``ridge = 0`` it is ``sum_i v_i^2 e^{-2 lambda_i t}``, ``~ t^{-(beta-1)/alpha}`` for
    ``lambda_i = i^-alpha``, ``v_i^2 = i^-beta``. The label noise does not enter (excess risk, infinite data).
    """
    t = times_array(times)
    d = float(check_nonnegative(ridge, "ridge"))
    lam, v2, m = system.eigenvalues, system.target_power, system.multiplicities
    out = np.empty(t.size)
    for i, ti in enumerate(t):
        f = (d + lam * np.exp(-(lam + d) * ti)) / (lam + d)
        out[i] = np.sum(m * v2 * f * f) + system.target_tail
    return Curve("gf", "time", t, out, None, {"n": math.inf, "ridge": d})


def _margin(system: Eigensystem, n: float, horizon: float, ridge: float) -> float:
    s_R = spectral_edge(system, n)
    m = min(4.0 / horizon if horizon > 0 else 0.05 * s_R, 0.05 * s_R)
    if ridge > 0:
        m = min(m, 0.5 * ridge)
    R = 0.5 * (s_R + m)
    if m / R < MAX_NODES_EPS:
        raise ValueError(f"times: the largest time (lr x steps for SGD) {horizon:g} is too long for the contour "
                         f"quadrature at this spectrum (margin/radius {m / R:.2g} < {MAX_NODES_EPS:g}); use the "
                         "t -> infinity limit (theory.eigen.krr) beyond it")
    return m


def _finite_n_check(n: Any, noise: Any, ridge: Any) -> tuple[float, float, float]:
    return (float(check_positive(n, "n")), float(check_nonnegative(noise, "noise")),
            float(check_nonnegative(ridge, "ridge")))


def gf_contour(system: Eigensystem, n: float, noise: float, horizon: float, ridge: float) -> Contour:
    """The contour for filters up to ``horizon`` (time) with a pole at ``-ridge`` outside."""
    return build_contour(system, n, noise, _margin(system, n, horizon, ridge))


def _filter(z: np.ndarray, decay: np.ndarray, ridge: float) -> np.ndarray:
    """``r(z) = [ridge + z decay(z)] / (z + ridge)`` (``decay`` already evaluated, shape ``(T, N)``)."""
    if ridge == 0:
        return decay
    return (ridge + z * decay) / (z + ridge)


def gradient_flow(system: Eigensystem, n: float, times: Any, ridge: float = 0.0, noise: float = 0.0) -> Curve:
    r"""Test and train error of gradient flow on ``n`` samples at the given times (deterministic equivalent).

    The flow ``dw/dt = -(Sigma_hat w - X^T y/n) - ridge w`` from ``w = 0`` is the spectral filter
    ``w_t = g_t(Sigma_hat) X^T y / n`` with residual ``r_t(s) = [ridge + s e^{-t(s+ridge)}]/(s + ridge)``; its
    excess risk and training error are contour integrals of the two-point ridge equivalent
    (:mod:`theory._dynamics_contour`; arXiv:2502.05074, arXiv:2205.07069). All times share one contour (one
    solve of ``kappa`` per node), so the cost is ``O(N M + T N^2)`` for ``N`` nodes, ``M`` modes, ``T`` times.
    As ``t -> inf`` it tends to :func:`theory.eigen.krr` at the sum-convention ridge ``n * ridge``.

    Args:
        system: eigensystem (``lambda_i``, ``v_i^2 = lambda_i w*_i^2``).
        n: samples. times: ``t >= 0``. ridge: per-sample ridge ``>= 0`` in the loss. noise: label-noise variance.
    """
    n, noise, ridge = _finite_n_check(n, noise, ridge)
    t = times_array(times)
    C = gf_contour(system, n, noise, float(t.max()), ridge)
    decay = np.exp(-t[:, None] * (C.z[None, :] + ridge))
    test, train = C.test_train(_filter(C.z[None, :], decay, ridge))
    return Curve("gf", "time", t, test, train, {"n": n, "ridge": ridge, "noise": noise, "nodes": int(C.z.size)})


def gd_contour(system: Eigensystem, n: float, noise: float, lr: float, steps: int, ridge: float,
               factor: float = 1.0) -> Contour:
    return gf_contour(system, n, noise, factor * lr * max(int(steps), 1), ridge)


def gradient_descent(system: Eigensystem, n: float, lr: float, steps: Any, ridge: float = 0.0,
                     noise: float = 0.0) -> Curve:
    r"""Full-batch gradient descent ``w <- w - lr [(Sigma_hat w - X^T y/n) + ridge w]`` from ``w = 0``: the filter
    ``r_k(s) = [ridge + s (1 - lr (s + ridge))^k]/(s + ridge)`` in the contour formula of :func:`gradient_flow`
    (exact in ``lr``, no small-step approximation). Requires ``lr < 2 / (s_max + ridge)`` on the deterministic
    spectrum's edge for convergence; the formula itself holds for any ``lr``.
    """
    n, noise, ridge = _finite_n_check(n, noise, ridge)
    lr = float(check_positive(lr, "lr"))
    k = steps_array(steps)
    C = gd_contour(system, n, noise, lr, int(k.max()), ridge)
    base = 1.0 - lr * (C.z + ridge)
    decay = base[None, :] ** k[:, None].astype(float)
    test, train = C.test_train(_filter(C.z[None, :], decay, ridge))
    return Curve("gd", "step", k, test, train, {"n": n, "lr": lr, "ridge": ridge, "noise": noise})


@dataclass(frozen=True)
class EarlyStopping:
    """Early-stopped gradient flow against optimally tuned ridge regression (same ``n``, noise).

    Attributes:
        time: the minimiser ``t*`` of the excess risk of ridgeless gradient flow.
        test_error: its risk ``E(t*)``.
        ridge: the per-sample ridge ``lambda*`` minimising the ridge-regression risk (:func:`theory.eigen.krr`).
        ridge_error: that minimal ridge risk.
        time_times_ridge: ``t* lambda*`` (of order one: early stopping acts like a ridge ``~ 1/t``).
        final_error: the ``t -> inf`` (ridgeless) risk.
    """

    time: float
    test_error: float
    ridge: float
    ridge_error: float
    time_times_ridge: float
    final_error: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def early_stopping(system: Eigensystem, n: float, noise: float = 0.0, *, t_max: float | None = None
                   ) -> EarlyStopping:
    r"""The early-stopping optimum of ridgeless gradient flow and its relation to the optimal ridge.

    ``t*`` minimises :func:`gradient_flow`'s excess risk on ``[1e-3/lambda_max, t_max]`` (default
    ``t_max = 50 / kappa_0``, ``kappa_0`` the ridgeless effective ridge, the slowest rate that matters); a grid
    of 60 log-spaced times, refined by a bounded scalar minimisation in ``log t``. The optimal ridge minimises
    :func:`theory.eigen.krr` over the per-sample ridge (bounded search in ``log lambda``). For an isotropic spectrum
    with an isotropic target, optimally tuned ridge is the Bayes-optimal linear estimator, so
    ``ridge_error <= test_error`` there (Paquette et al. arXiv:2205.07069 compare the two in general).
    """
    n, noise, _ = _finite_n_check(n, noise, 0.0)
    lam_max = float(np.max(system.eigenvalues))
    k0 = float(krr(system, n, 0.0, noise).kappa)
    t_lo = 1e-3 / lam_max
    if t_max is None:
        t_max = 50.0 / max(k0, 1e-12)
        s_R = spectral_edge(system, n)
        t_max = min(t_max, 4.0 / (0.5 * s_R * 2 * MAX_NODES_EPS))
    C = gf_contour(system, n, noise, t_max, 0.0)

    def risk(t: np.ndarray) -> np.ndarray:
        return C.test_train(np.exp(-np.atleast_1d(t)[:, None] * C.z[None, :]))[0]

    grid = np.geomspace(t_lo, t_max, 60)
    vals = risk(grid)
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = scipy.optimize.minimize_scalar(lambda u: float(risk(np.exp(u))[0]), bounds=(math.log(lo), math.log(hi)),
                                         method="bounded", options={"xatol": 1e-8})
    t_star, e_star = float(np.exp(res.x)), float(res.fun)
    if vals[i] < e_star:
        t_star, e_star = float(grid[i]), float(vals[i])

    def ridge_risk(u: float) -> float:
        return float(krr(system, n, n * math.exp(u), noise).test_error)

    lg = np.linspace(math.log(1e-8 * lam_max), math.log(10 * lam_max), 37)
    rv = np.array([ridge_risk(u) for u in lg])
    j = int(np.argmin(rv))
    rr = scipy.optimize.minimize_scalar(ridge_risk, bounds=(lg[max(j - 1, 0)], lg[min(j + 1, lg.size - 1)]),
                                        method="bounded", options={"xatol": 1e-8})
    lam_star, r_star = float(math.exp(rr.x)), float(rr.fun)
    final = float(krr(system, n, 0.0, noise).test_error)
    return EarlyStopping(time=t_star, test_error=e_star, ridge=lam_star, ridge_error=r_star,
                         time_times_ridge=t_star * lam_star, final_error=final)
