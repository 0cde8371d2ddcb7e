r"""Vectorized equations of NTK regression in the quadratic scaling (private; see :mod:`theory.ntk`).

Everything here is a pure function of float arrays that broadcast together. Notation of
docs/models.md §4.3 (Adlam & Pennington 2020, arXiv:2008.06786):

* ``phi = n0/m``, ``psi = n0/n1``; ``zeta = mu1^2``, ``ms2 = mu_star^2 = eta - zeta``;
* ``c1 = r zeta`` and ``c2 = r (eta' - zeta)`` (``r`` the learning-rate ratio), the coefficients of the equivalent
  kernel ``F^T F / n1 + c1 X^T X / n0 + c2 I`` (§4.2);
* for ``kappa > 0``: ``nu = ms2 + kappa``, ``a = 1 + c1 / (psi kappa)``, ``b = zeta / nu`` and ``r`` the positive
  root of ``a b r^2 + B r - 1 = 0`` with ``B = a + b (1/psi - 1)``, i.e. ``r = (1/n0) tr (a I + b W^T W / n0)^-1``.

The feature-space degrees of freedom ``d1 = (1/m) tr C (C + kappa)^-1`` and ``d2 = (1/m) tr C^2 (C + kappa)^-2``
(``C`` the covariance of the augmented features ``[f / sqrt(n1); sqrt(c1 / n0) x]`` in the normalisation of
docs/models.md §4.2) are evaluated in a cancellation-free form derived from the trace ``T = (1/m) tr (C + kappa)^-1`` by
the Woodbury identity:

    ``d1 = (phi/psi) ms2 / nu + phi kappa w / nu + phi (c1/psi) r / kappa``,  ``w = 1 - a r``,
    ``d2 = d1 + kappa d1'``,

which equals the direct forms ``N/m - kappa T`` and ``N/m - 2 kappa T - kappa^2 T'`` (a test checks both forms). The
self-consistent equation ``(gamma + c2) phi/psi = kappa (1 - d1(kappa))`` has a right-hand side with derivative
``1 - d2 > 0`` on the physical branch.

At an interpolation threshold ``d1, d2 -> 1`` as ``kappa -> 0`` (random features at ``n1 = m``: ``1 - d1 ~ kappa``;
the linear activation at ``n0 = m``), and ``1 - d1`` formed from ``d1`` loses every digit once ``kappa`` is below
about ``1e-16`` (ridges below about ``1e-30``). The complements are therefore evaluated directly, with
``v = 1/psi - w = a r + 1/psi - 1`` (``= w / (b r)`` by the quadratic, the form used where the sum cancels), in the
two equivalent forms

    ``1 - d1 = (1 - phi/psi) + phi (kappa/nu) v - phi sk r = (1 - phi) + phi r - phi (ms2/nu) v``,
    ``1 - d2 = d(kappa (1 - d1))/dkappa``
    ``       = (1 - phi/psi) + phi (kappa/nu) [(1 + ms2/nu) v - kappa w'] - phi sk kappa r'``
    ``       = (1 - phi) + phi (r + kappa r') - phi (ms2/nu)^2 v + phi (ms2/nu) kappa w'``

(``sk = c1 / (psi kappa)``), taking for each point the form whose terms have the smaller sum of magnitudes (the
rounding error of a sum is proportional to it). At ``n1 = m`` without ``c1`` the first form is a sum of non-negative
terms, at ``n0 = m`` with the linear activation (``ms2 = 0``) the second one is, so both complements keep full
relative accuracy down to ``kappa ~ 1e-150`` (ridge ``1e-300``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt.solvers import Solution, SolverError, Status, solve_monotone
from rmt.stieltjes import mp_G, mp_K

__all__ = ["KappaState", "kappa_state", "solve_kappa", "ensemble_ridge_t", "mp_moments"]


def _positive_root(a: np.ndarray, b: np.ndarray, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positive root ``r`` of ``a b r^2 + B r - 1 = 0`` and ``sqrt(B^2 + 4ab)`` (= ``dP/dr`` at the root).

    Written as ``2 / (B + D)`` when ``B >= 0`` and ``(D - B) / (2 a b)`` otherwise (then ``b > 0``), so that neither
    branch cancels; ``b = 0`` gives ``r = 1/a``.
    """
    B = a + b * (1.0 / psi - 1.0)
    D = np.hypot(B, 2.0 * np.sqrt(a) * np.sqrt(b))  # sqrt(B^2 + 4ab), no overflow when kappa -> 0 (a, b ~ 1/kappa)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(B >= 0, 2.0 / (B + D), ((D - B) / (2.0 * a)) / b)  # not / (a b): that overflows at kappa 1e-155
    return r, D


@dataclass(frozen=True)
class KappaState:
    """All kappa-dependent quantities of docs/models.md §4.3 at one ``kappa`` (arrays)."""

    kappa: np.ndarray
    nu: np.ndarray
    a: np.ndarray
    b: np.ndarray
    r: np.ndarray
    dr: np.ndarray  #: dr/dkappa
    w: np.ndarray  #: 1 - a r = b (1/n0) tr S (aI + bS)^-1
    d1: np.ndarray
    d2: np.ndarray
    one_minus_d1: np.ndarray  #: ``1 - d1`` to full relative accuracy (also where ``d1 -> 1``)
    one_minus_d2: np.ndarray  #: ``1 - d2`` to full relative accuracy (also where ``d2 -> 1``)


def kappa_state(kappa: Any, phi: Any, psi: Any, zeta: Any, ms2: Any, c1: Any) -> KappaState:
    """Evaluate the section-2.4 quantities at ``kappa >= 0`` (``kappa = 0`` only allowed where ``c1 = 0``)."""
    kappa, phi, psi, zeta, ms2, c1 = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                          for v in (kappa, phi, psi, zeta, ms2, c1)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        nu = ms2 + kappa
        sk = np.where(c1 == 0, 0.0, (c1 / psi) / kappa)  # c1 / (psi kappa), written to avoid kappa^2
        a = 1.0 + sk
        b = zeta / nu
        r, D = _positive_root(a, b, psi)
        db = -zeta / (nu * nu)
        # w = 1 - a r without cancellation: b r (a r + 1/psi - 1) is exact algebra (the quadratic), accurate unless
        # a r + 1/psi - 1 cancels, which can only happen for psi > 1 and a r well below 1.
        ar = a * r
        w_prod = b * r * (ar + 1.0 / psi - 1.0)
        direct = (psi <= 1.0) | (ar >= 1.0 - 0.5 / psi)
        w = np.where(direct, w_prod, 1.0 - ar)
        # v = 1/psi - w = a r + 1/psi - 1 (a sum of non-negative terms for psi <= 1), = w / (b r) where the sum cancels
        v = np.where(direct, ar + (1.0 / psi - 1.0), w / (b * r))
        # dr = -((b r^2 + r) da + (a r^2 + (1/psi - 1) r) db) / D with da = -sk/kappa, db = -zeta/nu^2, written with
        # r/kappa and r/nu so that nothing overflows as kappa -> 0 (r ~ kappa while a, b, D ~ 1/kappa), and with
        # a r + 1/psi - 1 = v (no cancellation): a sum of non-negative terms, each divided by D before it can overflow
        rk = np.where(c1 == 0, 0.0, r / kappa)
        rn = r / nu
        dr = rk * (1.0 + b * r) * (sk / D) + rn * v * (b / D)  # sk / D <= 1 first: sk reaches 1e306
        kdw = sk * r - (a * kappa) * dr  # kappa dw/dkappa, dw = -(da r + a dr), da kappa = -sk (finite as kappa -> 0)
        t3 = phi * sk * r
        d1 = (phi / psi) * ms2 / nu + phi * (kappa / nu) * w + t3  # kappa / nu first: no overflow at 1e300
        kdt3 = np.where(c1 == 0, 0.0, phi * sk * (kappa * dr - r))  # kappa dt3/dkappa
        kn = kappa / nu
        kdd1 = -(phi / psi) * ms2 * kn / nu + phi * (w * ms2 * kn / nu + kn * kdw) + kdt3  # kappa dd1/dkappa
        d2 = d1 + kdd1
        om1, om2 = _complements(phi, psi, sk, r, kappa * dr, kn, ms2 / nu, v, kdw)
    return KappaState(kappa=kappa, nu=nu, a=a, b=b, r=r, dr=dr, w=w, d1=d1, d2=d2, one_minus_d1=om1,
                      one_minus_d2=om2)


def _complements(phi: np.ndarray, psi: np.ndarray, sk: np.ndarray, r: np.ndarray, kdr: np.ndarray, kn: np.ndarray,
                 mn: np.ndarray, v: np.ndarray, kdw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 - d1`` and ``1 - d2`` in the two forms of the module docstring, each point from the better-conditioned one.

    Arguments: ``sk = c1/(psi kappa)``, ``kdr = kappa r'``, ``kn = kappa/nu``, ``mn = ms2/nu`` (``kn + mn = 1``),
    ``v = 1/psi - w``, ``kdw = kappa w'`` (``= sk r - a kappa r'``, whose magnitude is bounded by
    ``sk r + (1 + sk) kappa |r'|``).
    """
    ua, ub = 1.0 - phi / psi, 1.0 - phi
    kdw_mag = sk * r + (1.0 + sk) * np.abs(kdr)
    e1 = (ua + phi * kn * v) - phi * sk * r
    m1 = np.abs(ua) + phi * kn * v + phi * sk * r
    e2 = (ub + phi * r) - phi * mn * v
    m2 = np.abs(ub) + phi * r + phi * mn * v
    om1 = np.where(m1 <= m2, e1, e2)
    f1 = (ua + phi * kn * (1.0 + mn) * v) - phi * kn * kdw - phi * sk * kdr
    n1 = np.abs(ua) + phi * kn * (1.0 + mn) * v + phi * kn * kdw_mag + phi * sk * np.abs(kdr)
    f2 = (ub + phi * (r + kdr)) - phi * mn * mn * v + phi * mn * kdw
    n2 = np.abs(ub) + phi * (r + np.abs(kdr)) + phi * mn * mn * v + phi * mn * kdw_mag
    om2 = np.where(n1 <= n2, f1, f2)
    return om1, om2


def solve_kappa(phi: np.ndarray, psi: np.ndarray, zeta: np.ndarray, ms2: np.ndarray, c1: np.ndarray,
                lam: np.ndarray) -> tuple[np.ndarray, Solution | None]:
    r"""The physical ``kappa`` of ``lam = kappa (1 - d1(kappa))`` with ``lam = (gamma + c2) phi / psi`` (arrays).

    Branch rule (docs/models.md §4.3, §4.6):

    * ``lam > 0``: the unique positive root, by bisection in ``log kappa`` on the bracket
      ``[lam, lam + (1/m) tr C]`` (``kappa d1 <= (1/m) tr C = (phi/psi)(zeta + ms2 + c1)``), where the right-hand side
      is increasing (derivative ``1 - d2``).
    * ``lam = 0`` (random features without ridge, ``c1 = 0``): ``kappa = 0`` if ``n1 < m``; for ``n1 > m`` the unique
      positive root of ``1 - d1(kappa) = 0`` (interpolation); ``n1 = m`` is the threshold (``kappa = 0``, ``d2 = 1``).

    Returns:
        ``kappa`` and the :class:`~rmt.solvers.Solution` of the bisection (``None`` when nothing was solved).

    Raises:
        SolverError: the bisection did not converge (with its residual).
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (phi, psi, zeta, ms2, c1, lam)))
    phi, psi, zeta, ms2, c1, lam = (np.broadcast_to(np.asarray(v, dtype=float), shape)
                                    for v in (phi, psi, zeta, ms2, c1, lam))
    total = (phi / psi) * (zeta + ms2 + c1)
    kappa = np.zeros(shape)
    sol: Solution | None = None
    reg = lam > 0
    if np.any(reg):
        p = [v[reg] for v in (phi, psi, zeta, ms2, c1, lam)]

        def f(k: np.ndarray) -> np.ndarray:
            st = kappa_state(k, *p[:5])
            return k * st.one_minus_d1 - p[5]

        sol = solve_monotone(f, p[5], p[5] + total[reg], log=True, what="NTK kappa (docs/models.md §4.3)")
        kappa[reg] = sol.value
    over = (~reg) & (phi > psi)  # lam = 0 and n1 > m
    if np.any(over):
        p = [v[over] for v in (phi, psi, zeta, ms2, c1)]

        def g(k: np.ndarray) -> np.ndarray:
            return kappa_state(k, *p).one_minus_d1

        sol_over = solve_monotone(g, 1e-12 * total[over], total[over], log=True,
                                  what="ridgeless random-feature kappa (docs/models.md §4.6)")
        kappa[over] = sol_over.value
        sol = sol_over if sol is None else sol
    if np.any(~np.isfinite(kappa)) or np.any(kappa < 0):
        raise SolverError("NTK kappa: non-finite or negative root", status=Status.NONFINITE)
    return kappa, sol


def mp_moments(t: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``G_ratio(t)`` and ``K_ratio(t)`` of the Marchenko-Pastur law (docs/models.md §1.2), ``t > 0``."""
    return np.asarray(mp_G(t, ratio), dtype=float), np.asarray(mp_K(t, ratio), dtype=float)


def ensemble_ridge_t(r: np.ndarray, phi: np.ndarray) -> np.ndarray:
    r"""``t = phi rho`` of the parameter-averaged predictor, from ``1 - r = 1 - t G_phi(t)``.

    Averaging the NTK predictor over ``P`` with the data fixed gives linear ridge on the raw inputs,
    ``E_P yhat(x) = Y (X^T X / n0 + rho I)^-1 X^T x / n0`` (derivation in :mod:`theory.ntk`); its mean over ``X`` is
    ``(1 - t G_phi(t)) beta.x / sqrt(n0)`` with ``t = phi rho``, which must equal the mean ``(1 - r)`` of the
    ``W``-conditional route. ``t G_phi(t)`` increases from ``max(0, 1 - 1/phi)`` to 1, so the root is unique; ``r >= 1``
    (a predictor that is identically zero, ``zeta = c1 = 0``) gives ``t = inf``.
    """
    r = np.asarray(r, dtype=float)
    phi = np.broadcast_to(np.asarray(phi, dtype=float), r.shape)
    out = np.full(r.shape, np.inf)
    # t G(t) -> max(0, 1 - 1/phi) as t -> 0: an r at (or, by rounding, below) that infimum is the ridgeless ensemble
    floor = np.maximum(0.0, 1.0 - 1.0 / phi)
    at_floor = r <= floor + 4.0 * np.finfo(float).eps
    out = np.where(at_floor, 0.0, out)
    todo = (r < 1.0) & ~at_floor
    if np.any(todo):
        rr, pp = r[todo], phi[todo]

        def f(t: np.ndarray) -> np.ndarray:
            return t * mp_G(t, pp) - rr

        sol = solve_monotone(f, np.full(rr.shape, 1e-3), np.full(rr.shape, 1e3), log=True,
                             what="ensemble effective ridge (t G_phi(t) = r)")
        out[todo] = sol.value
    return out
