r"""Monte Carlo simulation of kernel regression with the empirical NTK of a two-layer network.

Network (NTK parameterisation; docs/models.md §4.1):
``f(x) = n1^{-1/2} sum_i a_i sigma(w_i.x / sqrt(n0))`` with ``a_i`` and ``W_ij`` i.i.d. ``N(0, 1)``; ``sigma`` is
centred by ``mu0`` as in :mod:`montecarlo.random_features` (``center=False`` keeps it). With learning rate ``1`` on
``a`` and ``r`` (``lr_ratio``) on ``W``, the empirical NTK at initialisation is

``Theta(x, x') = f(x).f(x') / n1 + r (x.x' / n0) sum_i a_i^2 sigma'(w_i.x/sqrt n0) sigma'(w_i.x'/sqrt n0) / n1``

(features ``f(x) = sigma(W x / sqrt n0) - mu0``; ``r = 0`` is random features). The predictor is kernel ridge
regression ``yhat(x) = Theta(x, X) (Theta(X, X) + ridge I)^{-1} Y`` or, with ``include_f0``, the linearised
network trained to convergence from its initial function: ``yhat(x) = f0(x) + Theta_x (Theta + ridge)^{-1}
(Y - f0(X))``; at ``ridge = 0`` the pseudo-inverse ``Theta(X, X)^+`` (the ``ridge -> 0`` limit: min-norm
interpolation, or least squares where the kernel is singular). Inputs, teacher, noise and the estimators are those
of :func:`montecarlo.random_features.simulate_rf`;
the sources are ``P = (W, a)``, ``X`` and ``eps``, and ``W``, ``X``, ``eps`` and the test set are the very draws of
``simulate_rf`` with the same seed, so ``lr_ratio = 0`` reproduces it (for ``n1 >= m``).
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
from rmt.montecarlo import random_features as rf
from rmt.montecarlo.estimators import SOURCES
from rmt.montecarlo.results import SimulationResult, make_result
from rmt._validation import check_finite, check_nonnegative, check_positive_int
from rmt.activations import ActivationLike, get_activation
from rmt.numerics import Timer, jax_float64
from rmt.problem import Problem

__all__ = ["empirical_ntk", "kernel_ridge_predict", "network_output", "ntk_draws", "ntk_flops", "simulate_ntk"]

_GROUPS = {"noise_variance": ("eps", "Peps", "Xeps", "PXeps"), "init_variance": ("P", "PX"),
           "sample_variance": ("X",)}


def _pre(x: jax.Array, w: jax.Array) -> jax.Array:
    return x @ w.T * (1.0 / math.sqrt(x.shape[-1]))


@jax_float64
def empirical_ntk(x1: Any, x2: Any, w: Any, a: Any, activation: ActivationLike = "relu", *, lr_ratio: float = 1.0,
                  mu0: float = 0.0) -> jax.Array:
    r"""The empirical NTK ``Theta(x1, x2)`` of the two-layer network (module docstring), shape ``(len(x1), len(x2))``.

    Args:
        x1, x2: inputs as rows, ``(., n0)``.
        w: first-layer weights ``(n1, n0)``. a: second-layer weights ``(n1,)``.
        activation: name, :class:`rmt.activations.Activation` or callable (JAX-traceable).
        lr_ratio: learning rate of ``W`` relative to ``a`` (``0``: random features).
        mu0: centring subtracted from ``sigma`` (does not affect ``sigma'``).
    """
    return _ntk_jit(get_activation(activation), *(jnp.asarray(v) for v in (x1, x2, w, a, lr_ratio, mu0)))


@functools.partial(jax.jit, static_argnums=0)
def _ntk_jit(act: Any, x1: jax.Array, x2: jax.Array, w: jax.Array, a: jax.Array, lr_ratio: jax.Array,
             mu0: jax.Array) -> jax.Array:
    sig, dsig = act.jax_fn(), act.jax_derivative()
    n0, n1 = w.shape[1], w.shape[0]
    z1, z2 = _pre(x1, w), _pre(x2, w)
    f1, f2 = sig(z1) - mu0, sig(z2) - mu0
    second = f1 @ f2.T / n1
    first = (x1 @ x2.T / n0) * ((dsig(z1) * (a * a)) @ dsig(z2).T / n1)
    return second + lr_ratio * first


@jax_float64
def network_output(x: Any, w: Any, a: Any, activation: ActivationLike = "relu", *, mu0: float = 0.0) -> jax.Array:
    """``f(x) = n1^{-1/2} sum_i a_i (sigma(w_i.x / sqrt n0) - mu0)`` on the rows of ``x``."""
    act = get_activation(activation)
    w, a = jnp.asarray(w), jnp.asarray(a)
    return (act.jax_fn()(_pre(jnp.asarray(x), w)) - mu0) @ a / math.sqrt(w.shape[0])


@jax_float64
def kernel_ridge_predict(theta_train: Any, theta_test: Any, y: Any, ridge: float, *, f0_train: Any = None,
                         f0_test: Any = None) -> jax.Array:
    """Kernel ridge regression ``theta_test (theta_train + ridge I)^{-1} (y - f0_train) + f0_test`` by Cholesky.

    Args:
        theta_train: ``(m, m)`` kernel on the training inputs. theta_test: ``(T, m)``.
        y: ``(m,)`` or ``(m, c)`` labels. ridge: ``>= 0``.
        f0_train, f0_test: the initial function on training and test inputs (both or neither).
    """
    ridge = float(check_nonnegative(ridge, "ridge"))
    if (f0_train is None) != (f0_test is None):
        raise ValueError("f0_train and f0_test must be given together")
    y = jnp.asarray(y)
    if f0_train is not None:
        y = y - (jnp.asarray(f0_train) if y.ndim == 1 else jnp.asarray(f0_train)[:, None])
    theta = jnp.asarray(theta_train)
    chol = jnp.linalg.cholesky(theta + ridge * jnp.eye(theta.shape[0], dtype=theta.dtype))
    pred = jnp.asarray(theta_test) @ jax.scipy.linalg.cho_solve((chol, True), y)
    if f0_test is not None:
        pred = pred + (jnp.asarray(f0_test) if y.ndim == 1 else jnp.asarray(f0_test)[:, None])
    return pred


@dataclass(frozen=True)
class _Config:
    rf: rf.RFConfig
    include_f0: bool
    fixed_a: bool = False
    ridgeless: bool = False


@functools.lru_cache(maxsize=64)
def _rep_fn(cfg: _Config) -> Callable:
    base = cfg.rf
    act, dact = base.activation.jax_fn(), base.activation.jax_derivative()
    k_p, k_x, _ = base.trials
    n0, n1, m = base.n0, base.n1, base.m

    def rep(key: jax.Array, prm: dict[str, jax.Array]) -> dict[str, jax.Array]:
        d = rf.draw_rf(base, key, prm)
        a = eng.normal_draws(key, [("a", k_p, (n1,))], jnp.dtype(base.dtype))["a"]  # (kP, n1)
        if cfg.fixed_a:  # a given second layer in every P-cell (P = W only); the other draws are unchanged
            a = jnp.broadcast_to(prm["a_fixed"], (k_p, n1))
        mu0, r, ridge = prm["mu0"], prm["lr_ratio"], prm["ridge"]
        sets, t = d["x_test"].shape[:2]
        x_test = d["x_test"].reshape(sets * t, n0)
        z_test = jnp.einsum("tj,pij->pti", x_test, d["w"]) / math.sqrt(n0)  # (kP, sets*T, n1)
        f_test, g_test = act(z_test) - mu0, dact(z_test) * (a * a)[:, None, :]
        f0_test = jnp.einsum("pti,pi->pt", f_test, a) / math.sqrt(n1)
        labels = eng.label_columns(d["y_train"], d.get("eps"))  # (kX, m, 1 + kE)

        parts = rf.gram_parts(m)
        test_by_columns = _predict_by_columns(m, n0, n1, sets * t, labels_count(base))

        def cell(c):
            p, i = c // k_x, c % k_x
            x, y = d["x"][i], labels[i]
            z = _pre(x, d["w"][p])
            f, g = act(z) - mu0, dact(z)
            # the three Gram matrices are symmetric: only their lower blocks are computed (rf.symmetric_gram)
            gram = rf.symmetric_gram(x, parts) / n0
            theta = (rf.symmetric_gram(f, parts) / n1
                     + r * gram * (rf.symmetric_gram(g * jnp.abs(a[p]), parts) / n1))
            if cfg.include_f0:
                y = y.at[:, 0].add(-(f @ a[p]) / math.sqrt(n1))
            if cfg.ridgeless:
                alpha = _pinv_solve(theta, y)
            else:
                chol = jnp.linalg.cholesky(theta + ridge * jnp.eye(m, dtype=theta.dtype))
                alpha = jax.scipy.linalg.cho_solve((chol, True), y)
            pred = f_test[p] @ (f.T @ alpha) / n1  # the random-feature part, without a T x m matrix
            if test_by_columns:
                # sum_j (x_t.x_j / n0) (g~_t.g_j / n1) alpha_j = x_t^T [X^T diag(alpha) G] g~_t / (n0 n1): per
                # label column an n0 x n1 matrix instead of the T x m test kernels (cheaper for few columns)
                mats = jnp.einsum("jk,ji,jc->cki", x, g, alpha)  # (c, n0, n1)
                pred = pred + r * jnp.einsum("tk,cki,ti->tc", x_test, mats, g_test[p]) / (n0 * n1)
            else:
                pred = pred + r * ((x_test @ x.T / n0) * (g_test[p] @ g.T / n1)) @ alpha  # (sets*T, c)
            if cfg.include_f0:
                pred = pred.at[:, 0].add(f0_test[p])
            # Y - yhat(X) = ridge (Theta + ridge)^-1 (Y - f0(X)); ridgeless: the least-squares residual
            res = y - theta @ alpha if cfg.ridgeless else ridge * alpha
            return pred.reshape(sets, t, -1), jnp.mean(eng.combine_columns(res, base.noisy) ** 2, axis=0)

        pred, train = jax.lax.map(cell, jnp.arange(base.n_cells), batch_size=base.cell_batch)
        pred = pred.reshape((k_p, k_x) + pred.shape[1:])
        yhat = eng.combine_columns(pred, base.noisy)
        resid = jnp.moveaxis(yhat - d["y_test"][None, None, :, :, None], (2, 3), (0, 4))
        return {"resid": resid, "train": train, "taus": jnp.zeros((base.n_cells, 2), resid.dtype)}

    return rep


def _pinv_solve(theta: jax.Array, y: jax.Array) -> jax.Array:
    """``Theta^+ y`` for a symmetric PSD ``Theta``: the ``ridge -> 0`` limit of ``(Theta + ridge)^-1 y`` (min-norm
    interpolation, or least squares where ``Theta`` is singular). Eigenvalues below ``m eps`` times the largest are
    treated as zero (``Theta`` is exactly singular with fewer features than samples, and for ReLU the samples whose
    gates are all closed share one kernel row)."""
    evals, evecs = jnp.linalg.eigh(theta)
    cut = theta.shape[0] * jnp.finfo(theta.dtype).eps * jnp.max(jnp.abs(evals))
    inv = jnp.where(evals > cut, 1.0 / jnp.where(evals > cut, evals, 1.0), 0.0)
    return evecs @ (inv[:, None] * (evecs.T @ y))


def labels_count(base: Any) -> int:
    """Label columns of one fit: the clean labels and, with noise, the ``k_eps`` noise vectors."""
    return 1 + (base.trials[2] if base.noisy else 0)


def _test_flops(m: int, n0: int, n1: int, t: int, c: int) -> tuple[float, float]:
    """FLOPs of the first-layer part of the test predictions: through the ``t x m`` test kernels, and per label
    column through ``X^T diag(alpha) G`` (``n0 x n1``)."""
    return 2.0 * t * m * (n1 + n0 + c), 2.0 * c * n0 * n1 * (m + t)


def _predict_by_columns(m: int, n0: int, n1: int, t: int, c: int) -> bool:
    kernels, columns = _test_flops(m, n0, n1, t, c)
    return columns < kernels


def ntk_flops(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], *, noisy: bool = True,
              test_sets: int = 1) -> dict[str, float]:
    """FLOPs of one repetition of :func:`simulate_ntk` as executed, by stage, plus ``total`` and ``per_trial``
    (products ``2abc``, the symmetric Gram matrices as :func:`montecarlo.random_features.symmetric_gram` computes
    them, Cholesky ``m^3/3``, a triangular solve ``m^2`` per right-hand side)."""
    k_p, k_x, k_e = trials
    c = 1 + (k_e if noisy and k_e > 1 else 0)
    cells = k_p * k_x
    t = n_test * test_sets
    parts = rf.gram_parts(m)
    fl = {"test_features": 2.0 * k_p * t * n0 * n1, "features": 2.0 * cells * m * n0 * n1,
          "gram": cells * (rf.symmetric_gram_flops(m, n0, parts) + 2.0 * rf.symmetric_gram_flops(m, n1, parts)),
          "cholesky": cells * m**3 / 3.0, "solve": cells * 2.0 * m * m * c,
          "predict": cells * (2.0 * m * n1 * c + 2.0 * t * n1 * c + min(_test_flops(m, n0, n1, t, c)))}
    fl["total"] = sum(fl.values())
    fl["per_trial"] = fl["total"] / cells
    return fl


def _ntk_cost(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], sets: int,
              itemsize: int) -> dict[str, float]:
    """Bytes of one fit and of a repetition's shared arrays, FLOPs of one fit and of a repetition (products
    ``2abc``, Cholesky ``m^3/3``)."""
    k_p, k_x, k_e = trials
    c = 1 + (k_e if k_e > 1 else 0)
    t = n_test * sets
    fl = ntk_flops(n0, n1, m, n_test, trials, test_sets=sets)
    cell_flops = fl["total"] / (k_p * k_x)
    return {"cell_bytes": itemsize * (3.0 * m * n1 + 4.0 * m * m + 3.0 * t * m),
            "shared_bytes": itemsize * (k_p * n1 * n0 + k_x * m * n0 + 2.0 * t * n0 + 3.0 * k_p * t * n1
                                        + k_p * k_x * k_e * t * 3),
            "cell_flops": cell_flops, "rep_flops": fl["total"]}


@jax_float64
def simulate_ntk(problem: Problem, *, lr_ratio: float = 1.0, include_f0: bool = False, trials: Any = (2, 2, 2),
                 reps: int = 4, seed: int = 0, n_test: int | None = None, center: bool = True,
                 second_layer: Any = None,
                 dtype: Any = "float64", max_memory: float = eng.DEFAULT_MAX_MEMORY, devices: int | None = None,
                 progress: Callable[[int], None] | None = None) -> SimulationResult:
    r"""Simulate empirical-NTK kernel ridge regression and its fine-grained bias-variance decomposition.

    Args:
        problem: a scalar :class:`rmt.problem.Problem` (the ridge is added to ``Theta(X, X)``; ``ridge = 0`` uses
            the pseudo-inverse).
        lr_ratio: ``r >= 0``, the first layer's learning rate relative to the second (``0``: random features).
        include_f0: add the network's initial function (module docstring).
        second_layer: optional fixed second-layer weights ``a`` (length ``n1``), used in every cell instead of
            drawing them (the source ``P`` is then ``W`` alone): the ``a``-conditional error, which at fixed width
            does not concentrate (the linear scaling of :mod:`theory.ntk`).
        trials, reps, seed, n_test, center, dtype, max_memory, devices, progress: as
            :func:`montecarlo.random_features.simulate_rf`; the source ``P`` is the pair ``(W, a)``.

    Returns:
        :class:`montecarlo.results.SimulationResult` (model ``"ntk"``) with extras ``noise_variance``
        (``V_eps + V_Peps + V_Xeps + V_PXeps``), ``init_variance`` (``V_P + V_PX``) and ``sample_variance``
        (``V_X``): d'Ascoli et al.'s ordered split, which sums to ``variance``.

    Raises:
        ValueError: bad arguments. rmt.solvers.SolverError: non-finite predictions.
    """
    timer = Timer()
    lr = float(check_nonnegative(lr_ratio, "lr_ratio"))
    reps = eng.check_count(reps, "reps")
    seed = eng.check_seed(seed)
    base, prm, options = rf.prepare_rf(problem, trials=trials, n_test=n_test, center=center, taus=False,
                                       solver="kernel", dtype=dtype, max_memory=max_memory, test_sets=1,
                                       cost=_ntk_cost)
    cfg = _Config(rf=base, include_f0=bool(include_f0), fixed_a=second_layer is not None,
                  ridgeless=float(problem.ridge) == 0.0)
    prm = dict(prm, lr_ratio=jnp.asarray(lr, base.dtype))
    options = dict(options, model="ntk", lr_ratio=lr, include_f0=bool(include_f0))
    if second_layer is not None:
        a_fixed = check_finite(np.atleast_1d(np.asarray(second_layer, dtype=float)), "second_layer")
        if a_fixed.shape != (base.n1,):
            raise ValueError(f"second_layer must have length n1 = {base.n1}, got shape {a_fixed.shape}")
        prm["a_fixed"] = jnp.asarray(a_fixed, base.dtype)
        options["second_layer"] = a_fixed.tolist()
    options.pop("taus", None)
    raw = eng.run_repetitions(_rep_fn(cfg), prm, seed=seed, reps=reps, rep_flops=options["rep_flops"],
                              devices=devices, progress=progress)
    eng.raise_if_nonfinite(raw, ("resid", "train"), "NTK simulation", "use float64 or a larger ridge")
    samples = rf.summarize_rf(raw, base.noisy, 1)
    for name, parts in _GROUPS.items():
        samples[name] = sum(samples[p] for p in parts)
    return make_result("ntk", samples, sources=SOURCES, trials=base.trials, extras=tuple(_GROUPS), reps=reps,
                       seed=seed, n_test=base.n_test, config=options, elapsed_s=timer.elapsed)


@jax_float64
def ntk_draws(problem: Problem, *, seed: int = 0, rep: int = 0, trials: Any = (2, 2, 2), n_test: int | None = None,
              center: bool = True) -> tuple[rf.RFDraws, np.ndarray]:
    """The draws of repetition ``rep`` of :func:`simulate_ntk`: those of
    :func:`montecarlo.random_features.rf_draws` and the second-layer weights ``a`` (``(k_P, n1)``)."""
    draws = rf.rf_draws(problem, seed=seed, rep=rep, trials=trials, n_test=n_test, center=center)
    n1 = draws.w.shape[1]
    key = eng.rep_key(jnp.asarray(eng.check_seed(seed), jnp.int64), check_positive_int(rep, "rep", minimum=0))
    a = jax.jit(lambda k: eng.normal_draws(k, [("a", draws.w.shape[0], (n1,))], jnp.float64)["a"])(key)
    return draws, np.asarray(a)
