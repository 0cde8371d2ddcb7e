"""``rmt spectrum rf`` and ``rmt spectrum mp``: limiting spectra with support edges and density."""

from __future__ import annotations

import argparse

import numpy as np

from rmt.figures._cliutil import add_activation_arg, emit
from rmt._validation import check_positive, check_positive_int
from rmt.kernel_spectrum import rf_kernel_spectrum
from rmt.stieltjes import mp_atom, mp_density, mp_edges


def register(groups) -> None:
    p = groups["spectrum"].add_parser(
        "rf", help="spectrum of the random-feature Gram matrix F^T F / n1",
        description="Limiting spectrum of K = F^T F / n1 with F = sigma(W X / sqrt(n0)) (Pennington & Worah 2017; "
        "Adlam & Pennington 2020 (S67)/(S68)): support edges, atom at zero and density on a grid.")
    p.add_argument("--phi", type=float, required=True, metavar="F", help="n0/m")
    p.add_argument("--psi", type=float, required=True, metavar="F", help="n0/n1")
    add_activation_arg(p)
    p.add_argument("--points", type=int, default=200, metavar="N", help="grid points for the density (default 200)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_rf)

    q = groups["spectrum"].add_parser("mp", help="Marchenko-Pastur law", description="Marchenko-Pastur law with "
                                      "unit variance and ratio r = dim/#samples, including the atom at zero.")
    q.add_argument("--ratio", type=float, required=True, metavar="R", help="dim / #samples")
    q.add_argument("--points", type=int, default=200, metavar="N")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_mp)


def _fmt(rec) -> str:
    lines = [f"{k:<16s} {rec[k]}" for k in rec if k not in ("x", "density")]
    lines.append(f"{'density':<16s} {len(rec['x'])} points (use --json for the values)")
    return "\n".join(lines)


def run_rf(args: argparse.Namespace) -> int:
    points = check_positive_int(args.points, "--points", minimum=8)
    s = rf_kernel_spectrum(float(check_positive(args.phi, "--phi")), float(check_positive(args.psi, "--psi")),
                           args.activation, points=points)
    emit([s.as_dict()], as_json=args.json, fmt=_fmt)
    return 0


def run_mp(args: argparse.Namespace) -> int:
    r = float(check_positive(args.ratio, "--ratio"))
    points = check_positive_int(args.points, "--points", minimum=8)
    a, b = mp_edges(r)
    x = a + (b - a) * 0.5 * (1 - np.cos(np.linspace(0, np.pi, points)))
    rec = {"ratio": r, "support": [[float(a), float(b)]], "edges": [float(a), float(b)], "atom": float(mp_atom(r)),
           "x": x.tolist(), "density": mp_density(x, r).tolist()}
    emit([rec], as_json=args.json, fmt=_fmt)
    return 0
