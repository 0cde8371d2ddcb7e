"""``rmt validate --quick`` is part of CI: every registered model's quick grid passes its stated tolerance."""

import json

from rmt.figures.cli import main
from rmt.figures.validate import models


def test_validate_quick_all_models(tmp_path, capsys):
    code = main(["validate", "--quick", "--quiet", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert code == 0, out + (tmp_path / "report.md").read_text()
    assert summary["ok"] and summary["failed"] == 0
    assert set(summary["models"]) == set(models()) >= {"rf", "linear", "shift", "eigen", "ntk"}
    assert summary["quantities"] >= 50
    assert (tmp_path / "zscores.png").stat().st_size > 10_000
