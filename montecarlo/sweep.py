r"""Sweeps that lose nothing: every finished point is committed to a SQLite file at once.

A sweep is a list of :class:`SweepPoint` (model name, problem, options). :func:`run_sweep` simulates the points
(yielding them in order) and, with ``db=FILE``, commits each result in its own transaction as soon as it is finished, keyed by a hash
of everything that determines it (model, problem, options including the seed, and the package version
``rmt.__version__``). Rerunning the same sweep skips the stored points; a kill (even ``SIGKILL``) loses at most the
point in progress, because SQLite's journal makes every committed point durable and an uncommitted one invisible.

Stored per point: the key, model, configuration (JSON), seed, package version, the full result record (the JSON of
:meth:`montecarlo.results.SimulationResult.as_dict`, with its standard errors), the standard errors on their own,
the wall-clock time and the finishing time. :func:`export` writes them as CSV (flattened columns such as
``fine_grained.PX`` and ``stderr.fine_grained.PX``, with the coordinate columns ``model``, ``activation``, ``n0``,
``n1``, ``m``, ``phi``, ``psi``, ``ridge``, ``noise``, ``signal``, ... of :mod:`rmt.records`) or JSON. Non-finite
numbers are stored and exported as JSON ``null`` (an empty CSV cell); databases written before this rule, which
stored them as the strings ``"inf"``/``"nan"``, are exported the same way.

Several processes, one store. A process claims a point (a row of the ``claims`` table with its host, process id
and a heartbeat refreshed by a background thread) before computing it; the others skip it and wait for it at the
end, and a claim whose owner died (its process is gone on the same host, or its heartbeat is older than
:data:`LEASE_S`) is taken over. Every point carries its own seed, so the stored rows are those of a serial run
whichever process computed them. The same holds for ``executor=``: the points run on any
``concurrent.futures.Executor`` (a process pool, or a Dask cluster through ``distributed.Client``), each result is
stored here as it arrives, and a point whose worker died is resubmitted.

A tqdm progress bar (on stderr, shown only once a sweep has run for 2 seconds) follows the points, or the
repetitions of a single point; ``quiet=True`` silences it.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from tqdm import tqdm

import rmt
from rmt._validation import check_positive, check_positive_int
from rmt.problem import LinearProblem, Problem
from rmt.records import flatten, jsonable, write_csv
from rmt.solvers import SolverError

__all__ = ["LEASE_S", "MODELS", "Owner", "SweepPoint", "SweepStore", "compute_point", "export", "export_rows", "jsonable",
           "point_key", "run_sweep"]


def _simulators() -> dict[str, Callable[..., Any]]:
    from rmt.montecarlo.covariate_shift import simulate_shift
    from rmt.montecarlo.dynamics import simulate_dynamics
    from rmt.montecarlo.eigen import simulate_eigen
    from rmt.montecarlo.linear import simulate_linear
    from rmt.montecarlo.ntk import simulate_ntk
    from rmt.montecarlo.random_features import simulate_rf

    return {"rf": simulate_rf, "linear": simulate_linear, "ntk": simulate_ntk, "shift": simulate_shift,
            "eigen": simulate_eigen, "dynamics": simulate_dynamics}


MODELS = ("rf", "linear", "ntk", "shift", "eigen", "dynamics")
"""Model names a :class:`SweepPoint` may use (``simulate_rf``, ``simulate_linear``, ``simulate_ntk``,
``simulate_shift``, ``montecarlo.eigen.simulate_eigen``, ``montecarlo.dynamics.simulate_dynamics``)."""


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: ``MODELS`` name, scalar problem, and keyword options of the simulator (``trials``,
    ``reps``, ``seed``, ...; JSON-serialisable values)."""

    model: str
    problem: Problem | LinearProblem
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")

    def config(self) -> dict[str, Any]:
        opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in sorted(self.options.items())}
        return {"model": self.model, "problem": self.problem.as_dict(), "options": opts}


def point_key(config: Mapping[str, Any], version: str = rmt.__version__) -> str:
    """SHA-256 of the canonical JSON of ``config`` and the package version."""
    text = json.dumps({"config": jsonable(config), "version": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER,
    version TEXT NOT NULL,
    result TEXT NOT NULL,
    stderr TEXT NOT NULL,
    elapsed_s REAL NOT NULL,
    finished_at TEXT NOT NULL
)
"""

_CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started TEXT NOT NULL,
    heartbeat REAL NOT NULL
)
"""

LEASE_S = 60.0
"""A claim whose heartbeat is older than this many seconds is abandoned (its owner died or hangs) and may be taken
over; on the owner's own host a claim is given up at once when its process no longer exists."""

POLL_S = 0.25
"""How often a process waiting for points claimed by others looks at the store again (seconds)."""


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot (Linux ``/proc``), ``""`` where unknown, so
    that a reused process id is not mistaken for the claim's owner."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


@dataclass(frozen=True)
class Owner:
    """Who holds a claim: host name, process id and start time, and a token per :func:`run_sweep` call."""

    host: str
    pid: int
    started: str
    token: str

    @classmethod
    def this_process(cls) -> "Owner":
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _process_start(pid), uuid.uuid4().hex)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    def holds_alive(self, host: str, pid: int, started: str) -> bool:
        """Whether a claim by ``(host, pid, started)``, seen from this process's host, has a living owner
        (``True`` when that cannot be known here: another host is judged by its heartbeat alone)."""
        if host != self.host:
            return True
        if not _pid_alive(pid):
            return False
        return not started or _process_start(pid) in ("", started)


class SweepStore:
    """The SQLite file of a sweep (created on first use; safe to open from several processes at once).

    Besides the finished ``points`` it keeps a ``claims`` table: a process that starts a point records its host,
    process id and a heartbeat there, so that other processes working on the same file skip that point instead
    of computing it twice, and take it over if the owner dies (see :data:`LEASE_S`).

    Args:
        path: the database file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"db must be a file path, got the directory {str(self.path)!r}")
        try:
            self._con = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None,
                                        check_same_thread=False)
            self._con.execute("PRAGMA synchronous=FULL")
            try:
                with self._transaction():
                    self._con.execute(_SCHEMA)
                    self._con.execute(_CLAIMS_SCHEMA)
            except sqlite3.OperationalError as exc:  # a read-only file can still be read (e.g. exported)
                if "readonly" not in str(exc).replace(" ", "").lower():
                    raise
                self._con.execute("SELECT COUNT(*) FROM points").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"db {str(self.path)!r} is not a usable SQLite file: {exc}") from None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``: it takes the write lock first, so a read-then-write inside
        it is atomic across processes)."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result record of ``key``, or ``None``."""
        with self._lock:
            row = self._con.execute("SELECT result FROM points WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, config: Mapping[str, Any], record: Mapping[str, Any], elapsed_s: float) -> None:
        """Store one finished point and drop its claim, in one transaction (committed before returning). A point
        that is already stored is kept as it is (the first finisher wins; the results are identical)."""
        rec = jsonable(record)
        with self._lock, self._transaction():
            self._con.execute(
                "INSERT OR IGNORE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, config["model"], json.dumps(jsonable(config), sort_keys=True),
                 config["options"].get("seed", 0), rmt.__version__, json.dumps(rec), json.dumps(rec.get("stderr", {})),
                 float(elapsed_s), time.strftime("%Y-%m-%dT%H:%M:%S%z")))
            self._con.execute("DELETE FROM claims WHERE key = ?", (key,))

    def claim(self, key: str, owner: Owner, lease_s: float = LEASE_S) -> str:
        """Try to take point ``key`` for ``owner``: ``"done"`` (already stored), ``"busy"`` (claimed by a living
        owner: another process, or another sweep of this one) or ``"mine"`` (claimed now, possibly taken over
        from a dead owner)."""
        now = time.time()
        with self._lock, self._transaction():
            if self._con.execute("SELECT 1 FROM points WHERE key = ?", (key,)).fetchone() is not None:
                return "done"
            row = self._con.execute("SELECT owner, host, pid, started, heartbeat FROM claims WHERE key = ?",
                                    (key,)).fetchone()
            if row is not None and row[0] != owner.name and now - row[4] < lease_s and owner.holds_alive(*row[1:4]):
                return "busy"
            self._con.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                              (key, owner.name, owner.host, owner.pid, owner.started, now))
            return "mine"

    def heartbeat(self, owner: Owner) -> None:
        """Refresh the heartbeat of every claim of ``owner``."""
        with self._lock, self._transaction():
            self._con.execute("UPDATE claims SET heartbeat = ? WHERE owner = ?", (time.time(), owner.name))

    def release(self, owner: Owner) -> None:
        """Drop every claim of ``owner`` (its unfinished points become free for others)."""
        with self._lock, self._transaction():
            self._con.execute("DELETE FROM claims WHERE owner = ?", (owner.name,))

    def claims(self) -> list[dict[str, Any]]:
        """The current claims (key, owner, host, pid, heartbeat)."""
        with self._lock:
            cur = self._con.execute("SELECT key, owner, host, pid, heartbeat FROM claims ORDER BY rowid")
            return [{"key": k, "owner": o, "host": h, "pid": p, "heartbeat": b} for k, o, h, p, b in cur.fetchall()]

    def rows(self) -> list[dict[str, Any]]:
        """Every stored point (in insertion order) with its key, model, config, seed, version, result, elapsed_s,
        finished_at."""
        with self._lock:
            cur = self._con.execute("SELECT key, model, config, seed, version, result, elapsed_s, finished_at "
                                    "FROM points ORDER BY rowid")
            fetched = cur.fetchall()
        return [{"key": k, "model": m, "config": json.loads(c), "seed": s, "version": v, "result": json.loads(r),
                 "elapsed_s": e, "finished_at": f} for k, m, c, s, v, r, e, f in fetched]

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM points").fetchone()[0])


class _Heartbeat:
    """A daemon thread that refreshes ``owner``'s claims every ``lease_s / 4`` seconds until stopped."""

    def __init__(self, store: SweepStore, owner: Owner, lease_s: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(store, owner, lease_s / 4.0), daemon=True,
                                        name="rmt-sweep-heartbeat")
        self._thread.start()

    def _beat(self, store: SweepStore, owner: Owner, every: float) -> None:
        while not self._stop.wait(every):
            try:
                store.heartbeat(owner)
            except sqlite3.Error:  # busy for longer than the timeout, or closed: try again next time
                pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def compute_point(point: SweepPoint) -> tuple[dict[str, Any], float]:
    """Simulate one point (no progress bar) and return its JSON record and the wall-clock seconds it took.

    This is the unit of work that :func:`run_sweep` hands to an executor; it is a plain module-level function, so
    it pickles by reference to any worker process that can import ``rmt``.
    """
    start = time.perf_counter()
    result = _simulate_one(_simulators()[point.model], point, True, sys.stderr)
    return jsonable(result.as_dict()), time.perf_counter() - start


_MODEL_ERRORS: tuple[type[BaseException], ...] = (ValueError, ArithmeticError, TypeError, SolverError)
"""Exceptions of a point that come from the model itself (raised at once); any other failure of an executor's
future (a worker that died, a broken pool, a lost connection) gets the point resubmitted."""


def _as_executor(executor: Any) -> Executor:
    """A ``concurrent.futures.Executor`` from an executor or from a Dask ``distributed.Client`` (whose
    ``get_executor()`` gives one)."""
    if isinstance(executor, Executor):
        return executor
    if hasattr(executor, "get_executor"):
        return executor.get_executor()
    raise ValueError(f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
                     f"got {type(executor).__name__}")


def run_sweep(points: Sequence[SweepPoint], *, db: str | Path | None = None, quiet: bool = False,
              stream: Any = None, executor: Any = None, retries: int = 3, lease_s: float = LEASE_S
              ) -> Iterator[tuple[dict[str, Any], bool]]:
    """Simulate ``points``, yielding ``(record, cached)`` for each in the order of ``points``.

    Every point has its own seed (its options), so its result does not depend on where or in which order it is
    computed: a sweep split between several processes on one store, or run on an executor, stores exactly the
    rows of a serial run.

    Args:
        points: the sweep.
        db: SQLite file that makes the sweep resumable (``None``: keep nothing). Several processes may run the
            same sweep on one file at once: each claims a point before computing it (:meth:`SweepStore.claim`),
            skips points claimed by a living process, waits for them at the end, and takes over the points of a
            process that died.
        quiet: no progress bar.
        stream: where the progress bar goes (default ``sys.stderr``).
        executor: run the points on this ``concurrent.futures.Executor`` (a process or thread pool, or a Dask
            ``distributed.Client`` or its ``get_executor()``) instead of in this process; each finished point is
            stored here as it arrives.
        retries: how many times a point whose future failed for a reason other than the model (a worker that
            died, a broken connection) is resubmitted before the failure is raised.
        lease_s: seconds after which a claim without a heartbeat is abandoned (:data:`LEASE_S`).

    Yields:
        The JSON record of each point (``SimulationResult.as_dict()`` or ``ShiftResult.as_dict()``, non-finite
        floats as ``None``: :func:`rmt.records.jsonable`) and whether it came from the database or another
        process.
    """
    points = list(points)
    retries = check_positive_int(retries, "retries", minimum=0)
    lease_s = float(check_positive(lease_s, "lease_s"))
    pool = _as_executor(executor) if executor is not None else None
    simulators = _simulators() if pool is None else None
    stream = stream if stream is not None else sys.stderr
    configs = [p.config() for p in points]
    keys = [point_key(c) for c in configs]
    store = SweepStore(db) if db is not None else None
    owner = Owner.this_process()
    beat = None
    done: dict[int, tuple[dict[str, Any], bool]] = {}
    futures: dict[Future, int] = {}
    attempts: dict[int, int] = {}
    nxt = 0
    try:
        beat = _Heartbeat(store, owner, lease_s) if store is not None else None
        with tqdm(total=len(points), desc="sweep", unit="point", delay=2.0, disable=quiet or len(points) < 2,
                  file=stream) as bar:
            def finish(i: int, record: dict[str, Any], cached: bool, elapsed: float | None = None) -> None:
                if store is not None and elapsed is not None:
                    store.put(keys[i], configs[i], record, elapsed)
                done[i] = (record, cached)
                bar.update(1)

            pending = list(range(len(points)))
            while pending or futures:
                waiting = []
                for i in pending:
                    state = store.claim(keys[i], owner, lease_s) if store is not None else "mine"
                    if state == "busy":
                        waiting.append(i)
                    elif state == "done":
                        finish(i, _legacy(store.get(keys[i])), True)  # type: ignore[union-attr, arg-type]
                    elif pool is not None:
                        futures[pool.submit(compute_point, points[i])] = i
                    else:
                        start = time.perf_counter()
                        result = _simulate_one(simulators[points[i].model], points[i],  # type: ignore[index]
                                               quiet or len(points) > 1, stream)
                        finish(i, jsonable(result.as_dict()), False, time.perf_counter() - start)
                    while nxt in done:
                        yield done.pop(nxt)
                        nxt += 1
                pending = waiting
                if futures:
                    finished, _ = wait(futures, timeout=POLL_S if pending else None, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        i = futures.pop(fut)
                        try:
                            record, elapsed = fut.result()
                        except _MODEL_ERRORS:
                            raise
                        except Exception:
                            attempts[i] = attempts.get(i, 0) + 1
                            if attempts[i] > retries:
                                raise
                            futures[pool.submit(compute_point, points[i])] = i  # type: ignore[union-attr]
                            continue
                        finish(i, record, False, elapsed)
                elif pending:
                    time.sleep(POLL_S)
                while nxt in done:
                    yield done.pop(nxt)
                    nxt += 1
    finally:
        for fut in futures:
            fut.cancel()
        if beat is not None:
            beat.stop()
        if store is not None:
            try:
                store.release(owner)
            finally:
                store.close()


def _simulate_one(simulate: Callable[..., Any], point: SweepPoint, quiet: bool, stream: Any) -> Any:
    params = inspect.signature(simulate).parameters
    count = "reps" if "reps" in params else "trials"  # the eigen model counts its repetitions as datasets
    reps = check_positive_int(point.options.get(count, params[count].default), count)
    with tqdm(total=reps, desc="repetitions", unit="rep", delay=2.0, disable=quiet, leave=False,
              file=stream) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        return simulate(point.problem, progress=progress, **point.options)


def _legacy(obj: Any) -> Any:
    """Stored records from before non-finite numbers became ``null``: the strings ``"inf"``, ``"-inf"``, ``"nan"``
    to ``None``."""
    if isinstance(obj, dict):
        return {k: _legacy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_legacy(v) for v in obj]
    return None if obj in ("inf", "-inf", "nan") else obj


def export_rows(db: str | Path, models: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every stored point of ``db`` as one flat row: ``key``, ``model``, ``seed``, ``version``, ``elapsed_s``,
    ``finished_at``, the coordinate columns (from the stored configuration), the configuration as ``config.*``
    columns, then the result's quantities (``test_error``, ``fine_grained.PX``, ``stderr.test_error``, ...).

    Raises:
        ValueError: a missing database file.

    ``models``: keep only the points of these sweep models (default: all).
    """
    from rmt.montecarlo.results import model_coordinates, shift_record

    if not Path(db).is_file():
        raise ValueError(f"db {str(db)!r} does not exist")
    with SweepStore(db) as store:
        rows = store.rows()
    out = []
    for r in rows:
        if models is not None and r["model"] not in models:
            continue
        result = _legacy({k: v for k, v in r["result"].items() if k != "config"})
        if "in_distribution" in result:
            result = shift_record(result)
        out.append(flatten({k: v for k, v in r.items() if k not in ("config", "result")})
                   | model_coordinates({**r["config"].get("options", {}), **r["config"]})
                   | flatten(r["config"], "config.")
                   | flatten(result))
    return out


def export(db: str | Path, path: str | Path | None = None, *, fmt: str = "csv",
           models: Sequence[str] | None = None) -> str:
    """Write every stored point of ``db`` (of the sweep ``models`` only, when given) as CSV (one flattened row per
    point, :func:`export_rows`) or JSON (a list of the stored rows); return the text, and also write it to ``path``
    when given.

    Raises:
        ValueError: unknown format or a missing database file.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"fmt must be 'csv' or 'json', got {fmt!r}")
    if not Path(db).is_file():
        raise ValueError(f"db {str(db)!r} does not exist")
    if fmt == "json":
        with SweepStore(db) as store:
            rows = [r for r in store.rows() if models is None or r["model"] in models]
        text = json.dumps(_legacy(rows), indent=1) + "\n"
    else:
        text = write_csv(export_rows(db, models))
    if path is not None:
        Path(path).write_text(text)
    return text
