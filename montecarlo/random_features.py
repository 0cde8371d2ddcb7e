r"""Monte Carlo simulation of random-feature ridge regression (Adlam & Pennington, arXiv:2011.03321).

The model of docs/conventions.md and docs/models.md §3.1, exactly:

* inputs ``x ~ N(0, I_n0)`` (``N(0, Sigma)`` for training and ``N(0, Sigma_*)`` for testing when the problem has a
  :class:`rmt.problem.CovarianceSpectrum`: diagonal in a shared basis, atom ``k`` on
  :func:`montecarlo._engine.atom_counts` coordinates);
* clean target ``y_*(x) = beta.x / sqrt(n0) + sqrt(F_*^2) He2(v.x) / sqrt(2)`` with ``|beta|^2 = n0 * signal``
  exactly (``beta`` isotropic, redrawn every repetition), ``F_*^2 = nonlinear_signal`` and ``v`` a random direction
  scaled so that ``v.x ~ N(0, 1)`` on training inputs (then the nonlinear part has mean zero, unit variance and no
  linear component); training labels ``Y = y_*(X) + eps``, ``eps ~ N(0, noise I_m)``;
* ``W`` (``n1 x n0``) i.i.d. ``N(0, 1)``; features ``f(x) = sigma(W x / sqrt(n0)) - mu0`` with
  ``mu0 = E sigma(u)``, ``u ~ N(0, tr Sigma / n0)`` (the *training* pre-activation variance; ``center=False``
  keeps ``sigma``);
* ``K = F^T F / n1`` (``m x m``) and ``yhat(x) = Y (K + ridge I_m)^{-1} F^T f(x) / n1``.

Solve. The kernel form (``m x m``) when ``n1 >= m``, the primal form ``(F F^T / n1 + ridge I_n1)^{-1}`` (``n1 x n1``,
push-through identity) when ``n1 < m``: the cheaper one, and the one that exists at ``ridge = 0`` (min-norm
interpolation for ``n1 > m``, least squares on the features for ``n1 < m``). Cholesky, float64 by default. Labels enter
linearly, so each fitted ``(W, X)`` serves all ``k_eps`` noise draws through one multi-column solve.

Per trial it also records ``tau1 = (1/m) tr (K + ridge)^{-1}`` and ``tau2 = (1/m) tr[(X^T X / n0)(K + ridge)^{-1}]``
(docs/models.md §3.6); at ``ridge = 0`` with ``n1 < m``, ``K`` is singular and both are reported as ``inf`` (exactly).

Estimates. A repetition fits the crossed design ``k_P x k_X x k_eps`` and scores every model on one shared set of
``n_test`` test inputs; :mod:`montecarlo.estimators` turns the residuals into unbiased test error, bias and the
seven fine-grained variance terms. At ``noise = 0``, ``eps`` is inert: one draw, and its four terms are exactly 0.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import jax
import jax.numpy as jnp
import numpy as np

from rmt.montecarlo import _engine as eng
from rmt.montecarlo.estimators import SOURCES
from rmt.montecarlo.results import SimulationResult, decompose, make_result
from rmt._validation import check_positive_int
from rmt.activations import Activation
from rmt.numerics import Timer, jax_float64
from rmt.problem import Problem

__all__ = ["RFConfig", "RFDraws", "draw_rf", "gram_cholesky", "prepare_rf", "rf_draws", "rf_flops", "run_rf",
           "simulate_rf", "summarize_rf", "symmetric_gram", "triangular_inverse", "triangular_solve"]

Solver = Literal["auto", "kernel", "primal"]
_TAU_NAMES = ("tau1", "tau2")


@dataclass(frozen=True)
class RFConfig:
    """Static (compile-time) description of a random-feature run (built by :func:`prepare_rf`; the NTK and
    covariate-shift simulations reuse it)."""

    n0: int
    n1: int
    m: int
    n_test: int
    trials: tuple[int, int, int]
    activation: Activation
    solver: str
    taus: bool
    test_sets: int
    nonlinear: bool
    noisy: bool
    covariance: bool
    dtype: str
    cell_batch: int

    @property
    def n_cells(self) -> int:
        return self.trials[0] * self.trials[1]


def _bounds(n: int, parts: int) -> list[int]:
    return [round(i * n / parts) for i in range(parts + 1)]


def gram_parts(n: int) -> int:
    """Row blocks :func:`symmetric_gram` uses for an ``n x n`` Gram matrix: one below 800, two from 800, then one
    per 512 rows up to four (blocks large enough for the GEMM to run at full rate; at 800 x 800 two blocks took
    12.1 -> 10.7 ms on 2 CPU cores, and gave the same bits as the full product there)."""
    return max(1 if n < 800 else 2, min(4, n // 512))


def symmetric_gram(rows: jax.Array, parts: int = 1) -> jax.Array:
    r"""``rows @ rows.T`` computing only the diagonal and lower blocks of a ``parts x parts`` partition (the upper
    blocks are their transposes): ``(parts + 1) / (2 parts)`` of the FLOPs of the full product, all in GEMMs
    (XLA has no symmetric rank-k update)."""
    if parts <= 1:
        return rows @ rows.T
    b = _bounds(rows.shape[0], parts)
    blk = [rows[b[i]:b[i + 1]] for i in range(parts)]
    lower = {(i, j): blk[i] @ blk[j].T for i in range(parts) for j in range(i + 1)}
    return jnp.block([[lower[(i, j)] if j <= i else lower[(j, i)].T for j in range(parts)] for i in range(parts)])


def gram_cholesky(gram: jax.Array, parts: int) -> jax.Array:
    """Lower Cholesky factor of ``gram``, a :func:`symmetric_gram` of ``parts`` row blocks plus a multiple of the
    identity. With ``parts >= 2`` the matrix is symmetric by construction, so the symmetrisation
    ``(A + A^T) / 2`` that :func:`jax.numpy.linalg.cholesky` applies (a no-op on these bits) is skipped and the
    factor is taken of ``A^T`` (the same matrix), which XLA hands to LAPACK's column-major ``potrf`` without a
    transposing copy: two passes over the matrix fewer, the same factor bit for bit."""
    if parts <= 1:
        return jnp.linalg.cholesky(gram)
    return jax.lax.linalg.cholesky(jnp.swapaxes(gram, -1, -2), symmetrize_input=False)


def symmetric_gram_flops(n: int, k: int, parts: int) -> float:
    """FLOPs of :func:`symmetric_gram` for ``n`` rows of length ``k``."""
    b = _bounds(n, parts)
    sizes = [b[i + 1] - b[i] for i in range(parts)]
    return sum(2.0 * sizes[i] * sizes[j] * k for i in range(parts) for j in range(i + 1))


def triangular_solve(lower: jax.Array, rhs: jax.Array, block: int = 512) -> jax.Array:
    r"""``L^{-1} B`` for lower-triangular ``L`` by recursive 2x2 blocking, ``Y1 = L11^{-1} B1``,
    ``Y2 = L22^{-1} (B2 - L21 Y1)``: the ``n^2 k`` FLOPs of a triangular solve, nearly all in GEMMs (XLA's
    multi-threaded products) rather than in LAPACK's triangular solve (single-threaded here, see
    :mod:`montecarlo._engine`); blocks of order ``<= block`` are solved directly."""
    n = lower.shape[-1]
    if n <= block:
        return jax.scipy.linalg.solve_triangular(lower, rhs, lower=True)
    h = n // 2
    y1 = triangular_solve(lower[:h, :h], rhs[:h], block)
    y2 = triangular_solve(lower[h:, h:], rhs[h:] - lower[h:, :h] @ y1, block)
    return jnp.concatenate([y1, y2], axis=0)


def triangular_inverse(lower: jax.Array, block: int = 512) -> jax.Array:
    r"""Inverse of a lower-triangular matrix by recursive 2x2 blocking, so that the work is in matrix products
    (XLA's multi-threaded GEMM) rather than in a triangular solve (single-threaded LAPACK here):
    ``inv([[A, 0], [B, C]]) = [[A^-1, 0], [-C^-1 B A^-1, C^-1]]``, with blocks of order ``<= block`` solved
    directly. About ``(2/3) n^3`` FLOPs (``n^3/3`` would exploit the zeros of the products)."""
    n = lower.shape[-1]
    if n <= block:
        return jax.scipy.linalg.solve_triangular(lower, jnp.eye(n, dtype=lower.dtype), lower=True)
    h = n // 2
    a_inv = triangular_inverse(lower[:h, :h], block)
    c_inv = triangular_inverse(lower[h:, h:], block)
    b = -(c_inv @ (lower[h:, :h] @ a_inv))
    return jnp.block([[a_inv, jnp.zeros((h, n - h), lower.dtype)], [b, c_inv]])


def triangular_inverse_flops(n: int, block: int = 512) -> float:
    """FLOPs executed by :func:`triangular_inverse` (a solve against the identity counts ``n^3``)."""
    if n <= block:
        return float(n) ** 3
    h = n // 2
    return (triangular_inverse_flops(h, block) + triangular_inverse_flops(n - h, block)
            + 2.0 * (n - h) * h * h + 2.0 * (n - h) ** 2 * h)


def _solve_cell(cfg: RFConfig, act: Callable, w: jax.Array, x: jax.Array, y: jax.Array, test_feats: jax.Array,
                ridge: jax.Array, mu0: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Fit one ``(W, X)`` for the label columns ``y`` (``m x c``).

    Returns predictions on the test features (``sets x T x c``), training residuals (``m x c``) and
    ``(tau1, tau2)``.
    """
    n0, n1, m = cfg.n0, cfg.n1, cfg.m
    feats = act(x @ w.T * (1.0 / math.sqrt(n0))) - mu0  # (m, n1)
    if cfg.solver == "kernel":
        gram = symmetric_gram(feats, gram_parts(m)) * (1.0 / n1) + ridge * jnp.eye(m, dtype=feats.dtype)
        chol = gram_cholesky(gram, gram_parts(m))
        alpha = jax.scipy.linalg.cho_solve((chol, True), y)
        coef = feats.T @ alpha * (1.0 / n1)
        residual = ridge * alpha  # Y - K (K + ridge)^-1 Y
        if cfg.taus:  # tr (K+ridge)^-1 = |L^-1|_F^2 and tr X^T (K+ridge)^-1 X = |L^-1 X|_F^2
            inv = triangular_inverse(chol)
            tau1 = jnp.sum(inv * inv) / m
            tau2 = jnp.sum(triangular_solve(chol, x) ** 2) / (m * n0)
    else:
        gram = symmetric_gram(feats.T, gram_parts(n1)) * (1.0 / n1) + ridge * jnp.eye(n1, dtype=feats.dtype)
        chol = gram_cholesky(gram, gram_parts(n1))
        coef = jax.scipy.linalg.cho_solve((chol, True), feats.T @ y * (1.0 / n1))
        residual = y - feats @ coef
        if cfg.taus:
            # K has the n1 eigenvalues of F F^T / n1 and m - n1 zeros; Woodbury for tau2. Singular at ridge 0.
            safe = jnp.where(ridge > 0, ridge, 1.0)
            inv = triangular_inverse(chol)
            tau1 = (jnp.sum(inv * inv) + (m - n1) / safe) / m
            tau2 = (jnp.sum(x * x) - jnp.sum(triangular_solve(chol, feats.T @ x) ** 2) / n1) / (safe * m * n0)
            tau1 = jnp.where(ridge > 0, tau1, jnp.inf)
            tau2 = jnp.where(ridge > 0, tau2, jnp.inf)
    if not cfg.taus:
        tau1 = tau2 = jnp.zeros((), feats.dtype)
    pred = test_feats @ coef
    return pred, residual, jnp.stack([tau1, tau2])


def draw_rf(cfg: RFConfig, key: jax.Array, prm: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """The random draws of one repetition (streams as in :func:`montecarlo._engine.normal_draws`)."""
    dt = jnp.dtype(cfg.dtype)
    n0, n1, m = cfg.n0, cfg.n1, cfg.m
    k_p, k_x, k_e = cfg.trials
    requests = [("beta", 1, (n0,)), ("test", 1, (cfg.n_test, n0)), ("P", k_p, (n1, n0)), ("X", k_x, (m, n0))]
    if cfg.nonlinear:
        requests.append(("teacher_dir", 1, (n0,)))
    if cfg.noisy:
        requests.append(("eps", k_e, (m,)))
    z = eng.normal_draws(key, requests, dt)
    beta = eng.unit_norm_rows(z["beta"][0], jnp.sqrt(n0 * prm["signal"]))
    train_sd = prm["train_sd"].astype(dt)
    direction = None
    if cfg.nonlinear:
        v = z["teacher_dir"][0]
        direction = v / jnp.sqrt(jnp.sum((v * train_sd) ** 2))
    x_test = z["test"] * prm["test_sd"].astype(dt)[:, None, :] if cfg.covariance else z["test"]  # (sets, T, n0)
    x = z["X"] * train_sd if cfg.covariance else z["X"]
    out = {"beta": beta, "x_test": x_test, "w": z["P"], "x": x,
           "y_train": eng.teacher(x, beta, direction, prm["fstar"]),
           "y_test": eng.teacher(x_test, beta, direction, prm["fstar"])}
    if cfg.noisy:
        out["eps"] = z["eps"] * prm["noise_sd"]
    if direction is not None:
        out["direction"] = direction
    return out


@functools.lru_cache(maxsize=64)
def _rep_fn(cfg: RFConfig) -> Callable:
    act = cfg.activation.jax_fn()
    k_p, k_x, _ = cfg.trials

    def rep(key: jax.Array, prm: dict[str, jax.Array]) -> dict[str, jax.Array]:
        d = draw_rf(cfg, key, prm)
        mu0 = prm["mu0"]
        inv = 1.0 / math.sqrt(cfg.n0)
        test_feats = act(jnp.einsum("stj,pij->psti", d["x_test"], d["w"]) * inv) - mu0  # (kP, sets, T, n1)
        labels = eng.label_columns(d["y_train"], d.get("eps"))  # (kX, m, 1 + kE)

        def cell(c):
            p, i = c // k_x, c % k_x
            pred, res, taus = _solve_cell(cfg, act, d["w"][p], d["x"][i], labels[i], test_feats[p], prm["ridge"],
                                          mu0)
            return pred, jnp.mean(eng.combine_columns(res, cfg.noisy) ** 2, axis=0), taus  # train error per e

        pred, train, taus = jax.lax.map(cell, jnp.arange(cfg.n_cells), batch_size=cfg.cell_batch)
        pred = pred.reshape((k_p, k_x) + pred.shape[1:])  # (kP, kX, sets, T, c)
        yhat = eng.combine_columns(pred, cfg.noisy)
        resid = jnp.moveaxis(yhat - d["y_test"][None, None, :, :, None], (2, 3), (0, 4))  # (sets, kP, kX, kE, T)
        return {"resid": resid, "train": train, "taus": taus}

    return rep


def summarize_rf(raw: dict[str, np.ndarray], cfg_noisy: bool, test_sets: int) -> dict[str, np.ndarray]:
    """Per-repetition estimates from the raw outputs (residuals of every cell at every test point)."""
    resid = raw["resid"].astype(np.float64)  # (reps, sets, kP, kX, kE, T)
    est = decompose(resid, SOURCES, inert=() if cfg_noisy else ("eps",))
    out = {"train_error": raw["train"].astype(np.float64).mean(axis=(1, 2)),
           "tau1": raw["taus"][..., 0].astype(np.float64).mean(axis=1),
           "tau2": raw["taus"][..., 1].astype(np.float64).mean(axis=1)}
    for s, prefix in enumerate(("", "iid.")[:test_sets]):
        out.update({prefix + k: v[:, s] for k, v in est.items()})
    return out


def rf_flops(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], *, taus: bool = True,
             test_sets: int = 1) -> dict[str, float]:
    """FLOPs of one repetition as executed (a matrix product ``a x b`` by ``b x c`` counts ``2abc``, also when a
    factor is triangular; Cholesky ``n^3/3``; triangular solves ``n^2`` per right-hand side; the Gram matrix as
    :func:`symmetric_gram` computes it), by stage, plus ``total``, ``per_trial`` (``total`` over the ``k_P k_X``
    fits) and ``essential`` (the same work with symmetry and triangularity fully exploited: Gram ``a^2 b``,
    triangular inverse ``n^3/3``)."""
    k_p, k_x, k_e = trials
    c = 1 + (k_e if k_e > 1 else 0)
    cells = k_p * k_x
    t = n_test * test_sets
    fl: dict[str, float] = {"test_features": 2.0 * k_p * t * n0 * n1, "features": 2.0 * cells * m * n0 * n1}
    if n1 >= m:
        fl["gram"] = cells * symmetric_gram_flops(m, n1, gram_parts(m))
        fl["cholesky"] = cells * m**3 / 3.0
        fl["solve"] = cells * (2.0 * m * m * c + 2.0 * m * n1 * c)
        if taus:
            fl["taus"] = cells * (triangular_inverse_flops(m) + m * m * n0)
    else:
        fl["gram"] = cells * symmetric_gram_flops(n1, m, gram_parts(n1))
        fl["cholesky"] = cells * n1**3 / 3.0
        fl["solve"] = cells * (2.0 * n1 * m * c + 2.0 * n1 * n1 * c + 2.0 * m * n1 * c)
        if taus:
            fl["taus"] = cells * (triangular_inverse_flops(n1) + 2.0 * m * n1 * n0 + n1 * n1 * n0)
    fl["predict"] = 2.0 * cells * t * n1 * c
    fl["total"] = sum(fl.values())
    fl["per_trial"] = fl["total"] / cells
    k, other = (m, n1) if n1 >= m else (n1, m)
    fl["essential"] = fl["total"] - fl["gram"] + cells * k * k * other - (
        cells * (triangular_inverse_flops(k) - k**3 / 3.0) if taus else 0.0)
    return fl


def _rf_cost(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], sets: int, itemsize: int,
             taus: bool) -> dict[str, float]:
    """Bytes of one fit and of a repetition's shared arrays, FLOPs of one fit and of a repetition."""
    k = min(n1, m)
    k_p, k_x, k_e = trials
    flops = rf_flops(n0, n1, m, n_test, trials, taus=taus, test_sets=sets)
    return {"cell_bytes": itemsize * (3.0 * m * n1 + 3.0 * k * k + m * n0 + max(n1, m) * n0 + sets * n_test * 4),
            "shared_bytes": itemsize * (k_p * n1 * n0 + k_x * m * n0 + 2.0 * sets * n_test * n0
                                        + 2.0 * k_p * sets * n_test * n1 + k_p * k_x * k_e * sets * n_test * 3),
            "cell_flops": flops["per_trial"], "rep_flops": flops["total"]}


@jax_float64
def prepare_rf(problem: Problem, *, trials: Any, n_test: int | None, center: bool, taus: bool, solver: str,
               dtype: Any, max_memory: float, test_sets: int, cost: Callable[..., dict[str, float]] | None = None
               ) -> tuple[RFConfig, dict[str, jax.Array], dict[str, Any]]:
    """Validate the arguments and build the static configuration, the dynamic parameters and the JSON options.

    ``cost(n0, n1, m, n_test, trials, sets, itemsize)`` overrides the random-feature memory and FLOP model (and
    with it the checks that only concern the random-feature solves)."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an rmt.problem.Problem, got {type(problem).__name__}")
    n0, n1, m = problem.integer_sizes()
    noisy = float(problem.noise) > 0
    k = eng.check_trials(trials, SOURCES, inert=() if noisy else ("eps",))
    n_test = max(1000, m) if n_test is None else check_positive_int(n_test, "n_test", minimum=1)
    if solver not in ("auto", "kernel", "primal"):
        raise ValueError(f"solver must be 'auto', 'kernel' or 'primal', got {solver!r}")
    mode = ("kernel" if n1 >= m else "primal") if solver == "auto" else solver
    ridge = float(problem.ridge)
    if cost is not None:
        pass  # another model (the NTK) decides what is solvable
    elif ridge == 0 and mode == "kernel" and n1 < m:
        raise ValueError("solver='kernel' needs ridge > 0 when n1 < m (K is singular)")
    if ridge == 0 and mode == "primal" and n1 > m:
        raise ValueError("solver='primal' needs ridge > 0 when n1 > m (F F^T is singular)")
    dtype = eng.resolve_dtype(dtype)
    train_var, test_var = eng.diagonal_covariances(problem.covariance, n0)
    mu0 = eng.centering_mean(problem.activation, float(train_var.mean())) if center else 0.0
    itemsize = np.dtype(dtype).itemsize
    if cost is None:
        cost = functools.partial(_rf_cost, taus=taus)
    c = cost(n0, n1, m, n_test, k, test_sets, itemsize)
    cell_batch = eng.choose_cell_batch(n_cells=k[0] * k[1], cell_bytes=c["cell_bytes"], cell_flops=c["cell_flops"],
                                       shared_bytes=c["shared_bytes"], max_memory=eng.check_memory(max_memory))
    cfg = RFConfig(n0=n0, n1=n1, m=m, n_test=n_test, trials=k, activation=problem.activation, solver=mode,
                   taus=bool(taus), test_sets=test_sets, nonlinear=float(problem.nonlinear_signal) > 0, noisy=noisy,
                   covariance=problem.covariance is not None, dtype=dtype, cell_batch=cell_batch)
    test_sd = np.sqrt(np.stack([test_var, train_var][:test_sets]))
    # numpy arrays (converted when the program is called): jnp.asarray(x, dtype) compiles a conversion program per
    # process, which costs more start-up than it is worth
    prm = {"ridge": np.asarray(ridge, dtype), "noise_sd": np.asarray(math.sqrt(float(problem.noise)), dtype),
           "signal": np.asarray(float(problem.signal), dtype),
           "fstar": np.asarray(math.sqrt(float(problem.nonlinear_signal)), dtype), "mu0": np.asarray(mu0, dtype),
           "train_sd": np.asarray(np.sqrt(train_var), dtype), "test_sd": np.asarray(test_sd, dtype)}
    options = {"model": "rf", "problem": problem.as_dict(), "trials": list(k), "n_test": n_test,
               "center": bool(center), "mu0": mu0, "taus": bool(taus), "solver": mode, "dtype": dtype,
               "cell_batch": cell_batch, "rep_flops": c["rep_flops"]}
    return cfg, prm, options


@jax_float64
def run_rf(problem: Problem, *, trials: Any, reps: int, seed: int, n_test: int | None, center: bool, taus: bool,
           solver: str, dtype: Any, max_memory: float, devices: int | None, progress: Callable[[int], None] | None,
           test_sets: int) -> tuple[dict[str, np.ndarray], RFConfig, dict[str, Any], float]:
    """Run the random-feature repetitions on ``test_sets`` test laws (1: the problem's test law; 2: also the
    training law, for :func:`montecarlo.covariate_shift.simulate_shift`) and return the per-repetition estimates
    (:func:`summarize_rf`), the configuration, the JSON options and the wall-clock seconds."""
    timer = Timer()
    reps = eng.check_count(reps, "reps")
    seed = eng.check_seed(seed)
    cfg, prm, options = prepare_rf(problem, trials=trials, n_test=n_test, center=center, taus=taus, solver=solver,
                                   dtype=dtype, max_memory=max_memory, test_sets=test_sets)
    raw = eng.run_repetitions(_rep_fn(cfg), prm, seed=seed, reps=reps, rep_flops=options["rep_flops"],
                              devices=devices, progress=progress)
    eng.raise_if_nonfinite(raw, ("resid", "train"), "random-feature simulation",
                           "use float64, a larger ridge, or sizes away from the interpolation threshold n1 = m")
    return summarize_rf(raw, cfg.noisy, test_sets), cfg, options, timer.elapsed


@jax_float64
def simulate_rf(problem: Problem, *, trials: Any = (2, 2, 2), reps: int = 4, seed: int = 0,
                n_test: int | None = None, center: bool = True, taus: bool = True, solver: Solver = "auto",
                dtype: Any = "float64", max_memory: float = eng.DEFAULT_MAX_MEMORY, devices: int | None = None,
                progress: Callable[[int], None] | None = None) -> SimulationResult:
    r"""Simulate random-feature ridge regression and estimate its fine-grained bias-variance decomposition.

    Args:
        problem: a scalar :class:`rmt.problem.Problem` (sizes ``n0, n1, m`` are rounded to integers). With a
            ``covariance``, training inputs follow ``Sigma`` and test inputs ``Sigma_*`` (see
            :func:`montecarlo.covariate_shift.simulate_shift` for both test laws at once).
        trials: the crossed design ``(k_P, k_X, k_eps)``, each ``>= 2`` (``k_eps`` is ignored at zero noise).
        reps: independent repetitions (new ``beta`` and test set each); standard errors are over these.
        seed: non-negative integer; the same seed gives bit-identical results on the same machine.
        n_test: shared test points per repetition (default ``max(1000, m)``).
        center: subtract ``mu0`` from the activation (Adlam & Pennington's centred ``sigma``).
        taus: record ``tau1`` and ``tau2`` per fit (costs about a quarter more).
        solver: ``"auto"`` (kernel form if ``n1 >= m``, else primal), ``"kernel"`` or ``"primal"``.
        dtype: ``"float64"`` (default) or ``"float32"``.
        max_memory: bytes one vmapped group of fits may hold (sets the batching).
        devices: devices to shard repetitions over (default: all visible).
        progress: called with the number of finished repetitions.

    Returns:
        :class:`montecarlo.results.SimulationResult` with ``extras = {"tau1", "tau2"}`` (means over fits; ``inf``
        when ``K`` is singular; absent when ``taus=False``).

    Raises:
        ValueError: bad arguments (naming the argument and its allowed range).
        rmt.solvers.SolverError: a fit produced non-finite predictions (e.g. float32 with a tiny ridge).

    Example:
        >>> from rmt.problem import Problem
        >>> r = simulate_rf(Problem(n0=40, n1=60, m=50, ridge=0.1, activation="relu", noise=0.25),
        ...                 trials=(2, 2, 2), reps=2, n_test=200)
        >>> abs(r.bias + r.variance - r.test_error) < 1e-12
        True
    """
    samples, cfg, options, elapsed = run_rf(problem, trials=trials, reps=reps, seed=seed, n_test=n_test,
                                            center=center, taus=taus, solver=solver, dtype=dtype,
                                            max_memory=max_memory, devices=devices, progress=progress, test_sets=1)
    return make_result("rf", samples, sources=SOURCES, trials=cfg.trials, extras=_TAU_NAMES if cfg.taus else (),
                       reps=reps, seed=seed, n_test=cfg.n_test, config=options, elapsed_s=elapsed)


@dataclass(frozen=True)
class RFDraws:
    """The random draws of one repetition of :func:`simulate_rf`, as numpy arrays (for independent checks).

    Attributes:
        w: ``(k_P, n1, n0)`` weights. x: ``(k_X, m, n0)`` training inputs. eps: ``(k_eps, m)`` label noise (zeros
        when the noise is zero). beta: ``(n0,)``. direction: ``(n0,)`` the nonlinear teacher's direction (zeros
        without one). x_test: ``(n_test, n0)``. y_train: ``(k_X, m)`` clean training targets. y_test: ``(n_test,)``
        clean test targets. mu0: the centring constant.
    """

    w: np.ndarray
    x: np.ndarray
    eps: np.ndarray
    beta: np.ndarray
    direction: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    mu0: float


@jax_float64
def rf_draws(problem: Problem, *, seed: int = 0, rep: int = 0, trials: Any = (2, 2, 2), n_test: int | None = None,
             center: bool = True, dtype: Any = "float64") -> RFDraws:
    """The draws :func:`simulate_rf` uses in repetition ``rep`` with these arguments (same streams)."""
    cfg, prm, options = prepare_rf(problem, trials=trials, n_test=n_test, center=center, taus=False, solver="auto",
                                   dtype=dtype, max_memory=eng.DEFAULT_MAX_MEMORY, test_sets=1)
    key = eng.rep_key(jnp.asarray(eng.check_seed(seed), jnp.int64), check_positive_int(rep, "rep", minimum=0))
    d = jax.jit(draw_rf, static_argnums=0)(cfg, key, prm)
    d = {k: np.asarray(v) for k, v in d.items()}
    eps = d.get("eps", np.zeros((1, cfg.m)))
    return RFDraws(w=d["w"], x=d["x"], eps=eps, beta=d["beta"], direction=d.get("direction", np.zeros(cfg.n0)),
                   x_test=d["x_test"][0], y_train=d["y_train"], y_test=d["y_test"][0], mu0=float(options["mu0"]))
