"""``rmt figure double-descent``: the README's main figure (see :mod:`figures.double_descent`)."""

from __future__ import annotations

import argparse
import sys


def register(groups) -> None:
    p = groups["figure"].add_parser(
        "double-descent", help="test error vs width with its fine-grained decomposition, theory and Monte Carlo",
        description="Double descent of random-feature ridge regression: test error against n1/m for several ridges "
        "(exact theory lines, Monte Carlo points), the stacked fine-grained terms, and ensembles/bagging. Writes "
        "double_descent.png and double_descent.csv.")
    p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
    p.add_argument("--no-mc", action="store_true", help="theory only (no simulation)")
    p.add_argument("--quick", action="store_true", help="a smaller simulation (n0 = 60, fewer widths)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from figures.double_descent import make_figure

    paths = make_figure(args.out, mc=not args.no_mc, quick=args.quick, log=lambda s: print(s, file=sys.stderr))
    print(paths["png"])
    print(paths["csv"])
    return 0
