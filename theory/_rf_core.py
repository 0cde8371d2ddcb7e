r"""Vectorized float64 core of :mod:`theory.random_features` (see that module for the conventions).

Solution route for ``ridge > 0`` (docs/models.md §3.3, §3.6-§3.9):

1. ``gamma_tilde`` (ensemble effective ridge, §3.9 (i)) and ``kappa'`` (bagging effective ridge, §3.9 (ii)) each solve
   ``f(g) = g - c g h(g) - g_0 = 0`` with ``h(g) = int (zeta s + a) / (zeta s + a + g) dMP_r(s)`` (``a = eta - zeta``):
   ``c = psi/phi``, ``r = 1/phi``, ``g_0 = ridge`` for ``gamma_tilde`` and ``c = phi/psi``, ``r = 1/psi``,
   ``g_0 = ridge phi/psi`` for ``kappa'``. Since ``g h(g) = int g u/(u + g)`` is increasing and concave in ``g``,
   ``f`` is convex with ``f(g_0) = -c g_0 h(g_0) <= 0`` and ``f(g_0 + c eta) >= 0`` (``g h(g) <= int u = eta``):
   **the root in [g_0, inf) is unique** (the equation is usually called monotone; it is convex, which suffices) and
   Newton's method from ``g_0 + c eta`` converges to it monotonically.
2. ``tau1 = gamma_tilde R / ridge`` with ``R = int dMP_{1/phi}(s) / (zeta s + a + gamma_tilde)``: the identity
   ``ridge tau1 = (gamma_tilde/zeta) G_{1/phi}((a + gamma_tilde)/zeta)`` (§3.9 (i)). ``tau2 = phi tau1 / (phi + zeta
   R)`` is the elimination result ``phi^2 tau1 / (phi^2 + (phi - psi) zeta tau1 + ridge psi zeta tau1^2)`` rewritten
   with the same identity (no cancellation when ``n1 < m`` and ``ridge -> 0``). The pair is then checked in (S67) and
   (S68): its residuals are part of the diagnostics, and ``method="quartic"`` instead takes ``tau1`` as the physical
   root of the quartic (the unique real root in ``(0, 1/ridge]`` with ``tau2 > 0``, all four roots computed, so an
   ambiguous branch is reported) and records the distance between the two routes.
3. ``chi`` (MM, §3.3) by the unique-root rule of :mod:`theory._rf_mm`, independently of 1-2.
4. The overlap ``c`` three ways (§3.9): ``1 - t G_phi(t)`` from ``gamma_tilde``, ``(1 - t_W G_W)/psi`` from ``kappa'``
   and ``-zeta_MM^2 chi / (1 - zeta_MM^2 chi)`` from ``chi``. Their largest difference is a diagnostic: three
   independently solved equations agreeing is the evidence that every branch is the physical one.
5. Bias and the variance terms (§3.9 (iii)) from ``gamma_tilde`` (``c``, ``V_X``, ``V_Xeps``), ``kappa'`` (``V_P``) and
   ``chi`` (``B_MM``, ``V_MM``, hence ``V_PX`` and ``V_PXeps``), with the MP integrals in the cancellation-free forms
   of :mod:`theory._rf_numerics`.
6. Training error (§3.8): ``-ridge^2 (s_beta^2 tau2' + (noise + F_star^2) tau1')`` with the derivatives from implicit
   differentiation of (S67)/(S68).

Ridgeless ``ridge = 0`` (docs/models.md §3.4, §3.8, §3.10) is evaluated in closed form, not by a small ridge.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from rmt._validation import check_positive_int
from rmt.activations import constants
from rmt.numerics import frozen_value, zero_safe_product
from rmt.problem import Problem
from rmt.quantities import FINE_GRAINED_KEYS
from rmt.records import Tabular, coordinate_columns, rows_of
from rmt.solvers import Solution, SolverError, Status, monotone_newton, polyroots, select_real_in_interval
from rmt.theory._rf_mm import (mm_chi_ridgeless, mm_chi_stable, mm_E0_factored, mm_E_polynomials,
                                mm_large_sample_b)
from rmt.theory._rf_numerics import mp_Q, mp_R, mp_T, positive_quadratic_root

__all__ = ["FINE_GRAINED_KEYS", "AveragedResult", "RFDiagnostics", "RFResult", "rf_constants", "rf_theory"]


#: residual above which a point is reported as failed (every equation is solved to ~1e-15)
RESIDUAL_TOL = 1e-8
#: largest allowed disagreement between the three routes to the overlap ``c`` (absolute; ``0 <= c <= 1``)
OVERLAP_TOL = 1e-7

BRANCH_RULES = (
    "gamma_tilde, kappa': unique root of a convex equation on [g0, inf) (monotone Newton); "
    "tau1 = gamma_tilde R / ridge, checked in (S67)/(S68) and in (0, 1/ridge] with tau2 > 0; "
    "chi: unique root with a1, a2 > 0 on (chi0, 0) (monotone Newton); "
    "ridgeless: closed forms (negative chi0, positive effective-ridge roots)")


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
    """``(eta, zeta)`` of the problem's activation (centred: the mean ``mu0`` does not enter, docs/models.md §1.1).

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
    """Test error of an average of ``k`` predictors (docs/models.md §3.11): an ensemble over ``k`` initialisations
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
class RFResult(Tabular):
    r"""Exact asymptotics of random-feature ridge regression at one problem or a grid of problems.

    All quantity fields have the problem's broadcast shape (floats for a scalar problem; mpmath numbers from
    :func:`theory.random_features.rf_theory_mp`).

    Attributes:
        problem: the input :class:`rmt.Problem`.
        eta, zeta: activation constants (centred; ``eta - zeta = mu_star^2``).
        tau1, tau2: ``lim (1/m) tr (K + ridge)^-1`` and ``lim (1/m) tr [X^T X/n0 (K + ridge)^-1]`` (AP (S67)/(S68);
            ``inf`` at ``ridge = 0`` when ``n1 <= m``).
        gamma_tilde: ensemble effective ridge (docs/models.md §3.9 (i)); ``rho = (mu_star^2 + gamma_tilde)/zeta`` is the
            ridge of the equivalent linear model (:attr:`rho`).
        kappa_prime: bagging effective ridge (docs/models.md §3.9 (ii)).
        chi: Mei-Montanari's ``nu1 nu2`` at ``xi = i sqrt(psi1 psi2 lambda_bar)`` (negative).
        overlap: ``c = Psi_1``, the overlap of the mean predictor with the teacher.
        psi4, psi5: d'Ascoli et al.'s ``Psi_4 = int s^2/(s+t)^2 dMP_phi(s) = c^2 + V_X/s_beta^2`` and
            ``Psi_5 = phi (G_phi(t) - t K_phi(t)) = V_Xeps / noise`` at ``t = phi rho`` (docs/models.md §3.12).
        B_mm, V_mm: Mei-Montanari's ``B`` and ``V`` at ``zeta_MM^2 = zeta/(eta - zeta)``,
            ``lambda_bar = phi ridge/(eta - zeta)``.
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
            return frozen_value((self.eta - self.zeta + np.asarray(self.gamma_tilde, dtype=float)) / self.zeta, None)

    def _add(self, *vals: Any) -> Any:
        if self.precision:
            return sum(vals[1:], vals[0])
        return frozen_value(sum(np.asarray(v, dtype=float) for v in vals), None)

    def _avg(self, kind: str, k: Any, divided: tuple[str, ...]) -> AveragedResult:
        kf = parse_k(k)
        fg: dict[str, Any] = {}
        for key in FINE_GRAINED_KEYS:
            v = self.fine_grained[key]
            if key in divided:
                if math.isinf(kf):  # the term vanishes (also where it diverges at finite k)
                    v = type(v)(0) if self.precision else frozen_value(np.zeros(np.shape(v)), None)
                else:
                    v = v / kf if self.precision else frozen_value(np.asarray(v, dtype=float) / kf, None)
            fg[key] = v
        variance = self._add(*(fg[key] for key in FINE_GRAINED_KEYS))
        return AveragedResult(kind=kind, k=kf, test_error=self._add(self.bias, variance), bias=self.bias,
                              variance=variance, fine_grained=types.MappingProxyType(fg))

    def ensemble(self, k: int | float) -> AveragedResult:
        r"""Average of ``k`` predictors with independent weights ``W`` on the same data (docs/models.md §3.11):
        ``B + V_X + V_eps + V_Xeps + (V_P + V_PX + V_Peps + V_PXeps)/k``; ``k = inf`` is linear ridge with ridge
        :attr:`rho`. Removes the divergence at ``n1 = m`` as ``k -> inf``."""
        return self._avg("ensemble", k, ("P", "PX", "Peps", "PXeps"))

    def bagging(self, k: int | float) -> AveragedResult:
        r"""Average of ``k`` predictors with the same ``W`` trained on independent training sets (docs/models.md §3.11):
        ``B + V_P + (V_X + V_eps + V_PX + V_Peps + V_Xeps + V_PXeps)/k``."""
        return self._avg("bagging", k, ("X", "eps", "PX", "Peps", "Xeps", "PXeps"))

    def ordered_decomposition(self) -> dict[str, Any]:
        r"""d'Ascoli, Refinetti, Biroli & Krzakala's sequential decomposition (arXiv:2003.01054; docs/models.md §3.2,
        §3.12): ``var_samp = V_X``, ``var_init = V_P + V_PX``, ``var_noise = V_eps + V_Peps + V_Xeps + V_PXeps``
        (noise innermost, then initialisation, then samples), plus ``bias``. They sum to ``test_error``."""
        fg = self.fine_grained
        return {"bias": self.bias, "var_samp": fg["X"], "var_init": self._add(fg["P"], fg["PX"]),
                "var_noise": self._add(fg["eps"], fg["Peps"], fg["Xeps"], fg["PXeps"])}

    def dascoli_overlaps(self) -> dict[str, Any]:
        r"""d'Ascoli et al.'s ``Psi_1 .. Psi_5`` per unit teacher power (docs/models.md §3.12), from which their
        ensemble formula ``E(k) = F1^2 (1 - 2 Psi1 + Psi2/k) + (F*^2 + tau^2) Psi3/k + F*^2 + (1 - 1/k)(F1^2 Psi4 +
        (F*^2 + tau^2) Psi5)`` follows: ``Psi1 = c``, ``Psi2 = B_MM - 1 + 2 c``, ``Psi3 = V_MM``, ``Psi4 = c^2 +
        V_X/s``, ``Psi5 = phi (G - t K)``."""
        c = self.overlap
        psi2 = (self.B_mm - 1 + 2 * c if self.precision
                else frozen_value(np.asarray(self.B_mm) - 1.0 + 2 * np.asarray(c), None))
        return {"Psi1": c, "Psi2": psi2, "Psi3": self.V_mm, "Psi4": self.psi4, "Psi5": self.psi5}

    def nested_records(self, extras: bool = True) -> list[dict[str, Any]]:
        """One JSON-ready dict per parameter point (C order): ``test_error``, ``train_error``, ``bias``,
        ``variance``, ``fine_grained`` (seven keys) and, with ``extras``, the coordinates
        (:func:`rmt.records.coordinate_columns`, ``model = "rf"``), ``tau1``, ``tau2``, the effective ridges, ``chi``, the
        overlap, MM's ``B`` and ``V`` and the diagnostics. :meth:`records` flattens them (``fine_grained.PX``)."""
        p = self.problem
        shape = p.shape
        size = int(np.prod(shape, dtype=int))

        def col(v: Any) -> list[float]:
            return np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().tolist()

        cols: dict[str, list[Any]] = coordinate_columns(p, "rf", shape) if extras else {}
        cols.update({k: col(getattr(self, k)) for k in ("test_error", "train_error", "bias", "variance")})
        cols["fine_grained"] = rows_of({k: col(self.fine_grained[k]) for k in FINE_GRAINED_KEYS})
        if extras:
            cols.update(n1_over_m=col(p.width_ratio), lambda_mm=col(p.lambda_mm), eta=[float(self.eta)] * size,
                        zeta=[float(self.zeta)] * size)
            for k in ("tau1", "tau2", "gamma_tilde", "kappa_prime", "chi", "overlap", "B_mm", "V_mm"):
                cols[k] = col(getattr(self, k))
            cols["residual"] = col(self.diagnostics.residual)
            status = np.broadcast_to(np.asarray(self.diagnostics.status), shape).ravel()
            cols["status"] = [Status(int(s)).name.lower() for s in status]
        return rows_of(cols)


# ----------------------------------------------------------------------------------------------------------------
# the float64 solver
# ----------------------------------------------------------------------------------------------------------------

def _effective_ridge(c: np.ndarray, r: np.ndarray, g0: np.ndarray, a: float, zeta: float, eta: float) -> Solution:
    """Unique root of ``g - c g (Q + a R) - g0 = 0`` on ``[g0, inf)`` (see the module docstring), ``g0 > 0``, with
    the relative residual ``|g - c g h - g0| / (g + c g h + g0)`` (failures are reported in ``status``).

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
    sol = monotone_newton(f, start, throw=False)
    g = sol.value
    _, _, lhs = parts(g, c, r)
    gR = g * mp_R(zeta, a + g, r)
    res = (np.abs(lhs - g0) / g) / (np.abs(1.0 - c) + c * gR + g0 / g)  # divided through by g: no overflow
    return Solution(value=g, residual=res, status=sol.status, branch=sol.branch, iterations=sol.iterations)


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
    to ``1e300``): ``T1 = ridge tau1``, ``u = tau2 / tau1``, ``um1 = u - 1``, ``it = 1 / tau1``. Each is the residual
    divided by the size of the rounding errors of its terms (``|T1 - 1|`` counted as ``T1 + 1``, ``|u - 1|`` as
    ``u + 1``)."""
    s67 = (np.abs(phi * zeta * u + it * phi * phi * um1 + psi * zeta * u * (T1 - 1.0))
           / (phi * zeta * u + it * phi * phi * (u + 1.0) + psi * zeta * u * (T1 + 1.0)))
    s68 = (np.abs(phi * um1 * (zeta * um1 + eta) - zeta * u * (T1 - 1.0))
           / (phi * (u + 1.0) * (zeta * (u + 1.0) + eta) + zeta * u * (T1 + 1.0)))
    return s67, s68


def _ap_train_factors(phi, psi, eta, zeta, T1, u, um1, it):
    """``(-ridge^2 tau2', -ridge^2 tau1')`` from the linear system of :func:`ap_tau_derivatives` written in
    ``tau2 = u tau1``: the Jacobian divided by ``tau1``, the ``ridge``-derivatives by ``tau1^3``, so that
    ``-ridge^2 tau' = T1^2 x`` with ``x`` the solution of a system of moderate numbers; the (S67) row is divided by
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


def ap_tau_derivatives(phi, psi, ridge, eta, zeta, t1, t2):
    r"""``(dtau1/dgamma, dtau2/dgamma)`` by implicit differentiation of (S67)/(S68) (docs/models.md §3.8). Generic arithmetic:
    works for numpy arrays and mpmath numbers."""
    d = t2 - t1
    J11 = phi * zeta * t2 - phi * phi + psi * zeta * t2 * (2 * ridge * t1 - 1)
    J12 = phi * (zeta * t1 + phi) + psi * zeta * t1 * (ridge * t1 - 1)
    F1g = psi * zeta * t1 * t1 * t2
    J21 = phi * (-(zeta * d + eta * t1) + d * (eta - zeta)) - zeta * t2 * (2 * ridge * t1 - 1)
    J22 = phi * ((zeta * d + eta * t1) + d * zeta) - zeta * t1 * (ridge * t1 - 1)
    F2g = -zeta * t1 * t1 * t2
    det = J11 * J22 - J12 * J21
    dt1 = -(J22 * F1g - J12 * F2g) / det
    dt2 = -(-J21 * F1g + J11 * F2g) / det
    return dt1, dt2


def _positive_ridge(phi, psi, ridge, eta, zeta, method):
    """Everything but the noise/signal weights, at ``ridge > 0`` (flat arrays)."""
    a = eta - zeta
    n = phi.size
    sol_gt = _effective_ridge(psi / phi, 1.0 / phi, ridge, a, zeta, eta)
    sol_kp = _effective_ridge(phi / psi, 1.0 / psi, ridge * phi / psi, a, zeta, eta)
    gt, res_gt, conv_gt, it_gt = sol_gt.value, sol_gt.residual, sol_gt.status == Status.SUCCESS, sol_gt.iterations
    kp, res_kp, conv_kp, it_kp = sol_kp.value, sol_kp.residual, sol_kp.status == Status.SUCCESS, sol_kp.iterations
    R1 = mp_R(zeta, a + gt, 1.0 / phi)
    # scaled variables (no overflow as ridge -> 0 or inf): T1 = ridge tau1 = gamma_tilde R, u = tau2 / tau1
    # = phi / (phi + zeta R), it = 1 / tau1 = (ridge / gamma_tilde) / R
    T1 = gt * R1
    u = phi / (phi + zeta * R1)
    um1 = -zeta * R1 / (phi + zeta * R1)
    it = (ridge / gt) / R1
    residuals: dict[str, np.ndarray] = {}
    status = np.zeros(n, dtype=np.int8)
    if method == "quartic":
        from rmt.kernel_spectrum import rf_kernel_polynomial

        with np.errstate(over="ignore"):
            tau1 = T1 / ridge
        coeffs = rf_kernel_polynomial().coefficients(phi, psi, ridge, eta, zeta)
        roots = polyroots(coeffs)
        rr = roots.real
        with np.errstate(all="ignore"):
            t2_roots = phi[:, None] ** 2 * rr / (phi[:, None] ** 2 + (phi - psi)[:, None] * zeta * rr
                                                 + (ridge * psi)[:, None] * zeta * rr * rr)
        sel = select_real_in_interval(roots, 0.0, 1.0 / ridge, extra=t2_roots > 0,
                                      rule="unique real quartic root in (0, 1/ridge] with tau2 > 0")
        status = np.where(sel.status != Status.SUCCESS, sel.status, status).astype(np.int8)
        residuals["tau1_routes"] = np.abs(sel.value - tau1) / tau1
        tau1 = np.where(np.isfinite(sel.value), sel.value, tau1)
        tau2 = phi * phi * tau1 / (phi * phi + (phi - psi) * zeta * tau1 + ridge * psi * zeta * tau1 * tau1)
        T1, u, it = ridge * tau1, tau2 / tau1, 1.0 / tau1
        um1 = u - 1.0
    with np.errstate(divide="ignore", over="ignore"):
        tau1 = T1 / ridge
        tau2 = u * tau1
    s67, s68 = _ap_residuals(phi, psi, eta, zeta, T1, u, um1, it)
    in_branch = (T1 > 0) & (T1 <= 1.0 + 1e-12) & (u > 0)
    # Mei-Montanari chi, independently
    z2 = np.full(n, zeta / a)
    psi1, psi2 = 1.0 / psi, 1.0 / phi
    chi, u1, u2, res_chi, conv_chi, it_chi = mm_chi_stable(z2, psi1, psi2, ridge / (psi * a))
    residuals.update({"gamma_tilde": res_gt, "kappa_prime": res_kp, "chi": res_chi, "S67": s67, "S68": s68})
    conv = conv_gt & conv_kp & conv_chi
    status = np.where((status == 0) & ~conv, Status.MAX_ITERATIONS, status)
    status = np.where((status == 0) & ~in_branch, Status.NO_PHYSICAL_ROOT, status).astype(np.int8)
    if zeta > 0:
        train_signal, train_noise = _ap_train_factors(phi, psi, eta, zeta, T1, u, um1, it)
    else:
        # zeta = 0 (even activation): (S67)/(S68) degenerate to tau2 = tau1, and K is eta times a Wishart matrix of
        # ratio m/n1, so -ridge^2 tau1' = ridge^2 int dMP_{psi/phi}(s) / (eta s + ridge)^2 (written without overflow)
        rw = psi / phi
        gR = ridge * mp_R(eta, ridge, rw)
        Dw = np.hypot(eta * (1.0 - rw) + ridge, 2.0 * np.sqrt(rw * eta) * np.sqrt(ridge))
        train_signal = train_noise = gR * (rw * eta * gR + ridge) / Dw
    e0 = mm_E0_factored(chi, z2, u1, u2, ridge / (psi * a))
    out = dict(tau1=tau1, tau2=tau2, gamma_tilde=gt, kappa_prime=kp, chi=chi, train_signal=train_signal,
               train_noise=train_noise, E0=e0)
    return out, residuals, status, {"gamma_tilde": it_gt, "kappa_prime": it_kp, "chi": it_chi}


def _ridgeless(phi, psi, eta, zeta):
    """Closed forms at ``ridge = 0`` (docs/models.md §3.4, §3.8, §3.10), flat arrays."""
    a = eta - zeta
    n = phi.size
    under = phi < psi  # n1 < m
    over = phi > psi  # n1 > m
    y_gt = np.where(under, 1.0 - phi / psi, 0.5)
    gt = np.where(under, _ridgeless_effective_ridge(1.0 / phi, y_gt, a, zeta), 0.0)
    y_kp = np.where(over, 1.0 - psi / phi, 0.5)
    kp = np.where(over, _ridgeless_effective_ridge(1.0 / psi, y_kp, a, zeta), 0.0)
    # tau1 at ridge = 0 (n1 > m): the positive root of the quartic at ridge = 0, a quadratic
    # zeta a (phi-psi)^2 t^2 + phi (phi-psi)(eta phi - zeta) t - phi^3 = 0 (product of roots < 0: unique)
    dphi = phi - psi
    t1 = positive_quadratic_root(zeta * a * dphi * dphi, -phi * dphi * (eta * phi - zeta), phi ** 3)
    tau1 = np.where(over, t1, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2 = np.where(over, phi * phi * tau1 / (phi * phi + dphi * zeta * tau1), np.inf)
    z2 = np.full(n, zeta / a)
    psi1, psi2 = 1.0 / psi, 1.0 / phi
    chi = mm_chi_ridgeless(z2, psi1, psi2)
    # training error (docs/models.md §3.8): (1 - n1/m)_+ [noise + s B_lsamp(zeta_MM, psi1, 0)]
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
    phi, psi, ridge = bc(problem.phi), bc(problem.psi), bc(problem.ridge)
    noise, signal, fstar = bc(problem.noise), bc(problem.signal), bc(problem.nonlinear_signal)
    n = phi.size
    keys = ("tau1", "tau2", "gamma_tilde", "kappa_prime", "chi", "train_signal", "train_noise", "E0")
    vals = {k: np.empty(n) for k in keys}
    res_keys = ("gamma_tilde", "kappa_prime", "chi", "S67", "S68") + (("tau1_routes",) if method == "quartic" else ())
    residuals = {k: np.zeros(n) for k in res_keys}
    status = np.zeros(n, dtype=np.int8)
    iterations: dict[str, int] = {}
    pos = ridge > 0
    for mask, fn in ((pos, lambda i: _positive_ridge(phi[i], psi[i], ridge[i], eta, zeta, method)),
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
    # --- the overlap three ways (docs/models.md §3.9) and the ensemble (linear ridge) side: ratio phi, B = phi (a + gt)
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
    E0 = vals["E0"]  # factored (cancellation-free) at ridge > 0, the polynomial at ridge = 0
    threshold = (ridge == 0) & (phi == psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        B_mm = np.where(threshold, np.inf, E1 / E0)
        V_mm = np.where(threshold, np.inf, E2 / E0)
    # --- per unit of signal / of noise (docs/models.md §3.9 (iii))
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
        "PX": zero_safe_product(signal, vpx) + zero_safe_product(fstar, vpxe),
        "Peps": np.zeros(n),
        "Xeps": noise * vxe,
        "PXeps": zero_safe_product(noise, vpxe),
    }
    bias = signal * bias_unit + fstar
    variance = sum(fg[k] for k in FINE_GRAINED_KEYS)
    test = zero_safe_product(signal, B_mm) + zero_safe_product(noise_like, V_mm) + fstar
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
        return frozen_value(v.reshape(shape), None)

    diag = RFDiagnostics(status=shp(status), residual=shp(residual),
                         residuals=types.MappingProxyType({k: shp(v) for k, v in residuals.items()}),
                         branch=BRANCH_RULES if method == "effective-ridge" else
                         BRANCH_RULES.replace("tau1 = gamma_tilde R / ridge, checked in",
                                              "tau1: the unique real quartic root in (0, 1/ridge] with tau2 > 0, "
                                              "compared with gamma_tilde R / ridge and checked in"),
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
                          f"ridge={ridge[first]:.6g}; worst residual {float(np.nanmax(residual[bad])):.3g}; "
                          f"branch rules: {diag.branch})", residual=float(np.nanmax(residual[bad])),
                          status=Status(int(st[first])))
    return result
