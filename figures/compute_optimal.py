r"""Figure ``compute-optimal``: the dynamical scaling-law model and its compute-optimal frontier.

Model (Bordelon, Atanasov & Pehlevan arXiv:2402.01092, unlimited data): gradient flow on ``N`` random projections of
Gaussian features with ``lambda_i = i^-1.5``, ``v_i^2 = i^-1.3`` (rmt.theory.dynamics.projected_gradient_flow,
effectively infinite spectrum). Compute ``C = N t``.

a. loss against compute for several widths ``N`` (theory lines), the frontier ``min_N L(C/N, N)`` (black), and
   simulated gradient-descent runs (``M = 2000`` modes, ``lr = 0.5``, points with +-2 standard errors) against the
   exact gradient-descent theory on the same truncated spectrum;
b. the optimal width ``N*(C)`` and time ``t*(C)``, fitted exponents beside the predicted ``1/(1+alpha)`` and
   ``alpha/(1+alpha)`` (steps grow faster than parameters), and ``L*(C)`` against ``-(beta-1)/(1+alpha)``.

Writes ``compute_optimal.png``, ``.csv`` and ``.json`` (exponents, z-scores, runtime) into ``--out``.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rmt._validation import check_positive, check_positive_int  # noqa: E402
from rmt.theory import dynamics as D  # noqa: E402
from rmt.theory.eigen import Eigensystem  # noqa: E402

__all__ = ["ComputeOptimalConfig", "default_config", "make"]

@dataclass(frozen=True)
class ComputeOptimalConfig:
    """Settings of the figure (each is a flag of ``rmt figure compute-optimal``).

    Attributes:
        alpha, beta: the spectrum ``lambda_i = i^-alpha`` and target power ``v_i^2 = i^-beta``.
        max_compute: the largest compute ``C = N t`` of the frontier (from 10).
        compute_points: points of the compute grid.
        max_width: the largest width ``N`` searched (from 2).
        width_points: points of the width grid.
        sim_widths: widths ``N`` simulated (projected gradient descent on 2000 modes).
        reps, runs_per_rep: simulated repetitions and training runs per repetition.
    """

    alpha: float = 1.5
    beta: float = 1.3
    max_compute: float = 1e7
    compute_points: int = 21
    max_width: float = 2e4
    width_points: int = 37
    sim_widths: tuple[int, ...] = (20, 80)
    reps: int = 4
    runs_per_rep: int = 50

    def __post_init__(self) -> None:
        check_positive(self.alpha, "alpha")
        check_positive(self.beta, "beta")
        if not self.max_compute > 10:
            raise ValueError(f"max_compute must be > 10, got {self.max_compute}")
        check_positive_int(self.compute_points, "compute_points", minimum=3)
        if not self.max_width > 2:
            raise ValueError(f"max_width must be > 2, got {self.max_width}")
        check_positive_int(self.width_points, "width_points", minimum=3)
        for w in self.sim_widths:
            check_positive_int(w, "sim_widths")
        check_positive_int(self.reps, "reps", minimum=2)
        check_positive_int(self.runs_per_rep, "runs_per_rep")


def default_config(quick: bool = False) -> ComputeOptimalConfig:
    """The README's configuration, or ``--quick``'s (smaller grids, 2 repetitions of 20 runs)."""
    if not quick:
        return ComputeOptimalConfig()
    return ComputeOptimalConfig(max_compute=1e6, compute_points=13, max_width=5e3, width_points=25, reps=2,
                                runs_per_rep=20)


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0,
         config: ComputeOptimalConfig | None = None) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file."""
    cfg = config or default_config(quick)
    ALPHA, BETA = cfg.alpha, cfg.beta  # noqa: N806
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    Cs = np.geomspace(10, cfg.max_compute, cfg.compute_points)
    Ns = np.geomspace(2, cfg.max_width, cfg.width_points)
    fr = D.compute_optimal(ALPHA, BETA, Cs, Ns)
    rows: list[dict[str, Any]] = []
    zs: list[dict[str, Any]] = []
    fig, (ax_a, ax_b) = plt.subplots(1, 2, figsize=(13, 5.5))
    show = [j for j in range(0, Ns.size, max(1, Ns.size // 6))]
    for k, j in enumerate(show):
        ax_a.plot(Cs, fr.grid_loss[:, j], color=plt.cm.viridis(k / max(1, len(show) - 1)), lw=1,
                  label=f"N = {Ns[j]:.3g}")
    for i, C in enumerate(Cs):
        for j, N in enumerate(Ns):
            rows.append({"kind": "grid", "compute": C, "width": N, "time": C / N, "loss": fr.grid_loss[i, j],
                         "simulation": "", "stderr": ""})
        rows.append({"kind": "frontier", "compute": C, "width": fr.width[i], "time": fr.time[i],
                     "loss": fr.loss[i], "simulation": "", "stderr": ""})
    ax_a.plot(Cs, fr.loss, "k", lw=2.5, label="compute-optimal frontier")
    if mc:
        from rmt.montecarlo.dynamics import simulate_runs

        s = Eigensystem.power_law(ALPHA, BETA, 2000)
        lr = 0.5
        steps = np.array([0, 10, 100, 1000] if quick else [0, 10, 100, 1000, 4000])
        runs = (cfg.reps, cfg.runs_per_rep)
        for k, N in enumerate(cfg.sim_widths):
            sim = simulate_runs(*s.expanded(), "projected", steps, lr=lr, n=N, reps=runs[0], runs_per_rep=runs[1],
                                seed=seed + N)
            th = D.projected_gradient_descent(s, N, lr, steps)
            C = np.maximum(N * lr * steps, 1.0)
            ax_a.errorbar(C, sim.test_error, 2 * sim.test_stderr, fmt="o", ms=5, color=f"C{k + 1}",
                          label=f"simulated GD, N = {N} (M = 2000)")
            ax_a.plot(C, th.test_error, "x", color=f"C{k + 1}", ms=7)
            scale = np.sqrt(sim.test_stderr ** 2 + (3 / N * th.test_error) ** 2) + 1e-9 * th.test_error
            zs.append({"case": f"projected GD N={N}", "max_abs_z": float(np.max(np.abs(sim.test_error -
                                                                                      th.test_error) / scale)),
                       "allowance": 3 / N})
            for i in range(steps.size):
                rows.append({"kind": f"simulation N={N}", "compute": C[i], "width": N, "time": lr * steps[i],
                             "loss": th.test_error[i], "simulation": sim.test_error[i],
                             "stderr": sim.test_stderr[i]})
    ax_a.set(xscale="log", yscale="log", xlabel="compute C = N t", ylabel="excess test error",
             title=f"a. loss vs compute, lambda_i = i^-{ALPHA}, v_i^2 = i^-{BETA}\n"
             "(points: simulated GD on M = 2000 modes, x: its exact theory)")
    ax_a.legend(fontsize=7)
    ax_b.plot(Cs, fr.width, "C0o-", ms=3, label=f"N*(C): fitted {fr.fitted['width']:.3f}, predicted "
              f"{fr.predicted['width']:.3f}")
    ax_b.plot(Cs, fr.time, "C1s-", ms=3, label=f"t*(C): fitted {fr.fitted['time']:.3f}, predicted "
              f"{fr.predicted['time']:.3f}")
    ax_b.plot(Cs, fr.loss, "k^-", ms=3, label=f"L*(C): fitted {fr.fitted['loss']:.3f}, predicted "
              f"{fr.predicted['loss']:.3f}")
    ax_b.set(xscale="log", yscale="log", xlabel="compute C", title="b. compute-optimal width, time and loss")
    ax_b.legend(fontsize=8)
    fig.tight_layout()
    png, csv_path, js = out / "compute_optimal.png", out / "compute_optimal.csv", out / "compute_optimal.json"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["kind", "compute", "width", "time", "loss", "simulation", "stderr"])
        w.writeheader()
        w.writerows(rows)
    summary = {"figure": "compute-optimal", "alpha": ALPHA, "beta": BETA, "fitted": fr.fitted,
               "predicted": fr.predicted, "z_scores": zs, "mc": mc, "quick": quick, "seed": seed,
               "seconds": round(time.time() - t0, 2), "files": [str(png), str(csv_path), str(js)]}
    js.write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    import sys

    from rmt.figures.commands.figure import standalone

    sys.exit(standalone("compute-optimal"))
