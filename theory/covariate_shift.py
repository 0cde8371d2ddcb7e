r"""Random-feature regression under covariate shift: exact high-dimensional test error, bias and variance.

Model (docs/conventions.md, docs/models.md §5): training inputs
``x ~ N(0, Sigma)``, test inputs ``x ~ N(0, Sigma_*)`` with ``Sigma`` and ``Sigma_*`` simultaneously diagonal; target
``y = beta.x / sqrt(n0) + eps`` with ``beta ~ N(0, signal I_n0)`` and ``eps ~ N(0, noise)`` on the training labels only;
features ``f(x) = sigma(W x / sqrt(n0))`` with ``W`` (n1 x n0) i.i.d. N(0, 1); kernel ridge regression
``yhat(x) = Y (K + ridge I_m)^-1 F^T f(x) / n1``. ``test_error = E_x (yhat(x) - beta.x/sqrt(n0))^2`` on the *test*
law, without test-label noise; ``bias`` is the error of the mean predictor (averaged over ``W``, ``X``, ``eps`` with
``beta`` fixed), ``variance = test_error - bias``. Ratios ``phi = n0/m`` and ``psi = n0/n1``. Optionally the target
has a nonlinear component of training-law power ``F_*^2 = nonlinear_signal`` (the simulator's
``sqrt(F_*^2) He2(v.x)/sqrt 2``, ``v`` a random direction normalised on the training law): label noise shared with
``X`` on the training side, its test-law second moment (:func:`he2_test_power`) added to the bias at test time
(docs/models.md §5.11).

The shift is a joint spectral measure ``mu`` of eigenvalue pairs ``(lambda, lambda_*)`` (:class:`JointSpectrum`):
atoms, or the named families :func:`two_point`, :func:`power_law` and :func:`from_density` (quadrature of a
continuous law). Activation constants are taken at the pre-activation variances ``s = tr Sigma / n0`` (train) and
``s_* = tr Sigma_* / n0`` (test), docs/models.md §5.1.

Theory (Tripuraneni, Adlam & Pennington, arXiv:2111.08234; the derivation is summarised in docs/models.md §5):

* :func:`covariate_shift_error` -- the closed "rho-form": self-consistent equation (docs/models.md §5.2), test error,
  bias and variance under shift and in distribution (§5.3), the exact ridgeless limits (§5.4); vectorized over grids of
  ``phi, psi, ridge, noise, signal`` and over a batch of spectra (e.g. a shift strength).
* :func:`error_weight` and :func:`compare_shifts` -- the per-eigenvalue weight ``e(lambda)`` that makes the OOD error
  linear in the test-weighted measure ``lambda_* dmu`` (§5.5), and the sufficient condition (monotone ``e`` plus
  first-order stochastic dominance) for one shift to be no worse than another.
* :func:`id_ood_line` and :func:`id_ood_relation` -- the exact linear ID-OOD law of the ridgeless over-parameterised
  regime with closed-form slope and intercept (§5.6); outside that regime the deviation from a line is reported.
* :func:`kernel_ood_error` and :func:`linear_ood_error` -- out-of-distribution kernel regression from an eigensystem
  and an overlap matrix (Canatar, Bordelon & Pehlevan, arXiv:2106.02261; docs/models.md §5.9), the bridge to
  ``theory.eigen``.

.. warning::
   **Centring caveat (docs/models.md §5.1).** The formulas assume ``mu0 = E sigma(u)`` is the same at ``s`` and ``s_*``
   (the derivation takes ``mu0 = mu0* = 0``). This holds for odd activations (``tanh``, ``erf``, ``sign``, ``linear``)
   and for any activation when ``s_* = s``. For a non-odd activation (``relu``, ``softplus``, ...) with ``s_* != s`` a
   constant offset ``mu0(s_*) - mu0(s)`` appears at test time that the theory does not cover: these inputs raise
   ``ValueError`` instead of returning a number.

Physical branches (docs/models.md §5.2): ``rho`` is the unique root of ``ridge phi/psi = kappa(rho) (1 - d1(rho))`` on
``(0, rho_max)``, where the right side decreases from ``+inf`` to 0 (bisection with Illinois steps in ``log rho``,
:func:`rmt.solvers.solve_monotone`); ``rho_max`` (= the ridgeless ``rho_0``) is the unique root of the increasing
``Q1(rho) + rho mu_star^2/mu1^2 = 1/max(phi, psi)``. A solve that does not converge raises
:class:`rmt.solvers.SolverError` with its residual; no NaN is returned silently. At the interpolation threshold
``n1 = m`` with ``ridge = 0`` the error is ``+inf`` (the double-descent pole), reported as such.

Layout: the joint spectrum is :class:`rmt.problem.JointSpectrum` (beside the problem description), the families
live in :mod:`theory._shift_spectra`, the kernel formulas in
:mod:`theory._kernel_ood`; every public name is importable from this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive, check_positive_int, check_ridge
from rmt.activations import ActivationLike, constants, get_activation
from rmt.problem import Problem
from rmt.records import Tabular
from rmt.solvers import Solution, SolverError, Status, minimize_scalar, solve_monotone
from rmt.theory._kernel_ood import KernelOodResult, kernel_ood_error, linear_ood_error
from rmt.theory._shift_teacher import he2_test_mean, he2_test_power
from rmt.numerics import ArrayLike, frozen_value, readonly_array
from rmt.theory._shift_spectra import (JointSpectrum, SpectrumLike, as_joint_spectrum,
                                   from_density, power_law, two_point)

__all__ = [
    "ErrorWeight",
    "IdOodLine",
    "IdOodRelation",
    "JointSpectrum",
    "KernelOodResult",
    "OptimalRidge",
    "ShiftOptimalRidge",
    "ShiftComparison",
    "ShiftFineGrained",
    "ShiftResult",
    "SpectrumLike",
    "as_joint_spectrum",
    "compare_shifts",
    "covariate_shift_error",
    "error_weight",
    "from_density",
    "he2_test_mean",
    "he2_test_power",
    "id_ood_line",
    "id_ood_relation",
    "kernel_ood_error",
    "linear_ood_error",
    "optimal_ridge",
    "shift_optimal_ridge",
    "power_law",
    "shift_error",
    "shift_fine_grained",
    "two_point",
]

# ----------------------------------------------------------------------------------------------------------------
# activation constants at the train and test variances
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Constants:
    mu1: np.ndarray  # at s
    mu_star2: np.ndarray
    mu1_star: np.ndarray  # at s_*
    mu_star2_star: np.ndarray


def _shift_constants(act: ActivationLike, s: np.ndarray, s_star: np.ndarray) -> _Constants:
    """``mu1, mu_star^2`` at ``s`` and ``s_*`` (arrays of one shape), with the centring and ``mu1 != 0`` checks.

    Constants are computed once per distinct variance (rounded to 13 significant digits: traces of quadrature-
    discretised or reweighted laws carry ~1e-15 rounding, and each distinct value would otherwise cost a fresh mpmath
    quadrature; the effect is <= 1e-13 relative) and mapped back onto the array.
    """
    activation = get_activation(act)
    s = np.asarray(s, dtype=float)
    s_star = np.asarray(s_star, dtype=float)
    rounded = np.vectorize(lambda x: float(f"{x:.13g}"), otypes=[float])
    both = rounded(np.concatenate([s.ravel(), s_star.ravel()])) if s.size else np.zeros(0)
    values, inverse = np.unique(both, return_inverse=True)
    table = np.array([[float(v) for v in (c.mu0, c.mu1, c.mu_star2, c.eta)]
                      for c in (constants(activation, float(x)) for x in values)]).reshape(-1, 4)
    at_s = table[inverse[: s.size]].reshape(s.shape + (4,))
    at_ss = table[inverse[s.size:]].reshape(s.shape + (4,))
    scale = np.maximum.reduce([np.ones(s.shape), np.sqrt(np.clip(at_s[..., 3], 0, None)), np.abs(at_s[..., 0])])
    bad = np.abs(at_s[..., 0] - at_ss[..., 0]) > 1e-9 * scale
    if np.any(bad):
        i = np.argwhere(bad)[0]
        i = tuple(i) if i.size else ()
        raise ValueError(
            f"activation {activation.name!r} has E sigma(u) = {at_s[i][0]:.6g} at the train variance "
            f"s = {float(s[i]):.6g} but {at_ss[i][0]:.6g} at the test variance s_* = {float(s_star[i]):.6g}: "
            "the covariate-shift formulas assume equal means (odd activations such as tanh/erf, or s_* = s); "
            "see the centring caveat of docs/models.md §5.1")
    if np.any(at_s[..., 1] == 0):
        i = np.argwhere(at_s[..., 1] == 0)[0]
        i = tuple(i) if i.size else ()
        raise ValueError(f"activation {activation.name!r} has mu1 = E sigma'(u) = 0 at s = {float(s[i]):.6g}: "
                         "it carries no linear signal and the formulas (which divide by mu1^2) do not apply")
    return _Constants(at_s[..., 1], np.clip(at_s[..., 2], 0, None), at_ss[..., 1], np.clip(at_ss[..., 2], 0, None))


# ----------------------------------------------------------------------------------------------------------------
# the rho-form (docs/models.md §5.2, §5.4)
# ----------------------------------------------------------------------------------------------------------------

def _q_integrals(rho: np.ndarray, lam: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Q1 = int q dmu`` and ``Q2 = int q^2 dmu`` with ``q = rho lam / (1 + rho lam)`` (docs/models.md §5.2)."""
    x = rho[..., None] * lam
    q = x / (1.0 + x)
    return np.sum(w * q, axis=-1), np.sum(w * q * q, axis=-1)


_FTOL = 1e-15  # relative residual at which a root solve stops (the equations are normalised to O(1))


def _rho_max(phi: np.ndarray, psi: np.ndarray, lam: np.ndarray, w: np.ndarray, ratio: np.ndarray) -> Solution:
    r"""``rho_0``: the root of ``g(rho) = Q1 + rho mu_star^2/mu1^2 = 1/max(phi, psi)`` (§5.4 of
    docs/models.md), ``g`` increasing.

    ``ratio = mu_star^2 / mu1^2``. Where ``ratio = 0`` (linear activation) and ``max(phi, psi) <= 1`` there is no
    root (``g < 1``); the caller must exclude those points. Distinct ``(target, ratio, atoms)`` rows are solved once
    (a ridge or width sweep shares them). The residual is relative to the target.
    """
    target = 1.0 / np.maximum(phi, psi)
    key = np.column_stack([target, ratio, lam, w])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    t_u, r_u, l_u, w_u = target[first], ratio[first], lam[first], w[first]
    slope = np.sum(w_u * l_u, axis=-1) + r_u  # g(rho) <= slope * rho
    lo = 0.5 * t_u / slope
    # g >= rho ratio; and g >= Q1 >= lambda_min rho / (1 + lambda_min rho) for the linear case
    lmin = np.min(l_u, axis=-1)
    with np.errstate(divide="ignore"):
        hi_star = np.where(r_u > 0, 2.0 * t_u / np.where(r_u > 0, r_u, 1.0), np.inf)
        hi_lin = np.where(t_u < 1, 2.0 * t_u / (lmin * np.clip(1.0 - t_u, 1e-300, None)), np.inf)
    hi = np.maximum(np.minimum(hi_star, hi_lin), 2.0 * lo)

    def g(rho: np.ndarray) -> np.ndarray:
        q1, _ = _q_integrals(rho, l_u, w_u)
        return (q1 + rho * r_u) / t_u - 1.0

    sol = solve_monotone(g, lo, hi, log=True, expand=True, ftol=_FTOL, throw=True,
                         what="covariate shift: rho_0 (Q1 + rho mu_star^2/mu1^2 = 1/max(phi, psi))")
    return Solution(value=np.asarray(sol.value)[inverse], residual=np.asarray(sol.residual)[inverse],
                    status=np.asarray(sol.status)[inverse], branch=sol.branch, iterations=sol.iterations)


def _kappa_d1(rho: np.ndarray, phi: np.ndarray, psi: np.ndarray, lam: np.ndarray, w: np.ndarray,
              mu1sq: np.ndarray, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``kappa(rho) = mu1^2 (1/psi - Q1)/rho - mu_star^2`` and ``d1(rho) = phi (Q1 + rho mu_star^2/mu1^2)``
    (docs/models.md §5.2)."""
    q1, _ = _q_integrals(rho, lam, w)
    kappa = mu1sq / rho * (1.0 / psi - q1) - ms
    d1 = phi * (q1 + rho * ms / mu1sq)
    return kappa, d1


def _solve_rho(phi: np.ndarray, psi: np.ndarray, ridge: np.ndarray, lam: np.ndarray, w: np.ndarray,
               mu1sq: np.ndarray, ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The physical ``rho`` (docs/models.md §5.2) on flat arrays; returns ``(rho, residual)``."""
    ratio = ms / mu1sq
    rho = np.empty(phi.shape)
    res = np.zeros(phi.shape)
    degenerate = (ratio == 0) & (np.maximum(phi, psi) <= 1)
    if np.any(degenerate & (ridge == 0)):
        raise ValueError("ridge must be > 0 for an activation with mu_star = 0 (linear) when n0 <= min(n1, m) "
                         "(max(phi, psi) <= 1): the ridgeless limit is then the rho -> inf limit, not covered")
    has_max = ~degenerate
    rho_max = np.full(phi.shape, np.inf)
    if np.any(has_max):
        idx = np.flatnonzero(has_max)
        sol = _rho_max(phi[idx], psi[idx], lam[idx], w[idx], ratio[idx])
        rho_max[idx] = sol.value
        res[idx] = sol.residual
    ridgeless = ridge == 0
    rho[ridgeless] = rho_max[ridgeless]
    pos = np.flatnonzero(~ridgeless)
    if pos.size:
        p_, s_, g_, l_, w_, m_, ms_ = (a[pos] for a in (phi, psi, ridge, lam, w, mu1sq, ms))
        target = g_ * p_ / s_
        a_ = np.sum(w_ * l_, axis=-1) + ms_ / m_
        # analytic lower end: with a = s + mu_star^2/mu1^2, Q1 <= rho s and Q1 + eps <= a rho, so at
        # lo = min(1/(2 max(phi,psi) a), mu1^2/(psi (4 target + 2 mu1^2 s + 2 mu_star^2))) we have 1 - d1 >= 1/2 and
        # kappa >= 4 target, hence kappa (1 - d1) >= 2 target; and g(lo) <= 1/(2 max(phi, psi)) puts lo below rho_max
        lo = np.minimum(1.0 / (2.0 * np.maximum(p_, s_) * a_),
                        m_ / (s_ * (4.0 * target + 2.0 * m_ * np.sum(w_ * l_, axis=-1) + 2.0 * ms_)))
        hi_finite = np.isfinite(rho_max[pos])
        hi = np.where(hi_finite, rho_max[pos], 2.0 * m_ / (g_ * p_))  # linear degenerate case: kappa(1-d1) < target

        def make_f(sel: Any) -> Callable[[np.ndarray], np.ndarray]:
            args = (p_[sel], s_[sel], l_[sel], w_[sel], m_[sel], ms_[sel])
            tgt = target[sel]

            def f(r: np.ndarray) -> np.ndarray:
                kappa, d1 = _kappa_d1(r, *args)
                return kappa * (1.0 - d1) / tgt - 1.0

            return f

        f_hi = make_f(slice(None))(hi)
        # a ridge below the rounding of kappa (1 - d1) near rho_max: the root is rho_max to working precision
        out = hi.copy()
        sel = np.flatnonzero(f_hi < 0)
        if sel.size:
            sol = solve_monotone(make_f(sel), lo[sel], hi[sel], log=True, expand=False, ftol=_FTOL, throw=True,
                                 what="covariate shift: rho (ridge phi/psi = kappa(rho) (1 - d1(rho)))")
            out[sel] = sol.value
            res[pos[sel]] = sol.residual
        rho[pos] = out
    return rho, res


@dataclass(frozen=True)
class ShiftResult(Tabular):
    r"""Exact limits of random-feature regression under covariate shift (docs/models.md §5.2, §5.4), on a
    parameter grid.

    Every array field has the broadcast shape of the inputs (a float for a scalar point).

    Attributes:
        test_error: ``E_{Sigma_*}``, the excess test error on the test law (no test-label noise).
        bias: ``Bias_* = signal * int lambda_* (1 - (mu1*/mu1) q(lambda))^2 dmu``, the error of the mean predictor.
        variance: ``test_error - bias``.
        noise_variance: ``D_* noise / (1 - d2)``, the part of the variance due to training-label noise.
        id_test_error, id_bias, id_variance: the same on the training law (``Sigma_* = Sigma``, constants at ``s``).
        rho: the solution of the self-consistent equation (docs/models.md §5.2); ``kappa`` the level-1 renormalised
            ridge, ``d1``, ``d2`` the degrees of freedom, ``tau1 = phi / (psi kappa) = lim tr (K + ridge)^-1 / m``
            (``inf`` in the ridgeless under-parameterised regime).
        bbar, bbar_star, d_star: ``B-bar``, ``B-bar_*`` and ``D_*`` of the level-1 engine (docs/models.md §1.4, §5.3),
            with ``signal`` applied to the ``B`` terms.
        q1, q2, q1_star, q2_star: the integrals ``Q1, Q2, Q1*, Q2*`` at ``rho``.
        mu1, mu_star2, mu1_star, mu_star2_star: activation constants at ``s`` and ``s_*``; ``s``, ``s_star``.
        phi, psi, ridge, noise, signal: the inputs, broadcast.
        residual: relative residual of the equation that fixed ``rho`` (``ridge phi/psi = kappa (1 - d1)`` for
            ``ridge > 0``, ``Q1 + eps = 1/max(phi, psi)`` for ``ridge = 0``).
        nonlinear_signal: ``F_*^2``, the training-law power of the nonlinear teacher component (0: linear teacher).
        nonlinear_signal_test: its second moment on the test law, included in ``bias`` and ``test_error`` (the
            in-distribution numbers include ``nonlinear_signal`` instead).
        nonlinear_variance: ``D_* F_*^2 / (1 - d2)``, the part of the variance due to the nonlinear teacher component
            acting as label noise on the training set (0 for a linear teacher).

    ``test_error`` is ``+inf`` (and so is ``variance``) at the ridgeless interpolation threshold ``phi = psi``.
    """

    test_error: Any
    bias: Any
    variance: Any
    noise_variance: Any
    id_test_error: Any
    id_bias: Any
    id_variance: Any
    rho: Any
    kappa: Any
    d1: Any
    d2: Any
    tau1: Any
    bbar: Any
    bbar_star: Any
    d_star: Any
    q1: Any
    q2: Any
    q1_star: Any
    q2_star: Any
    mu1: Any
    mu_star2: Any
    mu1_star: Any
    mu_star2_star: Any
    s: Any
    s_star: Any
    phi: Any
    psi: Any
    ridge: Any
    noise: Any
    signal: Any
    residual: Any
    activation: str = ""
    nonlinear_signal: Any = 0.0
    nonlinear_signal_test: Any = 0.0
    nonlinear_variance: Any = 0.0

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.test_error)

    @property
    def ood_penalty(self) -> Any:
        """``test_error - id_test_error`` (negative: the shift helps; ``nan`` at the ridgeless pole, where both are
        infinite)."""
        with np.errstate(invalid="ignore"):
            return frozen_value(np.asarray(self.test_error) - np.asarray(self.id_test_error))

    @property
    def width_ratio(self) -> Any:
        """``n1 / m = phi / psi``."""
        return frozen_value(np.asarray(self.phi) / np.asarray(self.psi))

    def nested_records(self) -> list[dict[str, Any]]:
        """One flat dict per grid point (C order): the coordinates (``model = "shift"``, ``activation``, ``phi``,
        ``psi``, ``ridge``, ``noise``, ``signal``), ``test_error``, ``bias``, ``variance``, ``id_test_error``, ...,
        ``ood_penalty`` (``nan`` where both errors are infinite)."""
        keys = ("phi", "psi", "ridge", "noise", "signal", "test_error", "bias", "variance", "noise_variance",
                "id_test_error", "id_bias", "id_variance", "ood_penalty", "rho", "kappa", "d1", "d2", "tau1", "s",
                "s_star", "mu1", "mu_star2", "mu1_star", "mu_star2_star", "residual", "nonlinear_signal",
                "nonlinear_signal_test", "nonlinear_variance")
        arrays = {k: np.broadcast_to(np.asarray(getattr(self, k), dtype=float), self.shape) for k in keys}
        return [{"model": "shift", "activation": self.activation, **{k: float(arrays[k][idx]) for k in keys}}
                for idx in np.ndindex(*self.shape)]


def covariate_shift_error(phi: ArrayLike, psi: ArrayLike, *, spectrum: SpectrumLike = None, ridge: ArrayLike = 0.0,
                          activation: ActivationLike = "tanh", noise: ArrayLike = 0.0,
                          signal: ArrayLike = 1.0, nonlinear_signal: ArrayLike = 0.0,
                          nonlinear_signal_test: ArrayLike | None = None) -> ShiftResult:
    r"""Test error, bias and variance of random-feature ridge regression under covariate shift.

    Implements the closed rho-form of docs/models.md §5.2, §5.4 (derived for the
    model of Tripuraneni, Adlam & Pennington, arXiv:2111.08234, and checked there against simulation). With
    ``q(lambda) = rho lambda / (1 + rho lambda)``, ``u = 1 - q`` and the integrals
    ``Q1 = int q``, ``Q2 = int q^2``, ``Q1* = int (lambda_*/lambda) q``, ``Q2* = int (lambda_*/lambda) q^2``:

    * ``rho`` solves ``ridge phi/psi = kappa(rho) (1 - d1(rho))`` with ``kappa = mu1^2 (1/psi - Q1)/rho - mu_star^2``
      and ``d1 = phi (Q1 + eps)``, ``eps = rho mu_star^2/mu1^2`` (unique root on ``(0, rho_0)``); for ``ridge = 0``,
      ``rho = rho_0`` solves ``Q1 + eps = 1/max(phi, psi)`` (§5.4);
    * ``E_* = Bbar_* + D_* (Bbar + noise)/(1 - d2)`` with ``d2``, ``Bbar``, ``Bbar_*``, ``D_*`` and
      ``Bias_* = int lambda_* (1 - (mu1*/mu1) q)^2`` as in §5.3 (``B`` terms multiplied by ``signal``).

    The in-distribution error (``Sigma_* = Sigma``) is returned alongside.

    Nonlinear teacher (derived in docs/ntk_linear_shift.md §3.1; the unshifted case is Mei & Montanari's ``F_star``,
    arXiv:1908.05355, Theorem 1, and docs/models.md §3.9). A teacher component ``g(x)`` of training-law power
    ``F = nonlinear_signal`` with no constant and no linear part on the training law is not learnable by random
    features in the proportional limit: on the training labels it acts as label noise of power ``F`` that is a
    function of ``X`` (so it enters ``R = (signal Bbar + noise + F)/(1 - d2)``, reported as ``nonlinear_variance =
    D_* F/(1 - d2)``), and at test time it adds its test-law second moment ``F_test = nonlinear_signal_test`` to the
    bias, its cross term with the predictor vanishing: ``E_* = signal Bbar_* + D_* R + F_test``. ``nonlinear_signal_test
    = None`` means the project's teacher ``sqrt(F) He2(v.x)/sqrt 2`` with ``v`` a random direction normalised on the
    training law, for which ``F_test = F (3 r^2 - 2 r + 1)/2`` with ``r = s_*/s`` (:func:`he2_test_power`); give a
    number for another teacher. The in-distribution numbers use ``F_test = F``. The cross term vanishes because the
    predictor has mean zero on the test law (the centring caveat below: odd activation or ``s_* = s``) and no overlap
    with the teacher's nonlinear directions.

    Args:
        phi: ``n0 / m`` (> 0), any shape.
        psi: ``n0 / n1`` (> 0), any shape.
        spectrum: the joint spectral measure (:class:`JointSpectrum`, :class:`rmt.problem.CovarianceSpectrum`,
            ``(lambda, lambda_*, weight)`` triples, or ``None`` for isotropic inputs without shift). Its batch shape
            broadcasts with the other parameters.
        ridge: ``gamma >= 0`` in ``K + gamma I_m``; ``0`` gives the exact ridgeless limit.
        activation: name or callable; constants at ``s = tr Sigma/n0`` and ``s_* = tr Sigma_*/n0``.
        noise: training-label noise variance ``>= 0``.
        signal: ``|beta|^2 / n0 >= 0``.
        nonlinear_signal: ``F_*^2 >= 0``, the training-law power of a nonlinear teacher component (default 0: linear
            teacher; every result is then unchanged).
        nonlinear_signal_test: its second moment on the test law (``>= 0``); ``None`` (default): the He2 single-index
            teacher of the simulator, ``F (3 r^2 - 2 r + 1)/2`` with ``r = s_*/s``.

    Returns:
        A :class:`ShiftResult` with arrays of the broadcast shape.

    Raises:
        ValueError: bad input (naming the argument); a non-odd activation with ``mu0(s) != mu0(s_*)`` (centring
            caveat); an activation with ``mu1 = 0``; ``ridge = 0`` with a linear activation and
            ``max(phi, psi) <= 1``.
        SolverError: a root solve did not converge (with its residual).

    Example:
        >>> r = covariate_shift_error(0.5, 0.25, spectrum=two_point(1.0), ridge=1e-3, activation="tanh", noise=0.1)
        >>> round(r.test_error, 6), round(r.id_test_error, 6)
        (0.362009, 0.219019)
    """
    spec = as_joint_spectrum(spectrum)
    act = get_activation(activation)
    phi = check_positive(phi, "phi")
    psi = check_positive(psi, "psi")
    ridge = check_ridge(ridge)
    if np.any(ridge > 1e300):  # the bracket of rho (ridge times the ratios) would overflow float64
        raise ValueError(f"ridge must be in [0, 1e300], got {float(np.max(ridge)):g}")
    noise = check_nonnegative(noise, "noise")
    signal = check_nonnegative(signal, "signal")
    fnl = check_nonnegative(nonlinear_signal, "nonlinear_signal")
    fnl_t = None if nonlinear_signal_test is None else check_nonnegative(nonlinear_signal_test,
                                                                         "nonlinear_signal_test")
    try:
        shape = np.broadcast_shapes(phi.shape, psi.shape, ridge.shape, noise.shape, signal.shape, spec.batch_shape,
                                    fnl.shape, () if fnl_t is None else fnl_t.shape)
    except ValueError:
        raise ValueError(f"phi {phi.shape}, psi {psi.shape}, ridge {ridge.shape}, noise {noise.shape}, signal "
                         f"{signal.shape}, nonlinear_signal(_test) and the spectrum batch {spec.batch_shape} must "
                         "broadcast together") from None
    K = spec.n_atoms
    flat = lambda a: np.broadcast_to(a, shape).reshape(-1).astype(float)  # noqa: E731
    atoms = lambda a: np.broadcast_to(a, shape + (K,)).reshape(-1, K)  # noqa: E731
    phi_, psi_, ridge_, noise_, signal_ = (flat(a) for a in (phi, psi, ridge, noise, signal))
    lam, lam_s, w = atoms(spec.train), atoms(spec.test), atoms(spec.weights)
    s = np.einsum("pk,pk->p", w, lam)
    s_star = np.einsum("pk,pk->p", w, lam_s)
    # constants per distinct spectrum (not per grid point)
    spec_s = np.broadcast_to(np.asarray(spec.train_trace), spec.batch_shape)
    spec_ss = np.broadcast_to(np.asarray(spec.test_trace), spec.batch_shape)
    c = _shift_constants(act, spec_s, spec_ss)
    mu1 = flat(c.mu1)
    ms = flat(c.mu_star2)
    mu1s = flat(c.mu1_star)
    mss = flat(c.mu_star2_star)
    mu1sq = mu1 * mu1

    fnl_ = flat(fnl)
    fnl_t_ = he2_test_power(fnl_, s_star / s) if fnl_t is None else flat(fnl_t)

    rho, residual = _solve_rho(phi_, psi_, ridge_, lam, w, mu1sq, ms)
    parts = _errors(rho, phi_, psi_, ridge_, noise_, signal_, lam, lam_s, w, mu1, ms, mu1s, mss, fnl_, fnl_t_)
    parts_id = _errors(rho, phi_, psi_, ridge_, noise_, signal_, lam, lam, w, mu1, ms, mu1, ms, fnl_, fnl_)

    shaped = lambda a: frozen_value(np.asarray(a).reshape(shape))  # noqa: E731
    return ShiftResult(
        test_error=shaped(parts["E"]), bias=shaped(parts["bias"]), variance=shaped(parts["E"] - parts["bias"]),
        noise_variance=shaped(parts["noise_var"]), id_test_error=shaped(parts_id["E"]),
        id_bias=shaped(parts_id["bias"]), id_variance=shaped(parts_id["E"] - parts_id["bias"]),
        rho=shaped(rho), kappa=shaped(parts["kappa"]), d1=shaped(parts["d1"]), d2=shaped(parts["d2"]),
        tau1=shaped(parts["tau1"]), bbar=shaped(parts["bbar"]), bbar_star=shaped(parts["bbar_star"]),
        d_star=shaped(parts["d_star"]), q1=shaped(parts["q1"]), q2=shaped(parts["q2"]),
        q1_star=shaped(parts["q1s"]), q2_star=shaped(parts["q2s"]), mu1=shaped(mu1), mu_star2=shaped(ms),
        mu1_star=shaped(mu1s), mu_star2_star=shaped(mss), s=shaped(s), s_star=shaped(s_star), phi=shaped(phi_),
        psi=shaped(psi_), ridge=shaped(ridge_), noise=shaped(noise_), signal=shaped(signal_),
        residual=shaped(residual), activation=act.name, nonlinear_signal=shaped(fnl_),
        nonlinear_signal_test=shaped(fnl_t_), nonlinear_variance=shaped(parts["nonlinear_var"]))


def _errors(rho: np.ndarray, phi: np.ndarray, psi: np.ndarray, ridge: np.ndarray, noise: np.ndarray,
            signal: np.ndarray, lam: np.ndarray, lam_s: np.ndarray, w: np.ndarray, mu1: np.ndarray, ms: np.ndarray,
            mu1s: np.ndarray, mss: np.ndarray, fnl: np.ndarray, fnl_test: np.ndarray) -> dict[str, np.ndarray]:
    """The errors of docs/models.md §5.3 at a given ``rho`` (flat arrays, atoms on the last axis); ``fnl`` and
    ``fnl_test`` are the nonlinear teacher's training-law power (label noise shared with ``X``) and its test-law second
    moment (added to the bias), see :func:`covariate_shift_error`."""
    mu1sq = mu1 * mu1
    x = rho[:, None] * lam
    q = x / (1.0 + x)
    u = 1.0 - q
    q1 = np.sum(w * q, axis=-1)
    q2 = np.sum(w * q * q, axis=-1)
    # (lambda_*/lambda) q = rho lambda_* u and (lambda_*/lambda) q^2 = rho lambda_* q u (no division by lambda)
    q1s = rho * np.sum(w * lam_s * u, axis=-1)
    q2s = rho * np.sum(w * lam_s * q * u, axis=-1)
    eps = rho * ms / mu1sq
    eps_s = rho * mss / mu1sq
    t1 = mu1s / mu1  # signed: the mean predictor is (mu1*/mu1) q(Sigma) (written sqrt(r1) in unsigned form)
    r1 = t1 * t1
    den = 1.0 - psi * q2
    d1 = phi * (q1 + eps)
    d2 = phi * (q2 + psi * (q1 + eps) * (q1 + eps - 2.0 * q2)) / den
    bbar = ((q1 - q2) + psi * eps * q2) / (rho * den)
    bias = np.sum(w * lam_s * (1.0 - t1[:, None] * q) ** 2, axis=-1)
    bbar_s = bias + psi * q2 * (r1 * (q1s - q2s) + eps_s) / (rho * den)
    d_s = phi * (r1 * (q2s + psi * (q1 * q1s - q1 * q2s - q2 * q1s)) + psi * eps_s * (q1 - q2)
                 + psi * eps * (r1 * (q1s - q2s) + eps_s)) / den
    pole = (ridge == 0) & (phi == psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        one_m_d2 = np.where(pole, 0.0, 1.0 - d2)
        R = np.where(pole, np.inf, (signal * bbar + noise + fnl) / np.where(pole, 1.0, one_m_d2))
        noise_var = np.where(pole, np.where(noise > 0, np.inf, 0.0), d_s * noise / np.where(pole, 1.0, one_m_d2))
        nonlinear_var = np.where(pole, np.where(fnl > 0, np.inf, 0.0), d_s * fnl / np.where(pole, 1.0, one_m_d2))
        E = np.where(pole, np.inf, signal * bbar_s + d_s * R + fnl_test)
    # kappa: directly, or from the equation kappa (1 - d1) = ridge phi/psi -- whichever cancels less (the direct
    # form loses digits when kappa << mu1^2/(psi rho), e.g. under-parameterised with a tiny ridge)
    kappa_direct = mu1sq / rho * (1.0 / psi - q1) - ms
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa_eq = ridge * phi / psi / (1.0 - d1)
        cond_direct = (mu1sq / (psi * rho) + ms) / np.abs(kappa_direct)
        cond_eq = (1.0 + phi * (q1 + eps)) / np.abs(1.0 - d1)
    kappa = np.where((ridge > 0) & (cond_eq < cond_direct) & np.isfinite(kappa_eq), kappa_eq, kappa_direct)
    kappa = np.where(ridge == 0, np.where(phi > psi, mu1sq * (1.0 / psi - 1.0 / phi) / rho, 0.0), kappa)
    with np.errstate(divide="ignore"):
        tau1 = np.where(kappa > 0, phi / (psi * np.where(kappa > 0, kappa, 1.0)), np.inf)
    d1 = np.where(ridge == 0, np.minimum(phi / psi, 1.0), d1)
    bad = ~np.isfinite(E) & ~pole
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise SolverError(f"covariate shift: non-finite error at phi={phi[i]:.6g}, psi={psi[i]:.6g}, "
                          f"ridge={ridge[i]:.6g} (rho={rho[i]:.6g}, d2={d2[i]:.6g})", status=Status.NONFINITE)
    return {"E": E, "bias": signal * bias + fnl_test, "noise_var": noise_var, "nonlinear_var": nonlinear_var,
            "kappa": kappa, "d1": d1, "d2": d2,
            "tau1": tau1, "bbar": signal * bbar, "bbar_star": signal * bbar_s, "d_star": d_s, "q1": q1, "q2": q2,
            "q1s": q1s, "q2s": q2s}


def shift_error(problem: Problem, spectrum: SpectrumLike | None = None, *,
                nonlinear_signal_test: ArrayLike | None = None) -> ShiftResult:
    """:func:`covariate_shift_error` for a :class:`rmt.problem.Problem` (ratios, ridge, activation, noise, signal,
    nonlinear_signal).

    The joint spectrum is ``spectrum`` if given, else ``problem.covariance`` (``None``: isotropic, no shift).
    ``problem.nonlinear_signal`` is the training-law power ``F_*^2`` of the nonlinear teacher;
    ``nonlinear_signal_test`` its test-law second moment (``None``: the simulator's He2 single-index teacher,
    :func:`he2_test_power`), as in :func:`covariate_shift_error`.

    Raises:
        ValueError, SolverError: as :func:`covariate_shift_error`.
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a rmt.problem.Problem, got {type(problem).__name__}")
    spec = spectrum if spectrum is not None else problem.covariance
    return covariate_shift_error(problem.phi, problem.psi, spectrum=spec, ridge=problem.ridge,
                                 activation=problem.activation, noise=problem.noise, signal=problem.signal,
                                 nonlinear_signal=problem.nonlinear_signal,
                                 nonlinear_signal_test=nonlinear_signal_test)


@dataclass(frozen=True)
class ShiftOptimalRidge:
    """The ridge that minimises the ID (or OOD) test error at each point, and the full result there.

    Attributes:
        ridge: the minimiser (``0`` where no positive ridge beats the ridgeless limit on the search range).
        result: :class:`ShiftResult` at ``ridge``.
        criterion: ``"id"`` (tuned in distribution, the practitioner's choice) or ``"ood"``.
    """

    ridge: Any
    result: ShiftResult
    criterion: str

    @property
    def test_error(self) -> Any:
        """The OOD test error at :attr:`ridge` (``result.test_error``)."""
        return self.result.test_error


def optimal_ridge(phi: ArrayLike, psi: ArrayLike, *, spectrum: SpectrumLike = None,
                  activation: ActivationLike = "tanh", noise: ArrayLike = 0.0, signal: ArrayLike = 1.0,
                  criterion: Literal["id", "ood"] = "id", ridge_range: tuple[float, float] = (1e-6, 1e3),
                  points: int = 48, refine: int = 40) -> ShiftOptimalRidge:
    """Minimise the in-distribution (``criterion="id"``) or OOD test error over the ridge, vectorized.

    A log-spaced grid of ``points`` ridges on ``ridge_range`` (plus ``ridge = 0``) locates the best bracket per point;
    ``refine`` golden-section steps in ``log ridge`` then polish it. The minimiser is global on the grid's
    resolution, local below it. With ``criterion="id"`` the ridge a practitioner would choose on in-distribution
    validation data is returned, and ``result.test_error`` is the OOD error it then incurs.

    Raises:
        ValueError: bad input (as :func:`covariate_shift_error`), an unknown criterion or range.
    """
    if criterion not in ("id", "ood"):
        raise ValueError(f"criterion must be 'id' or 'ood', got {criterion!r}")
    lo, hi = (float(v) for v in check_positive(np.asarray(ridge_range, dtype=float), "ridge_range"))
    if not lo < hi:
        raise ValueError(f"ridge_range must be (lo, hi) with 0 < lo < hi, got {ridge_range!r}")
    points = check_positive_int(points, "points", minimum=4)
    refine = check_positive_int(refine, "refine", minimum=0)
    spec = as_joint_spectrum(spectrum)
    phi, psi, noise, signal = (check_finite(a, n) for a, n in ((phi, "phi"), (psi, "psi"), (noise, "noise"),
                                                              (signal, "signal")))
    shape = np.broadcast_shapes(phi.shape, psi.shape, noise.shape, signal.shape, spec.batch_shape)
    key = "id_test_error" if criterion == "id" else "test_error"
    grid = np.concatenate([[0.0], np.geomspace(lo, hi, points)])
    ex = lambda a: np.asarray(a, dtype=float)[..., None]  # noqa: E731
    bspec = spec if not spec.batch_shape else JointSpectrum(spec.train[..., None, :], spec.test[..., None, :],
                                                            spec.weights[..., None, :], label=spec.label)
    with np.errstate(invalid="ignore"):
        r = covariate_shift_error(ex(phi), ex(psi), spectrum=bspec, ridge=grid, activation=activation,
                                  noise=ex(noise), signal=ex(signal))
    err = np.broadcast_to(np.asarray(getattr(r, key)), shape + grid.shape)
    err = np.where(np.isfinite(err), err, np.inf)
    best = np.argmin(err, axis=-1)
    # golden section in log ridge on [grid[best-1], grid[best+1]] (index 0 is ridge 0: use [lo/10, grid[1]])
    loglo = np.log(np.where(best <= 1, lo / 10.0, grid[np.maximum(best - 1, 1)]))
    loghi = np.log(grid[np.minimum(best + 1, grid.size - 1)])
    f = lambda lr: np.asarray(getattr(covariate_shift_error(  # noqa: E731
        phi, psi, spectrum=spec, ridge=np.exp(lr), activation=activation, noise=noise, signal=signal), key))
    sol = minimize_scalar(f, loglo, loghi, steps=refine, what="optimal_ridge")
    r_min, f_min = sol.value, sol.objective
    grid_min = np.take_along_axis(err, best[..., None], axis=-1)[..., 0]
    ridge = np.where(grid_min < f_min, grid[best], np.exp(r_min))
    res = covariate_shift_error(phi, psi, spectrum=spec, ridge=ridge, activation=activation, noise=noise,
                                signal=signal)
    return ShiftOptimalRidge(ridge=frozen_value(ridge), result=res, criterion=criterion)


# distinct names for the three optimal-ridge searches of the package (each result has ``ridge`` and ``test_error``):
# shift_optimal_ridge here, rmt.theory.random_features.rf_optimal_ridge, rmt.theory.eigen_autodiff.eigen_optimal_ridge
shift_optimal_ridge = optimal_ridge
OptimalRidge = ShiftOptimalRidge  # former name, kept for backward compatibility


# ----------------------------------------------------------------------------------------------------------------
# the per-eigenvalue weight e(lambda) and the partial order over shifts (docs/models.md §5.5)
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorWeight:
    r"""The weight ``e(lambda)`` with ``E_{Sigma_*} = const + int e(lambda) lambda_* dmu`` (docs/models.md §5.5).

    For a fixed training law and fixed test trace ``s_*`` (hence fixed test activation constants) the OOD error is
    *linear* in the test-weighted measure ``nu_*(dlambda) = lambda_* mu(dlambda, dlambda_*)``:

    ``e(lambda) = signal [(1 - t q)^2 + r1 psi Q2 u^2/(1 - psi Q2)]
    + phi r1 R rho [q u + psi (Q1 u^2 - Q2 u + eps u^2)] / (1 - psi Q2)``,

    ``const = signal psi Q2 eps_* / (rho (1 - psi Q2)) + phi R psi eps_* (Q1 - Q2 + eps) / (1 - psi Q2)``,

    with ``t = mu1*/mu1``, ``r1 = t^2``, ``R = (signal Bbar + noise)/(1 - d2)`` and ``q, u, Q1, Q2, eps, eps_*`` as in
    :func:`covariate_shift_error` (an unsigned derivation writes ``sqrt(r1)`` for ``t``; the signed ratio is what the
    two-level derivation (docs/models.md §5.2) gives, and the two agree whenever ``mu1`` and ``mu1*`` have the same sign).

    Attributes are arrays of the parameter grid's shape (floats at a scalar point); ``train``/``weights`` are the
    atoms of the training law it was built from, ``s_star`` the test trace it assumes.
    """

    rho: Any
    q1: Any
    q2: Any
    eps: Any
    eps_star: Any
    t1: Any
    R: Any
    phi: Any
    psi: Any
    signal: Any
    const: Any
    s_star: float
    train: np.ndarray
    weights: np.ndarray

    def __call__(self, lam: ArrayLike) -> np.ndarray:
        """``e(lambda)`` at ``lam > 0``; the result has shape ``grid_shape + lam.shape``."""
        lam = check_positive(lam, "lam")
        ex = lambda a: np.asarray(a, dtype=float).reshape(np.shape(a) + (1,) * lam.ndim)  # noqa: E731
        rho, q1, q2, eps, t1, R, phi, psi, sig = (ex(getattr(self, k)) for k in
                                                  ("rho", "q1", "q2", "eps", "t1", "R", "phi", "psi", "signal"))
        x = rho * lam
        q = x / (1.0 + x)
        u = 1.0 - q
        r1 = t1 * t1
        den = 1.0 - psi * q2
        with np.errstate(invalid="ignore"):
            return (sig * ((1.0 - t1 * q) ** 2 + r1 * psi * q2 * u * u / den)
                    + phi * r1 * R * rho * (q * u + psi * (q1 * u * u - q2 * u + eps * u * u)) / den)

    def error(self, spectrum: SpectrumLike) -> Any:
        """``const + int e(lambda) lambda_* dmu`` for a shift with the same training law and test trace.

        Raises:
            ValueError: a different training law or test trace.
        """
        spec = as_joint_spectrum(spectrum)
        _check_same_train_law(spec, JointSpectrum(self.train, None, self.weights), "spectrum")
        if not math.isclose(float(spec.test_trace), self.s_star, rel_tol=1e-12, abs_tol=1e-15):
            raise ValueError(f"spectrum must have the test trace s_* = {self.s_star:.12g} this weight was built for, "
                             f"got {float(spec.test_trace):.12g}")
        e = self(spec.train)
        return frozen_value(np.asarray(self.const) + np.sum(spec.weights * spec.test * e, axis=-1))


def _unbatched(spec: JointSpectrum, name: str) -> JointSpectrum:
    if spec.batch_shape:
        raise ValueError(f"{name} must be a single spectrum (no batch axes), got batch shape {spec.batch_shape}")
    return spec


def _train_marginal(spec: JointSpectrum) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct train eigenvalues and their total weights."""
    lam, inv = np.unique(spec.train, return_inverse=True)
    return lam, np.bincount(inv, weights=spec.weights, minlength=lam.size)


def _check_same_train_law(a: JointSpectrum, b: JointSpectrum, name: str) -> None:
    la, wa = _train_marginal(a)
    lb, wb = _train_marginal(b)
    if la.shape != lb.shape or not (np.allclose(la, lb, rtol=1e-12, atol=0) and np.allclose(wa, wb, rtol=0,
                                                                                                atol=1e-12)):
        raise ValueError(f"{name} must have the same training law (train eigenvalues and weights) as the "
                         "reference; the partial order compares shifts of one training distribution")


def error_weight(phi: ArrayLike, psi: ArrayLike, *, spectrum: SpectrumLike, ridge: ArrayLike = 0.0,
                 activation: ActivationLike = "tanh", noise: ArrayLike = 0.0, signal: ArrayLike = 1.0) -> ErrorWeight:
    r"""The per-eigenvalue weight ``e(lambda)`` of docs/models.md §5.5 (Tripuraneni, Adlam & Pennington,
    arXiv:2111.08234, partial order over shifts).

    Only the training law of ``spectrum`` and its test trace ``s_*`` matter: every shift with these two fixed has
    ``E = const + int e(lambda) lambda_* dmu``.

    Args:
        phi, psi, ridge, noise, signal: as :func:`covariate_shift_error` (arrays broadcast to a grid).
        spectrum: an unbatched joint spectrum (its train law and test trace are used).
        activation: name or callable.

    Returns:
        :class:`ErrorWeight` (call it on ``lambda`` values).

    Raises:
        ValueError: as :func:`covariate_shift_error`; a batched spectrum.
    """
    spec = _unbatched(as_joint_spectrum(spectrum), "spectrum")
    r = covariate_shift_error(phi, psi, spectrum=spec, ridge=ridge, activation=activation, noise=noise,
                              signal=signal)
    A = lambda k: np.asarray(getattr(r, k), dtype=float)  # noqa: E731
    rho, q1, q2, phi_, psi_, sig = A("rho"), A("q1"), A("q2"), A("phi"), A("psi"), A("signal")
    mu1sq = A("mu1") ** 2
    eps = rho * A("mu_star2") / mu1sq
    eps_s = rho * A("mu_star2_star") / mu1sq
    den = 1.0 - psi_ * q2
    pole = (A("ridge") == 0) & (phi_ == psi_)
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(pole, np.inf, (A("bbar") + A("noise")) / np.where(pole, 1.0, 1.0 - A("d2")))
        const = sig * psi_ * q2 * eps_s / (rho * den) + phi_ * R * psi_ * eps_s * (q1 - q2 + eps) / den
    return ErrorWeight(rho=frozen_value(rho), q1=frozen_value(q1), q2=frozen_value(q2), eps=frozen_value(eps),
                       eps_star=frozen_value(eps_s), t1=frozen_value(A("mu1_star") / A("mu1")), R=frozen_value(R),
                       phi=frozen_value(phi_), psi=frozen_value(psi_), signal=frozen_value(sig),
                       const=frozen_value(const), s_star=float(spec.test_trace), train=spec.train, weights=spec.weights)


Verdict = Literal["a_no_worse", "b_no_worse", "equal", "inconclusive"]


@dataclass(frozen=True)
class ShiftComparison:
    r"""What the sufficient condition of docs/models.md §5.5 says about two shifts ``a`` and ``b``.

    Attributes:
        verdict: ``"b_no_worse"`` (certified ``E_b <= E_a``), ``"a_no_worse"``, ``"equal"`` (both certified) or
            ``"inconclusive"`` (``e`` not monotone on the atoms, or neither test-weighted measure dominates).
        e_monotone: ``"decreasing"``, ``"increasing"``, ``"constant"`` or ``"neither"`` (on the train atoms).
        dominance: ``"b_over_a"`` (``nu_b`` first-order stochastically dominates ``nu_a``), ``"a_over_b"``,
            ``"equal"`` or ``"none"``.
        error_a, error_b: the exact OOD errors from :func:`covariate_shift_error` (the condition is sufficient only;
            these always agree with a conclusive verdict).
        lam, e, cdf_a, cdf_b: the distinct train eigenvalues, ``e`` there, and the normalised cumulative
            test-weighted measures ``nu_a, nu_b`` (``nu(dlambda) = lambda_* dmu / s_*``).
    """

    verdict: Verdict
    e_monotone: str
    dominance: str
    error_a: float
    error_b: float
    lam: np.ndarray
    e: np.ndarray
    cdf_a: np.ndarray
    cdf_b: np.ndarray


def _test_weighted_cdf(spec: JointSpectrum, lam: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(lam, spec.train)
    nu = np.bincount(idx, weights=spec.weights * spec.test, minlength=lam.size)
    return np.cumsum(nu) / nu.sum()


def compare_shifts(a: SpectrumLike, b: SpectrumLike, *, phi: float, psi: float, ridge: float = 0.0,
                   activation: ActivationLike = "tanh", noise: float = 0.0, signal: float = 1.0,
                   tol: float = 1e-12) -> ShiftComparison:
    r"""Decide with the sufficient condition of docs/models.md §5.5 whether shift ``b`` is no worse than shift ``a``.

    Both shifts must share the training law and the test trace ``s_*``. Then ``E = const + int e dnu`` with
    ``nu(dlambda) = lambda_* dmu``. If ``e`` is non-increasing on the train eigenvalues and ``nu_b`` first-order
    stochastically dominates ``nu_a`` (``F_b <= F_a``: ``b`` puts its test variance on directions with larger
    training variance), then ``E_b <= E_a``; with ``e`` non-decreasing the conclusion reverses. For atomic measures
    monotonicity of ``e`` on the atoms is exactly what the argument needs. (Whether the paper's partial order is this
    dominance is not known, docs/models.md §5.5; an open question.)

    Args:
        a, b: unbatched joint spectra with the same train law and test trace.
        phi, psi, ridge, noise, signal: scalar model parameters (see :func:`covariate_shift_error`).
        activation: name or callable.
        tol: tolerance of the monotonicity and dominance checks.

    Raises:
        ValueError: different training laws or test traces, batched spectra, non-scalar parameters, or the ridgeless
            interpolation threshold (both errors infinite).
    """
    A = _unbatched(as_joint_spectrum(a), "a")
    B = _unbatched(as_joint_spectrum(b), "b")
    for name, v in (("phi", phi), ("psi", psi), ("ridge", ridge), ("noise", noise), ("signal", signal)):
        if np.ndim(v) != 0:
            raise ValueError(f"{name} must be a scalar for compare_shifts")
    _check_same_train_law(B, A, "b")
    if not math.isclose(float(A.test_trace), float(B.test_trace), rel_tol=1e-12, abs_tol=1e-15):
        raise ValueError(f"a and b must have the same test trace s_* (the partial order fixes the test activation "
                         f"constants); got {float(A.test_trace):.12g} and {float(B.test_trace):.12g}")
    tol = float(check_nonnegative(tol, "tol"))
    ew = error_weight(phi, psi, spectrum=A, ridge=ridge, activation=activation, noise=noise, signal=signal)
    if not np.isfinite(ew.R):
        raise ValueError("phi == psi with ridge = 0 is the interpolation threshold: both errors are infinite")
    lam, _ = _train_marginal(A)
    e = np.asarray(ew(lam), dtype=float)
    scale = max(1.0, float(np.max(np.abs(e))))
    de = np.diff(e)
    dec = bool(np.all(de <= tol * scale))
    inc = bool(np.all(de >= -tol * scale))
    e_mono = "constant" if dec and inc else "decreasing" if dec else "increasing" if inc else "neither"
    Fa, Fb = _test_weighted_cdf(A, lam), _test_weighted_cdf(B, lam)
    b_over_a = bool(np.all(Fb <= Fa + tol))
    a_over_b = bool(np.all(Fa <= Fb + tol))
    dom = "equal" if a_over_b and b_over_a else "b_over_a" if b_over_a else "a_over_b" if a_over_b else "none"
    b_ok = (dec and b_over_a) or (inc and a_over_b)
    a_ok = (dec and a_over_b) or (inc and b_over_a)
    verdict: Verdict = "equal" if a_ok and b_ok else "b_no_worse" if b_ok else "a_no_worse" if a_ok \
        else "inconclusive"
    ea = covariate_shift_error(phi, psi, spectrum=A, ridge=ridge, activation=activation, noise=noise,
                               signal=signal).test_error
    eb = covariate_shift_error(phi, psi, spectrum=B, ridge=ridge, activation=activation, noise=noise,
                               signal=signal).test_error
    return ShiftComparison(verdict=verdict, e_monotone=e_mono, dominance=dom, error_a=float(ea), error_b=float(eb),
                           lam=readonly_array(lam), e=readonly_array(e), cdf_a=readonly_array(Fa),
                           cdf_b=readonly_array(Fb))


# ----------------------------------------------------------------------------------------------------------------
# the exact linear ID-OOD relation (docs/models.md §5.6)
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdOodLine:
    r"""``E_OOD = slope * E_ID + intercept`` for all widths ``n1 > m`` at ``ridge -> 0`` (docs/models.md §5.6).

    Attributes:
        slope: ``S = theta + D0``; independent of the noise.
        intercept: ``I = signal (Bias_OOD - theta Bias_ID) + D0 noise``.
        theta, d0: the two width-independent constants (``Bbar_* - Bias_* = theta (Bbar - Bias)``,
            ``D_* = D0 + theta d2``).
        rho0: the ridgeless ``rho`` (``Q1 + rho mu_star^2/mu1^2 = phi^-1``), independent of ``n1``.
        bias_ood, bias_id: the (width-independent) biases, ``signal`` applied.
        phi, noise, signal: inputs, broadcast.
    """

    slope: Any
    intercept: Any
    theta: Any
    d0: Any
    rho0: Any
    bias_ood: Any
    bias_id: Any
    phi: Any
    noise: Any
    signal: Any

    def __call__(self, id_error: ArrayLike) -> Any:
        """The OOD error the line predicts for a given ID error."""
        return frozen_value(np.asarray(self.slope) * np.asarray(id_error, dtype=float) + np.asarray(self.intercept))


def id_ood_line(phi: ArrayLike, *, spectrum: SpectrumLike, activation: ActivationLike = "tanh",
                noise: ArrayLike = 0.0, signal: ArrayLike = 1.0, nonlinear_signal: ArrayLike = 0.0,
                nonlinear_signal_test: ArrayLike | None = None) -> IdOodLine:
    r"""Closed-form slope and intercept of the exact linear ID-OOD relation (docs/models.md §5.6).

    In the ridgeless over-parameterised regime (``ridge -> 0+``, ``n1 > m``, i.e. ``psi < phi``), varying the width
    with ``(m, n0, spectrum, noise)`` fixed traces the line ``E_OOD = S E_ID + I`` exactly (Tripuraneni, Adlam &
    Pennington, arXiv:2111.08234: "an exact linear relationship between in-distribution and out-of-distribution
    generalization performance"), with, at ``rho_0``,

    ``theta = (mu1*^2 V2 + mu*_*^2) / (mu1^2 int lambda u^2 + mu_star^2)``,
    ``D0 = phi N / (mu1^2 (mu1^2 int lambda u^2 + mu_star^2))``,
    ``N = mu1*^2 [mu1^2 (V1 (Q1 - Q2) - V2 Q1) + mu_star^2 rho (V1 - V2)] - mu*_*^2 mu1^2 Q2``,
    ``V1 = int lambda_* u``, ``V2 = int lambda_* u^2``; ``S = theta + D0``,
    ``I = signal (Bias_OOD - theta Bias_ID) + D0 noise``.

    A nonlinear teacher (``nonlinear_signal = F``, test-law power ``F_test``; :func:`covariate_shift_error`) is
    label noise on the training side and a constant at test time, so the law stays a line with the same slope and
    ``I = signal (Bias_OOD - theta Bias_ID) + D0 noise + F_test - theta F`` (its label-noise part ``D0 F`` cancels
    against ``-S F``; ``bias_ood``/``bias_id`` stay the linear teacher's).

    Args:
        phi: ``n0 / m`` (array allowed).
        spectrum: joint spectrum (batch axes broadcast with ``phi``, ``noise``, ``signal``).
        activation, noise, signal, nonlinear_signal, nonlinear_signal_test: as :func:`covariate_shift_error`.

    Raises:
        ValueError: bad input, the centring caveat, or a linear activation with ``phi <= 1`` (no ridgeless limit).
    """
    spec = as_joint_spectrum(spectrum)
    act = get_activation(activation)
    phi = check_positive(phi, "phi")
    noise = check_nonnegative(noise, "noise")
    signal = check_nonnegative(signal, "signal")
    fnl = check_nonnegative(nonlinear_signal, "nonlinear_signal")
    fnl_t = None if nonlinear_signal_test is None else check_nonnegative(nonlinear_signal_test,
                                                                         "nonlinear_signal_test")
    try:
        shape = np.broadcast_shapes(phi.shape, noise.shape, signal.shape, spec.batch_shape, fnl.shape,
                                    () if fnl_t is None else fnl_t.shape)
    except ValueError:
        raise ValueError("phi, noise, signal, nonlinear_signal(_test) and the spectrum batch must broadcast "
                         "together") from None
    K = spec.n_atoms
    flat = lambda a: np.broadcast_to(a, shape).reshape(-1).astype(float)  # noqa: E731
    atoms = lambda a: np.broadcast_to(a, shape + (K,)).reshape(-1, K)  # noqa: E731
    c = _shift_constants(act, np.broadcast_to(np.asarray(spec.train_trace), spec.batch_shape),
                         np.broadcast_to(np.asarray(spec.test_trace), spec.batch_shape))
    phi_, noise_, sig_ = flat(phi), flat(noise), flat(signal)
    mu1, ms, mu1s, mss = flat(c.mu1), flat(c.mu_star2), flat(c.mu1_star), flat(c.mu_star2_star)
    lam, lam_s, w = atoms(spec.train), atoms(spec.test), atoms(spec.weights)
    m1, m1s = mu1 * mu1, mu1s * mu1s
    if np.any((ms == 0) & (phi_ <= 1)):
        raise ValueError("phi must be > 1 for a linear activation (mu_star = 0): otherwise the ridgeless "
                         "over-parameterised limit is degenerate")
    rho = _rho_max(phi_, phi_, lam, w, ms / m1).value
    x = rho[:, None] * lam
    q = x / (1.0 + x)
    u = 1.0 - q
    q1, q2 = np.sum(w * q, -1), np.sum(w * q * q, -1)
    v1, v2 = np.sum(w * lam_s * u, -1), np.sum(w * lam_s * u * u, -1)
    l2 = np.sum(w * lam * u * u, -1)
    den = m1 * l2 + ms
    theta = (m1s * v2 + mss) / den
    N = m1s * (m1 * (v1 * (q1 - q2) - v2 * q1) + ms * rho * (v1 - v2)) - mss * m1 * q2
    d0 = phi_ * N / (m1 * den)
    t1 = mu1s / mu1
    bias_ood = sig_ * np.sum(w * lam_s * (1.0 - t1[:, None] * q) ** 2, -1)
    bias_id = sig_ * l2
    S = theta + d0
    I = bias_ood - theta * bias_id + d0 * noise_
    if np.any(fnl != 0) or fnl_t is not None:
        f_ = flat(fnl)
        ratio = flat(np.asarray(spec.test_trace)) / flat(np.asarray(spec.train_trace))
        f_t = he2_test_power(f_, ratio) if fnl_t is None else flat(fnl_t)
        I = I + f_t - theta * f_
    sh = lambda a: frozen_value(np.asarray(a).reshape(shape))  # noqa: E731
    return IdOodLine(slope=sh(S), intercept=sh(I), theta=sh(theta), d0=sh(d0), rho0=sh(rho), bias_ood=sh(bias_ood),
                     bias_id=sh(bias_id), phi=sh(phi_), noise=sh(noise_), signal=sh(sig_))


@dataclass(frozen=True)
class IdOodRelation:
    r"""ID and OOD errors along a width sweep, and how far they are from a line.

    Attributes:
        psi, width_ratio: the sweep (``n0/n1`` and ``n1/m``).
        id_error, ood_error: the two errors at each width.
        in_regime: where the exact law applies (``ridge = 0`` and ``n1 > m``).
        exact: all points in the regime; then ``line`` is the closed form of :func:`id_ood_line` and ``slope``,
            ``intercept`` are its values.
        line: the :class:`IdOodLine` (``None`` when not ``exact``).
        slope, intercept: the closed form if ``exact``, else the least-squares line through the points.
        residual: ``ood_error - (slope id_error + intercept)`` per point.
        max_deviation: ``max |residual|`` -- below ``1e-12`` in the regime, the size of the departure from
            linearity outside it (typically 1e-4 to 1e-1; docs/models.md §5.6).
    """

    psi: np.ndarray
    width_ratio: np.ndarray
    id_error: np.ndarray
    ood_error: np.ndarray
    in_regime: np.ndarray
    exact: bool
    line: IdOodLine | None
    slope: float
    intercept: float
    residual: np.ndarray
    max_deviation: float


def id_ood_relation(phi: float, psi: ArrayLike, *, spectrum: SpectrumLike, ridge: float = 0.0,
                    activation: ActivationLike = "tanh", noise: float = 0.0, signal: float = 1.0) -> IdOodRelation:
    r"""The ID-OOD relation along a width sweep: the exact line where it holds, the deviation where it does not.

    In the ridgeless over-parameterised regime (``ridge = 0`` and every ``psi < phi``) the closed-form line of
    :func:`id_ood_line` is returned with its residuals (rounding only). Otherwise (``ridge > 0`` or some ``n1 < m``)
    the law does not hold (docs/models.md §5.6): ``line`` is ``None`` and the least-squares line through the points is
    reported together with its largest residual.

    Args:
        phi: ``n0 / m`` (scalar).
        psi: the widths as ``n0 / n1`` (1-d, at least two values).
        spectrum: unbatched joint spectrum.
        ridge, activation, noise, signal: scalars, as :func:`covariate_shift_error`.

    Raises:
        ValueError: bad input; ``psi == phi`` with ``ridge = 0`` (the pole); fewer than two widths.
    """
    spec = _unbatched(as_joint_spectrum(spectrum), "spectrum")
    for name, v in (("phi", phi), ("ridge", ridge), ("noise", noise), ("signal", signal)):
        if np.ndim(v) != 0:
            raise ValueError(f"{name} must be a scalar for id_ood_relation")
    psi = check_positive(np.atleast_1d(np.asarray(psi, dtype=float)), "psi")
    if psi.ndim != 1 or psi.size < 2:
        raise ValueError("psi must be a 1-d sweep of at least two widths")
    phi = float(check_positive(phi, "phi"))
    ridge = float(check_nonnegative(ridge, "ridge"))
    if ridge == 0 and np.any(psi == phi):
        raise ValueError("psi must avoid phi (n1 = m, the interpolation threshold) when ridge = 0")
    r = covariate_shift_error(phi, psi, spectrum=spec, ridge=ridge, activation=activation, noise=noise,
                              signal=signal)
    e_id = np.asarray(r.id_test_error, dtype=float)
    e_ood = np.asarray(r.test_error, dtype=float)
    in_regime = (ridge == 0) & (psi < phi)
    exact = bool(np.all(in_regime))
    line: IdOodLine | None = None
    if exact:
        line = id_ood_line(phi, spectrum=spec, activation=activation, noise=noise, signal=signal)
        slope, intercept = float(line.slope), float(line.intercept)
    else:
        slope, intercept = (float(v) for v in np.polyfit(e_id, e_ood, 1))
    resid = e_ood - (slope * e_id + intercept)
    return IdOodRelation(psi=readonly_array(psi), width_ratio=readonly_array(phi / psi), id_error=readonly_array(e_id),
                         ood_error=readonly_array(e_ood), in_regime=np.asarray(in_regime & np.ones(psi.shape, bool)),
                         exact=exact, line=line, slope=slope, intercept=intercept, residual=readonly_array(resid),
                         max_deviation=float(np.max(np.abs(resid))))


# ----------------------------------------------------------------------------------------------------------------
# fine-grained bias-variance decomposition under shift
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftFineGrained:
    """The fine-grained decomposition of the out-of-distribution and in-distribution errors (module
    :mod:`theory._shift_fine`; Adlam & Pennington 2020, arXiv:2011.03321, under the shift of arXiv:2111.08234).

    Attributes:
        ood, iid: dicts ``{"P", "X", "eps", "PX", "Peps", "Xeps", "PXeps"}`` of arrays: the variance terms on the test
            law and on the training law (``Sigma_* = Sigma``). ``ood`` terms sum to ``shift.variance``, ``iid`` to
            ``shift.id_variance``.
        ood_bias, iid_bias: ``Bias_*`` and the in-distribution bias.
        shift: the :class:`ShiftResult` they were computed from.
    """

    ood: dict
    iid: dict
    ood_bias: Any
    iid_bias: Any
    shift: ShiftResult

    def amplification(self) -> dict[str, Any]:
        """``ood[k] / iid[k]`` per term (``nan`` where the in-distribution term is zero)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return {k: frozen_value(np.where(np.asarray(self.iid[k]) != 0, np.asarray(self.ood[k])
                                     / np.where(np.asarray(self.iid[k]) != 0, np.asarray(self.iid[k]), 1.0), np.nan))
                    for k in self.ood}


def shift_fine_grained(phi: ArrayLike, psi: ArrayLike, *, spectrum: SpectrumLike = None, ridge: ArrayLike = 0.0,
                       activation: ActivationLike = "tanh", noise: ArrayLike = 0.0,
                       signal: ArrayLike = 1.0, nonlinear_signal: ArrayLike = 0.0,
                       nonlinear_signal_test: ArrayLike | None = None) -> ShiftFineGrained:
    r"""Fine-grained bias-variance decomposition (sources ``P = W``, ``X``, ``eps``) of random-feature ridge regression
    under a joint spectral shift: the seven variance terms of Adlam & Pennington (arXiv:2011.03321, eq. (10)) measured
    on the test law of Tripuraneni, Adlam & Pennington (arXiv:2111.08234), and on the training law.

    Arguments as :func:`covariate_shift_error`. The construction
    is in :mod:`theory._shift_fine`: ``V_P = Bbar_* - Bias_*``; the ``W``-averaged predictor is linear ridge on the raw
    inputs at the same ``rho``, which gives ``V_X`` and ``V_Xeps``; ``V_eps = V_Peps = 0``; ``V_PX`` and ``V_PXeps``
    complete ``D_* Bbar / (1 - d2)`` and ``D_* noise / (1 - d2)``. A nonlinear teacher of training-law power
    ``F = nonlinear_signal`` is label noise that is a function of ``X``: it adds ``phi t1^2 Q2* F / (1 - phi Q2)`` to
    ``V_X`` and the rest of ``D_* F / (1 - d2)`` to ``V_PX`` (never to the ``eps`` terms), and its test-law second
    moment to ``ood_bias`` (``F`` to ``iid_bias``). Without shift the terms equal those of
    :func:`theory.random_features.rf_theory` (nonlinear teacher included).

    Raises:
        ValueError, SolverError: as :func:`covariate_shift_error`.
    """
    from rmt.theory._shift_fine import shift_terms

    spec = as_joint_spectrum(spectrum)
    common = dict(ridge=ridge, activation=activation, noise=noise, signal=signal, nonlinear_signal=nonlinear_signal)
    ood = covariate_shift_error(phi, psi, spectrum=spec, nonlinear_signal_test=nonlinear_signal_test, **common)
    iid = covariate_shift_error(phi, psi, spectrum=JointSpectrum(spec.train, spec.train, spec.weights),
                                nonlinear_signal_test=nonlinear_signal, **common)

    def terms(r: ShiftResult) -> dict[str, Any]:
        a = {k: np.asarray(getattr(r, k), dtype=float) for k in ("phi", "psi", "ridge", "noise", "signal", "rho", "q1",
                                                                 "q2", "q2_star", "bias", "bbar", "bbar_star",
                                                                 "d_star", "d2", "noise_variance",
                                                                 "nonlinear_signal")}
        a["bias"] = a["bias"] - np.asarray(r.nonlinear_signal_test, dtype=float)  # the linear teacher's Bias_*
        t1sq = (np.asarray(r.mu1_star, dtype=float) / np.asarray(r.mu1, dtype=float)) ** 2
        return {k: frozen_value(v) for k, v in shift_terms(t1sq=t1sq, **a).items()}

    return ShiftFineGrained(ood=terms(ood), iid=terms(iid), ood_bias=ood.bias, iid_bias=iid.bias, shift=ood)
