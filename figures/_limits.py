"""Limits of the command line and the checks that run before any work (one place for every command).

Before a command computes anything, :func:`preflight` looks at its parsed flags and refuses, with one line naming
the flag, the allowed range and (for the cost) the estimate:

* **sizes** of a simulation (``--n0 --n1 --m --n --d --p --n-test``): integers in ``[1, MAX_SIZE]``;
* **memory** of a simulation: the arrays one fitted model needs at the largest sizes of the sweep (inputs, weights,
  features, the ``max(n1, m)``-square Gram matrix and the test features, 4 or 8 bytes each) must fit in
  ``--max-memory`` (default :data:`DEFAULT_MAX_MEMORY`, or the environment variable ``RMT_MAX_MEMORY``; a number of
  bytes with an optional K/M/G/T suffix);
* **work**: points of a sweep (the product of the lengths of every list flag) at most :data:`MAX_SWEEP_POINTS`;
  ``--reps`` in ``[2, MAX_REPS]`` (one repetition has no standard error); each ``--trials`` count in
  ``[1, MAX_TRIALS]`` and their product at most :data:`MAX_CELLS`; ``--precision`` (mpmath digits) in
  ``[1, MAX_PRECISION]`` and only with ``--method mpmath``; ``--points``, ``--modes``, ``--nodes`` at most
  :data:`MAX_GRID`, :data:`MAX_MODES`, :data:`MAX_NODES`;
* **values**: ``--ridge`` in ``[0, MAX_RIDGE]``; the ratios of ``rmt spectrum rf`` in :data:`SPECTRUM_RATIO`;
  the power-law exponents of the eigenframework in ``(1, MAX_DECAY]``;
* **seed**: an integer in ``[0, 2**63)``;
* **output paths** (``--out``, ``--db``): a file path must not be an existing directory and its folder must exist
  and be writable; a directory path (``rmt figure``, ``rmt validate``) must not be an existing file and its nearest
  existing ancestor must be a writable directory;
* **stores** (``--db`` that exists): the ``points`` table must have the expected columns and every row must be
  readable (UTF-8 text, valid JSON); otherwise the file and the row are named.

Every limit is a module constant, so a caller (or a test) can see and change it; the numbers are those of
:mod:`rmt.limits`, which the simulators of :mod:`rmt.montecarlo` enforce too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any, Sequence

# the caps live in rmt.limits (shared with the simulators of rmt.montecarlo); re-exported here for the CLI
from rmt.limits import (DEFAULT_MAX_MEMORY, MAX_CELLS, MAX_DECAY, MAX_GRID, MAX_MODES, MAX_NODES, MAX_PRECISION,
                        MAX_REPS, MAX_RIDGE, MAX_SIZE, MAX_SWEEP_POINTS, MAX_TRIALS, SPECTRUM_RATIO)

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "MAX_CELLS",
    "MAX_DECAY",
    "MAX_GRID",
    "MAX_MODES",
    "MAX_NODES",
    "MAX_PRECISION",
    "MAX_REPS",
    "MAX_RIDGE",
    "MAX_SIZE",
    "MAX_SWEEP_POINTS",
    "MAX_TRIALS",
    "SPECTRUM_RATIO",
    "check_store",
    "parse_bytes",
    "preflight",
    "simulation_bytes",
]

_SIZE_FLAGS = ("n0", "n1", "m", "n", "d", "p")
_STORE_COLUMNS = ("key", "model", "config", "seed", "version", "result", "stderr", "elapsed_s", "finished_at")
_JSON_COLUMNS = ("config", "result", "stderr")


def parse_bytes(text: str, name: str = "--max-memory") -> int:
    """``"8G"``, ``"512M"``, ``"1.5e9"`` -> bytes (K/M/G/T are powers of 1024)."""
    t = str(text).strip().upper().removesuffix("B")
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    try:
        value = float(t) * mult
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{name} must be a number of bytes >= 1 with an optional K/M/G/T suffix, got {text!r}")
    return int(value)


def simulation_bytes(n0: float, n1: float, m: float, n_test: float, itemsize: int = 8) -> float:
    """Bytes one fitted random-feature/NTK model holds: inputs ``m x n0``, weights ``n1 x n0``, features
    ``m x n1``, the Gram matrix ``max(n1, m)^2`` and its factor, test inputs and features ``n_test x (n0 + n1)``."""
    k = max(n1, m)
    return float(itemsize) * (m * n0 + n1 * n0 + m * n1 + 2.0 * k * k + n_test * (n0 + n1))


def _fmt_bytes(b: float) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


def _given(argv: Sequence[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _int_in(value: Any, flag: str, lo: int, hi: int, what: str = "an integer") -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = math.nan
    if not (math.isfinite(f) and f == round(f) and lo <= f <= hi):
        raise ValueError(f"{flag} must be {what} in [{lo}, {hi}], got {value!r}")
    return int(f)


def _max_memory(args: argparse.Namespace) -> int:
    given = getattr(args, "max_memory", None)
    if given is not None:
        return parse_bytes(given, "--max-memory")
    env = os.environ.get("RMT_MAX_MEMORY")
    if env:
        return parse_bytes(env, "RMT_MAX_MEMORY")
    return DEFAULT_MAX_MEMORY


def _check_file_path(path: str, flag: str) -> None:
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{flag} must be a file path, got the existing directory {path!r}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{flag}: the folder {str(parent)!r} of {path!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise ValueError(f"{flag}: {path!r} is not writable")


def _check_dir_path(path: str, flag: str) -> None:
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"{flag} must be a directory, got the existing file {path!r}")
    q = p
    while not q.exists():
        if q.parent == q:
            break
        q = q.parent
    if not q.is_dir() or not os.access(q, os.W_OK | os.X_OK):
        raise ValueError(f"{flag}: cannot create or write the directory {path!r} ({str(q)!r} is not a writable "
                         "directory)")


def check_store(path: str, flag: str = "--db") -> None:
    """Refuse a sweep store that the sweep would fail on: not SQLite, a ``points`` table with other columns, or a
    row whose text is not UTF-8 or not JSON (the file and the row are named). A missing file is fine (a new store).
    """
    p = Path(path)
    if not p.exists():
        return
    try:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=60.0)
    except sqlite3.Error as exc:
        raise ValueError(f"{flag} {path!r} cannot be opened as SQLite: {exc}") from None
    try:
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{flag} {path!r} is not a usable SQLite file: {exc}") from None
        if "points" not in tables:
            return  # a new or foreign store: the sweep creates its table
        cols = tuple(r[1].decode() if isinstance(r[1], bytes) else r[1]
                     for r in con.execute("PRAGMA table_info(points)"))
        if not set(_STORE_COLUMNS) <= set(cols):  # extra columns are allowed (a later schema may add some)
            raise ValueError(f"{flag} {path!r}: table 'points' has columns ({', '.join(cols)}), expected "
                             f"({', '.join(_STORE_COLUMNS)}); not a store written by rmt simulate --db")
        con.text_factory = bytes  # decode by hand, to name the damaged row
        try:
            cur = con.execute("SELECT rowid, " + ", ".join(_STORE_COLUMNS) + " FROM points ORDER BY rowid")
            for row in cur:
                rowid, vals = row[0], dict(zip(_STORE_COLUMNS, row[1:]))
                for col in ("key", "model", "version", "finished_at") + _JSON_COLUMNS:
                    v = vals[col]
                    if not isinstance(v, bytes):
                        raise ValueError(f"{flag} {path!r} is damaged at row {rowid}: column {col!r} is not text")
                    try:
                        text = v.decode("utf-8")
                        if col in _JSON_COLUMNS:
                            json.loads(text)
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        raise ValueError(f"{flag} {path!r} is damaged at row {rowid}: column {col!r} is not valid "
                                         f"{'JSON' if col in _JSON_COLUMNS else 'UTF-8 text'}; delete that row "
                                         "(DELETE FROM points WHERE rowid = ...) or the file") from None
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{flag} {path!r} is damaged: {exc}") from None
    finally:
        con.close()


def _list_flags(args: argparse.Namespace) -> dict[str, list]:
    out = {}
    for k, v in vars(args).items():
        if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            out[k] = v
    return out


def preflight(args: argparse.Namespace, argv: Sequence[str]) -> None:
    """Check the parsed flags of one command before it runs (see the module docstring).

    Raises:
        ValueError: one line naming the flag and the allowed range (or the estimate and the limit).
    """
    group = getattr(args, "command", None)
    model = getattr(args, "model", None)
    lists = _list_flags(args)
    points = 1
    for k, v in lists.items():
        points *= len(v)
    if points > MAX_SWEEP_POINTS:
        sizes = " x ".join(f"{len(v)} ({'--' + k.replace('_', '-')})" for k, v in lists.items() if len(v) > 1)
        raise ValueError(f"the sweep has {points} points ({sizes}); the limit is {MAX_SWEEP_POINTS} points per "
                         "command: split it into several commands")
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not 0 <= seed < 2**63:
        raise ValueError(f"--seed must be an integer >= 0 and < 2**63, got {seed}")
    reps = getattr(args, "reps", None)
    if isinstance(reps, int) and (reps == 1 or reps > MAX_REPS):
        raise ValueError(f"--reps must be an integer in [2, {MAX_REPS}] (one repetition gives no standard error), "
                         f"got {reps}")
    if isinstance(getattr(args, "trials", None), str):
        counts = []
        for t in args.trials.split(","):
            try:
                counts.append(float(t))
            except ValueError:
                counts = []  # not numbers: the command reports the syntax
                break
        if any(c > MAX_TRIALS for c in counts):
            raise ValueError(f"--trials: each count must be at most {MAX_TRIALS}, got {args.trials!r}")
        if counts and math.prod(counts) > MAX_CELLS:
            raise ValueError(f"--trials {args.trials} makes {math.prod(counts):g} fitted models per repetition; "
                             f"the limit is {MAX_CELLS}")
    elif group == "simulate" and model == "eigen":
        for flag, v in (("--trials", args.trials), ("--feature-draws", args.feature_draws)):
            if isinstance(v, int) and v > MAX_TRIALS:
                raise ValueError(f"{flag} must be at most {MAX_TRIALS}, got {v}")
    if hasattr(args, "precision"):
        if _given(argv, "--precision") and getattr(args, "method", None) != "mpmath":
            raise ValueError("--precision applies only with --method mpmath (float64 otherwise)")
        _int_in(args.precision, "--precision", 1, MAX_PRECISION, "a number of digits")
    for v in getattr(args, "ridge", None) or []:
        if isinstance(v, float) and v > MAX_RIDGE:  # negative ridges: the command's own message
            raise ValueError(f"--ridge must be in [0, {MAX_RIDGE:g}], got {v!r}")
    if group == "spectrum":
        lo, hi = (SPECTRUM_RATIO if model == "rf" else (1e-100, 1e100))
        for flag in ("phi", "psi", "ratio"):
            v = getattr(args, flag, None)
            if isinstance(v, float) and v > 0 and not (lo <= v <= hi):  # v <= 0: the command's own message
                raise ValueError(f"--{flag} must be in [{lo:g}, {hi:g}] for rmt spectrum {model}, got {v!r}")
    if model == "eigen":
        for flag in ("alpha", "beta"):
            for v in getattr(args, flag, None) or []:
                if v > MAX_DECAY:  # v <= 1: the command's own message
                    raise ValueError(f"--{flag} must be in (1, {MAX_DECAY:g}] (i^-{flag} underflows beyond), "
                                     f"got {v!r}")
    for flag, cap in (("points", MAX_GRID), ("modes", MAX_MODES), ("nodes", MAX_NODES)):
        v = getattr(args, flag, None)
        if v is not None and not isinstance(v, list):
            _int_in(v, f"--{flag}", 1, cap)
    if group == "simulate" and model != "export":
        for flag in _SIZE_FLAGS:
            for v in getattr(args, flag, None) or []:
                _int_in(v, f"--{flag}", 1, MAX_SIZE, "an integer size")
        n_test = getattr(args, "n_test", None)
        if n_test is not None:
            _int_in(n_test, "--n-test", 1, MAX_SIZE, "an integer size")
        limit = _max_memory(args)
        itemsize = 4 if getattr(args, "float32", False) else 8
        est = _estimate(args, itemsize)
        if est > limit:
            raise ValueError(f"the simulation needs about {_fmt_bytes(est)} for one fitted model at the largest "
                             f"sizes; the limit is {_fmt_bytes(limit)} (raise it with --max-memory or "
                             "RMT_MAX_MEMORY if the machine has it)")
    _check_paths(args, group)


def _estimate(args: argparse.Namespace, itemsize: int) -> float:
    big = lambda flag: max(getattr(args, flag, None) or [0.0])  # noqa: E731
    if getattr(args, "model", None) == "linear":
        n, d = big("n"), big("d")
        return float(itemsize) * (2.0 * n * d + 2.0 * d * d + n * n)
    if getattr(args, "model", None) == "eigen":
        n, p, modes = big("n"), big("p"), float(getattr(args, "modes", 0) or 0)
        return float(itemsize) * (n * modes + p * modes + 2.0 * n * n + 2.0 * max(n, p) ** 2 + modes)
    n0, n1, m = big("n0"), big("n1"), big("m")
    if getattr(args, "phi", None) is not None and n0:
        # sizes from ratios: n1 = n0 / psi, m = n0 / phi
        n1 = max(n0 / v for v in args.psi) if getattr(args, "psi", None) else n1
        m = max(n0 / v for v in args.phi)
    n_test = getattr(args, "n_test", None) or max(1000.0, m)
    return simulation_bytes(n0, n1, m, n_test, itemsize)


def _check_paths(args: argparse.Namespace, group: str | None) -> None:
    out = getattr(args, "out", None)
    if isinstance(out, str):
        if group in ("figure", "validate"):
            _check_dir_path(out, "--out")
        else:
            _check_file_path(out, "--out")
    db = getattr(args, "db", None)
    if isinstance(db, str):
        _check_file_path(db, "--db")
        check_store(db, "--db")
        if getattr(args, "model", None) == "export" and not Path(db).is_file():
            raise ValueError(f"--db {db!r} does not exist")
