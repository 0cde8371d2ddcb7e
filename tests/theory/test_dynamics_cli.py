"""``rmt theory dynamics`` and ``rmt simulate dynamics``: JSON contract, sweeps, --db, bad input (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rmt.figures.cli import main
from rmt.theory import dynamics as D
from rmt.theory.eigen import Eigensystem


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.strip().splitlines() if line.startswith("{")], err


def test_theory_online_sgd_json_matches_api(capsys):
    code, recs, _ = _run(capsys, "theory", "dynamics", "--algorithm", "online-sgd", "--alpha", "1.3", "--beta",
                         "1.1", "--modes", "200", "--lr", "0.8", "--batch", "4", "--noise", "0.05", "--steps",
                         "0,10,50", "--json")
    assert code == 0 and [r["step"] for r in recs] == [0, 10, 50]
    th = D.online_sgd(Eigensystem.power_law(1.3, 1.1, 200), 0.8, [0, 10, 50], 4, 0.05)
    np.testing.assert_allclose([r["test_error"] for r in recs], th.test_error, rtol=1e-13)
    assert all("train_error" not in r for r in recs)


def test_theory_gf_finite_n_has_train_error_and_population_does_not(capsys):
    code, recs, _ = _run(capsys, "theory", "dynamics", "--algorithm", "gf", "--alpha", "1.2", "--beta", "1.5",
                         "--modes", "400", "--n", "150", "--noise", "0.2", "--times", "0.5,2", "--json")
    assert code == 0
    np.testing.assert_allclose([r["test_error"] + 0.2 for r in recs], [1.8532622, 1.1232821], rtol=2e-7)
    assert all("train_error" in r and r["time"] in (0.5, 2.0) for r in recs)
    code, recs, _ = _run(capsys, "theory", "dynamics", "--algorithm", "gf", "--alpha", "1.2", "--beta", "1.5",
                         "--modes", "400", "--times", "1:100:3:log", "--json")
    assert code == 0 and len(recs) == 3 and all("train_error" not in r for r in recs)


@pytest.mark.parametrize("argv,flag", [
    (["--algorithm", "online-sgd", "--lr", "5", "--steps", "0,10"], "--lr"),
    (["--algorithm", "sgd", "--n", "50", "--lr", "0.1", "--times", "1,2"], "--times"),
    (["--algorithm", "online-sgd", "--lr", "0.1", "--steps", "10,5"], "--steps"),
    (["--algorithm", "online-sgd", "--lr", "0.1", "--times", "1"], "--times"),
    (["--algorithm", "sgd", "--lr", "0.1", "--steps", "0,5"], "--n"),
    (["--algorithm", "gf", "--n", "50", "--steps", "0,5"], "--lr"),
    (["--algorithm", "sgd", "--n", "50", "--lr", "50", "--steps", "0,5"], "--lr"),
])
def test_bad_input_exit_2_one_line(capsys, argv, flag):
    code = main(["theory", "dynamics", "--alpha", "1.5", "--beta", "1.5", "--modes", "50", *argv])
    _, err = capsys.readouterr()
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1


def test_simulate_online_json_and_db(capsys, tmp_path):
    db = tmp_path / "d.sqlite"
    argv = ["simulate", "dynamics", "--algorithm", "online-sgd", "--alpha", "1.3", "--beta", "1.1", "--modes", "20",
            "--lr", "0.5", "--batch", "2", "--noise", "0.1", "--steps", "0,5,20", "--reps", "40", "--seed", "2",
            "--json", "--quiet", "--db", str(db)]
    code, recs, _ = _run(capsys, *argv)
    assert code == 0 and [r["step"] for r in recs] == [0, 5, 20]
    th = D.online_sgd(Eigensystem.power_law(1.3, 1.1, 20), 0.5, [0, 5, 20], 2, 0.1)
    for r, t in zip(recs, th.test_error):
        assert set(r["stderr"]) == {"test_error"}
        assert abs(r["test_error"] - t) <= 4 * r["stderr"]["test_error"] + 1e-12
    code, again, _ = _run(capsys, *argv)  # served from the database
    assert code == 0 and again == recs


def test_simulate_needs_modes(capsys):
    code = main(["simulate", "dynamics", "--algorithm", "online-sgd", "--alpha", "1.5", "--beta", "1.5", "--lr",
                 "0.1", "--steps", "0,5"])
    _, err = capsys.readouterr()
    assert code == 2 and "--modes" in err
