"""Where the whole-process time of ``rmt simulate rf`` goes, next to the plain numpy script (same sizes as
``benchmarks/cli_vs_numpy.py``).

Each run is a fresh process. An ``rmt`` child times ``import numpy``, ``import jax`` and the simulation modules, then runs the command line
in-process (``rmt.figures.cli.console_main``, exactly what the console script runs) with JAX's own duration events
(``jax.monitoring``): tracing, lowering to StableHLO (this includes the imports lowering triggers, such as
``scipy.linalg`` for the CPU LAPACK kernels), and the XLA compile or the persistent-cache load. What remains of the
command is the run itself (the repetitions, plus reading the flags, summarising and printing). A numpy child times ``import numpy``
and the script's ``main``. One untimed ``rmt`` run first fills the compilation cache (as any earlier use of the
command would). Prints the median of every phase over ``--runs`` runs (alternating the two scripts), the load
average, and ``fixed_over_half_numpy=`` (rmt's time outside the run itself over half of the numpy script's
whole-process time: above 1, a 2x speed-up over that script is out of reach even with a run that costs nothing).

Usage: ``python benchmarks/startup_breakdown.py [--runs 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = ["--n0", "400", "--n1", "800", "--m", "800", "--trials", "3,3,2", "--reps", "4", "--n-test", "1000"]
RMT_ARGS = ["simulate", "rf", *SIZES, "--ridge", "0.1", "--activation", "relu", "--no-taus", "--json", "--quiet"]
EVENTS = {"/jax/core/compile/jaxpr_trace_duration": "trace",
          "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
          "/jax/core/compile/backend_compile_duration": "compile_or_cache_load"}


def rmt_child() -> dict[str, float]:
    """Phases of one ``rmt`` command (seconds), measured inside this fresh process."""
    start = time.perf_counter()
    import gc

    from rmt.figures.cli import GC_THRESHOLD0, compilation_cache_dir, console_main  # imports neither numpy nor JAX

    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])  # as console_main sets it, before the imports here

    # the command line points JAX at its compilation cache before JAX is imported; JAX is imported here first (to
    # time it), so the same settings are made here (console_main then keeps them)
    cache = compilation_cache_dir()
    if cache is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = cache
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    t_cli = time.perf_counter()
    import numpy  # noqa: F401

    t_numpy = time.perf_counter()
    import jax

    t_jax = time.perf_counter()
    import rmt.montecarlo.sweep  # noqa: F401 -- what the command imports to simulate

    t_mc = time.perf_counter()
    phases = {name: 0.0 for name in EVENTS.values()}

    def listener(event: str, duration: float, **_: object) -> None:
        if event in EVENTS:
            phases[EVENTS[event]] += duration

    jax.monitoring.register_event_duration_secs_listener(listener)
    sys.argv = ["rmt", *RMT_ARGS]
    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            t_main = time.perf_counter()
            console_main()
        finally:
            sys.stdout = stdout
    end = time.perf_counter()
    out = {"import_rmt_cli": t_cli - start, "import_numpy": t_numpy - t_cli, "import_jax": t_jax - t_numpy,
           "import_rmt_montecarlo": t_mc - t_jax, **phases}
    out["run_and_rest"] = (end - t_main) - sum(phases.values())
    out["in_process_total"] = end - start
    return out


def numpy_child() -> dict[str, float]:
    start = time.perf_counter()
    import numpy  # noqa: F401

    t_numpy = time.perf_counter()
    sys.path.insert(0, HERE)
    import rf_numpy_baseline

    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            rf_numpy_baseline.main(SIZES + ["--ridge", "0.1"])
        finally:
            sys.stdout = stdout
    end = time.perf_counter()
    return {"import_numpy": t_numpy - start, "run_and_rest": end - t_numpy, "in_process_total": end - start}


def run_child(kind: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind], env=env, check=True,
                         capture_output=True, text=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["whole_process"] = time.perf_counter() - start
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", choices=["rmt", "numpy"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(rmt_child() if args.child == "rmt" else numpy_child()))
        return 0
    cache = tempfile.mkdtemp(prefix="rmt-bench-cache-")
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    print(f"cpus={os.cpu_count()} load_average_before={os.getloadavg()}")
    try:
        run_child("rmt", env)  # fills the compilation cache
        runs: dict[str, list[dict[str, float]]] = {"rmt": [], "numpy": []}
        for i in range(args.runs):
            for kind in (("rmt", "numpy") if i % 2 == 0 else ("numpy", "rmt")):
                runs[kind].append(run_child(kind, env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"load_average_after={os.getloadavg()}")
    med = {kind: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for kind, rs in runs.items()}
    for kind in ("rmt", "numpy"):
        print(f"{kind} (median of {args.runs}, seconds):")
        for k, v in med[kind].items():
            print(f"  {k:<24s} {v:7.3f}")
    fixed = med["rmt"]["whole_process"] - med["rmt"]["run_and_rest"]
    print(f"rmt_fixed={fixed:.3f} s (whole process minus the run itself)  numpy_whole={med['numpy']['whole_process']:.3f} s")
    print(f"fixed_over_half_numpy={fixed / (med['numpy']['whole_process'] / 2):.2f}")
    print(f"speedup={med['numpy']['whole_process'] / med['rmt']['whole_process']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
