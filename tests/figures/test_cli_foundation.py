"""The command-line contract of the foundation: constants, spectrum, help, bad input (exit 2, one line)."""

import json
import subprocess
import sys

import pytest

from rmt.figures.cli import main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_and_no_arguments(capsys):
    code, out, _ = run([], capsys)
    assert code == 0 and "constants" in out and "spectrum" in out
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0


def test_constants_json(capsys):
    code, out, err = run(["constants", "--activation", "relu", "--json"], capsys)
    assert code == 0 and err == ""
    rec = json.loads(out)
    for key in ("mu0", "mu1", "mu_star", "eta", "zeta"):
        assert key in rec
    assert rec["mu1"] == 0.5 and rec["zeta"] == 0.25


def test_spectrum_rf_json(capsys):
    code, out, _ = run(["spectrum", "rf", "--phi", "0.5", "--psi", "0.8", "--activation", "relu", "--json",
                        "--points", "50"], capsys)
    assert code == 0
    rec = json.loads(out)
    assert set(rec) >= {"support", "edges", "atom", "x", "density"}
    assert rec["atom"] == pytest.approx(0.375)
    assert rec["edges"][-1] == pytest.approx(2.8965, abs=1e-3)


def test_spectrum_mp(capsys):
    code, out, _ = run(["spectrum", "mp", "--ratio", "2", "--json"], capsys)
    assert code == 0 and json.loads(out)["atom"] == pytest.approx(0.5)


@pytest.mark.parametrize("argv,needle", [
    (["constants", "--activation", "foo"], "activation must be one of"),
    (["constants", "--variance", "-1"], "variance must be positive"),
    (["constants", "--variance", "nan"], "variance must be"),
    (["spectrum", "rf", "--phi", "-1", "--psi", "1"], "--phi must be positive"),
    (["spectrum", "rf", "--phi", "1"], "--psi"),
    (["spectrum", "rf", "--phi", "x", "--psi", "1"], "--phi"),
    (["bogus"], "invalid choice"),
    (["theory"], "needs a model"),
])
def test_bad_input_exit_2_one_line(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmt: error:") and needle in lines[0], err


def test_console_script_entry_point():
    proc = subprocess.run([sys.executable, "-m", "rmt.figures.cli", "constants", "--activation", "erf", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["mu1"] == pytest.approx(0.651470, abs=1e-6)
    bad = subprocess.run([sys.executable, "-m", "rmt.figures.cli", "constants", "--activation", "nope"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
