"""Cost of the exact linear-scaling NTK fixed point per second-layer node: rows solved one chunk at a time with the
earlier chunk rule (rows per call bounded by the ``K x n1^4`` gate table, one row per call at ``n1 = 10``, the table
rebuilt for every call) against the current rule (about ``4e6 / n1^4`` rows per call, the table built once per
call), side by side in one run on the same rows, with the largest relative difference of the results.

Run: ``python benchmarks/ntk_linear_exact_batching.py [--widths 4,8,10,12] [--rows 128] [--activation relu]``.
(A benchmark of a private kernel: ``rmt.theory._ntk_linear._conditional``.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rmt.theory._ntk_linear import _conditional, gate_rule


def solve(phi, lam, v, w, chunk):
    parts = [_conditional(phi[k:k + chunk], lam[k:k + chunk], v, w) for k in range(0, phi.size, chunk)]
    return np.concatenate([p["es"] for p in parts]), np.concatenate([p["en"] for p in parts])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--widths", default="4,8,10,12")
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--p-over-m", type=float, default=1.5)
    args = ap.parse_args()
    print(f"{'n1':>4} {'K':>6} {'rows':>5} {'old chunk':>9} {'old s':>8} {'new chunk':>9} {'new s':>8} {'ratio':>6} "
          f"{'max rel diff':>12}")
    rng = np.random.default_rng(0)
    for n1 in (int(x) for x in args.widths.split(",")):
        v, w, _ = gate_rule(args.activation, n1)
        K = v.shape[0]
        lam = 1e-2 * n1 / np.abs(rng.standard_normal((args.rows, n1))) ** 2
        phi = np.full(args.rows, args.p_over_m / n1)
        old_chunk = max(1, int(2e7 // (K * n1 ** 4 + 1)))
        new_chunk = max(1, int(4e6 // n1 ** 4))
        t0 = time.perf_counter()
        old = solve(phi, lam, v, w, old_chunk)
        t_old = time.perf_counter() - t0
        t0 = time.perf_counter()
        new = solve(phi, lam, v, w, new_chunk)
        t_new = time.perf_counter() - t0
        diff = max(float(np.max(np.abs(a / b - 1))) for a, b in zip(new, old))
        print(f"{n1:>4} {K:>6} {args.rows:>5} {old_chunk:>9} {t_old:>8.2f} {new_chunk:>9} {t_new:>8.2f} "
              f"{t_old / t_new:>6.1f} {diff:>12.1e}", flush=True)


if __name__ == "__main__":
    main()
