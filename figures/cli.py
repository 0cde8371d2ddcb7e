"""The ``rmt`` command line (the contract of docs/cli.md).

``rmt models``, ``rmt constants``, ``rmt spectrum``, ``rmt theory``, ``rmt simulate``, ``rmt figure``, ``rmt validate``
and ``rmt explore``; each
model's sub-commands live in :mod:`figures.commands`. Bad input exits with code 2 and one line on stderr naming the
argument; a solver that fails exits with code 1 and one line giving its residual.

Interrupts. The ``rmt`` console script (:func:`console_main`) blocks SIGINT in every thread of the process and
leaves it to one watcher thread, which prints ``rmt: interrupted`` on stderr and ends the process at once with exit
code 130 (``os._exit``: no interpreter teardown, so no XLA thread is caught half-destroyed, which is what made an
interrupted simulation end in a segmentation fault, and no ``KeyboardInterrupt`` raised inside a garbage-collection
callback, where Python swallows it). Nothing is lost that was finished: each record is flushed to stdout as it is
printed, and each finished point of a sweep is already committed to its ``--db`` store (SQLite's journal discards a
half-written transaction), so rerunning the command resumes. :func:`main` itself leaves signals alone, so it can be
called from Python (a Ctrl-C there is a ``KeyboardInterrupt``, reported as ``rmt: interrupted`` with code 130).

Start-up is lazy: ``rmt simulate rf`` imports only its own command module and what it needs (see
:func:`build_parser`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sqlite3
import sys
import threading
import warnings
from typing import Sequence

__all__ = ["main", "build_parser", "console_main", "UsageError"]

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


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` one restricted to the named modules of :mod:`figures.commands` (the
    command line then imports nothing else)."""
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

    names = sorted(i.name for i in pkgutil.iter_modules(pkg.__path__)) if only is None else list(only)
    for name in names:
        mod = importlib.import_module(f"rmt.figures.commands.{name}")
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


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: when the command is ``GROUP MODEL`` and the module named after the group
    (``figures/commands/GROUP.py``) registers that model, a parser with that module alone; otherwise the full one."""
    if len(argv) >= 2 and argv[0] in GROUPS and not argv[1].startswith("-"):
        import rmt.figures.commands as pkg

        if any(i.name == argv[0] for i in pkgutil.iter_modules(pkg.__path__)):
            parser = build_parser(only=[argv[0]])
            sub = next(a for a in parser._subparsers._group_actions)  # type: ignore[union-attr]
            group = sub.choices[argv[0]]
            if argv[1] in group._subparsers._group_actions[0].choices:  # type: ignore[union-attr]
                return parser
    return build_parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    import numpy as np

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # stderr carries the result's one line, never numpy's warnings
        return _main(argv)


def _main(argv: list[str]) -> int:
    from rmt.solvers import SolverError

    try:
        parser = _parser_for(argv)
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


INTERRUPTED_EXIT = 130
"""Exit code after SIGINT (128 + 2, what a shell reports for a process ended by Ctrl-C)."""


def _exit_on_interrupt() -> None:
    """Block SIGINT in this thread (and so in every thread started later, XLA's included) and start the one
    thread that waits for it; a no-op where POSIX signal masks are unavailable (then Python's own
    ``KeyboardInterrupt`` path of :func:`main` applies)."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    threading.Thread(target=_wait_for_interrupt, name="rmt-interrupt", daemon=True).start()


ON_INTERRUPT: list = []
"""Callables run (for at most :data:`CLEANUP_S` seconds in all) after SIGINT and before the process ends, e.g. to
close a local Dask cluster whose worker processes would otherwise report leaked resources on stderr."""

CLEANUP_S = 10.0


def _wait_for_interrupt() -> None:
    signal.sigwait({signal.SIGINT})

    def cleanup() -> None:
        for fn in reversed(ON_INTERRUPT):
            try:
                fn()
            except Exception:  # noqa: BLE001 -- best effort on the way out
                pass

    worker = threading.Thread(target=cleanup, daemon=True)
    worker.start()
    worker.join(CLEANUP_S)
    try:  # on a terminal, first clear a progress bar's line
        os.write(2, ("\r\x1b[K" if os.isatty(2) else "").encode() + f"{PROG}: interrupted\n".encode())
    finally:
        os._exit(INTERRUPTED_EXIT)


COMPILATION_CACHE_BYTES = 2 * 1024**3
"""Size bound of the command line's persistent compilation cache (JAX evicts the least recently used entries; needs
the ``filelock`` package, else the cache is unbounded: remove ``~/.cache/rmt/xla`` to empty it)."""


def compilation_cache_dir() -> str | None:
    """The command line's persistent XLA compilation cache, ``$XDG_CACHE_HOME/rmt/xla`` (default
    ``~/.cache/rmt/xla``), created if needed; ``None`` where it cannot be written or ``RMT_COMPILATION_CACHE=0``."""
    if os.environ.get("RMT_COMPILATION_CACHE", "1") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "rmt", "xla")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def _use_compilation_cache() -> None:
    """Compiled XLA programs persist across ``rmt`` processes (and reach the workers of ``--workers N``): set
    through JAX's environment variables before anything imports JAX, so that ``import rmt`` as a library never
    changes JAX's configuration. A user's own ``JAX_COMPILATION_CACHE_DIR`` is kept. Every program is cached
    (``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0``): on a CPU a simulation's programs compile in 0.1-1 s each,
    below JAX's default threshold of 1 s, yet together they cost more than the run at everyday sizes."""
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    path = compilation_cache_dir()
    if path is None:
        return
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    import importlib.util

    if importlib.util.find_spec("filelock") is not None:  # JAX's size bound needs it; without it, unbounded
        os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(COMPILATION_CACHE_BYTES))


GC_THRESHOLD0 = 50_000
"""Net allocations between two young-generation passes of Python's garbage collector in the ``rmt`` process
(Python's default: 700). Importing, tracing and lowering JAX programs allocate a few million objects; with the
default the collector spent about 0.15 s of an ``rmt simulate rf`` run (n0=400, n1=m=800) walking them, with this
0.05 s."""


def _tune_garbage_collector() -> None:
    """Fewer young-generation collections in the command-line process (:data:`GC_THRESHOLD0`); the older
    generations keep Python's defaults, so reference cycles are still collected during long sweeps."""
    import gc

    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])


def _skip_collection_at_exit() -> None:
    """Collect once (what is garbage now is finalised, as the teardown would have done: about 0.06 s), then move
    every live object to the collector's permanent generation, so that the interpreter's teardown does not walk the
    few million objects JAX made again and again (0.25-0.4 s at the end of every JAX command, measured); the
    operating system frees the memory. Everything else at exit (flushing, ``atexit`` handlers) still runs."""
    import gc

    gc.collect()
    gc.freeze()


def console_main() -> int:
    """Entry point of the ``rmt`` console script (and ``python -m rmt``): :func:`main` with SIGINT handled as
    described in the module docstring, a persistent compilation cache (:func:`_use_compilation_cache`) and a
    garbage collector set for a short-lived process (:func:`_tune_garbage_collector`,
    :func:`_skip_collection_at_exit`)."""
    _exit_on_interrupt()
    _use_compilation_cache()
    _tune_garbage_collector()
    try:
        return main()
    finally:
        _skip_collection_at_exit()


if __name__ == "__main__":
    sys.exit(console_main())
