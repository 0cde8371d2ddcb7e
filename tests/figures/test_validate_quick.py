"""``rmt validate --quick``: the whole pipeline (theory, simulation, criterion, report, z-score plot) in the fast
suite on the cheapest model; every registered model's quick grid under ``-m slow`` (about 35 s on two cores).

The fast suite keeps each model's theory-against-simulation check through the models' own cheap Monte Carlo tests
(random features: ``tests/theory/test_random_features_mc.py::test_cheap_monte_carlo_check``; NTK:
``tests/theory/test_ntk_simulation.py``; covariate shift: ``tests/theory/test_covariate_shift_sim.py``;
eigenframework: ``tests/montecarlo/test_eigen_montecarlo.py``; linear ridge: ``tests/montecarlo/test_mc_linear.py``).
"""

import json

import pytest

from rmt.figures.cli import main
from rmt.figures.validate import models


def test_validate_quick_end_to_end_on_one_model(tmp_path, capsys):
    code = main(["validate", "--quick", "--quiet", "--model", "linear", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 0, out + (tmp_path / "report.md").read_text()
    assert summary["ok"] and summary["failed"] == 0
    assert summary["models"] == ["linear"]
    assert summary["quantities"] >= 8
    assert "| linear |" in (tmp_path / "report.md").read_text()
    assert len((tmp_path / "report.csv").read_text().splitlines()) == summary["quantities"] + 1
    assert (tmp_path / "zscores.png").stat().st_size > 10_000


@pytest.mark.slow
def test_validate_quick_all_models(tmp_path, capsys):
    code = main(["validate", "--quick", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 0, out + (tmp_path / "report.md").read_text()
    assert summary["ok"] and summary["failed"] == 0
    assert set(summary["models"]) == set(models()) >= {"rf", "linear", "shift", "eigen", "ntk"}
    assert summary["quantities"] >= 50
    assert (tmp_path / "zscores.png").stat().st_size > 10_000
