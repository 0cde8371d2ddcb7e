"""benchmarks/device_check.py: its fit, and the whole script at small sizes on the CPU (``--quick``)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "device_check.py"


def load():
    spec = importlib.util.spec_from_file_location("device_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_weighted_line_recovers_a_line_and_its_uncertainty():
    dc = load()
    fit = dc.weighted_line([0.0, 1.0, 2.0], [1.0, 3.0, 5.0], [0.1, 0.1, 0.1])
    assert fit["intercept"] == pytest.approx(1.0) and fit["slope"] == pytest.approx(2.0)
    # ordinary least squares with sigma = 0.1 on x = 0, 1, 2: var(a) = sigma^2 * 5/6, var(b) = sigma^2 / 2
    assert fit["intercept_stderr"] == pytest.approx(0.1 * math.sqrt(5 / 6))
    assert fit["slope_stderr"] == pytest.approx(0.1 * math.sqrt(0.5))


@pytest.mark.slow
def test_quick_run_writes_json_and_figures(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "device_check.json").read_text())
    assert report["device"]["platform"] in ("cpu", "gpu", "cuda", "rocm", "tpu")
    for dtype in ("float64", "float32"):
        for engine in ("rf", "ntk"):
            assert 0 < report["engine_speed"][dtype][engine]["matmul_fraction"] < 2
    assert len(report["double_descent"]["points"]) == 4
    assert all(math.isfinite(v) for v in report["double_descent"]["max_abs_z"].values())
    assert math.isfinite(report["ntk_convergence"]["fit_deviation_vs_inverse_n0"]["intercept"])
    for name in report["figures"]:
        assert (tmp_path / name).stat().st_size > 10_000
