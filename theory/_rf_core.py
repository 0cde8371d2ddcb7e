r"""Vectorized float64 core of :mod:`theory.random_features` (see that module for the conventions).

Solution route for ``ridge = gamma > 0`` (../shared/reference/random_features.md sections 3.3-3.6, 2.2):

1. ``gamma_tilde`` (ensemble effective ridge, 3.6 (i)) and ``kappa'`` (bagging effective ridge, 3.6 (ii)) each solve
   ``f(g) = g - c g h(g) - g_0 = 0`` with ``h(g) = int (zeta s + a) / (zeta s + a + g) dMP_r(s)`` (``a = eta - zeta``):
   ``c = psi/phi``, ``r = 1/phi``, ``g_0 = gamma`` for ``gamma_tilde`` and ``c = phi/psi``, ``r = 1/psi``,
   ``g_0 = gamma phi/psi`` for ``kappa'``. Since ``g h(g) = int g u/(u + g)`` is increasing and concave in ``g``,
   ``f`` is convex with ``f(g_0) = -c g_0 h(g_0) <= 0`` and ``f(g_0 + c eta) >= 0`` (``g h(g) <= int u = eta``):
   **the root in [g_0, inf) is unique** (the sheet calls the equation monotone; it is convex, which suffices) and
   Newton's method from ``g_0 + c eta`` converges to it monotonically.
2. ``tau1 = gamma_tilde R / gamma`` with ``R = int dMP_{1/phi}(s) / (zeta s + a + gamma_tilde)``: the sheet's identity
   ``gamma tau1 = (gamma_tilde/zeta) G_{1/phi}((a + gamma_tilde)/zeta)`` (3.6 (i)). ``tau2 = phi tau1 / (phi + zeta R)``
   is the sheet's ``phi^2 tau1 / (phi^2 + (phi - psi) zeta tau1 + gamma psi zeta tau1^2)`` rewritten with the same
   identity (no cancellation when ``n1 < m`` and ``gamma -> 0``). The pair is then checked in (S67) and (S68): its
   residuals are part of the diagnostics, and ``method="quartic"`` instead takes ``tau1`` as the sheet's physical
   root of the quartic (the unique real root in ``(0, 1/gamma]`` with ``tau2 > 0``, all four roots computed, so an
   ambiguous branch is reported) and records the distance between the two routes.
3. ``chi`` (MM, 2.2) by the unique-root rule of :mod:`theory._rf_mm`, independently of 1-2.
4. The overlap ``c`` three ways (3.6): ``1 - t G_phi(t)`` from ``gamma_tilde``, ``(1 - t_W G_W)/psi`` from ``kappa'``
   and ``-zeta_MM^2 chi / (1 - zeta_MM^2 chi)`` from ``chi``. Their largest difference is a diagnostic: three
   independently solved equations agreeing is the evidence that every branch is the physical one.
5. Bias and the variance terms (3.6 (iii)) from ``gamma_tilde`` (``c``, ``V_X``, ``V_Xeps``), ``kappa'`` (``V_P``) and
   ``chi`` (``B_MM``, ``V_MM``, hence ``V_PX`` and ``V_PXeps``), with the MP integrals in the cancellation-free forms
   of :mod:`theory._rf_numerics`.
6. Training error (3.4): ``-gamma^2 (s_beta^2 tau2' + (noise + F_star^2) tau1')`` with the derivatives from implicit
   differentiation of (S67)/(S68).

Ridgeless ``gamma = 0`` (2.3, 3.4, 3.7) is evaluated in closed form, not by a small ridge.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from rmt._validation import check_positive_int
from rmt.activations import constants
from rmt.problem import Problem
from rmt.solvers import SolverError, Status, polyroots, select_real_in_interval
from rmt.theory._rf_mm import (mm_chi_ridgeless, mm_chi_stable, mm_E0_factored, mm_E_polynomials,
                                mm_large_sample_b)
from rmt.theory._rf_numerics import monotone_newton, mp_Q, mp_R, mp_S, mp_T, positive_quadratic_root

__all__ = ["FINE_GRAINED_KEYS", "AveragedResult", "RFDiagnostics", "RFResult", "rf_constants", "rf_theory"]

FINE_GRAINED_KEYS: tuple[str, ...] = ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")

#: residual above which a point is reported as failed (every equation is solved to ~1e-15)
RESIDUAL_TOL = 1e-8
#: largest allowed disagreement between the three routes to the overlap ``c`` (absolute; ``0 <= c <= 1``)
OVERLAP_TOL = 1e-7

BRANCH_RULES = (
    "gamma_tilde, kappa': unique root of a convex equation on [g0, inf) (monotone Newton); "
    "tau1 = gamma_tilde R / gamma, checked in (S67)/(S68) and in (0, 1/gamma] with tau2 > 0; "
    "chi: unique root with a1, a2 > 0 on (chi0, 0) (monotone Newton); "
    "ridgeless: closed forms (negative chi0, positive effective-ridge roots)")


def _ro(x: Any) -> Any:
    """A read-only array, or a float for 0-d input."""
    arr = np.asarray(x)
    if arr.ndim == 0:
        return arr.item()
    arr = arr.view()  # the caller's array stays writable; the returned view is not (no copy)
    arr.setflags(write=False)
    return arr


def _scale(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``coef * x`` with ``0 * inf = 0`` (a term with zero weight vanishes even where ``x`` diverges)."""
    with np.errstate(invalid="ignore"):
        return np.where(coef == 0, 0.0, coef * x)


def parse_k(k: Any) -> float:
    """An ensemble/bagging size: an integer >= 1 or ``inf`` (also the strings ``"inf"``)."""
    if isinstance(k, str):
        text = k.strip().lower()
        if text in ("inf", "infinity"):
            return math.inf
        try:
            k = float(text)
        except ValueError:
            raise ValueError(f"k must be an integer >= 1 or inf, got {k!r}") from None
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)):
        raise ValueError(f"k must be an integer >= 1 or inf, got {k!r}")
    if math.isinf(float(k)) and float(k) > 0:
        return math.inf
    return float(check_positive_int(k, "k"))


def rf_constants(problem: Problem) -> tuple[float, float]:
    """``(eta, zeta)`` of the problem's activation (centred: the mean ``mu0`` does not enter, sheet 1.1).

    Raises:
        ValueError: a non-isotropic covariance, or an activation with ``mu_star^2 = eta - zeta <= 0`` (linear), for
            which the random-feature limit of Mei & Montanari / Adlam & Pennington does not apply.
    """
    cov = problem.covariance
    if cov is not None and not (np.all(cov.train == 1.0) and np.all(cov.test == 1.0)):
        raise ValueError("covariance must be None (isotropic inputs) for theory.random_features; anisotropic or "
                         "shifted inputs are the covariate-shift model")
    c = constants(problem.activation)
    eta, zeta = float(c.eta), float(c.zeta)
    if not (eta - zeta > 1e-12 * max(eta, 1e-300)):
        raise ValueError(f"activation must be nonlinear (mu_star^2 = eta - zeta > 0) for the random-feature theory; "
                         f"{problem.activation.name!r} has mu_star^2 = {eta - zeta:.3g}")
    return eta, zeta


# ----------------------------------------------------------------------------------------------------------------
# result objects
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RFDiagnostics:
    """How the result was obtained, per parameter point.

    Attributes:
        status: :class:`rmt.solvers.Status` codes (``int8``, the problem's shape; 0 = success).
        residual: the worst scale-free residual of all defining equations at each point.
        residuals: per equation: ``gamma_tilde``, ``kappa_prime`` and ``chi`` (relative residuals of their defining
            equations), ``S67``/``S68`` (backward errors of Adlam-Pennington's equations at ``(tau1, tau2)``),
            ``overlap`` (largest difference between the three routes to ``c``) and, for ``method="quartic"``,
            ``tau1_routes`` (relative distance between the quartic root and the effective-ridge route).
        branch: the branch rules used.
        iterations: Newton iterations per solve (maximum over points).
        method: ``"effective-ridge"``, ``"quartic"`` or ``"mpmath"``.
    """

    status: Any
    residual: Any
    residuals: Mapping[str, Any]
    branch: str
    iterations: Mapping[str, int]
    method: str

    @property
    def ok(self) -> bool:
        return bool(np.all(np.asarray(self.status) == Status.SUCCESS))


@dataclass(frozen=True, eq=False)
class AveragedResult:
    """Test error of an average of ``k`` predictors (sheet 3.8): an ensemble over ``k`` initialisations
    (``kind="ensemble"``: independent ``W``, same data and noise) or bagging over ``k`` training sets
    (``kind="bagging"``: same ``W``, independent ``X`` and ``eps``). ``k = inf`` is the limit.

    The fine-grained terms are those of the averaged predictor, with the replicated source counted as one source:
    every term containing it is divided by ``k``. ``bias + variance = test_error``.
    """

    kind: str
    k: float
    test_error: Any
    bias: Any
    variance: Any
    fine_grained: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "k": self.k, "test_error": self.test_error, "bias": self.bias,
                "variance": self.variance, "fine_grained": dict(self.fine_grained)}


@dataclass(frozen=True, eq=False)
class RFResult:
    r"""Exact asymptotics of random-feature ridge regression at one problem or a grid of problems.

    All quantity fields have the problem's broadcast shape (floats for a scalar problem; mpmath numbers from
    :func:`theory.random_features.rf_theory_mp`).

    Attributes:
        problem: the input :class:`rmt.Problem`.
        eta, zeta: activation constants (centred; ``eta - zeta = mu_star^2``).
        tau1, tau2: ``lim (1/m) tr (K + gamma)^-1`` and ``lim (1/m) tr [X^T X/n0 (K + gamma)^-1]`` (AP (S67)/(S68);
            ``inf`` at ``gamma = 0`` when ``n1 <= m``).
        gamma_tilde: ensemble effective ridge (sheet 3.6 (i)); ``rho = (mu_star^2 + gamma_tilde)/zeta`` is the ridge of
            the equivalent linear model (:attr:`rho`).
        kappa_prime: bagging effective ridge (3.6 (ii)).
        chi: Mei-Montanari's ``nu1 nu2`` at ``xi = i sqrt(psi1 psi2 lambda_bar)`` (negative).
        overlap: ``c = Psi_1``, the overlap of the mean predictor with the teacher.
        psi4, psi5: d'Ascoli et al.'s ``Psi_4 = int s^2/(s+t)^2 dMP_phi(s) = c^2 + V_X/s_beta^2`` and
            ``Psi_5 = phi (G_phi(t) - t K_phi(t)) = V_Xeps / noise`` at ``t = phi rho`` (sheet 5.3).
        B_mm, V_mm: Mei-Montanari's ``B`` and ``V`` at ``zeta_MM^2 = zeta/(eta - zeta)``,
            ``lambda_bar = phi gamma/(eta - zeta)``.
        test_error: excess test error (no test-label noise; includes ``F_star^2``).
        train_error: training error with the noisy training labels.
        bias, variance: ``bias + variance = test_error``.
        fine_grained: the seven terms ``P, X, eps, PX, Peps, Xeps, PXeps`` summing to ``variance``.
        diagnostics: :class:`RFDiagnostics`.
        precision: ``None`` (float64) or the mpmath digits.
    """

    problem: Problem
    eta: Any
    zeta: Any
    tau1: Any
    tau2: Any
    gamma_tilde: Any
    kappa_prime: Any
    chi: Any
    overlap: Any
    psi4: Any
    psi5: Any
    B_mm: Any
    V_mm: Any
    test_error: Any
    train_error: Any
    bias: Any
    variance: Any
    fine_grained: Mapping[str, Any]
    diagnostics: RFDiagnostics
    precision: int | None = None

    # --- derived quantities -----------------------------------------------------------------------------------
    @property
    def rho(self) -> Any:
        """Ridge of the linear model equivalent to the infinite ensemble, ``(mu_star^2 + gamma_tilde) / zeta``."""
        if self.precision:
            return (self.eta - self.zeta + self.gamma_tilde) / self.zeta
        with np.errstate(divide="ignore"):
            return _ro((self.eta - self.zeta + np.asarray(self.gamma_tilde, dtype=float)) / self.zeta)

    def _add(self, *vals: Any) -> Any:
        if self.precision:
            return sum(vals[1:], vals[0])
        return _ro(sum(np.asarray(v, dtype=float) for v in vals))

    def _avg(self, kind: str, k: Any, divided: tuple[str, ...]) -> AveragedResult:
        kf = parse_k(k)
        fg: dict[str, Any] = {}
        for key in FINE_GRAINED_KEYS:
            v = self.fine_grained[key]
            if key in divided:
                if math.isinf(kf):  # the term vanishes (also where it diverges at finite k)
                    v = type(v)(0) if self.precision else _ro(np.zeros(np.shape(v)))
                else:
                    v = v / kf if self.precision else _ro(np.asarray(v, dtype=float) / kf)
            fg[key] = v
        variance = self._add(*(fg[key] for key in FINE_GRAINED_KEYS))
        return AveragedResult(kind=kind, k=kf, test_error=self._add(self.bias, variance), bias=self.bias,
                              variance=variance, fine_grained=types.MappingProxyType(fg))

    def ensemble(self, k: int | float) -> AveragedResult:
        r"""Average of ``k`` predictors with independent weights ``W`` on the same data (sheet 3.8):
        ``B + V_X + V_eps + V_Xeps + (V_P + V_PX + V_Peps + V_PXeps)/k``; ``k = inf`` is linear ridge with ridge
        :attr:`rho`. Removes the divergence at ``n1 = m`` as ``k -> inf``."""
        return self._avg("ensemble", k, ("P", "PX", "Peps", "PXeps"))

    def bagging(self, k: int | float) -> AveragedResult:
        r"""Average of ``k`` predictors with the same ``W`` trained on independent training sets (sheet 3.8):
        ``B + V_P + (V_X + V_eps + V_PX + V_Peps + V_Xeps + V_PXeps)/k``."""
        return self._avg("bagging", k, ("X", "eps", "PX", "Peps", "Xeps", "PXeps"))

    def ordered_decomposition(self) -> dict[str, Any]:
        r"""d'Ascoli, Refinetti, Biroli & Krzakala's sequential decomposition (arXiv:2003.01054; sheet 3.2, 5.4):
        ``var_samp = V_X``, ``var_init = V_P + V_PX``, ``var_noise = V_eps + V_Peps + V_Xeps + V_PXeps``
        (noise innermost, then initialisation, then samples), plus ``bias``. They sum to ``test_error``."""
        fg = self.fine_grained
        return {"bias": self.bias, "var_samp": fg["X"], "var_init": self._add(fg["P"], fg["PX"]),
                "var_noise": self._add(fg["eps"], fg["Peps"], fg["Xeps"], fg["PXeps"])}

    def dascoli_overlaps(self) -> dict[str, Any]:
        r"""d'Ascoli et al.'s ``Psi_1 .. Psi_5`` per unit teacher power (sheet 5.3), from which their ensemble formula
        ``E(k) = F1^2 (1 - 2 Psi1 + Psi2/k) + (F*^2 + tau^2) Psi3/k + F*^2 + (1 - 1/k)(F1^2 Psi4 + (F*^2 + tau^2)
        Psi5)`` follows: ``Psi1 = c``, ``Psi2 = B_MM - 1 + 2 c``, ``Psi3 = V_MM``, ``Psi4 = c^2 + V_X/s``,
        ``Psi5 = phi (G - t K)``."""
        c = self.overlap
        psi2 = self.B_mm - 1 + 2 * c if self.precision else _ro(np.asarray(self.B_mm) - 1.0 + 2 * np.asarray(c))
        return {"Psi1": c, "Psi2": psi2, "Psi3": self.V_mm, "Psi4": self.psi4, "Psi5": self.psi5}

    def records(self, extras: bool = True) -> list[dict[str, Any]]:
        """One JSON-ready dict per parameter point (C order): ``test_error``, ``train_error``, ``bias``,
        ``variance``, ``fine_grained`` (seven keys) and, with ``extras``, the ratios, ``tau1``, ``tau2``, the
        effective ridges, ``chi``, the overlap, MM's ``B`` and ``V`` and the diagnostics."""
        p = self.problem
        shape = p.shape
        def at(v: Any, idx: tuple) -> float:
            return float(np.broadcast_to(np.asarray(v, dtype=float), shape)[idx])
        out = []
        fields = {"phi": p.phi, "psi": p.psi, "n1_over_m": p.width_ratio, "ridge": p.ridge, "noise": p.noise,
                  "signal": p.signal, "nonlinear_signal": p.nonlinear_signal, "lambda_mm": p.lambda_mm}
        for idx in np.ndindex(*shape) if shape else [()]:
            rec: dict[str, Any] = {"test_error": at(self.test_error, idx), "train_error": at(self.train_error, idx),
                                   "bias": at(self.bias, idx), "variance": at(self.variance, idx),
                                   "fine_grained": {k: at(self.fine_grained[k], idx) for k in FINE_GRAINED_KEYS}}
            if extras:
                rec.update({k: at(v, idx) for k, v in fields.items()})
                rec["activation"] = p.activation.name
                rec["eta"], rec["zeta"] = float(self.eta), float(self.zeta)
                for k in ("tau1", "tau2", "gamma_tilde", "kappa_prime", "chi", "overlap", "B_mm", "V_mm"):
                    rec[k] = at(getattr(self, k), idx)
                rec["residual"] = at(self.diagnostics.residual, idx)
                rec["status"] = Status(int(np.broadcast_to(np.asarray(self.diagnostics.status), shape)[idx])
                                       ).name.lower()
            out.append(rec)
        return out


# ----------------------------------------------------------------------------------------------------------------
# the float64 solver
# ----------------------------------------------------------------------------------------------------------------

def _effective_ridge(c: np.ndarray, r: np.ndarray, g0: np.ndarray, a: float, zeta: float, eta: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Unique root of ``g - c g (Q + a R) - g0 = 0`` on ``[g0, inf)`` (see the module docstring), ``g0 > 0``.

    Evaluated as ``f(g) = g ((1 - c) + c g R(a + g)) - g0`` (since ``h = Q + a R = 1 - g R``), whose terms do not cancel
    when ``c h(0) = 1`` (the interpolation threshold) and which does not overflow (``0 <= g R <= 1``). For tiny
    ``g0`` (below ``1e-6 c eta``) Newton's method from ``g0 + c eta`` would halve its distance to the root per step
    near the threshold, so it starts instead from the positive root of the quadratic minorant
    ``(1 - c) g + c R(a + G) g^2 - g0`` (``R`` decreases, so this is below ``f`` on ``[0, G]`` and its root is a valid
    start to the right of the root), iterated five times from ``G = g0 + c eta``.
    """

    def parts(g: np.ndarray, ci: np.ndarray, ri: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = a + g
        A = zeta * (1.0 - ri) + b
        D = np.hypot(A, 2.0 * np.sqrt(ri * zeta) * np.sqrt(b))
        gR = g * mp_R(zeta, b, ri)
        g2S = gR * (ri * zeta * gR + g) / D  # g^2 S without overflow
        return gR, g2S, g * ((1.0 - ci) + ci * gR)

    def f(g: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ci = c[idx]
        gR, g2S, lhs = parts(g, ci, r[idx])
        # d/dg [g h(g)] = 1 - 2 g R + g^2 S, so f' = (1 - c) + c (2 g R - g^2 S) (2 gR - g^2 S > 0)
        return lhs - g0[idx], (1.0 - ci) + ci * (2.0 * gR - g2S)

    start = g0 + c * eta
    tiny = g0 < 1e-6 * c * eta
    if np.any(tiny):
        ct, rt, gt0 = c[tiny], r[tiny], g0[tiny]
        G = start[tiny]
        for _ in range(5):
            G = np.minimum(G, positive_quadratic_root(ct * mp_R(zeta, a + G, rt), ct - 1.0, gt0))
        start[tiny] = np.maximum(G, gt0)
    g, conv, it = monotone_newton(f, start)
    _, _, lhs = parts(g, c, r)
    gR = g * mp_R(zeta, a + g, r)
    res = (np.abs(lhs - g0) / g) / (np.abs(1.0 - c) + c * gR + g0 / g)  # divided through by g: no overflow
    return g, res, conv, it


def _ridgeless_effective_ridge(r: np.ndarray, y: np.ndarray, a: float, zeta: float) -> np.ndarray:
    r"""Positive root ``g`` of ``g R(a + g) = y`` (``0 < y < 1``; ``R`` of :func:`mp_R` with ratio ``r``).

    Substituting ``R = y/g`` into ``r b zeta R^2 + (zeta (1 - r) + b) R - 1 = 0`` (``b = a + g``) gives
    ``-(1 - y) g^2 + (r zeta y^2 + zeta (1 - r) y + a y) g + r a zeta y^2 = 0``, whose positive root is unique
    (product of the roots ``< 0``); ``R = y/g > 0`` is then automatically the physical MP root.
    """
    return positive_quadratic_root(1.0 - y, r * zeta * y * y + zeta * (1.0 - r) * y + a * y, r * a * zeta * y * y)


def _ap_residuals(phi, psi, eta, zeta, T1, u, um1, it):
    """Backward errors of (S67) and (S68) at ``(tau1, tau2) = (tau1, u tau1)``, both equations divided by ``tau1^2``
    so that nothing overflows or underflows for ridges from ``1e-300`` to ``1e300`` (``tau1`` ranges from ``1e-300``
    to ``1e300``): ``T1 = gamma tau1``, ``u = tau2 / tau1``, ``um1 = u - 1``, ``it = 1 / tau1``. Each is the residual
    divided by the size of the rounding errors of its terms (``|T1 - 1|`` counted as ``T1 + 1``, ``|u - 1|`` as
    ``u + 1``)."""
    s67 = (np.abs(phi * zeta * u + it * phi * phi * um1 + psi * zeta * u * (T1 - 1.0))
           / (phi * zeta * u + it * phi * phi * (u + 1.0) + psi * zeta * u * (T1 + 1.0)))
    s68 = (np.abs(phi * um1 * (zeta * um1 + eta) - zeta * u * (T1 - 1.0))
           / (phi * (u + 1.0) * (zeta * (u + 1.0) + eta) + zeta * u * (T1 + 1.0)))
    return s67, s68


def _ap_train_factors(phi, psi, eta, zeta, T1, u, um1, it):
    """``(-gamma^2 tau2', -gamma^2 tau1')`` from the linear system of :func:`ap_tau_derivatives` written in
    ``tau2 = u tau1``: the Jacobian divided by ``tau1``, the ``gamma``-derivatives by ``tau1^3``, so that
    ``-gamma^2 tau' = T1^2 x`` with ``x`` the solution of a system of moderate numbers; the (S67) row is divided by
    ``1 + phi^2 / tau1``. Free of overflow for ridges from ``1e-300`` to ``1e300``."""
    with np.errstate(divide="ignore", over="ignore"):
        h = it * phi * phi
        w = 1.0 / (1.0 + h)
        hw = 1.0 / (1.0 / h + 1.0)
    J11 = w * (phi * zeta * u + psi * zeta * u * (2 * T1 - 1)) - hw
    J12 = w * (phi * zeta + psi * zeta * (T1 - 1)) + hw
    F1 = w * psi * zeta * u
    J21 = phi * (-(zeta * um1 + eta) + um1 * (eta - zeta)) - zeta * u * (2 * T1 - 1)
    J22 = phi * ((zeta * um1 + eta) + um1 * zeta) - zeta * (T1 - 1)
    F2 = -zeta * u
    det = J11 * J22 - J12 * J21
    sq = T1 * T1
    return sq * ((-J21 * F1 + J11 * F2) / det), sq * ((J22 * F1 - J12 * F2) / det)


def ap_tau_derivatives(phi, psi, gamma, eta, zeta, t1, t2):
    r"""``(dtau1/dgamma, dtau2/dgamma)`` by implicit differentiation of (S67)/(S68) (sheet 3.4). Generic arithmetic:
    works for numpy arrays and mpmath numbers."""
    d = t2 - t1
    J11 = phi * zeta * t2 - phi * phi + psi * zeta * t2 * (2 * gamma * t1 - 1)
    J12 = phi * (zeta * t1 + phi) + psi * zeta * t1 * (gamma * t1 - 1)
    F1g = psi * zeta * t1 * t1 * t2
    J21 = phi * (-(zeta * d + eta * t1) + d * (eta - zeta)) - zeta * t2 * (2 * gamma * t1 - 1)
    J22 = phi * ((zeta * d + eta * t1) + d * zeta) - zeta * t1 * (gamma * t1 - 1)
    F2g = -zeta * t1 * t1 * t2
    det = J11 * J22 - J12 * J21
    dt1 = -(J22 * F1g - J12 * F2g) / det
    dt2 = -(-J21 * F1g + J11 * F2g) / det
    return dt1, dt2


def _positive_ridge(phi, psi, gamma, eta, zeta, method):
    """Everything but the noise/signal weights, at ``gamma > 0`` (flat arrays)."""
    a = eta - zeta
    n = phi.size
    gt, res_gt, conv_gt, it_gt = _effective_ridge(psi / phi, 1.0 / phi, gamma, a, zeta, eta)
    kp, res_kp, conv_kp, it_kp = _effective_ridge(phi / psi, 1.0 / psi, gamma * phi / psi, a, zeta, eta)
    R1 = mp_R(zeta, a + gt, 1.0 / phi)
    # scaled variables (no overflow as gamma -> 0 or inf): T1 = gamma tau1 = gamma_tilde R, u = tau2 / tau1
    # = phi / (phi + zeta R), it = 1 / tau1 = (gamma / gamma_tilde) / R
    T1 = gt * R1
    u = phi / (phi + zeta * R1)
    um1 = -zeta * R1 / (phi + zeta * R1)
    it = (gamma / gt) / R1
    residuals: dict[str, np.ndarray] = {}
    status = np.zeros(n, dtype=np.int8)
    if method == "quartic":
        from rmt.kernel_spectrum import rf_kernel_polynomial

        with np.errstate(over="ignore"):
            tau1 = T1 / gamma
        coeffs = rf_kernel_polynomial().coefficients(phi, psi, gamma, eta, zeta)
        roots = polyroots(coeffs)
        rr = roots.real
        with np.errstate(all="ignore"):
            t2_roots = phi[:, None] ** 2 * rr / (phi[:, None] ** 2 + (phi - psi)[:, None] * zeta * rr
                                                 + (gamma * psi)[:, None] * zeta * rr * rr)
        sel = select_real_in_interval(roots, 0.0, 1.0 / gamma, extra=t2_roots > 0,
                                      rule="unique real quartic root in (0, 1/gamma] with tau2 > 0")
        status = np.where(sel.status != Status.SUCCESS, sel.status, status).astype(np.int8)
        residuals["tau1_routes"] = np.abs(sel.value - tau1) / tau1
        tau1 = np.where(np.isfinite(sel.value), sel.value, tau1)
        tau2 = phi * phi * tau1 / (phi * phi + (phi - psi) * zeta * tau1 + gamma * psi * zeta * tau1 * tau1)
        T1, u, it = gamma * tau1, tau2 / tau1, 1.0 / tau1
        um1 = u - 1.0
    with np.errstate(divide="ignore", over="ignore"):
        tau1 = T1 / gamma
        tau2 = u * tau1
    s67, s68 = _ap_residuals(phi, psi, eta, zeta, T1, u, um1, it)
    in_branch = (T1 > 0) & (T1 <= 1.0 + 1e-12) & (u > 0)
    # Mei-Montanari chi, independently
    z2 = np.full(n, zeta / a)
    psi1, psi2 = 1.0 / psi, 1.0 / phi
    chi, u1, u2, res_chi, conv_chi, it_chi = mm_chi_stable(z2, psi1, psi2, gamma / (psi * a))
    residuals.update({"gamma_tilde": res_gt, "kappa_prime": res_kp, "chi": res_chi, "S67": s67, "S68": s68})
    conv = conv_gt & conv_kp & conv_chi
    status = np.where((status == 0) & ~conv, Status.MAX_ITERATIONS, status)
    status = np.where((status == 0) & ~in_branch, Status.NO_PHYSICAL_ROOT, status).astype(np.int8)
    if zeta > 0:
        train_signal, train_noise = _ap_train_factors(phi, psi, eta, zeta, T1, u, um1, it)
    else:
        # zeta = 0 (even activation): (S67)/(S68) degenerate to tau2 = tau1, and K is eta times a Wishart matrix of
        # ratio m/n1, so -gamma^2 tau1' = gamma^2 int dMP_{psi/phi}(s) / (eta s + gamma)^2 (written without overflow)
        rw = psi / phi
        gR = gamma * mp_R(eta, gamma, rw)
        Dw = np.hypot(eta * (1.0 - rw) + gamma, 2.0 * np.sqrt(rw * eta) * np.sqrt(gamma))
        train_signal = train_noise = gR * (rw * eta * gR + gamma) / Dw
    e0 = mm_E0_factored(chi, z2, u1, u2, gamma / (psi * a))
    out = dict(tau1=tau1, tau2=tau2, gamma_tilde=gt, kappa_prime=kp, chi=chi, train_signal=train_signal,
               train_noise=train_noise, E0=e0)
    return out, residuals, status, {"gamma_tilde": it_gt, "kappa_prime": it_kp, "chi": it_chi}


def _ridgeless(phi, psi, eta, zeta):
    """Closed forms at ``gamma = 0`` (sheet 2.3, 3.4, 3.7), flat arrays."""
    a = eta - zeta
    n = phi.size
    under = phi < psi  # n1 < m
    over = phi > psi  # n1 > m
    y_gt = np.where(under, 1.0 - phi / psi, 0.5)
    gt = np.where(under, _ridgeless_effective_ridge(1.0 / phi, y_gt, a, zeta), 0.0)
    y_kp = np.where(over, 1.0 - psi / phi, 0.5)
    kp = np.where(over, _ridgeless_effective_ridge(1.0 / psi, y_kp, a, zeta), 0.0)
    # tau1 at gamma = 0 (n1 > m): the positive root of the quartic at gamma = 0, a quadratic
    # zeta a (phi-psi)^2 t^2 + phi (phi-psi)(eta phi - zeta) t - phi^3 = 0 (product of roots < 0: unique)
    dphi = phi - psi
    t1 = positive_quadratic_root(zeta * a * dphi * dphi, -phi * dphi * (eta * phi - zeta), phi ** 3)
    tau1 = np.where(over, t1, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2 = np.where(over, phi * phi * tau1 / (phi * phi + dphi * zeta * tau1), np.inf)
    z2 = np.full(n, zeta / a)
    psi1, psi2 = 1.0 / psi, 1.0 / phi
    chi = mm_chi_ridgeless(z2, psi1, psi2)
    # training error (3.4): (1 - n1/m)_+ [noise + s B_lsamp(zeta_MM, psi1, 0)]
    frac = np.maximum(1.0 - phi / psi, 0.0)
    b_ls = mm_large_sample_b(z2, psi1, 0.0)
    E0, _, _ = mm_E_polynomials(chi, z2, psi1, psi2)
    out = dict(tau1=tau1, tau2=tau2, gamma_tilde=gt, kappa_prime=kp, chi=chi,
               train_signal=np.where(under, frac * b_ls, 0.0), train_noise=frac, E0=E0)
    zeros = np.zeros(n)
    residuals = {"gamma_tilde": zeros, "kappa_prime": zeros, "chi": zeros, "S67": zeros, "S68": zeros}
    return out, residuals, np.zeros(n, dtype=np.int8), {}


def rf_theory(problem: Problem, *, method: str = "effective-ridge", throw: bool = True) -> RFResult:
    """Float64 vectorized evaluation; see :func:`theory.random_features.rf_theory` for the documentation."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an rmt.Problem, got {type(problem).__name__}")
    if method not in ("effective-ridge", "quartic"):
        raise ValueError(f"method must be 'effective-ridge' or 'quartic', got {method!r}")
    eta, zeta = rf_constants(problem)
    a = eta - zeta
    shape = problem.shape
    bc = lambda v: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel()  # noqa: E731
    phi, psi, gamma = bc(problem.phi), bc(problem.psi), bc(problem.ridge)
    noise, signal, fstar = bc(problem.noise), bc(problem.signal), bc(problem.nonlinear_signal)
    n = phi.size
    keys = ("tau1", "tau2", "gamma_tilde", "kappa_prime", "chi", "train_signal", "train_noise", "E0")
    vals = {k: np.empty(n) for k in keys}
    res_keys = ("gamma_tilde", "kappa_prime", "chi", "S67", "S68") + (("tau1_routes",) if method == "quartic" else ())
    residuals = {k: np.zeros(n) for k in res_keys}
    status = np.zeros(n, dtype=np.int8)
    iterations: dict[str, int] = {}
    pos = gamma > 0
    for mask, fn in ((pos, lambda i: _positive_ridge(phi[i], psi[i], gamma[i], eta, zeta, method)),
                     (~pos, lambda i: _ridgeless(phi[i], psi[i], eta, zeta))):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        out, res, st, its = fn(idx)
        for k in keys:
            vals[k][idx] = out[k]
        for k, v in res.items():
            residuals[k][idx] = v
        status[idx] = st
        for k, v in its.items():
            iterations[k] = max(iterations.get(k, 0), v)

    gt, kp, chi = vals["gamma_tilde"], vals["kappa_prime"], vals["chi"]
    z2 = zeta / a
    psi1, psi2 = 1.0 / psi, 1.0 / phi
    # --- the overlap three ways (sheet 3.6) and the ensemble (linear ridge) side: ratio phi, B = phi (a + gt)
    Bx = phi * (a + gt)
    Q = mp_Q(zeta, Bx, phi)
    T = mp_T(zeta, Bx, phi, Q)
    c = Q  # 1 - t G_phi(t), t = phi rho
    bw = a + kp
    QW = mp_Q(zeta, bw, 1.0 / psi)
    TW = mp_T(zeta, bw, 1.0 / psi, QW)
    c_w = QW / psi
    c_chi = -z2 * chi / (1.0 - z2 * chi)
    residuals["overlap"] = np.maximum(np.abs(c - c_w), np.abs(c - c_chi))
    # --- Mei-Montanari B and V
    _, E1, E2 = mm_E_polynomials(chi, z2, psi1, psi2)
    E0 = vals["E0"]  # factored (cancellation-free) at gamma > 0, the polynomial at gamma = 0
    threshold = (gamma == 0) & (phi == psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        B_mm = np.where(threshold, np.inf, E1 / E0)
        V_mm = np.where(threshold, np.inf, E2 / E0)
    # --- per unit of signal / of noise (sheet 3.6 (iii))
    vx = Q - Bx * T - c * c  # int s^2/(s+t)^2 dMP_phi - c^2
    vxe = phi * zeta * T  # phi (G - t K)
    vp = (QW - kp * TW) / psi - c * c
    bias_unit = (1.0 - c) ** 2
    with np.errstate(invalid="ignore"):
        vpx = B_mm - bias_unit - vp - vx
        vpxe = V_mm - vxe
    noise_like = noise + fstar
    fg = {
        "P": signal * vp,
        "X": signal * vx + fstar * vxe,
        "eps": np.zeros(n),
        "PX": _scale(signal, vpx) + _scale(fstar, vpxe),
        "Peps": np.zeros(n),
        "Xeps": noise * vxe,
        "PXeps": _scale(noise, vpxe),
    }
    bias = signal * bias_unit + fstar
    variance = sum(fg[k] for k in FINE_GRAINED_KEYS)
    test = _scale(signal, B_mm) + _scale(noise_like, V_mm) + fstar
    train = signal * vals["train_signal"] + noise_like * vals["train_noise"]

    # --- status
    worst = np.max(np.stack([residuals[k] for k in residuals if k != "overlap"]), axis=0)
    bad_res = ~(worst <= RESIDUAL_TOL)
    bad_overlap = ~(residuals["overlap"] <= OVERLAP_TOL)
    status = np.where((status == 0) & bad_res, Status.MAX_ITERATIONS, status)
    status = np.where((status == 0) & bad_overlap, Status.AMBIGUOUS_BRANCH, status).astype(np.int8)
    finite_expected = ~threshold
    nonfinite = finite_expected & ~(np.isfinite(test) & np.isfinite(train) & np.isfinite(c))
    status = np.where((status == 0) & nonfinite, Status.NONFINITE, status).astype(np.int8)
    residual = np.maximum(worst, residuals["overlap"])

    def shp(v: np.ndarray) -> Any:
        return _ro(v.reshape(shape))

    diag = RFDiagnostics(status=shp(status), residual=shp(residual),
                         residuals=types.MappingProxyType({k: shp(v) for k, v in residuals.items()}),
                         branch=BRANCH_RULES if method == "effective-ridge" else
                         BRANCH_RULES.replace("tau1 = gamma_tilde R / gamma, checked in",
                                              "tau1: the unique real quartic root in (0, 1/gamma] with tau2 > 0, "
                                              "compared with gamma_tilde R / gamma and checked in"),
                         iterations=types.MappingProxyType(iterations), method=method)
    result = RFResult(problem=problem, eta=eta, zeta=zeta, tau1=shp(vals["tau1"]), tau2=shp(vals["tau2"]),
                      gamma_tilde=shp(gt), kappa_prime=shp(kp), chi=shp(chi), overlap=shp(c),
                      psi4=shp(Q - Bx * T), psi5=shp(vxe), B_mm=shp(B_mm),
                      V_mm=shp(V_mm), test_error=shp(test), train_error=shp(train), bias=shp(bias),
                      variance=shp(variance), fine_grained=types.MappingProxyType({k: shp(v) for k, v in fg.items()}),
                      diagnostics=diag)
    if throw and not diag.ok:
        st = status
        bad = np.flatnonzero(st != 0)
        first = int(bad[0])
        raise SolverError(f"rf_theory: {Status(int(st[first])).name.lower().replace('_', ' ')} at {bad.size} of "
                          f"{st.size} points (first at flat index {first}: phi={phi[first]:.6g}, psi={psi[first]:.6g}, "
                          f"ridge={gamma[first]:.6g}; worst residual {float(np.nanmax(residual[bad])):.3g}; "
                          f"branch rules: {diag.branch})", residual=float(np.nanmax(residual[bad])),
                          status=Status(int(st[first])))
    return result
