"""Where the whole-process time of ``rmt simulate rf`` goes, next to the plain numpy script (same sizes as
``benchmarks/cli_vs_numpy.py``).

Each run is a fresh process. An ``rmt`` child times ``import numpy``, ``import jax`` and the simulation modules,
then runs the command line in-process (``rmt.figures.cli.console_main``, what the console script runs) while JAX
reports its own phase durations (``jax.monitoring``): tracing, lowering to StableHLO (with the imports lowering
triggers, such as ``scipy.linalg`` for the CPU LAPACK kernels), and the XLA compile or the persistent-cache load.
What follows is the run itself (the repetitions, summarising, printing). CPU seconds (all threads) are charged to
the phase that ends next, so those of reading the flags count in ``trace``. A numpy child times ``import numpy``
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
import resource
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


class Clock:
    """Wall-clock and CPU seconds (this process, all threads) of consecutive phases."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.last = (time.perf_counter(), time.process_time())

    def mark(self, phase: str, wall: float | None = None) -> None:
        """End ``phase`` now (``wall``: its own duration when known, e.g. from JAX; else since the last mark)."""
        now = (time.perf_counter(), time.process_time())
        self.wall[phase] = self.wall.get(phase, 0.0) + (now[0] - self.last[0] if wall is None else wall)
        self.cpu[phase] = self.cpu.get(phase, 0.0) + now[1] - self.last[1]
        self.last = now


def rmt_child() -> dict[str, dict[str, float]]:
    """Phases of one ``rmt`` command (seconds), measured inside this fresh process."""
    clock = Clock()
    import gc

    from rmt.figures.cli import GC_THRESHOLD0, compilation_cache_dir, console_main  # imports neither numpy nor JAX

    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])  # as console_main sets it, before the imports here
    # the command line points JAX at its compilation cache before JAX is imported; JAX is imported here first (to
    # time it), so the same settings are made here (console_main then keeps them)
    cache = compilation_cache_dir()
    if cache is not None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = cache
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    clock.mark("import_rmt_cli")
    import numpy  # noqa: F401

    clock.mark("import_numpy")
    import jax

    clock.mark("import_jax")
    import rmt.montecarlo.sweep  # noqa: F401 -- what the command imports to simulate

    clock.mark("import_rmt_montecarlo")

    def listener(event: str, duration: float, **_: object) -> None:
        if event in EVENTS:  # the CPU time since the previous mark is charged to this phase
            clock.mark(EVENTS[event], duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    sys.argv = ["rmt", *RMT_ARGS]
    t_main = time.perf_counter()
    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            console_main()
        finally:
            sys.stdout = stdout
    clock.mark("run_and_rest")  # from the end of the compile (or cache load) on
    # reading the flags and preparing the run, before tracing: its CPU time is counted in "trace"
    clock.wall["flags_and_prepare"] = (time.perf_counter() - t_main) - sum(clock.wall[e] for e in
                                                                           (*EVENTS.values(), "run_and_rest"))
    return {"wall": clock.wall, "cpu": clock.cpu}


def numpy_child() -> dict[str, dict[str, float]]:
    clock = Clock()
    import numpy  # noqa: F401

    clock.mark("import_numpy")
    sys.path.insert(0, HERE)
    import rf_numpy_baseline

    with open(os.devnull, "w") as sink:
        stdout, sys.stdout = sys.stdout, sink
        try:
            rf_numpy_baseline.main(SIZES + ["--ridge", "0.1"])
        finally:
            sys.stdout = stdout
    clock.mark("run_and_rest")
    return {"wall": clock.wall, "cpu": clock.cpu}


def run_child(kind: str, env: dict[str, str]) -> dict[str, dict[str, float]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind], env=env, check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for which in ("wall", "cpu"):
        out[which]["in_process_total"] = sum(out[which].values())
    out["wall"]["whole_process"] = wall
    out["cpu"]["whole_process"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
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
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"rmt": [], "numpy": []}
        for i in range(args.runs):
            for kind in (("rmt", "numpy") if i % 2 == 0 else ("numpy", "rmt")):
                runs[kind].append(run_child(kind, env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"load_average_after={os.getloadavg()}")
    med = {kind: {which: {k: statistics.median(r[which].get(k, 0.0) for r in rs) for k in rs[0][which]}
                  for which in ("wall", "cpu")} for kind, rs in runs.items()}
    for kind in ("rmt", "numpy"):
        print(f"{kind} (median of {args.runs} runs)      wall s    CPU s")
        for k, v in med[kind]["wall"].items():
            cpu = med[kind]["cpu"].get(k)
            print(f"  {k:<24s} {v:8.3f} {'' if cpu is None else f'{cpu:8.3f}'}")
    fixed = med["rmt"]["wall"]["whole_process"] - med["rmt"]["wall"]["run_and_rest"]
    fixed_cpu = med["rmt"]["cpu"]["whole_process"] - med["rmt"]["cpu"]["run_and_rest"]
    numpy_med = med["numpy"]
    print(f"rmt_fixed={fixed:.3f} s, {fixed_cpu:.3f} CPU-s (whole process minus the run itself)  "
          f"numpy_whole={numpy_med['wall']['whole_process']:.3f} s, {numpy_med['cpu']['whole_process']:.3f} CPU-s")
    print(f"fixed_over_half_numpy={fixed / (med['numpy']['wall']['whole_process'] / 2):.2f}")
    print(f"speedup={med['numpy']['wall']['whole_process'] / med['rmt']['wall']['whole_process']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
