"""Importing any module of the package leaves JAX's global configuration alone, and simulations still run in float64
(scoped 64-bit mode): a fresh interpreter imports every module, checks ``jax_enable_x64`` is still off, and runs a
small simulate_rf whose numbers were recorded with the code that switched JAX to 64-bit globally at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# simulate_rf(Problem(n0=20, n1=30, m=25, ridge=0.1, activation="relu", noise=0.25), trials=(2, 2, 2), reps=2,
# n_test=50), seed 0, computed before the change (global jax_enable_x64 switched on by `import montecarlo`)
RECORDED = {"test_error": 0.4814627533301908, "train_error": 0.20755654850611355, "bias": 0.13193957680683824,
            "variance": 0.3495231765233525, "tau1": 4.730022832531453, "tau2": 2.6372687498583005}

SCRIPT = """
import importlib, json, pkgutil
import numpy as np
import jax
import rmt, rmt.theory, rmt.montecarlo, rmt.figures
names = []
for pkg in (rmt, rmt.theory, rmt.montecarlo, rmt.figures):
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
after_import = bool(jax.config.jax_enable_x64)
from rmt.montecarlo import simulate_rf
from rmt.montecarlo import ntk
from rmt.problem import Problem
r = simulate_rf(Problem(n0=20, n1=30, m=25, ridge=0.1, activation="relu", noise=0.25), trials=(2, 2, 2), reps=2,
                n_test=50)
x = np.random.default_rng(0).standard_normal((3, 4))
w = np.random.default_rng(1).standard_normal((5, 4))
a = np.ones(5)
inside = ntk.empirical_ntk(x, x, w, a)  # an entry point: float64 inside its scope
act = rmt.get_activation("relu")
args = [jax.numpy.asarray(v) for v in (x, x, w, a, 1.0, 0.0)]
outside = ntk._ntk_jit(act, *args)  # the same jitted kernel called outside any scope (float32 by JAX's default)
print(json.dumps({"modules": names, "after_import": after_import, "after_run": bool(jax.config.jax_enable_x64),
                  "values": {k: float(v) for k, v in r.as_dict().items() if isinstance(v, float)},
                  "dtypes": sorted({str(np.asarray(v).dtype) for v in r.samples.values()}),
                  "inside": str(inside.dtype), "outside": str(outside.dtype),
                  "agree": float(np.max(np.abs(np.asarray(inside) - np.asarray(outside, dtype=float))))}))
"""


def test_imports_leave_x64_off_and_simulation_stays_float64():
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    assert {"rmt.montecarlo.eigen", "rmt.theory.eigen_autodiff", "rmt.figures.cli"} <= set(out["modules"])
    assert out["after_import"] is False and out["after_run"] is False
    assert out["dtypes"] == ["float64"]
    for k, v in RECORDED.items():  # float32 would differ at ~1e-7 relative
        assert out["values"][k] == pytest.approx(v, rel=1e-10), k
    # the compiled kernel is not shared between the scoped float64 call and a plain call
    assert out["inside"] == "float64" and out["outside"] == "float32"
    assert 0 < out["agree"] < 1e-4
