r"""Exact high-dimensional asymptotics of random-feature ridge regression, with the fine-grained bias-variance
decomposition.

Model (Adlam & Pennington 2020, arXiv:2011.03321, "AP"; ../shared/DESIGN.md): inputs ``x ~ N(0, I_n0)``, teacher
``y = beta.x/sqrt(n0) + eps`` with ``|beta|^2 = n0 * signal`` and ``eps ~ N(0, noise)`` (optionally a nonlinear teacher
component of power ``F_star^2 = nonlinear_signal``, Mei & Montanari's), weights ``W`` (n1 x n0) i.i.d. ``N(0, 1)``,
features ``f(x) = sigma(W x/sqrt(n0))``, kernel ``K = F^T F/n1`` and predictor
``yhat(x) = Y (K + ridge I_m)^-1 F^T f(x)/n1``, in the limit ``n0, n1, m -> inf`` with ``phi = n0/m`` and
``psi = n0/n1`` fixed. The activation enters through ``eta = Var sigma(z)`` and ``zeta = (E sigma'(z))^2`` of the
centred activation (``rmt.constants``); ``mu_star^2 = eta - zeta > 0`` is required.

Conventions: ``test_error = E_x (yhat(x) - beta.x/sqrt(n0))^2`` (+ ``F_star^2``) excludes the test label's noise;
``train_error`` uses the noisy training labels. Mei & Montanari's notation (arXiv:1908.05355, "MM"): ``psi1 = 1/psi``,
``psi2 = 1/phi``, ``lambda_MM = phi * ridge``, ``zeta_MM = mu1/mu_star`` (a ratio, not squared),
``lambda_bar = lambda_MM / mu_star^2``; build problems in that notation with ``rmt.Problem.from_mei_montanari``.

Formula source: ../shared/reference/random_features.md (sections 2-5; the section is cited in each docstring). The
fine-grained decomposition is the symmetric Sobol-Hoeffding one over the three independent sources ``P = W``, ``X``
(training inputs) and ``eps`` (training-label noise): ``fine_grained`` has the keys ``P, X, eps, PX, Peps, Xeps,
PXeps``, summing to ``variance``; ``bias + variance = test_error``. ``eps`` and ``Peps`` vanish asymptotically (sheet
3.6: the prediction is linear in ``eps`` with weights whose ``X``-average is ``O(1/m)``) and are returned as exact
zeros. A nonlinear teacher component acts as label noise that is shared whenever ``X`` is shared: it adds
``F_star^2`` to the bias, ``F_star^2 Psi_5`` to ``V_X`` and ``F_star^2 (V_MM - Psi_5)`` to ``V_PX``.

Entry points:

* :func:`rf_theory` -- float64, vectorized over array-valued problems (no loop over points);
* :func:`rf_theory_mp` -- the same quantities with mpmath at any precision (one problem);
* :func:`mei_montanari`, :func:`mm_test_error` -- MM's ``B`` and ``V`` from their fixed point;
* :func:`mm_wide_limit`, :func:`mm_large_sample_limit`, :func:`mm_omega`, :func:`mm_wide_optimal_lambda`,
  :func:`wide_limit`, :func:`large_sample_limit` -- MM's ``omega`` forms (sheet 2.4);
* :func:`optimal_ridge` -- the ridge minimising the test error, and the error there;
* :func:`mixture_theory` with :class:`FeatureMixture` -- heterogeneous features / random biases (Adlam, Levinson &
  Pennington, arXiv:1912.00827; sheet section 4);
* :meth:`RFResult.ensemble`, :meth:`RFResult.bagging` (sheet 3.8), :meth:`RFResult.ordered_decomposition`
  (d'Ascoli et al., sheet 5).

Example:
    >>> from rmt import Problem
    >>> r = rf_theory(Problem.from_ratios(phi=0.5, psi=0.5, ridge=0.1, activation="relu", noise=0.25))
    >>> round(r.tau1, 5), round(r.test_error, 4), round(r.fine_grained["PX"], 4)
    (4.97964, 0.5339, 0.0911)
    >>> round(r.ensemble("inf").test_error, 4)  # infinitely many initialisations
    0.2806
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive
from rmt.problem import ArrayLike, Problem
from rmt.solvers import SolverError, Status
from rmt.theory import _rf_core, _rf_mp
from rmt.theory._rf_core import FINE_GRAINED_KEYS, AveragedResult, RFDiagnostics, RFResult, parse_k, rf_constants
from rmt.theory._rf_mixture import FeatureMixture, MixtureResult, mixture_theory
from rmt.theory._rf_mm import (mm_chi, mm_chi_ridgeless, mm_E_polynomials, mm_large_sample_b, mm_wide_bv)
from rmt.theory._rf_mm import mm_omega as _mm_omega
from rmt.theory._rf_mm import mm_wide_optimal_lambda as _mm_wide_optimal_lambda

__all__ = [
    "FINE_GRAINED_KEYS",
    "AveragedResult",
    "FeatureMixture",
    "MMResult",
    "MixtureResult",
    "OptimalRidge",
    "RFOptimalRidge",
    "RFDiagnostics",
    "RFResult",
    "large_sample_limit",
    "mei_montanari",
    "mixture_theory",
    "mm_large_sample_limit",
    "mm_omega",
    "mm_test_error",
    "mm_wide_limit",
    "mm_wide_optimal_lambda",
    "optimal_ridge",
    "rf_optimal_ridge",
    "parse_k",
    "rf_theory",
    "rf_theory_mp",
    "wide_limit",
]


def rf_theory(problem: Problem, *, method: str = "effective-ridge", throw: bool = True) -> RFResult:
    r"""Test error, training error, bias, variance and the seven fine-grained terms of random-feature ridge
    regression, vectorized over array-valued problems.

    For ``ridge > 0`` (sheet 3.3-3.6): the ensemble and bagging effective ridges ``gamma_tilde`` and ``kappa'``
    (3.6 (i), (ii)) are the unique roots of convex scalar equations on ``[ridge, inf)`` and ``[ridge phi/psi, inf)``
    (monotone Newton); ``tau1 = gamma_tilde G_{1/phi}((a + gamma_tilde)/zeta) / (ridge zeta)`` and ``tau2`` follow and
    are checked in AP's (S67)/(S68); MM's ``chi`` (2.2) is the unique root with ``a_1, a_2 > 0`` of the fixed point on
    the imaginary axis. The overlap ``c`` is computed from each of the three and their agreement is reported.
    ``ridge = 0`` is the exact ridgeless limit in closed form (2.3, 3.4, 3.7): at the interpolation threshold
    ``n1 = m`` the terms ``V_PX`` and ``V_PXeps`` (hence ``variance`` and ``test_error``) are ``inf`` while ``bias``,
    ``V_P``, ``V_X`` and ``V_Xeps`` stay finite; ``tau1 = tau2 = inf`` there and for ``n1 < m``.

    Args:
        problem: an :class:`rmt.Problem` (scalar or array fields; isotropic inputs). Ridge in AP scaling
            (``K + ridge I_m``).
        method: ``"effective-ridge"`` (default, described above) or ``"quartic"``: ``tau1`` as the sheet's root of the
            (S67)/(S68) quartic, the unique real root in ``(0, 1/ridge]`` with ``tau2 > 0`` among all four (computed
            by :func:`rmt.solvers.polyroots`; slower), with the distance to the effective-ridge route recorded in the
            diagnostics as ``tau1_routes``. Where ``n1 < m`` and the ridge is small the physical root has a spurious
            twin within ~1e-5 relative, which float64 cannot always separate: such points are reported as failed
            (``NO_PHYSICAL_ROOT`` or a residual above tolerance), never returned wrong.
        throw: raise :class:`rmt.SolverError` (with the worst residual) if any point fails; with ``False`` failed
            points are marked in ``result.diagnostics.status``.

    Returns:
        :class:`RFResult`.

    Raises:
        ValueError: bad input (non-isotropic covariance, linear activation, unknown method).
        SolverError: a solve did not converge, a root left its branch, or the three routes to the overlap disagree by
            more than 1e-7.

    .. warning::
        Near the interpolation threshold with a tiny ridge, ``V_PX`` and ``V_PXeps`` are large differences of large
        numbers; float64 loses about ``log10(V_PX)`` digits there (sheet 7.4). Use :func:`rf_theory_mp` if that
        matters.
    """
    return _rf_core.rf_theory(problem, method=method, throw=throw)


def rf_theory_mp(problem: Problem, *, precision: int = 50) -> RFResult:
    r"""The quantities of :func:`rf_theory` with mpmath at ``precision`` significant digits, for one problem.

    An independent route through the sheet's literal formulas (quartic root for ``tau1``, the sheet's ``G_r``/``K_r``
    forms, bracketed effective ridges and ``chi``, training error by a central difference), used to test the float64
    path and for evaluation near the threshold. Fields are ``mpmath.mpf``; ``result.precision`` is set. Needs
    ``zeta > 0``.

    Raises:
        ValueError: a grid problem, ``precision < 15``, ``zeta = 0`` or the validation errors of :func:`rf_theory`.
        SolverError: no or several physical quartic roots, or a residual above ``10^-(precision-5)``.
    """
    return _rf_mp.rf_theory_mp(problem, precision=precision)


# ----------------------------------------------------------------------------------------------------------------
# Mei & Montanari
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class MMResult:
    r"""Mei & Montanari's ``B`` and ``V`` (sheet 2.2/2.3) and their fixed point.

    Attributes:
        B, V: the risk is ``F1^2 B + (tau^2 + F_star^2) V + F_star^2``.
        chi: ``nu1 nu2`` at ``xi = i s`` (negative); the ridgeless ``chi_0`` at ``lam_bar = 0``.
        a1, a2: ``nu_j(i s) = i a_j`` (``inf`` at ``lam_bar = 0``, where ``s = 0``).
        zeta, psi1, psi2, lam_bar: the inputs (``zeta = mu1/mu_star``).
        residual: backward error of the fixed point (0 for the closed-form ridgeless limit).
        status: :class:`rmt.solvers.Status` codes.
        branch: the branch rule.
    """

    B: Any
    V: Any
    chi: Any
    a1: Any
    a2: Any
    zeta: Any
    psi1: Any
    psi2: Any
    lam_bar: Any
    residual: Any
    status: Any
    branch: str = ("chi: the unique root with a1, a2 > 0, on (chi0, 0), of (psi1 + q)(psi2 + q) + s^2 chi = 0, "
                   "q = chi (1 + zeta^2/(1 - zeta^2 chi)); ridgeless: the negative root chi0")


def _mm_zeta2(zeta: ArrayLike) -> np.ndarray:
    return check_nonnegative(zeta, "zeta") ** 2


def mei_montanari(zeta: ArrayLike, psi1: ArrayLike, psi2: ArrayLike, lam_bar: ArrayLike, *,
                  throw: bool = True) -> MMResult:
    r"""Mei & Montanari's ``B(zeta, psi1, psi2, lambda_bar)`` and ``V`` (arXiv:1908.05355 Theorem 1; sheet 2.2,
    ridgeless 2.3), vectorized.

    Args:
        zeta: ``mu1 / mu_star`` (MM's ratio, **not** squared), ``>= 0``.
        psi1: ``N/d`` (features per input dimension), ``> 0``.
        psi2: ``n/d`` (samples per input dimension), ``> 0``.
        lam_bar: ``lambda / mu_star^2 >= 0`` with MM's ridge ``lambda`` (penalty ``N lambda/d |a|^2`` with a ``1/n``
            loss); ``0`` is the ridgeless limit (closed form; ``inf`` at ``psi1 = psi2``).

    Branch rule: on ``xi = i s``, ``s = sqrt(psi1 psi2 lambda_bar)``, ``nu_j = i a_j`` with ``a_j > 0``; this root is
    unique (:mod:`theory._rf_mm`), hence the one continued from large ``lambda``.

    Example:
        >>> r = mei_montanari(1.658897, 1.0, 3.0, 1e-3 / 0.0908451)
        >>> round(float(r.B), 4), round(float(r.V), 4)
        (0.667, 0.4892)
    """
    z2 = _mm_zeta2(zeta)
    psi1 = check_positive(psi1, "psi1")
    psi2 = check_positive(psi2, "psi2")
    lam_bar = check_nonnegative(lam_bar, "lam_bar")
    shape = np.broadcast_shapes(z2.shape, psi1.shape, psi2.shape, lam_bar.shape)
    z2f, p1, p2, lb = (np.broadcast_to(v, shape).ravel().astype(float) for v in (z2, psi1, psi2, lam_bar))
    n = p1.size
    chi = np.empty(n)
    res = np.zeros(n)
    status = np.zeros(n, dtype=np.int8)
    pos = lb > 0
    if np.any(pos):
        c, r, conv, _ = mm_chi(z2f[pos], p1[pos], p2[pos], p1[pos] * p2[pos] * lb[pos])
        chi[pos], res[pos] = c, r
        status[pos] = np.where(conv & (r <= _rf_core.RESIDUAL_TOL), Status.SUCCESS, Status.MAX_ITERATIONS)
    chi[~pos] = mm_chi_ridgeless(z2f[~pos], p1[~pos], p2[~pos])
    E0, E1, E2 = mm_E_polynomials(chi, z2f, p1, p2)
    thr = ~pos & (p1 == p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(thr, np.inf, E1 / E0)
        V = np.where(thr, np.inf, E2 / E0)
        # a1 - a2 = (psi1 - psi2)/s and a1 a2 = -chi: the larger root without cancellation, the smaller from the
        # product (a_j = (psi_j + q)/s would cancel when a_j is small)
        s = np.where(pos, np.sqrt(p1 * p2 * lb), 1.0)
        d = (p1 - p2) / s
        big = 0.5 * (np.abs(d) + np.sqrt(d * d - 4.0 * chi))
        small = -chi / big
        a1 = np.where(pos, np.where(d >= 0, big, small), np.inf)
        a2 = np.where(pos, np.where(d >= 0, small, big), np.inf)
    out = MMResult(*(_rf_core._ro(v.reshape(shape)) for v in (B, V, chi, a1, a2)), zeta=_rf_core._ro(np.sqrt(z2)),
                   psi1=_rf_core._ro(psi1), psi2=_rf_core._ro(psi2), lam_bar=_rf_core._ro(lam_bar),
                   residual=_rf_core._ro(res.reshape(shape)), status=_rf_core._ro(status.reshape(shape)))
    if throw and np.any(status != 0):
        raise SolverError(f"mei_montanari: fixed point not converged at {int(np.sum(status != 0))} points "
                          f"(worst residual {float(res.max()):.3g})", residual=float(res.max()),
                          status=Status.MAX_ITERATIONS)
    return out


def _mm_params(problem: Problem) -> tuple[np.ndarray, ...]:
    eta, zeta = rf_constants(problem)
    a = eta - zeta
    return (np.sqrt(zeta / a), np.asarray(problem.psi1, dtype=float), np.asarray(problem.psi2, dtype=float),
            np.asarray(problem.lambda_mm, dtype=float) / a)


def mm_test_error(problem: Problem) -> Any:
    r"""MM's risk ``F1^2 B + (tau^2 + F_star^2) V + F_star^2`` for an :class:`rmt.Problem` (sheet 2.2; AP <-> MM
    mapping of 1.3 and 3.5: ``zeta_MM^2 = zeta/(eta - zeta)``, ``lambda_bar = phi ridge/(eta - zeta)``,
    ``F1^2 = signal``, ``tau^2 = noise``, ``F_star^2 = nonlinear_signal``)."""
    r = mei_montanari(*_mm_params(problem))
    s, n, f = (np.asarray(getattr(problem, k), dtype=float) for k in ("signal", "noise", "nonlinear_signal"))
    return _rf_core._ro(_rf_core._scale(s, np.asarray(r.B)) + _rf_core._scale(n + f, np.asarray(r.V)) + f)


def mm_omega(zeta: ArrayLike, psi: ArrayLike, lam_bar: ArrayLike) -> Any:
    r"""MM's ``omega(zeta, psi, lambda_bar)`` (sheet 2.4): the negative root of
    ``(lambda_bar psi + 1) w^2 + (psi zeta^2 - zeta^2 - lambda_bar psi - 1) w - psi zeta^2 = 0``."""
    return _rf_core._ro(_mm_omega(_mm_zeta2(zeta), check_positive(psi, "psi"), check_nonnegative(lam_bar, "lam_bar")))


def mm_wide_limit(zeta: ArrayLike, psi2: ArrayLike, lam_bar: ArrayLike) -> tuple[Any, Any]:
    r"""``(B, V)`` in the wide limit ``psi1 -> inf`` (sheet 2.4): ``B = psi2/D``, ``V = omega^2/D``,
    ``D = psi2 - 2 omega psi2 + omega^2 psi2 - omega^2``, ``omega = omega(zeta, psi2, lambda_bar)``;
    ``zeta = mu1/mu_star``.
    It is linear ridge regression with ridge ``(1 + lambda_bar psi2)/zeta^2``."""
    B, V = mm_wide_bv(_mm_zeta2(zeta), check_positive(psi2, "psi2"), check_nonnegative(lam_bar, "lam_bar"))
    return _rf_core._ro(B), _rf_core._ro(V)


def mm_large_sample_limit(zeta: ArrayLike, psi1: ArrayLike, lam_bar: ArrayLike) -> Any:
    r"""``B`` in the large-sample limit ``psi2 -> inf`` (sheet 2.4; ``V = 0`` there); at ``lambda_bar = 0`` the
    approximation error of the best predictor with ``N = psi1 d`` random features. ``zeta = mu1/mu_star``."""
    return _rf_core._ro(mm_large_sample_b(_mm_zeta2(zeta), check_positive(psi1, "psi1"),
                                          check_nonnegative(lam_bar, "lam_bar")))


def mm_wide_optimal_lambda(zeta: ArrayLike, psi2: ArrayLike, snr: ArrayLike) -> Any:
    r"""MM's closed-form optimal ``lambda_bar`` in the wide limit (sheet 2.4, ybaek ``lambda_asymp_opt.m``);
    ``snr = F1^2/(F_star^2 + tau^2)`` (``inf`` allowed); ``0`` in the high-SNR phase where interpolation is optimal."""
    return _rf_core._ro(_mm_wide_optimal_lambda(_mm_zeta2(zeta), check_positive(psi2, "psi2"),
                                                check_nonnegative(snr, "snr", allow_inf=True)))


def wide_limit(problem: Problem) -> Any:
    r"""Test error of the problem's ``(phi, ridge, activation, noise, signal)`` with infinitely many features
    (``n1 -> inf``; MM's ``psi1 -> inf``, sheet 2.4). ``n1`` is ignored."""
    z, _, psi2, lb = _mm_params(problem)
    B, V = mm_wide_bv(z * z, psi2, lb)
    s, n, f = (np.asarray(getattr(problem, k), dtype=float) for k in ("signal", "noise", "nonlinear_signal"))
    return _rf_core._ro(_rf_core._scale(s, B) + _rf_core._scale(n + f, V) + f)


def large_sample_limit(problem: Problem) -> Any:
    r"""Test error with infinitely many samples (``m -> inf``; MM's ``psi2 -> inf``, sheet 2.4): the variance vanishes
    and the error is ``signal * B_lsamp + F_star^2``. ``m`` is ignored."""
    z, psi1, _, lb = _mm_params(problem)
    s, f = (np.asarray(getattr(problem, k), dtype=float) for k in ("signal", "nonlinear_signal"))
    return _rf_core._ro(s * mm_large_sample_b(z * z, psi1, lb) + f)


# ----------------------------------------------------------------------------------------------------------------
# optimal ridge
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class RFOptimalRidge:
    """The ridge minimising the test error (:func:`optimal_ridge`).

    Attributes:
        ridge: optimal ridge in AP scaling (``0``: interpolation is optimal; ``inf``: the zero predictor is).
        lambda_mm: ``phi * ridge`` (MM's ``lambda``); ``lambda_bar = lambda_mm / mu_star^2``.
        lambda_bar: MM's ``lambda_bar``.
        test_error: the test error there.
        ridgeless_test_error: the test error at ``ridge = 0`` for comparison.
    """

    ridge: Any
    lambda_mm: Any
    lambda_bar: Any
    test_error: Any
    ridgeless_test_error: Any


def _mm_error_flat(z2, p1, p2, lb, s, nl, f):
    """Test error from MM's fixed point (flat arrays, ``lb > 0``)."""
    chi, res, conv, _ = mm_chi(z2, p1, p2, p1 * p2 * lb)
    if not np.all(conv & (res <= _rf_core.RESIDUAL_TOL)):
        raise SolverError("optimal_ridge: MM fixed point did not converge", residual=float(np.max(res)),
                          status=Status.MAX_ITERATIONS)
    E0, E1, E2 = mm_E_polynomials(chi, z2, p1, p2)
    return s * E1 / E0 + (nl + f) * E2 / E0 + f


def optimal_ridge(problem: Problem, *, points: int = 141, lam_bar_range: tuple[float, float] = (1e-8, 1e6),
                  tol: float = 1e-10) -> RFOptimalRidge:
    r"""The ridge minimising the test error for the problem's ratios, activation, noise and signal (its ``ridge`` is
    ignored), vectorized.

    Search: the test error (MM's formula, sheet 2.2) at ``ridge = 0`` (closed form) and on a log grid of
    ``points`` values of ``lambda_bar`` in ``lam_bar_range``, all points at once; then a vectorized golden-section
    polish in ``log lambda_bar`` between the neighbours of the best grid value, to relative width ``tol``. If the
    ridgeless value is the smallest the optimum is ``0`` (interpolation; MM's high-SNR phase); if the largest grid
    value is best and the zero predictor (error ``signal + F_star^2``) is no worse, the optimum is ``inf``.

    Compare :func:`mm_wide_optimal_lambda`, MM's closed form in the wide limit (tested to agree as ``n1 -> inf``).

    Returns:
        :class:`RFOptimalRidge`.
    """
    if points < 8:
        raise ValueError(f"points must be >= 8, got {points}")
    lo, hi = (float(v) for v in lam_bar_range)
    if not (0 < lo < hi):
        raise ValueError(f"lam_bar_range must satisfy 0 < lo < hi, got {lam_bar_range}")
    eta, zeta = rf_constants(problem)
    a = eta - zeta
    shape = problem.shape
    bc = lambda v: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel()  # noqa: E731
    phi, psi = bc(problem.phi), bc(problem.psi)
    s, nl, f = bc(problem.signal), bc(problem.noise), bc(problem.nonlinear_signal)
    n = phi.size
    z2 = np.full(n, zeta / a)
    p1, p2 = 1.0 / psi, 1.0 / phi
    grid = np.geomspace(lo, hi, points)
    K = grid.size
    rep = lambda v: np.repeat(v, K)  # noqa: E731
    err = _mm_error_flat(rep(z2), rep(p1), rep(p2), np.tile(grid, n), rep(s), rep(nl), rep(f)).reshape(n, K)
    chi0 = mm_chi_ridgeless(z2, p1, p2)
    E0, E1, E2 = mm_E_polynomials(chi0, z2, p1, p2)
    thr = p1 == p2
    with np.errstate(divide="ignore", invalid="ignore"):
        e0 = np.where(thr, np.where((s == 0) & (nl + f == 0), f, np.inf),
                      _rf_core._scale(s, E1 / E0) + _rf_core._scale(nl + f, E2 / E0) + f)
    k = np.argmin(err, axis=1)
    best_grid = err[np.arange(n), k]
    # golden section in log lambda_bar on [grid[k-1], grid[k+1]]
    step = np.log(grid[1] / grid[0])
    u_lo = np.log(grid[k]) - step
    u_hi = np.log(grid[k]) + step
    gr = (np.sqrt(5.0) - 1.0) / 2.0
    x1 = u_hi - gr * (u_hi - u_lo)
    x2 = u_lo + gr * (u_hi - u_lo)
    F = lambda u: _mm_error_flat(z2, p1, p2, np.exp(u), s, nl, f)  # noqa: E731
    f1, f2 = F(x1), F(x2)
    while np.max(u_hi - u_lo) > tol:
        left = f1 <= f2
        u_hi = np.where(left, x2, u_hi)
        u_lo = np.where(left, u_lo, x1)
        new_x1 = np.where(left, u_hi - gr * (u_hi - u_lo), x2)
        new_x2 = np.where(left, x1, u_lo + gr * (u_hi - u_lo))
        new = np.where(left, new_x1, new_x2)
        fn = F(new)
        f1, f2 = np.where(left, fn, f2), np.where(left, f1, fn)
        x1, x2 = new_x1, new_x2
    u = 0.5 * (u_lo + u_hi)
    lam_bar = np.exp(u)
    e_pol = F(u)
    better = e_pol <= best_grid
    lam_bar = np.where(better, lam_bar, grid[k])
    e_opt = np.where(better, e_pol, best_grid)
    # the ends: ridgeless and the zero predictor
    zero_pred = s + f
    at0 = e0 <= e_opt
    at_inf = (k == K - 1) & (zero_pred <= e_opt) & ~at0
    lam_bar = np.where(at0, 0.0, np.where(at_inf, np.inf, lam_bar))
    e_opt = np.where(at0, e0, np.where(at_inf, zero_pred, e_opt))
    ridge = lam_bar * a / phi
    ro = lambda v: _rf_core._ro(v.reshape(shape))  # noqa: E731
    return RFOptimalRidge(ridge=ro(ridge), lambda_mm=ro(lam_bar * a), lambda_bar=ro(lam_bar), test_error=ro(e_opt),
                          ridgeless_test_error=ro(e0))


# distinct names for the three optimal-ridge searches of the package (each result has ``ridge`` and ``test_error``):
# rf_optimal_ridge here, rmt.theory.covariate_shift.shift_optimal_ridge, rmt.theory.eigen_autodiff.eigen_optimal_ridge
rf_optimal_ridge = optimal_ridge
OptimalRidge = RFOptimalRidge  # former name, kept for backward compatibility
