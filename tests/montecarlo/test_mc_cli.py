"""``rmt simulate``: JSON keys, agreement with the API, sweeps, export, and bad input (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from rmt.figures.cli import main
from rmt.montecarlo.estimators import FINE_GRAINED_KEYS
from rmt.montecarlo.random_features import simulate_rf
from rmt.problem import Problem

RF = ["simulate", "rf", "--n0", "12", "--n1", "20", "--m", "16", "--ridge", "0.3", "--activation", "relu",
      "--noise", "0.5", "--nonlinear-signal", "0.3", "--trials", "2,3,2", "--reps", "2", "--seed", "11",
      "--n-test", "40", "--quiet"]


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_rf_json_record_matches_the_api(capsys):
    code, out, err = run(capsys, RF + ["--json"])
    assert code == 0, err
    rec = json.loads(out)
    assert {"test_error", "train_error", "bias", "variance", "fine_grained", "stderr", "tau1", "tau2"} <= set(rec)
    assert set(rec["fine_grained"]) == set(FINE_GRAINED_KEYS)
    assert set(rec["stderr"]) >= {"test_error", "train_error", "bias", "variance", "fine_grained"}
    assert set(rec["stderr"]["fine_grained"]) == set(FINE_GRAINED_KEYS)
    api = simulate_rf(Problem(n0=12, n1=20, m=16, ridge=0.3, activation="relu", noise=0.5, nonlinear_signal=0.3),
                      trials=(2, 3, 2), reps=2, seed=11, n_test=40)
    assert rec["test_error"] == api.test_error and rec["fine_grained"]["PX"] == api.fine_grained["PX"]


def test_rf_sweep_prints_one_object_per_point_and_human_output(capsys):
    code, out, _ = run(capsys, RF + ["--ridge", "0.3,0.6", "--json", "--no-taus"])
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and [x["config"]["problem"]["ridge"] for x in lines] == [0.3, 0.6]
    assert "tau1" not in lines[0] and "tau1" not in lines[0]["stderr"]
    code, out, _ = run(capsys, RF)
    assert code == 0 and "test_error" in out and "V_PXeps" in out and "+-" in out


def test_linear_and_export(capsys, tmp_path):
    db = str(tmp_path / "lin.sqlite")
    argv = ["simulate", "linear", "--n", "40", "--d", "20", "--ridge", "0.1", "--noise", "0.5", "--reps", "2",
            "--json", "--quiet", "--db", db]
    code, out, err = run(capsys, argv)
    assert code == 0, err
    rec = json.loads(out)
    assert set(rec["fine_grained"]) == {"X", "eps", "Xeps"} and "conditional_bias" in rec
    code, again, _ = run(capsys, argv)
    assert json.loads(again) == rec  # from the database
    code, csv_text, _ = run(capsys, ["simulate", "export", "--db", db])
    assert code == 0 and csv_text.count("\n") == 2
    code, js, _ = run(capsys, ["simulate", "export", "--db", db, "--format", "json"])
    assert json.loads(js)[0]["result"]["test_error"] == rec["test_error"]


@pytest.mark.parametrize("argv, fragment", [
    (RF[:9] + ["-1"] + RF[10:], "ridge must be non-negative"),
    (RF + ["--trials", "1,2,2"], "trials[P] must be an integer >= 2"),
    (RF + ["--trials", "2,2"], "--trials must be 3 comma-separated integers"),
    (RF + ["--reps", "0"], "reps must be an integer >= 1"),
    (RF + ["--seed", "-3"], "seed must be an integer >= 0"),
    (RF + ["--activation", "swish"], "activation must be one of"),
    (["simulate", "rf", "--phi", "0.5", "--psi", "0.5", "--ridge", "0.1"], "--n0 is required"),
    (["simulate", "rf", "--n0", "10", "--ridge", "0.1"], "--n0, --n1 and --m are all required"),
    (["simulate", "linear", "--n", "10", "--d", "5", "--ridge", "0.1", "--trials", "x"], "--trials must be 2"),
    (["simulate", "export", "--db", "/nonexistent/x.sqlite"], "does not exist"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("rmt: error:") and fragment in err, err
