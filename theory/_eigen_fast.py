r"""A compressed eigensystem: the eigenframework's spectral sums at a cost per point that does not grow with the
number of modes.

Every quantity of the KRR and random-feature eigenframework (Simon, Dickens, Karkada & DeWeese arXiv:2110.03922;
Canatar, Bordelon & Pehlevan arXiv:2006.13198; Simon, Karkada, Ghosh & Belkin arXiv:2311.14646; Atanasov,
Zavatone-Veth & Pehlevan arXiv:2405.00592) is a rational function of five sums over modes at one effective
regularisation ``kappa`` (with ``L = lambda/(lambda + kappa)``):

    ``z = sum m L``, ``q = sum m L^2``, ``zq = sum m L (1 - L)``, ``b2 = sum m v^2 (1 - L)^2``,
    ``bl = sum m v^2 L (1 - L)``.

Evaluated directly they cost ``O(M)`` per ``kappa``. As functions of ``t = log kappa`` each term is
``g(t - log lambda)`` with ``g`` analytic in the strip ``|Im t| < pi`` (the poles of ``1/(1 + e^s)`` lie at
``s = i pi (2k + 1)``), whatever the eigenvalues are. The sums are therefore represented, after one ``O(M)``
precomputation per spectrum, by

* piecewise Chebyshev interpolants in ``t`` on ``[log lambda_min - 3, log lambda_max + 3]``, on pieces of width
  at most 2: the Bernstein ellipse of a piece reaches ``|Im t| = 2.4`` (parameter ``rho = 5``), so degree 28
  resolves every sum to about ``5^-28 ~ 3e-20`` of its size on the piece (a sum changes by at most a factor
  ``e^4`` across a piece, so the error is also small relative to the local value);
* outside that interval, the convergent expansions in ``kappa / lambda`` (below ``lambda_min e^-3``) or
  ``lambda / kappa`` (above ``lambda_max e^3``), e.g. ``L = sum_k (-kappa/lambda)^k``, whose coefficients are
  power moments of the spectrum; the ratio is at most ``e^-3``, so 18 terms leave a relative error below
  ``1e-20``. ``kappa = 0`` (ridgeless, rank ``<= n``) is the expansion's exact leading term.

The build checks the interpolants against direct sums at points between the nodes of every piece and halves the
piece width until the worst relative error is below ``tol`` (default ``1e-13``); it raises
:class:`rmt.solvers.SolverError` if that fails. The flat part (``flat_mass / kappa``) and the target tail are added
exactly.

Use through :func:`rmt.theory.eigen.compress`: ``krr(compress(system), n, ridge)`` gives the same numbers as
``krr(system, n, ridge)`` (the direct sums remain the reference the compressed path is tested against) at a cost
per point independent of ``M``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmt.eigensystem import SUM_KEYS as _KEYS
from rmt.eigensystem import Eigensystem, direct_sums
from rmt.solvers import SolverError, Status

__all__ = ["CompressedEigensystem"]

_MARGIN = 3.0  # expansions are used beyond e^3 from the spectrum's ends (ratio <= e^-3)
_TERMS = 18  # expansion terms


def _cheb_nodes(degree: int) -> np.ndarray:
    return np.cos(math.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))


def _cheb_coefficients(values: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients from values at first-kind nodes; ``values`` shape ``(..., N+1, 5)`` ->
    ``(..., 5, N+1)``."""
    n1 = values.shape[-2]
    j = np.arange(n1)
    C = np.cos(math.pi * np.outer(np.arange(n1), j + 0.5) / n1) * (2.0 / n1)
    C[0] *= 0.5
    return np.einsum("kj,...jc->...ck", C, values)


def _clenshaw(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_k coef[..., k] T_k(x)`` for ``coef`` shape ``(P, C, N+1)`` and ``x`` shape ``(P,)`` -> ``(P, C)``."""
    x2 = 2.0 * x[:, None]
    b1 = np.zeros(coef.shape[:2])
    b2 = np.zeros(coef.shape[:2])
    for k in range(coef.shape[-1] - 1, 0, -1):
        b1, b2 = coef[..., k] + x2 * b1 - b2, b1
    return coef[..., 0] + 0.5 * x2 * b1 - b2


@dataclass(frozen=True)
class _Tables:
    t0: float
    width: float
    pieces: int
    coef: np.ndarray  # (pieces, 5, degree+1)
    lam_min: float
    lam_max: float
    low: np.ndarray  # (5, TERMS) series coefficients in s = kappa / lam_min
    high: np.ndarray  # (5, TERMS) series coefficients in u = lam_max / kappa (leading power per sum below)
    sorted_lam: np.ndarray
    cum_mult: np.ndarray
    max_error: float


def _series(lam: np.ndarray, mult: np.ndarray, v2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients of the small- and large-``kappa`` expansions (see the module docstring)."""
    K = _TERMS
    k = np.arange(K)
    sign = (-1.0) ** k
    r_lo = lam.min() / lam  # <= 1
    r_hi = lam / lam.max()  # <= 1
    pw_lo = r_lo[None, :] ** np.arange(K + 2)[:, None]  # (K+2, M)
    pw_hi = r_hi[None, :] ** np.arange(K + 2)[:, None]
    P_lo, Q_lo = pw_lo @ mult, pw_lo @ (mult * v2)
    P_hi, Q_hi = pw_hi @ mult, pw_hi @ (mult * v2)
    # small kappa, s = kappa/lam_min:  z = sum (-s)^k P_k ; q = sum (k+1)(-s)^k P_k ;
    # zq = sum (k+1)(-1)^k s^(k+1) P_(k+1) ; b2 = sum (k+1)(-1)^k s^(k+2) Q_(k+2) ; bl = ... s^(k+1) Q_(k+1)
    low = np.stack([sign * P_lo[k], (k + 1) * sign * P_lo[k], (k + 1) * sign * P_lo[k + 1],
                    (k + 1) * sign * Q_lo[k + 2], (k + 1) * sign * Q_lo[k + 1]])
    # large kappa, u = lam_max/kappa:  z = sum (-1)^k u^(k+1) P_(k+1) ; q = sum (k+1)(-1)^k u^(k+2) P_(k+2) ;
    # zq = sum (k+1)(-1)^k u^(k+1) P_(k+1) ; b2 = sum (k+1)(-1)^k u^k Q_k ; bl = sum (k+1)(-1)^k u^(k+1) Q_(k+1)
    high = np.stack([sign * P_hi[k + 1], (k + 1) * sign * P_hi[k + 2], (k + 1) * sign * P_hi[k + 1],
                     (k + 1) * sign * Q_hi[k], (k + 1) * sign * Q_hi[k + 1]])
    return low, high


# leading power of s (low side) and u (high side) of each sum
_LOW_SHIFT = np.array([0, 0, 1, 2, 1])
_HIGH_SHIFT = np.array([1, 2, 1, 0, 1])


def _eval_series(coef: np.ndarray, shift: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``sum_k coef[c, k] r^(k + shift[c])`` for ``r`` shape ``(P,)`` -> ``(P, 5)`` (Horner)."""
    acc = np.zeros((r.size, coef.shape[0]))
    for k in range(coef.shape[1] - 1, -1, -1):
        acc = acc * r[:, None] + coef[:, k]
    return acc * r[:, None] ** shift


def _build(lam: np.ndarray, mult: np.ndarray, v2: np.ndarray, degree: int, width: float, tol: float) -> _Tables:
    low, high = _series(lam, mult, v2)
    lmin, lmax = float(lam.min()), float(lam.max())
    t0, t1 = math.log(lmin) - _MARGIN, math.log(lmax) + _MARGIN
    order = np.argsort(-lam)
    nodes = _cheb_nodes(degree)
    probe = np.array([-0.93, -0.41, 0.17, 0.66, 0.999])  # between nodes, not at them
    worst = math.inf
    for _ in range(6):
        J = max(1, int(math.ceil((t1 - t0) / width)))
        h = (t1 - t0) / J
        mids = t0 + h * (np.arange(J) + 0.5)
        t_nodes = mids[:, None] + 0.5 * h * nodes[None, :]
        vals = direct_sums(lam, mult, v2, np.exp(t_nodes))  # (J, N+1, 5)
        coef = _cheb_coefficients(vals)
        t_probe = (mids[:, None] + 0.5 * h * probe[None, :]).ravel()
        exact = direct_sums(lam, mult, v2, np.exp(t_probe))
        jj = np.repeat(np.arange(J), probe.size)
        approx = _clenshaw(coef[jj], np.tile(probe, J))
        scale = np.where(exact > 0, exact, 1.0)
        err = np.abs(approx - exact) / scale
        # a sum that is identically 0 (no target power) must be approximated by 0 up to rounding of its siblings
        err = np.where(exact > 0, err, np.abs(approx) / np.maximum(exact.max(axis=0, initial=0.0), 1e-300))
        worst = float(err.max())
        if worst <= tol:
            return _Tables(t0=t0, width=h, pieces=J, coef=coef, lam_min=lmin, lam_max=lmax, low=low, high=high,
                           sorted_lam=lam[order], cum_mult=np.cumsum(mult[order]), max_error=worst)
        width *= 0.5
    raise SolverError(f"compressed eigensystem: interpolation error {worst:.3g} > tol = {tol:.3g} after refining",
                      residual=worst, status=Status.MAX_ITERATIONS)


@dataclass(frozen=True, eq=False)
class CompressedEigensystem(Eigensystem):
    r"""An :class:`~rmt.theory.eigen.Eigensystem` whose spectral sums are evaluated from a precomputed compressed
    representation (module docstring): ``O(1)`` in the number of modes per ``kappa`` after an ``O(M)`` build.

    It is an ``Eigensystem`` (same fields, same validation), so :func:`~rmt.theory.eigen.krr`,
    :func:`~rmt.theory.eigen.rf`, :func:`~rmt.theory.eigen.solve_kappa`, ``df1`` etc. accept it unchanged and use
    the compressed sums.

    Attributes (besides the eigensystem's):
        degree: Chebyshev degree per piece (default 28).
        width: initial piece width in ``log kappa`` (default 2; halved at build time until ``tol`` holds).
        tol: largest relative error of any sum at the build-time probes (default ``1e-13``).

    Raises:
        ValueError: as :class:`Eigensystem`, or a bad ``degree``/``width``/``tol``.
        SolverError: the interpolants could not reach ``tol``.
    """

    degree: int = 28
    width: float = 2.0
    tol: float = 1e-13
    tables: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if int(self.degree) != self.degree or not 4 <= self.degree <= 200:
            raise ValueError(f"degree must be an integer in [4, 200], got {self.degree!r}")
        if not (math.isfinite(self.width) and self.width > 0):
            raise ValueError(f"width must be positive, got {self.width!r}")
        if not (math.isfinite(self.tol) and self.tol > 0):
            raise ValueError(f"tol must be positive, got {self.tol!r}")
        object.__setattr__(self, "tables", _build(self.eigenvalues, self.multiplicities, self.target_power,
                                                  int(self.degree), float(self.width), float(self.tol)))

    @classmethod
    def from_system(cls, system: Eigensystem, **kw: Any) -> "CompressedEigensystem":
        """Compress an existing eigensystem (keyword arguments: ``degree``, ``width``, ``tol``)."""
        if not isinstance(system, Eigensystem):
            raise ValueError("system must be an Eigensystem")
        return cls(system.eigenvalues, system.target_power, system.multiplicities, flat_mass=system.flat_mass,
                   target_tail=system.target_tail, **kw)

    @property
    def build_error(self) -> float:
        """Worst relative error of the interpolants at the build-time probes."""
        return self.tables.max_error

    def _raw(self, kappa: np.ndarray, keys: slice) -> np.ndarray:
        tb: _Tables = self.tables
        k = np.asarray(kappa, dtype=float).ravel()
        out = np.empty((k.size, 5))[:, keys]
        with np.errstate(divide="ignore"):
            t = np.log(k)
        low = t < tb.t0
        high = t > tb.t0 + tb.pieces * tb.width
        mid = ~(low | high)
        if np.any(low):
            out[low] = _eval_series(tb.low[keys], _LOW_SHIFT[keys], k[low] / tb.lam_min)
        if np.any(high):
            out[high] = _eval_series(tb.high[keys], _HIGH_SHIFT[keys], tb.lam_max / k[high])
        if np.any(mid):
            u = (t[mid] - tb.t0) / tb.width
            j = np.minimum(u.astype(np.int64), tb.pieces - 1)
            x = 2.0 * (u - j) - 1.0
            out[mid] = _clenshaw(tb.coef[j][:, keys], x)
        return out

    def spectral_sums(self, kappa: Any) -> dict[str, np.ndarray]:
        """The five sums ``z, q, zq, b2, bl`` at ``kappa >= 0`` (any shape), flat part and target tail included
        (the contract of the direct sums in :mod:`rmt.theory.eigen`)."""
        kappa = np.asarray(kappa, dtype=float)
        raw = self._raw(kappa, slice(0, 5))
        return self.with_flat_and_tail({key: raw[:, c].reshape(kappa.shape) for c, key in enumerate(_KEYS)}, kappa)

    def spectral_z(self, kappa: Any) -> np.ndarray:
        """``df1(kappa) = z`` alone (flat part included): the function the ``kappa`` and ``gamma`` solves call."""
        kappa = np.asarray(kappa, dtype=float)
        z = self._raw(kappa, slice(0, 1))[:, 0].reshape(kappa.shape)
        if self.flat_mass > 0:
            with np.errstate(divide="ignore"):
                z = z + self.flat_mass / kappa
        return z

    def descending(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues in decreasing order and their cumulative multiplicities (precomputed once)."""
        return self.tables.sorted_lam, self.tables.cum_mult
