r"""Empirical eigenvalue spectra of the random matrices whose limits :mod:`rmt` predicts.

* :func:`wishart_eigenvalues`: ``X X^T / n`` for ``X`` (``p x n``) with i.i.d. ``N(0, 1)`` entries, whose spectrum
  tends to the Marchenko-Pastur law ``MP_r`` with ``r = p / n`` (:mod:`rmt.stieltjes` convention, atom
  ``(1 - 1/r)_+`` at zero included).
* :func:`rf_gram_eigenvalues`: the random-feature kernel ``K = F^T F / n1`` (``m x m``, ``F = sigma(W X / sqrt n0)``
  centred as in :mod:`montecarlo.random_features`), whose limit is Pennington & Worah's law
  (docs/models.md §3.7).
* :func:`empirical_stieltjes`: ``(1/p) sum_i 1 / (lambda_i + t)`` per repetition, to compare with ``G_r(t)``.

Draws use the streams of :mod:`montecarlo._engine` (``X`` for data, ``P`` for weights), one repetition per key.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from rmt.montecarlo import _engine as eng
from rmt._validation import check_nonnegative, check_positive_int
from rmt.activations import Activation
from rmt.numerics import jax_float64
from rmt.problem import Problem

__all__ = ["empirical_stieltjes", "rf_gram_eigenvalues", "wishart_eigenvalues"]


@functools.lru_cache(maxsize=32)
def _wishart_fn(p: int, n: int, dtype: str):
    def rep(key, prm):
        x = eng.normal_draws(key, [("X", 1, (p, n))], jnp.dtype(dtype))["X"][0]
        return {"eig": jnp.linalg.eigvalsh(x @ x.T / n)}

    return rep


@jax_float64
def wishart_eigenvalues(p: int, n: int, *, reps: int = 1, seed: int = 0, dtype: Any = "float64") -> np.ndarray:
    """Eigenvalues (ascending) of ``X X^T / n``, ``X`` of shape ``(p, n)`` i.i.d. ``N(0, 1)``; shape ``(reps, p)``.

    Raises:
        ValueError: non-positive sizes or repetitions, negative seed, unknown dtype.
    """
    p = check_positive_int(p, "p")
    n = check_positive_int(n, "n")
    reps = eng.check_count(reps, "reps")
    fn = _wishart_fn(p, n, eng.resolve_dtype(dtype))
    out = eng.run_repetitions(fn, {}, seed=eng.check_seed(seed), reps=reps, rep_flops=2.0 * p * p * n + 9.0 * p**3)
    return out["eig"].astype(np.float64)


@functools.lru_cache(maxsize=32)
def _gram_fn(n0: int, n1: int, m: int, activation: Activation, dtype: str):
    act = activation.jax_fn()

    def rep(key, prm):
        z = eng.normal_draws(key, [("P", 1, (n1, n0)), ("X", 1, (m, n0))], jnp.dtype(dtype))
        feats = act(z["X"][0] @ z["P"][0].T / math.sqrt(n0)) - prm["mu0"]  # (m, n1)
        return {"eig": jnp.linalg.eigvalsh(feats @ feats.T / n1)}

    return rep


@jax_float64
def rf_gram_eigenvalues(problem: Problem, *, reps: int = 1, seed: int = 0, center: bool = True,
                        dtype: Any = "float64") -> np.ndarray:
    """Eigenvalues (ascending) of the random-feature kernel ``K = F^T F / n1`` (``m x m``) for isotropic inputs;
    shape ``(reps, m)``. ``mu0`` centring as in :func:`montecarlo.random_features.simulate_rf`.

    Raises:
        ValueError: a non-scalar problem or bad arguments.
    """
    if not isinstance(problem, Problem) or problem.covariance is not None:
        raise ValueError("problem must be an rmt.problem.Problem with isotropic inputs (covariance=None)")
    n0, n1, m = problem.integer_sizes()
    reps = eng.check_count(reps, "reps")
    mu0 = eng.centering_mean(problem.activation) if center else 0.0
    fn = _gram_fn(n0, n1, m, problem.activation, eng.resolve_dtype(dtype))
    out = eng.run_repetitions(fn, {"mu0": jnp.asarray(mu0)}, seed=eng.check_seed(seed), reps=reps,
                              rep_flops=2.0 * m * n0 * n1 + 2.0 * m * m * n1 + 9.0 * m**3)
    return out["eig"].astype(np.float64)


def empirical_stieltjes(eigenvalues: Any, t: Any) -> np.ndarray:
    """``mean_i 1 / (lambda_i + t)`` over the last axis of ``eigenvalues`` (``= m(-t)`` of the empirical spectral
    measure), for ``t >= 0`` broadcast against the leading axes."""
    lam = np.asarray(eigenvalues, dtype=float)
    t = check_nonnegative(t, "t")
    return np.mean(1.0 / (lam[..., :, None] + np.atleast_1d(t)), axis=-2).reshape(lam.shape[:-1] + np.shape(t))
