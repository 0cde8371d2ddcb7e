"""Speed of the NTK Monte Carlo engine against this machine's dense matrix-product rate (the companion of
``benchmarks/montecarlo.py`` for the random-feature engine).

Runs, in one process: the FLOP count of one repetition of :func:`montecarlo.simulate_ntk` as executed
(:func:`montecarlo.ntk.ntk_flops`), the achieved FLOP/s of whole repetitions (timed after a warm-up run that
compiles), the compile count of a sweep over the ridge (it must be one: the shapes do not change), and the FLOP/s
of a dense ``N x N`` product in JAX (``N = max(n1, m)``) in the same dtype. Each rate is the best of several
timings (the machine may be shared). Ends with ``matmul_fraction=<achieved / matmul>``.

Usage: ``python benchmarks/ntk.py`` (n0=1000, n1=m=2000, n_test=m) or ``--quick`` (n0=300, n1=m=600).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import jax  # noqa: E402

from rmt.montecarlo.ntk import ntk_flops, simulate_ntk  # noqa: E402
from rmt.problem import Problem  # noqa: E402
from benchmarks._rates import matmul_rate  # noqa: E402


def measure(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], reps: int, repeat: int,
            dtype: str = "float64", noise: float = 0.25, lr_ratio: float = 1.0) -> dict[str, float]:
    """Seconds per repetition (best of ``repeat`` runs), FLOPs per repetition, achieved and matmul FLOP/s."""
    problem = Problem(n0=n0, n1=n1, m=m, ridge=0.1, activation="relu", noise=noise)
    fl = ntk_flops(n0, n1, m, n_test, trials, noisy=noise > 0)
    t = time.perf_counter()
    simulate_ntk(problem, lr_ratio=lr_ratio, trials=trials, reps=1, n_test=n_test, dtype=dtype, seed=1)
    warm = time.perf_counter() - t
    mm = matmul_rate(max(n1, m), 5, dtype)
    best = float("inf")
    for i in range(repeat):
        r = simulate_ntk(problem, lr_ratio=lr_ratio, trials=trials, reps=reps, n_test=n_test, dtype=dtype, seed=2 + i)
        best = min(best, r.elapsed_s / reps)
        mm = max(mm, matmul_rate(max(n1, m), 3, dtype))
    return {"warmup_s": warm, "seconds_per_repetition": best, "flops_per_repetition": fl["total"],
            "achieved_flops_per_s": fl["total"] / best, "matmul_flops_per_s": mm,
            "matmul_fraction": fl["total"] / best / mm}


def compiles_in_a_sweep(n0: int, n1: int, m: int, n_test: int, trials: tuple[int, int, int], points: int) -> float:
    """Seconds of the first point and mean seconds of the next ``points - 1`` points of a ridge sweep (same
    shapes): the compile is paid once."""
    times = []
    for i, ridge in enumerate(10.0 ** -(1 + 0.37 * k) for k in range(points)):
        t = time.perf_counter()
        simulate_ntk(Problem(n0=n0, n1=n1, m=m, ridge=ridge, activation="tanh", noise=0.25), trials=trials,
                     reps=1, n_test=n_test, seed=i)
        times.append(time.perf_counter() - t)
    return times[0], sum(times[1:]) / max(1, len(times) - 1)


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
    ap.add_argument("--float32", action="store_true")
    args = ap.parse_args(argv)
    n0, n1, m = (300, 600, 600) if args.quick else (1000, 2000, 2000)
    n0, n1, m = args.n0 or n0, args.n1 or n1, args.m or m
    n_test = args.n_test or m
    trials = tuple(int(v) for v in args.trials.split(","))
    reps = args.reps or (2 if args.quick else 1)
    dtype = "float32" if args.float32 else "float64"
    print(f"devices: {jax.devices()} load_average={os.getloadavg()}")
    print(f"problem: n0={n0} n1={n1} m={m} trials={trials} n_test={n_test} dtype={dtype} reps/run={reps}")
    for k, v in ntk_flops(n0, n1, m, n_test, trials).items():
        print(f"  flops {k:<14s} {v:.4g} per repetition")
    res = measure(n0, n1, m, n_test, trials, reps, args.repeat or 3, dtype)
    print(f"warm-up run (compiles): {res['warmup_s']:.2f} s")
    first, rest = compiles_in_a_sweep(max(20, n0 // 10), max(40, n1 // 10), max(30, m // 10), 200, trials, 4)
    print(f"ridge sweep at a small size: first point {first:.3f} s, next points {rest:.3f} s each (one compile)")
    print(f"seconds_per_repetition={res['seconds_per_repetition']:.4g}")
    print(f"achieved_flops_per_s={res['achieved_flops_per_s']:.4g}")
    print(f"matmul_flops_per_s={res['matmul_flops_per_s']:.4g} ({max(n1, m)}x{max(n1, m)} {dtype} product)")
    print(f"matmul_fraction={res['matmul_fraction']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
