r"""Cancellation-free Marchenko-Pastur integrals and quadratic roots for the random-feature theory (the monotone Newton
solver lives in :func:`rmt.solvers.monotone_newton`).

Everything here is float64 and vectorized; no validation (callers validate). Notation of
docs/models.md §1.2: ``MP_r`` is the Marchenko-Pastur law with unit variance and ratio
``r`` (atom ``(1 - 1/r)_+`` at zero included). For ``zeta >= 0`` and ``b > 0`` define

* ``R = int dMP_r(s) / (zeta s + b)`` (``= G_r(b/zeta) / zeta``; ``1/b`` at ``zeta = 0``),
* ``S = int dMP_r(s) / (zeta s + b)^2`` (``= K_r(b/zeta) / zeta^2``),
* ``Q = int zeta s / (zeta s + b) dMP_r(s)`` (``= 1 - b R = 1 - t G_r(t)`` with ``t = b/zeta``),
* ``T = int zeta s / (zeta s + b)^2 dMP_r(s)`` (``= R - b S = (G_r(t) - t K_r(t)) / zeta``).

Dividing the MP quadratic ``r t G^2 + (1 - r + t) G - 1 = 0`` through by powers of ``zeta`` gives the forms used here,
which never divide by ``zeta`` and never subtract nearly equal numbers:

* ``r b zeta R^2 + A R - 1 = 0`` with ``A = zeta (1 - r) + b``: ``R = 2 / (sqrt(D) + A)`` if ``A >= 0`` else
  ``(sqrt(D) - A) / (2 r b zeta)``, ``D = A^2 + 4 r b zeta``; and ``S = (r zeta R^2 + R) / sqrt(D)``;
* ``r zeta Q^2 - C Q + zeta = 0`` with ``C = zeta (1 + r) + b``: ``Q`` is the smaller root
  ``2 zeta / (C + sqrt(C^2 - 4 r zeta^2))``, and ``T = -dQ/db = Q / sqrt(C^2 - 4 r zeta^2)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mp_R", "mp_S", "mp_Q", "mp_T", "mp_second", "negative_quadratic_root", "positive_quadratic_root"]



def mp_R(zeta: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``int dMP_r(s) / (zeta s + b)`` for ``zeta >= 0``, ``b > 0`` (stable closed form)."""
    A = zeta * (1.0 - r) + b
    D = _disc_R(zeta, b, r, A)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(A >= 0, 2.0 / (D + A), (D - A) / (2.0 * r * b * zeta))


def _disc_R(zeta: np.ndarray, b: np.ndarray, r: np.ndarray, A: np.ndarray) -> np.ndarray:
    """``sqrt(A^2 + 4 r b zeta)`` as a hypotenuse, so that it does not overflow for ``b`` up to ``1e308``."""
    return np.hypot(A, 2.0 * np.sqrt(r * zeta) * np.sqrt(b))


def mp_S(zeta: np.ndarray, b: np.ndarray, r: np.ndarray, R: np.ndarray | None = None) -> np.ndarray:
    """``int dMP_r(s) / (zeta s + b)^2 = -dR/db``."""
    A = zeta * (1.0 - r) + b
    D = _disc_R(zeta, b, r, A)
    if R is None:
        R = mp_R(zeta, b, r)
    return (r * zeta * R * R + R) / D


def mp_Q(zeta: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``int zeta s / (zeta s + b) dMP_r(s) = 1 - b R`` (stable: the smaller root of its quadratic)."""
    C = zeta * (1.0 + r) + b
    return 2.0 * zeta / (C + _disc_Q(zeta, b, r))


def _disc_Q(zeta: np.ndarray, b: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``sqrt(C^2 - 4 r zeta^2)``, ``C = zeta (1 + r) + b``, as ``sqrt(zeta (1 - sqrt r)^2 + b) sqrt(zeta (1 +
    sqrt r)^2 + b)``: no cancellation (both factors are sums of non-negative terms) and no overflow."""
    sr = np.sqrt(r)
    return np.sqrt(zeta * (1.0 - sr) ** 2 + b) * np.sqrt(zeta * (1.0 + sr) ** 2 + b)


def mp_T(zeta: np.ndarray, b: np.ndarray, r: np.ndarray, Q: np.ndarray | None = None) -> np.ndarray:
    """``int zeta s / (zeta s + b)^2 dMP_r(s) = R - b S = -dQ/db``."""
    C = zeta * (1.0 + r) + b
    sq = _disc_Q(zeta, b, r)
    if Q is None:
        Q = 2.0 * zeta / (C + sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sq > 0, Q / np.where(sq > 0, sq, 1.0), 0.0)


def mp_second(t: np.ndarray, r: np.ndarray) -> np.ndarray:
    r"""``int (s / (s + t))^2 dMP_r(s) = 1 - 2 t G_r(t) + t^2 K_r(t)`` for ``t > 0``, without the cancellation and the
    overflow of that form: it equals ``Q - t T`` (``zeta = 1``) ``= Q (sq - t) / sq`` with ``sq = sqrt(C^2 - 4 r)``,
    ``C = 1 + r + t``, and ``sq - t = ((1 - r)^2 + 2 (1 + r) t) / (sq + t)``."""
    sq = _disc_Q(1.0, t, r)
    Q = 2.0 / (1.0 + r + t + sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = Q * (((1.0 - r) ** 2 / sq + 2.0 * (1.0 + r) * (t / sq)) / (sq + t))
    return np.where(t == 0, np.minimum(1.0, 1.0 / r), out)  # t = 0: the mass off the atom


def positive_quadratic_root(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """The positive root of ``-A x^2 + B x + C = 0`` with ``A > 0``, ``C >= 0`` (unique: the product of the roots
    is ``-C/A <= 0``), computed without cancellation (and without overflow of ``B^2``)."""
    disc = np.hypot(B, 2.0 * np.sqrt(A) * np.sqrt(C))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(B >= 0, (B + disc) / (2.0 * A), 2.0 * C / (disc - B))


def negative_quadratic_root(A: np.ndarray, B: np.ndarray, C: np.ndarray) -> np.ndarray:
    """The negative root of ``A x^2 + B x + C = 0`` with ``A >= 0``, ``C < 0`` (unique when ``A > 0``: the product
    of the roots is ``C/A < 0``; the only root when ``A = 0 < -B``), computed without cancellation (and without
    overflow of ``B^2``)."""
    disc = np.hypot(B, 2.0 * np.sqrt(A) * np.sqrt(-C))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(B <= 0, 2.0 * C / (disc - B), -(B + disc) / (2.0 * A))
