"""Cost of the linear-scaling NTK per point against the width: the exact ``n1 x n1`` fixed point (``n1 <= 12``) and
the wide formulation (any ``n1``), timed side by side in one run, with their relative difference.

Run: ``python benchmarks/ntk_linear_width.py [--widths 4,8,10,100,1000]``.
"""

from __future__ import annotations

import argparse
import time

from rmt import Problem
from rmt.theory.ntk import linear_scaling


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--widths", default="4,8,10,100,1000")
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--p-over-m", type=float, default=1.5)
    args = ap.parse_args()
    print(f"{'n1':>6} {'wide s':>8} {'wide E':>10} {'+-':>8} {'exact s':>8} {'exact E':>10} {'+-':>8} "
          f"{'ratio':>7} {'rel diff':>9}")
    for n1 in (int(w) for w in args.widths.split(",")):
        prob = Problem(n0=args.p_over_m / n1, n1=n1, m=1.0, ridge=1e-2, activation=args.activation, noise=0.1)
        linear_scaling(prob, method="wide")  # warm caches
        wd, tw = timed(lambda: linear_scaling(prob, method="wide"))
        line = f"{n1:>6} {tw:>8.3f} {float(wd.test_error):>10.6f} {float(wd.quadrature_stderr):>8.1e}"
        if n1 <= 12:
            ex, te = timed(lambda: linear_scaling(prob, method="exact"))
            rel = (float(wd.test_error) - float(ex.test_error)) / float(ex.test_error)
            line += (f" {te:>8.3f} {float(ex.test_error):>10.6f} {float(ex.quadrature_stderr):>8.1e} {te / tw:>7.0f}"
                     f" {rel:>+9.4f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
