r"""Monte Carlo of feature transfer: ridge regression on pretrained linear features of sampled data, with tasks drawn
from a prior (the spectrum-only setting of Li, Sen & Adlam, arXiv:2404.12481).

One replicate draws a task ``beta ~ N(0, diag(omega))`` with ``omega_i = w_i / lambda_i`` (so mode ``i`` carries
target power ``w_i`` on average), ``n`` inputs ``x ~ N(0, diag(lambda))``, labels ``y = X beta + eps`` with
``eps ~ N(0, noise I)``, the features ``z_i = b_i x_i`` of the modes with ``b_i > 0``, and fits
``w_hat = argmin |y - Z w|^2 + ridge |w|^2`` (sum-convention ridge; primal form when the number ``K`` of kept
features is at most ``n``, dual form otherwise). With ``f_hat(x) = z(x) . w_hat = sum_i b_i w_hat_i x_i`` and the
linear map ``f_hat = A_X y``, every quantity is computed exactly over the test distribution:

* ``test_error = sum_i lambda_i (b_i w_hat_i - beta_i)^2`` (excess, dropped modes contribute ``lambda_i beta_i^2``);
* the noiseless error ``e0`` of the fit to ``X beta`` (its mean is ``bias + V_X``);
* ``V_eps``: ``E_eps`` of the noise part in closed form, ``noise * sum_i c_i sum_j M_ij^2`` with
  ``M = (Z^T Z + ridge)^-1 Z^T`` and ``c_i = b_i^2 lambda_i`` (its mean over datasets is ``E_X Var_eps f_hat``);
* ``bias = E_beta |E_X f_hat - f*|^2 = sum_i w_i (1 - E_X S_ii)^2`` (``E_X A_X`` is diagonal because the law of
  ``X`` is invariant under sign flips of single coordinates; ``S = M Z`` on kept modes, 0 on dropped ones),
  estimated without bias by the U-statistic of :func:`rmt.montecarlo.eigen.u_statistic_sq_norm` over datasets.

``V_X = mean(e0) - bias`` and ``variance = test_error - bias``; standard errors over independent replicates (for
the two differences, the root sum of squares of the two standard errors, which is conservative since the two
estimates are positively correlated). JAX in float64, ``jit`` + ``vmap`` over fixed-size batches of replicates.
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
from rmt.numerics import jax_float64
from rmt.montecarlo.eigen import u_statistic_sq_norm
from rmt.transfer_problem import TransferProblem

__all__ = ["TransferSimulation", "simulate_transfer"]

KEYS = ("test_error", "bias", "variance", "V_X", "V_eps")


@dataclass(frozen=True)
class TransferSimulation(Tabular):
    """Estimates and standard errors (keys ``test_error``, ``bias``, ``variance``, ``V_X``, ``V_eps``)."""

    values: Mapping[str, float]
    stderr: Mapping[str, float]
    replicates: int
    seed: int
    kept: int
    n: float | None = None
    ridge: float | None = None
    noise: float | None = None

    def nested_records(self) -> list[dict[str, Any]]:
        """One record: ``model``, the coordinates ``n``, ``ridge``, ``noise`` (those of the theory's rows, so that
        the two merge on them) and :meth:`as_dict` (flat rows by :meth:`records`)."""
        coords = {k: getattr(self, k) for k in ("n", "ridge", "noise") if getattr(self, k) is not None}
        return [{"model": "transfer", **coords, **self.as_dict()}]

    def as_dict(self) -> dict[str, Any]:
        v, s = self.values, self.stderr
        return {"test_error": v["test_error"], "bias": v["bias"], "variance": v["variance"],
                "fine_grained": {"X": v["V_X"], "eps": v["V_eps"]},
                "stderr": {"test_error": s["test_error"], "bias": s["bias"], "variance": s["variance"],
                           "fine_grained": {"X": s["V_X"], "eps": s["V_eps"]}},
                "kept_features": self.kept, "replicates": self.replicates, "seed": self.seed}


def _one(key, sqrt_lam, sqrt_omega, kept, b_kept, n: int, ridge, noise):
    kb, kx, ke = jax.random.split(key, 3)
    d = sqrt_lam.size
    beta = sqrt_omega * jax.random.normal(kb, (d,))
    X = jax.random.normal(kx, (n, d)) * sqrt_lam
    f = X @ beta
    y = f + jnp.sqrt(noise) * jax.random.normal(ke, (n,))
    Z = X[:, kept] * b_kept
    K = b_kept.size
    if K <= n:
        M = jnp.linalg.solve(Z.T @ Z + ridge * jnp.eye(K), Z.T)
    else:
        M = jnp.linalg.solve(Z @ Z.T + ridge * jnp.eye(n), Z).T
    lam = sqrt_lam * sqrt_lam
    lam_k = lam[kept]
    dropped = (lam * beta * beta).sum() - (lam_k * beta[kept] ** 2).sum()
    u = b_kept * (M @ y)
    u0 = b_kept * (M @ f)
    test = (lam_k * (u - beta[kept]) ** 2).sum() + dropped
    e0 = (lam_k * (u0 - beta[kept]) ** 2).sum() + dropped
    veps = noise * ((b_kept * b_kept * lam_k) * (M * M).sum(1)).sum()
    s_diag = (M * Z.T).sum(1)
    one_minus = jnp.ones(d).at[kept].set(1.0 - s_diag)
    return test, e0, veps, one_minus


@partial(jax.jit, static_argnames=("n",))
def _batch(keys, sqrt_lam, sqrt_omega, kept, b_kept, n: int, ridge, noise):
    return jax.vmap(lambda k: _one(k, sqrt_lam, sqrt_omega, kept, b_kept, n, ridge, noise))(keys)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


@jax_float64
def simulate_transfer(eigenvalues: Any, target_power: Any = None, features: Any = None, n: int | None = None,
                      ridge: float | None = None, noise: float = 0.0, *, trials: int = 40, seed: int = 0,
                      batch: int = 8) -> TransferSimulation:
    r"""Simulate ridge regression on the features ``z_i = b_i x_i`` (module docstring).

    Two call forms: ``simulate_transfer(problem, trials=..., seed=...)`` with a :class:`rmt.TransferProblem` (the
    object :func:`rmt.theory.transfer.transfer_theory` takes), or the arrays and numbers one by one.

    Args:
        eigenvalues: ``lambda_i > 0``, or a :class:`rmt.TransferProblem` (then no other positional argument).
        target_power: ``w_i >= 0`` (prior power per mode). features: ``b_i >= 0``.
        n: samples (integer). ridge: sum-convention ridge ``>= 0``. noise: label-noise variance ``>= 0``.
        trials: independent replicates (``>= 3``; each draws a task, a dataset and label noise). seed: PRNG seed.

    Raises:
        ValueError: bad input (named), or ``ridge = 0`` with as many kept features as samples (the divergence).
        FloatingPointError: a singular system produced non-finite values.
    """
    if isinstance(eigenvalues, TransferProblem):
        given = [k for k, v in (("target_power", target_power), ("features", features), ("n", n),
                                ("ridge", ridge)) if v is not None] + (["noise"] if noise != 0.0 else [])
        if given:
            raise ValueError(f"{given[0]}: give a TransferProblem alone (it holds {', '.join(given)})")
        p = eigenvalues
        eigenvalues, target_power, features, n, ridge, noise = (p.eigenvalues, p.target_power, p.features, p.n,
                                                                p.ridge, p.noise)
    else:
        for k, v in (("target_power", target_power), ("features", features), ("n", n), ("ridge", ridge)):
            if v is None:
                raise ValueError(f"{k} is required (or pass a TransferProblem as the first argument)")
    lam = check_positive(np.atleast_1d(np.asarray(eigenvalues, dtype=float)), "eigenvalues").ravel()
    w = check_nonnegative(np.atleast_1d(np.asarray(target_power, dtype=float)), "target_power").ravel()
    b = check_nonnegative(np.atleast_1d(np.asarray(features, dtype=float)), "features").ravel()
    if not (w.shape == lam.shape == b.shape):
        raise ValueError(f"eigenvalues, target_power and features must have equal lengths, got {lam.size}, "
                         f"{w.size}, {b.size}")
    n = check_positive_int(n, "n")
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    R = check_count(trials, "trials", minimum=3)
    batch = check_positive_int(batch, "batch")
    kept = np.flatnonzero(b > 0)
    if kept.size == 0:
        raise ValueError("features must keep at least one mode (some b_i > 0)")
    if ridge == 0 and kept.size == n:
        raise ValueError("ridge = 0 with as many kept features as samples is the divergence n = K")
    args = (jnp.asarray(np.sqrt(lam)), jnp.asarray(np.sqrt(w / lam)), jnp.asarray(kept), jnp.asarray(b[kept]))
    keys = jax.random.split(jax.random.PRNGKey(seed), R)
    bs = min(batch, R)
    parts = []
    for s in range(0, R, bs):
        kb = keys[s:s + bs]
        pad = bs - kb.shape[0]
        if pad:
            kb = jnp.concatenate([kb, keys[:pad]])
        out = _batch(kb, *args, n, ridge, noise)
        parts.append([np.asarray(a)[:bs - pad] for a in out])
    test, e0, veps, one_minus = (np.concatenate([p[i] for p in parts]) for i in range(4))
    if not all(np.all(np.isfinite(a)) for a in (test, e0, veps, one_minus)):
        raise FloatingPointError("transfer simulation produced non-finite values (a singular system: use a "
                                 "positive ridge or n away from the number of kept features)")
    vals, ses = {}, {}
    vals["test_error"], ses["test_error"] = _mean_se(test)
    vals["V_eps"], ses["V_eps"] = _mean_se(veps)
    vals["bias"], ses["bias"] = u_statistic_sq_norm(one_minus, w)
    m0, s0 = _mean_se(e0)
    vals["V_X"], ses["V_X"] = m0 - vals["bias"], math.hypot(s0, ses["bias"])
    vals["variance"] = vals["test_error"] - vals["bias"]
    ses["variance"] = math.hypot(ses["test_error"], ses["bias"])
    return TransferSimulation(values=vals, stderr=ses, replicates=R, seed=seed, kept=int(kept.size), n=float(n),
                              ridge=ridge, noise=noise)
