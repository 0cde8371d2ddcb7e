"""Flat records: every theory result and simulation estimate as rows of plain values, for tables and data frames.

Every result class of :mod:`rmt.theory` and :mod:`rmt.montecarlo` derives from :class:`Tabular` and so has

* ``nested_records()``: one dict per point, nested the way the ``--json`` output of the command line is
  (``{"fine_grained": {"PX": ...}, "stderr": {"test_error": ...}}``);
* ``records()``: the same rows flattened to dotted keys (``fine_grained.PX``, ``stderr.test_error``,
  ``stderr.fine_grained.PX``): plain ``str``/``int``/``float``/``bool``/``None`` values, lists as JSON text;
* ``to_frame()``: ``records()`` as a :class:`pandas.DataFrame` (pandas is the optional extra
  ``pip install "rmt-asymptotics[pandas]"``).

Every row carries the coordinates of its point (:data:`rmt.quantities.COORDINATES`: ``model``, ``activation``,
``n0``, ``n1``, ``m``, ``phi``, ``psi``, ``ridge``, ``noise``, ``signal``, ... as they apply), computed the same way
for theory and simulation, so that a theory table and a simulation table of the same problems join in one line::

    pd.merge(theory.to_frame(), sim.to_frame(), on=["model", "activation", "phi", "psi", "ridge", "noise"],
             suffixes=("_theory", "_sim"))

Non-finite values (a divergence at an interpolation threshold is ``+inf``, an undefined difference of two
infinities ``nan``): they stay floats in ``records()`` and ``to_frame()`` (so arithmetic keeps working); in JSON they
are ``null`` (:func:`jsonable`; JSON has no infinity) and in CSV an empty cell (:func:`write_csv`; read back as NaN by
pandas). They are never written as strings.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, Iterable, Mapping, Sequence, TextIO

import numpy as np

__all__ = [
    "PANDAS_EXTRA",
    "Tabular",
    "broadcast_records",
    "coordinate_columns",
    "coordinates",
    "flatten",
    "frame",
    "jsonable",
    "rows_of",
    "write_csv",
]

PANDAS_EXTRA = "pandas"
"""The optional extra that installs pandas: ``pip install "rmt-asymptotics[pandas]"``."""


def jsonable(obj: Any) -> Any:
    """Plain JSON values: mappings to dicts with string keys, tuples and arrays to lists, numpy and mpmath scalars to
    Python numbers, and non-finite floats (``inf``, ``-inf``, ``nan``) to ``None`` (JSON ``null``)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)) or type(obj).__name__ in ("mpf", "mpc"):
        try:
            f = float(obj)
        except TypeError:
            return str(obj)
        return f if math.isfinite(f) else None
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    return obj


def _scalar(v: Any) -> Any:
    """A plain Python value for one table cell (non-finite floats kept as floats)."""
    if type(v) in (float, str, int, bool) or v is None:  # the common case, first
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) or type(v).__name__ == "mpf":
        return float(v)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return _scalar(v.item())
    if isinstance(v, (list, tuple, np.ndarray)):
        return json.dumps(jsonable(v))
    return v


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested mapping as one flat dict with dotted keys: ``{"fine_grained": {"PX": 1}}`` gives
    ``{"fine_grained.PX": 1}``. Values become plain Python scalars; lists and arrays become JSON text; an empty or
    ``None`` group stays one ``None`` cell under its own name."""
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = f"{prefix}{k}"
        if type(v) is float:  # the common case, first (an ABC isinstance check is slow)
            out[name] = v
        elif isinstance(v, dict) or isinstance(v, Mapping):
            if v:
                out.update(flatten(v, name + "."))
            else:
                out[name] = None
        else:
            out[name] = _scalar(v)
    return out


def frame(rows: Sequence[Mapping[str, Any]]) -> Any:
    """``rows`` (flat dicts) as a :class:`pandas.DataFrame`, columns in first-seen order.

    Raises:
        ImportError: pandas is not installed (it is the optional extra ``[pandas]``).
    """
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"to_frame() needs pandas, the optional extra [{PANDAS_EXTRA}]: "
                          f'pip install "rmt-asymptotics[{PANDAS_EXTRA}]"') from None
    return pd.DataFrame(list(rows), columns=_columns(rows))


def _columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows:
        for c in r:
            cols.setdefault(c, None)
    return list(cols)


def _cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


def write_csv(rows: Sequence[Mapping[str, Any]], stream: TextIO | None = None) -> str:
    """Write flat rows as CSV (header = union of the keys in first-seen order; floats with full precision; a
    missing value, ``None`` or a non-finite float as an empty cell). Returns the text; also writes it to
    ``stream`` when given."""
    flat = [flatten(r) for r in rows]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(flat), lineterminator="\n")
    writer.writeheader()
    writer.writerows([{k: _cell(v) for k, v in r.items()} for r in flat])
    text = buf.getvalue()
    if stream is not None:
        stream.write(text)
    return text


def coordinate_columns(problem: Any, model: str, shape: tuple[int, ...] | None = None) -> dict[str, list[Any]]:
    """The coordinate columns of every point of ``problem`` (a :class:`rmt.Problem`, :class:`rmt.LinearProblem` or
    the mapping of their ``as_dict()``) for the model-table name ``model``: one list per column, points in C order
    over ``shape`` (default: the problem's own broadcast shape).

    :class:`rmt.Problem`: ``model, activation, n0, n1, m, phi, psi, ridge, noise, signal, nonlinear_signal`` with
    ``phi = n0/m`` and ``psi = n0/n1`` computed from the sizes (for a problem built from ratios, ``n0 = 1`` unless
    given). :class:`rmt.LinearProblem`: ``model, n, d, gamma, ridge, noise, signal`` with ``gamma = d/n``.
    """
    return _columns_and_shape(problem, model, shape)[0]


def _columns_and_shape(problem: Any, model: str, shape: tuple[int, ...] | None
                       ) -> tuple[dict[str, list[Any]], tuple[int, ...]]:
    d = problem if isinstance(problem, Mapping) else None
    get = (lambda k: d[k]) if d is not None else (lambda k: getattr(problem, k))  # noqa: E731
    linear = (d is not None and "d" in d) or (d is None and hasattr(problem, "gamma"))
    names = ("n", "d", "ridge", "noise", "signal") if linear else (
        "n0", "n1", "m", "ridge", "noise", "signal", "nonlinear_signal")
    vals = {k: np.asarray(get(k), dtype=float) for k in names if d is None or k in d}
    if shape is None:
        shape = np.broadcast_shapes(*(v.shape for v in vals.values()))
    size = int(np.prod(shape, dtype=int))
    col = {k: np.broadcast_to(v, shape).ravel() for k, v in vals.items()}
    out: dict[str, list[Any]] = {"model": [model] * size}
    if linear:
        out.update(n=col["n"].tolist(), d=col["d"].tolist(), gamma=(col["d"] / col["n"]).tolist())
    else:
        act = get("activation")
        out["activation"] = [act if isinstance(act, str) else getattr(act, "name", str(act))] * size
        out.update(n0=col["n0"].tolist(), n1=col["n1"].tolist(), m=col["m"].tolist(),
                   phi=(col["n0"] / col["m"]).tolist(), psi=(col["n0"] / col["n1"]).tolist())
    out.update(ridge=col["ridge"].tolist(), noise=col["noise"].tolist(), signal=col["signal"].tolist())
    if "nonlinear_signal" in col:
        out["nonlinear_signal"] = col["nonlinear_signal"].tolist()
    return out, tuple(shape)


def rows_of(columns: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Columns (equal-length lists) as a list of row dicts."""
    keys = list(columns)
    return [dict(zip(keys, vals)) for vals in zip(*(columns[k] for k in keys))]


def coordinates(problem: Any, model: str, idx: tuple[int, ...] = (), shape: tuple[int, ...] | None = None
                ) -> dict[str, Any]:
    """The coordinate columns of one point of ``problem`` (see :func:`coordinate_columns`): the point ``idx`` of a
    grid of shape ``shape`` (default: the problem's own shape; ``()`` for a scalar problem)."""
    cols, full = _columns_and_shape(problem, model, shape)
    flat = int(np.ravel_multi_index(idx, full)) if idx else 0
    return {k: v[flat] for k, v in cols.items()}


def broadcast_records(coords: Mapping[str, Any], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per point of the common broadcast shape of every array in ``coords`` and ``values`` (C order):
    ``coords`` first, then ``values``; nested mappings are indexed alike, scalars and strings repeat."""
    def shapes(obj: Any) -> list[tuple[int, ...]]:
        if isinstance(obj, Mapping):
            return [s for v in obj.values() for s in shapes(v)]
        return [np.shape(obj)] if isinstance(obj, (np.ndarray, float, int, np.number)) else []

    shape = np.broadcast_shapes(*shapes(coords), *shapes(values))

    def pick(obj: Any, idx: tuple[int, ...]) -> Any:
        if isinstance(obj, Mapping):
            return {k: pick(v, idx) for k, v in obj.items()}
        if isinstance(obj, np.ndarray):
            return np.broadcast_to(obj, shape)[idx].item()
        return obj

    return [{**pick(coords, idx), **pick(values, idx)} for idx in np.ndindex(*shape)]


class Tabular:
    """Mixin of the result classes: :meth:`records` and :meth:`to_frame` from :meth:`nested_records`."""

    def nested_records(self) -> list[dict[str, Any]]:  # pragma: no cover - every subclass overrides it
        """One dict per point, nested as in the ``--json`` output, coordinates included."""
        raise NotImplementedError

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per point: dotted keys (``fine_grained.PX``, ``stderr.test_error``), coordinates first."""
        return [flatten(r) for r in self.nested_records()]

    def to_frame(self) -> Any:
        """:meth:`records` as a :class:`pandas.DataFrame` (needs the optional extra ``[pandas]``)."""
        return frame(self.records())
