"""The validation framework itself: pass/fail rule, z-scores, report files, exit codes."""

import json
import math

import pytest

import rmt.figures.validate as V
from rmt.figures.cli import main


def _case(label, sim, err, theory=1.0, allowance=0.02, floor=0.0):
    return V.ValidationCase(model="toy", label=label, theory=lambda: {"test_error": theory},
                            simulate=lambda: ({"test_error": sim}, {"test_error": err}), allowance=allowance,
                            floor=floor)


def test_compare_rule():
    ok = V.compare(_case("a", 1.05, 0.01), {"test_error": 1.0}, {"test_error": 1.05}, {"test_error": 0.01})[0]
    assert ok.ok and ok.z == pytest.approx(5.0) and ok.tolerance == pytest.approx(0.06)
    bad = V.compare(_case("b", 1.07, 0.01), {"test_error": 1.0}, {"test_error": 1.07}, {"test_error": 0.01})[0]
    assert not bad.ok
    nan = V.compare(_case("c", math.nan, 0.01), {"test_error": 1.0}, {"test_error": math.nan}, {"test_error": 0.01})
    assert not nan[0].ok


def test_z_score_of_rounding_is_not_a_deviation():
    """An exactly-zero limit simulated as 1e-29 +- 1e-31 (float64 rounding) gets z ~ 1e-17, not 100; a standard
    error of zero with a real deviation still gives a large z and fails."""
    zero = V.compare(_case("d", 1e-29, 1e-31, theory=0.0, floor=1e-3), {"test_error": 0.0}, {"test_error": 1e-29},
                     {"test_error": 1e-31})[0]
    assert zero.ok and abs(zero.z) < 1e-10
    off = V.compare(_case("e", 0.1, 0.0, theory=0.0, floor=1e-3), {"test_error": 0.0}, {"test_error": 0.1},
                    {"test_error": 0.0})[0]
    assert not off.ok and off.z > 1e10


@pytest.fixture
def toy_registry(monkeypatch):
    registry = {}
    monkeypatch.setattr(V, "_REGISTRY", registry)
    monkeypatch.setattr(V, "_load_models", lambda: None)
    return registry


def test_run_and_report(toy_registry, tmp_path):
    toy_registry["toy"] = lambda quick: [_case("good", 1.01, 0.01), _case("bad", 1.5, 0.01)]
    report = V.run_validation(quick=True)
    assert not report.ok and report.summary()["failed"] == 1
    assert report.worst[0].case == "bad"
    paths = V.write_report(report, tmp_path)
    assert json.loads(paths["json"].read_text())["failed"] == 1
    assert "**NO**" in paths["md"].read_text()
    assert paths["png"].stat().st_size > 1000 and len(paths["csv"].read_text().splitlines()) == 3


def test_cli_exit_codes(toy_registry, tmp_path, capsys):
    toy_registry["toy"] = lambda quick: [_case("good", 1.01, 0.01)]
    assert main(["validate", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    toy_registry["toy"] = lambda quick: [_case("bad", 2.0, 0.01)]
    assert main(["validate", "--quiet", "--out", str(tmp_path)]) == 1
    assert main(["validate", "--model", "nope", "--out", str(tmp_path)]) == 2
    toy_registry.clear()
    assert main(["validate", "--quiet", "--out", str(tmp_path)]) == 2  # nothing to run is an error, not a pass
    capsys.readouterr()
