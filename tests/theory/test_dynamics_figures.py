"""``rmt figure compute-optimal --no-mc --quick``: files written and the fitted frontier exponents equal the
predicted ones (t* ~ N*^alpha, L* ~ C^{-(beta-1)/(1+alpha)} for beta - 1 < alpha)."""

import json

from rmt.figures.cli import main


def test_compute_optimal_theory_only(tmp_path, capsys):
    assert main(["figure", "compute-optimal", "--no-mc", "--quick", "--out", str(tmp_path)]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == 3 and all((tmp_path / p.split("/")[-1]).exists() for p in paths)
    summary = json.loads((tmp_path / "compute_optimal.json").read_text())
    for key in ("loss", "width", "time"):
        assert abs(summary["fitted"][key] - summary["predicted"][key]) < 0.01, key
    assert summary["predicted"]["time"] > summary["predicted"]["width"]  # steps grow faster than parameters
