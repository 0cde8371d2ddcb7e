r"""Sweeps that lose nothing: every finished point is committed to a SQLite file at once.

A sweep is a list of :class:`SweepPoint` (model name, problem, options). :func:`run_sweep` simulates the points in
order and, with ``db=FILE``, commits each result in its own transaction as soon as it is finished, keyed by a hash
of everything that determines it (model, problem, options including the seed, and the package version
``rmt.__version__``). Rerunning the same sweep skips the stored points; a kill (even ``SIGKILL``) loses at most the
point in progress, because SQLite's journal makes every committed point durable and an uncommitted one invisible.

Stored per point: the key, model, configuration (JSON), seed, package version, the full result record (the JSON of
:meth:`montecarlo.results.SimulationResult.as_dict`, with its standard errors), the standard errors on their own,
the wall-clock time and the finishing time. :func:`export` writes them as CSV (flattened columns such as
``fine_grained.PX`` and ``stderr.fine_grained.PX``) or JSON.

A tqdm progress bar (on stderr, shown only once a sweep has run for 2 seconds) follows the points, or the
repetitions of a single point; ``quiet=True`` silences it.
"""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import math
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from tqdm import tqdm

import rmt
from rmt._validation import check_positive_int
from rmt.problem import LinearProblem, Problem

__all__ = ["MODELS", "SweepPoint", "SweepStore", "export", "point_key", "run_sweep"]


def _simulators() -> dict[str, Callable[..., Any]]:
    from rmt.montecarlo.covariate_shift import simulate_shift
    from rmt.montecarlo.dynamics import simulate_dynamics
    from rmt.montecarlo.linear import simulate_linear
    from rmt.montecarlo.ntk import simulate_ntk
    from rmt.montecarlo.random_features import simulate_rf

    return {"rf": simulate_rf, "linear": simulate_linear, "ntk": simulate_ntk, "shift": simulate_shift,
            "dynamics": simulate_dynamics}


MODELS = ("rf", "linear", "ntk", "shift", "dynamics")
"""Model names a :class:`SweepPoint` may use (``simulate_rf``, ``simulate_linear``, ``simulate_ntk``,
``simulate_shift``)."""


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


def jsonable(obj: Any) -> Any:
    """Plain JSON values: tuples to lists, numpy scalars to Python, non-finite floats to ``"inf"``/``"nan"``."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


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


class SweepStore:
    """The SQLite file of a sweep (created on first use; safe to open from several processes in turn).

    Args:
        path: the database file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"db must be a file path, got the directory {str(self.path)!r}")
        try:
            self._con = sqlite3.connect(str(self.path), timeout=60.0)
            self._con.execute("PRAGMA synchronous=FULL")
            self._con.execute(_SCHEMA)
            self._con.commit()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"db {str(self.path)!r} is not a usable SQLite file: {exc}") from None

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored result record of ``key``, or ``None``."""
        row = self._con.execute("SELECT result FROM points WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, config: Mapping[str, Any], record: Mapping[str, Any], elapsed_s: float) -> None:
        """Store one finished point in its own transaction (committed before returning)."""
        rec = jsonable(record)
        with self._con:  # one transaction
            self._con.execute(
                "INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, config["model"], json.dumps(jsonable(config), sort_keys=True),
                 config["options"].get("seed", 0), rmt.__version__, json.dumps(rec), json.dumps(rec.get("stderr", {})),
                 float(elapsed_s), time.strftime("%Y-%m-%dT%H:%M:%S%z")))

    def rows(self) -> list[dict[str, Any]]:
        """Every stored point (in insertion order) with its key, model, config, seed, version, result, elapsed_s,
        finished_at."""
        cur = self._con.execute("SELECT key, model, config, seed, version, result, elapsed_s, finished_at "
                                "FROM points ORDER BY rowid")
        return [{"key": k, "model": m, "config": json.loads(c), "seed": s, "version": v, "result": json.loads(r),
                 "elapsed_s": e, "finished_at": f} for k, m, c, s, v, r, e, f in cur.fetchall()]

    def __len__(self) -> int:
        return int(self._con.execute("SELECT COUNT(*) FROM points").fetchone()[0])


def run_sweep(points: Sequence[SweepPoint], *, db: str | Path | None = None, quiet: bool = False,
              stream: Any = None) -> Iterator[tuple[dict[str, Any], bool]]:
    """Simulate ``points`` in order, yielding ``(record, cached)`` as each finishes.

    Args:
        points: the sweep.
        db: SQLite file that makes the sweep resumable (``None``: keep nothing).
        quiet: no progress bar.
        stream: where the progress bar goes (default ``sys.stderr``).

    Yields:
        The JSON record of each point (``SimulationResult.as_dict()`` or ``ShiftResult.as_dict()``, non-finite
        floats as strings) and whether it came from the database.
    """
    points = list(points)
    simulators = _simulators()
    store = SweepStore(db) if db is not None else None
    stream = stream if stream is not None else sys.stderr
    try:
        with tqdm(total=len(points), desc="sweep", unit="point", delay=2.0, disable=quiet or len(points) < 2,
                  file=stream) as bar:
            for point in points:
                config = point.config()
                key = point_key(config)
                stored = store.get(key) if store is not None else None
                if stored is not None:
                    bar.update(1)
                    yield stored, True
                    continue
                start = time.perf_counter()
                result = _simulate_one(simulators[point.model], point, quiet or len(points) > 1, stream)
                record = jsonable(result.as_dict())
                if store is not None:
                    store.put(key, config, record, time.perf_counter() - start)
                bar.update(1)
                yield record, False
    finally:
        if store is not None:
            store.close()


def _simulate_one(simulate: Callable[..., Any], point: SweepPoint, quiet: bool, stream: Any) -> Any:
    default = inspect.signature(simulate).parameters["reps"].default
    reps = check_positive_int(point.options.get("reps", default), "reps")
    with tqdm(total=reps, desc="repetitions", unit="rep", delay=2.0, disable=quiet, leave=False,
              file=stream) as bar:
        def progress(done: int) -> None:
            bar.update(done - bar.n)

        return simulate(point.problem, progress=progress, **point.options)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, name + "."))
        elif isinstance(v, list):
            out[name] = json.dumps(v)
        else:
            out[name] = v
    return out


def export(db: str | Path, path: str | Path | None = None, *, fmt: str = "csv") -> str:
    """Write every stored point of ``db`` as CSV (one flattened row per point) or JSON (a list of rows); return
    the text, and also write it to ``path`` when given.

    Raises:
        ValueError: unknown format or a missing database file.
    """
    if fmt not in ("csv", "json"):
        raise ValueError(f"fmt must be 'csv' or 'json', got {fmt!r}")
    if not Path(db).is_file():
        raise ValueError(f"db {str(db)!r} does not exist")
    with SweepStore(db) as store:
        rows = store.rows()
    if fmt == "json":
        text = json.dumps(rows, indent=1) + "\n"
    else:
        flat = [_flatten({k: v for k, v in r.items() if k not in ("config", "result")})
                | _flatten(r["config"], "config.")
                | _flatten({k: v for k, v in r["result"].items() if k != "config"}) for r in rows]
        columns: list[str] = []
        for row in flat:
            columns.extend(c for c in row if c not in columns)
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text)
    return text
