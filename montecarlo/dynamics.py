r"""Monte Carlo mirror of :mod:`theory.dynamics`: actual training runs of gradient descent and SGD on Gaussian data.

The simulated model (the conventions of :mod:`theory.dynamics`): features ``x ~ N(0, diag(lambda))`` in ``M``
dimensions (multiplicities expanded), ``w*_i = +sqrt(v_i^2 / lambda_i)``, labels ``y = w*.x + eps``,
``eps ~ N(0, noise)``, start ``w = 0``. Errors are exact over the test distribution:
``test_error = (w - w*)^T diag(lambda) (w - w*)`` (excess) and ``train_error = |X w - y|^2 / n``.

Algorithms (each run is one ``jax.lax.scan`` over steps; runs are vmapped inside a repetition, and repetitions
are spread over the devices by :func:`montecarlo._engine.run_repetitions`):

* ``gd``: full-batch gradient descent ``w <- w - lr [(Sigma_hat w - X^T y/n) + ridge w]`` on a fresh data set per
  run (gradient flow at time ``lr x steps`` when ``lr`` is small; :func:`theory.dynamics.gradient_descent` is the
  exact theory for any ``lr``);
* ``online-sgd``: a fresh batch of ``B`` samples every step, ``w <- w - (lr/B) X_b^T (X_b w - y_b)``
  (Bordelon & Pehlevan arXiv:2106.02713);
* ``projected``: the dynamical scaling-law model of Bordelon, Atanasov & Pehlevan (arXiv:2402.01092) with unlimited
  data: gradient descent ``theta <- theta - lr (A Lambda A^T/N theta - A Lambda w*/sqrt N)`` on the population loss
  of ``N = n`` random projections ``A x / sqrt N`` (a fresh ``A`` per run), test error
  ``|Lambda^{1/2}(w* - A^T theta/sqrt N)|^2``;
* :func:`simulate_scaling_model`: the same model with ``P`` samples: full-batch gradient descent on
  ``F = X A^T / sqrt(N)`` (a fresh ``A`` and data set per run), test and training error;
* ``sgd``: multi-pass SGD on ``n`` fixed samples per run, a batch of ``B`` indices drawn uniformly with replacement
  every step, ``w <- w - (lr/B) X_b^T (X_b w - y_b) - lr ridge w`` (Paquette, Paquette, Adlam & Pennington
  arXiv:2206.07252).

The risks are recorded at the requested steps; estimates are means over all runs with standard errors
``std / sqrt(runs)``. Random streams: repetition ``r`` uses :func:`montecarlo._engine.rep_key` ``(seed, r)``,
split into its runs, then ``fold_in`` by step. This module never imports :mod:`theory` (it reads a problem by duck
typing: ``system.expanded()``, ``algorithm``, ``steps``/``times``, ``n``, ``lr``, ``batch``, ``ridge``,
``noise``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from rmt.records import Tabular
from rmt._validation import check_positive, check_positive_int
from rmt.limits import MAX_TRIALS
from rmt.montecarlo._engine import check_count, check_seed, run_repetitions
from rmt.numerics import jax_float64

__all__ = ["DynamicsSimulation", "gd_step_for_times", "simulate_dynamics", "simulate_runs", "simulate_scaling_model"]


@dataclass(frozen=True)
class DynamicsSimulation(Tabular):
    """Simulated risk trajectories.

    Attributes:
        axis: ``"time"`` or ``"step"``; x: times (``lr x steps``) or steps.
        test_error, test_stderr: mean excess risk and its standard error at each ``x``.
        train_error, train_stderr: the same for the training error (``None`` for online SGD).
        runs: independent runs; seed: the seed; params: the configuration.
    """

    axis: str
    x: np.ndarray
    test_error: np.ndarray
    test_stderr: np.ndarray
    train_error: np.ndarray | None
    train_stderr: np.ndarray | None
    runs: int
    seed: int
    params: Mapping[str, Any]

    def nested_records(self) -> list[dict[str, Any]]:
        """One dict per time/step: ``model``, ``algorithm``, ``time``/``step``, ``test_error``, ``train_error``
        (finite ``n``) and ``stderr`` (``{"test_error": ., "train_error": .}``); flat rows by :meth:`records`."""
        out = []
        for i, x in enumerate(self.x):
            rec: dict[str, Any] = {"model": "dynamics", "algorithm": self.params.get("algorithm", ""), self.axis: int(x) if self.axis == "step" else float(x),
                                   "test_error": float(self.test_error[i])}
            err = {"test_error": float(self.test_stderr[i])}
            if self.train_error is not None:
                rec["train_error"] = float(self.train_error[i])
                err["train_error"] = float(self.train_stderr[i])
            rec["stderr"] = err
            out.append(rec)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The sweep-store record: the configuration, the per-point records, runs and seed."""
        return {"config": dict(self.params), "points": self.nested_records(), "stderr": {}, "runs": self.runs,
                "seed": self.seed}


def gd_step_for_times(eigenvalues: Any, n: int, times: Any, *, accuracy: float = 0.01) -> tuple[float, np.ndarray]:
    """Step ``lr`` and step counts that put gradient descent on the requested times: ``lr`` at most
    ``accuracy / s_edge`` with ``s_edge = (sqrt(lambda_max) + sqrt(trace/n))^2`` (the per-mode discretisation error
    ``e^{-t s}`` vs ``(1 - lr s)^{t/lr}`` is then a relative ``lr s / 2 <= accuracy/2`` where ``t s ~ 1``), and
    refined so that every time is ``lr x`` an integer to within 0.5 %."""
    lam = np.asarray(eigenvalues, dtype=float)
    t = np.asarray(times, dtype=float)
    edge = (math.sqrt(lam.max()) + math.sqrt(lam.sum() / n)) ** 2
    lr = accuracy / edge
    steps = np.maximum(np.round(t / lr), 0).astype(np.int64)
    return lr, steps


def _record_slots(K: int, slots: tuple[int, ...]) -> tuple[int, jax.Array]:
    """``(number of recorded steps, slot of each step 0..K)``: step ``slots[i]`` is recorded in slot ``i``, every
    other step in the spare slot ``len(slots)`` (written and dropped)."""
    slot_of_step = np.full(K + 1, len(slots), dtype=np.int32)
    for i, s in enumerate(slots):
        slot_of_step[s] = i
    return len(slots), jnp.asarray(slot_of_step)


def _recorded_scan(step: Callable[[jax.Array, jax.Array], jax.Array], w0: jax.Array, slot_arr: jax.Array,
                   n_rec: int, K: int) -> tuple[jax.Array, jax.Array]:
    """Run ``w <- step(w, k)`` for ``k = 0..K`` in one ``jax.lax.scan``, recording ``w`` before each step in its slot
    (:func:`_record_slots`): ``(w after the last step, records (n_rec, dim))``."""
    def body(carry, k):
        w, rec = carry
        rec = rec.at[slot_arr[k]].set(w, mode="drop")
        return (step(w, k), rec), None

    (w_last, rec), _ = jax.lax.scan(body, (w0, jnp.zeros((n_rec,) + w0.shape, w0.dtype)), jnp.arange(K + 1))
    return w_last, rec


@functools.lru_cache(maxsize=32)
def _rep_fn(algorithm: str, n: int, M: int, batch: int, K: int, slots: tuple[int, ...], runs: int
            ) -> Callable[[jax.Array, Mapping[str, Any]], Mapping[str, jax.Array]]:
    n_rec, slot_arr = _record_slots(K, slots)

    def one_run(key, p):
        sl, ws, lr, noise, ridge = p["sqrt_lam"], p["wstar"], p["lr"], p["noise"], p["ridge"]
        kd, ks = jax.random.split(key)
        if algorithm == "projected":
            A = jax.random.normal(kd, (n, M), jnp.float64)  # n plays the width N here
            Z = A * sl
            H = Z @ Z.T / n
            b = Z @ (ws * sl) / math.sqrt(n)
            _, rec = _recorded_scan(lambda th, k: th - lr * (H @ th - b), jnp.zeros(n, jnp.float64), slot_arr,
                                    n_rec, K)
            u = sl * ws - (rec @ Z) / math.sqrt(n)
            return {"test": jnp.sum(u * u, axis=1), "train": jnp.zeros(n_rec)}
        if algorithm != "online-sgd":
            k1, k2 = jax.random.split(kd)
            X = jax.random.normal(k1, (n, M), jnp.float64) * sl
            y = X @ ws + jnp.sqrt(noise) * jax.random.normal(k2, (n,), jnp.float64)
        else:
            X = y = None
        if algorithm == "gd":
            H = X.T @ X / n
            b = X.T @ y / n

            def step(w, k):
                return w - lr * (H @ w - b + ridge * w)
        elif algorithm == "sgd":
            def step(w, k):
                idx = jax.random.randint(jax.random.fold_in(ks, k), (batch,), 0, n)
                Xb, yb = X[idx], y[idx]
                return w - (lr / batch) * (Xb.T @ (Xb @ w - yb)) - lr * ridge * w
        else:
            def step(w, k):
                kk = jax.random.fold_in(ks, k)
                k1, k2 = jax.random.split(kk)
                Xb = jax.random.normal(k1, (batch, M), jnp.float64) * sl
                yb = Xb @ ws + jnp.sqrt(noise) * jax.random.normal(k2, (batch,), jnp.float64)
                return w - (lr / batch) * (Xb.T @ (Xb @ w - yb))

        w_last, rec = _recorded_scan(step, jnp.zeros(M, jnp.float64), slot_arr, n_rec, K)
        e = rec - ws
        test = jnp.sum(e * e * sl * sl, axis=1)
        if algorithm == "online-sgd":
            train = jnp.zeros(n_rec)
        else:
            r = rec @ X.T - y
            train = jnp.mean(r * r, axis=1)
        return {"test": test, "train": train}

    def rep(key, p):
        keys = jax.random.split(key, runs)
        return jax.vmap(lambda k: one_run(k, p))(keys)

    return rep


def _spectrum_and_steps(eigenvalues: Any, target_power: Any, steps: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(lambda, v^2, steps)``: positive eigenvalues, non-negative target power of the same length, strictly
    increasing non-negative integer steps."""
    lam = np.asarray(check_positive(eigenvalues, "eigenvalues"), dtype=float).ravel()
    v2 = np.asarray(target_power, dtype=float).ravel()
    if v2.shape != lam.shape or np.any(v2 < 0):
        raise ValueError("target_power must be non-negative with one entry per eigenvalue")
    st = np.asarray(steps, dtype=np.int64).ravel()
    if st.size == 0 or np.any(st < 0) or np.any(np.diff(st) <= 0):
        raise ValueError(f"steps must be strictly increasing non-negative integers, got {st.tolist()}")
    return lam, v2, st


@jax_float64
def simulate_runs(eigenvalues: Any, target_power: Any, algorithm: str, steps: Any, *, lr: float, n: int | None = None,
                  batch: int = 1, ridge: float = 0.0, noise: float = 0.0, reps: int = 20, runs_per_rep: int = 10,
                  seed: int = 0, devices: int | None = None, progress: Callable[[int], None] | None = None
                  ) -> DynamicsSimulation:
    """Simulate ``reps x runs_per_rep`` independent training runs of ``algorithm`` (``gd``, ``online-sgd``,
    ``sgd``) and record the risks at ``steps`` (strictly increasing non-negative integers).

    Raises:
        ValueError: bad input (named); SolverError-free: a diverging run gives non-finite values, reported as
            ``ValueError`` naming ``lr``.
    """
    if algorithm not in ("gd", "online-sgd", "sgd", "projected"):
        raise ValueError(f"algorithm must be gd, online-sgd, sgd or projected, got {algorithm!r}")
    lam, v2, st = _spectrum_and_steps(eigenvalues, target_power, steps)
    lr = float(check_positive(lr, "lr"))
    batch = check_positive_int(batch, "batch")
    if algorithm == "online-sgd":
        n_ = 0
    else:
        if n is None:
            raise ValueError(f"n is required for {algorithm}")
        n_ = check_positive_int(n, "n")
    reps = check_count(reps, "reps")
    runs = check_count(runs_per_rep, "runs_per_rep", limit=MAX_TRIALS)
    seed = check_seed(seed)
    K = int(st.max())
    fn = _rep_fn(algorithm, n_, lam.size, batch, K, tuple(int(s) for s in st), runs)
    params = {"sqrt_lam": jnp.asarray(np.sqrt(lam)), "wstar": jnp.asarray(np.sqrt(v2 / lam)),
              "lr": jnp.asarray(lr), "noise": jnp.asarray(float(noise)), "ridge": jnp.asarray(float(ridge))}
    # always XLA's optimised compilation: the scans' random draws run far slower unoptimised
    raw = run_repetitions(fn, params, seed=seed, reps=reps, rep_flops=1e12,
                          devices=devices, progress=progress)
    test = raw["test"].reshape(-1, st.size)
    train = raw["train"].reshape(-1, st.size)
    if not np.all(np.isfinite(test)):
        raise ValueError(f"lr = {lr:g}: the simulated runs diverged (non-finite risk); lower lr")
    total = test.shape[0]
    se = lambda a: a.std(axis=0, ddof=1) / math.sqrt(total)  # noqa: E731
    has_train = algorithm not in ("online-sgd", "projected")
    cfg = {"algorithm": algorithm, "n": n, "lr": lr, "batch": batch, "ridge": float(ridge), "noise": float(noise),
           "steps": st.tolist(), "modes": int(lam.size)}
    return DynamicsSimulation("step", st, test.mean(0), se(test), train.mean(0) if has_train else None,
                              se(train) if has_train else None, total, seed, cfg)


@jax_float64
def simulate_dynamics(problem: Any, *, reps: int = 20, runs_per_rep: int = 10, seed: int = 0,
                      devices: int | None = None, progress: Callable[[int], None] | None = None
                      ) -> DynamicsSimulation:
    """Simulate a :class:`rmt.DynamicsProblem` (read by duck typing). Gradient flow at ``times`` runs gradient
    descent with the small step of :func:`gd_step_for_times` and reports the times ``lr x steps``; gradient flow
    with ``steps`` and ``lr`` runs gradient descent with that step.

    Raises:
        ValueError: population gradient flow (``n`` missing: nothing random to simulate) or bad input.
    """
    lam, v2 = problem.system.expanded()
    alg = problem.algorithm
    common = dict(reps=reps, runs_per_rep=runs_per_rep, seed=seed, devices=devices, progress=progress,
                  noise=problem.noise, ridge=problem.ridge, batch=problem.batch, n=problem.n)
    if alg == "gf":
        if problem.n is None:
            raise ValueError("n: the population gradient flow is deterministic; simulate it at a finite n")
        if problem.steps is None:
            lr, st = gd_step_for_times(lam, problem.n, problem.times)
            if np.any(np.diff(st) <= 0):
                raise ValueError("times are closer than the simulation step; space them further apart")
            sim = simulate_runs(lam, v2, "gd", st, lr=lr, **common)
            return DynamicsSimulation("time", st * lr, sim.test_error, sim.test_stderr, sim.train_error,
                                      sim.train_stderr, sim.runs, sim.seed, {**sim.params, "times_requested":
                                                                             list(problem.times)})
        return simulate_runs(lam, v2, "gd", problem.steps, lr=problem.lr, **common)
    return simulate_runs(lam, v2, alg, problem.steps, lr=problem.lr, **common)


@functools.lru_cache(maxsize=16)
def _scaling_rep_fn(P: int, N: int, M: int, K: int, slots: tuple[int, ...], runs: int
                    ) -> Callable[[jax.Array, Mapping[str, Any]], Mapping[str, jax.Array]]:
    n_rec, slot_arr = _record_slots(K, slots)

    def one_run(key, p):
        sl, ws, lr, noise = p["sqrt_lam"], p["wstar"], p["lr"], p["noise"]
        ka, kx, ke = jax.random.split(key, 3)
        A = jax.random.normal(ka, (N, M), jnp.float64)
        X = jax.random.normal(kx, (P, M), jnp.float64) * sl
        y = X @ ws + jnp.sqrt(noise) * jax.random.normal(ke, (P,), jnp.float64)
        F = X @ A.T / math.sqrt(N)
        H = F.T @ F / P
        b = F.T @ y / P
        _, rec = _recorded_scan(lambda th, k: th - lr * (H @ th - b), jnp.zeros(N, jnp.float64), slot_arr, n_rec, K)
        e = (rec @ A) / math.sqrt(N) - ws
        test = jnp.sum(e * e * sl * sl, axis=1)
        r = rec @ F.T - y
        return {"test": test, "train": jnp.mean(r * r, axis=1)}

    def rep(key, p):
        return jax.vmap(lambda k: one_run(k, p))(jax.random.split(key, runs))

    return rep


@jax_float64
def simulate_scaling_model(eigenvalues: Any, target_power: Any, width: int, samples: int, steps: Any, *, lr: float,
                           noise: float = 0.0, reps: int = 20, runs_per_rep: int = 10, seed: int = 0,
                           devices: int | None = None, progress: Callable[[int], None] | None = None
                           ) -> DynamicsSimulation:
    """Full-batch gradient descent ``theta <- theta - lr (F^T F theta - F^T y)/P`` on ``width = N`` random
    projections ``F = X A^T / sqrt(N)`` of ``samples = P`` Gaussian samples (the dynamical scaling-law model of
    Bordelon, Atanasov & Pehlevan arXiv:2402.01092 with finite data), a fresh ``A`` and data set per run, from
    ``theta = 0``. Records ``test_error = |Lambda^{1/2}(A^T theta/sqrt N - w*)|^2`` and
    ``train_error = |F theta - y|^2/P`` at ``steps`` (strictly increasing non-negative integers)."""
    lam, v2, st = _spectrum_and_steps(eigenvalues, target_power, steps)
    lr = float(check_positive(lr, "lr"))
    N = check_positive_int(width, "width")
    P = check_positive_int(samples, "samples")
    reps = check_positive_int(reps, "reps")
    runs = check_positive_int(runs_per_rep, "runs_per_rep")
    seed = check_seed(seed)
    fn = _scaling_rep_fn(P, N, lam.size, int(st.max()), tuple(int(s) for s in st), runs)
    params = {"sqrt_lam": jnp.asarray(np.sqrt(lam)), "wstar": jnp.asarray(np.sqrt(v2 / lam)),
              "lr": jnp.asarray(lr), "noise": jnp.asarray(float(noise))}
    raw = run_repetitions(fn, params, seed=seed, reps=reps, rep_flops=1e12, devices=devices, progress=progress)
    test = raw["test"].reshape(-1, st.size)
    train = raw["train"].reshape(-1, st.size)
    if not np.all(np.isfinite(test)):
        raise ValueError(f"lr = {lr:g}: the simulated runs diverged (non-finite risk); lower lr")
    total = test.shape[0]
    se = lambda a: a.std(axis=0, ddof=1) / math.sqrt(total)  # noqa: E731
    cfg = {"algorithm": "scaling", "width": N, "samples": P, "lr": lr, "noise": float(noise), "steps": st.tolist(),
           "modes": int(lam.size)}
    return DynamicsSimulation("step", st, test.mean(0), se(test), train.mean(0), se(train), total, seed, cfg)
