r"""Monte Carlo mirror of :mod:`theory.eigen`: ridge regression on Gaussian features with a prescribed spectrum.

The simulated model is the one the eigenframework is exact for asymptotically (docs/models.md §6.1,
§6.6; Simon et al. arXiv:2110.03922, Simon, Karkada, Ghosh & Belkin arXiv:2311.14646):

* inputs ``x ~ N(0, diag(lambda))`` in ``M`` dimensions (one coordinate per mode, multiplicities expanded); the
  linear kernel ``K(x, x') = x.x'`` then has Mercer eigenvalues ``lambda_i`` and eigenfunctions
  ``phi_i = x_i / sqrt(lambda_i)``;
* target ``f*(x) = w*.x`` with ``w*_i = v_i / sqrt(lambda_i)`` and ``v_i = +sqrt(v_i^2)``; labels
  ``y = f*(x) + xi``, ``xi ~ N(0, noise)``;
* KRR with the linear kernel and the sum-convention ridge: ``w_hat = X^T (X X^T + ridge I_n)^-1 y``
  (equivalently ``(X^T X + ridge I_M)^-1 X^T y``; the smaller Gram matrix is used);
* RF: ``p`` random features ``g(x) = W x``, ``W_ji ~ N(0, 1)`` (so ``E_W g(x).g(x')/p = x.x'``), kernel
  ``K_hat = G G^T / p`` with ``G = X W^T``, predictor ``K_hat(x, X)(K_hat + ridge I)^-1 y = x.w_hat`` with
  ``w_hat = W^T (G^T G + p ridge I)^-1 G^T y``.

Every error is computed exactly over the test distribution (no test sampling noise):
``test_error = (w_hat - w*)^T diag(lambda) (w_hat - w*)`` (excess, docs/conventions.md) and
``test_mse = test_error + noise``; ``train_error = |y - X w_hat|^2 / n`` with the noisy labels. Estimators and their
standard errors:

* means over independent replicates with ``std / sqrt(R)``;
* ``bias = ||E w_hat - w*||^2_Lambda`` by the unbiased U-statistic ``(|sum_r e_r|^2 - sum_r |e_r|^2)/(R(R-1))``
  over replicate errors ``e_r`` (for RF, ``e_r`` is the dataset's mean over its feature draws), standard error by
  the jackknife; ``variance = test_error - bias``;
* RF, crossed design (``D`` datasets x ``F`` feature draws each): the infinite-ensemble error ``E_inf`` by the
  within-dataset U-statistic over feature draws, ``feature_variance = E_1 - E_inf`` (docs/models.md §6.8);
* ``kappa``: the empirical estimator ``1 / Tr (K + ridge I)^-1`` (docs/models.md §6.2; for RF with ``K_hat``); ``kare``:
  Jacot et al.'s KARE = GCV estimate of ``test_mse`` from the training data (docs/models.md §6.3);
* KRR per mode: the mean and variance over datasets of ``v_hat_i = sqrt(lambda_i) w_hat_i`` (docs/models.md §6.1).

Engine. A replicate (one dataset; for RF with its ``F`` feature draws) is one repetition of the common engine
(:func:`montecarlo._engine.run_repetitions`): the same random streams as every other model (replicate ``r`` of
seed ``s`` draws from ``fold_in(key(s), r)``, one stream per source: ``X`` the inputs, ``eps`` the label noise,
``P`` the feature weights; :func:`montecarlo._engine.normal_draws`), replicates sharded over every visible device,
one compilation per problem shape whatever the number of replicates, float64 inside a scoped 64-bit mode
(:func:`rmt.numerics.float64_jax`). A replicate depends only on ``(seed, r)``: the device count does not change
the numbers, and :func:`simulate_eigen` runs in :mod:`montecarlo.sweep` sweeps (model ``"eigen"``) like the
other models.

This module never imports :mod:`theory` (docs/architecture.md): it reads a problem point by duck typing
(:func:`simulate_eigen`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.limits import MAX_TRIALS
from rmt.montecarlo import _engine as eng
from rmt.numerics import jax_float64
from rmt.records import Tabular

__all__ = [
    "EigenProblemLike",
    "EigenSimulation",
    "simulate_eigen",
    "simulate_eigen_krr",
    "simulate_eigen_rf",
    "u_statistic_sq_norm",
]


class EigenProblemLike(Protocol):
    """What :func:`simulate_eigen` reads from a problem point (e.g. :class:`theory.eigen.EigenProblem`)."""

    n: float
    ridge: float
    noise: float
    p: float | None

    @property
    def system(self) -> Any:  # has .expanded() -> (eigenvalues, target_power)
        ...


@dataclass(frozen=True)
class EigenSimulation(Tabular):
    """Monte Carlo estimates with standard errors under the same keys.

    Attributes:
        values: estimate per key (``test_error``, ``train_error``, ``bias``, ``variance``, ``test_mse``, ``kappa``,
            ``kare``; RF adds ``ensemble_limit_error`` and ``feature_variance``).
        stderr: standard error per key (same keys).
        replicates: number of independent datasets.
        feature_draws: feature draws per dataset (RF; 0 for KRR).
        seed: the PRNG seed.
        mode_mean, mode_mean_stderr, mode_variance, mode_variance_stderr: KRR per-mode statistics of
            ``v_hat_i = sqrt(lambda_i) w_hat_i`` over datasets (``None`` unless requested).
    """

    values: Mapping[str, float]
    stderr: Mapping[str, float]
    replicates: int
    feature_draws: int
    seed: int
    mode_mean: np.ndarray | None = field(default=None, repr=False)
    mode_mean_stderr: np.ndarray | None = field(default=None, repr=False)
    mode_variance: np.ndarray | None = field(default=None, repr=False)
    mode_variance_stderr: np.ndarray | None = field(default=None, repr=False)
    coordinates: Mapping[str, Any] = field(default_factory=dict)

    def z_scores(self, theory: Mapping[str, float], *, allowance: float | Mapping[str, float] = 0.0
                 ) -> dict[str, float]:
        """``(sim - theory) / sqrt(stderr^2 + (allowance * |theory|)^2)`` for the keys present in both; the
        ``allowance`` is a relative finite-size tolerance (a float for all keys or a per-key mapping)."""
        out = {}
        for k, v in self.values.items():
            if k not in theory:
                continue
            a = allowance.get(k, 0.0) if isinstance(allowance, Mapping) else allowance
            scale = math.hypot(self.stderr[k], a * abs(theory[k]))
            out[k] = (v - theory[k]) / scale if scale > 0 else (0.0 if v == theory[k] else math.inf)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {**{k: float(v) for k, v in self.values.items()}, "stderr": {k: float(v) for k, v in
                                                                              self.stderr.items()},
                "replicates": self.replicates, "feature_draws": self.feature_draws, "seed": self.seed}

    def nested_records(self) -> list[dict[str, Any]]:
        """One row: the coordinates (``model`` ``eigen-krr`` or ``eigen-rf``, ``n``, ``p``, ``ridge``, ``noise``;
        set by :func:`simulate_eigen`), then :meth:`as_dict` (:mod:`rmt.records`)."""
        return [{**self.coordinates, **self.as_dict()}]


# ----------------------------------------------------------------------------------------------------------------
# estimators
# ----------------------------------------------------------------------------------------------------------------

def u_statistic_sq_norm(e: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    r"""Unbiased estimate of ``|E e|^2_W = sum_i w_i (E e_i)^2`` from i.i.d. rows ``e_r`` (shape ``(R, M)``), and its
    jackknife standard error.

    ``U = (|S|^2 - sum_r |e_r|^2) / (R (R - 1))`` with ``S = sum_r e_r`` (the mean of ``<e_r, e_s>`` over ``r != s``).
    """
    e = np.asarray(e, dtype=float)
    R = e.shape[0]
    if R < 3:
        raise ValueError(f"the U-statistic needs at least 3 replicates, got {R}")
    w = np.asarray(weights, dtype=float)
    S = e.sum(0)
    norms = (e * e * w).sum(1)
    SS = float((S * S * w).sum())
    Q = float(norms.sum())
    U = (SS - Q) / (R * (R - 1))
    # leave-one-out: |S - e_r|^2 = |S|^2 - 2 <S, e_r> + |e_r|^2
    cross = (e * (S * w)).sum(1)
    loo = (SS - 2 * cross + norms - (Q - norms)) / ((R - 1) * (R - 2))
    se = math.sqrt(max((R - 1) / R * float(((loo - loo.mean()) ** 2).sum()), 0.0))
    return float(U), se


def _checked(arrays: Any, what: str) -> list[np.ndarray]:
    """Convert to numpy and refuse non-finite results (a failed Cholesky factorisation) instead of averaging NaN."""
    out = [np.asarray(a) for a in arrays]
    if not all(np.all(np.isfinite(a)) for a in out[:3]):
        raise FloatingPointError(f"{what} simulation produced non-finite values (an ill-conditioned Gram matrix: "
                                 "use a positive ridge or sizes away from the interpolation point)")
    return out


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.inf


def _check_spectrum(eigenvalues: Any, target_power: Any) -> tuple[np.ndarray, np.ndarray]:
    lam = check_positive(np.atleast_1d(np.asarray(eigenvalues, dtype=float)), "eigenvalues").ravel()
    v2 = check_nonnegative(np.atleast_1d(np.asarray(target_power, dtype=float)), "target_power").ravel()
    if v2.shape != lam.shape:
        raise ValueError(f"target_power must have one entry per eigenvalue ({lam.size}), got {v2.size}")
    return lam, v2


# ----------------------------------------------------------------------------------------------------------------
# one replicate (jitted)
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Config:
    """Static (compile-time) description of an eigen-model replicate: ``p = 0`` for KRR."""

    n: int
    modes: int
    p: int
    draws: int
    noisy: bool


def _ridge_solve(A: jax.Array, y: jax.Array, ridge: jax.Array):
    r"""For a data matrix ``A`` (``n x d``) and the sum-convention ridge: the coefficients
    ``c = (A^T A + ridge I)^-1 A^T y``, computed through the smaller Gram matrix by a Cholesky factorisation
    (a failed factorisation gives NaN, which the caller turns into an error), together with
    ``ridge * Tr (A A^T + ridge I_n)^-1`` (finite at ridge 0), ``Tr (A A^T + ridge I_n)^-1`` and
    ``y^T (A A^T + ridge I_n)^-2 y`` (dual form only; ``nan`` in the primal form, where callers use the residual).
    """
    n, d = A.shape
    if n <= d:
        L = jnp.linalg.cholesky(A @ A.T + ridge * jnp.eye(n, dtype=A.dtype))
        alpha = jax.scipy.linalg.cho_solve((L, True), y)
        c = A.T @ alpha
        Linv = jax.scipy.linalg.solve_triangular(L, jnp.eye(n, dtype=A.dtype), lower=True)
        tr = (Linv * Linv).sum()
        rtr = ridge * tr
        quad2 = (alpha * alpha).sum()
    else:
        L = jnp.linalg.cholesky(A.T @ A + ridge * jnp.eye(d, dtype=A.dtype))
        c = jax.scipy.linalg.cho_solve((L, True), A.T @ y)
        Linv = jax.scipy.linalg.solve_triangular(L, jnp.eye(d, dtype=A.dtype), lower=True)
        rtr = ridge * (Linv * Linv).sum() + (n - d)
        tr = jnp.where(ridge > 0, rtr / jnp.where(ridge > 0, ridge, 1.0), jnp.inf)
        quad2 = jnp.nan
    return c, rtr, tr, quad2


def _fit(G: jax.Array, y: jax.Array, ridge: jax.Array, to_weights: Callable[[jax.Array], jax.Array],
         wstar: jax.Array, sqrt_lam: jax.Array, scale: float) -> dict[str, jax.Array]:
    """Ridge fit on the data matrix ``G`` (ridge ``scale * ridge``): the weight error ``e = w_hat - w*``, the exact
    test error, the training error, ``kappa_hat = 1 / Tr (K + ridge)^-1`` and KARE."""
    a, rtr, tr, quad2 = _ridge_solve(G, y, scale * ridge)
    e = to_weights(a) - wstar
    res = y - G @ a
    n = y.shape[0]
    kare_res = n * (res * res).sum() / rtr ** 2  # n |r|^2 / (ridge Tr)^2 (residual form)
    return {"e": e, "test": (e * e * sqrt_lam * sqrt_lam).sum(), "train": (res * res).mean(),
            # K_hat + ridge = (G G^T + scale ridge) / scale: Tr (K_hat + ridge)^-1 = scale * tr
            "kappa": 1.0 / (scale * tr), "kare": jnp.where(jnp.isnan(quad2), kare_res, n * quad2 / tr ** 2)}


@functools.lru_cache(maxsize=64)
def _rep_fn(cfg: _Config) -> Callable:
    """One replicate: a dataset ``(X, y)`` and, for RF, its ``draws`` feature matrices (streams ``X``, ``eps``,
    ``P`` of :func:`montecarlo._engine.normal_draws`)."""

    def rep(key: jax.Array, prm: dict[str, jax.Array]) -> dict[str, jax.Array]:
        requests = [("X", 1, (cfg.n, cfg.modes))]
        if cfg.noisy:
            requests.append(("eps", 1, (cfg.n,)))
        if cfg.p:
            requests.append(("P", cfg.draws, (cfg.p, cfg.modes)))
        z = eng.normal_draws(key, requests, jnp.float64)
        sl, ws = prm["sqrt_lam"], prm["wstar"]
        X = z["X"][0] * sl
        y = X @ ws
        if cfg.noisy:
            y = y + prm["noise_sd"] * z["eps"][0]
        if not cfg.p:
            return _fit(X, y, prm["ridge"], lambda a: a, ws, sl, 1.0)

        def one_draw(W):
            return _fit(X @ W.T, y, prm["ridge"], lambda a: W.T @ a, ws, sl, float(cfg.p))

        return jax.vmap(one_draw)(z["P"])

    return rep


def _rep_flops(cfg: _Config) -> float:
    """FLOPs of one replicate (products and the Cholesky factorisation)."""
    d = cfg.p or cfg.modes
    small, large = min(cfg.n, d), max(cfg.n, d)
    per_fit = 2.0 * small * small * large + small ** 3 + 2.0 * cfg.n * d * cfg.modes * (cfg.p > 0)
    return 2.0 * cfg.n * cfg.modes + cfg.draws * per_fit


@jax_float64
def _simulate(cfg: _Config, lam: np.ndarray, v2: np.ndarray, ridge: float, noise: float, seed: int, reps: int,
              devices: int | None, progress: Callable[[int], None] | None) -> dict[str, np.ndarray]:
    prm = {"sqrt_lam": jnp.asarray(np.sqrt(lam), jnp.float64), "wstar": jnp.asarray(np.sqrt(v2 / lam), jnp.float64),
           "ridge": jnp.asarray(ridge, jnp.float64), "noise_sd": jnp.asarray(math.sqrt(noise), jnp.float64)}
    return eng.run_repetitions(_rep_fn(cfg), prm, seed=eng.check_seed(seed), reps=reps, rep_flops=_rep_flops(cfg),
                               devices=devices, progress=progress)


# ----------------------------------------------------------------------------------------------------------------
# public entry points
# ----------------------------------------------------------------------------------------------------------------

def simulate_eigen_krr(eigenvalues: Any, target_power: Any, n: int, ridge: float, noise: float = 0.0, *,
                       trials: int = 40, seed: int = 0, batch: int = 8, modes: bool = False,
                       devices: int | None = None, progress: Callable[[int], None] | None = None
                       ) -> EigenSimulation:
    r"""Simulate kernel ridge regression with the linear kernel on ``x ~ N(0, diag(eigenvalues))``.

    Args:
        eigenvalues: ``lambda_i > 0`` (one per simulated coordinate; expand multiplicities first).
        target_power: ``v_i^2 >= 0`` (``w*_i = sqrt(v_i^2 / lambda_i)``).
        n: training samples (integer >= 1). ridge: sum-convention ridge ``>= 0``. noise: label-noise variance.
        trials: independent datasets ``R >= 3`` (the engine's repetitions). seed: non-negative integer seed.
        batch: kept for compatibility (a positive integer); it does not change the work or the numbers, which the
            common engine schedules (:mod:`montecarlo._engine`).
        modes: also return per-mode means and variances of ``v_hat_i = sqrt(lambda_i) w_hat_i``.
        devices: devices to shard the datasets over (default: all visible). progress: called with the number of
            finished datasets.

    Returns:
        :class:`EigenSimulation` with ``test_error``, ``train_error``, ``bias``, ``variance``, ``test_mse``,
        ``kappa`` (``1/Tr(K + ridge)^-1``) and ``kare``.
    """
    lam, v2 = _check_spectrum(eigenvalues, target_power)
    n = check_positive_int(n, "n")
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    R = eng.check_count(trials, "trials", minimum=3)
    check_positive_int(batch, "batch")
    if ridge == 0 and n == lam.size:
        raise ValueError("ridge = 0 with n equal to the number of modes is the singular interpolation point")
    cfg = _Config(n=n, modes=lam.size, p=0, draws=1, noisy=noise > 0)
    raw = _simulate(cfg, lam, v2, ridge, noise, seed, R, devices, progress)
    e, test, train, kap, kr = _checked([raw[k] for k in ("e", "test", "train", "kappa", "kare")], "KRR")
    vals, ses = {}, {}
    for name, arr in (("test_error", test), ("train_error", train), ("kappa", kap), ("kare", kr)):
        vals[name], ses[name] = _mean_se(arr)
    vals["test_mse"], ses["test_mse"] = vals["test_error"] + noise, ses["test_error"]
    vals["bias"], ses["bias"] = u_statistic_sq_norm(e, lam)
    vals["variance"] = vals["test_error"] - vals["bias"]
    # jackknife of the difference (the two estimators are correlated)
    ses["variance"] = _jackknife_variance_se(e, test, lam)
    extra: dict[str, Any] = {}
    if modes:
        vhat = (e + np.sqrt(v2 / lam)) * np.sqrt(lam)
        extra["mode_mean"] = vhat.mean(0)
        extra["mode_mean_stderr"] = vhat.std(0, ddof=1) / math.sqrt(R)
        dev = (vhat - vhat.mean(0)) ** 2 * R / (R - 1)
        extra["mode_variance"] = dev.mean(0)
        extra["mode_variance_stderr"] = dev.std(0, ddof=1) / math.sqrt(R)
    return EigenSimulation(values=vals, stderr=ses, replicates=R, feature_draws=0, seed=seed, **extra)


def _jackknife_variance_se(e: np.ndarray, test: np.ndarray, w: np.ndarray) -> float:
    """Jackknife standard error of ``mean(test) - U`` (the variance estimate)."""
    R = e.shape[0]
    S = e.sum(0)
    norms = (e * e * w).sum(1)
    SS = float((S * S * w).sum())
    Q = float(norms.sum())
    cross = (e * (S * w)).sum(1)
    loo_u = (SS - 2 * cross + norms - (Q - norms)) / ((R - 1) * (R - 2))
    loo_t = (test.sum() - test) / (R - 1)
    loo = loo_t - loo_u
    return math.sqrt(max((R - 1) / R * float(((loo - loo.mean()) ** 2).sum()), 0.0))


def simulate_eigen_rf(eigenvalues: Any, target_power: Any, n: int, p: int, ridge: float, noise: float = 0.0, *,
                      datasets: int = 40, feature_draws: int = 4, seed: int = 0, batch: int = 4,
                      devices: int | None = None, progress: Callable[[int], None] | None = None
                      ) -> EigenSimulation:
    r"""Simulate random-feature ridge regression with linear Gaussian features ``g(x) = W x`` (crossed design:
    ``datasets`` training sets x ``feature_draws`` feature matrices each).

    Args:
        eigenvalues, target_power: as :func:`simulate_eigen_krr`.
        n: samples. p: features. ridge: sum-convention ridge on ``K_hat = G G^T / p``. noise: label-noise variance.
        datasets: independent datasets ``D >= 3`` (the engine's repetitions). feature_draws: ``F >= 2`` feature
            draws per dataset. seed, batch, devices, progress: as :func:`simulate_eigen_krr`.

    Returns:
        :class:`EigenSimulation` with the KRR keys plus ``ensemble_limit_error`` (excess error of the infinite
        ensemble over features, from the within-dataset U-statistic) and ``feature_variance`` (``E_1 - E_inf``).
    """
    lam, v2 = _check_spectrum(eigenvalues, target_power)
    n = check_positive_int(n, "n")
    p = check_positive_int(p, "p")
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    D = eng.check_count(datasets, "datasets", minimum=3)
    F = eng.check_count(feature_draws, "feature_draws", minimum=2, limit=MAX_TRIALS)
    check_positive_int(batch, "batch")
    if ridge == 0 and n == p:
        raise ValueError("ridge = 0 with n = p is the singular interpolation point")
    cfg = _Config(n=n, modes=lam.size, p=p, draws=F, noisy=noise > 0)
    raw = _simulate(cfg, lam, v2, ridge, noise, seed, D, devices, progress)
    e, test, train, kap, kr = _checked([raw[k] for k in ("e", "test", "train", "kappa", "kare")], "RF")
    # shapes: e (D, F, M); others (D, F)
    vals, ses = {}, {}
    for name, arr in (("test_error", test), ("train_error", train), ("kappa", kap), ("kare", kr)):
        vals[name], ses[name] = _mean_se(arr.mean(1))
    vals["test_mse"], ses["test_mse"] = vals["test_error"] + noise, ses["test_error"]
    ebar = e.mean(1)
    vals["bias"], ses["bias"] = u_statistic_sq_norm(ebar, lam)
    vals["variance"] = vals["test_error"] - vals["bias"]
    ses["variance"] = _jackknife_variance_se(ebar, test.mean(1), lam)
    S = e.sum(1)
    within = ((S * S * lam).sum(-1) - (e * e * lam).sum(-1).sum(-1)) / (F * (F - 1))  # per-dataset |E_W e|^2
    vals["ensemble_limit_error"], ses["ensemble_limit_error"] = _mean_se(within)
    vals["feature_variance"], ses["feature_variance"] = _mean_se(test.mean(1) - within)
    return EigenSimulation(values=vals, stderr=ses, replicates=D, feature_draws=F, seed=seed)


def simulate_eigen(problem: EigenProblemLike, *, trials: int = 40, feature_draws: int = 4, seed: int = 0,
                   batch: int | None = None, devices: int | None = None,
                   progress: Callable[[int], None] | None = None) -> EigenSimulation:
    """Simulate one problem point (duck-typed :class:`theory.eigen.EigenProblem`: ``system.expanded()``, ``n``,
    ``p`` (None for KRR), ``ridge``, ``noise``) and return estimates under the keys of
    :func:`theory.eigen.evaluate` with standard errors. Sizes are rounded to integers. This is the simulator of
    model ``"eigen"`` in :mod:`montecarlo.sweep` (``trials`` counts its repetitions)."""
    trials = eng.check_count(trials, "trials", minimum=3)  # before the spectrum is expanded
    lam, v2 = problem.system.expanded()
    n = int(round(float(problem.n)))
    coords = {"model": "eigen-krr" if problem.p is None else "eigen-rf", "n": float(problem.n),
              "p": None if problem.p is None else float(problem.p), "ridge": float(problem.ridge),
              "noise": float(problem.noise)}
    if problem.p is None:
        sim = simulate_eigen_krr(lam, v2, n, problem.ridge, problem.noise, trials=trials, seed=seed,
                                 batch=batch or 8, devices=devices, progress=progress)
        return replace(sim, coordinates={k: v for k, v in coords.items() if k != "p"})
    p = int(round(float(problem.p)))
    sim = simulate_eigen_rf(lam, v2, n, p, problem.ridge, problem.noise, datasets=trials,
                            feature_draws=feature_draws, seed=seed, batch=batch or 4, devices=devices,
                            progress=progress)
    return replace(sim, coordinates=coords)
