"""Resumable sweeps: storage, skipping finished points, export, and survival of a real SIGKILL."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmt.montecarlo.sweep import SweepPoint, SweepStore, export, point_key, run_sweep
from rmt.problem import LinearProblem

ROOT = Path(__file__).resolve().parents[2]


def points(ridges):
    return [SweepPoint("linear", LinearProblem(n=40, d=20, ridge=r, noise=0.5), {"reps": 2, "seed": 1})
            for r in ridges]


def test_store_skip_and_export(tmp_path):
    db = tmp_path / "sweep.sqlite"
    first = list(run_sweep(points([0.1, 0.2, 0.3]), db=db, quiet=True))
    assert [cached for _, cached in first] == [False, False, False]
    again = list(run_sweep(points([0.1, 0.2, 0.3, 0.4]), db=db, quiet=True))
    assert [cached for _, cached in again] == [True, True, True, False]
    for (a, _), (b, _) in zip(first, again):
        assert a == b
    with SweepStore(db) as store:
        rows = store.rows()
        assert len(store) == 4
    assert rows[0]["version"] and rows[0]["seed"] == 1 and rows[0]["config"]["problem"]["ridge"] == 0.1
    assert rows[0]["result"]["stderr"]["test_error"] > 0
    table = list(csv.DictReader(io.StringIO(export(db, tmp_path / "out.csv"))))
    assert len(table) == 4 and float(table[1]["config.problem.ridge"]) == 0.2
    assert {"test_error", "fine_grained.Xeps", "stderr.fine_grained.Xeps", "stderr.test_error"} <= set(table[0])
    assert (tmp_path / "out.csv").read_text().startswith("key,")
    as_json = json.loads(export(db, fmt="json"))
    assert as_json[3]["result"]["test_error"] == again[3][0]["test_error"]


def test_keys_depend_on_everything_that_matters():
    base = points([0.1])[0].config()
    assert point_key(base) == point_key(json.loads(json.dumps(base)))
    assert point_key(base) != point_key(base, version="0.0.0")
    other = SweepPoint("linear", LinearProblem(n=40, d=20, ridge=0.1, noise=0.5), {"reps": 2, "seed": 2}).config()
    assert point_key(base) != point_key(other)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="model must be one of"):
        SweepPoint("mlp", LinearProblem(n=4, d=2))
    with pytest.raises(ValueError, match="directory"):
        SweepStore(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        export(tmp_path / "missing.sqlite")
    (tmp_path / "junk.sqlite").write_text("not a database " * 100)
    with pytest.raises(ValueError, match="not a usable SQLite file"):
        SweepStore(tmp_path / "junk.sqlite")
    with pytest.raises(ValueError, match="fmt must be"):
        export(tmp_path / "junk.sqlite", fmt="xml")


def _stored(db: Path) -> dict[str, tuple]:
    con = sqlite3.connect(str(db))
    try:
        return {k: (r, e, f) for k, r, e, f in con.execute("SELECT key, result, elapsed_s, finished_at FROM points")}
    finally:
        con.close()


def test_a_killed_sweep_loses_at_most_the_point_in_progress(tmp_path):
    """SIGKILL a real sweep (the CLI) once two points are stored; the file stays valid, the stored points are
    intact, and rerunning the same command computes only the missing points."""
    db = tmp_path / "kill.sqlite"
    cmd = [sys.executable, "-m", "rmt.figures.cli", "simulate", "linear", "--n", "60", "--d", "30", "--ridge",
           "0.05:1:8", "--noise", "1", "--reps", "150", "--db", str(db), "--json", "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    stored = {}
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                stored = _stored(db)
            except sqlite3.OperationalError:  # table not created yet, or locked for a moment
                stored = {}
            if len(stored) >= 2:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed; make its points slower"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after_kill = _stored(db)
    assert 2 <= len(after_kill) < 8
    assert all(json.loads(r)["reps"] == 150 for r, _, _ in after_kill.values())
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 8
    final = _stored(db)
    assert len(final) == 8
    for key, row in after_kill.items():
        assert final[key] == row  # not recomputed: same result, elapsed time and finishing time
