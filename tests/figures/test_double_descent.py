"""The double-descent figure: files, the numbers behind them, the command line."""

from __future__ import annotations

import csv
import math
import os

import numpy as np
import pytest

from rmt.figures.cli import main
from rmt.figures.double_descent import DoubleDescentConfig, make


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_theory_only_figure(tmp_path):
    cfg = DoubleDescentConfig(theory_points=61)
    paths = make(str(tmp_path), mc=False, config=cfg, log=lambda s: None)
    assert os.path.getsize(paths["png"]) > 50_000
    rows = _read(paths["csv"])
    assert {r["source"] for r in rows} == {"theory"}
    # panel (b): the stacked terms add up to the test error of panel (a) at the same ridge
    dec = [r for r in rows if r["panel"] == "b"]
    widths = sorted({float(r["n1_over_m"]) for r in dec})
    a = {float(r["n1_over_m"]): float(r["value"]) for r in rows
         if r["panel"] == "a" and r["series"] == "test_error" and float(r["ridge"]) == cfg.decomposition_ridge}
    for w in widths[::10]:
        total = sum(float(r["value"]) for r in dec if float(r["n1_over_m"]) == w)
        assert total == pytest.approx(a[w], rel=1e-12)
    # the ridgeless curve is infinite exactly at n1 = m; the infinite ensemble is finite there
    ridgeless = {float(r["n1_over_m"]): float(r["value"]) for r in rows
                 if r["panel"] == "a" and r["series"] == "test_error" and float(r["ridge"]) == 0.0}
    assert ridgeless[1.0] == math.inf
    ens = [float(r["value"]) for r in rows if r["panel"] == "c" and r["series"] == "ensemble" and r["k"] == "inf"]
    assert np.all(np.isfinite(ens))
    # the optimal ridge is never worse than any plotted ridge
    opt = {float(r["n1_over_m"]): float(r["value"]) for r in rows if r["series"] == "optimal_ridge"
           and r["quantity"] == "test_error"}
    for r in rows:
        if r["panel"] == "a" and r["series"] == "test_error":
            assert opt[float(r["n1_over_m"])] <= float(r["value"]) * (1 + 1e-9)


def test_cli_no_mc(tmp_path, capsys):
    code = main(["figure", "double-descent", "--no-mc", "--out", str(tmp_path)])
    out = capsys.readouterr().out.split()
    assert code == 0 and out == [str(tmp_path / "double_descent.png"), str(tmp_path / "double_descent.csv")]


@pytest.mark.slow
def test_quick_figure_with_simulation(tmp_path):
    """--quick with Monte Carlo: every simulated test error within 4 standard errors + 10% of the theory line
    (n0 = 60 is small)."""
    paths = make(str(tmp_path), mc=True, quick=True, log=lambda s: None)
    rows = _read(paths["csv"])
    mc = [r for r in rows if r["source"] == "mc" and r["panel"] == "a"]
    assert mc
    from rmt import Problem
    from rmt.theory.random_features import rf_theory

    cfg = DoubleDescentConfig.quick()
    for r in mc:
        w, ridge = float(r["n1_over_m"]), float(r["ridge"])
        th = rf_theory(Problem.from_ratios(cfg.phi, cfg.phi / w, ridge=ridge, noise=cfg.noise)).test_error
        assert abs(float(r["value"]) - th) <= 4 * float(r["stderr"]) + 0.10 * th
