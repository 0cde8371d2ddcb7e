r"""Mei & Montanari (arXiv:1908.05355) random-features ridge regression: the fixed point, B, V and their limits.

Notation of MM (docs/models.md §1.3, §3.3): ``psi1 = N/d`` (features per dimension),
``psi2 = n/d`` (samples per dimension), ``zeta = mu1 / mu_star`` (a ratio; ``z2 = zeta^2`` below), ridge
``lambda_bar = lambda / mu_star^2``. The functions accept numpy arrays (broadcast together) and, where noted, mpmath
numbers: the polynomial formulas use only arithmetic.

Physical branch (docs/models.md §3.3, §3.14). On the imaginary axis ``xi = i s``, ``s = sqrt(psi1 psi2 lambda_bar)``,
the solution is ``nu_j = i a_j`` with real ``a_j > 0``. Eliminating ``a_1, a_2`` in favour of ``chi = -a_1 a_2``:
with ``q(chi) = chi (1 + z2 / (1 - z2 chi))`` the two equations give ``a_j = (psi_j + q) / s``, and ``chi`` solves

    ``H(chi) = (psi1 + q)(psi2 + q) + s^2 chi = 0``.

``a_j > 0`` holds exactly on ``chi0 < chi < 0``, where ``chi0`` is the negative root of
``z2 chi^2 + (psi z2 - z2 - 1) chi - psi = 0`` with ``psi = min(psi1, psi2)`` (``q`` is increasing, so
``psi_min + q(chi) > 0`` there). On that interval ``H`` is increasing and convex (a product of two positive increasing
convex factors plus a linear term), ``H(chi0) = s^2 chi0 < 0`` and ``H(0) = psi1 psi2 > 0``: the root with
``a_j > 0`` is **unique**, hence it is the branch continued from ``a_j ~ psi_j / s`` at large ``lambda``. Newton's
method started at ``chi = 0`` converges to it monotonically. As ``s -> 0`` the root tends to ``chi0``: this is MM's
ridgeless ``chi`` (docs/models.md §3.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rmt.solvers import Solution, Status, monotone_newton, solve_monotone
from rmt.theory._rf_numerics import negative_quadratic_root, positive_quadratic_root

__all__ = [
    "mm_E0_factored",
    "mm_E_polynomials",
    "mm_chi",
    "mm_chi_stable",
    "mm_chi_ridgeless",
    "mm_omega",
    "mm_wide_bv",
    "mm_large_sample_b",
    "mm_wide_optimal_lambda",
]


def mm_E_polynomials(chi: Any, z2: Any, psi1: Any, psi2: Any) -> tuple[Any, Any, Any]:
    r"""MM's ``E_0, E_1, E_2`` (docs/models.md §3.3, from ybaek/rfasymp ``formula1.m``); ``B = E1/E0``, ``V = E2/E0``.

    ``z2 = zeta^2 = mu1^2 / mu_star^2``. Works for numpy arrays and mpmath numbers.
    """
    c2, c3 = chi * chi, chi * chi * chi
    c4, c5 = c2 * c2, c2 * c3
    z4, z6 = z2 * z2, z2 * z2 * z2
    p12 = psi1 * psi2
    E0 = (-c5 * z6 + 3 * c4 * z4 + (p12 - psi2 - psi1 + 1) * c3 * z6 - 2 * c3 * z4 - 3 * c3 * z2
          + (psi1 + psi2 - 3 * p12 + 1) * c2 * z4 + 2 * c2 * z2 + c2 + 3 * p12 * chi * z2 - p12)
    E1 = psi2 * c3 * z4 - psi2 * c2 * z2 + p12 * chi * z2 - p12
    E2 = (c5 * z6 - 3 * c4 * z4 + (psi1 - 1) * c3 * z6 + 2 * c3 * z4 + 3 * c3 * z2 - (psi1 + 1) * c2 * z4
          - 2 * c2 * z2 - c2)
    return E0, E1, E2


def mm_chi_ridgeless(z2: np.ndarray, psi1: np.ndarray, psi2: np.ndarray) -> np.ndarray:
    r"""MM's ridgeless ``chi_0`` (docs/models.md §3.4): the negative root of
    ``z2 chi^2 + (psi z2 - z2 - 1) chi - psi = 0``, ``psi = min(psi1, psi2)``; it is also the left end of the physical interval of :func:`mm_chi`."""
    p = np.minimum(psi1, psi2)
    return negative_quadratic_root(z2, p * z2 - z2 - 1.0, -p)


def mm_chi(z2: np.ndarray, psi1: np.ndarray, psi2: np.ndarray, s2: np.ndarray, *, maxiter: int = 200
           ) -> Solution:
    r"""The physical ``chi = nu1 nu2`` at ``xi = i s`` (``s2 = s^2 = psi1 psi2 lambda_bar > 0``), see the module
    docstring for the branch rule and its uniqueness.

    Returns:
        :class:`rmt.solvers.Solution` (flat arrays; failures are reported in ``status``, never raised): ``value``
        ``chi``, ``residual`` the backward error ``|H| / ((psi1 + |q|)(psi2 + |q|) + s^2 |chi|)`` (the size of the
        rounding errors in evaluating ``H``).
    """
    z2, psi1, psi2, s2 = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(z2, psi1, psi2, s2))

    def H(chi: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        zz = z2[idx]
        den = 1.0 - zz * chi
        q = chi * (1.0 + zz / den)
        dq = 1.0 + zz / (den * den)
        u1, u2 = psi1[idx] + q, psi2[idx] + q
        return u1 * u2 + s2[idx] * chi, (u1 + u2) * dq + s2[idx]

    sol = monotone_newton(H, np.zeros_like(z2), maxiter=maxiter, throw=False)
    chi = sol.value
    den = 1.0 - z2 * chi
    q = chi * (1.0 + z2 / den)
    prod = (psi1 + q) * (psi2 + q)
    res = np.abs(prod + s2 * chi) / ((psi1 + np.abs(q)) * (psi2 + np.abs(q)) + s2 * np.abs(chi))
    return Solution(value=chi, residual=res, status=sol.status,
                    branch="unique root with a1, a2 > 0 on (chi0, 0) (monotone Newton from 0)",
                    iterations=sol.iterations)


def _chi_of_q(z2: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Inverse of ``q(chi) = chi (1 + z2 / (1 - z2 chi))`` on ``chi < 0``: the negative root of
    ``z2 chi^2 - (1 + z2 (1 + q)) chi + q = 0`` (``q < 0``; product of the roots ``q / z2 < 0``)."""
    return negative_quadratic_root(z2, -(1.0 + z2 * (1.0 + q)), q)


def mm_chi_stable(z2: np.ndarray, psi1: np.ndarray, psi2: np.ndarray, s2: np.ndarray, *, maxiter: int = 200
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    r""":func:`mm_chi` plus the factors ``u_j = psi_j + q(chi)`` (``a_j = u_j / s``) to full relative accuracy.

    Near the ridgeless limit the smaller factor ``u = min(u1, u2)`` tends to 0 (to ``0`` exactly at the
    interpolation threshold ``psi1 = psi2``), and ``psi_min + q(chi)`` computed from ``chi`` loses all its digits once
    ``u`` is below ``1e-16 psi_min`` (ridges ``s^2`` below about ``1e-32`` at the threshold). Where
    ``u < psi_min / 2`` the equation is therefore re-solved with ``u`` as the unknown:
    ``G(u) = u (u + |psi1 - psi2|) + s^2 chi(u - psi_min) = 0`` with ``chi(q)`` the inverse of ``q`` (a negative
    quadratic root, no cancellation). ``G`` is increasing, and its root lies in ``[u_lo, u_hi]`` where ``u_hi``
    solves ``u (u + Delta) = -s^2 chi0`` (``chi >= chi0``) and ``u_lo`` solves ``u (u + Delta) = -s^2 chi(u_hi)``;
    bisection with Illinois steps in ``log u`` on that bracket.

    Returns:
        ``(chi, u1, u2, residual, converged, iterations)``.
    """
    z2, psi1, psi2, s2 = (np.asarray(v, dtype=float).ravel() for v in np.broadcast_arrays(z2, psi1, psi2, s2))
    sol_chi = mm_chi(z2, psi1, psi2, s2, maxiter=maxiter)
    chi, res = np.array(sol_chi.value, dtype=float), np.array(sol_chi.residual, dtype=float)
    conv, it = np.asarray(sol_chi.status) == Status.SUCCESS, sol_chi.iterations
    with np.errstate(all="ignore"):
        q = chi * (1.0 + z2 / (1.0 - z2 * chi))
    u1, u2 = psi1 + q, psi2 + q
    pmin = np.minimum(psi1, psi2)
    small = ~(np.minimum(u1, u2) >= 0.5 * pmin) & (s2 > 0) & np.isfinite(s2) & (pmin > 0) & np.isfinite(pmin)
    if np.any(small):
        zz, p, d, ss = z2[small], pmin[small], np.abs(psi1 - psi2)[small], s2[small]
        chi0 = _chi_of_q(zz, -p)
        u_hi = np.minimum(positive_quadratic_root(np.ones_like(p), -d, -ss * chi0), 0.5 * p)
        u_lo = positive_quadratic_root(np.ones_like(p), -d, -ss * _chi_of_q(zz, u_hi - p))
        u_lo = np.maximum(u_lo, 1e-300 * p)
        u_lo = np.where((u_lo > 0) & np.isfinite(u_lo), u_lo, np.finfo(float).tiny)
        u_hi = np.where((u_hi > 0) & np.isfinite(u_hi), u_hi, 0.5 * p)

        def G(u: np.ndarray) -> np.ndarray:
            return u * (u + d) + ss * _chi_of_q(zz, u - p)

        with np.errstate(all="ignore"):
            sol = solve_monotone(G, u_lo, np.maximum(u_hi, u_lo), log=True, throw=False, what="MM chi (u form)")
        ok = sol.status == 0
        u = sol.value
        c_new = _chi_of_q(zz, u - p)
        r_new = np.abs(G(u)) / (u * (u + d) + ss * np.abs(c_new))
        idx = np.flatnonzero(small)[ok]
        chi[idx], res[idx], conv[idx] = c_new[ok], r_new[ok], True
        first = psi1[idx] <= psi2[idx]
        u1[idx] = np.where(first, u[ok], u[ok] + d[ok])
        u2[idx] = np.where(first, u[ok] + d[ok], u[ok])
        it = max(it, sol.iterations)
    return chi, u1, u2, res, conv, it


def mm_E0_factored(chi: np.ndarray, z2: np.ndarray, u1: np.ndarray, u2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    r"""MM's ``E_0`` at the root of ``H`` in factored form: ``E_0 = chi (1 - z2 chi)^3 H'(chi)`` with
    ``H'(chi) = (u1 + u2) q'(chi) + s^2``, ``q' = 1 + z2 / (1 - z2 chi)^2`` (the identity
    ``E_0 = chi (1 - z2 chi)^3 [(u1 + u2) q' - u1 u2 / chi]`` holds for every ``chi``; ``s^2 chi = -u1 u2`` at the
    root). Every term of ``H'`` is positive on the physical branch, so ``E_0`` has full relative accuracy where the
    polynomial of :func:`mm_E_polynomials` cancels (``E_0 -> 0`` at the interpolation threshold)."""
    den = 1.0 - z2 * chi
    return chi * den ** 3 * ((u1 + u2) * (1.0 + z2 / (den * den)) + s2)


def mm_omega(z2: Any, psi: Any, lam_bar: Any) -> Any:
    r"""MM's ``omega(zeta, psi, lambda_bar)`` (docs/models.md §3.5): the negative root of
    ``(lambda_bar psi + 1) w^2 + (psi z2 - z2 - lambda_bar psi - 1) w - psi z2 = 0`` (``z2 = zeta^2``).

    Zero when ``z2 = 0``."""
    A = lam_bar * psi + 1.0
    B = psi * z2 - z2 - lam_bar * psi - 1.0
    C = -psi * z2
    out = negative_quadratic_root(np.asarray(A, dtype=float), np.asarray(B, dtype=float), np.asarray(C, dtype=float))
    return np.where(np.asarray(C) == 0, 0.0, out)


def mm_wide_bv(z2: Any, psi2: Any, lam_bar: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""Wide-network limit ``psi1 -> inf`` (docs/models.md §3.5, ybaek ``quant_asymp.m``):
    ``B = psi2 / D``, ``V = omega^2 / D`` with ``D = psi2 - 2 omega psi2 + omega^2 psi2 - omega^2`` and
    ``omega = omega(zeta, psi2, lambda_bar)``. At ``psi2 = 1``, ``lambda_bar = 0`` both are infinite."""
    w = mm_omega(z2, psi2, lam_bar)
    D = psi2 - 2 * w * psi2 + w * w * psi2 - w * w
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(D == 0, np.inf, psi2 / np.where(D == 0, 1.0, D))
        V = np.where(D == 0, np.inf, w * w / np.where(D == 0, 1.0, D))
    return B, V


def mm_large_sample_b(z2: Any, psi1: Any, lam_bar: Any) -> np.ndarray:
    r"""Large-sample limit ``psi2 -> inf`` (docs/models.md §3.5): ``V = 0`` and
    ``B = ((w^3 - w^2)/zeta^2 + psi1 w - psi1) / ((w - 1)(psi1 - 2 w psi1 + w^2 psi1 - w^2))`` with
    ``w = omega(zeta, psi1, lambda_bar)``. At ``lambda_bar = 0`` this is the approximation error of the best predictor
    in the span of ``N = psi1 d`` random features. ``B = 1`` when ``zeta = 0`` (the limit ``zeta -> 0``)."""
    z2 = np.asarray(z2, dtype=float)
    w = mm_omega(z2, psi1, lam_bar)
    safe = np.where(z2 == 0, 1.0, z2)
    with np.errstate(divide="ignore", invalid="ignore"):
        num = (w ** 3 - w ** 2) / safe + psi1 * w - psi1
        den = (w - 1.0) * (psi1 - 2 * w * psi1 + w * w * psi1 - w * w)
        return np.where(z2 == 0, 1.0, num / den)


def mm_wide_optimal_lambda(z2: Any, psi2: Any, snr: Any) -> np.ndarray:
    r"""MM's optimal ridge in the wide limit (docs/models.md §3.5, ybaek ``lambda_asymp_opt.m``), in units
    ``lambda_bar``.

    ``snr = F1^2 / (F_star^2 + tau^2)``. With ``w0 = omega(zeta, psi2, 0)`` and ``w1 = omega(sqrt(snr), psi2, 0)``:
    if ``w0 < w1``, ``lambda_bar* = (z2 psi2 - z2 w1 psi2 + z2 w1 + w1 - w1^2) / ((w1^2 - w1) psi2)``; otherwise
    ``0`` (interpolation is optimal: the high-SNR phase). ``snr = inf`` (no noise) gives 0.
    """
    z2, psi2, snr = np.broadcast_arrays(np.asarray(z2, dtype=float), np.asarray(psi2, dtype=float),
                                        np.asarray(snr, dtype=float))
    w0 = mm_omega(z2, psi2, 0.0)
    fin = np.isfinite(snr)
    w1 = mm_omega(np.where(fin, snr, 1.0), psi2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = (z2 * psi2 - z2 * w1 * psi2 + z2 * w1 + w1 - w1 * w1) / ((w1 * w1 - w1) * psi2)
    return np.where(fin & (w0 < w1), lam, 0.0)
