"""``rmt figure NAME [--out DIR] [--no-mc] [--quick] [--seed S]``: every figure of the project.

Each figure is a module of :mod:`figures` with ``make(out, *, mc, quick[, seed]) -> dict`` that computes the theory
(and, unless ``mc=False``, the Monte Carlo points), writes a PNG and the numbers behind it (CSV and/or JSON) into
``out`` and returns a summary whose ``"files"`` lists the paths written. The command prints those paths, one per line;
progress goes to stderr. Modules are imported only when their figure is drawn.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from functools import partial
from pathlib import Path

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


def register(groups) -> None:
    for name, (module, seeded, help_) in FIGURES.items():
        p = groups["figure"].add_parser(name, help=help_, description=f"{help_[0].upper()}{help_[1:]}. Writes a PNG "
                                        "and the numbers behind it into --out and prints their paths.")
        p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
        p.add_argument("--no-mc", action="store_true", help="theory only, no simulation points")
        p.add_argument("--quick", action="store_true", help="coarser grids and fewer repetitions")
        if seeded:
            p.add_argument("--seed", type=int, default=0, metavar="S", help="seed of the simulation (default 0)")
        p.set_defaults(func=partial(run, module))


def run(module: str, args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a directory, got the file {str(out)!r}")
    if getattr(args, "seed", 0) < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    kwargs = {"mc": not args.no_mc, "quick": args.quick}
    if hasattr(args, "seed"):
        kwargs["seed"] = args.seed
    summary = importlib.import_module(module).make(out, **kwargs)
    for path in summary["files"]:
        print(path)
    return 0


def standalone(name: str) -> int:
    """``python -m figures.<module> [flags]``: the same as ``rmt figure <name> [flags]``."""
    from rmt.figures.cli import main

    return main(["figure", name, *sys.argv[1:]])
