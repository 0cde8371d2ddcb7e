"""Every command line gets an answer: a valid finite result, or exit 2 (bad input, refused cost) / exit 1 (a solver
that failed) with exactly one line on stderr naming the flag; never a traceback, a warning, a hang or a NaN.

The examples are the ones of the issue that went wrong; the property-based tests draw random flags and values
(theory commands only in the fast suite; they run in-process through ``rmt.figures.cli.main``).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmt import Problem
from rmt.figures import _limits
from rmt.figures.cli import main


def run(capsys, argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rmt: "), err
    assert "Traceback" not in err and "Warning" not in err
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# the issue's examples
# ---------------------------------------------------------------------------------------------------------------

RF_SIM = ["simulate", "rf", "--n0", "20", "--n1", "10", "--m", "10", "--ridge", "0.1", "--quiet"]


@pytest.mark.parametrize("argv, fragment", [
    (["theory", "rf", "--phi", "0.5", "--psi", "1,,2", "--ridge", "0.1"], "--psi: empty item"),
    (["theory", "rf", "--phi", "0.5", "--psi", "0.1:inf:3", "--ridge", "0.1"], "--psi: a sweep start:stop:num needs"),
    (["theory", "linear", "--eigenvalues", "abc,1", "--ridge", "0.1", "--gamma", "1"],
     "--eigenvalues must be a number, a list a,b,c or a sweep"),
    (["theory", "rf", "--phi", "1:2:x", "--psi", "1", "--ridge", "0.1"], "argument --phi: must be a number"),
    (["theory", "rf", "--phi", "0.1:10:1000000000000", "--psi", "1", "--ridge", "0.1"], "1 <= num <= 100000"),
    (["theory", "rf", "--phi", "0.5", "--psi", "2", "--ridge", "0.1", "--precision", "20"],
     "--precision applies only with --method mpmath"),
    (["theory", "rf", "--phi", "0.5", "--psi", "2", "--ridge", "0.1", "--method", "mpmath", "--precision",
      "100000000"], "--precision must be a number of digits in [1, 2000]"),
    (["theory", "rf", "--phi", "0.5", "--psi", "2", "--ridge", "1e308"], "--ridge must be in [0, 1e+300]"),
    (["theory", "rf", "--phi", "0.001:1:400", "--psi", "0.001:1:400", "--ridge", "0.1"], "the sweep has 160000 points"),
    (RF_SIM[:5] + ["1e308"] + RF_SIM[6:], "--n1 must be an integer size in [1, 10000000]"),
    (RF_SIM + ["--reps", "1"], "--reps must be an integer in [2, 100000] (one repetition gives no standard error)"),
    (RF_SIM + ["--reps", "100000000000000000000"], "--reps must be an integer in [2, 100000]"),
    (RF_SIM + ["--trials", "100000000000000000000,2,2"], "--trials: each count must be at most 10000"),
    (RF_SIM + ["--trials", "1000,1000,2"], "2e+06 fitted models per repetition; the limit is 100000"),
    (RF_SIM + ["--n-test", "100000000000000000000"], "--n-test must be an integer size"),
    (["simulate", "rf", "--n0", "100000", "--n1", "50000", "--m", "50000", "--ridge", "0.1"],
     "needs about 186 GiB for one fitted model at the largest sizes; the limit is 8 GiB"),
    (["simulate", "rf", "--n0", "2000", "--n1", "2000", "--m", "2000", "--ridge", "0.1", "--max-memory", "1M"],
     "the limit is 1 MiB"),
    (["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "1e308", "--ridge", "0.1", "--modes", "100"],
     "--n must be an integer size"),
    (["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "10", "--ridge", "0.1", "--modes", "100",
      "--seed=-1"], "--seed must be an integer >= 0"),
    (["simulate", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "10", "--ridge", "0.1", "--modes", "100",
      "--seed", "100000000000000000000"], "--seed must be an integer >= 0 and < 2**63"),
    (["spectrum", "rf", "--phi", "1e308", "--psi", "1"], "--phi must be in [0.001, 1000]"),
    (["spectrum", "mp", "--ratio", "1", "--points", "100000000000000000000"], "--points must be an integer in"),
    (["theory", "shift", "--phi", "0.5", "--psi", "0.5", "--ridge", "0.1", "--family", "power-law", "--nodes",
      "100000000000000000000"], "--nodes must be an integer in [1, 100000]"),
    (["theory", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "100", "--ridge", "0.1", "--modes",
      "100000000000000000000"], "--modes must be an integer in"),
    (["theory", "eigen", "--alpha", "1e308", "--beta", "2", "--n", "100", "--ridge", "0.1"], "--alpha must be in (1, 100]"),
    (["theory", "shift", "--phi", "0.5", "--psi", "0.5", "--ridge", "1e308", "--activation", "tanh", "--family",
      "two-point", "--strength", "1"], "--ridge must be in [0, 1e+300]"),
])
def test_refused_before_any_work_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, argv)
    line = one_error_line(err)
    assert code == 2 and out == "" and fragment in line, line


def test_no_numpy_warning_reaches_stderr(capsys):
    code, out, err = run(capsys, ["theory", "rf", "--phi", "0.5", "--psi", "0.05:5:30:log", "--ridge", "1e-300,1e300",
                                  "--json"])
    assert code == 0 and err == ""
    recs = [json.loads(line) for line in out.splitlines()]
    assert len(recs) == 60 and all(math.isfinite(r["test_error"]) for r in recs)


# ---------------------------------------------------------------------------------------------------------------
# output paths and stores, checked before the work
# ---------------------------------------------------------------------------------------------------------------

def _store(tmp_path):
    db = tmp_path / "good.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE points (key TEXT PRIMARY KEY, model TEXT NOT NULL, config TEXT NOT NULL, seed INTEGER, "
                "version TEXT NOT NULL, result TEXT NOT NULL, stderr TEXT NOT NULL, elapsed_s REAL NOT NULL, "
                "finished_at TEXT NOT NULL)")
    for i in range(3):
        con.execute("INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"k{i}", "rf", json.dumps({"model": "rf", "problem": {}, "options": {}}), 0, "0",
                     json.dumps({"test_error": 1.0 + i}), "{}", 0.1, "now"))
    con.commit()
    con.close()
    return db


def test_output_paths(capsys, tmp_path):
    db = _store(tmp_path)
    code, out, err = run(capsys, ["simulate", "export", "--db", str(db), "--format", "json"])
    assert code == 0 and len(json.loads(out)) == 3
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    cases = [
        (["simulate", "export", "--db", str(db), "--out", "/nonexistent/dir/x.json"], "does not exist"),
        (["simulate", "export", "--db", str(db), "--out", str(tmp_path / "adir")], "must be a file path"),
        (["simulate", "export", "--db", str(tmp_path / "adir")], "must be a file path"),
        (["validate", "--quick", "--out", str(tmp_path / "afile")], "must be a directory"),
        (["figure", "double-descent", "--no-mc", "--out", str(tmp_path / "afile" / "sub")], "cannot create"),
        (RF_SIM + ["--db", str(tmp_path / "missing" / "x.db")], "does not exist"),
    ]
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        cases.append((["simulate", "export", "--db", str(db), "--out", str(ro / "x.csv")], "not writable"))
    for argv, fragment in cases:
        code, out, err = run(capsys, argv)
        line = one_error_line(err)
        assert code == 2 and fragment in line, (argv, line)


def test_damaged_store_names_file_and_row(capsys, tmp_path):
    db = _store(tmp_path)
    con = sqlite3.connect(db)
    con.execute("UPDATE points SET result = CAST(? AS TEXT) WHERE key = 'k1'", (b"\xff\xfe\x00garbage",))
    con.commit()
    con.close()
    for argv in (["simulate", "export", "--db", str(db)], RF_SIM + ["--db", str(db)]):
        code, out, err = run(capsys, argv)
        line = one_error_line(err)
        assert code == 2 and str(db) in line and "damaged at row 2" in line and "'result'" in line, line
    bad = tmp_path / "cols.db"
    con = sqlite3.connect(bad)
    con.execute("CREATE TABLE points (key TEXT, value TEXT)")
    con.commit()
    con.close()
    code, out, err = run(capsys, ["simulate", "export", "--db", str(bad)])
    line = one_error_line(err)
    assert code == 2 and "table 'points' has columns (key, value)" in line
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    code, out, err = run(capsys, ["simulate", "export", "--db", str(junk)])
    assert code == 2 and str(junk) in one_error_line(err)


def test_limits_module_constants_are_used(capsys, monkeypatch):
    monkeypatch.setattr(_limits, "MAX_SWEEP_POINTS", 3)
    code, out, err = run(capsys, ["theory", "linear", "--gamma", "0.5,1,2,3", "--ridge", "0.1"])
    assert code == 2 and "the limit is 3 points" in one_error_line(err)
    assert _limits.parse_bytes("1.5K") == 1536 and _limits.parse_bytes("2G") == 2 * 1024**3
    with pytest.raises(ValueError, match="--max-memory"):
        _limits.parse_bytes("lots")


# ---------------------------------------------------------------------------------------------------------------
# the API
# ---------------------------------------------------------------------------------------------------------------

def test_api_messages_name_the_argument():
    from rmt.theory.eigen import krr
    from rmt.theory.ntk import quadratic_scaling

    with pytest.raises(ValueError, match="system must be"):
        krr("x", 10, 0.1)
    with pytest.raises(ValueError, match="include_f0 must be True or False"):
        quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=0.1), include_f0="yes")
    with pytest.raises(ValueError, match="^phi is too small"):
        Problem.from_ratios(phi=1e-320, psi=1.0)
    with pytest.raises(ValueError, match="^psi is too small"):
        Problem.from_ratios(phi=1.0, psi=1e-320)


# ---------------------------------------------------------------------------------------------------------------
# property-based: random theory command lines
# ---------------------------------------------------------------------------------------------------------------

_numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e308, max_value=1e308).map(lambda v: f"{v:.6g}"),
    st.sampled_from(["0", "1e-300", "1e300", "1e308", "-1", "nan", "inf", "-inf", "abc", "", "1,,2", "1,2",
                     "0.1:2:3", "0.1:2:3:log", "1:2:0", "1:2:x", "0:1:3:log", "1e-320", "5e-324", "2,inf"]))


def _check_answer(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    if code == 0:
        assert err == ""
        for line in out.splitlines():
            rec = json.loads(line)
            te = rec.get("test_error")
            assert te is None or te == "inf" or (isinstance(te, float) and math.isfinite(te)), rec
            assert "nan" not in line.lower().replace("nonlinear", "").replace("nan_", ""), line
    else:
        one_error_line(err)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phi=_numbers, psi=_numbers, ridge=_numbers, noise=_numbers,
       act=st.sampled_from(["relu", "tanh", "erf", "linear", "swish"]))
def test_random_theory_rf_command_lines(capsys, phi, psi, ridge, noise, act):
    code, out, err = run(capsys, ["theory", "rf", "--phi", phi, "--psi", psi, "--ridge", ridge, "--noise", noise,
                                  "--activation", act, "--json"])
    _check_answer(code, out, err)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gamma=_numbers, ridge=_numbers, noise=_numbers, signal=_numbers)
def test_random_theory_linear_command_lines(capsys, gamma, ridge, noise, signal):
    code, out, err = run(capsys, ["theory", "linear", "--gamma", gamma, "--ridge", ridge, "--noise", noise,
                                  "--signal", signal, "--json"])
    _check_answer(code, out, err)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phi=_numbers, psi=_numbers, ridge=_numbers, lr=_numbers, mode=st.sampled_from([[], ["--width-limit"]]))
def test_random_theory_ntk_command_lines(capsys, phi, psi, ridge, lr, mode):
    argv = ["theory", "ntk", "--phi", phi, "--ridge", ridge, "--lr-ratio", lr, "--json", "--activation", "tanh"]
    argv += mode or ["--psi", psi]
    code, out, err = run(capsys, argv)
    _check_answer(code, out, err)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alpha=_numbers, beta=_numbers, n=_numbers, ridge=_numbers, p=st.one_of(st.none(), _numbers))
def test_random_theory_eigen_command_lines(capsys, alpha, beta, n, ridge, p):
    argv = ["theory", "eigen", "--alpha", alpha, "--beta", beta, "--n", n, "--ridge", ridge, "--json"]
    if p is not None:
        argv += ["--p", p]
    code, out, err = run(capsys, argv)
    _check_answer(code, out, err)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(st.sampled_from(
    ["--reps", "--seed", "--trials", "--n-test", "--n0", "--n1", "--m", "--max-memory", "--db", "--out", "0", "1",
     "-1", "2", "1e20", "100000000000000000000", "2,2,2", "1,,2", "x", "/nonexistent/x", "8G"]), max_size=6))
def test_random_simulate_flags_are_refused_or_pass_preflight(capsys, argv):
    """Simulation flags: the checks run before any simulation (the command is stopped right after them)."""
    import rmt.figures.commands.simulate as sim

    calls = []
    orig = sim._sweep
    sim._sweep = lambda points, args: calls.append(len(points)) or 0  # no simulation in the fast suite
    try:
        code, out, err = run(capsys, RF_SIM + argv)
    finally:
        sim._sweep = orig
    assert code in (0, 2), err
    if code == 2:
        one_error_line(err)
    else:
        assert err == "" and len(calls) == 1


def test_api_random_ratios_are_valid_or_name_the_argument():
    """Ratios from 1e-320 to 1e320 and ridges from 0 to 1e300: a ValueError naming phi/psi (n0/ratio overflows),
    a finite answer, or (only for ratios beyond [1e-6, 1e6], where the three routes to the overlap disagree by more
    than their 1e-7 tolerance) a SolverError carrying its residual."""
    import warnings

    from rmt.theory.random_features import rf_theory

    rng = np.random.default_rng(0)
    answered = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for i in range(300):
            e = 320 if i % 2 else 6
            phi, psi = 10.0 ** rng.uniform(-e, e, 2)
            ridge = float(rng.choice([0.0, 10.0 ** rng.uniform(-300, 300)]))
            try:
                p = Problem.from_ratios(phi, psi, ridge=ridge, activation="relu", noise=0.1)
            except ValueError as exc:
                assert str(exc).startswith(("phi", "psi")), exc
                continue
            try:
                r = rf_theory(p)
            except ArithmeticError as exc:  # a SolverError carries its residual
                assert "residual" in str(exc) and e > 6, (phi, psi, ridge, exc)
                continue
            answered += 1
            assert np.isfinite(r.test_error) or (ridge == 0 and phi == psi)
    assert answered >= 180


@pytest.mark.slow
def test_nonfinite_simulation_is_an_error_not_data(capsys):
    """Issue: `simulate shift --scale 1e308` printed "test_error": "inf" with exit 0."""
    code, out, err = run(capsys, ["simulate", "shift", "--n0", "20", "--n1", "20", "--m", "10", "--ridge", "0.1",
                                  "--activation", "tanh", "--noise", "0.1", "--family", "two-point", "--strength", "1",
                                  "--scale", "1e308", "--reps", "2", "--json", "--quiet"])
    line = one_error_line(err)
    assert code == 1 and out == "" and "non-finite" in line, line
    code, out, err = run(capsys, RF_SIM + ["--reps", "2", "--json"])
    assert code == 0 and err == "" and math.isfinite(json.loads(out)["test_error"])


def test_shift_api_names_a_ridge_beyond_1e300():
    from rmt.theory.covariate_shift import shift_error

    assert shift_error(Problem.from_ratios(0.5, 0.5, ridge=1e300, activation="tanh", noise=0.1)).test_error == 1.0
    with pytest.raises(ValueError, match=r"^ridge must be in \[0, 1e300\]"):
        shift_error(Problem.from_ratios(0.5, 0.5, ridge=1e308, activation="tanh", noise=0.1))
