"""The Monte Carlo on an accelerator, in one go: speed, and simulations large enough to meet the theory.

Writes ``device_check.json`` and three figures into ``--out``:

1. **Speed.** The matmul fraction of the random-feature and NTK engines (FLOPs of a repetition as executed, from
   :func:`montecarlo.random_features.rf_flops` and :func:`montecarlo.ntk.ntk_flops`, over the best wall-clock time
   of a repetition) against the device's own dense ``N x N`` product rate, in float64 and float32.
2. **Double descent** (``double_descent_terms.png``): random-feature ridge regression along ``n1`` at ``n0 = 2000``
   (``--quick``: 100), every fine-grained term (``V_P ... V_PXeps``), the bias and the test error against
   :func:`theory.random_features.rf_theory`; deviations in standard errors and relative to the test error.
3. **NTK convergence** (``ntk_convergence.png``): empirical-NTK regression at fixed ratios for ``n0`` from 200 to
   3200 (``--quick``: 25 to 100) against :func:`theory.ntk.quadratic_scaling`; the deviation of the test error
   against ``1/n0``, a weighted straight-line fit and its value at ``1/n0 = 0`` (the extrapolation, which should
   agree with zero within its standard error).
4. **Triple descent** (``triple_descent.png``): the NTK test error along ``n1`` at ``n0 = 1000`` (``--quick``: 40)
   against the quadratic-scaling curve, with the relative deviation per point.

It is an application-level script (it imports both :mod:`rmt.theory` and :mod:`rmt.montecarlo`); on a CPU,
``--quick`` runs it at small sizes in a few minutes (the test suite runs it so). The JSON names the device.

Usage: ``python benchmarks/device_check.py --out device_check [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import numpy as np  # noqa: E402

from benchmarks._rates import matmul_rate  # noqa: E402
from rmt.quantities import FINE_GRAINED_KEYS as TERMS  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    speed: tuple[int, int, int]  # n0, n1 = m for the speed runs
    dd_n0: int
    dd_m: int
    dd_psi: tuple[float, ...]  # n0 / n1 along the double-descent sweep
    dd_reps: int
    ntk_n0: tuple[int, ...]
    ntk_reps: int
    td_n0: int
    td_m: int
    td_n1: tuple[int, ...]
    td_reps: int


FULL = Sizes(speed=(1000, 2000, 2000), dd_n0=2000, dd_m=4000,
             dd_psi=(8.0, 4.0, 2.0, 1.33, 0.8, 0.6, 0.5, 0.44, 0.4, 0.33, 0.25, 0.125), dd_reps=4,
             ntk_n0=(200, 400, 800, 1600, 3200), ntk_reps=4, td_n0=1000, td_m=2000,
             td_n1=(100, 250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 6000), td_reps=3)
QUICK = Sizes(speed=(100, 200, 200), dd_n0=100, dd_m=200, dd_psi=(4.0, 1.0, 0.5, 0.25), dd_reps=2,
              ntk_n0=(25, 50, 100), ntk_reps=2, td_n0=40, td_m=80, td_n1=(20, 80, 160), td_reps=2)


def device_info() -> dict[str, Any]:
    import jax

    devs = jax.devices()
    return {"platform": devs[0].platform, "device_kind": getattr(devs[0], "device_kind", ""), "count": len(devs),
            "jax": jax.__version__, "host": platform.node(), "cpus": os.cpu_count()}


def engine_speed(sizes: Sizes) -> dict[str, Any]:
    """Matmul fraction of both engines in float64 and float32."""
    from rmt.montecarlo import simulate_ntk, simulate_rf
    from rmt.montecarlo.ntk import ntk_flops
    from rmt.montecarlo.random_features import rf_flops
    from rmt.problem import Problem

    n0, n1, m = sizes.speed
    trials, n_test = (2, 2, 2), m
    problem = Problem(n0=n0, n1=n1, m=m, ridge=0.1, activation="relu", noise=0.25)
    out: dict[str, Any] = {"n0": n0, "n1": n1, "m": m, "n_test": n_test, "trials": list(trials)}
    for dtype in ("float64", "float32"):
        mm = matmul_rate(max(n1, m), dtype=dtype)
        row = {"matmul_flops_per_s": mm}
        for name, run, flops in (
                ("rf", lambda s: simulate_rf(problem, trials=trials, reps=1, n_test=n_test, taus=False, dtype=dtype,
                                             seed=s), rf_flops(n0, n1, m, n_test, trials, taus=False)["total"]),
                ("ntk", lambda s: simulate_ntk(problem, trials=trials, reps=1, n_test=n_test, dtype=dtype, seed=s),
                 ntk_flops(n0, n1, m, n_test, trials)["total"])):
            t = time.perf_counter()
            run(0)
            compile_s = time.perf_counter() - t
            best = min(run(1 + i).elapsed_s for i in range(3))
            row[name] = {"seconds_per_repetition": best, "first_call_s": compile_s, "flops": flops,
                         "matmul_fraction": flops / best / mm}
        out[dtype] = row
    return out


def zscores(sim: Any, theory: float, name: str) -> tuple[float, float, float]:
    """Simulated value, its standard error and the theory value of ``name`` (a headline key or a term)."""
    if name in TERMS:
        return float(sim.fine_grained[name]), float(sim.stderr["fine_grained"][name]), theory
    return float(getattr(sim, name)), float(sim.stderr[name]), theory


def double_descent(sizes: Sizes) -> dict[str, Any]:
    from rmt.montecarlo import simulate_rf
    from rmt.problem import Problem
    from rmt.theory.random_features import rf_theory

    rows = []
    for psi in sizes.dd_psi:
        n1 = max(2, round(sizes.dd_n0 / psi))
        p = Problem(n0=sizes.dd_n0, n1=n1, m=sizes.dd_m, ridge=1e-3, activation="relu", noise=0.25)
        th = rf_theory(p)
        sim = simulate_rf(p, trials=(2, 2, 2), reps=sizes.dd_reps, taus=False, seed=7)
        row: dict[str, Any] = {"n1": n1, "psi": p.psi, "phi": p.phi}
        for name in ("test_error", "bias", "variance") + TERMS:
            want = float(th.fine_grained[name]) if name in TERMS else float(getattr(th, name))
            got, se, _ = zscores(sim, want, name)
            row[name] = {"sim": got, "stderr": se, "theory": want, "z": (got - want) / max(se, 1e-12),
                         "rel_to_test_error": (got - want) / float(th.test_error)}
        rows.append(row)
    worst = {name: max(abs(r[name]["z"]) for r in rows) for name in ("test_error", "bias") + TERMS}
    worst_rel = {name: max(abs(r[name]["rel_to_test_error"]) for r in rows) for name in ("test_error", "bias") + TERMS}
    return {"n0": sizes.dd_n0, "m": sizes.dd_m, "ridge": 1e-3, "activation": "relu", "noise": 0.25, "points": rows,
            "max_abs_z": worst, "max_abs_deviation_over_test_error": worst_rel}


def weighted_line(x: Sequence[float], y: Sequence[float], se: Sequence[float]) -> dict[str, float]:
    """Weighted least squares ``y = a + b x`` (weights ``1/se^2``): ``a``, ``b`` and their standard errors."""
    x, y, w = np.asarray(x, float), np.asarray(y, float), 1.0 / np.maximum(np.asarray(se, float), 1e-300) ** 2
    design = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    a, b = cov @ (design.T @ (w * y))
    return {"intercept": float(a), "intercept_stderr": float(math.sqrt(cov[0, 0])), "slope": float(b),
            "slope_stderr": float(math.sqrt(cov[1, 1]))}


def ntk_convergence(sizes: Sizes) -> dict[str, Any]:
    from rmt.montecarlo import simulate_ntk
    from rmt.problem import Problem
    from rmt.theory.ntk import quadratic_scaling

    phi, psi, ridge, noise = 0.5, 1.0, 0.1, 0.1
    rows = []
    for n0 in sizes.ntk_n0:
        p = Problem(n0=n0, n1=round(n0 / psi), m=round(n0 / phi), ridge=ridge, activation="relu", noise=noise)
        th = quadratic_scaling(p, lr_ratio=1.0)
        sim = simulate_ntk(p, lr_ratio=1.0, trials=(2, 2, 2), reps=sizes.ntk_reps, seed=3)
        rows.append({"n0": n0, "sim": float(sim.test_error), "stderr": float(sim.stderr["test_error"]),
                     "theory": float(th.test_error), "deviation": float(sim.test_error - th.test_error),
                     "relative_deviation": float(sim.test_error / th.test_error - 1.0)})
    fit = weighted_line([1.0 / r["n0"] for r in rows], [r["deviation"] for r in rows], [r["stderr"] for r in rows])
    return {"phi": phi, "psi": psi, "ridge": ridge, "noise": noise, "lr_ratio": 1.0, "activation": "relu",
            "points": rows, "fit_deviation_vs_inverse_n0": fit,
            "extrapolated_z": fit["intercept"] / max(fit["intercept_stderr"], 1e-12)}


def triple_descent(sizes: Sizes) -> dict[str, Any]:
    from rmt.montecarlo import simulate_ntk
    from rmt.problem import Problem
    from rmt.theory.ntk import quadratic_scaling

    rows = []
    for n1 in sizes.td_n1:
        p = Problem(n0=sizes.td_n0, n1=n1, m=sizes.td_m, ridge=1e-3, activation="relu", noise=0.1)
        th = quadratic_scaling(p, lr_ratio=1.0)
        sim = simulate_ntk(p, lr_ratio=1.0, trials=(2, 2, 2), reps=sizes.td_reps, seed=5)
        rows.append({"n1": n1, "psi": p.psi, "sim": float(sim.test_error), "stderr": float(sim.stderr["test_error"]),
                     "theory": float(th.test_error), "relative_deviation": float(sim.test_error / th.test_error - 1)})
    return {"n0": sizes.td_n0, "m": sizes.td_m, "ridge": 1e-3, "noise": 0.1, "lr_ratio": 1.0, "points": rows,
            "max_abs_relative_deviation": max(abs(r["relative_deviation"]) for r in rows)}


def figures(report: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    paths = []
    dd = report["double_descent"]
    x = [r["n1"] / dd["m"] for r in dd["points"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, names in ((axes[0], ("test_error", "bias", "variance")), (axes[1], TERMS)):
        for i, name in enumerate(names):
            color = f"C{i}"
            ax.plot(x, [r[name]["theory"] for r in dd["points"]], "-", color=color, label=name)
            ax.errorbar(x, [r[name]["sim"] for r in dd["points"]], yerr=[2 * r[name]["stderr"] for r in dd["points"]],
                        fmt="o", ms=3, color=color)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("n1 / m")
        ax.legend(fontsize=7)
    axes[0].set_title(f"random features, n0 = {dd['n0']}, m = {dd['m']} ({report['device']['device_kind']})")
    axes[1].set_title("fine-grained terms (lines: theory; points: simulation +- 2 s.e.)")
    fig.tight_layout()
    paths.append(out / "double_descent_terms.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    nc = report["ntk_convergence"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    inv = [1.0 / r["n0"] for r in nc["points"]]
    ax.errorbar(inv, [r["deviation"] for r in nc["points"]], yerr=[2 * r["stderr"] for r in nc["points"]], fmt="o")
    fit = nc["fit_deviation_vs_inverse_n0"]
    grid = np.linspace(0, max(inv) * 1.05, 50)
    ax.plot(grid, fit["intercept"] + fit["slope"] * grid, "-", label=f"fit: {fit['intercept']:.2g} "
            f"+- {fit['intercept_stderr']:.1g} at 1/n0 = 0")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("1 / n0")
    ax.set_ylabel("simulated - quadratic-scaling test error")
    ax.set_title("empirical NTK, phi = 0.5, psi = 1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "ntk_convergence.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    td = report["triple_descent"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    n1 = [r["n1"] for r in td["points"]]
    ax.plot(n1, [r["theory"] for r in td["points"]], "-", label="quadratic scaling (theory)")
    ax.errorbar(n1, [r["sim"] for r in td["points"]], yerr=[2 * r["stderr"] for r in td["points"]], fmt="o",
                label="simulation +- 2 s.e.")
    ax.set_xscale("log")
    ax.set_xlabel("n1")
    ax.set_ylabel("test error")
    ax.set_title(f"NTK triple descent, n0 = {td['n0']}, m = {td['m']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths.append(out / "triple_descent.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="device_check", help="output folder (default ./device_check)")
    ap.add_argument("--quick", action="store_true", help="small sizes (a CPU run of a few minutes)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: speed,dd,ntk,td")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = QUICK if args.quick else FULL
    skip = {s for s in args.skip.split(",") if s}
    report: dict[str, Any] = {"device": device_info(), "quick": args.quick}
    parts = (("speed", "engine_speed", engine_speed), ("dd", "double_descent", double_descent),
             ("ntk", "ntk_convergence", ntk_convergence), ("td", "triple_descent", triple_descent))
    for tag, key, fn in parts:
        if tag in skip:
            continue
        t = time.perf_counter()
        report[key] = fn(sizes)
        report[key]["seconds"] = time.perf_counter() - t
        print(f"{key}: {report[key]['seconds']:.1f} s", flush=True)
    if not skip & {"dd", "ntk", "td"}:
        report["figures"] = [p.name for p in figures(report, out)]
    (out / "device_check.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out / 'device_check.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
