"""How the triple-descent simulation approaches its limits as ``n0`` grows at fixed limit coordinates.

The basis of the extrapolated points of ``rmt figure triple-descent`` (``--extrapolate``): if the relative deviation
``D = E(n0) / T - 1`` of the simulated test error from its ``n0, m -> inf`` limit ``T`` falls like ``1/n0``, then
``n0 D`` is constant, ``D(n0/2) / D(n0) = 2`` and ``2 E(n0) - E(n0/2)`` removes it. Measured here at
``n0 = 38, 75, 150`` with ``m = 4 n0`` (``phi = 1/4``, the figure's ratio) at a few points per region:

* linear region: the width ``n1`` fixed (against :func:`theory.ntk.linear_scaling`);
* quadratic region: ``psi = n0 / n1`` fixed (against :func:`theory.ntk.quadratic_scaling`).

Prints one line per (point, n0) with ``E``, its standard error, ``D`` (in %), ``n0 D`` and the standard error of
``D``, then per point the ratios ``D(38)/D(75)`` and ``D(75)/D(150)`` (``2`` for ``1/n0``; ``1.41`` for ``1/sqrt(n0)``)
and the extrapolated deviation ``2 E(150) - E(75)`` against the limit.

Usage: ``python benchmarks/triple_descent_finite_size.py [--reps R] [--quick] [--only I,J]`` (``--quick``:
n0 = 38, 75 only; ``--only``: those entries of ``POINTS``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rmt.montecarlo.ntk import simulate_ntk  # noqa: E402
from rmt.problem import Problem  # noqa: E402
from rmt.theory.ntk import linear_scaling, quadratic_scaling  # noqa: E402

# (activation, lr_ratio, region, value): region "linear": n1 = value; "quadratic": n1 = value * n0
POINTS = (("relu", 1.0, "linear", 2), ("relu", 1.0, "linear", 4), ("relu", 1.0, "linear", 6),
          ("tanh", 1.0, "linear", 2), ("tanh", 1.0, "linear", 16), ("tanh", 1.0, "linear", 64),
          ("tanh", 0.01, "linear", 3), ("relu", 1.0, "quadratic", 2), ("tanh", 1.0, "quadratic", 2),
          ("relu", 0.01, "quadratic", 1), ("relu", 0.01, "quadratic", 4), ("tanh", 0.01, "quadratic", 1),
          ("relu", 1.0, "quadratic", 4), ("tanh", 1.0, "quadratic", 4), ("relu", 1.0, "quadratic", 16),
          ("tanh", 0.01, "quadratic", 16))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated indices into POINTS (default: all)")
    args = ap.parse_args(argv)
    sizes = (38, 75) if args.quick else (38, 75, 150)
    start = time.perf_counter()
    chosen = [POINTS[int(i)] for i in args.only.split(",")] if args.only else POINTS
    for act, lr, region, val in chosen:
        devs = {}
        for n0 in sizes:
            m = 4 * n0
            n1 = val if region == "linear" else val * n0
            prob = Problem(n0=n0, n1=n1, m=m, ridge=1e-3, activation=act, noise=0.1)
            if region == "linear":
                kw = dict(a_points=256, gate_points=1024) if n1 <= 8 else dict(method="wide", a_points=1024)
                th = float(linear_scaling(prob, lr_ratio=lr, **kw).test_error)
                trials = (8, 2, 2)
            else:
                th = float(quadratic_scaling(prob, lr_ratio=lr).test_error)
                trials = (2, 2, 2)
            res = simulate_ntk(prob, lr_ratio=lr, trials=trials, reps=args.reps, seed=1000 + n0)
            e, se = float(res.test_error), float(res.stderr["test_error"])
            devs[n0] = (e, se, th)
            print(f"{act} r={lr:g} {region} n1={n1} n0={n0} m={m}: E={e:.5f} +- {se:.5f} limit={th:.5f} "
                  f"D={100 * (e / th - 1):+.2f}% +- {100 * se / th:.2f}% n0*D={n0 * (e / th - 1):+.2f}", flush=True)
        d = {n0: e / th - 1 for n0, (e, _, th) in devs.items()}
        ratios = [f"D({a})/D({b})={d[a] / d[b]:.2f}" if d[b] else f"D({a})/D({b})=inf"
                  for a, b in zip(sizes[:-1], sizes[1:])]
        big, half = sizes[-1], sizes[-2]
        (e1, s1, th), (e2, s2, _) = devs[big], devs[half]
        ext = (big * e1 - half * e2) / (big - half)
        sext = math.hypot(big * s1, half * s2) / (big - half)
        print(f"  -> {', '.join(ratios)}; extrapolated from n0={half},{big}: D={100 * (ext / th - 1):+.2f}% "
              f"+- {100 * sext / th:.2f}% ({(ext - th) / sext:+.1f} se)", flush=True)
    print(f"seconds={time.perf_counter() - start:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
