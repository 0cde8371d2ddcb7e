"""Independent reference implementations for the eigenframework tests.

Nothing here calls :mod:`theory.eigen`; each function is written from a different formula (closed forms, the
Mei-Montanari fixed point, Simon's nested two-equation form) so that agreement is evidence, not a tautology.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rmt.stieltjes import mp_G, mp_K


# --- isotropic ridge (Hastie, Montanari, Rosset & Tibshirani arXiv:1903.08560), via the Marchenko-Pastur law ----

def hastie_isotropic_excess(n: float, d: float, lam_r: float, signal: float, noise: float) -> float:
    """Excess risk of ridge on x ~ N(0, I_d) with per-sample ridge lam_r > 0:
    bias r^2 lam^2 int dMP/(s+lam)^2 + variance sigma^2 gamma int s dMP/(s+lam)^2 (MP ratio gamma = d/n)."""
    g = d / n
    G = float(mp_G(lam_r, g))
    K = float(mp_K(lam_r, g))
    return signal * lam_r ** 2 * K + noise * g * (G - lam_r * K)


def hastie_ridgeless_excess(n: float, d: float, signal: float, noise: float) -> float:
    """Min-norm least squares (HMRT arXiv:1903.08560; docs/models.md §2, §6.4): gamma < 1: sigma^2 gamma/(1-gamma);
    gamma > 1: r^2 (1-1/gamma) + sigma^2 / (gamma - 1)."""
    g = d / n
    if g < 1:
        return noise * g / (1 - g)
    return signal * (1 - 1 / g) + noise / (g - 1)


def isotropic_kappa(n: float, d: float, ridge: float) -> float:
    """Root of n kappa^2 + (n - d - ridge) kappa - ridge = 0 (docs/models.md §6.4), in a cancellation-free form."""
    b = n - d - ridge
    disc = math.sqrt(b * b + 4 * n * ridge)
    return (2 * ridge) / (b + disc) if b > 0 else (disc - b) / (2 * n)


def linear_rf_isotropic_ridgeless(n: float, k: float, d: float, signal: float, noise: float) -> float:
    """Test MSE (noise floor included) of ridgeless linear RF on isotropic data, d > max(n, k)
    (closed forms of the RF eigenframework, docs/models.md §6.6-6.7, at isotropic spectrum and zero ridge)."""
    if k < n:
        return n / (n - k) * (signal * (1 - k / d) + noise)
    return signal * k * (1 - n / d) / (k - n) + noise * (d * k - n * n) / ((d - n) * (k - n))


# --- Mei & Montanari (arXiv:1908.05355): fixed point nu1, nu2 on the imaginary axis and the E0/E1/E2 polynomials -

def mei_montanari(psi1: float, psi2: float, lam: float, mu1: float, mu_star2: float) -> tuple[float, float, float]:
    """(chi, B, V) of MM's theorem (arXiv:1908.05355; docs/models.md §3.3; as in the public implementation
    ybaek/rfasymp formula1.m), lam > 0."""
    z2 = mu1 * mu1 / mu_star2
    s = math.sqrt(psi1 * psi2 * lam / mu_star2)

    def eqs(a):
        a1, a2 = a
        d = 1 + z2 * a1 * a2
        return np.array([a1 - psi1 / (s + a2 + z2 * a2 / d), a2 - psi2 / (s + a1 + z2 * a1 / d)])

    a = np.array([psi1 / (s + 1), psi2 / (s + 1)])
    for _ in range(200000):
        a_new = a - 0.5 * eqs(a)
        if np.max(np.abs(a_new - a)) < 1e-15:
            a = a_new
            break
        a = a_new
    for _ in range(20):  # Newton polish with a finite-difference Jacobian
        J = np.empty((2, 2))
        f0 = eqs(a)
        for j in range(2):
            h = 1e-7 * max(1.0, abs(a[j]))
            e = np.zeros(2)
            e[j] = h
            J[:, j] = (eqs(a + e) - f0) / h
        a = a - np.linalg.solve(J, f0)
    assert np.max(np.abs(eqs(a))) < 1e-12 and np.all(a > 0)
    chi = -a[0] * a[1]
    return (chi,) + _mm_bv(chi, psi1, psi2, z2)


def mei_montanari_ridgeless(psi1: float, psi2: float, mu1: float, mu_star2: float) -> tuple[float, float, float]:
    """(chi0, B0, V0) of MM's ridgeless limit (docs/models.md §3.4)."""
    z2 = mu1 * mu1 / mu_star2
    psi = min(psi1, psi2)
    b = psi * z2 - z2 - 1
    chi0 = -(b + math.sqrt(b * b + 4 * z2 * psi)) / (2 * z2)
    return (chi0,) + _mm_bv(chi0, psi1, psi2, z2)


def _mm_bv(chi: float, p1: float, p2: float, z: float) -> tuple[float, float]:
    E0 = (-chi ** 5 * z ** 3 + 3 * chi ** 4 * z ** 2 + (p1 * p2 - p2 - p1 + 1) * chi ** 3 * z ** 3
          - 2 * chi ** 3 * z ** 2 - 3 * chi ** 3 * z + (p1 + p2 - 3 * p1 * p2 + 1) * chi ** 2 * z ** 2
          + 2 * chi ** 2 * z + chi ** 2 + 3 * p1 * p2 * chi * z - p1 * p2)
    E1 = p2 * chi ** 3 * z ** 2 - p2 * chi ** 2 * z + p1 * p2 * chi * z - p1 * p2
    E2 = (chi ** 5 * z ** 3 - 3 * chi ** 4 * z ** 2 + (p1 - 1) * chi ** 3 * z ** 3 + 2 * chi ** 3 * z ** 2
          + 3 * chi ** 3 * z - (p1 + 1) * chi ** 2 * z ** 2 - 2 * chi ** 2 * z - chi ** 2)
    return E1 / E0, E2 / E0


# --- Simon, Karkada, Ghosh & Belkin (arXiv:2311.14646): nested two-equation RF solve and Simon's error form -----

def simon_rf(lam, mult, v2, n, k, ridge, noise):
    """RF test MSE from the (kappa, gamma) pair of n = df1(gamma) + ridge/kappa, k = df1(gamma) + k kappa/gamma,
    solved by nested root finding (inner gamma, outer log kappa; docs/models.md §6.6), then Simon's E0_RF and b_i
    (§6.7).
    Returns (gamma, kappa, test_mse)."""
    lam, mult, v2 = (np.asarray(a, float) for a in (lam, mult, v2))
    df1 = lambda g: float((mult * lam / (lam + g)).sum())  # noqa: E731

    def gamma_of(kappa):
        return math.exp(brentq(lambda u: df1(math.exp(u)) + ridge / kappa - n, -80, 80, xtol=1e-15, rtol=1e-15))

    def outer(u):
        kappa = math.exp(u)
        g = gamma_of(kappa)
        return k - df1(g) - k * kappa / g

    # outer is monotone in log kappa on the physical range; bracket by scanning
    us = np.linspace(-60, 10, 400)
    vals = []
    for u in us:
        try:
            vals.append(outer(u))
        except ValueError:
            vals.append(np.nan)
    vals = np.array(vals)
    idx = np.flatnonzero(np.isfinite(vals[:-1]) & np.isfinite(vals[1:]) & (np.sign(vals[:-1]) != np.sign(vals[1:])))
    assert idx.size == 1, "the outer equation must have one sign change"
    u = brentq(outer, us[idx[0]], us[idx[0] + 1], xtol=1e-15, rtol=1e-15)
    kappa = math.exp(u)
    g = gamma_of(kappa)
    L = lam / (lam + g)
    z = float((mult * L).sum())
    q = float((mult * L * L).sum())
    x = (q * (k - 2 * z) + z * z) / (n * (k - q))
    E0 = 1 / (1 - x)
    b = (1 - L) - kappa * L / (lam + g) * k / (k - q)
    return g, kappa, E0 * (float((mult * b * v2).sum()) + noise)
