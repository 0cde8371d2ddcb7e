r"""The dynamical scaling-law model with finite width ``N`` AND finite data ``P`` (private to :mod:`theory.dynamics`).

Model (Bordelon, Atanasov & Pehlevan arXiv:2402.01092): features ``x ~ N(0, Lambda)`` in ``M`` dimensions, ``N``
random projections ``phi = A x / sqrt(N)`` (``A`` an ``N x M`` standard Gaussian matrix), ``P`` samples
``y = w*.x + eps`` (``Var eps = noise``), gradient flow on the empirical loss from ``theta = 0``:

    d theta/dt = -(F^T F/P theta - F^T y/P),   F = X A^T / sqrt(N)  (P x N),

with effective weights ``w = A^T theta / sqrt(N)``; ``test_error = (w - w*)^T Lambda (w - w*)`` (excess),
``train_error = |F theta - y|^2 / P``.

Derivation (ours; checked against simulated gradient descent in tests/theory/test_dynamics_scaling_data.py).

1. *Conditionally on ``A``* the model is linear regression in ``N`` dimensions with Gaussian features of covariance
   ``Sigma_A = A Lambda A^T / N``, teacher ``theta* = Sigma_A^{-1} A Lambda w*/sqrt N`` and label noise
   ``noise + e_A``: the part ``w*.x - theta*.phi`` of the target is Gaussian and uncorrelated with, hence independent
   of, ``phi``. Its variance ``e_A = |(1 - Pi_A) Lambda^{1/2} w*|^2`` is the unlimited-data limit, and
   ``test_error = (theta - theta*)^T Sigma_A (theta - theta*) + e_A`` (the cross term vanishes).
2. Gradient flow is the spectral filter ``r_t(s) = e^{-ts}`` of ``F^T F/P``, so (as for :func:`gradient_flow`) the
   risk is the double contour integral of the two-point ridge quantity ``Q_ab = E_ab + noise + e_A`` at complex
   per-sample ridges ``a = -z_1``, ``b = -z_2``. Given ``A``, the two-point deterministic equivalent of ridge
   regression (arXiv:2502.05074; Paquette et al. arXiv:2205.07069 for the flow) reads
   ``Q_ab = [kappa_a kappa_b theta*^T Sigma_A R_a R_b theta* + noise + e_A] / (1 - G_ab)`` with
   ``R = (Sigma_A + kappa)^-1``, ``a = kappa_a (1 - df_A(kappa_a)/P)``, ``G_ab = Tr(Sigma_A^2 R_a R_b)/P``.
3. Both two-point traces are divided differences of ONE-point functions of ``Sigma_A`` (resolvent identity
   ``R_a R_b = (R_b - R_a)/(kappa_a - kappa_b)``):
   ``Tr Sigma_A^2 R_a R_b = (kappa_a d_a - kappa_b d_b)/(kappa_a - kappa_b)`` with ``d = Tr Sigma_A R``, and, since
   ``kappa theta*^T Sigma_A R theta* = kappa u_0^T (Sigma_N + kappa)^-1 u_0 - e_A`` exactly (``u_0 = Lambda^{1/2} w*``,
   ``Sigma_N = Lambda^{1/2} A^T A Lambda^{1/2}/N``), the bias plus ``e_A`` is
   ``(kappa_a b_b - kappa_b b_a)/(kappa_a - kappa_b)`` with ``b(kappa) = kappa u_0^T (Sigma_N + kappa)^-1 u_0``
   (``e_A`` cancels). One-point functions of the sample covariance ``Sigma_N`` of ``N`` draws concentrate:
   ``d = df1(gamma)``, ``b = sum_i v_i^2 gamma/(lambda_i + gamma)`` with ``kappa = gamma (1 - df1(gamma)/N)``.

Hence, with ``gamma(a)`` solving ``a = gamma (1 - df1(gamma)/N)(1 - df1(gamma)/P)`` (the one-point structure of the
random-feature eigenframework, Atanasov/Bordelon/Pehlevan; Simon, Karkada, Ghosh & Belkin arXiv:2311.14646),

    Q_ab = [ (kappa_a b_b - kappa_b b_a)/(kappa_a - kappa_b) + noise ] / (1 - (kappa_a d_a - kappa_b d_b)/(P (kappa_a - kappa_b))),
    test_error(t)  = (1/2 pi i)^2 oint oint (r_t(z_1)/z_1)(r_t(z_2)/z_2) Q dz_1 dz_2 - noise,
    train_error(t) = (1/2 pi i)^2 oint oint (r_t(z_1)/kappa_1)(r_t(z_2)/kappa_2) Q dz_1 dz_2,

the diagonal ``a = b`` by the derivative. Limits: ``N -> inf`` (``kappa = gamma``) gives the two-point equivalent
of ridge regression, i.e. :func:`gradient_flow`; ``P -> inf`` (``G = 0``) gives the projected model
:func:`projected_gradient_flow`; ``t -> inf`` gives the ridgeless random-feature eigenframework
(:func:`theory.eigen.rf` with ``n = P`` samples, ``p = N`` features).

Numerics: the contour of :func:`theory._dynamics_contour.contour_nodes` through ``-m`` (``m = min(4/t_max,
s_R/20)``) and ``s_R = 2 (sqrt(e_N) + sqrt(trace/P))^2 + trace/P``, ``e_N = (sqrt(lambda_max) + sqrt(trace/N))^2``
(beyond the spectrum of ``F^T F/P``); ``gamma(-z)`` followed by damped Newton steps from the real root at ``z = -m``
(:func:`theory.eigen.solve_gamma`) and mirrored to the lower half.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.optimize

from rmt._validation import check_nonnegative, check_positive
from rmt.solvers import SolverError
from rmt.theory._dynamics_contour import contour_nodes
from rmt.theory._dynamics_gf import Curve, times_array
from rmt.theory.eigen import Eigensystem, rf, solve_gamma, solve_kappa

__all__ = ["lower_edge", "scaling_model_loss"]

_MAX_NODES_EPS = 6.4e-5  # margin/radius below this would need more than 4000 nodes


def _sums(system: Eigensystem, g: complex) -> tuple[complex, complex, complex, complex]:
    """``df1``, ``df2``, ``b = sum v^2 g/(lambda + g) + tail`` and ``db/dg`` at ``g``."""
    ev, mult, v2 = system.eigenvalues, system.multiplicities, system.target_power
    den = ev + g
    L = ev / den
    d = np.sum(mult * L) + system.flat_mass / g
    q = np.sum(mult * L * L)
    b = np.sum(mult * v2 * g / den) + system.target_tail
    db = np.sum(mult * v2 * L / den)
    return d, q, b, db


def _newton(system: Eigensystem, N: float, P: float, a: complex, g0: complex) -> tuple[complex, float]:
    """Damped Newton for ``gamma (1 - d/N)(1 - d/P) = a`` from ``g0``; returns the root and the relative residual."""
    g = g0
    scale = abs(a) + abs(g0)
    F = math.inf
    for _ in range(200):
        d, q, _, _ = _sums(system, g)
        sN, sP = 1.0 - d / N, 1.0 - d / P
        F = g * sN * sP - a
        dF = sN * sP + (d - q) * (sP / N + sN / P)  # g d'(g) = -(d - q)
        step = F / dF
        lim = 0.5 * abs(g)
        if abs(step) > lim:
            step *= lim / abs(step)
        g = g - step
        if abs(F) <= 1e-13 * scale and abs(step) <= 1e-13 * abs(g):
            break
    d = _sums(system, g)[0]
    return g, abs(g * (1.0 - d / N) * (1.0 - d / P) - a) / scale


def lower_edge(system: Eigensystem, width: float, samples: float) -> float:
    r"""The lower edge ``s_-`` of the deterministic nonzero spectrum of ``F^T F/P`` (0 at ``N = P``; 0 also where the
    rank is at most ``min(N, P)``, meaning "not computed").

    On the physical branch the per-sample ridge ``a(gamma) = gamma (1 - df1/N)(1 - df1/P)`` is negative for ``gamma``
    between the roots of ``df1 = max(N, P)`` and ``df1 = min(N, P)`` (one factor negative); ``-s_-`` is its minimum
    there (the spectral edge is the critical point of the inverse map), found by a bounded search in ``log gamma``.
    """
    N, P = float(width), float(samples)
    lo_n, hi_n = min(N, P), max(N, P)
    if lo_n == hi_n:
        return 0.0
    ev, mult = system.eigenvalues, system.multiplicities
    if not math.isfinite(system.rank) or system.rank > lo_n:
        g_hi = float(solve_kappa(system, lo_n, 0.0).value)
    else:
        return 0.0
    g_lo = float(solve_kappa(system, hi_n, 0.0).value) if system.rank > hi_n else 0.0
    if g_hi <= 0:
        return 0.0

    def a(u: float) -> float:
        g = math.exp(u)
        d = float(np.sum(mult * ev / (ev + g))) + system.flat_mass / g
        return g * (1.0 - d / N) * (1.0 - d / P)

    left = math.log(g_lo) if g_lo > 0 else math.log(g_hi) - 60.0
    res = scipy.optimize.minimize_scalar(a, bounds=(left, math.log(g_hi)), method="bounded",
                                         options={"xatol": 1e-10})
    return max(-float(res.fun), 0.0)


def scaling_model_loss(system: Eigensystem, width: float, samples: float, times: Any, noise: float = 0.0, *,
                       lr: float | None = None, refine: float = 1.0) -> Curve:
    r"""Test and train error of gradient flow on ``width = N`` random projections with ``samples = P`` data points
    (the dynamical scaling-law model of Bordelon, Atanasov & Pehlevan arXiv:2402.01092 at finite ``N`` and ``P``).

    See the module docstring for the model, the derivation and the formula: a double contour integral of the
    two-point ridge quantity of random-feature regression, all times from one contour (cost
    ``O(nodes x modes + times x nodes^2)``). ``N -> inf`` gives :func:`gradient_flow` with ``P`` samples,
    ``P -> inf`` gives :func:`projected_gradient_flow`, ``t -> inf`` the ridgeless random-feature eigenframework
    :func:`theory.eigen.rf` (``n = P``, ``p = N``), which is returned from ``t_c = 20 / s_-`` on
    (:func:`lower_edge`; the remainder is below ``e^{-40}``).

    Args:
        system: eigensystem (``lambda_i``, ``v_i^2 = lambda_i w*_i^2``).
        width: ``N > 0`` projections. samples: ``P > 0`` samples. times: ``t >= 0``.
        noise: label-noise variance ``>= 0``. refine: multiplies the number of quadrature nodes.
        lr: if given, full-batch gradient descent ``theta <- theta - lr (F^T F theta - F^T y)/P`` instead of the
            flow, at the steps ``times / lr`` (rounded; filter ``(1 - lr z)^k``, exact in ``lr``). Keep ``lr`` at
            most about ``1 / s_R`` (``s_R`` the contour's right end, module docstring) so the filter stays bounded
            on the contour.

    Returns:
        :class:`Curve` with ``algorithm = "gf"``, ``test_error`` (excess) and ``train_error`` (noisy labels).

    Raises:
        ValueError: bad input, or a time too long for the quadrature. SolverError: ``gamma`` not converged.
    """
    N = float(check_positive(width, "width"))
    P = float(check_positive(samples, "samples"))
    noise = float(check_nonnegative(noise, "noise"))
    t = times_array(times)
    if lr is not None:
        lr = float(check_positive(lr, "lr"))
        t = np.round(t / lr) * lr
    # beyond t_c = 20 / s_- (s_- the lower edge of the nonzero spectrum of F^T F/P) the flow has converged to
    # e^{-40}: the t -> inf value, the ridgeless random-feature eigenframework
    s_lo = lower_edge(system, N, P)
    t_c = 20.0 / s_lo if s_lo > 0 else math.inf
    late = t >= t_c
    if np.all(late):
        r_inf = rf(system, P, N, 0.0, noise)
        return Curve("gf", "time", t, np.full(t.size, float(r_inf.test_error)),
                     np.full(t.size, float(r_inf.train_error)), {"width": N, "samples": P, "noise": noise, "nodes": 0})
    t_all, t = t, t[~late]
    lam_max = float(np.max(system.eigenvalues))
    tr = system.trace
    e_N = (math.sqrt(lam_max) + math.sqrt(tr / N)) ** 2
    s_R = 2.0 * (math.sqrt(e_N) + math.sqrt(tr / P)) ** 2 + tr / P  # beyond the spectrum of F^T F / P
    horizon = float(t.max())
    m = min(4.0 / horizon if horizon > 0 else 0.05 * s_R, 0.05 * s_R)
    R = 0.5 * (s_R + m)
    if m / R < _MAX_NODES_EPS:
        raise ValueError(f"times: the largest time {horizon:g} is too long for the contour quadrature at this "
                         f"spectrum (margin/radius {m / R:.2g} < {_MAX_NODES_EPS:g})")
    zu, qu = contour_nodes(s_R, m, refine=refine, cap=int(4000 * refine))
    half = zu.size
    g = complex(float(solve_gamma(system, P, N, P * m).value))
    gam = np.empty(half, dtype=complex)
    for j in range(half):
        g, res = _newton(system, N, P, -zu[j], g)
        if not (res < 1e-9 and np.isfinite(g)):
            raise SolverError(f"scaling model: gamma(-z) did not converge at z = {zu[j]:.6g} (residual {res:.3g})",
                              residual=res)
        gam[j] = g
    z = np.concatenate([zu, zu.conj()])
    q = np.concatenate([qu, qu.conj()])
    gamma = np.concatenate([gam, gam.conj()])
    S = np.array([_sums(system, gg) for gg in gamma])  # (nodes, 4): d, q, b, db/dgamma
    d, q2, b, db = S[:, 0], S[:, 1], S[:, 2], S[:, 3]
    kappa = gamma * (1.0 - d / N)
    dk = 1.0 - d / N + (d - q2) / N  # dkappa/dgamma
    dd = -(d - q2) / gamma  # d df1 / dgamma
    # G_ab = (kappa_a d_a - kappa_b d_b)/(P (kappa_a - kappa_b)); diagonal: d(kappa d)/dkappa / P
    K1, K2 = kappa[:, None], kappa[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        G = ((K1 * d[:, None] - K2 * d[None, :]) / (K1 - K2)) / P
        B = (K1 * b[None, :] - K2 * b[:, None]) / (K1 - K2)
    idx = np.arange(z.size)
    G[idx, idx] = (d + kappa * dd / dk) / P
    B[idx, idx] = b - kappa * db / dk
    Q = (B + noise) / (1.0 - G)
    if lr is None:
        r = np.exp(-t[:, None] * z[None, :])
    else:
        r = (1.0 - lr * z[None, :]) ** np.round(t / lr)[:, None]
    W = q * r / z
    V = q * r / kappa
    test = np.einsum("tj,tj->t", W @ Q, W).real - noise * np.sum(W, axis=1).real ** 2
    train = np.einsum("tj,tj->t", V @ Q, V).real
    if np.any(late):
        r_inf = rf(system, P, N, 0.0, noise)
        test_all = np.full(t_all.size, float(r_inf.test_error))
        train_all = np.full(t_all.size, float(r_inf.train_error))
        test_all[~late], train_all[~late] = test, train
        test, train = test_all, train_all
    return Curve("gf", "time", t_all, test, train, {"width": N, "samples": P, "noise": noise, "nodes": int(z.size)})
