"""Speed of the random-feature Monte Carlo engine against this machine's dense matrix-product rate.

Runs, in one process: the FLOP count of one trial (one fitted model of the crossed design, with its share of the
test features), the achieved FLOP/s of whole repetitions of :func:`montecarlo.simulate_rf` (timed after a warm-up
run that compiles), and the FLOP/s of a dense float64 ``N x N`` matrix product in JAX on the same devices
(``N = max(n1, m)``). Each rate is the best of several timings (the machine may be shared). Ends with the line
``matmul_fraction=<achieved / matmul>``.

FLOPs are those executed (:func:`montecarlo.random_features.rf_flops`): a product ``(a x b)(b x c)`` counts
``2abc`` (also for the symmetric Gram matrix, which is computed as a full product), Cholesky ``n^3/3``, a triangular
solve ``n^2`` per right-hand side. Also printed: the "essential" count, with symmetry and triangularity exploited
(the Gram product at ``a^2 b``, the triangular inverse at ``n^3/3``, ``L^{-1} X`` as a triangular solve).

Usage: ``python benchmarks/montecarlo.py`` (n0=1000, n1=m=2000) or ``--quick`` (n0=300, n1=m=600, under a minute on
two cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import jax  # noqa: E402

from rmt.montecarlo import _engine as eng  # noqa: E402
from rmt.montecarlo.random_features import rf_flops, simulate_rf  # noqa: E402
from rmt.problem import Problem  # noqa: E402
from benchmarks._rates import matmul_rate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="n0=300, n1=m=600")
    ap.add_argument("--n0", type=int)
    ap.add_argument("--n1", type=int)
    ap.add_argument("--m", type=int)
    ap.add_argument("--trials", default="2,2,2")
    ap.add_argument("--n-test", type=int, default=None, help="test points (default m)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per run (default 1; quick 2)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs, best kept (default 3)")
    ap.add_argument("--no-taus", action="store_true")
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--lapack-threads", type=int, default=1,
                    help="threads of scipy's OpenBLAS during the run (0: leave it alone; default 1)")
    args = ap.parse_args(argv)
    n0, n1, m = (300, 600, 600) if args.quick else (1000, 2000, 2000)
    n0, n1, m = args.n0 or n0, args.n1 or n1, args.m or m
    n_test = args.n_test or m
    trials = tuple(int(v) for v in args.trials.split(","))
    reps = args.reps or (2 if args.quick else 1)
    repeat = args.repeat or 3
    dtype = "float32" if args.float32 else "float64"
    taus = not args.no_taus
    eng.LAPACK_THREADS = args.lapack_threads or None
    problem = Problem(n0=n0, n1=n1, m=m, ridge=0.1, activation="relu", noise=0.25)
    print(f"devices: {jax.devices()}")
    print(f"problem: n0={n0} n1={n1} m={m} trials={trials} n_test={n_test} taus={taus} dtype={dtype} "
          f"reps/run={reps} lapack_threads={eng.LAPACK_THREADS or 'unchanged'}")
    fl = rf_flops(n0, n1, m, n_test, trials, taus=taus)
    cells = trials[0] * trials[1]
    essential = fl["essential"]
    for k, v in fl.items():
        if k not in ("total", "per_trial", "essential"):
            print(f"  flops {k:<14s} {v / cells:.4g} per trial")
    print(f"flops_per_trial={fl['per_trial']:.4g} (essential {essential / cells:.4g}); trials per repetition={cells}")

    t = time.perf_counter()
    simulate_rf(problem, trials=trials, reps=1, n_test=n_test, taus=taus, dtype=dtype, seed=1)
    print(f"warm-up run (compiles): {time.perf_counter() - t:.2f} s")
    mm = matmul_rate(max(n1, m), 5)
    best = float("inf")
    for i in range(repeat):
        r = simulate_rf(problem, trials=trials, reps=reps, n_test=n_test, taus=taus, dtype=dtype, seed=2 + i)
        best = min(best, r.elapsed_s / reps)
        mm = max(mm, matmul_rate(max(n1, m), 3))
    achieved = fl["total"] / best
    print(f"seconds_per_repetition={best:.4g} seconds_per_trial={best / cells:.4g}")
    print(f"achieved_flops_per_s={achieved:.4g} (essential {essential / best:.4g})")
    print(f"matmul_flops_per_s={mm:.4g} ({max(n1, m)}x{max(n1, m)} float64 product)")
    print(f"essential_matmul_fraction={essential / best / mm:.3f}")
    print(f"matmul_fraction={achieved / mm:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
