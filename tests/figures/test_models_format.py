"""The model table (``rmt models``) and ``--format json|csv`` of ``rmt theory``, ``rmt simulate`` and export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from rmt.figures.cli import main
from rmt.figures.models import MODELS, get_model, validation_groups


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_models_json_lists_every_model(capsys):
    code, out, _ = _run(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["name"] for r in rows] == [s.name for s in MODELS]
    assert {"linear", "rf", "ntk", "shift", "eigen-krr", "eigen-rf"} <= {r["name"] for r in rows}
    for r in rows:
        assert r["has_theory"] and r["quantities"] and "model" in r["coordinates"]
    code, out, _ = _run(capsys, "models")
    assert code == 0 and all(f"{s.name}: " in out for s in MODELS)


def test_every_entry_point_imports_and_names_known_quantities():
    from rmt.quantities import describe

    for spec in MODELS:
        assert callable(spec.theory_function())
        if spec.has_simulation:
            assert callable(spec.simulation_function())
        for q in spec.quantities + spec.coordinates:
            describe(q)  # raises for a name outside the vocabulary
    with pytest.raises(ValueError, match="model"):
        get_model("nope")


def test_validate_model_list_comes_from_the_table():
    from rmt.figures.validate import models

    assert models() == sorted(validation_groups())
    assert set(validation_groups()) == {s.validation_group for s in MODELS if s.validation}


def test_theory_rf_csv_matches_json(capsys):
    args = ["theory", "rf", "--n0", "100", "--n1", "50,100", "--m", "100", "--ridge", "0", "--noise", "0.1",
            "--ensemble", "inf"]
    code, out_json, _ = _run(capsys, *args, "--json")
    assert code == 0
    code, out_fmt, _ = _run(capsys, *args, "--format", "json")
    assert code == 0 and out_fmt == out_json  # --json is a synonym of --format json
    code, out_csv, _ = _run(capsys, *args, "--format", "csv")
    assert code == 0
    recs = [json.loads(line) for line in out_json.splitlines()]
    rows = _csv(out_csv)
    assert len(rows) == 2
    for rec, row in zip(recs, rows):
        assert row["model"] == "rf" and float(row["phi"]) == rec["phi"]
        assert float(row["ensemble.fine_grained.X"]) == rec["ensemble"]["fine_grained"]["X"]
    # n1 = m ridgeless: JSON null, empty CSV cell, never the string "inf"
    assert recs[1]["fine_grained"]["PX"] is None and rows[1]["fine_grained.PX"] == ""
    assert "inf" not in out_json and "inf" not in out_csv.replace("info", "")


def test_json_and_csv_together_is_a_usage_error(capsys):
    code, _, err = _run(capsys, "theory", "linear", "--gamma", "0.5", "--ridge", "0.1", "--json", "--format", "csv")
    assert code == 2 and "--format" in err and len(err.strip().splitlines()) == 1


def test_theory_shift_and_ntk_csv(capsys):
    code, out, _ = _run(capsys, "theory", "shift", "--phi", "0.5", "--psi", "0.5,0.25", "--ridge", "0",
                        "--activation", "tanh", "--family", "two-point", "--format", "csv")
    assert code == 0
    rows = _csv(out)
    assert rows[0]["ood_penalty"] == "" and rows[0]["test_error"] == ""  # pole: inf and inf - inf
    assert float(rows[1]["ood_penalty"]) == pytest.approx(float(rows[1]["test_error"]) -
                                                          float(rows[1]["id_test_error"]), rel=1e-12)
    code, out, _ = _run(capsys, "theory", "ntk", "--phi", "0.5", "--psi", "1", "--ridge", "1e-3", "--noise", "0.1",
                        "--lr-ratio", "0,1", "--format", "csv")
    assert code == 0
    rows = _csv(out)
    assert [r["lr_ratio"] for r in rows] == ["0.0", "1.0"] and "fine_grained.PXeps" in rows[0]
    assert float(rows[1]["test_error"]) == pytest.approx(0.245777, abs=1e-6)  # README's number


def test_simulate_and_export_csv_share_the_theory_coordinates(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    db = tmp_path / "s.sqlite"
    code, out, _ = _run(capsys, "simulate", "linear", "--n", "20", "--d", "10", "--ridge", "0.1,1", "--noise", "0.5",
                        "--reps", "2", "--quiet", "--db", str(db), "--format", "csv")
    assert code == 0
    sim = pd.read_csv(io.StringIO(out))
    code, out, _ = _run(capsys, "theory", "linear", "--n", "20", "--d", "10", "--ridge", "0.1,1", "--noise", "0.5",
                        "--format", "csv")
    th = pd.read_csv(io.StringIO(out))
    merged = pd.merge(th, sim, on=list(get_model("linear").coordinates), suffixes=("_theory", "_sim"))
    assert len(merged) == 2 and "stderr.test_error" in merged
    code, out, _ = _run(capsys, "simulate", "export", "--db", str(db), "--model", "linear")
    assert code == 0
    exported = pd.read_csv(io.StringIO(out))
    assert list(exported["ridge"]) == [0.1, 1.0] and list(exported["gamma"]) == [0.5, 0.5]
    assert list(exported.columns[:2]) == ["key", "model"]
    code, out, _ = _run(capsys, "simulate", "export", "--db", str(db), "--model", "rf")
    assert code == 0 and out.strip() == ""
    # a database written before non-finite numbers became null stored them as strings: exported as null / empty
    con = sqlite3.connect(db)
    (key, result), = con.execute("SELECT key, result FROM points LIMIT 1").fetchall()
    rec = json.loads(result)
    rec["stderr"]["test_error"] = "inf"
    con.execute("UPDATE points SET result = ? WHERE key = ?", (json.dumps(rec), key))
    con.commit()
    con.close()
    code, out, _ = _run(capsys, "simulate", "export", "--db", str(db), "--format", "json")
    assert code == 0 and json.loads(out)[0]["result"]["stderr"]["test_error"] is None
    code, out, _ = _run(capsys, "simulate", "export", "--db", str(db))
    assert _csv(out)[0]["stderr.test_error"] == ""
