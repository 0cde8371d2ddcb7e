r"""The eigensystem of the eigenframework: a kernel (or feature-covariance) spectrum and a target, and one problem
point of it (:class:`EigenProblem`), shared by the theory (:mod:`rmt.theory.eigen`, :mod:`rmt.theory.transfer`,
:mod:`rmt.theory.dynamics`) and the simulation (:mod:`rmt.montecarlo.eigen`), as :class:`rmt.problem.Problem` is for
random features.

The five spectral sums every eigenframework formula needs are :meth:`Eigensystem.spectral_sums` (direct sums over the
modes here; a compressed subclass in :mod:`rmt.theory.eigen` evaluates them in O(1) per point). Conventions and
equations: docs/models.md §6 (Simon et al. arXiv:2110.03922; Canatar, Bordelon & Pehlevan arXiv:2006.13198).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive, check_positive_int
from rmt.numerics import ArrayLike, readonly_array

__all__ = ["SUM_KEYS", "EigenProblem", "Eigensystem", "check_greater", "direct_sums"]

_CHUNK = 4_000_000  # points x modes per block when summing over modes


SUM_KEYS = ("z", "q", "zq", "b2", "bl")
"""The five spectral sums, in the order of the last axis of :func:`direct_sums`."""


def direct_sums(lam: np.ndarray, mult: np.ndarray, v2: np.ndarray, kappa: Any) -> np.ndarray:
    """The five sums ``(z, q, zq, b2, bl)`` of :meth:`Eigensystem.spectral_sums` without the flat part and the target
    tail, at ``kappa >= 0`` by direct summation over the modes (in blocks of :data:`_CHUNK` points x modes); shape
    ``kappa.shape + (5,)``. ``O(M)`` per point."""
    k = np.asarray(kappa, dtype=float).ravel()
    out = np.empty((k.size, 5))
    step = max(1, _CHUNK // max(lam.size, 1))
    for s in range(0, k.size, step):
        kk = k[s:s + step, None]
        den = lam + kk
        L = lam / den
        oml = kk / den
        mL = mult * L
        mv = mult * v2 * oml
        out[s:s + step] = np.stack([mL.sum(-1), (mL * L).sum(-1), (mL * oml).sum(-1), (mv * oml).sum(-1),
                                    (mv * L).sum(-1)], axis=-1)
    return out.reshape(np.shape(kappa) + (5,))


def _zeta(s: float, q: Any) -> Any:
    """Hurwitz zeta ``sum_{k >= 0} (k + q)^-s`` (scipy, imported on first use)."""
    from scipy.special import zeta

    return zeta(s, q)


@dataclass(frozen=True, eq=False)
class Eigensystem:
    r"""A kernel (or feature-covariance) eigensystem and a target, as the eigenframework needs them.

    Attributes:
        eigenvalues: distinct eigenvalues ``lambda_i > 0`` (1-d).
        target_power: ``v_i^2 >= 0``, the target power of *each* copy of mode ``i`` (Simon's ``v_i^2``; for linear
            features ``x ~ N(0, diag lambda)`` and ``f* = w*.x`` it is ``lambda_i w*_i^2``).
        multiplicities: ``m_i > 0`` (real numbers allowed); every sum over modes is weighted by them.
        flat_mass: total eigenvalue mass ``>= 0`` of a white continuum (infinitely many vanishing eigenvalues): it
            contributes ``flat_mass / kappa`` to ``df1`` and ``0`` to ``df2`` (docs/models.md §6.10; also the
            first-order effect of a truncated spectral tail).
        target_tail: target power ``>= 0`` outside the listed modes (learnability 0).

    Construct directly or with :meth:`power_law`, :meth:`isotropic`, :meth:`from_coefficients`,
    :meth:`mei_montanari`.

    Raises:
        ValueError: a non-positive eigenvalue or multiplicity, a negative target power, or mismatched lengths.
    """

    eigenvalues: np.ndarray
    target_power: np.ndarray
    multiplicities: np.ndarray = field(default=None)  # type: ignore[assignment]
    flat_mass: float = 0.0
    target_tail: float = 0.0

    def __post_init__(self) -> None:
        lam = check_positive(np.atleast_1d(np.asarray(self.eigenvalues, dtype=float)), "eigenvalues")
        if lam.ndim != 1:
            raise ValueError(f"eigenvalues must be a 1-d sequence, got shape {lam.shape}")
        v2 = check_nonnegative(np.atleast_1d(np.asarray(self.target_power, dtype=float)), "target_power")
        if v2.shape != lam.shape:
            raise ValueError(f"target_power must have one entry per eigenvalue ({lam.size}), got {v2.size}")
        if self.multiplicities is None:
            mult = np.ones_like(lam)
        else:
            mult = check_positive(np.atleast_1d(np.asarray(self.multiplicities, dtype=float)), "multiplicities")
            if mult.shape != lam.shape:
                raise ValueError(f"multiplicities must have one entry per eigenvalue ({lam.size}), got {mult.size}")
        flat = float(check_nonnegative(self.flat_mass, "flat_mass"))
        tail = float(check_nonnegative(self.target_tail, "target_tail"))
        object.__setattr__(self, "eigenvalues", readonly_array(lam))
        object.__setattr__(self, "target_power", readonly_array(v2))
        object.__setattr__(self, "multiplicities", readonly_array(mult))
        object.__setattr__(self, "flat_mass", flat)
        object.__setattr__(self, "target_tail", tail)

    # --- constructors ---------------------------------------------------------------------------------------
    @classmethod
    def from_coefficients(cls, eigenvalues: ArrayLike, coefficients: ArrayLike, multiplicities: ArrayLike = None,
                          **kw: Any) -> "Eigensystem":
        """From target coefficients ``v_i`` (signed) instead of their squares."""
        v = check_finite(np.atleast_1d(np.asarray(coefficients, dtype=float)), "coefficients")
        return cls(eigenvalues, v * v, multiplicities, **kw)

    @classmethod
    def isotropic(cls, d: float, signal: float = 1.0, eigenvalue: float = 1.0) -> "Eigensystem":
        """``d`` equal eigenvalues (``eigenvalue``, default 1) and a target of total power ``signal`` spread evenly:
        linear regression on ``x ~ N(0, I_d)`` with ``|w*|^2 = signal`` (Hastie et al. arXiv:1903.08560's ``r^2``;
        docs/models.md §6.4)."""
        d = float(check_positive(d, "d"))
        s = float(check_nonnegative(signal, "signal"))
        ev = float(check_positive(eigenvalue, "eigenvalue"))
        return cls([ev], [s / d], [d])

    @classmethod
    def power_law(cls, alpha: float, beta: float, modes: int, *, scale: float = 1.0, target_scale: float = 1.0,
                  tail: bool = False, exact_modes: int | None = None, bins_per_decade: int | None = None
                  ) -> "Eigensystem":
        r"""``lambda_i = scale * i^-alpha``, ``v_i^2 = target_scale * i^-beta`` for ``i = 1..modes`` (docs/models.md
        §6.5).

        Args:
            alpha: spectral decay ``> 1`` (a trace-class kernel).
            beta: target decay ``> 1`` (a square-integrable target).
            modes: truncation ``M``.
            tail: if True, the modes ``i > M`` are added in first order: their eigenvalue mass
                ``scale * zeta(alpha, M+1)`` as ``flat_mass`` and their target power
                ``target_scale * zeta(beta, M+1)`` as ``target_tail`` (Hurwitz zeta). This is accurate when
                ``lambda_M << kappa`` (docs/models.md §6.2, truncation); the neglected ``df2`` of the tail is
                ``sum_{i>M} (lambda_i/kappa)^2``.
            exact_modes, bins_per_decade: optional compression for very large ``M``: modes ``1..exact_modes`` are
                kept, the rest are grouped into logarithmic bins (``bins_per_decade`` per decade), each represented by
                one eigenvalue with the bin's exact mean ``lambda`` and multiplicity the bin size, and the bin's
                exact mean target power. Traces and total target power are exact; ``df1`` and the errors carry a
                relative error of order the squared relative spread of ``lambda`` within a bin.
        """
        a = float(check_greater(alpha, "alpha", 1.0))
        b = float(check_greater(beta, "beta", 1.0))
        m = check_positive_int(modes, "modes")
        sc = float(check_positive(scale, "scale"))
        tsc = float(check_nonnegative(target_scale, "target_scale"))
        if (exact_modes is None) != (bins_per_decade is None):
            raise ValueError("exact_modes and bins_per_decade must be given together")
        if exact_modes is None or exact_modes >= m:
            i = np.arange(1, m + 1, dtype=float)
            lam, v2, mult = i ** -a, i ** -b, np.ones(m)
        else:
            e = check_positive_int(exact_modes, "exact_modes")
            bpd = check_positive_int(bins_per_decade, "bins_per_decade")
            edges = np.unique(np.round(np.geomspace(e + 1, m + 1, max(2, int(math.ceil(
                bpd * math.log10((m + 1) / (e + 1)))) + 1))).astype(np.int64))
            edges[0], edges[-1] = e + 1, m + 1
            lo, hi = edges[:-1], edges[1:]  # bin = [lo, hi)
            cnt = (hi - lo).astype(float)
            lam_sum = _zeta(a, lo) - _zeta(a, hi)
            v2_sum = _zeta(b, lo) - _zeta(b, hi)
            i = np.arange(1, e + 1, dtype=float)
            lam = np.concatenate([i ** -a, lam_sum / cnt])
            v2 = np.concatenate([i ** -b, v2_sum / cnt])
            mult = np.concatenate([np.ones(e), cnt])
        flat = sc * float(_zeta(a, m + 1)) if tail else 0.0
        ttail = tsc * float(_zeta(b, m + 1)) if tail else 0.0
        return cls(sc * lam, tsc * v2, mult, flat_mass=flat, target_tail=ttail)

    @classmethod
    def mei_montanari(cls, d: float, mu1: float, mu_star2: float, *, F1_2: float = 1.0,
                      mu0: float = 0.0) -> "Eigensystem":
        r"""The eigensystem that maps Mei & Montanari's random-feature model (arXiv:1908.05355) onto the RF
        eigenframework (docs/models.md §6.10): ``d`` linear modes of eigenvalue ``mu1^2 / d``
        carrying the linear target power ``F1_2`` evenly, a white part of total mass ``mu_star^2`` (``flat_mass``), and
        optionally the constant mode ``mu0^2`` with no target power.

        Use with ``n = psi2 * d``, ``p = psi1 * d``, ``ridge = psi2 * lambda_MM`` and ``noise = tau^2 + F_star^2``;
        then MM's ``R = F1^2 B + (tau^2 + F_star^2) V + F_star^2`` is ``test_error`` (excess, with the nonlinear
        target power counted as noise), and ``V = E0 - 1``. Without the constant mode the result depends on
        ``(psi1, psi2, lambda)`` only.
        """
        d = float(check_positive(d, "d"))
        m1 = float(check_positive(mu1, "mu1"))
        ms = float(check_nonnegative(mu_star2, "mu_star2"))
        f1 = float(check_nonnegative(F1_2, "F1_2"))
        m0 = float(check_nonnegative(abs(mu0), "mu0"))
        lam, v2, mult = [m1 * m1 / d], [f1 / d], [d]
        if m0 > 0:
            lam, v2, mult = lam + [m0 * m0], v2 + [0.0], mult + [1.0]
        return cls(lam, v2, mult, flat_mass=ms)

    # --- properties -----------------------------------------------------------------------------------------
    @property
    def trace(self) -> float:
        """``sum_i m_i lambda_i + flat_mass``."""
        return float(self.multiplicities @ self.eigenvalues) + self.flat_mass

    @property
    def signal(self) -> float:
        """Total target power ``sum_i m_i v_i^2 + target_tail`` (``||f*||^2``)."""
        return float(self.multiplicities @ self.target_power) + self.target_tail

    @property
    def rank(self) -> float:
        """Number of modes ``sum_i m_i`` (``inf`` with a flat part)."""
        return math.inf if self.flat_mass > 0 else float(self.multiplicities.sum())

    @property
    def size(self) -> int:
        """Number of distinct eigenvalues stored."""
        return int(self.eigenvalues.size)

    def df1(self, kappa: ArrayLike) -> np.ndarray:
        """``df1(kappa) = sum_i m_i lambda_i / (lambda_i + kappa) + flat_mass / kappa`` (vectorized, kappa > 0)."""
        k = check_positive(kappa, "kappa")
        return self.spectral_sums(k)["z"]

    def df2(self, kappa: ArrayLike) -> np.ndarray:
        """``df2(kappa) = sum_i m_i lambda_i^2 / (lambda_i + kappa)^2`` (vectorized, kappa > 0)."""
        k = check_positive(kappa, "kappa")
        return self.spectral_sums(k)["q"]

    def spectral_sums(self, kappa: ArrayLike) -> dict[str, np.ndarray]:
        r"""The five mode sums the eigenframework needs, at ``kappa >= 0`` (any shape):

        * ``z  = sum m L + flat/kappa``                     (``df1``)
        * ``q  = sum m L^2``                                (``df2``)
        * ``zq = sum m L (1 - L) + flat/kappa``             (``z - q``, evaluated without cancellation)
        * ``b2 = sum m v^2 (1 - L)^2 + tail``               (bias of the mean predictor)
        * ``bl = sum m v^2 L (1 - L)``                      (``sum v^2 (1-L) - b2``)

        with ``L = lambda / (lambda + kappa)`` and ``1 - L = kappa / (lambda + kappa)``; at ``kappa = 0`` ``L = 1``
        (only meaningful without a flat part).
        """
        kappa = np.asarray(kappa, dtype=float)
        sums = direct_sums(self.eigenvalues, self.multiplicities, self.target_power, kappa)
        return self.with_flat_and_tail(dict(zip(SUM_KEYS, np.moveaxis(sums, -1, 0))), kappa)

    def with_flat_and_tail(self, sums: dict[str, np.ndarray], kappa: np.ndarray) -> dict[str, np.ndarray]:
        """The sums over the listed modes completed by the flat part (``flat_mass / kappa`` in ``z`` and ``zq``) and
        the target tail (in ``b2``): what :meth:`spectral_sums` returns, for any way of summing the listed modes."""
        out = dict(sums)
        if self.flat_mass > 0:
            with np.errstate(divide="ignore"):
                fk = self.flat_mass / kappa
            out["z"] = out["z"] + fk
            out["zq"] = out["zq"] + fk
        out["b2"] = out["b2"] + self.target_tail
        return out

    def expanded(self) -> tuple[np.ndarray, np.ndarray]:
        """``(eigenvalues, target_power)`` with every mode repeated by its (integer) multiplicity, for simulation.

        Raises:
            ValueError: non-integer multiplicities or a flat part (a simulation needs finitely many modes).
        """
        if self.flat_mass > 0 or self.target_tail > 0:
            raise ValueError("flat_mass and target_tail must be 0 to expand an eigensystem into finitely many modes")
        mult = self.multiplicities
        if np.any(mult != np.round(mult)):
            raise ValueError("multiplicities must be integers to expand an eigensystem")
        reps = mult.astype(np.int64)
        return np.repeat(self.eigenvalues, reps), np.repeat(self.target_power, reps)

    def as_dict(self) -> dict[str, Any]:
        return {"eigenvalues": self.eigenvalues.tolist(), "target_power": self.target_power.tolist(),
                "multiplicities": self.multiplicities.tolist(), "flat_mass": self.flat_mass,
                "target_tail": self.target_tail}


def check_greater(value: Any, name: str, lo: float) -> np.ndarray:
    """Values must be finite and ``> lo``."""
    arr = check_finite(value, name)
    if np.any(arr <= lo):
        bad = float(arr[arr <= lo].ravel()[0])
        raise ValueError(f"{name} must be > {lo}, got {bad!r}")
    return arr


@dataclass(frozen=True, eq=False)
class EigenProblem:
    """One eigenframework problem: an eigensystem, sizes, ridge and noise (``p=None``: KRR; else RF with ``p``
    features). The same object is accepted by :func:`montecarlo.eigen.simulate_eigen` (duck-typed: it reads
    ``system.expanded()``, ``n``, ``p``, ``ridge``, ``noise``), so theory and simulation share one description.

    Raises:
        ValueError: bad sizes, ridge or noise.
    """

    system: Eigensystem
    n: float
    ridge: float
    noise: float = 0.0
    p: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.system, Eigensystem):
            raise ValueError("system must be an Eigensystem")
        object.__setattr__(self, "n", float(check_positive(self.n, "n")))
        object.__setattr__(self, "ridge", float(check_nonnegative(self.ridge, "ridge")))
        object.__setattr__(self, "noise", float(check_nonnegative(self.noise, "noise")))
        if self.p is not None:
            object.__setattr__(self, "p", float(check_positive(self.p, "p")))

    @property
    def model(self) -> str:
        return "krr" if self.p is None else "rf"

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "n": self.n, "p": self.p, "ridge": self.ridge, "noise": self.noise,
                "modes": int(self.system.rank) if math.isfinite(self.system.rank) else "inf",
                "signal": self.system.signal, "trace": self.system.trace}
