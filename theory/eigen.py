r"""The eigenframework: test and train error of kernel and random-feature ridge regression from a spectrum.

Everything here is a deterministic equivalent that depends only on the population eigensystem of the kernel (or of
the feature covariance) and on the target's eigen-coefficients. Formulas and the solver recipe are written
out in docs/models.md §6 (cited below by section):

* kernel ridge regression (KRR): Simon, Dickens, Karkada & DeWeese, "The Eigenlearning Framework"
  (arXiv:2110.03922); Canatar, Bordelon & Pehlevan (arXiv:2006.13198); Jacot et al., KARE (arXiv:2006.09796);
  docs/models.md §6.1.
* random-feature ridge regression (RF): Simon, Karkada, Ghosh & Belkin, "More is better" (arXiv:2311.14646), in the
  eliminated single-equation form of Atanasov, Zavatone-Veth & Pehlevan (arXiv:2405.00592); ensembles over feature
  draws; docs/models.md §6.6.

Conventions (the contract of this module; every docstring repeats the part it needs):

* Mercer decomposition ``K(x, x') = sum_i lambda_i phi_i(x) phi_i(x')`` with ``E phi_i phi_j = delta_ij``; target
  ``f*(x) = sum_i v_i phi_i(x)``; labels ``y = f*(x) + xi`` with ``Var xi = noise`` (``sigma^2``).
* An :class:`Eigensystem` lists distinct eigenvalues ``lambda_i`` with multiplicities ``m_i`` and the target power
  ``v_i^2`` of *each* of the ``m_i`` copies (so the total signal is ``sum_i m_i v_i^2``). Two optional unlearnable
  parts: ``flat_mass``, the total trace of a white continuum of infinitely many vanishing eigenvalues (it adds
  ``flat_mass / kappa`` to ``df1`` and nothing to ``df2``; Mei-Montanari's ``mu_star^2`` part, docs/models.md §6.10),
  and ``target_tail``, target power outside the listed modes (learnability zero: it adds to the bias like noise).
* Ridge: the **sum convention** ``f_hat(x) = k(x, X) (K_XX + ridge I_n)^-1 y``, i.e. ``min sum_i (f(x_i) - y_i)^2
  + ridge ||f||_H^2``. The per-sample ridge is ``lambda_r = ridge / n`` (Jacot's ``lambda``; linear regression with
  ``Sigma_hat = X^T X / n`` and ``(Sigma_hat + lambda_r I)^-1``). RF: the kernel is ``K_hat = (1/p) sum_j g_j g_j^T``
  over ``p`` random features with ``E_g g(x) g(x') = K(x, x')``, and the same sum-convention ridge.
* Errors (docs/conventions.md): ``test_error`` is the **excess** error ``||f* - f_hat||^2`` without the test label's
  noise (Canatar's ``E_g``); ``test_mse`` is Simon's ``E_te = test_error + noise``, which includes the noise floor;
  ``train_error = (1/n) |y - f_hat(X)|^2`` with the noisy training labels; ``bias = ||f* - E f_hat||^2`` (the mean
  predictor over data, label noise and, for RF, features) and ``variance = test_error - bias``.

Numerical rules: ``kappa`` is the unique root of the strictly decreasing ``F(kappa) = df1(kappa) + ridge/kappa - n``
(docs/models.md §6.2), found by a bracketed solve in ``log kappa`` with a bracket that is valid by construction (no
expansion); the RF ``gamma`` is the unique root of the increasing ``h(gamma) = gamma (1 - z/n)(1 - z/p) - ridge/n``
on ``[gamma_B, inf)`` (docs/models.md §6.9, the safe single-equation route; the oscillating fixed point is not used). A
solve that fails raises :class:`rmt.solvers.SolverError` with its residual; no silent NaN. All differences that could
cancel (``n - df2``, ``1 - z/n``, ``p - q``) are evaluated as sums of non-negative terms.

Example:
    >>> sys_ = Eigensystem.power_law(alpha=2.0, beta=2.0, modes=10_000)
    >>> r = krr(sys_, n=100, ridge=0.1, noise=0.1)
    >>> round(float(r.kappa), 12), round(float(r.test_mse), 10)   # delta = 0.1
    (0.001623868451, 0.1623868451)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive
from rmt.numerics import ArrayLike, frozen_value
from rmt.eigensystem import EigenProblem, Eigensystem  # the problem descriptions live in rmt (re-exported)
from rmt.records import Tabular, broadcast_records
from rmt.solvers import Solution, SolverError, Status, solve_monotone

__all__ = [
    "ArrayLike",
    "EigenProblem",
    "Eigensystem",
    "KAREResult",
    "EigenRFResult",
    "KRRResult",
    "RFResult",
    "evaluate",
    "finite_size_allowance",
    "kare",
    "krr",
    "rf",
    "rf_data_limit",
    "solve_gamma",
    "solve_kappa",
    "compress",
]

_CHUNK = 4_000_000  # points x modes per block when summing over modes


# ----------------------------------------------------------------------------------------------------------------
# the eigensystem
# ----------------------------------------------------------------------------------------------------------------

def compress(system: Eigensystem, *, degree: int = 28, width: float = 2.0, tol: float = 1e-13) -> Eigensystem:
    r"""The same eigensystem with its spectral sums precomputed (piecewise Chebyshev interpolants in ``log kappa``
    plus convergent moment expansions outside the spectrum's range, checked at build time against the direct sums
    to ``tol`` relative): :func:`krr`, :func:`rf` and the solves then cost ``O(1)`` per point in the number of
    modes. Returns a :class:`rmt.theory._eigen_fast.CompressedEigensystem` (an :class:`Eigensystem`)."""
    from rmt.theory._eigen_fast import CompressedEigensystem

    return CompressedEigensystem.from_system(system, degree=degree, width=width, tol=tol)


# ----------------------------------------------------------------------------------------------------------------
# sums over modes (the only place that touches the M axis)
# ----------------------------------------------------------------------------------------------------------------

def _mode_sums(system: Eigensystem, kappa: np.ndarray) -> dict[str, np.ndarray]:
    """The five spectral sums at ``kappa`` (:meth:`rmt.eigensystem.Eigensystem.spectral_sums`; O(1) in the modes for
    a compressed eigensystem, see :func:`compress`)."""
    return system.spectral_sums(kappa)


# ----------------------------------------------------------------------------------------------------------------
# solvers
# ----------------------------------------------------------------------------------------------------------------

def _lower_bound_df1(system: Eigensystem, target: np.ndarray, ridge: np.ndarray) -> np.ndarray:
    r"""A ``kappa_lo > 0`` with ``df1(kappa_lo) + ridge/kappa_lo >= target``, or 0 where none exists
    (``ridge = 0`` and ``rank <= target``).

    The maximum of the valid candidates (each satisfies the inequality on its own):

    * ``ridge / target`` (if ridge > 0): ``ridge/kappa = target``;
    * ``flat_mass / target``: ``flat/kappa = target``;
    * ``lambda_min (rank - target) / target`` (finite rank > target): ``df1 >= rank lambda_min/(lambda_min + kappa)``;
    * the eigenvalue ``lambda_(j)`` at which the descending cumulative multiplicity first reaches ``2 target``:
      every mode with ``lambda >= kappa`` contributes at least 1/2.
    """
    lo = np.zeros(np.broadcast_shapes(np.shape(target), np.shape(ridge)))
    target, ridge = np.broadcast_arrays(target, ridge)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = np.where(ridge > 0, ridge / target, lo)
        if system.flat_mass > 0:
            lo = np.maximum(lo, system.flat_mass / target)
        else:
            rank = float(system.multiplicities.sum())
            lmin = float(system.eigenvalues.min())
            lo = np.maximum(lo, np.where(rank > target, lmin * (rank - target) / target, 0.0))
    if hasattr(system, "descending"):
        lam_sorted, cum = system.descending()
    else:
        order = np.argsort(-system.eigenvalues)
        lam_sorted = system.eigenvalues[order]
        cum = np.cumsum(system.multiplicities[order])
    idx = np.searchsorted(cum, 2.0 * target, side="left")
    cand = np.where(idx < lam_sorted.size, lam_sorted[np.minimum(idx, lam_sorted.size - 1)], 0.0)
    return np.maximum(lo, cand)


def _check_system(system: Any) -> None:
    if not isinstance(system, Eigensystem):
        raise ValueError(f"system must be an rmt.theory.eigen.Eigensystem, got {type(system).__name__}")


def solve_kappa(system: Eigensystem, n: ArrayLike, ridge: ArrayLike) -> Solution:
    r"""Effective regularisation ``kappa`` of KRR (docs/models.md §6.1, §6.2; Simon et al. arXiv:2110.03922).

    ``kappa`` is the unique root of the strictly decreasing ``F(kappa) = df1(kappa) + ridge/kappa - n``, found by a
    bracketed Illinois/bisection solve in ``log kappa`` on ``[kappa_lo, (ridge + trace)/n]`` (both ends valid by
    construction, see :func:`_lower_bound_df1`). ``kappa = 0`` exactly where ``ridge = 0`` and ``rank <= n``
    (under-parameterised least squares).

    Args:
        system: the eigensystem.
        n: number of samples (> 0; real values allowed), any shape.
        ridge: sum-convention ridge ``>= 0``, broadcast with ``n``.

    Returns:
        :class:`rmt.solvers.Solution` with ``value = kappa`` and ``residual = |F(kappa)| / n``.

    Raises:
        SolverError: the solve did not converge (residual reported).
    """
    _check_system(system)
    n = check_positive(n, "n")
    ridge = check_nonnegative(ridge, "ridge")
    n, ridge = np.broadcast_arrays(n, ridge)
    lo = _lower_bound_df1(system, n, ridge)
    solve = lo > 0
    kappa = np.zeros(n.shape)
    res = np.zeros(n.shape)
    status = np.full(n.shape, Status.SUCCESS, dtype=np.int8)
    its = 0
    if np.any(solve):
        nn, rr, ll = n[solve], ridge[solve], lo[solve]
        hi = (rr + system.trace) / nn

        def F(k: np.ndarray) -> np.ndarray:
            return (_mode_sums_z(system, k) + rr / k - nn) / nn

        sol = solve_monotone(F, ll, np.maximum(hi, ll), log=True, xtol=1e-13, maxiter=400, expand=False,
                             throw=True, what="eigenframework kappa (KRR)")
        kappa[solve], res[solve], status[solve], its = sol.value, sol.residual, sol.status, sol.iterations
    return Solution(value=kappa[()] if kappa.ndim == 0 else kappa, residual=res, status=status,
                    branch="unique root of the decreasing df1(kappa) + ridge/kappa - n (log-bracketed)",
                    iterations=its)


def _mode_sums_z(system: Eigensystem, kappa: np.ndarray) -> np.ndarray:
    if hasattr(system, "spectral_z"):
        return system.spectral_z(kappa)
    kappa = np.asarray(kappa, dtype=float)
    flat_k = kappa.ravel()
    out = np.empty(flat_k.size)
    lam, mult = system.eigenvalues, system.multiplicities
    step = max(1, _CHUNK // max(lam.size, 1))
    for s in range(0, flat_k.size, step):
        out[s:s + step] = (mult * (lam / (lam + flat_k[s:s + step, None]))).sum(-1)
    if system.flat_mass > 0:
        out += system.flat_mass / flat_k
    return out.reshape(kappa.shape)


def solve_gamma(system: Eigensystem, n: ArrayLike, p: ArrayLike, ridge: ArrayLike) -> Solution:
    r"""The RF renormalised ridge ``gamma`` (Atanasov's ``kappa_2``; docs/models.md §6.6, §6.9).

    Safe single-equation route (docs/models.md §6.9): with ``B = min(n, p)`` and ``gamma_B`` the root of ``df1 = B`` (0
    when ``rank <= B``), ``h(gamma) = gamma (1 - z/n)(1 - z/p) - ridge/n`` (``z = df1(gamma)``) is increasing on
    ``[gamma_B, inf)`` with ``h(gamma_B) = -ridge/n <= 0``; ``gamma`` is its root on ``[max(gamma_B, ridge/n), ridge/n +
    2 trace (1/n + 1/p)]``, solved in ``log gamma``. ``ridge = 0`` gives ``gamma = gamma_B``. Where rounding makes
    ``h(gamma_B)`` slightly positive at a tiny ridge (docs/models.md §6.9), the left end is accepted if ``|h| <= 1e-12``
    relative; otherwise :class:`SolverError`.

    Returns:
        :class:`rmt.solvers.Solution` with ``value = gamma`` and the relative residual of ``h``.
    """
    _check_system(system)
    n = check_positive(n, "n")
    p = check_positive(p, "p")
    ridge = check_nonnegative(ridge, "ridge")
    n, p, ridge = np.broadcast_arrays(n, p, ridge)
    B = np.minimum(n, p)
    gB = np.zeros(n.shape)
    need_b = _lower_bound_df1(system, B, np.zeros_like(B)) > 0  # rank > B
    its = 0
    if np.any(need_b):
        gB[need_b] = solve_kappa(system, B[need_b], 0.0).value
    gamma = gB.copy()
    res = np.zeros(n.shape)
    status = np.full(n.shape, Status.SUCCESS, dtype=np.int8)
    pos = ridge > 0
    if np.any(pos):
        nn, pp, rr = n[pos], p[pos], ridge[pos]
        lo = np.maximum(gB[pos], rr / nn)
        hi = rr / nn + 2.0 * system.trace * (1.0 / nn + 1.0 / pp)

        def h(g: np.ndarray) -> np.ndarray:
            z = _mode_sums_z(system, g)
            return (g * (1.0 - z / nn) * (1.0 - z / pp) - rr / nn) / (g + rr / nn)

        hlo = h(lo)
        accept = hlo >= 0
        if np.any(accept & (hlo > 1e-12)):
            worst = float(hlo[accept].max())
            raise SolverError(f"RF gamma: h(gamma_lo) = {worst:.3g} > 0 on the left end of the bracket (expected "
                              "<= 0 up to rounding)", residual=worst, status=Status.NO_BRACKET)
        g = lo.copy()
        r_ = np.where(accept, np.abs(hlo), 0.0)
        st = np.full(lo.shape, Status.SUCCESS, dtype=np.int8)
        todo = ~accept
        if np.any(todo):
            nn2, pp2, rr2 = nn[todo], pp[todo], rr[todo]

            def h2(x: np.ndarray) -> np.ndarray:
                z = _mode_sums_z(system, x)
                return (x * (1.0 - z / nn2) * (1.0 - z / pp2) - rr2 / nn2) / (x + rr2 / nn2)

            sol = solve_monotone(h2, lo[todo], np.maximum(hi[todo], lo[todo]), log=True, xtol=1e-13, maxiter=400,
                                 expand=False, throw=True, what="eigenframework gamma (RF)")
            g[todo], r_[todo], st[todo], its = sol.value, sol.residual, sol.status, sol.iterations
        gamma[pos], res[pos], status[pos] = g, r_, st
    return Solution(value=gamma[()] if gamma.ndim == 0 else gamma, residual=res, status=status,
                    branch="root of the increasing gamma(1-z/n)(1-z/p) - ridge/n on [gamma_B, inf)",
                    iterations=its)


# ----------------------------------------------------------------------------------------------------------------
# KRR
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class KRRResult(Tabular):
    r"""Kernel ridge regression in the eigenframework (docs/models.md §6.1; Simon et al. arXiv:2110.03922).

    All numeric fields have the broadcast shape of ``(n, ridge, noise)``.

    Attributes:
        kappa: effective regularisation (Simon's ``kappa``; Canatar's ``kappa_C = n kappa``; Jacot's signal capture
            threshold).
        E0: overfitting coefficient ``n / (n - df2) >= 1`` (``inf`` for ridgeless least squares with ``rank = n``).
        df1: ``sum_i L_i`` (``= n - ridge/kappa``, the conservation law).
        df2: ``sum_i L_i^2``.
        test_error: excess error ``E0 * (B + noise) - noise`` with ``B = sum (1-L)^2 v^2 (+ target_tail)``
            (docs/conventions.md; Canatar's ``E_g``).
        test_mse: Simon's ``E_te = test_error + noise`` (includes the noise floor).
        train_error: ``(ridge/(n kappa))^2 E_te = (1 - df1/n)^2 E_te`` with noisy training labels.
        bias: ``||f* - E f_hat||^2 = sum (1-L)^2 v^2 (+ target_tail)``.
        variance: ``test_error - bias = (E0 - 1)(bias + noise)``.
        n, ridge, noise: the inputs (broadcast).
        residual: relative residual of the ``kappa`` equation.
        system: the eigensystem (for the per-mode methods).
    """

    kappa: np.ndarray
    E0: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    test_error: np.ndarray
    test_mse: np.ndarray
    train_error: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    residual: np.ndarray
    system: Eigensystem = field(repr=False)

    @property
    def per_sample_ridge(self) -> np.ndarray:
        """``lambda_r = ridge / n`` (Jacot's ``lambda``; the ridge of ``(Sigma_hat + lambda_r I)^-1``)."""
        return np.asarray(self.ridge) / np.asarray(self.n)

    def learnabilities(self) -> np.ndarray:
        """``L_i = lambda_i / (lambda_i + kappa)``, shape ``kappa.shape + (M,)`` (1 where ``kappa = 0``)."""
        k = np.asarray(self.kappa)[..., None]
        return self.system.eigenvalues / (self.system.eigenvalues + k)

    def mean_coefficients(self) -> np.ndarray:
        """``E_D v_hat_i = L_i v_i`` for ``v_i = +sqrt(v_i^2)`` (docs/models.md §6.1, mean predictor)."""
        return self.learnabilities() * np.sqrt(self.system.target_power)

    def mode_variance(self) -> np.ndarray:
        """Per-mode fluctuation ``E_D (v_hat_i - L_i v_i)^2 = L_i^2 E_te / n`` of each copy of mode ``i``
        (docs/models.md §6.1, derived and checked by simulation; cross-mode covariances vanish)."""
        L = self.learnabilities()
        return L * L * (np.asarray(self.test_mse) / np.asarray(self.n))[..., None]

    def mode_error(self) -> np.ndarray:
        """Per-mode error ``E_D (v_hat_i - v_i)^2 = (1-L_i)^2 v_i^2 + L_i^2 E_te/n`` of each copy of mode ``i``;
        ``sum_i m_i mode_error_i + target_tail = test_error``."""
        L = self.learnabilities()
        k = np.asarray(self.kappa)[..., None]
        oml = k / (self.system.eigenvalues + k)
        return oml * oml * self.system.target_power + self.mode_variance()

    def as_dict(self) -> dict[str, Any]:
        """The scalar quantities as plain floats/lists (the ``--json`` record of docs/cli.md)."""
        keys = ("test_error", "train_error", "bias", "variance", "test_mse", "kappa", "E0", "df1", "df2", "n",
                "ridge", "noise")
        return {k: _plain(getattr(self, k)) for k in keys}

    def nested_records(self) -> list[dict[str, Any]]:
        """One row per point: ``model = "eigen-krr"``, ``n``, ``ridge``, ``noise``, then the numbers of
        :meth:`as_dict` (:mod:`rmt.records`)."""
        coords = {"model": "eigen-krr", "n": self.n, "ridge": self.ridge, "noise": self.noise}
        keys = ("test_error", "train_error", "bias", "variance", "test_mse", "kappa", "E0", "df1", "df2",
                "residual")
        return broadcast_records({k: np.asarray(v, dtype=float) if k != "model" else v for k, v in coords.items()},
                                 {k: np.asarray(getattr(self, k), dtype=float) for k in keys})


def _plain(v: Any) -> Any:
    a = np.asarray(v, dtype=float)
    return float(a) if a.ndim == 0 else a.tolist()


def krr(system: Eigensystem, n: ArrayLike, ridge: ArrayLike, noise: ArrayLike = 0.0) -> KRRResult:
    r"""Kernel ridge regression from an eigensystem (docs/models.md §6.1; Simon et al. arXiv:2110.03922, Canatar et al.
    arXiv:2006.13198).

    ``kappa`` solves ``n = df1(kappa) + ridge/kappa``; with ``L_i = lambda_i/(lambda_i + kappa)``,
    ``E0 = n/(n - sum L^2)``, ``E_te = E0 (sum (1-L)^2 v^2 + noise)`` and ``E_tr = (ridge/(n kappa))^2 E_te``.

    Args:
        system: kernel eigensystem and target (:class:`Eigensystem`).
        n: number of training samples (> 0).
        ridge: sum-convention ridge ``>= 0`` (``K + ridge I``); per-sample ``ridge / n``.
        noise: label-noise variance ``>= 0``.

    Returns:
        :class:`KRRResult` (``test_error`` excess, ``test_mse`` with the noise floor), broadcast over the inputs.

    Raises:
        ValueError: bad input (named). SolverError: the ``kappa`` solve failed.

    Example:
        >>> iso = Eigensystem.isotropic(d=100, signal=1.0)
        >>> float(krr(iso, n=200, ridge=0.0, noise=0.3).test_mse)   # sigma^2 / (1 - d/n), docs/models.md §6.4
        0.6
    """
    _check_system(system)
    noise = check_nonnegative(noise, "noise")
    sol = solve_kappa(system, n, ridge)
    kappa = np.asarray(sol.value, dtype=float)
    n_, ridge_, noise_ = np.broadcast_arrays(check_positive(n, "n"), check_nonnegative(ridge, "ridge"), noise)
    kappa = np.broadcast_to(kappa, n_.shape)
    s = _mode_sums(system, kappa)
    q = s["q"]
    with np.errstate(divide="ignore", invalid="ignore"):
        s_n = np.where(kappa > 0, ridge_ / (n_ * np.where(kappa > 0, kappa, 1.0)), 1.0 - s["z"] / n_)
        n_minus_q = n_ * s_n + s["zq"]  # n - df2 as a sum of non-negative terms
        E0 = np.where(n_minus_q > 0, n_ / n_minus_q, np.inf)
        bias = s["b2"]
        load = bias + noise_
        variance = np.where(load > 0, q / n_minus_q * load, 0.0)
        test_error = bias + variance
        test_mse = test_error + noise_
        train = np.where(np.isfinite(test_mse), s_n * s_n * test_mse, np.inf)
    res = np.broadcast_to(np.asarray(sol.residual), n_.shape)
    return KRRResult(kappa=frozen_value(kappa), E0=frozen_value(E0), df1=frozen_value(s["z"]), df2=frozen_value(q),
                     test_error=frozen_value(test_error), test_mse=frozen_value(test_mse),
                     train_error=frozen_value(train), bias=frozen_value(bias), variance=frozen_value(variance),
                     n=frozen_value(n_), ridge=frozen_value(ridge_), noise=frozen_value(noise_),
                     residual=frozen_value(res), system=system)


# ----------------------------------------------------------------------------------------------------------------
# random features
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class EigenRFResult(Tabular):
    r"""Random-feature ridge regression in the eigenframework (docs/models.md §6.6; Simon, Karkada, Ghosh & Belkin
    arXiv:2311.14646; Atanasov, Zavatone-Veth & Pehlevan arXiv:2405.00592).

    Attributes:
        gamma: renormalised ridge (Atanasov's ``kappa_2``); ``L_i = lambda_i/(lambda_i + gamma)``.
        kappa: ``gamma (1 - df1(gamma)/p)`` (Atanasov's ``kappa_1``); the train/test law uses it.
        E0: ``1 / (1 - gamma_1)``, the RF overfitting factor (``inf`` at the ridgeless interpolation peak ``p = n``).
        df1, df2: ``z = sum L``, ``q = sum L^2`` at ``gamma``.
        test_error: excess error (no test noise); test_mse: Simon's ``E_te`` including the noise floor.
        train_error: ``(ridge/(n kappa))^2 E_te = (1 - z/n)^2 E_te`` (GCV/KARE law, docs/models.md §6.7).
        bias: ``||f* - E f_hat||^2 = sum (1-L)^2 v^2`` at ``gamma`` (mean over data, noise and features: by Jacot et al.
            arXiv:2002.08404 the feature-averaged predictor is KRR with ``kappa = gamma``).
        variance: ``test_error - bias``.
        ensemble_limit_mse: ``E_inf = (bias + noise) / (1 - q/n)``, the test MSE of an infinite ensemble over
            feature draws on the same data (docs/models.md §6.8).
        feature_variance: ``E_1 - E_inf``, the variance over feature draws; a ``K``-ensemble has
            ``E_K = E_inf + feature_variance / K`` (:meth:`ensemble_test_error`).
    """

    gamma: np.ndarray
    kappa: np.ndarray
    E0: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    test_error: np.ndarray
    test_mse: np.ndarray
    train_error: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    ensemble_limit_mse: np.ndarray
    feature_variance: np.ndarray
    n: np.ndarray
    p: np.ndarray
    ridge: np.ndarray
    noise: np.ndarray
    residual: np.ndarray
    system: Eigensystem = field(repr=False)

    def ensemble_test_error(self, K: ArrayLike) -> np.ndarray:
        """Excess test error of the average of ``K >= 1`` (``inf`` allowed) RF models with independent features on the same data:
        ``E_inf + (E_1 - E_inf)/K - noise`` (docs/models.md §6.8)."""
        K = check_positive(K, "K", allow_inf=True)
        return np.asarray(self.ensemble_limit_mse) + np.asarray(self.feature_variance) / K - np.asarray(self.noise)

    def learnabilities(self) -> np.ndarray:
        """``L_i = lambda_i / (lambda_i + gamma)``, shape ``gamma.shape + (M,)``."""
        g = np.asarray(self.gamma)[..., None]
        return self.system.eigenvalues / (self.system.eigenvalues + g)

    def as_dict(self) -> dict[str, Any]:
        keys = ("test_error", "train_error", "bias", "variance", "test_mse", "gamma", "kappa", "E0", "df1", "df2",
                "ensemble_limit_mse", "feature_variance", "n", "p", "ridge", "noise")
        return {k: _plain(getattr(self, k)) for k in keys}

    def nested_records(self) -> list[dict[str, Any]]:
        """One row per point: ``model = "eigen-rf"``, ``n``, ``p``, ``ridge``, ``noise``, then the numbers of
        :meth:`as_dict` and ``ensemble_limit_error`` (:mod:`rmt.records`)."""
        coords = {"model": "eigen-rf", "n": self.n, "p": self.p, "ridge": self.ridge, "noise": self.noise}
        keys = ("test_error", "train_error", "bias", "variance", "test_mse", "gamma", "kappa", "E0", "df1", "df2",
                "ensemble_limit_mse", "feature_variance", "residual")
        values = {k: np.asarray(getattr(self, k), dtype=float) for k in keys}
        values["ensemble_limit_error"] = values["ensemble_limit_mse"] - np.asarray(self.noise, dtype=float)
        return broadcast_records({k: np.asarray(v, dtype=float) if k != "model" else v for k, v in coords.items()},
                                 values)


RFResult = EigenRFResult
"""Former name of :class:`EigenRFResult` (kept for backward compatibility; ``rmt.theory.random_features.RFResult``
is the random-feature theory's result)."""


def rf(system: Eigensystem, n: ArrayLike, p: ArrayLike, ridge: ArrayLike, noise: ArrayLike = 0.0) -> EigenRFResult:
    r"""Random-feature ridge regression from an eigensystem (docs/models.md §6.6, §6.9).

    ``gamma`` solves ``gamma (1 - z/n)(1 - z/p) = ridge/n`` with ``z = df1(gamma)`` (:func:`solve_gamma`);
    ``kappa = gamma (1 - z/p)``; with ``q = df2(gamma)``, ``r = (p - z)/(p - q)`` and
    ``gamma_1 = (z - r (z - q))/n`` (Atanasov form, identical to Simon's):

        ``E_te = [ r sum (1-L)^2 v^2 + (1 - r) sum (1-L) v^2 + noise ] / (1 - gamma_1)``,
        ``E_tr = (ridge/(n kappa))^2 E_te``.

    Exact asymptotically for linear Gaussian features ``g_j(x) = sum_i w_ji sqrt(lambda_i) phi_i(x)`` (the
    Gaussian-universality ansatz); the model is ``f_hat(x) = K_hat(x, X)(K_hat + ridge I)^-1 y`` with
    ``K_hat = (1/p) sum_j g_j g_j^T``.

    Args:
        system: eigensystem of the limiting kernel ``E_g K_hat``.
        n: samples (> 0). p: features (> 0; ``p -> inf`` gives :func:`krr`).
        ridge: sum-convention ridge ``>= 0``. noise: label-noise variance ``>= 0``.

    Returns:
        :class:`EigenRFResult`, broadcast over the inputs.
    """
    _check_system(system)
    noise = check_nonnegative(noise, "noise")
    sol = solve_gamma(system, n, p, ridge)
    n_, p_, ridge_, noise_ = np.broadcast_arrays(check_positive(n, "n"), check_positive(p, "p"),
                                                 check_nonnegative(ridge, "ridge"), noise)
    gamma = np.broadcast_to(np.asarray(sol.value, dtype=float), n_.shape)
    s = _mode_sums(system, gamma)
    z, q, zq = s["z"], s["q"], s["zq"]
    big = np.maximum(n_, p_)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_big = 1.0 - z / big  # the factor of the larger size: not small
        g_safe = np.where(gamma > 0, gamma, 1.0)
        # the factor of the smaller size from s_n s_p = ridge/(n gamma) (exact), or directly when ridge = 0
        # (ridge = 0 with gamma = gamma_B > 0: z = min(n, p) exactly, so the small factor is 0; gamma = 0: rank <= B)
        s_small = np.where(ridge_ > 0, ridge_ / (n_ * g_safe * s_big), 0.0)
        s_small = np.where(gamma > 0, s_small, 1.0 - z / np.minimum(n_, p_))
        n_is_big = n_ >= p_
        s_n = np.where(n_is_big, s_big, s_small)
        s_p = np.where(n_is_big, s_small, s_big)
        # at n == p both factors are small and equal: s = sqrt(ridge/(n gamma))
        eq = (n_ == p_) & (gamma > 0)
        s_eq = np.sqrt(ridge_ / (n_ * g_safe))
        s_n = np.where(eq, s_eq, s_n)
        s_p = np.where(eq, s_eq, s_p)
        kappa = gamma * s_p
        p_minus_q = p_ * s_p + zq
        r = np.where(p_minus_q > 0, p_ * s_p / p_minus_q, 1.0)
        one_minus_r = np.where(p_minus_q > 0, zq / p_minus_q, 0.0)
        one_minus_g1 = s_n + r * zq / n_
        E0 = np.where(one_minus_g1 > 0, 1.0 / one_minus_g1, np.inf)
        b2, bl = s["b2"], s["bl"]
        # E0 - 1 = (q + (1 - r) zq) / (n (1 - gamma_1)), a sum of non-negative terms
        e0m1 = np.where(one_minus_g1 > 0, (q + one_minus_r * zq) / (n_ * one_minus_g1), np.inf)
        load = b2 + noise_
        variance = np.where(load > 0, e0m1 * load, 0.0) + np.where(bl > 0, E0 * one_minus_r * bl, 0.0)
        test_error = b2 + variance
        test_mse = test_error + noise_
        train = np.where(np.isfinite(test_mse), s_n * s_n * test_mse, np.inf)
        n_minus_q = n_ * s_n + zq
        e_inf = np.where(load > 0, load * n_ / n_minus_q, 0.0)
        feat_var = test_mse - e_inf
    res = np.broadcast_to(np.asarray(sol.residual), n_.shape)
    return EigenRFResult(gamma=frozen_value(gamma), kappa=frozen_value(kappa), E0=frozen_value(E0),
                         df1=frozen_value(z), df2=frozen_value(q), test_error=frozen_value(test_error),
                         test_mse=frozen_value(test_mse), train_error=frozen_value(train), bias=frozen_value(b2),
                         variance=frozen_value(variance), ensemble_limit_mse=frozen_value(e_inf),
                         feature_variance=frozen_value(feat_var), n=frozen_value(n_), p=frozen_value(p_),
                         ridge=frozen_value(ridge_), noise=frozen_value(noise_), residual=frozen_value(res),
                         system=system)


def rf_data_limit(system: Eigensystem, p: ArrayLike, noise: ArrayLike = 0.0) -> np.ndarray:
    r"""Excess test error of RF as ``n -> inf`` at fixed ``p`` and fixed sum-ridge (docs/models.md §6.10):
    ``sum_i (1 - L_i) v_i^2 (+ target_tail)`` with ``df1(gamma) = p`` -- the approximation error of the best
    ``p``-feature model (note: linear, not squared, in ``1 - L``). ``noise`` only sets the output shape (the
    excess error does not depend on it in this limit)."""
    _check_system(system)
    p = check_positive(p, "p")
    noise = check_nonnegative(noise, "noise")
    p, _ = np.broadcast_arrays(p, noise)
    gamma = np.zeros(p.shape)
    need = _lower_bound_df1(system, p, np.zeros_like(p)) > 0
    if np.any(need):
        gamma[need] = solve_kappa(system, p[need], 0.0).value
    s = _mode_sums(system, gamma)
    out = s["b2"] + s["bl"]
    return out[()] if out.ndim == 0 else out


# ----------------------------------------------------------------------------------------------------------------
# KARE / GCV from training data
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KAREResult:
    r"""Risk estimates from one training set (Jacot et al. arXiv:2006.09796; docs/models.md §6.3).

    Attributes:
        ridge: the sum-convention ridges (1-d).
        kappa_hat: ``1 / Tr (K + ridge I)^-1`` (empirical ``kappa``; docs/models.md §6.2, checked by simulation).
        train_error: ``(1/n) |y - f_hat(X)|^2 = (ridge^2 / n) y^T (K + ridge I)^-2 y``.
        kare: ``n y^T (K + ridge I)^-2 y / [Tr (K + ridge I)^-1]^2``, an estimate of ``test_mse`` (Simon's
            ``E_te``, with the noise floor). It equals GCV, ``train_error / (1 - Tr S/n)^2`` with
            ``S = K (K + ridge I)^-1``, identically.
        df: ``Tr S``, the effective degrees of freedom (``~ df1(kappa)``).
    """

    ridge: np.ndarray
    kappa_hat: np.ndarray
    train_error: np.ndarray
    kare: np.ndarray
    df: np.ndarray


def kare(kernel: ArrayLike, y: ArrayLike, ridge: ArrayLike, *, rcond: float = 1e-12) -> KAREResult:
    """KARE / GCV estimate of the test error from a training kernel matrix and labels (sum-convention ridge).

    Args:
        kernel: symmetric positive semi-definite ``n x n`` kernel matrix ``K_XX``.
        y: labels, shape ``(n,)``.
        ridge: ridges ``>= 0`` (any shape; flattened). ``ridge = 0`` needs ``K`` invertible.
        rcond: eigenvalues below ``rcond * max eigenvalue`` count as zero.

    Raises:
        ValueError: shapes, asymmetry, or ``ridge = 0`` with a singular kernel.
    """
    K = check_finite(kernel, "kernel")
    yv = check_finite(y, "y").ravel()
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] != yv.size:
        raise ValueError(f"kernel must be n x n with n = len(y) = {yv.size}, got shape {K.shape}")
    if not np.allclose(K, K.T, rtol=1e-10, atol=1e-12 * np.abs(K).max()):
        raise ValueError("kernel must be symmetric")
    r = check_nonnegative(np.atleast_1d(ridge), "ridge").ravel()
    s, U = np.linalg.eigh(K)
    s = np.where(s < rcond * max(s.max(), 0.0), 0.0, s)
    if np.any(r == 0) and np.any(s == 0):
        raise ValueError("ridge = 0 needs an invertible kernel matrix (it is singular)")
    proj2 = (U.T @ yv) ** 2
    n = yv.size
    inv = 1.0 / (s[None, :] + r[:, None])
    tr = inv.sum(-1)
    quad2 = (proj2 * inv * inv).sum(-1)
    train = r * r * quad2 / n
    return KAREResult(ridge=r, kappa_hat=1.0 / tr, train_error=train, kare=n * quad2 / tr ** 2,
                      df=(s[None, :] * inv).sum(-1))


# ----------------------------------------------------------------------------------------------------------------
# one problem point: the entry used by `rmt theory eigen` and a later `rmt validate --model eigen`
# ----------------------------------------------------------------------------------------------------------------

def evaluate(problem: EigenProblem) -> dict[str, float]:
    """Theory values of one problem point, under the keys the simulation reports
    (:func:`montecarlo.eigen.simulate_eigen`): ``test_error``, ``train_error``, ``bias``, ``variance``, ``test_mse``,
    ``kappa``, plus ``E0`` and, for RF, ``gamma``, ``ensemble_limit_error`` (excess error of the infinite
    ensemble) and ``feature_variance``."""
    if problem.p is None:
        r: Mapping[str, Any] = krr(problem.system, problem.n, problem.ridge, problem.noise).as_dict()
        keys = ("test_error", "train_error", "bias", "variance", "test_mse", "kappa", "E0")
        return {k: float(r[k]) for k in keys}
    res = rf(problem.system, problem.n, problem.p, problem.ridge, problem.noise)
    out = {k: float(getattr(res, k)) for k in ("test_error", "train_error", "bias", "variance", "test_mse",
                                                 "kappa", "E0", "gamma", "feature_variance")}
    out["ensemble_limit_error"] = float(res.ensemble_limit_mse) - problem.noise
    return out


def finite_size_allowance(problem: EigenProblem) -> float:
    r"""Relative tolerance to allow when comparing the eigenframework with a simulation at finite sizes.

    The eigenframework is a deterministic equivalent: at finite ``n`` (and ``p``) the simulated means deviate by
    ``O(1/size)``. Measured with montecarlo.eigen on ``lambda_i = i^-1.5``, ``v_i^2 = i^-1.8`` (200-400 datasets;
    tests/montecarlo/test_eigen_montecarlo.py): test error, bias and variance 1-2 % at ``n = 50-100`` and 0.5-1 % at
    ``n = 200``; the ``kappa-hat`` estimator -0.2 to -1 %. Next to an interpolation peak (``p ~ n`` for RF,
    ``n ~ rank`` for KRR) the deviations are larger: ``kappa-hat`` -3.5 %, -1.6 %, -0.15 % at ``n = p = 100, 200,
    400`` (per-sample ridge 1e-5), and the test error deviates by 3-4 % at ``n = p = 100``. Hence

    * ``3 / m`` with ``m = min(n, p)`` in general,
    * ``8 / m`` when ``|log(p/n)| < 0.3`` (RF) or ``|log(n/rank)| < 0.3`` (KRR, finite rank).

    The criterion for a simulation to agree is then ``|sim - theory| <= 4 sqrt(se^2 + (allowance * theory)^2)``.
    """
    m = problem.n if problem.p is None else min(problem.n, problem.p)
    if problem.p is not None:
        near_peak = abs(math.log(problem.p / problem.n)) < 0.3
    else:
        near_peak = math.isfinite(problem.system.rank) and abs(math.log(problem.n / problem.system.rank)) < 0.3
    return (8.0 if near_peak else 3.0) / m
