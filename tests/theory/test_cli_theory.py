"""``rmt theory rf`` and ``rmt theory linear``: JSON contract, sweeps, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rmt.figures.cli import main
from rmt import LinearProblem, Problem
from rmt.theory.linear import linear_theory
from rmt.theory.random_features import FINE_GRAINED_KEYS, rf_theory


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rf_json_single_point(capsys):
    code, out, _ = _run(capsys, "theory", "rf", "--phi", "0.5", "--psi", "0.5", "--ridge", "0.1", "--activation",
                        "relu", "--noise", "0.25", "--json")
    assert code == 0
    rec = json.loads(out)
    r = rf_theory(Problem.from_ratios(0.5, 0.5, ridge=0.1, noise=0.25))
    for k in ("test_error", "train_error", "bias", "variance", "tau1", "tau2"):
        assert rec[k] == pytest.approx(getattr(r, k), rel=1e-14)
    assert set(rec["fine_grained"]) == set(FINE_GRAINED_KEYS)
    assert sum(rec["fine_grained"].values()) == pytest.approx(rec["variance"], rel=1e-12)


def test_rf_sizes_sweep_and_extras(capsys):
    code, out, _ = _run(capsys, "theory", "rf", "--n0", "100", "--n1", "50,100,200", "--m", "100", "--ridge", "0",
                        "--noise", "0.1", "--ensemble", "inf", "--bagging", "4", "--optimal-ridge", "--json")
    assert code == 0
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert len(recs) == 3
    assert recs[1]["test_error"] is None and recs[1]["fine_grained"]["PX"] is None  # n1 = m, ridgeless: +inf is JSON null
    assert isinstance(recs[1]["bias"], float)
    assert all(isinstance(r["ensemble"]["test_error"], float) for r in recs)  # the infinite ensemble is finite
    assert recs[1]["optimal_ridge"]["ridge"] > 0
    assert recs[0]["optimal_ridge"]["test_error"] <= recs[0]["test_error"]


def test_rf_mpmath_and_log_sweep(capsys):
    code, out, _ = _run(capsys, "theory", "rf", "--phi", "0.5", "--psi", "0.1:10:4:log", "--ridge", "0.01",
                        "--activation", "tanh", "--json")
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and len(recs) == 4
    code, out, _ = _run(capsys, "theory", "rf", "--phi", "0.5", "--psi", "0.1", "--ridge", "0.01",
                        "--activation", "tanh", "--method", "mpmath", "--json")
    mp = json.loads(out)
    assert mp["test_error"] == pytest.approx(recs[0]["test_error"], rel=1e-10)


@pytest.mark.parametrize("argv, word", [
    (["--phi", "0.5", "--psi", "-1", "--ridge", "0.1"], "psi"),
    (["--phi", "0.5", "--psi", "1", "--ridge", "-0.1"], "ridge"),
    (["--phi", "0.5", "--psi", "1", "--ridge", "0.1", "--activation", "nope"], "activation"),
    (["--phi", "0.5", "--psi", "1", "--ridge", "0.1", "--noise", "nan"], "noise"),
    (["--phi", "0.5", "--psi", "1", "--ridge", "0.1", "--ensemble", "0"], "ensemble"),
    (["--phi", "0.5", "--ridge", "0.1"], "psi"),
    (["--phi", "0.5", "--psi", "1", "--ridge", "0.1", "--activation", "linear"], "nonlinear"),
])
def test_rf_bad_input_exit_2(capsys, argv, word):
    code, out, err = _run(capsys, "theory", "rf", *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and word in err


def test_linear_cli(capsys):
    code, out, _ = _run(capsys, "theory", "linear", "--gamma", "0.5,2", "--ridge", "0,0.1", "--noise", "1", "--json")
    recs = [json.loads(line) for line in out.strip().splitlines()]
    assert code == 0 and len(recs) == 4
    r = linear_theory(LinearProblem.from_ratio(np.array([0.5, 0.5, 2, 2]), ridge=np.array([0, 0.1, 0, 0.1]),
                                               noise=1.0))
    np.testing.assert_allclose([x["test_error"] for x in recs], r.test_error, rtol=1e-14)
    code, out, _ = _run(capsys, "theory", "linear", "--n", "100", "--d", "300", "--ridge", "0", "--noise", "1",
                        "--eigenvalues", "1,9", "--beta-weights", "0,1", "--json")
    assert json.loads(out)["bias"] == pytest.approx(3.4799, abs=5e-5)
    for argv, word in ((["--gamma", "2", "--n", "3", "--ridge", "0"], "either"),
                       (["--gamma", "2", "--ridge", "0", "--beta-weights", "1"], "eigenvalues"),
                       (["--gamma", "-2", "--ridge", "0"], "gamma")):
        code, _, err = _run(capsys, "theory", "linear", *argv)
        assert code == 2 and word in err
