r"""Monte Carlo simulation of linear ridge regression (Hastie, Montanari, Rosset & Tibshirani, arXiv:1903.08560).

The model of :class:`rmt.problem.LinearProblem` and docs/models.md §2:

* ``x = Sigma^{1/2} z`` in dimension ``d``, ``Sigma`` diagonal with the eigenvalues of ``spectrum`` (atom ``k`` on
  :func:`montecarlo._engine.atom_counts` coordinates; ``None`` = identity);
* ``y = x.beta + eps``, ``eps ~ N(0, noise)``; ``beta`` redrawn every repetition with ``|beta|^2 = signal``
  exactly, a fraction ``signal_weights[k]`` of it in the eigenspace of atom ``k`` (isotropic inside each);
* ``beta_hat = (X^T X / n + ridge I)^{-1} X^T y / n``; at ``ridge = 0`` the min-norm least-squares solution
  ``X^+ y`` (primal ``d x d`` solve when ``d <= n``, dual ``n x n`` solve ``X^T (X X^T / n + ridge)^{-1} y / n``
  otherwise: the cheaper one, and the one that exists at zero ridge);
* test error = the conditional risk ``(beta_hat - beta)^T Sigma_* (beta_hat - beta)``, computed exactly (no test
  sample); ``Sigma_* = Sigma`` unless the spectrum has distinct test eigenvalues. Excess: no test noise.

Sources ``X`` and ``eps`` in a crossed ``k_X x k_eps`` design give the unbiased ``bias`` (of the average
predictor), ``variance`` and its terms ``X``, ``eps``, ``Xeps``. HMRT's decomposition conditional on ``X`` is in the
extras: ``conditional_bias = E_X |E[beta_hat | X] - beta|^2_Sigma`` (exact per ``X``, since
``E[beta_hat | X]`` is the noiseless fit) and ``conditional_variance = V_eps + V_Xeps`` (the noise-driven part).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from rmt.montecarlo import _engine as eng
from rmt.montecarlo.results import SimulationResult, decompose, make_result
from rmt.numerics import Timer, jax_float64
from rmt.problem import LinearProblem

__all__ = ["simulate_linear"]

_SOURCES = ("X", "eps")
_EXTRAS = ("conditional_bias", "conditional_variance")


@dataclass(frozen=True)
class _Config:
    n: int
    d: int
    trials: tuple[int, int]
    solver: str
    noisy: bool
    dtype: str
    counts: tuple[int, ...]  # coordinates per spectral atom


def _beta(cfg: _Config, g: jax.Array, signal: jax.Array, weights: jax.Array) -> jax.Array:
    """``beta`` with ``|beta|^2 = signal`` and a fraction ``weights[k]`` of it on the coordinates of atom ``k``."""
    parts, start = [], 0
    for k, c in enumerate(cfg.counts):
        parts.append(eng.unit_norm_rows(g[start:start + c], jnp.sqrt(signal * weights[k])))
        start += c
    return jnp.concatenate(parts)


@functools.lru_cache(maxsize=64)
def _rep_fn(cfg: _Config) -> Callable:
    n, d = cfg.n, cfg.d
    k_x, k_e = cfg.trials

    def rep(key: jax.Array, prm: dict[str, jax.Array]) -> dict[str, jax.Array]:
        dt = jnp.dtype(cfg.dtype)
        requests = [("beta", 1, (d,)), ("X", k_x, (n, d))]
        if cfg.noisy:
            requests.append(("eps", k_e, (n,)))
        z = eng.normal_draws(key, requests, dt)
        beta = _beta(cfg, z["beta"][0], prm["signal"], prm["beta_weights"])
        x = z["X"] * prm["train_sd"]  # (kX, n, d)
        labels = eng.label_columns(x @ beta, z["eps"] * prm["noise_sd"] if cfg.noisy else None)  # (kX, n, c)

        def fit(xi, yi):
            ridge = prm["ridge"]
            if cfg.solver == "primal":
                chol = jnp.linalg.cholesky(xi.T @ xi / n + ridge * jnp.eye(d, dtype=dt))
                coef = jax.scipy.linalg.cho_solve((chol, True), xi.T @ yi / n)
            else:
                chol = jnp.linalg.cholesky(xi @ xi.T / n + ridge * jnp.eye(n, dtype=dt))
                coef = xi.T @ jax.scipy.linalg.cho_solve((chol, True), yi) / n
            return coef, yi - xi @ coef

        coef, res = jax.vmap(fit)(x, labels)  # (kX, d, c), (kX, n, c)
        train = jnp.mean(eng.combine_columns(res, cfg.noisy) ** 2, axis=1)  # (kX, kE)
        bhat = eng.combine_columns(coef, cfg.noisy)  # (kX, d, kE)
        # coordinates whose mean square is the risk under Sigma_*: sqrt(d) Sigma_*^{1/2} (beta_hat - beta)
        scale = prm["test_sd"] * math.sqrt(d)
        resid = jnp.moveaxis((bhat - beta[None, :, None]) * scale[None, :, None], 1, 2)  # (kX, kE, d)
        clean = (coef[..., 0] - beta) * prm["test_sd"]
        return {"resid": resid, "train": train, "conditional_bias": jnp.mean(jnp.sum(clean * clean, axis=-1))}

    return rep


@jax_float64
def simulate_linear(problem: LinearProblem, *, trials: Any = (4, 2), reps: int = 8, seed: int = 0,
                    dtype: Any = "float64", devices: int | None = None,
                    progress: Callable[[int], None] | None = None) -> SimulationResult:
    r"""Simulate linear ridge regression and estimate its risk, bias and variance (HMRT, arXiv:1903.08560).

    Args:
        problem: a scalar :class:`rmt.problem.LinearProblem` (``n`` and ``d`` rounded to integers).
        trials: the crossed design ``(k_X, k_eps)``, each ``>= 2`` (``k_eps`` ignored at zero noise).
        reps: independent repetitions (new ``beta`` each).
        seed: non-negative integer seed (bit-identical results for the same seed and machine).
        dtype: ``"float64"`` or ``"float32"``.
        devices: devices to shard repetitions over (default: all visible).
        progress: called with the number of finished repetitions.

    Returns:
        :class:`montecarlo.results.SimulationResult` (model ``"linear"``, sources ``("X", "eps")``, ``n_test = 0``:
        the test expectation is exact) with extras ``conditional_bias`` and ``conditional_variance``
        (HMRT's ``B`` and ``V``).

    Example:
        >>> from rmt.problem import LinearProblem
        >>> r = simulate_linear(LinearProblem(n=60, d=30, ridge=0.0, noise=1.0), reps=2)
        >>> r.fine_grained["eps"] == r.fine_grained["eps"]  # the X, eps, Xeps terms
        True
    """
    timer = Timer()
    if not isinstance(problem, LinearProblem):
        raise ValueError(f"problem must be an rmt.problem.LinearProblem, got {type(problem).__name__}")
    n, d = problem.integer_sizes()
    noisy = float(problem.noise) > 0
    k = eng.check_trials(trials, _SOURCES, inert=() if noisy else ("eps",))
    reps = eng.check_count(reps, "reps")
    seed = eng.check_seed(seed)
    dtype = eng.resolve_dtype(dtype)
    ridge = float(problem.ridge)
    solver = "primal" if d <= n else "dual"
    if ridge == 0 and d == n:
        solver = "primal"  # X^T X is invertible almost surely, though ill-conditioned: the risk is infinite
    counts = eng.atom_counts(problem.eigen_weights, d) if problem.spectrum is not None else np.array([d])
    train_var, test_var = eng.diagonal_covariances(problem.spectrum, d)
    cfg = _Config(n=n, d=d, trials=k, solver=solver, noisy=noisy, dtype=dtype, counts=tuple(int(c) for c in counts))
    prm = {"ridge": jnp.asarray(ridge, dtype), "noise_sd": jnp.asarray(math.sqrt(float(problem.noise)), dtype),
           "signal": jnp.asarray(float(problem.signal), dtype),
           "beta_weights": jnp.asarray(problem.signal_weights, dtype),
           "train_sd": jnp.asarray(np.sqrt(train_var), dtype), "test_sd": jnp.asarray(np.sqrt(test_var), dtype)}
    size = min(n, d)
    rep_flops = k[0] * (2.0 * n * d * size + size**3 / 3.0 + 4.0 * n * d * (1 + k[1]))
    raw = eng.run_repetitions(_rep_fn(cfg), prm, seed=seed, reps=reps, rep_flops=rep_flops,
                              devices=devices, progress=progress)
    eng.raise_if_nonfinite(raw, ("resid", "train"), "linear ridge simulation",
                           "use float64 or a positive ridge near d = n")
    est = decompose(raw["resid"].astype(np.float64), _SOURCES, inert=() if noisy else ("eps",))
    samples = dict(est)
    samples["train_error"] = raw["train"].astype(np.float64).mean(axis=(1, 2))
    samples["conditional_bias"] = raw["conditional_bias"].astype(np.float64)
    samples["conditional_variance"] = est["eps"] + est["Xeps"]
    options = {"model": "linear", "problem": problem.as_dict(), "trials": list(k), "solver": solver,
               "dtype": dtype}
    return make_result("linear", samples, sources=_SOURCES, trials=k, extras=_EXTRAS, reps=reps, seed=seed,
                       n_test=0, config=options, elapsed_s=timer.elapsed)
