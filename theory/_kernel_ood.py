r"""Out-of-distribution kernel ridge regression from an eigensystem and an overlap matrix (private; public names are
re-exported by :mod:`theory.covariate_shift`).

Canatar, Bordelon & Pehlevan, "Out-of-Distribution Generalization in Kernel Regression" (arXiv:2106.02261), as given
in docs/models.md §5.9 (official code: ``kappa_fn``, ``Eg_wrt_test``, ``theory_gen``):
:func:`kernel_ood_error` (eigenvalues, target coefficients, overlap matrix) and :func:`linear_ood_error` (the
linear-regression form, reduced exactly to the eigensystem form). This is the bridge to ``theory.eigen``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive
from rmt.solvers import solve_monotone
from rmt.numerics import ArrayLike, frozen_value

__all__ = ["KernelOodResult", "kernel_ood_error", "linear_ood_error"]

# ----------------------------------------------------------------------------------------------------------------
# out-of-distribution kernel regression (Canatar, Bordelon & Pehlevan; docs/models.md §5.9)
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelOodResult:
    r"""Kernel ridge regression out of distribution (Canatar, Bordelon & Pehlevan, arXiv:2106.02261).

    Attributes:
        test_error: ``E_g = sum G O G + gamma'/(1 - gamma) (sum G^2 + noise)`` (no test-label noise).
        bias: ``sum_{rho sigma} G_rho O_{rho sigma} G_sigma`` (the mean predictor's test error).
        variance: ``test_error - bias``; ``noise_variance = gamma' noise / (1 - gamma)``.
        id_test_error, id_bias: the same with ``O = I`` (test law = training law).
        kappa: the renormalised ridge; ``gamma`` (``d2``) and ``gamma_prime`` (``D_*``).
        n_samples, ridge, noise: inputs, broadcast.
    """

    test_error: Any
    bias: Any
    variance: Any
    noise_variance: Any
    id_test_error: Any
    id_bias: Any
    kappa: Any
    gamma: Any
    gamma_prime: Any
    n_samples: Any
    ridge: Any
    noise: Any


def _as_matrix(x: Any, n: int, name: str, *, symmetric: bool = True) -> np.ndarray:
    a = check_finite(x, name)
    if a.ndim == 1:
        if a.shape != (n,):
            raise ValueError(f"{name} must have length {n} (or be an {n} x {n} matrix), got shape {a.shape}")
        return np.diag(a)
    if a.shape != (n, n):
        raise ValueError(f"{name} must be an {n} x {n} matrix (or a length-{n} diagonal), got shape {a.shape}")
    if symmetric and not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * max(1.0, float(np.abs(a).max()))):
        raise ValueError(f"{name} must be symmetric")
    return 0.5 * (a + a.T) if symmetric else a


def kernel_ood_error(eigenvalues: ArrayLike, target: ArrayLike, n_samples: ArrayLike, *,
                     overlap: ArrayLike | None = None, ridge: ArrayLike = 0.0,
                     noise: ArrayLike = 0.0) -> KernelOodResult:
    r"""Generalisation error of kernel ridge regression on a shifted test law from an eigensystem and an overlap
    matrix (Canatar, Bordelon & Pehlevan, arXiv:2106.02261; docs/models.md §5.9).

    The kernel is diagonalised in the *training* measure, ``K(x, x') = sum eta_r phi_r(x) phi_r(x')`` with
    ``int phi_r phi_s dp = delta_rs``; the target is ``f* = sum vbar_r phi_r``; the test law enters through
    ``O_rs = int phi_r phi_s dp~``. With ``P`` samples, ridge ``lambda`` (the estimator is
    ``k(x, X) (k(X, X) + lambda I)^-1 y``) and label noise ``sigma^2``:

    ``kappa = lambda + kappa sum eta/(P eta + kappa)``, ``gamma = P sum eta^2/(P eta + kappa)^2``,
    ``gamma' = P sum O_rr eta^2/(P eta + kappa)^2``, ``G_r = kappa vbar_r/(kappa + P eta_r)``,
    ``E_g = sum G O G + gamma'/(1 - gamma) (sum G^2 + sigma^2)``.

    Physical root: ``kappa`` is the unique root of the increasing ``kappa (1 - sum eta/(P eta + kappa)) = lambda``
    above ``kappa_0``, the zero of ``sum P eta/(P eta + kappa) = P`` (``kappa_0 = 0`` when ``rank <= P``); solved by
    bisection in ``log kappa``. ``lambda = 0`` gives ``kappa = kappa_0`` (ridgeless); at ``rank = P`` it is the
    interpolation pole (``+inf``).

    Args:
        eigenvalues: ``eta_r >= 0``, shape ``(K,)``.
        target: coefficients ``vbar`` (shape ``(K,)``), or their second moment ``E vbar vbar^T`` (``(K, K)``) to
            average over a random target.
        n_samples: ``P > 0`` (array allowed).
        overlap: ``O`` (``(K, K)`` symmetric, or its diagonal); ``None`` means no shift (``O = I``).
        ridge, noise: ``>= 0`` (arrays allowed; broadcast with ``n_samples``).

    Raises:
        ValueError: bad shapes or values (naming the argument).
        SolverError: a root solve did not converge.
    """
    eta = check_nonnegative(np.atleast_1d(np.asarray(eigenvalues, dtype=float)), "eigenvalues")
    if eta.ndim != 1:
        raise ValueError("eigenvalues must be a 1-d array")
    K = eta.size
    tgt = check_finite(target, "target")
    if tgt.shape == (K,):
        T = np.outer(tgt, tgt)
    elif tgt.shape == (K, K):
        T = _as_matrix(tgt, K, "target")
    else:
        raise ValueError(f"target must have shape ({K},) (coefficients) or ({K}, {K}) (second moment), got "
                         f"{tgt.shape}")
    O = np.eye(K) if overlap is None else _as_matrix(overlap, K, "overlap")
    P = check_positive(n_samples, "n_samples")
    lam_r = check_nonnegative(ridge, "ridge")
    sig2 = check_nonnegative(noise, "noise")
    try:
        shape = np.broadcast_shapes(P.shape, lam_r.shape, sig2.shape)
    except ValueError:
        raise ValueError("n_samples, ridge and noise must broadcast together") from None
    P_, l_, s_ = (np.broadcast_to(a, shape).reshape(-1).astype(float) for a in (P, lam_r, sig2))
    kappa = _solve_kernel_kappa(eta, P_, l_)
    Pe = P_[:, None] * eta
    with np.errstate(divide="ignore", invalid="ignore"):
        den = Pe + kappa[:, None]
        g = np.where(den > 0, kappa[:, None] / np.where(den > 0, den, 1.0), 1.0)  # eta = 0, kappa = 0: unlearnt
        a2 = np.where(den > 0, P_[:, None] * eta**2 / np.where(den > 0, den, 1.0) ** 2, 0.0)
    gamma = np.sum(a2, axis=-1)
    gamma_p = a2 @ np.diag(O)
    bias = np.einsum("pk,kl,pl->p", g, O * T, g)
    bbar = np.einsum("pk,k,pk->p", g, np.diag(T), g)
    rank = np.count_nonzero(eta > 0)
    pole = (l_ == 0) & (rank == P_)
    with np.errstate(divide="ignore", invalid="ignore"):
        R = np.where(pole, np.inf, (bbar + s_) / np.where(pole, 1.0, 1.0 - gamma))
        E = np.where(pole, np.inf, bias + gamma_p * R)
        E_id = np.where(pole, np.inf, bbar + gamma * R)
        noise_var = np.where(pole, np.where(s_ > 0, np.inf, 0.0), gamma_p * s_ / np.where(pole, 1.0, 1.0 - gamma))
    sh = lambda a: frozen_value(np.asarray(a).reshape(shape))  # noqa: E731
    return KernelOodResult(test_error=sh(E), bias=sh(bias), variance=sh(E - bias), noise_variance=sh(noise_var),
                           id_test_error=sh(E_id), id_bias=sh(bbar), kappa=sh(kappa), gamma=sh(gamma),
                           gamma_prime=sh(gamma_p), n_samples=sh(P_), ridge=sh(l_), noise=sh(s_))


def _solve_kernel_kappa(eta: np.ndarray, P: np.ndarray, ridge: np.ndarray) -> np.ndarray:
    """The physical ``kappa`` of the CBP equation (flat arrays ``P``, ``ridge``)."""
    total = float(eta.sum())
    rank = np.count_nonzero(eta > 0)
    kappa0 = np.zeros(P.shape)
    over = rank > P
    if np.any(over) and total > 0:
        Po = P[over]

        def n_eff(k: np.ndarray) -> np.ndarray:
            return np.sum(Po[:, None] * eta / (Po[:, None] * eta + k[:, None]), axis=-1) - Po

        kappa0[over] = solve_monotone(n_eff, np.full(Po.shape, 1e-3 * total), np.full(Po.shape, total), log=True,
                                      expand=True, what="kernel OOD: kappa_0 (sum P eta/(P eta + kappa) = P)").value
    kappa = kappa0.copy()
    pos = np.flatnonzero(ridge > 0)
    if pos.size:
        if total == 0:
            kappa[pos] = ridge[pos]
        else:
            Pp, rp = P[pos], ridge[pos]

            def h(k: np.ndarray) -> np.ndarray:
                return k * (1.0 - np.sum(eta / (Pp[:, None] * eta + k[:, None]), axis=-1)) - rp

            kappa[pos] = solve_monotone(h, np.maximum(rp, kappa0[pos]), rp + total, log=True, expand=False,
                                        what="kernel OOD: kappa (kappa (1 - sum eta/(P eta + kappa)) = ridge)"
                                        ).value
    return kappa


def linear_ood_error(train_cov: ArrayLike, test_cov: ArrayLike, n_samples: ArrayLike, *, target: ArrayLike,
                     kernel: ArrayLike | None = None, ridge: ArrayLike = 0.0, noise: ArrayLike = 0.0
                     ) -> KernelOodResult:
    r"""Out-of-distribution error of linear-kernel ridge regression (the linear-regression form of Canatar, Bordelon
    & Pehlevan's ``theory_gen``; docs/models.md §5.9).

    Model: ``x ~ N(0, C)`` in training, ``x ~ N(0, C')`` at test, ``y = w.x + eps``, kernel ``k(x, x') = x^T K x'``,
    estimator ``k(x, X) (k(X, X) + ridge I)^-1 y``. It is reduced exactly to :func:`kernel_ood_error` with the
    eigensystem of ``A = C^{1/2} K C^{1/2} = U diag(eta) U^T``: eigenfunctions ``U^T C^{-1/2} x`` (orthonormal under
    ``C``), overlap ``O = U^T C^{-1/2} C' C^{-1/2} U`` and target coefficients ``vbar = U^T C^{1/2} w``. This equals
    the published ``E_g = gamma' sigma^2/(1-gamma) + kappa^2 w^T M C' M^T w + kappa^2 gamma'/(1-gamma) w^T M C M^T w``
    with ``M = (p C K + kappa)^{-1}``. The transposes matter only when ``C`` and ``K`` do not commute; there the
    literal ``w^T M C' M w`` is off by ~50% in the case of
    ``tests/theory/test_covariate_shift.py::test_linear_form_transpose_decided_by_simulation``, and a direct
    simulation agrees with the form used here.

    Args:
        train_cov: ``C`` (``(N, N)`` symmetric positive definite, or its positive diagonal).
        test_cov: ``C'`` (``(N, N)`` symmetric, or its diagonal).
        n_samples: ``p > 0`` (array allowed).
        target: ``w`` (``(N,)``) or ``E w w^T`` (``(N, N)``).
        kernel: ``K`` (``(N, N)`` symmetric PSD or diagonal); ``None`` means ``I``.
        ridge, noise: ``>= 0`` (arrays broadcast with ``n_samples``).

    Raises:
        ValueError: bad shapes, a train covariance that is not positive definite, a kernel that is not PSD.
    """
    c_arr = check_finite(train_cov, "train_cov")
    N = c_arr.shape[0] if c_arr.ndim >= 1 else 0
    if N == 0:
        raise ValueError("train_cov must be a length-N diagonal or an N x N matrix")
    C = _as_matrix(c_arr, N, "train_cov")
    Cp = _as_matrix(test_cov, N, "test_cov")
    Kmat = np.eye(N) if kernel is None else _as_matrix(kernel, N, "kernel")
    ec, vc = np.linalg.eigh(C)
    if np.any(ec <= 0):
        raise ValueError("train_cov must be positive definite")
    if np.any(np.linalg.eigvalsh(Cp) < -1e-12 * max(1.0, float(np.abs(ec).max()))):
        raise ValueError("test_cov must be positive semi-definite")
    if np.any(np.linalg.eigvalsh(Kmat) < -1e-12 * max(1.0, float(np.abs(Kmat).max()))):
        raise ValueError("kernel must be positive semi-definite")
    c_half = (vc * np.sqrt(ec)) @ vc.T
    c_mhalf = (vc / np.sqrt(ec)) @ vc.T
    eta, U = np.linalg.eigh(c_half @ Kmat @ c_half)
    eta = np.clip(eta, 0.0, None)
    O = U.T @ c_mhalf @ Cp @ c_mhalf @ U
    tgt = check_finite(target, "target")
    if tgt.shape == (N,):
        tb: np.ndarray = U.T @ c_half @ tgt
    elif tgt.shape == (N, N):
        Tm = _as_matrix(tgt, N, "target")
        tb = U.T @ c_half @ Tm @ c_half @ U
    else:
        raise ValueError(f"target must have shape ({N},) or ({N}, {N}), got {tgt.shape}")
    return kernel_ood_error(eta, tb, n_samples, overlap=0.5 * (O + O.T), ridge=ridge, noise=noise)

