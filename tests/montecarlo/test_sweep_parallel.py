"""Sweeps shared between processes (claims in the store) and run on executors: every point computed once, dead
owners' points taken over, and the stored rows byte-identical to a serial run's."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rmt.montecarlo.sweep import Owner, SweepPoint, SweepStore, point_key, run_sweep
from rmt.problem import LinearProblem

ROOT = Path(__file__).resolve().parents[2]


def points(ridges, reps=2):
    return [SweepPoint("linear", LinearProblem(n=40, d=20, ridge=r, noise=0.5), {"reps": reps, "seed": 3})
            for r in ridges]


def results(db: Path) -> dict[str, str]:
    con = sqlite3.connect(str(db))
    try:
        return dict(con.execute("SELECT key, result FROM points"))
    finally:
        con.close()


def serial(tmp_path: Path, pts) -> dict[str, str]:
    db = tmp_path / "serial.db"
    list(run_sweep(pts, db=db, quiet=True))
    return results(db)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_claims_of_dead_or_silent_owners_are_taken_over(tmp_path):
    pts = points([0.1, 0.2, 0.3])
    keys = [point_key(p.config()) for p in pts]
    db = tmp_path / "s.db"
    me = Owner.this_process()
    dead = Owner(me.host, dead_pid(), "", "dead")  # same host, process gone
    far = Owner("another-host", 1, "", "far")  # another host: judged by its heartbeat alone
    with SweepStore(db) as store:
        assert store.claim(keys[0], dead) == "mine"
        assert store.claim(keys[1], far) == "mine"
        assert store.claim(keys[0], me) == "mine"  # the dead process's claim is taken over at once
        assert store.claim(keys[1], me) == "busy"  # a fresh heartbeat from another host is respected...
        assert store.claim(keys[1], me, lease_s=1e-9) == "mine"  # ...until its lease runs out
        store.release(me)
        assert store.claims() == []
    out = list(run_sweep(pts, db=db, quiet=True))
    assert [cached for _, cached in out] == [False, False, False]
    assert results(db) == serial(tmp_path, pts)
    with SweepStore(db) as store:
        assert store.claims() == [] and store.claim(keys[2], me) == "done"


def test_a_point_claimed_by_a_living_owner_is_waited_for(tmp_path):
    """A claim by a living process (here: another sweep of this one) is skipped; once its heartbeat is older than
    the lease the point is taken over and computed here."""
    pts = points([0.1, 0.2])
    db = tmp_path / "s.db"
    other = Owner.this_process()
    with SweepStore(db) as store:
        assert store.claim(point_key(pts[0].config()), other) == "mine"
    start = time.perf_counter()
    out = list(run_sweep(pts, db=db, quiet=True, lease_s=1.0))
    assert time.perf_counter() - start >= 1.0
    assert [rec["config"]["problem"]["ridge"] for rec, _ in out] == [0.1, 0.2]  # in the order of the points
    assert results(db) == serial(tmp_path, pts)


def test_executor_gives_the_serial_rows(tmp_path):
    pts = points([0.05, 0.1, 0.2, 0.4])
    db = tmp_path / "pool.db"
    with ThreadPoolExecutor(2) as pool:
        out = list(run_sweep(pts, db=db, quiet=True, executor=pool))
    assert [rec["config"]["problem"]["ridge"] for rec, _ in out] == [0.05, 0.1, 0.2, 0.4]
    ref = serial(tmp_path, pts)
    assert results(db) == ref
    assert [json.dumps(rec) for rec, _ in out] == [json.dumps(json.loads(ref[point_key(p.config())])) for p in pts]
    with pytest.raises(ValueError, match="executor must be"):
        list(run_sweep(pts, executor=object()))


class _FlakyExecutor(ThreadPoolExecutor):
    """Fails the first submission of every point as a dead worker would (an error that is not the model's)."""

    def __init__(self) -> None:
        super().__init__(2)
        self.seen: set[str] = set()

    def submit(self, fn, point, *args, **kwargs):  # type: ignore[override]
        key = point_key(point.config())
        if key not in self.seen:
            self.seen.add(key)
            return super().submit(_die)
        return super().submit(fn, point, *args, **kwargs)


def _die() -> None:
    raise ConnectionError("worker lost")


def test_failed_futures_are_resubmitted(tmp_path):
    pts = points([0.1, 0.2])
    with _FlakyExecutor() as pool:
        out = list(run_sweep(pts, db=tmp_path / "f.db", quiet=True, executor=pool))
    assert len(out) == 2 and results(tmp_path / "f.db") == serial(tmp_path, pts)
    with _FlakyExecutor() as pool:
        with pytest.raises(ConnectionError):
            list(run_sweep(pts, quiet=True, executor=pool, retries=0))


SCRIPT = """
import json, sys
from rmt.montecarlo.sweep import SweepPoint, run_sweep
from rmt.problem import LinearProblem
pts = [SweepPoint("linear", LinearProblem(n=60, d=30, ridge=r, noise=0.5), {"reps": 40, "seed": 3})
       for r in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0)]
out = list(run_sweep(pts, db=sys.argv[1], quiet=True))
print(json.dumps({"computed": sum(not c for _, c in out), "n": len(out)}))
"""


@pytest.mark.slow
def test_two_processes_split_one_store(tmp_path):
    """Two processes started together on one store compute every point once between them, and the rows equal a
    serial run's."""
    db = tmp_path / "shared.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(db)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(o["n"] == 8 for o in outs)
    assert sum(o["computed"] for o in outs) == 8, outs
    assert min(o["computed"] for o in outs) >= 1, outs
    clean = tmp_path / "clean.db"
    subprocess.run([sys.executable, "-c", SCRIPT, str(clean)], env=env, check=True, capture_output=True, timeout=600)
    assert results(db) == results(clean)


def test_cli_cluster_flags_are_checked_first(capsys):
    from rmt.figures.cli import main

    base = ["simulate", "linear", "--n", "40", "--d", "20", "--ridge", "0.1"]
    assert main(base + ["--workers", "0"]) == 2
    assert "--workers must be an integer >= 1" in capsys.readouterr().err
    assert main(base + ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
