"""``rmt figure triple-descent``: NTK test error against the number of parameters, linear to quadratic scaling to the
infinite-width NTK, theory and simulation (:mod:`figures.triple_descent`)."""

from __future__ import annotations

import argparse
import sys

from figures._cliutil import emit


def register(groups) -> None:
    p = groups["figure"].add_parser(
        "triple-descent", help="NTK triple descent: test error against parameters p across all width scales",
        description="Test error of NTK kernel regression (no f0) against p = n0 n1 at fixed n0 and m: linear "
        "scaling (p ~ m), quadratic scaling (p ~ m^2), infinite width; r = 1 and a small learning-rate ratio; "
        "relu and tanh; simulation points with standard errors. Writes triple_descent.png and .csv.")
    p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
    p.add_argument("--no-mc", action="store_true", help="theory only (no simulation)")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer widths (a smoke run)")
    p.add_argument("--json", action="store_true", help="print the output paths as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from figures.triple_descent import make_figure

    progress = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    info = make_figure(args.out, mc=not args.no_mc, quick=args.quick, progress=progress)
    emit([info], as_json=args.json)
    return 0
