"""``rmt figure NAME [--out DIR] [--no-mc] [--quick] [--seed S] [figure settings]``: every figure of the project.

Each figure is a module of :mod:`figures` with ``make(out, *, mc, quick[, seed][, config]) -> dict`` that computes the
theory (and, unless ``mc=False``, the Monte Carlo points), writes a PNG and the numbers behind it (CSV and/or JSON)
into ``out`` and returns a summary whose ``"files"`` lists the paths written. The command prints those paths, one per
line; progress goes to stderr.

Figure settings: a module with ``default_config(quick) -> Config`` (a frozen dataclass) gets one flag per field of
``Config``, generated in one place (:mod:`figures._figure_flags`): ``rmt figure double-descent --activation tanh
--phi 1 --ridge 1e-3,1e-2 --noise 0.5 --n0 200``. Without such flags the figure is drawn exactly as before (the
README's figures). Modules are imported only when their figure is drawn or its ``--help`` is shown.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from functools import partial
from pathlib import Path
from typing import Any

# name: (module, accepts --seed, help)
FIGURES: dict[str, tuple[str, bool, str]] = {
    "double-descent": ("rmt.figures.double_descent", True,
                       "random-feature test error vs width: exact theory, Monte Carlo, the fine-grained terms, and "
                       "ensembles/bagging that remove the peak"),
    "shift-phase-diagram": ("rmt.figures.shift_phase_diagram", False,
                            "covariate shift: sign and size of E_OOD - E_ID over (n1/m, m/n0) and (shift strength, "
                            "n1/m)"),
    "id-ood-line": ("rmt.figures.id_ood_line", False, "covariate shift: OOD against ID error as the width varies, with the "
                    "exact linear law"),
    "shift-robustness": ("rmt.figures.shift_robustness", False, "covariate shift: the OOD penalty against the width"),
    "shift-fine-grained": ("rmt.figures.shift_fine_grained", True, "covariate shift: the seven fine-grained variance "
                           "terms on the test and training laws against the width, and which a shift amplifies"),
    "scaling-laws": ("rmt.figures.scaling_laws", True, "power-law learning curves in n and p with fitted vs predicted "
                     "exponents and the four regimes of Bahri et al."),
    "eigen-learning-curve": ("rmt.figures.eigen_learning_curve", True, "eigenframework KRR and random-feature ridge "
                             "regression against Monte Carlo simulation"),
    "triple-descent": ("rmt.figures.triple_descent", True, "NTK regression: test error against the number of "
                       "parameters from p ~ m (linear scaling) through p ~ m^2 (quadratic scaling) to the "
                       "infinite-width NTK, theory and simulation"),
    "sgd-dynamics": ("rmt.figures.sgd_dynamics", True, "learning dynamics: online and multi-pass SGD and gradient "
                     "flow with early stopping, exact risk trajectories against simulated training runs"),
    "compute-optimal": ("rmt.figures.compute_optimal", True, "dynamical scaling-law model: loss against compute "
                        "C = N t, the compute-optimal frontier and its fitted vs predicted exponents"),
}


def config_flags(module: str) -> list[Any]:
    """The generated settings flags of a figure module (empty if it has no ``default_config``)."""
    from rmt.figures._figure_flags import config_flags as flags_of

    mod = importlib.import_module(module)
    factory = getattr(mod, "default_config", None)
    if not callable(factory):
        return []
    default = factory(False)
    return flags_of(type(default), exclude=frozenset(getattr(mod, "FLAGS_EXCLUDE", ())), defaults=default)


def _lazy_settings(parser: argparse.ArgumentParser, module: str) -> None:
    """Add the figure's settings flags the first time ``parser`` parses or prints its help, so that ``rmt`` does
    not import every figure module to build its parser."""
    base = type(parser)

    class _FigureParser(base):  # type: ignore[misc, valid-type]
        _settings_added = False

        def _add_settings(self) -> None:
            if not self._settings_added:
                from rmt.figures._figure_flags import add_config_flags

                self._settings_added = True
                add_config_flags(self, config_flags(module))

        def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
            self._add_settings()
            return super().parse_known_args(args, namespace)

        def _parse_known_args(self, *a, **k):  # type: ignore[override]  # what some Pythons call directly
            self._add_settings()
            return super()._parse_known_args(*a, **k)

        def format_help(self) -> str:
            self._add_settings()
            return super().format_help()

    parser.__class__ = _FigureParser


def register(groups) -> None:
    for name, (module, seeded, help_) in FIGURES.items():
        p = groups["figure"].add_parser(name, help=help_, description=f"{help_[0].upper()}{help_[1:]}. Writes a PNG "
                                        "and the numbers behind it into --out and prints their paths. Every figure "
                                        "setting below is optional; the defaults draw the README's figure.")
        p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
        p.add_argument("--no-mc", action="store_true", help="theory only, no simulation points")
        p.add_argument("--quick", action="store_true", help="coarser grids and fewer repetitions")
        if seeded:
            p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the simulation (default 0)")
        _lazy_settings(p, module)
        p.set_defaults(func=partial(run, module))


def build_config(module: str, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(config, overrides)`` of a figure for parsed arguments: ``default_config(--quick)`` with the given settings
    flags applied (``(None, {})`` for a module without ``default_config``).

    Raises:
        ValueError: a value the configuration rejects, naming the flag.
    """
    from rmt.figures._figure_flags import config_from_args

    mod = importlib.import_module(module)
    factory = getattr(mod, "default_config", None)
    if not callable(factory):
        return None, {}
    return config_from_args(factory(bool(args.quick)), args)


def run(module: str, args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a directory, got the file {str(out)!r}")
    if getattr(args, "seed", 0) < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    config, overrides = build_config(module, args)  # bad settings fail here, before any computation
    kwargs: dict[str, Any] = {"mc": not args.no_mc, "quick": args.quick}
    if hasattr(args, "seed"):
        kwargs["seed"] = args.seed
    mod = importlib.import_module(module)
    entry = mod.make
    if config is not None and "config" in inspect.signature(entry).parameters:
        kwargs["config"] = config
    elif overrides:
        # a module whose make() does not take the configuration yet: its make_figure() does
        entry = getattr(mod, "make_figure", None)
        if entry is None or "config" not in inspect.signature(entry).parameters:
            raise ValueError(f"this figure does not accept settings flags yet (got {', '.join(overrides)})")
        kwargs["config"] = config
        if "progress" in inspect.signature(entry).parameters:
            kwargs["progress"] = lambda msg: print(msg, file=sys.stderr, flush=True)
    summary = entry(out, **kwargs)
    for path in summary["files"]:
        print(path)
    return 0


def standalone(name: str) -> int:
    """``python -m figures.<module> [flags]``: the same as ``rmt figure <name> [flags]``."""
    from rmt.figures.cli import main

    return main(["figure", name, *sys.argv[1:]])
