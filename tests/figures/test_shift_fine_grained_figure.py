"""``rmt figure shift-fine-grained``: theory-only run writes the PNG and a CSV whose numbers equal the API."""

from __future__ import annotations

import csv

import pytest

from rmt.figures import shift_fine_grained as sfg
from rmt.figures._shift_common import HARMFUL
from rmt.theory.covariate_shift import shift_fine_grained


def test_theory_only_figure(tmp_path):
    data = sfg.compute(mc=False, quick=True, widths=[0.3, 3.0])
    png = sfg.draw(data, tmp_path / "f.png")
    assert png.stat().st_size > 10_000
    rows = [r for r in data["rows"] if r[1] == HARMFUL.name and r[2] == 3.0 and r[4] == "PX"]
    ref = shift_fine_grained(sfg.PHI, sfg.PHI / 3.0, spectrum=HARMFUL.spectrum, ridge=sfg.RIDGE,
                             activation=sfg.ACTIVATION, noise=sfg.NOISE)
    assert rows[0][5] == pytest.approx(float(ref.ood["PX"]), rel=1e-12)
    assert rows[0][6] == pytest.approx(float(ref.iid["PX"]), rel=1e-12)


def test_cli_registered(tmp_path, monkeypatch, capsys):
    from rmt.figures.cli import main

    real = sfg.compute
    monkeypatch.setattr(sfg, "compute", lambda **kw: real(**{**kw, "widths": [0.5, 2.0]}))
    assert main(["figure", "shift-fine-grained", "--no-mc", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(tmp_path / "shift-fine-grained.png"), str(tmp_path / "shift-fine-grained.csv")]
    with open(tmp_path / "shift-fine-grained.csv") as fh:
        assert {r["term"] for r in csv.DictReader(fh)} == {"bias", "P", "X", "eps", "PX", "Peps", "Xeps", "PXeps"}
