r"""Monte Carlo for the Hermite eigenstructure ansatz: actual kernel ridge regression on sampled Gaussian data.

Data ``x ~ N(0, diag(gammas))``; target ``f*(x) = sum_alpha v_alpha prod_i h_{alpha_i}(x_i / sqrt(gamma_i))`` with
the normalised probabilists' Hermite polynomials ``h_k = He_k / sqrt(k!)`` (``He_{k+1} = z He_k - k He_{k-1}``);
labels ``y = f*(x) + eps``, ``Var eps = noise``; KRR with the sum-convention ridge,
``f_hat(x) = k(x, X)(K + ridge I)^-1 y``, with the exact kernels (no ansatz):

* ``linear`` ``x . x'``; ``gaussian`` ``exp(-|x - x'|^2 / 2 s^2)``; ``laplace`` ``exp(-|x - x'| / s)``;
* ``relu-nngp`` ``|x||x'| kappa_1(cos theta)``, ``relu-ntk`` ``|x||x'| kappa_1(cos theta) + (x . x')
  kappa_0(cos theta)`` with ``kappa_1(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho)/(2 pi)`` and
  ``kappa_0(rho) = (pi - arccos rho)/(2 pi)`` (Cho & Saul's arc-cosine kernels; the infinite-width NNGP and NTK of a
  two-layer ReLU network with standard Gaussian first-layer weights).

Per replicate, the excess test error ``mean_test (f_hat - f*)^2`` on ``n_test`` fresh inputs and, for every target
monomial, its learned fraction ``<f_hat, h_alpha> / v_alpha`` (test-set average), an estimate of the learnability.
Means and standard errors over independent replicates; JAX float64 (:func:`rmt.numerics.float64_jax` in scope).
Never imports :mod:`rmt.theory`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from rmt.records import Tabular
from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.montecarlo._engine import check_count
from rmt.numerics import float64_jax
from rmt.hea_problem import HEA_KERNELS, HEAProblem

__all__ = ["HEASimulation", "kernel_matrix", "simulate_hea"]

KERNELS = HEA_KERNELS  # defined once, beside the problem


@dataclass(frozen=True)
class HEASimulation(Tabular):
    """``test_error`` (mean, stderr) and ``learnability[index]`` (mean, stderr) over ``replicates``."""

    test_error: float
    test_error_stderr: float
    learnability: Mapping[tuple[int, ...], float]
    learnability_stderr: Mapping[tuple[int, ...], float]
    replicates: int
    n_test: int
    seed: int
    n: float | None = None
    ridge: float | None = None
    noise: float | None = None

    def nested_records(self) -> list[dict[str, Any]]:
        """One record: ``model``, the coordinates ``n``, ``ridge``, ``noise`` (those of the theory's rows),
        ``test_error``, ``learnability`` (keyed by the multi-index as text) and ``stderr``."""
        key = lambda idx: ",".join(str(i) for i in idx)  # noqa: E731
        coords = {k: getattr(self, k) for k in ("n", "ridge", "noise") if getattr(self, k) is not None}
        return [{"model": "hea", **coords, "test_error": self.test_error,
                 "learnability": {key(k): v for k, v in self.learnability.items()},
                 "stderr": {"test_error": self.test_error_stderr,
                            "learnability": {key(k): v for k, v in self.learnability_stderr.items()}},
                 "replicates": self.replicates, "n_test": self.n_test, "seed": self.seed}]


def kernel_matrix(kernel: str, X: Any, Y: Any, bandwidth: float = 1.0) -> jax.Array:
    """The exact kernel matrix ``k(X_i, Y_j)`` (module docstring)."""
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    X, Y = jnp.asarray(X), jnp.asarray(Y)
    dot = X @ Y.T
    if kernel == "linear":
        return dot
    nx = (X * X).sum(1)[:, None]
    ny = (Y * Y).sum(1)[None, :]
    if kernel in ("gaussian", "laplace"):
        sq = jnp.maximum(nx + ny - 2 * dot, 0.0)
        return jnp.exp(-sq / (2 * bandwidth ** 2)) if kernel == "gaussian" else jnp.exp(-jnp.sqrt(sq) / bandwidth)
    norms = jnp.sqrt(nx * ny)
    rho = jnp.clip(dot / norms, -1.0, 1.0)
    th = jnp.arccos(rho)
    k1 = (jnp.sqrt(1 - rho * rho) + (jnp.pi - th) * rho) / (2 * jnp.pi)
    out = norms * k1
    if kernel == "relu-ntk":
        out = out + dot * (jnp.pi - th) / (2 * jnp.pi)
    return out


def _hermite_features(Z: jax.Array, alphas: jax.Array, kmax: int) -> jax.Array:
    """``prod_i h_{alpha_i}(Z_i)`` for every row of ``Z`` and every exponent vector: shape ``(n, T)``."""
    table = [jnp.ones_like(Z), Z]
    for k in range(1, kmax):
        table.append(Z * table[k] - k * table[k - 1])
    He = jnp.stack(table[:kmax + 1], axis=-1)  # (n, d, K+1)
    norm = jnp.asarray([math.sqrt(math.factorial(k)) for k in range(kmax + 1)])
    h = He / norm
    # gather h[n, i, alpha[t, i]] -> (n, T, d)
    g = jnp.take_along_axis(h[:, None, :, :], alphas[None, :, :, None], axis=-1)[..., 0]
    return g.prod(-1)


@partial(jax.jit, static_argnames=("kernel", "n", "n_test", "kmax"))
def _one(key, sqrt_g, alphas, coefs, kernel: str, n: int, n_test: int, kmax: int, ridge, noise, bandwidth):
    kx, kt, ke = jax.random.split(key, 3)
    d = sqrt_g.size
    Zx = jax.random.normal(kx, (n, d))
    Zt = jax.random.normal(kt, (n_test, d))
    Hx = _hermite_features(Zx, alphas, kmax)
    Ht = _hermite_features(Zt, alphas, kmax)
    y = Hx @ coefs + jnp.sqrt(noise) * jax.random.normal(ke, (n,))
    X, Xt = Zx * sqrt_g, Zt * sqrt_g
    K = kernel_matrix(kernel, X, X, bandwidth)
    a = jnp.linalg.solve(K + ridge * jnp.eye(n), y)
    pred = kernel_matrix(kernel, Xt, X, bandwidth) @ a
    err = pred - Ht @ coefs
    proj = (Ht * pred[:, None]).mean(0)
    return (err * err).mean(), proj


def simulate_hea(kernel: str | HEAProblem, gammas: Any = None, target: Mapping[Any, float] | None = None,
                 n: int | None = None, ridge: float | None = None, noise: float = 0.0, *, bandwidth: float = 1.0,
                 trials: int = 10, n_test: int = 2000, seed: int = 0) -> HEASimulation:
    r"""Kernel ridge regression on ``n`` samples of ``N(0, diag(gammas))`` (module docstring).

    Two call forms: ``simulate_hea(problem, trials=..., n_test=..., seed=...)`` with a :class:`rmt.HEAProblem` (the
    object :func:`rmt.theory.hea.hea_theory` takes), or the kernel, covariance, target and numbers one by one.

    Args:
        kernel: one of ``linear``, ``gaussian``, ``laplace``, ``relu-nngp``, ``relu-ntk``; or a
            :class:`rmt.HEAProblem` (then no other positional argument, nor ``bandwidth``).
        gammas: covariance eigenvalues ``> 0``. target: ``{sorted coordinate tuple: coefficient}``.
        n: samples. ridge: sum-convention ridge ``>= 0``. noise: label-noise variance. bandwidth: ``s``.
        trials: replicates (``>= 2``). n_test: test points per replicate. seed: PRNG seed.

    Raises:
        ValueError: bad input (named).
    """
    if isinstance(kernel, HEAProblem):
        given = [k for k, v in (("gammas", gammas), ("target", target), ("n", n), ("ridge", ridge))
                 if v is not None] + (["noise"] if noise != 0.0 else []) + (["bandwidth"] if bandwidth != 1.0 else [])
        if given:
            raise ValueError(f"{given[0]}: give an HEAProblem alone (it holds {', '.join(given)})")
        p = kernel
        kernel, gammas, target, n, ridge, noise, bandwidth = (p.kernel, p.gammas, p.target, p.n, p.ridge, p.noise,
                                                              p.bandwidth)
    else:
        for k, v in (("gammas", gammas), ("target", target), ("n", n), ("ridge", ridge)):
            if v is None:
                raise ValueError(f"{k} is required (or pass an HEAProblem as the first argument)")
    g = check_positive(np.atleast_1d(np.asarray(gammas, dtype=float)), "gammas").ravel()
    d = g.size
    n = check_positive_int(n, "n")
    n_test = check_positive_int(n_test, "n_test")
    R = check_count(trials, "trials", minimum=2)
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    bw = float(check_positive(bandwidth, "bandwidth"))
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")
    keys_ = [tuple(sorted(int(i) for i in k)) for k in target]
    if not keys_:
        raise ValueError("target must contain at least one monomial")
    alphas = np.zeros((len(keys_), d), dtype=np.int32)
    for t, k in enumerate(keys_):
        for i in k:
            if not 0 <= i < d:
                raise ValueError(f"target multi-index {k!r} has a coordinate outside 0..{d - 1}")
            alphas[t, i] += 1
    coefs = np.array([float(v) for v in target.values()])
    kmax = max(1, int(alphas.max()))
    tests, projs = [], []
    with float64_jax():
        keys = jax.random.split(jax.random.PRNGKey(seed), R)
        for r in range(R):
            te, pr = _one(keys[r], jnp.asarray(np.sqrt(g)), jnp.asarray(alphas), jnp.asarray(coefs), kernel, n,
                          n_test, kmax, ridge, noise, bw)
            tests.append(float(te))
            projs.append(np.asarray(pr))
    tests_a = np.array(tests)
    if not np.all(np.isfinite(tests_a)):
        raise FloatingPointError("HEA simulation produced non-finite values (use a positive ridge)")
    P = np.array(projs) / np.where(coefs != 0, coefs, np.nan)
    learn = {k: float(np.nanmean(P[:, t])) for t, k in enumerate(keys_)}
    learn_se = {k: float(np.nanstd(P[:, t], ddof=1) / math.sqrt(R)) for t, k in enumerate(keys_)}
    return HEASimulation(test_error=float(tests_a.mean()), test_error_stderr=float(tests_a.std(ddof=1) / math.sqrt(R)),
                         learnability=learn, learnability_stderr=learn_se, replicates=R, n_test=n_test, seed=seed,
                         n=float(n), ridge=ridge, noise=noise)
