"""Repetitions sharded over a 2-device CPU mesh (a subprocess with XLA_FLAGS set before JAX starts) give the
single-device numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rmt.montecarlo.eigen import simulate_eigen_rf
from rmt.montecarlo.random_features import simulate_rf
from rmt.problem import Problem

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = dict(n0=12, n1=20, m=16, ridge=0.3, activation="relu", noise=0.5, nonlinear_signal=0.3)
EIGEN = dict(eigenvalues=[1.0, 0.5, 0.25, 0.125, 0.0625, 0.03], target_power=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05], n=5, p=4,
             ridge=0.05, noise=0.1, datasets=5, feature_draws=2, seed=3)
SCRIPT = f"""
import json, jax
from rmt.montecarlo import _engine as eng
from rmt.montecarlo.random_features import simulate_rf
from rmt.problem import Problem
where = eng.run_repetitions(lambda key, prm: {{"device": jax.lax.axis_index("reps")}}, {{}}, seed=0, reps=5)
r = simulate_rf(Problem(**{PROBLEM!r}), trials=(2, 3, 2), reps=3, seed=11, n_test=40)
from rmt.montecarlo.eigen import simulate_eigen_rf
e = simulate_eigen_rf(**{EIGEN!r})
print(json.dumps({{"count": jax.device_count(), "device": where["device"].tolist(),
                  "samples": {{k: v.tolist() for k, v in r.samples.items()}}, "eigen": e.values}}))
"""


def test_two_device_mesh_gives_the_single_device_results():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["count"] == 2
    assert out["device"] == [0, 1, 0, 1, 0]  # repetition r ran on device r mod 2
    one = simulate_rf(Problem(**PROBLEM), trials=(2, 3, 2), reps=3, seed=11, n_test=40)
    for k, v in one.samples.items():
        np.testing.assert_allclose(out["samples"][k], v, rtol=1e-12, atol=1e-15, err_msg=k)
    # the eigen model runs through the same engine: its datasets are sharded too and the estimates do not change
    eig = simulate_eigen_rf(**EIGEN)
    for k, v in eig.values.items():
        assert out["eigen"][k] == pytest.approx(v, rel=1e-12, abs=1e-15), k
