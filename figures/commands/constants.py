"""``rmt constants``: Gaussian moments of an activation."""

from __future__ import annotations

import argparse

from rmt.figures._cliutil import add_activation_arg, emit
from rmt.activations import constants


def register(groups) -> None:
    p = groups["root"].add_parser("constants", help="activation constants mu0, mu1, mu_star, eta, zeta",
                                  description="Gaussian moments of an activation at pre-activation variance s: "
                                  "mu0 = E s(u), mu1 = E s'(u), mu_star^2 = E s(u)^2 - mu0^2 - s mu1^2, "
                                  "eta = Var s(u), zeta = mu1^2, and E s'(u), E s'(u)^2 for the NTK.")
    add_activation_arg(p)
    p.add_argument("--variance", type=float, default=1.0, metavar="S", help="pre-activation variance (default 1)")
    p.add_argument("--method", default="auto", choices=["auto", "exact", "mpmath", "gauss-hermite"])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    c = constants(args.activation, args.variance, method=args.method)
    rec = {"activation": c.activation, "variance": float(c.variance), "method": c.method, **c.as_dict()}
    emit([rec], as_json=args.json)
    return 0
