r"""Linear ridge regression in high dimensions (Hastie, Montanari, Rosset & Tibshirani, arXiv:1903.08560, "HMRT").

Model (:class:`rmt.LinearProblem`): ``x = Sigma^{1/2} z`` in dimension ``d``, ``y = x.beta + eps`` with
``|beta|^2 = signal`` (HMRT's ``r^2``) and ``eps ~ N(0, noise)``; estimator
``beta_hat = (X^T X/n + ridge I)^-1 X^T y/n`` (per-sample ridge; ``ridge = 0`` is the min-norm interpolator / least
squares). Ratio ``gamma = d/n``. Risk = excess test error ``E[(x.(beta_hat - beta))^2 | X]`` (no test noise).
``Sigma`` is given by eigenvalues ``s_k`` with weights ``w_k`` (the spectral measure ``H``); ``beta`` puts a fraction
``g_k`` of ``|beta|^2`` in atom ``k`` (``signal_weights``; HMRT's ``G_hat``).

Formulas (Hastie, Montanari, Rosset & Tibshirani, arXiv:1903.08560; docs/models.md §2), in the standard kappa form:

* ``kappa > 0`` solves ``ridge = kappa (1 - gamma E_H[s/(s + kappa)])``; at ``ridge = 0``, ``kappa_0`` solves
  ``1 = gamma E_H[s/(s + kappa)]`` when ``gamma > 1`` and is ``0`` when ``gamma <= 1``. Both equations have a unique
  root: ``kappa E_H[s/(s+kappa)]`` is concave increasing, so ``kappa - gamma kappa E_H[...] - ridge`` is convex and
  non-positive at ``kappa = ridge``; Newton converges monotonically from the right (``kappa = ridge + gamma E_H s``).
* ``df2/n = gamma E_H[s^2/(s + kappa)^2]``;
  ``bias = signal kappa^2 E_G[s/(s + kappa)^2] / (1 - df2/n)``; ``variance = noise (df2/n)/(1 - df2/n)``.
* ``train_error = (ridge/kappa)^2 (test_error + noise)`` (the generalized-cross-validation identity
  ``1 - df1/n = ridge/kappa``, derived here and checked against simulation in the tests); ``0`` when ``ridge = 0``,
  ``gamma >= 1``, and ``noise (1 - gamma)`` for least squares (``gamma < 1``).

Ridgeless: ``gamma < 1`` gives ``bias = 0``, ``variance = noise gamma/(1 - gamma)`` for any ``Sigma``; at ``gamma = 1``
the variance is ``inf`` (for ``noise > 0``) and the bias 0.

Independent forms used as checks: :func:`hmrt_isotropic` (MP closed forms, docs/models.md §2) and
:func:`hmrt_ridgeless_c0` (HMRT's ``c_0`` form for ``gamma > 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.numerics import frozen_value
from rmt.problem import LinearProblem
from rmt.records import Tabular, coordinate_columns, rows_of
from rmt.solvers import SolverError, Status, bracket_root_mp, monotone_newton
from rmt.stieltjes import mp_G, mp_K
from rmt.theory._rf_numerics import positive_quadratic_root

__all__ = ["LinearResult", "hmrt_isotropic", "hmrt_ridgeless_c0", "linear_optimal_ridge", "linear_theory",
           "linear_theory_mp"]


@dataclass(frozen=True, eq=False)
class LinearResult(Tabular):
    """Asymptotic risk of linear ridge regression (:func:`linear_theory`); fields have the problem's shape.

    Attributes:
        problem: the input :class:`rmt.LinearProblem`.
        kappa: effective ridge (``0`` for ridgeless ``gamma <= 1``).
        df1, df2: ``gamma E_H[s/(s+kappa)]`` and ``gamma E_H[s^2/(s+kappa)^2]`` (degrees of freedom per sample).
        bias, variance, test_error: ``bias + variance = test_error`` (excess, no test noise).
        train_error: training error with the noisy labels.
        residual: backward error of the kappa equation.
        status: :class:`rmt.solvers.Status` codes.
    """

    problem: LinearProblem
    kappa: Any
    df1: Any
    df2: Any
    bias: Any
    variance: Any
    test_error: Any
    train_error: Any
    residual: Any
    status: Any

    def nested_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per parameter point (C order), its coordinates first (``model = "linear"``, ``n``,
        ``d``, ``gamma = d/n``, ``ridge``, ``noise``, ``signal``); flat already, so :meth:`records` is the same."""
        p = self.problem
        shape = p.shape

        def col(v: Any) -> list[float]:
            return np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().tolist()

        cols: dict[str, list[Any]] = coordinate_columns(p, "linear", shape)
        cols.update({k: col(getattr(self, k)) for k in ("test_error", "train_error", "bias", "variance", "kappa",
                                                          "df1", "df2", "residual")})
        status = np.broadcast_to(np.asarray(self.status), shape).ravel()
        cols["status"] = [Status(int(s)).name.lower() for s in status]
        return rows_of(cols)


def _spectrum(problem: LinearProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if problem.spectrum is not None and problem.spectrum.is_shifted:
        raise ValueError("rmt.theory.linear handles Sigma_test = Sigma_train; covariate shift is theory.covariate_shift")
    return problem.eigenvalues, problem.eigen_weights, problem.signal_weights


def linear_theory(problem: LinearProblem, *, throw: bool = True) -> LinearResult:
    r"""Bias, variance, test and training error of ridge regression (HMRT; docs/models.md §2, kappa form), vectorized
    over array-valued ``n, d, ridge, noise, signal`` (the spectrum is shared).

    Args:
        problem: :class:`rmt.LinearProblem` (isotropic when ``spectrum`` is ``None``).
        throw: raise :class:`rmt.SolverError` if the kappa equation is not solved to 1e-10.

    Example:
        >>> r = linear_theory(LinearProblem.from_ratio(2.0, ridge=0.1, noise=1.0, signal=1.0))
        >>> round(r.test_error, 4)
        1.2277
    """
    if not isinstance(problem, LinearProblem):
        raise ValueError(f"problem must be an rmt.LinearProblem, got {type(problem).__name__}")
    s, w, gw = _spectrum(problem)
    shape = problem.shape
    bc = lambda v: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel()  # noqa: E731
    gam, lam, noise, signal = bc(problem.gamma), bc(problem.ridge), bc(problem.noise), bc(problem.signal)
    n = gam.size
    mean_s = float(w @ s)
    kappa = np.zeros(n)
    residual = np.zeros(n)
    conv = np.ones(n, dtype=bool)
    pos = lam > 0
    if np.any(pos):
        g, l = gam[pos], lam[pos]

        # k - g k E[s/(s+k)] - l written as k ((1 - g) + g k E[1/(s+k)]) - l: no cancellation at gamma = 1 and no
        # overflow (k E[1/(s+k)] <= 1); derivative (1 - g) + g E[k (2s + k)/(s+k)^2] (all terms positive but 1 - g)
        def parts(k, gi):
            kr = k[:, None] / (s + k[:, None])  # k/(s+k) in [0, 1]
            return k * ((1.0 - gi) + gi * (kr @ w)), (1.0 - gi) + gi * ((kr * (2.0 - kr)) @ w)

        def f(k, idx):
            val, der = parts(k, g[idx])
            return val - l[idx], der

        start = l + g * mean_s
        # tiny ridges: start at the positive root of the quadratic minorant (1 - g) k + g E[1/(s+K)] k^2 - l (E[1/(s+k)]
        # decreases, so the root lies left of it), iterated from K = start; from l + g E[s] Newton would halve its
        # distance to the root per step at gamma = 1 (1e-300 needs ~500 steps)
        tiny = l < 1e-6 * g * mean_s
        if np.any(tiny):
            K = start[tiny]
            for _ in range(5):
                inv = (1.0 / (s + K[:, None])) @ w
                K = np.minimum(K, positive_quadratic_root(g[tiny] * inv, g[tiny] - 1.0, l[tiny]))
            start[tiny] = np.maximum(K, l[tiny])
        sol = monotone_newton(f, start, throw=False)
        k = sol.value
        kappa[pos], conv[pos] = k, sol.status == Status.SUCCESS
        val, _ = parts(k, g)
        kr = (k[:, None] / (s + k[:, None])) @ w
        residual[pos] = np.abs(val - l) / (k * np.abs(1.0 - g) + g * k * kr + l)
    over = ~pos & (gam > 1)
    if np.any(over):
        g = gam[over]

        def h(k, idx):
            # -(gamma E[s/(s+k)] - 1): concave increasing in k, so Newton from the left is monotone; flip to reuse
            # monotone_newton, which approaches from the side where the function is positive: use u = -k.
            kk = -k
            frac = s / (s + kk[:, None])
            return g[idx] * (frac @ w) - 1.0, g[idx] * ((frac * frac / s) @ w)

        sol = monotone_newton(h, np.zeros(int(over.sum())), throw=False)
        u = sol.value
        kappa[over], conv[over] = -u, sol.status == Status.SUCCESS
        residual[over] = np.abs(g * ((s / (s - u[:, None])) @ w) - 1.0)
    frac = s / (s + kappa[:, None])
    df1 = gam * (frac @ w)
    df2 = gam * ((frac * frac) @ w)
    with np.errstate(divide="ignore", invalid="ignore"):
        kr = kappa[:, None] / (s + kappa[:, None])
        # 1 - df2, written (1 - gamma) + gamma E[k (2s + k)/(s + k)^2] where df2 is near 1 (kappa -> 0 at gamma
        # near 1), which cancels itself for gamma >> 1: take the form whose terms do not cancel
        denom = np.where(df2 <= 0.5, 1.0 - df2, (1.0 - gam) + gam * ((kr * (2.0 - kr)) @ w))
        thr = ~pos & (gam == 1.0)
        bias_core = (s * (kappa[:, None] / (s + kappa[:, None])) ** 2) @ gw  # kappa^2 s/(s+kappa)^2, no overflow
        bias = np.where(thr | (kappa == 0), 0.0, signal * bias_core / denom)
        variance = np.where(noise == 0, 0.0, np.where(thr, np.inf, noise * df2 / denom))
        test = bias + variance
        ratio = np.where(pos, lam / np.where(kappa > 0, kappa, 1.0), np.where(gam < 1, 1.0 - gam, 0.0))
        train = np.where(ratio == 0, 0.0, ratio * ratio * (test + noise))
    status = np.where(conv & (residual <= 1e-10), Status.SUCCESS, Status.MAX_ITERATIONS).astype(np.int8)
    ro = lambda v: frozen_value(np.reshape(v, shape), None)  # noqa: E731
    out = LinearResult(problem=problem, kappa=ro(kappa), df1=ro(df1), df2=ro(df2), bias=ro(bias),
                       variance=ro(variance), test_error=ro(test), train_error=ro(train), residual=ro(residual),
                       status=ro(status))
    if throw and np.any(status != 0):
        raise SolverError(f"linear_theory: kappa equation not solved at {int(np.sum(status != 0))} points "
                          f"(worst residual {float(np.max(residual)):.3g})", residual=float(np.max(residual)),
                          status=Status.MAX_ITERATIONS)
    return out


def hmrt_isotropic(gamma: Any, ridge: Any, *, signal: Any = 1.0, noise: Any = 1.0) -> tuple[Any, Any]:
    r"""``(bias, variance)`` for isotropic ``Sigma = I`` from HMRT's Marchenko-Pastur closed forms (docs/models.md §2).

    ``ridge > 0``: ``bias = r^2 lambda^2 m'(-lambda)``,
    ``variance = sigma^2 gamma (m(-lambda) - lambda m'(-lambda))`` with
    ``m`` the Stieltjes transform of ``MP_gamma`` (``m(-lambda) = G_gamma(lambda)``, ``m' = K_gamma``). ``ridge = 0``:
    ``(0, sigma^2 gamma/(1-gamma))`` for ``gamma < 1`` and ``(r^2 (1 - 1/gamma), sigma^2/(gamma - 1))`` for
    ``gamma > 1``.
    """
    gamma = check_positive(gamma, "gamma")
    ridge = check_nonnegative(ridge, "ridge")
    r2 = check_nonnegative(signal, "signal")
    s2 = check_nonnegative(noise, "noise")
    gamma, ridge, r2, s2 = np.broadcast_arrays(gamma, ridge, r2, s2)
    lam = np.where(ridge > 0, ridge, 1.0)
    G, K = mp_G(lam, gamma), mp_K(lam, gamma)
    with np.errstate(divide="ignore", invalid="ignore"):
        b0 = np.where(gamma < 1, 0.0, r2 * (1.0 - 1.0 / gamma))
        v0 = np.where(gamma < 1, s2 * gamma / (1.0 - gamma), s2 / (gamma - 1.0))
        v0 = np.where(s2 == 0, 0.0, v0)
    bias = np.where(ridge > 0, r2 * lam * lam * K, b0)
    var = np.where(ridge > 0, s2 * gamma * (G - lam * K), v0)
    return frozen_value(bias, None), frozen_value(var, None)


def hmrt_ridgeless_c0(gamma: float, eigenvalues: Any, weights: Any, signal_weights: Any, *, signal: float = 1.0,
                      noise: float = 1.0) -> tuple[float, float]:
    r"""HMRT's anisotropic ridgeless ``(bias, variance)`` for ``gamma > 1`` in their ``c_0`` form (docs/models.md §2):
    ``c_0 > 0`` solves ``1 - 1/gamma = E_H[1/(1 + c_0 gamma s)]``,
    ``bias = r^2 {1 + gamma c_0 E_H[s^2 (1+c_0 gamma s)^-2] / E_H[s (1+c_0 gamma s)^-2]} E_G[s (1 + c_0 gamma s)^-2]``,
    ``variance = sigma^2 gamma c_0 E_H[s^2 (1+c_0 gamma s)^-2] / E_H[s (1+c_0 gamma s)^-2]`` (bisection in
    ``log c_0``; a scalar, independent check of :func:`linear_theory`)."""
    g = float(check_positive(gamma, "gamma"))
    if not g > 1:
        raise ValueError(f"gamma must be > 1 for the c0 form, got {g}")
    s = check_positive(np.atleast_1d(eigenvalues), "eigenvalues")
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    gw = np.asarray(signal_weights, dtype=float) / np.sum(signal_weights)
    lo, hi = 1e-300, 1e300
    f = lambda c: float(w @ (1.0 / (1.0 + c * g * s))) - (1.0 - 1.0 / g)  # noqa: E731  decreasing in c
    for _ in range(2000):
        mid = np.sqrt(lo * hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1 < 1e-15:
            break
    c0 = np.sqrt(lo * hi)
    den = (1.0 + c0 * g * s) ** 2
    ratio = float(w @ (s * s / den)) / float(w @ (s / den))
    return signal * (1.0 + g * c0 * ratio) * float(gw @ (s / den)), noise * g * c0 * ratio


def linear_optimal_ridge(gamma: Any, *, signal: Any = 1.0, noise: Any = 1.0) -> tuple[Any, Any]:
    r"""HMRT's optimal ridge for isotropic ``Sigma`` and isotropic ``beta`` (docs/models.md §2):
    ``lambda* = sigma^2 gamma/r^2`` with risk ``sigma^2 gamma m(-lambda*)``. Returns ``(lambda*, risk)``."""
    gamma = check_positive(gamma, "gamma")
    r2 = check_positive(signal, "signal")
    s2 = check_positive(noise, "noise")
    lam = s2 * gamma / r2
    return frozen_value(lam, None), frozen_value(s2 * gamma * mp_G(lam, gamma), None)


def linear_theory_mp(problem: LinearProblem, *, precision: int = 50) -> LinearResult:
    r""":func:`linear_theory` for one problem with mpmath at ``precision`` digits (``kappa`` by a bracketed root on its
    bracket: ``[ridge, ridge + gamma E_H s]`` for ``ridge > 0``, ``(0, gamma E_H s]`` for the ridgeless
    ``gamma > 1``; :func:`rmt.solvers.bracket_root_mp`). Fields are ``mpmath.mpf``; ``status`` is 0 (a failed solve
    raises :class:`SolverError`)."""
    if not isinstance(problem, LinearProblem):
        raise ValueError(f"problem must be an rmt.LinearProblem, got {type(problem).__name__}")
    if not problem.is_scalar:
        raise ValueError(f"linear_theory_mp evaluates one problem; this one has shape {problem.shape}")
    prec = check_positive_int(precision, "precision", minimum=15)
    s_np, w_np, g_np = _spectrum(problem)
    with mpmath.workdps(prec + 15):
        mpf = mpmath.mpf
        s = [mpf(v) for v in s_np]
        w = [mpf(v) for v in w_np]
        gw = [mpf(v) for v in g_np]
        gam = mpf(problem.d) / mpf(problem.n)
        lam, noise, signal = mpf(problem.ridge), mpf(problem.noise), mpf(problem.signal)
        E = lambda f: mpmath.fsum(wi * f(si) for wi, si in zip(w, s))  # noqa: E731
        if lam > 0:
            f = lambda k: k - gam * k * E(lambda x: x / (x + k)) - lam  # noqa: E731
            lo, hi = lam, lam + gam * E(lambda x: x)
        elif gam > 1:
            f = lambda k: 1 - gam * E(lambda x: x / (x + k))  # noqa: E731
            lo, hi = mpf(0), gam * E(lambda x: x)
        else:
            f = None
        if f is None:
            kappa = mpf(0)
        else:
            kappa = bracket_root_mp(f, lo, hi, tol=mpf(10) ** (-(prec + 8)), maxiter=20 * (prec + 20),
                                    what="linear_theory_mp").value
        df1 = gam * E(lambda x: x / (x + kappa))
        df2 = gam * E(lambda x: x * x / (x + kappa) ** 2)
        thr = lam == 0 and gam == 1
        bias = mpf(0) if (thr or kappa == 0) else signal * kappa ** 2 * mpmath.fsum(
            gi * si / (si + kappa) ** 2 for gi, si in zip(gw, s)) / (1 - df2)
        variance = mpf(0) if noise == 0 else (mpmath.inf if thr else noise * df2 / (1 - df2))
        test = bias + variance
        ratio = lam / kappa if lam > 0 else (1 - gam if gam < 1 else mpf(0))
        train = mpf(0) if ratio == 0 else ratio ** 2 * (test + noise)
        residual = abs(f(kappa)) if f is not None else mpf(0)
    return LinearResult(problem=problem, kappa=kappa, df1=df1, df2=df2, bias=bias, variance=variance,
                        test_error=test, train_error=train, residual=residual, status=0)
