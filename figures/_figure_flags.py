"""Command-line flags generated from a figure's configuration dataclass (``rmt figure NAME --help`` lists them).

A figure module that exposes ``default_config(quick: bool) -> Config`` (``Config`` a frozen dataclass) gets one flag
per field, in one place, instead of per figure: ``--field-name`` (underscores become hyphens) with the type of the
field:

* ``int``, ``float``, ``str``: one value (``float`` accepts ``inf``);
* ``bool``: ``--field-name`` / ``--no-field-name``;
* ``tuple[float, ...]``: a list ``a,b,c`` or a sweep ``start:stop:num[:log]`` (as every numeric flag of ``rmt``);
* ``tuple[int, ...]``, ``tuple[str, ...]``: a list ``a,b,c``;
* fixed-length tuples such as ``tuple[float, float]``: exactly that many values ``a,b``.

A variable-length tuple whose name ends in ``s`` also answers to the singular (``ridges`` -> ``--ridge``,
``activations`` -> ``--activation``). Fields of other types (``dict``), fields named like a flag the figure command
already has (``seed``: ``--seed``) and fields listed in the module's ``FLAGS_EXCLUDE`` get no flag. Help texts come
from the ``Attributes:`` section of the dataclass docstring; the default shown is that of the full (not ``--quick``)
figure.

Only the flags given on the command line change the configuration: ``dataclasses.replace(default_config(quick),
**given)``; with none given the figure is drawn exactly as before. A value the configuration rejects (its
``__post_init__`` raises ``ValueError``) is reported naming the flag, before any computation.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import typing
from typing import Any, Callable

from rmt.figures._cliutil import parse_values

__all__ = ["ConfigFlag", "add_config_flags", "config_flags", "config_from_args"]

RESERVED = frozenset({"out", "no_mc", "quick", "seed", "help"})
"""Destinations the figure command defines itself; fields with these names get no generated flag."""

DEST_PREFIX = "config__"
"""Prefix of the argparse destinations of generated flags (keeps them apart from ``--out``, ``--quick``, ...)."""


@dataclasses.dataclass(frozen=True)
class ConfigFlag:
    """One generated flag: the field it sets, its option strings, how to parse a value, and its help text."""

    field: str
    options: tuple[str, ...]
    parse: Callable[[str], Any] | None  # None: a boolean flag
    metavar: str | None
    help: str


def _plain(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(_plain(v) for v in value)
    if isinstance(value, float):
        return "inf" if math.isinf(value) else f"{value:g}"
    return str(value)


def _attribute_help(cls: type) -> dict[str, str]:
    """``{field: text}`` from the ``Attributes:`` section of a Google-style docstring (``a, b: text`` lines)."""
    doc = cls.__doc__ or ""
    out: dict[str, str] = {}
    m = re.search(r"^\s*Attributes:\s*$", doc, flags=re.M)
    if not m:
        return out
    names: list[str] = []
    indent = None
    for line in doc[m.end():].splitlines():
        if not line.strip():
            if names:
                break
            continue
        lead = len(line) - len(line.lstrip())
        if indent is None:
            indent = lead
        if lead < indent:
            break
        item = re.match(r"\s*([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*:\s*(.*)$", line)
        if lead == indent and item:
            names = [n.strip() for n in item.group(1).split(",")]
            for n in names:
                out[n] = item.group(2).strip()
        elif names:
            for n in names:
                out[n] = f"{out[n]} {line.strip()}"
    return {k: " ".join(re.sub(r":\w+:`~?([^`]*)`", r"\1", v).replace("``", "").split()).rstrip(".")
            for k, v in out.items()}


def _scalar_parser(tp: Any, flag: str) -> Callable[[str], Any] | None:
    if tp is float:
        def conv(text: str) -> float:
            vals = parse_values(text, flag)
            if len(vals) != 1:
                raise ValueError(f"{flag} takes one number, got {text!r}")
            return vals[0]
    elif tp is int:
        def conv(text: str) -> int:
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"{flag} must be an integer, got {text!r}") from None
    elif tp is str:
        def conv(text: str) -> str:
            if not text.strip():
                raise ValueError(f"{flag} must not be empty")
            return text.strip()
    else:
        return None
    return conv


def _tuple_parser(args: tuple[Any, ...], flag: str) -> Callable[[str], tuple[Any, ...]] | None:
    variadic = len(args) == 2 and args[1] is Ellipsis
    kinds = (args[0],) if variadic else args
    if not kinds or any(k not in (float, int, str) for k in kinds) or len(set(kinds)) != 1:
        return None
    kind = kinds[0]
    size = None if variadic else len(args)

    def conv(text: str) -> tuple[Any, ...]:
        if kind is float:
            vals: list[Any] = parse_values(text, flag)
        else:
            parts = [t.strip() for t in text.split(",") if t.strip()]
            if not parts:
                raise ValueError(f"{flag} must be a list a,b,c, got {text!r}")
            if kind is int:
                try:
                    vals = [int(t) for t in parts]
                except ValueError:
                    raise ValueError(f"{flag} must be a list of integers a,b,c, got {text!r}") from None
            else:
                vals = parts
        if size is not None and len(vals) != size:
            raise ValueError(f"{flag} takes exactly {size} values, got {len(vals)} ({text!r})")
        return tuple(vals)

    return conv


def config_flags(cls: type, *, exclude: frozenset[str] | set[str] = frozenset(),
                 defaults: Any = None) -> list[ConfigFlag]:
    """The flags of a configuration dataclass ``cls`` (see the module docstring); ``defaults`` (an instance) supplies
    the defaults shown in the help (default: ``cls()``)."""
    hints = typing.get_type_hints(cls)
    helps = _attribute_help(cls)
    defaults = cls() if defaults is None else defaults
    names = {f.name for f in dataclasses.fields(cls)}
    taken = {n.replace("_", "-") for n in RESERVED} | {n.replace("_", "-") for n in names}
    flags = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name in RESERVED or f.name in exclude:
            continue
        tp = hints.get(f.name)
        option = "--" + f.name.replace("_", "-")
        origin = typing.get_origin(tp)
        if tp is bool:
            parse, metavar = None, None
        elif origin is tuple:
            targs = typing.get_args(tp)
            parse = _tuple_parser(targs, option)
            letter = {float: "F", int: "N", str: "NAME"}.get(targs[0], "X") if targs else "X"
            metavar = f"{letter},{letter},..." if targs[-1:] == (Ellipsis,) else ",".join([letter] * len(targs))
        else:
            parse = _scalar_parser(tp, option)
            metavar = {float: "F", int: "N", str: "NAME"}.get(tp)
        if parse is None and tp is not bool:
            continue  # not expressible as a flag (dict, callables, unions)
        options = [option]
        if origin is tuple and typing.get_args(tp)[-1:] == (Ellipsis,) and f.name.endswith("s") \
                and not f.name.endswith("ss"):
            singular = f.name[:-1].replace("_", "-")
            if singular not in taken:
                options.append("--" + singular)
                taken.add(singular)
        text = helps.get(f.name, f.name.replace("_", " "))
        shown = getattr(defaults, f.name)
        flags.append(ConfigFlag(f.name, tuple(options), parse, metavar, f"{text} (default {_plain(shown)})"))
    return flags


def _wrap(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def conv(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:  # argparse turns ArgumentTypeError into a one-line usage error naming the flag
            raise argparse.ArgumentTypeError(str(exc)) from None

    conv.__name__ = "value"
    return conv


def add_config_flags(parser: argparse.ArgumentParser, flags: list[ConfigFlag]) -> None:
    """Add the generated flags to ``parser`` in a group "figure settings"; destinations are ``config__<field>`` and
    default to absent (only given flags override the configuration)."""
    group = parser.add_argument_group("figure settings (defaults: the README figure; --quick starts from a smaller "
                                      "configuration)")
    for fl in flags:
        dest = DEST_PREFIX + fl.field
        if fl.parse is None:
            group.add_argument(*fl.options, dest=dest, action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=fl.help)
        else:
            group.add_argument(*fl.options, dest=dest, type=_wrap(fl.parse), metavar=fl.metavar,
                               default=argparse.SUPPRESS, help=fl.help)


def config_from_args(default: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(config, overrides)``: ``default`` with every generated flag present in ``args`` applied.

    Raises:
        ValueError: the configuration rejects a value; the message names the flag.
    """
    overrides = {k[len(DEST_PREFIX):]: v for k, v in vars(args).items() if k.startswith(DEST_PREFIX)}
    if not overrides:
        return default, overrides
    try:
        return dataclasses.replace(default, **overrides), overrides
    except ValueError as exc:
        msg = str(exc)
        named = [k for k in overrides if re.search(rf"\b{re.escape(k)}\b", msg)]
        flag = "--" + (named[0] if named else next(iter(overrides))).replace("_", "-")
        raise ValueError(f"{flag}: {msg}") from None
    except TypeError as exc:  # pragma: no cover - a generated flag always names an init field
        raise ValueError(str(exc)) from None
