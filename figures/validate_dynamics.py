"""Validation cases of the learning dynamics (``rmt validate --model dynamics``), for :mod:`figures.validate`.

Each case compares a theory curve of :mod:`theory.dynamics` with simulated training runs of
:mod:`montecarlo.dynamics` at a few steps (quantities ``test_error@<step>`` and ``train_error@<step>``): online SGD
below its stability threshold at two batch sizes (exact recursion: allowance 0), full-batch gradient descent on
``n`` samples (two-point contour equivalent: ``3/n``), multi-pass SGD on ``n`` samples (homogenized SGD,
deterministic equivalent: ``3/n``) and gradient descent on ``N`` random projections with unlimited data (``3/N``;
full grid only).
Step 0 is deterministic; the absolute floor ``1e-9`` covers its rounding.
"""

from __future__ import annotations

from typing import Any


import numpy as np

from rmt.figures.validate import ValidationCase, register_model
from rmt.theory import dynamics as D
from rmt.theory.eigen import Eigensystem

__all__ = ["cases"]


def _keys(curve_like: Any, steps) -> dict[str, float]:
    out = {f"test_error@{k}": float(v) for k, v in zip(steps, curve_like.test_error)}
    if curve_like.train_error is not None:
        out.update({f"train_error@{k}": float(v) for k, v in zip(steps, curve_like.train_error)})
    return out


def _case(label: str, theory, run, allowance: float, params: dict[str, Any]) -> ValidationCase:
    def simulate():
        sim = run()
        steps = [int(x) for x in sim.x]
        vals = _keys(sim, steps)
        errs = {f"test_error@{k}": float(v) for k, v in zip(steps, sim.test_stderr)}
        if sim.train_error is not None:
            errs.update({f"train_error@{k}": float(v) for k, v in zip(steps, sim.train_stderr)})
        return vals, errs

    return ValidationCase(model="dynamics", label=label, theory=theory, simulate=simulate, allowance=allowance,
                          floor=1e-9, params=params)


def cases(quick: bool) -> list[ValidationCase]:
    from rmt.montecarlo.dynamics import simulate_dynamics, simulate_runs

    reps, runs = (2, 50) if quick else (4, 100)
    out = []
    s = Eigensystem.power_law(1.3, 1.2, 100)
    online = [(0.3, 1)] if quick else [(0.3, 1), (0.8, 4)]
    for lr, B in online:
        steps = (0, 10, 100, 400)
        p = D.DynamicsProblem(s, "online-sgd", steps=steps, lr=lr, batch=B, noise=0.05)
        out.append(_case(f"online SGD M=100 lr={lr:g} B={B}", lambda p=p: _keys(D.evaluate(p), p.steps),
                         lambda p=p: simulate_dynamics(p, reps=reps, runs_per_rep=runs, seed=int(100 * lr) + B),
                         D.finite_size_allowance(p), p.as_dict()))
    sizes = [80] if quick else [80, 200]
    for n in sizes:
        sg = Eigensystem.power_law(1.2, 1.5, 2 * n)
        steps = (0, 5, 50, 400)
        p = D.DynamicsProblem(sg, "gf", steps=steps, n=n, lr=0.5, noise=0.2)
        out.append(_case(f"gradient descent n={n} M={2 * n} lr=0.5", lambda p=p: _keys(D.evaluate(p), p.steps),
                         lambda p=p: simulate_dynamics(p, reps=reps, runs_per_rep=runs // 2, seed=n),
                         D.finite_size_allowance(p), p.as_dict()))
    for n in sizes:
        # homogenized SGD needs many comparable directions (see docs/dynamics.md): a flat spectrum k^-0.7
        sm = Eigensystem(np.arange(1, n // 2 + 1) ** -0.7, np.arange(1, n // 2 + 1) ** -1.2)
        steps = (0, 50, 500, 2000)
        p = D.DynamicsProblem(sm, "sgd", steps=steps, n=n, lr=1.0 / sm.trace, batch=1, ridge=0.01, noise=0.2)
        out.append(_case(f"multi-pass SGD n={n} M={n // 2} lr=1/trace", lambda p=p: _keys(D.evaluate(p), p.steps),
                         lambda p=p: simulate_dynamics(p, reps=reps, runs_per_rep=runs, seed=n + 1),
                         D.finite_size_allowance(p), p.as_dict()))
    widths = [] if quick else [40, 160]  # quick: compiled in the fast suite, kept to three programs
    sp = Eigensystem.power_law(1.5, 1.3, 800)
    for N in widths:
        steps = (0, 10, 100, 1000)
        out.append(_case(f"random projections N={N} M=800 lr=0.5 (P = inf)",
                         lambda N=N, steps=steps: _keys(D.projected_gradient_descent(sp, N, 0.5, steps), steps),
                         lambda N=N, steps=steps: simulate_runs(*sp.expanded(), "projected", steps, lr=0.5, n=N,
                                                                reps=reps, runs_per_rep=runs // 2, seed=N),
                         3.0 / N, {"width": N, "lr": 0.5, "steps": list(steps)}))
    return out


register_model("dynamics", cases)
