r"""Online and multi-pass SGD on least squares (private to :mod:`theory.dynamics`).

Conventions as in :mod:`theory._dynamics_gf`; steps are integers, the update with batch ``B`` and learning rate
``lr`` is ``w <- w - (lr/B) sum_b x_b (x_b^T w - y_b) - lr ridge w``.

Online SGD (a fresh Gaussian batch every step; Bordelon & Pehlevan arXiv:2106.02713, the Gaussian-feature case of
their exact recursion). With ``C_t = E e e^T``, ``e = w - w*``, Isserlis' theorem ``E[x x^T C x x^T] = 2 Lambda C
Lambda + Lambda tr(Lambda C)`` closes the diagonal ``c_k = C_kk``:

    c_k(t+1) = a_k c_k(t) + (lr^2/B) lambda_k (E(t) + noise),   a_k = 1 - 2 lr lambda_k + lr^2 (1 + 1/B) lambda_k^2,
    E(t)     = sum_k lambda_k c_k(t),                           c_k(0) = w*_k^2 = v_k^2 / lambda_k.

Equivalently a discrete Volterra equation with kernel ``(lr^2/B) sum_k lambda_k^2 a_k^j``; it is stable iff every
``a_k < 1`` and the kernel's total mass ``(lr/B) sum_k lambda_k / (2 - lr (1 + 1/B) lambda_k) < 1``. The
recursion is run as a scan over steps, vectorized over modes (``O(steps x modes)``).

Multi-pass SGD on ``n`` fixed samples (batch drawn uniformly with replacement): homogenized SGD (Paquette,
Paquette, Adlam & Pennington arXiv:2205.07069, arXiv:2206.07252) replaces the gradient noise by a Gaussian with
covariance ``(lr^2/B) train_error(w) Sigma_hat`` (their ``2 L(x) H``). In the eigenbasis ``Sigma_hat = U diag(s)
U^T`` the noise covariance ``C`` stays diagonal:

    c_j(k+1)      = (1 - lr (s_j + ridge))^2 c_j(k) + (lr^2/B) s_j tau(k),
    tau(k)        = train_GD(k) + sum_j s_j c_j(k)                    (expected training error),
    test_error(k) = test_GD(k) + sum_j (U^T Lambda U)_jj c_j(k),

``train_GD``, ``test_GD`` being full-batch gradient descent from the same start. This is their Volterra equation
``tau = train_GD + (lr^2/B) K * tau`` with ``K(j) = Tr(Sigma_hat^2 R^{2j})``, ``R = I - lr(Sigma_hat + ridge)``.
The deterministic equivalent replaces the eigen-directions ``j`` by the nodes of the contour of
:mod:`theory._dynamics_contour` (``K(j) = -(1/2 pi i) oint z R(z)^{2j} df1(kappa(-z)) dz``, a sum of
exponentials, so the same recursion runs on the nodes) and ``sum_j (U^T Lambda U)_jj c_j`` by the two-point kernel
``Tr(Lambda R^j Sigma_hat R^j)``. Stability ("implicit conditioning"): the kernel mass
``(lr/B) sum_j s_j^2 / ((s_j + ridge)(2 - lr(s_j + ridge)))`` must be below 1; for ``ridge = 0`` and small
``lr s_j`` it is ``lr Tr(Sigma_hat)/(2B)``: the threshold ``lr < 2B/Tr(Sigma_hat)`` is set by the trace (the mean
squared norm of a sample), not by the top eigenvalue as for gradient descent. Terminal training error
``train_inf / (1 - mass)`` with ``train_inf`` the full-batch limit.
"""

from __future__ import annotations

import functools

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize

from rmt.numerics import float64_jax
from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.theory._dynamics_gf import Curve, gd_contour, steps_array
from rmt.theory.eigen import Eigensystem

__all__ = ["HSGDData", "hsgd", "kernel_mass_data", "multipass_sgd", "online_sgd", "online_sgd_loop",
           "online_sgd_mass", "online_sgd_threshold", "sgd_threshold_data"]


# ----------------------------------------------------------------------------------------------------------------
# online SGD
# ----------------------------------------------------------------------------------------------------------------

def _check_sgd(lr: Any, batch: Any, noise: Any) -> tuple[float, int, float]:
    return (float(check_positive(lr, "lr")), check_positive_int(batch, "batch"),
            float(check_nonnegative(noise, "noise")))


def online_sgd_mass(system: Eigensystem, lr: float, batch: int = 1) -> float:
    """Total mass of the online-SGD Volterra kernel ``(lr^2/B) sum_k m_k lambda_k^2 / (1 - a_k)``
    (``inf`` if some ``a_k >= 1``); a white part of total trace ``flat_mass`` adds ``lr flat_mass / (2B)``."""
    lam, m = system.eigenvalues, system.multiplicities
    denom = 2.0 - lr * (1.0 + 1.0 / batch) * lam
    if np.any(denom <= 0):
        return math.inf
    return float(lr / batch * np.sum(m * lam / denom) + lr * system.flat_mass / (2.0 * batch))


def online_sgd_threshold(system: Eigensystem, batch: int = 1) -> float:
    """The largest stable learning rate of online SGD: the root of ``mass(lr) = 1`` (mass increases with ``lr``),
    capped by ``2 / ((1 + 1/B) lambda_max)``. For small ``lr lambda_max`` it is about ``2B / trace``."""
    batch = check_positive_int(batch, "batch")
    cap = 2.0 / ((1.0 + 1.0 / batch) * float(np.max(system.eigenvalues)))
    if online_sgd_mass(system, cap * (1 - 1e-12), batch) < 1.0:
        return cap
    return float(scipy.optimize.brentq(lambda e: online_sgd_mass(system, e, batch) - 1.0, 0.0, cap * (1 - 1e-12),
                                       xtol=1e-15, rtol=1e-13))


def _online_setup(system: Eigensystem, lr: float, batch: int, noise: float):
    mass = online_sgd_mass(system, lr, batch)
    if not mass < 1.0:
        thr = online_sgd_threshold(system, batch)
        raise ValueError(f"lr = {lr:g} is beyond the stability threshold of online SGD (batch {batch}): lr must be "
                         f"< {thr:.6g} (the kernel mass {mass:.4g} must be < 1)")
    lam, m = system.eigenvalues, system.multiplicities
    a = 1.0 - 2.0 * lr * lam + lr * lr * (1.0 + 1.0 / batch) * lam * lam
    inj = lr * lr / batch * lam  # c_k gains inj * (E + noise)
    c0 = system.target_power / lam
    return a, inj, c0, m * lam, mass


def online_sgd(system: Eigensystem, lr: float, steps: Any, batch: int = 1, noise: float = 0.0, *,
               method: str = "auto") -> Curve:
    r"""Exact excess risk of online SGD with Gaussian features at the given steps (Bordelon & Pehlevan
    arXiv:2106.02713; recursion in the module docstring). ``O(max(steps) x modes)``: a JAX scan over steps
    (float64, compiled once per shape), vectorized over modes (``method="scan"``), or a loop over steps with numpy
    over modes (``"loop"``); ``"auto"`` takes the loop below ``2e6`` step-modes, where compiling would dominate.

    Raises:
        ValueError: ``lr`` at or beyond the stability threshold (:func:`online_sgd_threshold`), bad steps.
    """
    lr, batch, noise = _check_sgd(lr, batch, noise)
    k = steps_array(steps)
    if method not in ("auto", "scan", "loop"):
        raise ValueError(f"method must be auto, scan or loop, got {method!r}")
    if method == "loop" or (method == "auto" and int(k.max()) * system.size < 2_000_000):
        return Curve("online-sgd", "step", k, online_sgd_loop(system, lr, k, batch, noise), None,
                     {"lr": lr, "batch": batch, "noise": noise})
    a, inj, c0, w, _ = _online_setup(system, lr, batch, noise)
    E = _scan_online(a, inj, c0, w, noise, int(k.max()))
    return Curve("online-sgd", "step", k, E[k] + system.target_tail, None,
                 {"lr": lr, "batch": batch, "noise": noise})


def _scan_online(a: np.ndarray, inj: np.ndarray, c0: np.ndarray, w: np.ndarray, noise: float, steps: int
                 ) -> np.ndarray:
    """``E(0..steps)`` of the diagonal recursion, by ``jax.lax.scan`` in float64 (scoped x64)."""
    import jax
    import jax.numpy as jnp

    with float64_jax():
        fn = _online_runner()
        E = fn(jnp.asarray(a), jnp.asarray(inj), jnp.asarray(c0), jnp.asarray(w), jnp.asarray(noise, jnp.float64),
               steps)
        return np.asarray(jax.device_get(E))


@functools.cache
def _online_runner():
    """The jitted recursion (built on first use, so importing this module does not import JAX)."""
    import jax
    import jax.numpy as jnp

    def run(a, inj, c0, w, noise, steps):
        def body(c, _):
            e = jnp.dot(w, c)
            return a * c + inj * (e + noise), e

        c_last, es = jax.lax.scan(body, c0, None, length=steps)
        return jnp.concatenate([es, jnp.dot(w, c_last)[None]])

    return jax.jit(run, static_argnums=(5,))


def online_sgd_loop(system: Eigensystem, lr: float, steps: Any, batch: int = 1, noise: float = 0.0) -> np.ndarray:
    """The same recursion as :func:`online_sgd` as a plain Python loop over steps (numpy over modes): the reference
    of the benchmark and of the tests."""
    lr, batch, noise = _check_sgd(lr, batch, noise)
    k = steps_array(steps)
    a, inj, c, w, _ = _online_setup(system, lr, batch, noise)
    out = np.empty(int(k.max()) + 1)
    for t in range(int(k.max()) + 1):
        e = float(w @ c)
        out[t] = e
        c = a * c + inj * (e + noise)
    return out[k] + system.target_tail


# ----------------------------------------------------------------------------------------------------------------
# multi-pass SGD: homogenized SGD on a given data set
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class HSGDData:
    """A training set in the eigenbasis of ``Sigma_hat = X^T X / n``: eigenvalues ``s``, the eigenvector matrix
    ``U``, ``b = X^T y / n``, ``yy = |y|^2 / n``, and the population quantities ``Lambda`` (diagonal) and ``w*``."""

    s: np.ndarray
    U: np.ndarray
    b: np.ndarray
    yy: float
    lam: np.ndarray
    wstar: np.ndarray
    n: int

    @classmethod
    def from_data(cls, X: Any, y: Any, lam: Any, wstar: Any) -> "HSGDData":
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        n = X.shape[0]
        s, U = np.linalg.eigh(X.T @ X / n)
        return cls(np.maximum(s, 0.0), U, X.T @ y / n, float(y @ y / n), np.asarray(lam, float),
                   np.asarray(wstar, float), n)


def kernel_mass_data(s: np.ndarray, lr: float, batch: int, ridge: float) -> float:
    """``(lr/B) sum_j s_j^2 / ((s_j + ridge)(2 - lr (s_j + ridge)))`` (``inf`` if some factor is ``<= 0``)."""
    g = s + ridge
    den = 2.0 - lr * g
    if np.any(den <= 0):
        return math.inf
    pos = g > 0
    return float(lr / batch * np.sum(s[pos] ** 2 / (g[pos] * den[pos])))


def sgd_threshold_data(s: np.ndarray, batch: int, ridge: float) -> float:
    """Largest stable ``lr`` of homogenized SGD for the eigenvalues ``s`` of ``Sigma_hat`` (root of mass = 1)."""
    cap = 2.0 / float(np.max(s + ridge))
    if kernel_mass_data(s, cap * (1 - 1e-12), batch, ridge) < 1:
        return cap
    return float(scipy.optimize.brentq(lambda e: kernel_mass_data(s, e, batch, ridge) - 1.0, 0.0, cap * (1 - 1e-12),
                                       xtol=1e-15, rtol=1e-13))


def hsgd(data: HSGDData, lr: float, steps: Any, batch: int = 1, ridge: float = 0.0) -> Curve:
    r"""Expected training and test error of multi-pass SGD on a given data set by homogenized SGD (Paquette,
    Paquette, Adlam & Pennington arXiv:2205.07069, arXiv:2206.07252; recursion in the module docstring), at the
    given steps, from ``w = 0``. ``O(max(steps) x d)``.

    Raises:
        ValueError: ``lr`` beyond the stability threshold (kernel mass >= 1), bad steps.
    """
    lr = float(check_positive(lr, "lr"))
    batch = check_positive_int(batch, "batch")
    ridge = float(check_nonnegative(ridge, "ridge"))
    k = steps_array(steps)
    s, U = data.s, data.U
    mass = kernel_mass_data(s, lr, batch, ridge)
    if not mass < 1:
        raise ValueError(f"lr = {lr:g} is beyond the stability threshold of multi-pass SGD (batch {batch}): lr must "
                         f"be < {sgd_threshold_data(s, batch, ridge):.6g} (the kernel mass {mass:.4g} must be < 1)")
    bt = U.T @ data.b  # b in the eigenbasis
    ws = U.T @ data.wstar
    lamU = np.einsum("ij,i,ij->j", U, data.lam, U)  # diag(U^T Lambda U)
    Lam_U = U.T @ (data.lam[:, None] * U)
    g = s + ridge
    rho = 1.0 - lr * g
    K = int(k.max())
    # gradient descent mean m_k = (1 - rho^k) b / g in the eigenbasis (g = 0 only where b = 0)
    steps_all = np.arange(K + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        coef = np.where(g[None, :] > 0, (1.0 - rho[None, :] ** steps_all[:, None]) / np.where(g > 0, g, 1.0),
                        lr * steps_all[:, None])
    mk = coef * bt  # (K+1, d)
    train_gd = data.yy - 2.0 * mk @ bt + np.einsum("kj,j,kj->k", mk, s, mk)
    diff = mk - ws
    test_gd = np.einsum("kj,jl,kl->k", diff, Lam_U, diff)
    c = np.zeros_like(s)
    tau = np.empty(K + 1)
    test = np.empty(K + 1)
    r2 = rho * rho
    q = lr * lr / batch * s
    for t in range(K + 1):
        tau[t] = train_gd[t] + s @ c
        test[t] = test_gd[t] + lamU @ c
        c = r2 * c + q * tau[t]
    return Curve("sgd", "step", k, test[k], tau[k], {"lr": lr, "batch": batch, "ridge": ridge, "n": data.n,
                                                      "kernel_mass": mass})


# ----------------------------------------------------------------------------------------------------------------
# multi-pass SGD: deterministic equivalent from the population spectrum
# ----------------------------------------------------------------------------------------------------------------

def multipass_sgd(system: Eigensystem, n: float, lr: float, steps: Any, batch: int = 1, ridge: float = 0.0,
                  noise: float = 0.0) -> Curve:
    r"""Deterministic equivalent of homogenized multi-pass SGD on ``n`` samples from the population spectrum
    (module docstring): the gradient-descent curves and the two kernels from the contour of
    :mod:`theory._dynamics_contour`, the Volterra recursion run on the contour nodes (``O(steps x nodes)``), the
    ``Lambda``-weighted kernel as a quadratic form in the two-point matrix (``O(steps x nodes^2)``).

    The stability threshold is the deterministic kernel mass ``(lr/B)(1/2 pi i) oint ... < 1``; it is evaluated
    on the contour as ``(lr^2/B) sum_j K(j)`` (geometric sums in closed form).

    Raises:
        ValueError: unstable ``lr`` (naming the threshold), bad input.
    """
    lr = float(check_positive(lr, "lr"))
    batch = check_positive_int(batch, "batch")
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    n = float(check_positive(n, "n"))
    k = steps_array(steps)
    K = int(k.max())
    C = gd_contour(system, n, noise, lr, K, ridge, factor=2.0)
    z, q = C.z, C.q
    rho = 1.0 - lr * (z + ridge)
    mass = _de_mass(C, lr, batch, ridge)
    if not mass < 1:
        thr = _de_threshold(C, batch, ridge)
        raise ValueError(f"lr = {lr:g} is beyond the stability threshold of multi-pass SGD (batch {batch}, n = "
                         f"{n:g}): lr must be < {thr:.6g} (the kernel mass {mass:.4g} must be < 1)")
    steps_all = np.arange(K + 1, dtype=float)
    logrho = np.log(rho)
    pw = np.exp(steps_all[:, None] * logrho[None, :])  # rho^k, (K+1, N)
    r = pw if ridge == 0 else (ridge + z * pw) / (z + ridge)
    test_gd, train_gd = C.test_train(r)
    # K1 as a sum of exponentials: K1(j) = sum_nodes c_q rho_q^{2j}
    c1 = -(q * z * C.df1)
    # K2(j) = (q rho^j)^T P (q rho^j)
    K2 = C.sigma_weighted(pw)  # (K+1,)
    r2 = rho * rho
    coef = lr * lr / batch
    S = np.zeros(z.size, dtype=complex)
    tau = np.empty(K + 1)
    for t in range(K + 1):
        tau[t] = train_gd[t] + coef * float((c1 @ S).real)
        S = r2 * S + tau[t]
    test = np.empty(k.size)
    for i, kk in enumerate(k):
        # sum_{s<k} K2(k-1-s) tau_s
        test[i] = test_gd[kk] + coef * float(K2[:kk][::-1] @ tau[:kk]) if kk > 0 else test_gd[0]
    return Curve("sgd", "step", k, test, tau[k], {"lr": lr, "batch": batch, "ridge": ridge, "n": n,
                                                   "noise": noise, "kernel_mass": mass})


def _de_mass(C, lr: float, batch: int, ridge: float) -> float:
    """``(lr^2/B) sum_{j>=0} K1(j)`` with the geometric sums in closed form on the nodes,
    ``-(lr/B) (1/2 pi i) oint z df1(kappa(-z)) / ((z + ridge)(2 - lr (z + ridge))) dz``; ``inf`` when the pole
    ``z = 2/lr - ridge`` is not beyond the contour (then full-batch gradient descent itself may diverge)."""
    z = C.z
    if 2.0 / lr - ridge <= C.right:
        return math.inf
    g = z + ridge
    zg = 1.0 if ridge == 0 else z / g
    vals = -(C.q * zg * C.df1) / (2.0 - lr * g)
    return float((lr / batch * np.sum(vals)).real)


def _de_threshold(C, batch: int, ridge: float) -> float:
    hi = 2.0 / (C.right + ridge) * (1 - 1e-9)
    if _de_mass(C, hi, batch, ridge) < 1:
        return hi
    return float(scipy.optimize.brentq(lambda e: _de_mass(C, e, batch, ridge) - 1.0, 1e-12, hi))
