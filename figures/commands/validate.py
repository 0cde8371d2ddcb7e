"""``rmt validate``: theory against simulation on a stratified grid (see :mod:`figures.validate`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rmt.figures.validate import models, run_validation, write_report


def register(groups) -> None:
    p = groups["root"].add_parser(
        "validate", help="check theory against simulation and write a report",
        description="Run theory and simulation on a stratified grid (both sides of every threshold, several "
        "activations, noise levels and ridges) and write a report (table, z-score plot, worst cases). Exit code 1 "
        "when any quantity is outside 4 standard errors plus the stated finite-size allowance.")
    p.add_argument("--quick", action="store_true", help="small grid at small sizes (under two minutes on 2 cores)")
    p.add_argument("--model", action="append", metavar="NAME",
                   help="model to validate (repeatable; default: all registered)")
    p.add_argument("--out", default="out/validate", metavar="DIR", help="report directory (default out/validate)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    available = models()
    for name in args.model or []:
        if name not in available:
            raise ValueError(f"--model must be one of {', '.join(available)}, got {name!r}")
    progress = None if args.quiet else (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    report = run_validation(args.model, quick=args.quick, progress=progress)
    paths = write_report(report, Path(args.out))
    s = report.summary()
    print(f"rmt validate: {s['cases']} points, {s['quantities']} quantities, {s['failed']} outside tolerance, "
          f"max |z| = {s['max_abs_z']:.2f}, {s['seconds']} s -> {paths['md']}")
    for r in report.worst[:3]:
        print(f"  closest to tolerance: {r.model} {r.case} {r.quantity}: theory {r.theory:.5g}, simulation "
              f"{r.simulation:.5g} +- {r.stderr:.2g} (z = {r.z:.2f})")
    return 0 if report.ok else 1
