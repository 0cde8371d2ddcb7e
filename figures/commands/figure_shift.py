"""``rmt figure shift-phase-diagram | id-ood-line | shift-robustness``: the covariate-shift figures.

Each writes ``NAME.png`` and the numbers behind it (``NAME.json`` or ``NAME.csv``) into ``--out`` (default ``out/``)
and prints one JSON line with the paths, the run time and, where simulated, the Monte Carlo points. ``--no-mc`` skips
the simulation (theory only); ``--quick`` uses coarser grids and fewer repetitions.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from figures._cliutil import emit

FIGURES = {
    "shift-phase-diagram": ("figures.shift_phase_diagram",
                            "sign and size of E_OOD - E_ID over (n1/m, m/n0) and (shift strength, n1/m)"),
    "id-ood-line": ("figures.id_ood_line", "OOD against ID error as the width varies: the exact linear law"),
    "shift-robustness": ("figures.shift_robustness", "the OOD penalty against the width"),
}


def register(groups) -> None:
    for name, (module, help_) in FIGURES.items():
        mod = importlib.import_module(module)
        p = groups["figure"].add_parser(name, help=help_, description=(mod.__doc__ or help_).split("\n\nRun:")[0])
        p.add_argument("--out", default="out", metavar="DIR", help="output directory (default out/)")
        p.add_argument("--no-mc", action="store_true", help="theory only, no simulation points")
        p.add_argument("--quick", action="store_true", help="coarser grids, fewer repetitions")
        p.set_defaults(func=_runner(module))


def _runner(module: str):
    def run(args: argparse.Namespace) -> int:
        mod = importlib.import_module(module)
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out must be a directory, got the file {str(out)!r}")
        summary = mod.make(out, mc=not args.no_mc, quick=args.quick)
        emit([summary], as_json=True)
        return 0

    return run
