"""Validation cases of the Hermite eigenstructure ansatz (``rmt validate --model hea``), for
:mod:`rmt.figures.validate`.

Theory: :func:`rmt.theory.hea.learning_curve` (Karkada, Turnbull, Liu & Simon arXiv:2510.14878; eigenframework on
the ansatz's spectrum); simulation: :func:`rmt.montecarlo.hea.simulate_hea` (kernel ridge regression with the exact
kernel on sampled Gaussian data). Only the regime where the ansatz is expected to hold is validated here: high
effective dimension (isotropic ``d = 40-100``, ``sum gamma^2 = 1/d``); the map of where it breaks is the figure
``rmt figure hea-learning-curves``. Allowance 10 %: the ansatz is an approximation with O(1/d) level corrections and
the simulation has O(1/n) finite-size effects (measured deviations at d = 100: 1-4 %).
"""

from __future__ import annotations

import numpy as np

from rmt.figures.validate import ValidationCase, register_model
from rmt.theory.hea import hea_spectrum, learning_curve

__all__ = ["cases", "make_case"]

TARGET = {(0,): 1.0, (1,): 0.6, (0, 1): 0.5, (2, 2): 0.4}


def make_case(kernel: str, d: int, n: int, ridge: float, *, trials: int, n_test: int, seed: int,
              target: dict | None = None) -> ValidationCase:
    g = np.full(d, 1.0 / d)
    tgt = target or TARGET

    def theory():
        s = hea_spectrum(kernel, g, 20_000, target=tgt, max_level=6)
        return {"test_error": float(learning_curve(s, n, ridge)[0].test_error)}

    def simulate():
        from rmt.montecarlo.hea import simulate_hea

        s = simulate_hea(kernel, g, tgt, n, ridge, trials=trials, n_test=n_test, seed=seed)
        return {"test_error": s.test_error}, {"test_error": s.test_error_stderr}

    return ValidationCase(model="hea", label=f"HEA {kernel} isotropic d={d} n={n} ridge={ridge:g}", theory=theory,
                          simulate=simulate, allowance=0.10, floor=1e-3, keys=("test_error",),
                          params={"kernel": kernel, "d": d, "n": n, "ridge": ridge})


def cases(quick: bool) -> list[ValidationCase]:
    """The grid; ``quick`` is one small case."""
    if quick:
        return [make_case("gaussian", 40, 60, 1e-3, trials=4, n_test=400, seed=1, target={(0,): 1.0, (1, 2): 0.5})]
    out = []
    for kernel in ("gaussian", "laplace", "relu-ntk", "relu-nngp"):
        for n in (200, 800):
            out.append(make_case(kernel, 100, n, 1e-3, trials=8, n_test=2000, seed=n))
    return out


register_model("hea", cases)
