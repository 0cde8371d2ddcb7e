"""Whole-process time of ``rmt simulate rf`` against the plain numpy script of the same crossed design.

Times, side by side in one run and in alternating pairs, the command line

    rmt simulate rf --n0 400 --n1 800 --m 800 --ridge 0.1 --activation relu --trials 3,3,2 --reps 4 --n-test 1000
        --no-taus --json --quiet

and ``python benchmarks/rf_numpy_baseline.py`` with the same sizes (each as a fresh process, start-up included).
One untimed run of each comes first (it fills rmt's persistent compilation cache, as any earlier use of the
command would, and the file-system cache for both). Prints every pair, the medians, the load average before and
after (the machine may be shared), the CPU seconds of each run (user + system, all threads), and ends with
``speedup=<numpy median / rmt median>`` of the wall-clock times (above 1: rmt is faster).
``--cold`` empties rmt's compilation cache before every rmt run (the first run on a new machine).

Usage: ``python benchmarks/cli_vs_numpy.py [--pairs 3] [--cold]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = ["--n0", "400", "--n1", "800", "--m", "800", "--trials", "3,3,2", "--reps", "4", "--n-test", "1000"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system, all threads) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="empty rmt's compilation cache before each rmt run")
    args = ap.parse_args(argv)
    cache = tempfile.mkdtemp(prefix="rmt-bench-cache-")
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    rmt_cmd = [sys.executable, "-m", "rmt", "simulate", "rf", *SIZES, "--ridge", "0.1", "--activation", "relu",
               "--no-taus", "--json", "--quiet"]
    np_cmd = [sys.executable, os.path.join(HERE, "rf_numpy_baseline.py"), *SIZES, "--ridge", "0.1"]
    print("rmt:   " + " ".join(rmt_cmd[1:]))
    print("numpy: " + " ".join(np_cmd[1:]))
    print(f"cpus={os.cpu_count()} load_average_before={os.getloadavg()}")
    try:
        timed(rmt_cmd, env)
        timed(np_cmd, env)
        t_rmt, t_np = [], []
        for i in range(args.pairs):
            if args.cold:
                shutil.rmtree(os.path.join(cache, "rmt"), ignore_errors=True)
            first_rmt = i % 2 == 0  # alternate which goes first
            for which in ((0, 1) if first_rmt else (1, 0)):
                if which == 0:
                    t_rmt.append(timed(rmt_cmd, env))
                else:
                    t_np.append(timed(np_cmd, env))
            print(f"pair {i + 1}: rmt {t_rmt[-1][0]:.2f} s ({t_rmt[-1][1]:.2f} CPU-s)  "
                  f"numpy {t_np[-1][0]:.2f} s ({t_np[-1][1]:.2f} CPU-s)", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    m_rmt, m_np = statistics.median(t[0] for t in t_rmt), statistics.median(t[0] for t in t_np)
    c_rmt, c_np = statistics.median(t[1] for t in t_rmt), statistics.median(t[1] for t in t_np)
    print(f"load_average_after={os.getloadavg()}")
    print(f"median: rmt {m_rmt:.2f} s  numpy {m_np:.2f} s ({'cold' if args.cold else 'warm'} compilation cache)")
    print(f"median CPU: rmt {c_rmt:.2f} CPU-s  numpy {c_np:.2f} CPU-s (on a loaded machine the CPU time is the "
          f"steadier measure; BLAS threads that spin while waiting count in it)")
    print(f"cpu_speedup={c_np / c_rmt:.2f}")
    print(f"speedup={m_np / m_rmt:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
