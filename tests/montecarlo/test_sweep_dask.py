"""A sweep on a real local Dask cluster (scheduler and worker processes): a worker killed mid-sweep has its points
retried, and the store ends byte-identical to a serial run's."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from pathlib import Path

import pytest

from rmt.montecarlo.sweep import SweepPoint, run_sweep
from rmt.problem import LinearProblem

distributed = pytest.importorskip("distributed")


def results(db: Path) -> dict[str, str]:
    con = sqlite3.connect(str(db))
    try:
        return dict(con.execute("SELECT key, result FROM points"))
    finally:
        con.close()


@pytest.mark.slow
def test_dask_cluster_survives_a_killed_worker(tmp_path):
    import logging

    pts = [SweepPoint("linear", LinearProblem(n=60, d=30, ridge=r, noise=0.5), {"reps": 60, "seed": 5})
           for r in (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0)]
    serial = tmp_path / "serial.db"
    list(run_sweep(pts, db=serial, quiet=True))
    db = tmp_path / "dask.db"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        out = []
        killed = threading.Event()
        for rec, cached in run_sweep(pts, db=db, quiet=True, executor=client):
            out.append(rec)
            assert not cached
            if not killed.is_set():  # the first result is in: the other points are queued or running
                os.kill(next(iter(pids.values())), signal.SIGKILL)
                killed.set()
        assert len(out) == 8
        assert set(client.run(os.getpid).values()) != set(pids.values())  # the nanny started a new worker
    assert results(db) == results(serial)
    assert [rec["config"]["problem"]["ridge"] for rec in out] == [0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0]
