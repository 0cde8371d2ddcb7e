r"""Figure ``hea-learning-curves``: the Hermite eigenstructure ansatz against kernel ridge regression in JAX, and the
map of where it holds.

Data ``x ~ N(0, diag(gamma))`` with ``gamma_i ∝ i^-a`` normalised to ``tr Gamma = 1``; target
``f* = h_1(z_0) + 0.6 h_1(z_1) + 0.5 h_1(z_0) h_1(z_1) + 0.4 h_2(z_2) + 0.3 h_3(z_0)`` (total power 1.86, Hermite
polynomials of the whitened input); ridge ``1e-3`` (sum convention); no label noise; Gaussian and Laplace kernels with
bandwidth 1, the two-layer ReLU NTK. Theory: :func:`rmt.theory.hea.learning_curve` (Karkada, Turnbull, Liu & Simon
arXiv:2510.14878, with the level coefficients derived in :mod:`rmt.theory.hea`); simulation:
:func:`rmt.montecarlo.hea.simulate_hea` (exact kernels, test error on fresh points, mean +- 2 standard errors).

a. test error against ``n`` for the Gaussian kernel at ``d = 100`` isotropic (``a = 0``) and ``d = 20``, ``a = 1``;
b. learnability of each target monomial against ``n`` (theory lines, measured ``<f_hat, h_alpha>/v_alpha``
   points) at ``d = 100``, ``a = 0.5``: the order in which monomials are learned;
c. the map: ratio of simulated to predicted test error over dimension, covariance decay and kernel at each ``n``
   against ``sum gamma_i^2`` (green: holds, i.e. within 15 % + 2 standard errors with a standard error below 25 %).

Writes ``hea_learning_curves.png``, ``hea_map.csv`` (the map), ``hea_curves.csv`` and ``hea_learning_curves.json``.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rmt.theory.hea import hea_spectrum, learning_curve  # noqa: E402

__all__ = ["TARGET", "gammas", "make", "map_case"]

TARGET = {(0,): 1.0, (1,): 0.6, (0, 1): 0.5, (2, 2): 0.4, (0, 0, 0): 0.3}
RIDGE = 1e-3
LABELS = {(0,): "h1(z0)", (1,): "h1(z1)", (0, 1): "h1(z0)h1(z1)", (2, 2): "h2(z2)", (0, 0, 0): "h3(z0)"}


def gammas(d: int, a: float) -> np.ndarray:
    """``gamma_i ∝ i^-a``, ``i = 1..d``, normalised to trace 1."""
    g = np.arange(1, d + 1, dtype=float) ** -a
    return g / g.sum()


def _spectrum(kernel: str, d: int, a: float):
    return hea_spectrum(kernel, gammas(d, a), 40_000, target=TARGET, max_level=8)


def map_case(kernel: str, d: int, a: float, n: int, *, trials: int, n_test: int, seed: int) -> dict[str, Any]:
    """Theory and simulation of one point of the map."""
    from rmt.montecarlo.hea import simulate_hea

    th = float(learning_curve(_spectrum(kernel, d, a), n, RIDGE)[0].test_error)
    sim = simulate_hea(kernel, gammas(d, a), TARGET, n, RIDGE, trials=trials, n_test=n_test, seed=seed)
    dev = sim.test_error - th
    se = sim.test_error_stderr
    # holds: within 15 % + 2 standard errors, and measured to 25 % or better (a large standard error proves nothing)
    ok = abs(dev) <= 0.15 * th + 2 * se and se <= 0.25 * th
    return {"kernel": kernel, "d": d, "decay": a, "n": n, "theory": th, "simulation": sim.test_error,
            "stderr": se, "ratio": sim.test_error / th, "relative_deviation": dev / th, "holds": bool(ok),
            "sum_gamma_sq": float(np.sum(gammas(d, a) ** 2))}


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file."""
    from rmt.montecarlo.hea import simulate_hea

    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trials, n_test = (4, 800) if quick else (8, 2000)
    fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(18, 5.4))
    curves: list[dict[str, Any]] = []

    # a: learning curves
    n_line = np.geomspace(20, 3000, 60)
    n_pts = [50, 200, 800] if quick else [50, 100, 200, 400, 800, 1600]
    for (d, a), color in zip([(100, 0.0), (20, 1.0)], ("C0", "C3")):
        spec = _spectrum("gaussian", d, a)
        res, _ = learning_curve(spec, n_line, RIDGE)
        ax_a.loglog(n_line, res.test_error, color=color, label=f"theory d={d}, a={a:g}")
        for n in (n_pts if mc else []):
            s = simulate_hea("gaussian", gammas(d, a), TARGET, n, RIDGE, trials=trials, n_test=n_test, seed=seed + n)
            ax_a.errorbar(n, s.test_error, yerr=2 * s.test_error_stderr, fmt="o", color=color, ms=4)
            th = float(learning_curve(spec, n, RIDGE)[0].test_error)
            curves.append({"panel": "a", "d": d, "decay": a, "n": n, "theory": th, "simulation": s.test_error,
                           "stderr": s.test_error_stderr})
    ax_a.set_xlabel("n")
    ax_a.set_ylabel("test error (excess)")
    ax_a.set_title("a. Gaussian kernel: HEA (lines) vs KRR (points)")
    ax_a.legend(fontsize=8)

    # b: monomial learnabilities
    d, a = 100, 0.5
    spec = _spectrum("gaussian", d, a)
    _, learn = learning_curve(spec, n_line, RIDGE)
    order = sorted(TARGET, key=lambda k: -spec.eigenvalue(k))
    sims = {n: simulate_hea("gaussian", gammas(d, a), TARGET, n, RIDGE, trials=trials, n_test=n_test,
                            seed=seed + 1 + n) for n in (n_pts if mc else [])}
    for j, key in enumerate(order):
        ax_b.semilogx(n_line, learn[key], color=f"C{j}", label=f"{LABELS[key]} (rank {spec.position(key)})")
        for n, s in sims.items():
            ax_b.errorbar(n, s.learnability[key], yerr=2 * s.learnability_stderr[key], fmt="o", color=f"C{j}", ms=4)
            curves.append({"panel": "b", "d": d, "decay": a, "n": n, "monomial": LABELS[key],
                           "theory": float(learning_curve(spec, n, RIDGE)[1][key]),
                           "simulation": s.learnability[key], "stderr": s.learnability_stderr[key]})
    ax_b.set_xlabel("n")
    ax_b.set_ylabel("learnability of the monomial")
    ax_b.set_title(f"b. order of learning (Gaussian, d={d}, a={a:g})")
    ax_b.legend(fontsize=8)

    # c: the map
    rows: list[dict[str, Any]] = []
    if mc:
        kernels = ("gaussian", "relu-ntk") if quick else ("gaussian", "laplace", "relu-ntk")
        dims = (10, 100) if quick else (10, 30, 100)
        decays = (0.0, 1.0, 2.0) if quick else (0.0, 0.5, 1.0, 2.0)
        ns = (200, 1000) if quick else (100, 400, 1600)
        for kernel in kernels:
            for d in dims:
                for a in decays:
                    for n in ns:
                        rows.append(map_case(kernel, d, a, n, trials=trials, n_test=n_test, seed=seed + d + n))
        markers = {"gaussian": "o", "laplace": "s", "relu-ntk": "^"}
        for r in rows:
            ax_c.errorbar(r["sum_gamma_sq"] * (1 + 0.04 * np.log2(r["n"] / 100)), r["ratio"],
                          yerr=2 * r["stderr"] / r["theory"], marker=markers[r["kernel"]],
                          color="C2" if r["holds"] else "C3", ms=3 + np.log2(r["n"] / 50), lw=0.6)
        ax_c.set_xscale("log")
        ax_c.set_yscale("log")
        ax_c.axhline(1, color="k", lw=0.5)
    ax_c.set_xlabel("sum_i gamma_i^2 (inverse effective dimension)")
    ax_c.set_ylabel("simulated / predicted test error (+- 2 se)")
    ax_c.set_title("c. where the ansatz holds (green) and breaks (red)\no Gaussian, s Laplace, ^ ReLU NTK; "
                   "size ~ log n")
    fig.tight_layout()
    png = out / "hea_learning_curves.png"
    fig.savefig(png, dpi=130)
    plt.close(fig)
    files = [str(png)]
    if rows:
        with open(out / "hea_map.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        files.append(str(out / "hea_map.csv"))
    if curves:
        keys = sorted({k for c in curves for k in c})
        with open(out / "hea_curves.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=keys)
            w.writeheader()
            w.writerows(curves)
        files.append(str(out / "hea_curves.csv"))
    summary = {"files": files + [str(out / "hea_learning_curves.json")], "seconds": round(time.time() - t0, 1),
               "map_points": len(rows), "map_holds": sum(r["holds"] for r in rows), "quick": quick}
    with open(out / "hea_learning_curves.json", "w") as fh:
        json.dump({**summary, "map": rows}, fh, indent=1)
    return summary
