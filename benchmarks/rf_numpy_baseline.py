"""The plain numpy script a user would write for the crossed random-feature design of ``rmt simulate rf``.

The baseline of ``benchmarks/cli_vs_numpy.py``: the same model and sizes as ``rmt simulate rf --n0 N0 --n1 N1 --m M
--trials KP,KX,KE --reps R --n-test T --no-taus`` (ReLU features centred by ``mu0 = 1/sqrt(2 pi)``, a linear
teacher with ``|beta|^2 = n0``, label noise, kernel ridge ``(F F^T / n1 + ridge I)^{-1}``), written the direct way:
numpy's default generator, one ``np.linalg.solve`` per fit with the clean labels and the ``k_eps`` noise vectors as
right-hand sides, and the test error with its bias and fine-grained variance terms from means over the axes of the
``k_P x k_X x k_eps`` residual array. It prints one JSON line (test error, bias, variance, seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def one_repetition(rng: np.random.Generator, n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int],
                   ridge: float, noise: float) -> np.ndarray:
    """Residuals on the test set, shape ``(k_P, k_X, k_eps, n_test)``."""
    k_p, k_x, k_e = trials
    k_e = k_e if noise > 0 else 1  # without noise one label vector per fit (as rmt does)
    mu0 = 1.0 / math.sqrt(2.0 * math.pi)
    beta = rng.standard_normal(n0)
    beta *= math.sqrt(n0) / np.linalg.norm(beta)
    x_test = rng.standard_normal((n_test, n0))
    y_test = x_test @ beta / math.sqrt(n0)
    ws = [rng.standard_normal((n1, n0)) for _ in range(k_p)]
    xs = [rng.standard_normal((m, n0)) for _ in range(k_x)]
    eps = rng.standard_normal((m, k_e)) * math.sqrt(noise)
    resid = np.empty((k_p, k_x, k_e, n_test))
    for p, w in enumerate(ws):
        f_test = np.maximum(x_test @ w.T / math.sqrt(n0), 0.0) - mu0
        for i, x in enumerate(xs):
            f = np.maximum(x @ w.T / math.sqrt(n0), 0.0) - mu0
            kernel = f @ f.T / n1 + ridge * np.eye(m)
            y = (x @ beta / math.sqrt(n0))[:, None] + eps  # (m, k_eps)
            alpha = np.linalg.solve(kernel, y)
            pred = f_test @ (f.T @ alpha / n1)  # (n_test, k_eps)
            resid[p, i] = (pred - y_test[:, None]).T
    return resid


def summarize(resid: np.ndarray) -> dict[str, float]:
    """Test error, bias and variance of one repetition (plain means; the unbiased crossed-design estimators of
    ``rmt.montecarlo.estimators`` differ only in their finite-sample corrections)."""
    err = float(np.mean(resid**2))
    bias = float(np.mean(np.mean(resid, axis=(0, 1, 2)) ** 2))
    return {"test_error": err, "bias": bias, "variance": err - bias}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n0", type=int, default=400)
    ap.add_argument("--n1", type=int, default=800)
    ap.add_argument("--m", type=int, default=800)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--trials", default="3,3,2")
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--ridge", type=float, default=0.1)
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    start = time.perf_counter()
    trials = tuple(int(v) for v in args.trials.split(","))
    rng = np.random.default_rng(args.seed)
    per_rep = [summarize(one_repetition(rng, args.n0, args.n1, args.m, args.n_test, trials, args.ridge, args.noise))
               for _ in range(args.reps)]
    out = {k: float(np.mean([r[k] for r in per_rep])) for k in per_rep[0]}
    out["seconds"] = time.perf_counter() - start
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
