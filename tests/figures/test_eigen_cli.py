"""`rmt theory eigen`, `rmt simulate eigen` and the eigenframework figures through the command line."""

from __future__ import annotations

import json

import pytest

from rmt.figures.cli import main
from rmt.theory.eigen import Eigensystem, krr


def _json_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]


def test_theory_eigen_json(capsys):
    assert main(["theory", "eigen", "--alpha", "2", "--beta", "2", "--n", "100", "--ridge", "0,0.1", "--noise",
                 "0.1", "--modes", "10000", "--json"]) == 0
    recs = _json_lines(capsys)
    assert len(recs) == 2
    for r in recs:
        assert {"test_error", "train_error", "bias", "variance", "kappa", "E0"} <= set(r)
    # lambda_i = v_i^2 = i^-2, noise 0.1: ridge = noise is the Bayes-optimal point, where E_te = n kappa
    # (docs/models.md §6.1); 0.1623868451 from an independent solve of the same truncated spectrum
    assert recs[1]["test_mse"] == pytest.approx(0.1623868451, rel=1e-9)
    assert recs[1]["test_mse"] == pytest.approx(100 * recs[1]["kappa"], rel=1e-9)


def test_theory_eigen_rf_and_default_spectrum(capsys):
    assert main(["theory", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "100", "--ridge", "1e-3", "--p",
                 "50,1e9", "--json"]) == 0
    a, b = _json_lines(capsys)
    assert a["model"] == "rf" and {"gamma", "feature_variance", "ensemble_limit_error"} <= set(a)
    assert "infinite" in a["spectrum"]
    assert b["test_error"] < a["test_error"]


@pytest.mark.parametrize("argv,flag", [
    (["--alpha", "1", "--beta", "2", "--n", "10", "--ridge", "0"], "--alpha"),
    (["--alpha", "2", "--beta", "0.5", "--n", "10", "--ridge", "0"], "--beta"),
    (["--alpha", "2", "--beta", "2", "--n", "-3", "--ridge", "0"], "--n"),
    (["--alpha", "2", "--beta", "2", "--n", "10", "--ridge", "-1"], "--ridge"),
    (["--alpha", "2", "--beta", "2", "--n", "10", "--ridge", "0", "--p", "0"], "--p"),
    (["--alpha", "2", "--beta", "2", "--n", "10", "--ridge", "0", "--modes", "0"], "--modes"),
])
def test_theory_eigen_bad_input_exit_2(argv, flag, capsys):
    assert main(["theory", "eigen", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and flag in err


def test_simulate_eigen_json(capsys):
    # sizes as in tests/test_eigen_montecarlo.py (a compiled kernel is reused when run in one session)
    assert main(["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--modes", "800", "--n", "100", "--ridge",
                 "0.05", "--noise", "0.1", "--trials", "8", "--json"]) == 0
    (rec,) = _json_lines(capsys)
    assert set(rec["stderr"]) >= {"test_error", "train_error", "bias", "variance"}
    th = krr(Eigensystem.power_law(1.5, 1.8, 800), 100, 0.05, 0.1).test_error
    assert abs(rec["test_error"] - th) < 5 * rec["stderr"]["test_error"] + 0.1 * th


def test_simulate_eigen_db_stores_and_resumes(tmp_path, capsys):
    """--db: the eigen simulation goes through the common sweep store; a rerun prints the stored records."""
    argv = ["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--modes", "800", "--n", "100", "--ridge",
            "0.05,0.2", "--noise", "0.1", "--trials", "4", "--json", "--quiet", "--db", str(tmp_path / "e.db")]
    assert main(argv) == 0
    first = _json_lines(capsys)
    assert main(argv) == 0
    assert _json_lines(capsys) == first and [r["ridge"] for r in first] == [0.05, 0.2]
    assert main(["simulate", "export", "--db", str(tmp_path / "e.db"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in rows] == ["eigen", "eigen"]


def test_simulate_eigen_needs_modes(capsys):
    assert main(["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "40", "--ridge", "0.05"]) == 2


def test_figure_scaling_laws_no_mc(tmp_path, capsys):
    assert main(["figure", "scaling-laws", "--out", str(tmp_path), "--no-mc", "--quick"]) == 0
    assert (tmp_path / "scaling_laws.png").stat().st_size > 50_000
    summary = json.loads((tmp_path / "scaling_laws.json").read_text())
    fits = summary["fits"]
    assert {f["direction"] for f in fits} == {"data", "width"}
    for f in fits:  # every fitted exponent within 10 % of its prediction (the log-corrected one is the worst)
        assert abs(f["exponent"] / f["predicted"] - 1) < 0.1
    assert (tmp_path / "scaling_laws.csv").read_text().startswith("panel,series,x,theory")


def test_figure_eigen_learning_curve_no_mc(tmp_path, capsys):
    assert main(["figure", "eigen-learning-curve", "--out", str(tmp_path), "--no-mc"]) == 0
    assert (tmp_path / "eigen_learning_curve.png").stat().st_size > 50_000
    summary = json.loads((tmp_path / "eigen_learning_curve.json").read_text())
    assert summary["mc"] is False and summary["z_scores"] == []


@pytest.mark.slow
def test_figure_eigen_learning_curve_quick_with_simulation(tmp_path, capsys):
    assert main(["figure", "eigen-learning-curve", "--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "eigen_learning_curve.json").read_text())
    assert len(summary["z_scores"]) > 50
    assert abs(summary["worst"]["z"]) < 4.5


def test_validation_cases_are_well_formed():
    """The eigen cases of `rmt validate`: theory keys exist, allowances follow the finite-size rule."""
    from rmt.figures.validate_eigen import cases

    for quick in (True, False):
        cs = cases(quick)
        assert cs and all(c.model == "eigen" for c in cs)
        for c in cs:
            th = c.theory()
            assert set(c.keys) == set(th) and all(v == v for v in th.values())
            assert 0 < c.allowance <= 0.08
    assert len(cases(False)) > len(cases(True))


@pytest.mark.slow
def test_validate_eigen_quick_passes(tmp_path, capsys):
    assert main(["validate", "--model", "eigen", "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["models"] == ["eigen"]
