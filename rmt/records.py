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
    "coordinates",
    "flatten",
    "frame",
    "jsonable",
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
        if isinstance(v, Mapping):
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


def _at(v: Any, shape: tuple[int, ...], idx: tuple[int, ...]) -> Any:
    return np.broadcast_to(np.asarray(v, dtype=float), shape)[idx].item()


def coordinates(problem: Any, model: str, idx: tuple[int, ...] = (), shape: tuple[int, ...] | None = None
                ) -> dict[str, Any]:
    """The coordinate columns of one point of ``problem`` (a :class:`rmt.Problem`, :class:`rmt.LinearProblem` or
    the mapping of their ``as_dict()``), for the model-table name ``model``.

    :class:`rmt.Problem`: ``model, activation, n0, n1, m, phi, psi, ridge, noise, signal, nonlinear_signal`` with
    ``phi = n0/m`` and ``psi = n0/n1`` computed from the sizes (for a problem built from ratios, ``n0 = 1`` unless
    given). :class:`rmt.LinearProblem`: ``model, n, d, gamma, ridge, noise, signal`` with ``gamma = d/n``.

    Args:
        problem: the problem (scalar, or a grid together with ``idx``).
        model: the model name written in the ``model`` column.
        idx, shape: the grid index of the point and the grid's shape (default: the problem's own shape).
    """
    d = problem if isinstance(problem, Mapping) else None
    get = (lambda k: d[k]) if d is not None else (lambda k: getattr(problem, k))  # noqa: E731
    linear = (d is not None and "d" in d) or (d is None and hasattr(problem, "gamma"))
    names = ("n", "d", "ridge", "noise", "signal") if linear else (
        "n0", "n1", "m", "ridge", "noise", "signal", "nonlinear_signal")
    vals = {k: get(k) for k in names if d is None or k in d}
    if shape is None:
        shape = np.broadcast_shapes(*(np.shape(v) for v in vals.values()))
    out: dict[str, Any] = {"model": model}
    pt = {k: _at(v, shape, idx) for k, v in vals.items()}
    if linear:
        out.update(n=pt["n"], d=pt["d"], gamma=pt["d"] / pt["n"])
    else:
        act = get("activation")
        out["activation"] = act if isinstance(act, str) else getattr(act, "name", str(act))
        out.update(n0=pt["n0"], n1=pt["n1"], m=pt["m"], phi=pt["n0"] / pt["m"], psi=pt["n0"] / pt["n1"])
    out.update(ridge=pt["ridge"], noise=pt["noise"], signal=pt["signal"])
    if "nonlinear_signal" in pt:
        out["nonlinear_signal"] = pt["nonlinear_signal"]
    return out


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
