"""``rmt figure scaling-laws`` and ``rmt figure eigen-learning-curve`` (eigenframework figures)."""

from __future__ import annotations

import argparse
import importlib
from functools import partial

FIGURES = {
    "scaling-laws": ("figures.scaling_laws", "power-law learning curves in n and p with fitted vs predicted exponents "
                     "and the four regimes of Bahri et al."),
    "eigen-learning-curve": ("figures.eigen_learning_curve", "eigenframework KRR and random-feature ridge regression "
                             "against Monte Carlo simulation"),
}


def register(groups) -> None:
    for name, (module, help_) in FIGURES.items():
        p = groups["figure"].add_parser(name, help=help_, description=help_ + ". Writes a PNG and the numbers behind "
                                        "it (CSV and JSON) into --out.")
        p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
        p.add_argument("--no-mc", action="store_true", help="theory only, skip the simulation")
        p.add_argument("--quick", action="store_true", help="fewer points and replicates (for CI)")
        p.add_argument("--seed", type=int, default=0, metavar="S", help="PRNG seed of the simulation (default 0)")
        p.set_defaults(func=partial(_run, module))


def _run(module: str, args: argparse.Namespace) -> int:
    mod = importlib.import_module(module)  # lazy: matplotlib and JAX load only when a figure is drawn
    summary = mod.make(args.out, mc=not args.no_mc, quick=args.quick, seed=args.seed)
    for f in summary["files"]:
        print(f)
    return 0
