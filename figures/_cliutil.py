"""Helpers shared by the sub-command modules: sweep parsing, problem construction, JSON and CSV output.

Output formats (``--format json|csv``; ``--json`` is the same as ``--format json``): JSON lines keep the nested keys
of each record (``"fine_grained": {"PX": ...}``); CSV has one row per record with flat dotted columns
(``fine_grained.PX``, ``stderr.test_error``; :mod:`rmt.records`). Non-finite numbers are JSON ``null`` and an empty
CSV cell, never a string.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from rmt.activations import KNOWN_ACTIVATIONS
from rmt.problem import Problem
from rmt.records import jsonable, write_csv

__all__ = [
    "FORMATS",
    "add_activation_arg",
    "add_format_arg",
    "add_problem_args",
    "emit",
    "iter_problems",
    "output_format",
    "stack_problems",
    "parse_values",
    "sweep_type",
    "to_jsonable",
]


def parse_values(text: str, name: str) -> list[float]:
    """Parse a flag value: ``F`` (one value), ``a,b,c`` (a list) or ``start:stop:num[:log]`` (a sweep).

    Raises:
        ValueError: naming the flag, for anything that is not one of these forms.
    """
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
                raise ValueError
            start, stop, num = _num(parts[0]), _num(parts[1]), _num(parts[2], int)
            if num < 1:
                raise ValueError
            from rmt.figures._limits import MAX_SWEEP_POINTS

            if num > MAX_SWEEP_POINTS or not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError(f"{name}: a sweep start:stop:num needs finite ends and 1 <= num <= "
                                 f"{MAX_SWEEP_POINTS}, got {text!r}")
            if len(parts) == 4 and parts[3] == "log":
                if start <= 0 or stop <= 0:
                    raise ValueError(f"{name}: a log sweep needs positive ends, got {text!r}")
                vals = np.geomspace(start, stop, num)
            else:
                vals = np.linspace(start, stop, num)
            out = [float(v) for v in vals]
        else:
            items = text.split(",")
            if any(v.strip() == "" for v in items):
                raise ValueError(f"{name}: empty item in the list {text!r} (write a,b,c)")
            out = [_num(v) for v in items]
    except ValueError as exc:
        if str(exc):
            raise ValueError(str(exc)) from None
        raise ValueError(f"{name} must be a number, a list a,b,c or a sweep start:stop:num[:log], got {text!r}"
                         ) from None
    bad = [v for v in out if math.isnan(v)]
    if bad:
        raise ValueError(f"{name} must not be nan")
    return out


def _num(text: str, kind: type = float) -> Any:
    """``kind(text)``; a bad number raises a ValueError without message (the caller names the flag)."""
    try:
        return kind(text)
    except ValueError:
        raise ValueError() from None


def sweep_type(name: str) -> Callable[[str], list[float]]:
    def conv(text: str) -> list[float]:
        try:
            return parse_values(text, name)
        except ValueError as exc:  # argparse keeps the message of an ArgumentTypeError only
            msg = str(exc)
            raise argparse.ArgumentTypeError(msg.removeprefix(f"{name}: ").removeprefix(f"{name} ")) from None

    conv.__name__ = name
    return conv


def add_activation_arg(p: argparse.ArgumentParser, default: str | None = "relu") -> None:
    p.add_argument("--activation", default=default, required=default is None, metavar="NAME",
                   help=f"activation: {', '.join(KNOWN_ACTIVATIONS)} (default {default})")


def add_problem_args(p: argparse.ArgumentParser, *, ratios: bool = True, sizes: bool = True,
                     ridge_default: str | None = None, signal: bool = True) -> None:
    """The problem flags of docs/cli.md: ``(--phi F --psi F | --n0 N --n1 N --m N) --ridge F --activation NAME
    [--noise F] [--signal F]``; every numeric flag accepts a list or a sweep."""
    if ratios:
        p.add_argument("--phi", type=sweep_type("--phi"), metavar="F", help="n0/m (list a,b or sweep a:b:n[:log])")
        p.add_argument("--psi", type=sweep_type("--psi"), metavar="F", help="n0/n1 (list or sweep)")
    if sizes:
        p.add_argument("--n0", type=sweep_type("--n0"), metavar="N", help="input dimension")
        p.add_argument("--n1", type=sweep_type("--n1"), metavar="N", help="width (number of features)")
        p.add_argument("--m", type=sweep_type("--m"), metavar="N", help="number of training samples")
    p.add_argument("--ridge", type=sweep_type("--ridge"), required=ridge_default is None,
                   default=None if ridge_default is None else parse_values(ridge_default, "--ridge"),
                   metavar="F", help="ridge >= 0 in K + ridge I (list or sweep)")
    add_activation_arg(p)
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="F",
                   help="label-noise variance >= 0 (default 0)")
    if signal:
        p.add_argument("--signal", type=sweep_type("--signal"), default=[1.0], metavar="F",
                       help="signal power |beta|^2/n0 >= 0 (default 1)")


def iter_problems(args: argparse.Namespace, *, need_sizes: bool = False, **extra: Any) -> Iterator[Problem]:
    """Yield one scalar :class:`Problem` per point of the cartesian product of the given flag values."""
    ratio_flags = [getattr(args, "phi", None), getattr(args, "psi", None)]
    size_flags = [getattr(args, "n0", None), getattr(args, "n1", None), getattr(args, "m", None)]
    use_ratios = any(v is not None for v in ratio_flags)
    use_sizes = any(v is not None for v in size_flags)
    if need_sizes and not all(v is not None for v in size_flags):
        raise ValueError("--n0, --n1 and --m are all required")
    if use_ratios and use_sizes and not (getattr(args, "n0", None) is not None and
                                         getattr(args, "n1", None) is None and getattr(args, "m", None) is None):
        raise ValueError("give either --phi/--psi or --n0/--n1/--m, not both (--n0 may scale --phi/--psi)")
    if use_ratios:
        if any(v is None for v in ratio_flags):
            raise ValueError("--phi and --psi are both required (or give --n0 --n1 --m)")
    elif not use_sizes:
        raise ValueError("give the ratios --phi F --psi F or the sizes --n0 N --n1 N --m N")
    elif any(v is None for v in size_flags):
        raise ValueError("--n0, --n1 and --m are all required (or give --phi --psi)")
    common = [args.ridge, args.noise, getattr(args, "signal", [1.0])]
    if use_ratios:
        n0s = args.n0 if getattr(args, "n0", None) is not None else [1.0]
        for phi, psi, n0, ridge, noise, signal in itertools.product(*ratio_flags, n0s, *common):
            yield Problem.from_ratios(phi, psi, ridge=ridge, activation=args.activation, noise=noise,
                                      signal=signal, n0=n0, **extra)
    else:
        for n0, n1, m, ridge, noise, signal in itertools.product(*size_flags, *common):
            yield Problem(n0=n0, n1=n1, m=m, ridge=ridge, activation=args.activation, noise=noise, signal=signal,
                          **extra)


to_jsonable = jsonable
"""Plain JSON values, non-finite floats as ``None`` (:func:`rmt.records.jsonable`)."""

FORMATS = ("json", "csv")


def add_format_arg(p: argparse.ArgumentParser) -> None:
    """``--format json|csv`` (next to the command's ``--json``, which stays a synonym of ``--format json``)."""
    p.add_argument("--format", choices=FORMATS, default=None, dest="output_format",
                   help="json: one JSON object per point (same as --json); csv: one row per point with flat "
                   "dotted columns (fine_grained.PX, stderr.test_error); non-finite numbers are JSON null / an "
                   "empty cell")


def output_format(args: argparse.Namespace) -> str | None:
    """``"json"``, ``"csv"`` or ``None`` (human-readable) from ``--json`` and ``--format``.

    Raises:
        ValueError: ``--json`` together with ``--format csv``.
    """
    fmt = getattr(args, "output_format", None)
    if getattr(args, "json", False):
        if fmt == "csv":
            raise ValueError("--json conflicts with --format csv (give one of them)")
        return "json"
    return fmt


def emit(records: Iterable[Mapping[str, Any]], *, as_json: bool | str | None = False, stream=None,
         fmt: Callable[[Mapping[str, Any]], str] | None = None) -> None:
    """Print the records: one JSON object per record (JSON lines; ``as_json=True`` or ``"json"``), CSV with flat
    dotted columns (``as_json="csv"``; written once every record is in, since the header is the union of the
    columns) or a human-readable block per record (``fmt``, default: key-value lines)."""
    stream = stream or sys.stdout
    if as_json == "csv":
        write_csv(list(records), stream)
        stream.flush()
        return
    for rec in records:
        if as_json:
            stream.write(json.dumps(jsonable(rec)) + "\n")
        else:
            stream.write((fmt(rec) if fmt else _default_fmt(rec)) + "\n")
        stream.flush()


def stack_problems(problems: Sequence[Problem], trailing_axes: int = 0) -> Problem:
    """One array-valued :class:`Problem` (shape ``(len(problems),) + (1,) * trailing_axes``) from scalar problems
    with one activation, for a single vectorized theory call over a command line's grid; the trailing axes leave
    room for a further swept argument (e.g. the NTK's ``lr_ratio`` of shape ``(1, L)``).

    Raises:
        ValueError: problems with different activations.
    """
    if len({p.activation.name for p in problems}) != 1:
        raise ValueError("--activation takes one name")
    fields = ("n0", "n1", "m", "ridge", "noise", "signal", "nonlinear_signal")
    shape = (len(problems),) + (1,) * trailing_axes
    arrays = {k: np.array([float(getattr(pr, k)) for pr in problems]).reshape(shape) for k in fields}
    return Problem(activation=problems[0].activation, **arrays)


def _default_fmt(rec: Mapping[str, Any], indent: str = "") -> str:
    lines = []
    for k, v in rec.items():
        if isinstance(v, Mapping):
            lines.append(f"{indent}{k}:")
            lines.append(_default_fmt(v, indent + "  "))
        elif isinstance(v, float):
            lines.append(f"{indent}{k:<22s} {v:.10g}")
        else:
            lines.append(f"{indent}{k:<22s} {v}")
    return "\n".join(lines)


def first(values: Sequence[float] | None, name: str) -> float:
    """The single value of a flag that does not accept sweeps."""
    if values is None:
        raise ValueError(f"{name} is required")
    if len(values) != 1:
        raise ValueError(f"{name} takes a single value here, got {len(values)}")
    return values[0]
