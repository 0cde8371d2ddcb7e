"""The ``rmt theory shift`` and ``rmt figure ...`` commands of the covariate-shift model (flags, --json keys and exit
codes as documented in docs/cli.md)."""

from __future__ import annotations

import json
import math

import pytest

from rmt.figures.cli import main


def run_json(capsys, argv):
    rc = main(argv)
    out = capsys.readouterr()
    assert rc == 0, out.err
    return [json.loads(line) for line in out.out.splitlines() if line.strip()]


def test_theory_shift_json_matches_checkpoint(capsys):
    recs = run_json(capsys, ["theory", "shift", "--phi", "0.5", "--psi", "0.25", "--ridge", "1e-3", "--activation",
                             "tanh", "--noise", "0.1", "--spectrum", "1.6:0.4:1,0.4:1.6:1", "--json"])
    assert len(recs) == 1
    r = recs[0]
    assert abs(r["test_error"] - 0.362009) < 5.01e-7 and abs(r["id_test_error"] - 0.219019) < 5.01e-7
    assert abs(r["bias"] - 0.019345) < 5.01e-7
    assert r["bias"] + r["variance"] == pytest.approx(r["test_error"], abs=1e-14)
    assert "id_ood_slope" not in r  # ridge > 0: the exact line does not apply


def test_theory_shift_sweep_and_families(capsys):
    recs = run_json(capsys, ["theory", "shift", "--phi", "2", "--psi", "0.5,1,4", "--ridge", "0", "--activation",
                             "tanh", "--noise", "0.1", "--family", "two-point", "--strength=-0.25,1", "--json"])
    assert len(recs) == 6
    by = {(r["psi"], r["strength"]): r for r in recs}
    assert abs(by[(4.0, 1.0)]["test_error"] - 1.932963) < 5.01e-7  # checkpoint: swap at (2, 4, 0, 0.1)
    # ridgeless over-parameterised: the exact ID-OOD line (docs/models.md §5.6) is printed and reproduces the error
    r = by[(0.5, 1.0)]
    assert abs(r["id_ood_slope"] - 1.359014) < 5.01e-7
    assert r["id_ood_slope"] * r["id_test_error"] + r["id_ood_intercept"] == pytest.approx(r["test_error"], rel=1e-12)
    recs = run_json(capsys, ["theory", "shift", "--phi", "0.5", "--psi", "2", "--ridge", "0", "--activation", "tanh",
                             "--noise", "0.1", "--family", "power-law", "--alpha", "0.5", "--alpha-star", "0,0.8",
                             "--json"])
    assert [round(r["test_error"], 6) for r in recs] == [0.832627, 0.413375]  # power-law checkpoints (§5.8)


def test_theory_shift_pole_is_reported_not_nan(capsys):
    recs = run_json(capsys, ["theory", "shift", "--phi", "0.5", "--psi", "0.5", "--ridge", "0", "--activation",
                             "tanh", "--family", "two-point", "--json"])
    assert recs[0]["test_error"] is None and recs[0]["ood_penalty"] is None  # +inf and inf - inf: JSON null
    assert math.isfinite(recs[0]["bias"])


@pytest.mark.parametrize("argv,needle", [
    (["--spectrum", "1.6:a"], "--spectrum"),
    (["--spectrum", "1.6:0.4:-1"], "weights"),
    (["--family", "two-point", "--strength", "2"], "strength"),
    (["--strength", "1"], "--strength needs --family two-point"),
    (["--family", "power-law", "--alpha", "0.5"], "--alpha-star"),
    (["--family", "power-law", "--alpha", "1.5", "--alpha-star", "0"], "alpha"),
    (["--spectrum", "1:2,1:0.5", "--family", "two-point"], "either --spectrum or --family"),
    (["--activation", "relu", "--spectrum", "1.6:3.2,0.4:0.8"], "centring caveat"),
    (["--phi", "-1"], "phi"),
])
def test_theory_shift_bad_input_exit_2_one_line(capsys, argv, needle):
    base = ["theory", "shift", "--phi", "0.5", "--psi", "0.25", "--ridge", "0.01", "--activation", "tanh"]
    rc = main(base + argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_figure_id_ood_line_theory_only(tmp_path):
    from rmt.figures.id_ood_line import make

    summary = make(tmp_path, mc=False, quick=True)
    assert summary["files"] == [str(tmp_path / "id-ood-line.png"), str(tmp_path / "id-ood-line.csv")]
    assert (tmp_path / "id-ood-line.png").stat().st_size > 10_000
    assert (tmp_path / "id-ood-line.csv").read_text().startswith("source,shift,regime")
    assert max(summary["line_max_residual"].values()) < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shift-phase-diagram", "shift-robustness"])
def test_figures_theory_only(tmp_path, capsys, name):
    assert main(["figure", name, "--out", str(tmp_path), "--no-mc", "--quick"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == str(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_simulate_shift_json_has_stderr_for_every_printed_quantity(capsys):
    recs = run_json(capsys, ["simulate", "shift", "--n0", "40", "--n1", "40", "--m", "30", "--ridge", "0.1",
                             "--activation", "erf", "--noise", "0.1", "--family", "two-point", "--strength", "1,0",
                             "--reps", "2", "--n-test", "200", "--json", "--quiet"])
    assert [r["strength"] for r in recs] == [1.0, 0.0]
    for r in recs:
        for k in ("test_error", "train_error", "bias", "variance", "id_test_error", "id_bias", "id_variance"):
            assert math.isfinite(r[k]) and r["stderr"][k] >= 0
        assert r["bias"] + r["variance"] == pytest.approx(r["test_error"], rel=1e-10)
    # strength 0 is no shift: the two test laws coincide, so OOD and ID estimates are identical
    assert recs[1]["test_error"] == pytest.approx(recs[1]["id_test_error"], rel=1e-12)


@pytest.mark.parametrize("argv,needle", [
    (["--phi", "0.5", "--psi", "1"], "--n0 is required"),
    (["--n0", "40", "--n1", "40", "--m", "30", "--spectrum", "1:x"], "--spectrum"),
    (["--n0", "40", "--n1", "40", "--m", "30", "--reps", "0"], "reps"),
])
def test_simulate_shift_bad_input(capsys, argv, needle):
    rc = main(["simulate", "shift", "--ridge", "0.1", "--activation", "tanh", "--quiet"] + argv)
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and needle in err
