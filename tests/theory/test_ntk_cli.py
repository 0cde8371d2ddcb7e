"""``rmt theory ntk`` and ``rmt figure triple-descent``: JSON records equal the API, sweeps, modes, bad input."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from rmt.figures.cli import main
from rmt import Problem
from rmt.theory.ntk import FINE_GRAINED_KEYS, infinite_width, linear_scaling, quadratic_scaling


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def records(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_theory_ntk_json_matches_the_api(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--phi", "0.5", "--psi", "2", "--ridge", "1e-3", "--activation",
                                  "relu", "--noise", "0.1", "--json"])
    assert code == 0, err
    (rec,) = records(out)
    res = quadratic_scaling(Problem.from_ratios(0.5, 2.0, ridge=1e-3, activation="relu", noise=0.1))
    for key in ("test_error", "train_error", "bias", "variance", "noise_variance", "kappa", "d2"):
        assert rec[key] == pytest.approx(getattr(res, key), rel=1e-12)
    assert set(rec["fine_grained"]) == set(FINE_GRAINED_KEYS)
    assert rec["test_error"] == pytest.approx(0.259046, abs=6e-7)  # NTK checkpoint table of test_ntk.py
    assert rec["scaling"] == "quadratic" and rec["lr_ratio"] == 1.0


def test_theory_ntk_sweep_prints_one_object_per_point(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--phi", "0.5,1", "--psi", "0.5:2:3", "--ridge", "0.01",
                                  "--activation", "tanh", "--lr-ratio", "1,0", "--json"])
    assert code == 0, err
    recs = records(out)
    assert len(recs) == 2 * 3 * 2
    for rec in recs:
        one = quadratic_scaling(Problem.from_ratios(rec["phi"], rec["psi"], ridge=0.01, activation="tanh"),
                                lr_ratio=rec["lr_ratio"])
        assert rec["test_error"] == pytest.approx(one.test_error, rel=1e-12)
        assert rec["fine_grained"]["PX"] == pytest.approx(one.fine_grained["PX"], rel=1e-9, abs=1e-15)


def test_theory_ntk_sizes_and_f0(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--n0", "400", "--n1", "200", "--m", "800", "--ridge", "0.01",
                                  "--activation", "relu", "--include-f0", "--json"])
    assert code == 0, err
    (rec,) = records(out)
    res = quadratic_scaling(Problem(n0=400, n1=200, m=800, ridge=0.01, activation="relu"), include_f0=True)
    assert rec["test_error"] == pytest.approx(res.test_error, rel=1e-12)
    assert rec["fine_grained"] is None and rec["f0_excess"] > 0


def test_theory_ntk_width_limit(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--phi", "0.5", "--ridge", "1e-3", "--activation", "tanh",
                                  "--noise", "0.1", "--width-limit", "--lr-ratio", "0.5", "--json"])
    assert code == 0, err
    (rec,) = records(out)
    res = infinite_width(Problem.from_ratios(0.5, 1.0, ridge=1e-3, activation="tanh", noise=0.1), lr_ratio=0.5)
    assert rec["test_error"] == pytest.approx(res.test_error, rel=1e-12)
    assert rec["scaling"] == "infinite-width" and "psi" not in rec


def test_theory_ntk_linear_width(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--phi", "0.25,1", "--linear-width", "1,2", "--ridge", "0.01",
                                  "--activation", "relu", "--noise", "0.1", "--json"])
    assert code == 0, err
    recs = records(out)
    assert len(recs) == 4
    for rec in recs:
        res = linear_scaling(Problem(n0=rec["phi"], n1=rec["n1"], m=1.0, ridge=0.01, activation="relu", noise=0.1))
        assert rec["test_error"] == pytest.approx(res.test_error, rel=1e-12)
        assert rec["p_over_m"] == pytest.approx(rec["n1"] * rec["phi"])


def test_human_readable_output(capsys):
    code, out, err = run(capsys, ["theory", "ntk", "--phi", "0.5", "--psi", "0.5", "--ridge", "1e-3",
                                  "--activation", "relu", "--noise", "0.1"])
    assert code == 0 and "test_error" in out and "0.2222079" in out


@pytest.mark.parametrize("argv,match", [
    (["--phi", "0.5", "--psi", "0.5", "--ridge", "-1"], "ridge"),
    (["--phi", "0.5", "--psi", "0.5", "--ridge", "0.1", "--lr-ratio", "-2"], "lr_ratio"),
    (["--phi", "0.5", "--psi", "0.5", "--ridge", "0.1", "--activation", "sign"], "E sigma'"),
    (["--phi", "0.5", "--psi", "0.5", "--ridge", "0.1", "--activation", "nope"], "activation"),
    (["--phi", "0.5", "--ridge", "0.1"], "psi"),
    (["--phi", "abc", "--psi", "0.5", "--ridge", "0.1"], "--phi"),
    (["--phi", "0.5", "--linear-width", "2.5", "--ridge", "0.1"], "linear-width"),
    (["--phi", "0.5", "--linear-width", "2", "--ridge", "0"], "ridge"),
    (["--phi", "0.5", "--psi", "1", "--linear-width", "2", "--ridge", "0.1"], "psi"),
    (["--phi", "0.5", "--ridge", "0.1", "--width-limit", "--include-f0"], "f0"),
])
def test_bad_input_exit_2_one_line(capsys, argv, match):
    code, out, err = run(capsys, ["theory", "ntk", *argv, "--json"])
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and match in err


def test_figure_triple_descent_small(tmp_path, capsys):
    """The figure pipeline end to end on tiny sizes: PNG and CSV written, CSV numbers equal the theory API."""
    from rmt.figures.triple_descent import TripleDescentConfig, make_figure

    cfg = TripleDescentConfig(n0=16, m=32, activations=("tanh",), linear_widths=(1, 2), sim_widths=(2, 64),
                              quadratic_min_width=4, quadratic_max_ratio=4.0, lr_ratios=(1.0, 0.1), trials=(2, 2, 2),
                              reps=2, a_points=64, gate_points=256)
    info = make_figure(tmp_path, config=cfg, seed=1)
    assert info["files"] == [str(tmp_path / "triple_descent.png"), str(tmp_path / "triple_descent.csv")]
    assert (tmp_path / "triple_descent.png").stat().st_size > 10_000
    with open(tmp_path / "triple_descent.csv") as fh:
        info_line = fh.readline()
        assert info_line.startswith("# n0=16")
        rows = list(csv.DictReader(fh))
    assert info["rows"] == len(rows)
    kinds = {r["kind"] for r in rows}
    assert kinds == {"theory-linear", "theory-quadratic", "theory-infinite", "simulation", "simulation-half",
                     "simulation-extrapolated"}
    sims = [r for r in rows if r["kind"] == "simulation"]
    assert len(sims) == 2 * 2 and all(float(r["stderr"]) > 0 for r in sims)
    # quadratic region (n1 = 64) extrapolated to n0 -> inf from the half size (n0 = 8, n1 = 32, m = 16):
    # 2 E(16) - E(8), errors combined; the linear region (n1 = 2) is not extrapolated by default
    exts = [r for r in rows if r["kind"] == "simulation-extrapolated"]
    assert sorted((r["n1"], float(r["lr_ratio"])) for r in exts) == [("64", 0.1), ("64", 1.0)]
    for ext in exts:
        full, = [r for r in sims if r["lr_ratio"] == ext["lr_ratio"] and r["n1"] == ext["n1"]]
        half, = [r for r in rows if r["kind"] == "simulation-half" and r["lr_ratio"] == ext["lr_ratio"]]
        assert (half["n0"], half["n1"], half["m"], ext["n0"], ext["p"]) == ("8", "32", "16", "16", full["p"])
        assert float(ext["test_error"]) == pytest.approx(2 * float(full["test_error"]) - float(half["test_error"]),
                                                         rel=1e-12)
        assert float(ext["stderr"]) == pytest.approx(math.hypot(2 * float(full["stderr"]), float(half["stderr"])),
                                                     rel=1e-12)
    assert "worst deviation of the points extrapolated" in info_line
    lin = [r for r in rows if r["kind"] == "theory-linear" and r["activation"] == "tanh" and r["n1"] == "2"
           and float(r["lr_ratio"]) == 0.1]
    ref = linear_scaling(Problem(n0=16, n1=2, m=32, ridge=1e-3, activation="tanh", noise=0.1), lr_ratio=0.1)
    assert float(lin[0]["test_error"]) == pytest.approx(ref.test_error, rel=1e-9)
    inf = [r for r in rows if r["kind"] == "theory-infinite"]
    assert math.isinf(float(inf[0]["n1"]))
    ref = infinite_width(Problem(n0=16, n1=32, m=32, ridge=1e-3, activation="tanh", noise=0.1),
                         lr_ratio=np.array([1.0, 0.1]))
    assert sorted(float(r["test_error"]) for r in inf) == pytest.approx(sorted(ref.test_error), rel=1e-12)


def test_figure_cli_theory_only(tmp_path, capsys, monkeypatch):
    import rmt.figures.triple_descent as td

    small = td.TripleDescentConfig(n0=16, m=32, linear_widths=(1,), sim_widths=(2,), quadratic_min_width=4,
                                   quadratic_max_ratio=2.0, a_points=64, gate_points=256)
    monkeypatch.setattr(td, "default_config", lambda quick=False: small)
    code, out, err = run(capsys, ["figure", "triple-descent", "--out", str(tmp_path), "--no-mc", "--seed", "3"])
    assert code == 0, err
    assert out.splitlines() == [str(tmp_path / "triple_descent.png"), str(tmp_path / "triple_descent.csv")]
    assert (tmp_path / "triple_descent.png").stat().st_size > 10_000
    with open(tmp_path / "triple_descent.csv") as fh:
        fh.readline()
        assert not any(r["kind"] == "simulation" for r in csv.DictReader(fh))
