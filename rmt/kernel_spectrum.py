r"""Limiting spectrum of the nonlinear random-feature Gram matrix ``K = F^T F / n1``.

``F = sigma(W X / sqrt(n0))`` with ``W`` (n1 x n0) and ``X`` (n0 x m) i.i.d. standard Gaussian and ``sigma`` centred
(Pennington & Worah 2017, "Nonlinear random matrix theory for deep learning", in the scaling of Adlam & Pennington
2020). The Stieltjes transform ``s(z) = (1/m) tr (K - z)^-1`` equals ``tau1`` of Adlam-Pennington at ``gamma = -z``,
and ``tau1`` is a root of the quartic obtained by eliminating ``tau2`` from the equations (S67)/(S68)
(docs/models.md §3.6, §3.7). The quartic is *derived here* from (S67)/(S68) with
:func:`rmt.symbolic.eliminate`, not typed in.

Ratios ``phi = n0/m`` and ``psi = n0/n1``; activation constants ``eta = Var sigma(z)`` and ``zeta = (E sigma'(z))^2``.

* Density: ``rho(x) = Im s(x + i0) / pi``, the root continued from ``s(z) ~ -1/z`` at large ``Im z``
  (:func:`rmt.solvers.stieltjes_roots`). An atom of mass ``(1 - n1/m)_+ = (1 - phi/psi)_+`` sits at zero.
* Support edges: branch points of the quartic, i.e. real roots of its discriminant in ``tau1`` (a quintic in
  ``gamma`` after removing the spurious factor ``gamma^4``), kept where the density changes between zero and
  positive. For a linear activation (``eta = zeta``) the quartic degenerates to a cubic, the rank of ``K`` drops to
  ``min(n0, n1, m)`` and edges are located by a density scan instead.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from rmt._validation import check_nonnegative, check_positive
from rmt.activations import ActivationLike, constants, get_activation
from rmt.solvers import Solution, polyroots, stieltjes_roots
from rmt.symbolic import EliminationResult, eliminate

__all__ = [
    "KernelSpectrum",
    "ap_equations",
    "kernel_atom",
    "kernel_density",
    "kernel_stieltjes",
    "kernel_support",
    "rf_kernel_polynomial",
    "rf_kernel_spectrum",
]

PHI, PSI, GAMMA, ETA, ZETA, TAU1, TAU2 = sp.symbols("phi psi gamma eta zeta tau1 tau2")


def ap_equations() -> tuple[sp.Expr, sp.Expr]:
    r"""Adlam & Pennington's coupled equations (S67) and (S68) for ``tau1, tau2`` (docs/models.md §3.6).

    (S67) ``phi [zeta tau1 tau2 + phi (tau2 - tau1)] + psi zeta tau1 tau2 (gamma tau1 - 1) = 0``;
    (S68) ``phi (tau2 - tau1) [zeta (tau2 - tau1) + eta tau1] - zeta tau1 tau2 (gamma tau1 - 1) = 0``.
    """
    s67 = PHI * (ZETA * TAU1 * TAU2 + PHI * (TAU2 - TAU1)) + PSI * ZETA * TAU1 * TAU2 * (GAMMA * TAU1 - 1)
    s68 = PHI * (TAU2 - TAU1) * (ZETA * (TAU2 - TAU1) + ETA * TAU1) - ZETA * TAU1 * TAU2 * (GAMMA * TAU1 - 1)
    return s67, s68


@functools.lru_cache(maxsize=None)
def rf_kernel_polynomial() -> EliminationResult:
    """The quartic in ``tau1`` (parameters ``phi, psi, gamma, eta, zeta``), eliminated from (S67)/(S68)."""
    return eliminate(ap_equations(), TAU1, [TAU2], parameters=[PHI, PSI, GAMMA, ETA, ZETA], method="resultant")


@functools.lru_cache(maxsize=None)
def _edge_polynomial() -> tuple[Any, int]:
    """Lambdified coefficients (in ``gamma``) of the non-trivial factor of the quartic's discriminant."""
    quartic = rf_kernel_polynomial().expr
    disc = sp.discriminant(quartic, TAU1)
    _, factors = sp.factor_list(disc)
    keep = [f for f, _ in factors if f.has(GAMMA) and len(sp.Poly(f, GAMMA).terms()) > 1]
    poly = sp.Poly(sp.Mul(*keep), GAMMA)
    fn = sp.lambdify((PHI, PSI, ETA, ZETA), poly.all_coeffs(), modules="numpy")
    return fn, poly.degree()


def _coeff_fn(phi: float, psi: float, eta: float, zeta: float):
    poly = rf_kernel_polynomial()

    def coeffs(z: np.ndarray) -> np.ndarray:
        return poly.coefficients(phi, psi, -np.asarray(z, dtype=complex), eta, zeta)

    return coeffs


def _check(phi: Any, psi: Any, eta: Any, zeta: Any) -> tuple[float, float, float, float]:
    phi = float(check_positive(phi, "phi"))
    psi = float(check_positive(psi, "psi"))
    eta = float(check_positive(eta, "eta"))
    zeta = float(check_nonnegative(zeta, "zeta"))
    if zeta > eta * (1 + 1e-12):
        raise ValueError(f"zeta must not exceed eta (zeta = mu1^2 <= Var sigma), got zeta={zeta}, eta={eta}")
    return phi, psi, eta, min(zeta, eta)


def kernel_stieltjes(z: Any, phi: float, psi: float, eta: float, zeta: float, *, throw: bool = True,
                     final_imag: float = 1e-10) -> Solution:
    """``s(z) = lim (1/m) tr (F^T F / n1 - z)^-1`` at complex ``z`` (``Im z`` is raised to at least
    ``final_imag``).

    Branch rule: continued from ``s(z) ~ -1/z`` at ``Im z = 1e4`` (see :func:`rmt.solvers.stieltjes_roots`).
    """
    phi, psi, eta, zeta = _check(phi, psi, eta, zeta)
    return stieltjes_roots(_coeff_fn(phi, psi, eta, zeta), z, throw=throw, final_imag=final_imag)


def kernel_density(x: Any, phi: float, psi: float, eta: float, zeta: float) -> np.ndarray:
    """Density of the continuous part of the spectrum of ``F^T F / n1`` at ``x > 0``.

    Evaluated at ``z = x (1 + 1e-12 i)``: an offset relative to ``x`` keeps the atom at zero from leaking into the
    density near the origin.
    """
    x = np.asarray(x, dtype=float)
    sol = kernel_stieltjes(x * (1 + 1e-12j), phi, psi, eta, zeta, final_imag=1e-300)
    return np.clip(np.asarray(sol.value).imag / np.pi, 0.0, None)


def kernel_atom(phi: float, psi: float, eta: float, zeta: float) -> float:
    """Mass at zero: ``1 - rank/m`` with rank ``min(n1, m)``, or ``min(n0, n1, m)`` for a linear activation."""
    rank = min(phi / psi, 1.0) if eta > zeta else min(phi / psi, phi, 1.0)
    return max(1.0 - rank, 0.0)


def _edges_from_positivity(points: np.ndarray, positive: np.ndarray) -> list[float]:
    """Support edges from candidate points sorted ascending and positivity of the density between them
    (``positive[k]`` refers to the gap to the left of ``points[k]``; the last entry to the right of the last point)."""
    edges: list[float] = []
    for k, c in enumerate(points):
        if positive[k] != positive[k + 1]:
            edges.append(float(c))
    return edges


def kernel_support(phi: float, psi: float, eta: float, zeta: float) -> tuple[tuple[float, float], ...]:
    """Intervals of the continuous support.

    The edges are the real roots of the discriminant's quintic (``x = -gamma > 0``) at which the density switches
    between zero and positive (tested at the midpoints between candidates); a coarse density scan then confirms that
    no positive density lies outside the result. Where the discriminant is degenerate (linear activation) or the
    confirmation fails, the edges come from the scan, refined by bisection on the positivity of the density.
    """
    phi, psi, eta, zeta = _check(phi, psi, eta, zeta)
    fn, _ = _edge_polynomial()
    coeffs = np.array([float(c) for c in np.broadcast_arrays(*fn(phi, psi, eta, zeta))])
    candidates: list[float] = []
    if np.count_nonzero(np.abs(coeffs) > 1e-14 * np.abs(coeffs).max(initial=0.0)) > 1:
        for g in polyroots(coeffs):
            if np.isfinite(g) and abs(g.imag) <= 1e-7 * max(1.0, abs(g)) and -g.real > 0:
                candidates.append(-g.real)
    candidates = sorted(set(candidates))
    # a generous upper bound of the spectrum (its mean is eta)
    top = max([eta * (1 + np.sqrt(1.0 / phi)) ** 2 * (1 + np.sqrt(psi / phi)) ** 2 + eta,
               *[1.2 * c for c in candidates]])
    scan = np.geomspace(1e-9 * top, 2 * top, 801)
    rho_scan = kernel_density(scan, phi, psi, eta, zeta)
    thresh = 1e-7 * rho_scan.max()

    def support_from(edges: list[float]) -> tuple[tuple[float, float], ...] | None:
        if len(edges) % 2:
            return None
        out = tuple((edges[k], edges[k + 1]) for k in range(0, len(edges), 2))
        inside = np.zeros(scan.shape, dtype=bool)
        for a, b in out:
            inside |= (scan >= a * (1 - 1e-6)) & (scan <= b * (1 + 1e-6))
        return out if not np.any((rho_scan > thresh) & ~inside) and out else None

    if candidates:
        pts = np.array(candidates)
        mids = np.concatenate([[pts[0] * 1e-6], np.sqrt(pts[:-1] * pts[1:]) if pts.size > 1 else [], [2 * pts[-1]]])
        positive = kernel_density(mids, phi, psi, eta, zeta) > thresh
        edges = _edges_from_positivity(pts, positive)
        if positive[0]:
            edges.insert(0, 0.0)
        found = support_from(edges)
        if found is not None:
            return found
    # fallback: transitions of the scan, refined by bisection
    pos = rho_scan > thresh
    edges = []
    for i in np.flatnonzero(np.diff(pos.astype(int)) != 0):
        lo, hi = scan[i], scan[i + 1]
        for _ in range(60):
            mid = np.sqrt(lo * hi)
            if (kernel_density(np.array([mid]), phi, psi, eta, zeta)[0] > thresh) == pos[i]:
                lo = mid
            else:
                hi = mid
        edges.append(float(np.sqrt(lo * hi)))
    if pos[0]:
        edges.insert(0, 0.0)
    found = support_from(edges)
    if found is None:
        raise ArithmeticError(f"kernel_support: could not delimit the support at phi={phi}, psi={psi} "
                              f"(edges {edges})")
    return found


@dataclass(frozen=True)
class KernelSpectrum:
    """The limiting spectrum of ``F^T F / n1`` on a grid.

    Attributes:
        phi, psi: ratios ``n0/m`` and ``n0/n1``.
        activation: activation name; ``eta``, ``zeta`` its constants.
        support: intervals of the continuous part.
        atom: mass at zero, ``max(1 - n1/m, 0)`` (``max(1 - min(n0, n1)/m, 0)`` for a linear activation).
        x, density: grid covering the support and the density there.
        continuous_mass: integral of the density (should be ``1 - atom``).
    """

    phi: float
    psi: float
    activation: str
    eta: float
    zeta: float
    support: tuple[tuple[float, float], ...]
    atom: float
    x: np.ndarray
    density: np.ndarray
    continuous_mass: float

    @property
    def edges(self) -> list[float]:
        return [e for interval in self.support for e in interval]

    def cdf(self, t: Any) -> np.ndarray:
        """Cumulative distribution (atom included) by trapezoidal integration of the density on :attr:`x`."""
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (self.density[1:] + self.density[:-1]) * np.diff(self.x))])
        t = np.asarray(t, dtype=float)
        return np.where(t >= 0, self.atom, 0.0) + np.interp(t, self.x, cum, left=0.0, right=cum[-1])

    def as_dict(self) -> dict[str, Any]:
        return {"phi": self.phi, "psi": self.psi, "activation": self.activation, "eta": self.eta,
                "zeta": self.zeta, "support": [list(s) for s in self.support], "edges": self.edges,
                "atom": self.atom, "continuous_mass": self.continuous_mass, "x": self.x.tolist(),
                "density": self.density.tolist()}


def _support_grid(support: tuple[tuple[float, float], ...], points: int) -> np.ndarray:
    """Points clustered at the edges (square-root behaviour) within each support interval."""
    total = sum(b - a for a, b in support)
    pieces = []
    for a, b in support:
        n = max(16, int(points * (b - a) / total))
        u = np.linspace(0.0, np.pi, n)
        pieces.append(a + (b - a) * 0.5 * (1 - np.cos(u)))
        if a == 0.0:  # hard edge at the origin (n1 = m): integrable x^(-1/2) singularity, resolve it geometrically
            pieces.append(np.geomspace(1e-12 * b, pieces[-1][1], 40))
    return np.unique(np.concatenate(pieces))


def rf_kernel_spectrum(phi: float, psi: float, activation: ActivationLike = "relu", *, points: int = 400
                       ) -> KernelSpectrum:
    """Limiting spectrum of ``F^T F / n1`` for an activation (support, atom and density on a grid).

    Args:
        phi: ``n0 / m``.
        psi: ``n0 / n1``.
        activation: name or callable; its ``eta`` and ``zeta`` enter (the mean ``mu0`` is removed: the formula is for
            the centred activation).
        points: approximate number of grid points (clustered at the edges).

    Example:
        >>> s = rf_kernel_spectrum(0.5, 0.8, "relu")
        >>> round(s.atom, 6), round(s.continuous_mass, 3)
        (0.375, 0.625)
    """
    act = get_activation(activation)
    c = constants(act)
    eta, zeta = float(c.eta), float(c.zeta)
    phi, psi, eta, zeta = _check(phi, psi, eta, zeta)
    support = kernel_support(phi, psi, eta, zeta)
    x = _support_grid(support, max(int(points), 32))
    interior = np.zeros_like(x, dtype=bool)
    for a, b in support:
        interior |= (x > a) & (x < b)
    dens = np.zeros_like(x)
    dens[interior] = kernel_density(x[interior], phi, psi, eta, zeta)
    mass = float(np.sum(0.5 * (dens[1:] + dens[:-1]) * np.diff(x)))
    return KernelSpectrum(phi=phi, psi=psi, activation=act.name, eta=eta, zeta=zeta, support=support,
                          atom=kernel_atom(phi, psi, eta, zeta), x=x, density=dens, continuous_mass=mass)
