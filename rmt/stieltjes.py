r"""Stieltjes transforms and spectral densities.

Convention: the Stieltjes transform of a probability measure ``mu`` on ``[0, inf)`` is
``m(z) = int dmu(s) / (s - z)``; it maps the upper half plane into itself, is positive and decreasing on the
negative real axis, and ``m(z) ~ -1/z`` at infinity. The density is recovered by Stieltjes inversion,
``rho(x) = lim_{y -> 0+} Im m(x + i y) / pi``.

Marchenko-Pastur law ``MP_r`` with unit variance and ratio ``r = dim / #samples`` (the spectrum of ``X X^T / n`` for
a ``p x n`` matrix ``X`` with i.i.d. unit-variance entries, ``r = p / n``), including the atom of mass
``(1 - 1/r)_+`` at zero. In the notation of docs/models.md §1.2, for ``t > 0``:

* ``G_r(t) = m(-t) = (sqrt((1-r+t)^2 + 4 r t) - (1-r+t)) / (2 r t)``, the positive root of
  ``r t G^2 + (1-r+t) G - 1 = 0``, evaluated in the cancellation-free form ``2 / (sqrt(D) + a)`` when
  ``a = 1-r+t >= 0``;
* ``K_r(t) = -G_r'(t) = int dMP_r(s) / (s+t)^2 = (r G^2 + G) / (2 r t G + 1 - r + t)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive

__all__ = [
    "density_from_stieltjes",
    "ks_distance",
    "mp_atom",
    "mp_cdf",
    "mp_density",
    "mp_edges",
    "mp_G",
    "mp_K",
    "mp_moment",
    "mp_stieltjes",
    "mp_stieltjes_derivative",
]


def mp_edges(ratio: Any) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``((1 - sqrt r)^2, (1 + sqrt r)^2)`` of the continuous part of ``MP_r``."""
    r = check_positive(ratio, "ratio")
    return (1 - np.sqrt(r)) ** 2, (1 + np.sqrt(r)) ** 2


def mp_atom(ratio: Any) -> np.ndarray:
    """Mass ``max(1 - 1/r, 0)`` of the atom of ``MP_r`` at zero."""
    r = check_positive(ratio, "ratio")
    return np.maximum(1.0 - 1.0 / r, 0.0)


def mp_G(t: Any, ratio: Any) -> np.ndarray:
    r"""``G_r(t) = int dMP_r(s) / (s + t)`` for ``t >= 0`` (``= m(-t)``), in the numerically stable form.

    At ``t = 0`` it is ``1 / (1 - r)`` for ``r < 1`` and ``inf`` otherwise (the atom, or the hard edge at ``r = 1``).
    """
    t = check_nonnegative(t, "t")
    r = check_positive(ratio, "ratio")
    t, r = np.broadcast_arrays(t, r)
    a = 1.0 - r + t
    sq = np.hypot(a, 2.0 * np.sqrt(r) * np.sqrt(t))  # sqrt(a^2 + 4 r t) without overflow for t up to 1e308
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = 2.0 / (sq + a)
        neg = (sq - a) / (2.0 * r * t)
        out = np.where(a >= 0, pos, neg)
        out = np.where(t == 0, np.where(r < 1, 1.0 / (1.0 - r), np.inf), out)
    return out[()] if out.ndim == 0 else out


def mp_K(t: Any, ratio: Any) -> np.ndarray:
    r"""``K_r(t) = -dG_r/dt = int dMP_r(s) / (s + t)^2`` for ``t > 0`` (``t = 0`` allowed when ``r < 1``).

    The textbook denominator ``2 r t G + 1 - r + t`` equals ``sqrt((1 - r + t)^2 + 4 r t)`` exactly; the square root
    is used because the sum cancels when ``r > 1`` and ``t`` is small.
    """
    g = mp_G(t, ratio)
    t = np.asarray(t, dtype=float)
    r = np.asarray(ratio, dtype=float)
    a = 1.0 - r + t
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (r * g * g + g) / np.hypot(a, 2.0 * np.sqrt(r) * np.sqrt(t))
    return out[()] if np.ndim(out) == 0 else out


def mp_moment(k: int, ratio: Any) -> np.ndarray:
    """``int s^k dMP_r(s)`` (Narayana polynomials): 1, 1, 1 + r, 1 + 3r + r^2, ..."""
    r = np.asarray(check_positive(ratio, "ratio"))
    if k == 0:
        return np.ones_like(r)
    from math import comb

    return sum(comb(k, j) * comb(k, j - 1) / k * r ** (j - 1) for j in range(1, k + 1))


def mp_stieltjes(z: Any, ratio: Any) -> np.ndarray:
    r"""``m(z) = int dMP_r(s) / (s - z)`` for complex ``z`` off the support (real ``z`` read as ``z + i0``).

    Branch: ``m = [(1 - r - z) + sqrt(z - a) sqrt(z - b)] / (2 r z)`` with principal square roots, which behaves as
    ``-1/z`` at infinity and has its cut on the support ``[a, b]``; the algebraically equal form
    ``2 / [(1 - r - z) - sqrt(z - a) sqrt(z - b)]`` is used where it avoids cancellation.
    """
    z = np.asarray(z, dtype=complex)
    r = np.asarray(check_positive(ratio, "ratio"), dtype=float)
    z, r = np.broadcast_arrays(z, r)
    # real z on the support is read as z + i0: nudge to the upper side
    z = np.where(z.imag == 0, z + 1j * 1e-300, z)
    a, b = (1 - np.sqrt(r)) ** 2, (1 + np.sqrt(r)) ** 2
    s = np.sqrt(z - a) * np.sqrt(z - b)
    base = 1.0 - r - z
    n_plus = base + s
    n_minus = base - s
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.abs(n_plus) >= np.abs(n_minus), n_plus / (2 * r * z), 2.0 / n_minus)
    return out[()] if out.ndim == 0 else out


def mp_stieltjes_derivative(z: Any, ratio: Any) -> np.ndarray:
    r"""``m'(z)`` by implicit differentiation of ``-r z m^2 + (1 - r - z) m - 1 = 0``:
    ``m' = (r m^2 + m) / (1 - r - z - 2 r z m)``. On the negative axis ``m'(-t) = K_r(t)``."""
    m = mp_stieltjes(z, ratio)
    z = np.asarray(z, dtype=complex)
    r = np.asarray(ratio, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (r * m * m + m) / (1.0 - r - z - 2.0 * r * z * m)


def mp_density(x: Any, ratio: Any) -> np.ndarray:
    r"""Density of the continuous part of ``MP_r``: ``sqrt((b - x)(x - a)) / (2 pi r x)`` on ``[a, b]``.

    It integrates to ``min(1, 1/r)``; the rest is the atom :func:`mp_atom` at zero.
    """
    x = check_finite(x, "x")
    r = check_positive(ratio, "ratio")
    a, b = mp_edges(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((x > a) & (x < b), np.sqrt(np.clip((b - x) * (x - a), 0, None)) / (2 * np.pi * r * x), 0.0)
    return out[()] if np.ndim(out) == 0 else out


def density_from_stieltjes(stieltjes: Callable[[np.ndarray], np.ndarray], x: Any, *, eps: float = 1e-10
                           ) -> np.ndarray:
    r"""Stieltjes inversion ``rho(x) = Im m(x + i eps) / pi`` (clipped at zero)."""
    x = check_finite(x, "x")
    vals = np.asarray(stieltjes(x + 1j * eps))
    return np.clip(vals.imag / np.pi, 0.0, None)


def mp_cdf(x: Any, ratio: Any, *, points: int = 20001) -> np.ndarray:
    """Cumulative distribution of ``MP_r`` (atom included), by trapezoidal integration of :func:`mp_density` on a
    grid clustered at the edges (absolute error below 1e-6 with the default ``points``)."""
    r = float(check_positive(ratio, "ratio"))
    a, b = mp_edges(r)
    u = np.linspace(0.0, np.pi, points)
    grid = a + (b - a) * 0.5 * (1 - np.cos(u))
    dens = mp_density(grid, r)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    cum *= min(1.0, 1.0 / r) / cum[-1]  # remove the quadrature error at the square-root edges
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, mp_atom(r), 0.0) + np.interp(x, grid, cum, left=0.0, right=cum[-1])


def ks_distance(samples: Any, cdf: Callable[[np.ndarray], np.ndarray], *, zero_tol: float = 1e-9) -> float:
    """Kolmogorov-Smirnov distance between an empirical sample and a CDF that may have an atom at zero.

    Samples with ``|x| < zero_tol * max|x|`` are set to exactly zero (numerically zero eigenvalues), and both the
    values and the left limits of the two CDFs are compared at every distinct sample value, so atoms are handled
    correctly.
    """
    x = np.asarray(samples, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("samples must not be empty")
    x = np.sort(np.where(np.abs(x) < zero_tol * np.abs(x).max(), 0.0, x))
    t, cnt = np.unique(x, return_counts=True)
    emp = np.cumsum(cnt) / x.size
    emp_left = emp - cnt / x.size
    theo = np.asarray(cdf(t), dtype=float)
    left_pts = np.where(t > 0, t * (1 - 1e-12), np.where(t < 0, t * (1 + 1e-12), -1e-300))
    theo_left = np.asarray(cdf(left_pts), dtype=float)
    return float(max(np.max(np.abs(emp - theo)), np.max(np.abs(emp_left - theo_left))))
