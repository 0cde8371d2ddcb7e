"""Heavier checks, deselected by default (run with ``-m slow``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from rmt.montecarlo.linear import simulate_linear
from rmt.problem import LinearProblem
from rmt.stieltjes import mp_G, mp_K

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_quick_prints_the_matmul_fraction():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "montecarlo.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"matmul_fraction=([0-9.]+)", last)
    assert match and 0 < float(match.group(1)) < 2, last


@pytest.mark.slow
@pytest.mark.parametrize("gamma, ridge", [(0.5, 0.1), (2.0, 0.1), (2.0, 1.0)])
def test_isotropic_ridge_converges_at_larger_n(gamma, ridge):
    """n = 1000 and 24 repetitions: within 4 standard errors + 1% (the finite-size error is O(1/n))."""
    n = 1000
    r = simulate_linear(LinearProblem(n=n, d=gamma * n, ridge=ridge, noise=1.0, signal=1.0), trials=(4, 2),
                        reps=24, seed=9)
    g, k = float(mp_G(ridge, gamma)), float(mp_K(ridge, gamma))
    theory = ridge**2 * k + gamma * (g - ridge * k)
    assert abs(r.test_error - theory) <= 4 * r.stderr["test_error"] + 0.01 * theory, (r.test_error, theory)
