"""The ``rmt`` command line (the contract of ../shared/DESIGN.md).

``rmt constants``, ``rmt spectrum``, ``rmt theory``, ``rmt simulate``, ``rmt figure`` and ``rmt validate``; each
model's sub-commands live in :mod:`figures.commands`. Bad input exits with code 2 and one line on stderr naming the
argument; a solver that fails exits with code 1 and one line giving its residual.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sqlite3
import sys
import warnings
from typing import Sequence

import numpy as np

from rmt.solvers import SolverError

__all__ = ["main", "build_parser", "UsageError"]

PROG = "rmt"
GROUPS = {
    "theory": "exact high-dimensional limits of a model",
    "simulate": "Monte Carlo simulation of a model (JAX)",
    "spectrum": "limiting eigenvalue spectra (support edges, density)",
    "figure": "draw a figure (PNG plus the numbers behind it)",
}


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``rmt: error: ...``) with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="rmt: exact random-matrix asymptotics of random-feature and NTK "
                     "regression, checked against JAX Monte Carlo.")
    from rmt import __version__

    parser.add_argument("--version", action="version", version=f"rmt {__version__}")
    root = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups: dict[str, argparse._SubParsersAction] = {"root": root}
    for name, help_ in GROUPS.items():
        p = root.add_parser(name, help=help_, description=help_)
        groups[name] = p.add_subparsers(dest="model", metavar="MODEL", parser_class=_Parser)
        p.set_defaults(func=_needs_model(p))
    import rmt.figures.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"rmt.figures.commands.{info.name}")
        if hasattr(mod, "register"):
            mod.register(groups)
    for name, sub in groups["simulate"].choices.items():  # the memory limit of rmt.figures._limits
        if name != "export":
            sub.add_argument("--max-memory", default=None, metavar="BYTES",
                             help="memory one fitted model may use, e.g. 16G (default 8G or $RMT_MAX_MEMORY)")
    return parser


def _needs_model(p: argparse.ArgumentParser):
    def run(args: argparse.Namespace) -> int:
        choices = p._subparsers._group_actions[0].choices if p._subparsers else {}  # type: ignore[union-attr]
        raise UsageError(f"{p.prog} needs a model: one of {', '.join(choices) or '(none registered)'}")

    return run


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rmt`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # stderr carries the result's one line, never numpy's warnings
        return _main(argv)


def _main(argv: list[str]) -> int:
    try:
        parser = build_parser()
        if not argv:
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        if not hasattr(args, "func"):
            parser.print_help()
            return 0
        from rmt.figures._limits import preflight

        preflight(args, argv)  # limits, sizes, output paths and stores: before any work
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OverflowError as exc:  # an input beyond float64 that no check caught
        print(f"{PROG}: error: a value is out of the float64 range ({_one_line(exc)})", file=sys.stderr)
        return 2
    except (SolverError, ArithmeticError) as exc:  # the solvers' failures
        print(f"{PROG}: solver error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `rmt ... | head`
        return 0
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged file met after the checks
        print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable or missing output path met after the checks
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"{PROG}: error: {exc.strerror or _one_line(exc)}{where}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{PROG}: error: out of memory (lower the sizes or --max-memory)", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback: one line, exit 1
        print(f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
