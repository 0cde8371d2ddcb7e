r"""Figure ``sgd-dynamics``: exact risk trajectories of gradient flow and SGD against simulated training runs.

Setting: Gaussian features with ``lambda_i = i^-1.3``, ``v_i^2 = i^-1.2``, ``M = 200`` modes, label noise 0.05
(rmt.theory.dynamics; simulation rmt.montecarlo.dynamics). Lines: theory; points: means over training runs with
+-2 standard errors.

a. online SGD (Bordelon & Pehlevan arXiv:2106.02713) at several learning rates and batch sizes;
b. multi-pass SGD on n = 100 samples (homogenized SGD, Paquette, Paquette, Adlam & Pennington arXiv:2206.07252) on
   the flatter spectrum ``lambda_i = i^-0.7``, ``M = 50`` (homogenized SGD's regime, docs/dynamics.md): training
   and test error, and full-batch gradient descent (infinite batch) for comparison;
c. gradient flow on n = 100 samples with label noise 0.5: test and train error against time, the early-stopping
   optimum, the ridgeless limit and the optimally tuned ridge, and the population flow;
d. online SGD at small learning rates against population gradient flow at ``t = lr x steps``.

Writes ``sgd_dynamics.png``, ``.csv`` (every theory and simulation value) and ``.json`` (z-scores, worst case,
early-stopping numbers, runtime) into ``--out``.
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

from rmt._validation import check_nonnegative, check_positive, check_positive_int  # noqa: E402
from rmt.theory import dynamics as D  # noqa: E402
from rmt.theory.eigen import Eigensystem, krr  # noqa: E402

__all__ = ["SgdDynamicsConfig", "default_config", "make"]

MODES_B = 50  # panel b


@dataclass(frozen=True)
class SgdDynamicsConfig:
    """Settings of the figure (each is a flag of ``rmt figure sgd-dynamics``).

    Attributes:
        alpha, beta: the spectrum ``lambda_i = i^-alpha`` and target power ``v_i^2 = i^-beta`` (panels a, c, d).
        modes: number of modes ``M``.
        noise: label-noise variance of panels a, b, d.
        n: training samples of panels b and c.
        noise_gf: label-noise variance of panel c (enough for early stopping to matter).
        learning_rates, batches: the online-SGD runs of panel a (paired).
        reps, runs_per_rep: simulated repetitions and training runs per repetition.
    """

    alpha: float = 1.3
    beta: float = 1.2
    modes: int = 200
    noise: float = 0.05
    n: int = 100
    noise_gf: float = 0.5
    learning_rates: tuple[float, ...] = (0.1, 0.4, 0.4, 1.2)
    batches: tuple[int, ...] = (1, 1, 8, 8)
    reps: int = 4
    runs_per_rep: int = 50

    def __post_init__(self) -> None:
        check_positive(self.alpha, "alpha")
        check_positive(self.beta, "beta")
        check_positive_int(self.modes, "modes")
        check_nonnegative(self.noise, "noise")
        check_positive_int(self.n, "n")
        check_nonnegative(self.noise_gf, "noise_gf")
        check_positive(self.learning_rates, "learning_rates")
        if len(self.batches) != len(self.learning_rates):
            raise ValueError(f"batches must pair with learning_rates ({len(self.learning_rates)} values), got "
                             f"{len(self.batches)}")
        for b in self.batches:
            check_positive_int(b, "batches")
        check_positive_int(self.reps, "reps", minimum=2)
        check_positive_int(self.runs_per_rep, "runs_per_rep")


def default_config(quick: bool = False) -> SgdDynamicsConfig:
    """The README's configuration, or ``--quick``'s (2 repetitions of 25 runs)."""
    return SgdDynamicsConfig(reps=2, runs_per_rep=25) if quick else SgdDynamicsConfig()


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0,
         config: SgdDynamicsConfig | None = None) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file."""
    cfg = config or default_config(quick)
    ALPHA, BETA, MODES, NOISE, N, NOISE_C = (cfg.alpha, cfg.beta, cfg.modes, cfg.noise, cfg.n,  # noqa: N806
                                              cfg.noise_gf)
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = Eigensystem.power_law(ALPHA, BETA, MODES)
    rows: list[dict[str, Any]] = []
    zs: list[dict[str, Any]] = []
    runs = (cfg.reps, cfg.runs_per_rep)

    def add(panel: str, curve: str, x, theory, sim=None, se=None) -> None:
        for i, xv in enumerate(np.asarray(x, float)):
            rows.append({"panel": panel, "curve": curve, "x": float(xv), "theory": float(theory[i]),
                         "simulation": "" if sim is None else float(sim[i]),
                         "stderr": "" if se is None else float(se[i])})

    def compare(label: str, th, sim, se, allowance: float) -> None:
        th, sim, se = map(np.asarray, (th, sim, se))
        scale = np.sqrt(se ** 2 + (allowance * th) ** 2)
        scale = np.where(scale > 1e-9 * np.abs(th), scale, 1e-9 * np.abs(th) + 1e-300)
        z = (sim - th) / scale
        zs.append({"case": label, "max_abs_z": float(np.max(np.abs(z))), "allowance": allowance})

    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    (ax_a, ax_b), (ax_c, ax_d) = axes

    # a. online SGD
    dense = np.unique(np.concatenate([[0], np.round(np.geomspace(1, 3000, 40))])).astype(int)
    sparse = np.array([0, 3, 10, 30, 100, 300, 1000, 3000])
    for i, (lr, B) in enumerate(zip(cfg.learning_rates, cfg.batches)):
        th = D.online_sgd(s, lr, dense, B, NOISE)
        color = f"C{i}"
        ax_a.plot(np.maximum(dense, 0.7), th.test_error, color=color, label=f"lr={lr:g}, B={B}")
        add("a", f"online lr={lr:g} B={B}", dense, th.test_error)
        if mc:
            from rmt.montecarlo.dynamics import simulate_runs

            sim = simulate_runs(*s.expanded(), "online-sgd", sparse, lr=lr, batch=B, noise=NOISE, reps=runs[0],
                                runs_per_rep=runs[1], seed=seed + i)
            tp = D.online_sgd(s, lr, sparse, B, NOISE)
            ax_a.errorbar(np.maximum(sparse, 0.7), sim.test_error, 2 * sim.test_stderr, fmt="o", ms=4, color=color)
            add("a", f"online lr={lr:g} B={B} (sim)", sparse, tp.test_error, sim.test_error, sim.test_stderr)
            compare(f"online-sgd lr={lr:g} B={B}", tp.test_error, sim.test_error, sim.test_stderr, 0.0)
    thr = D.online_sgd_threshold(s, 1)
    ax_a.set(xscale="log", yscale="log", xlabel="step (0 drawn at 0.7)", ylabel="excess test error",
             title=f"a. online SGD (fresh batch each step); stable for lr < {thr:.3g} at B = 1")
    ax_a.legend(fontsize=8)

    # b. multi-pass SGD, on a flatter spectrum (homogenized SGD needs many comparable directions)
    sb = Eigensystem(np.arange(1, MODES_B + 1) ** -0.7, np.arange(1, MODES_B + 1) ** -1.2)
    lr_b = 0.5 * 2 / sb.trace
    dense_b = np.unique(np.concatenate([[0], np.round(np.geomspace(1, 4000, 30))])).astype(int)
    sparse_b = np.array([0, 10, 50, 200, 800, 2000, 4000])
    sg = D.multipass_sgd(sb, N, lr_b, dense_b, 1, 0.0, NOISE)
    gd = D.gradient_descent(sb, N, lr_b, dense_b, 0.0, NOISE)
    x = np.maximum(dense_b, 0.7)
    ax_b.plot(x, sg.test_error, "C0", label="SGD test (theory)")
    ax_b.plot(x, sg.train_error, "C1", label="SGD train (theory)")
    ax_b.plot(x, gd.test_error, "C0--", lw=1, label="full-batch GD test")
    ax_b.plot(x, gd.train_error, "C1--", lw=1, label="full-batch GD train")
    add("b", "sgd test", dense_b, sg.test_error)
    add("b", "sgd train", dense_b, sg.train_error)
    add("b", "gd test", dense_b, gd.test_error)
    add("b", "gd train", dense_b, gd.train_error)
    if mc:
        from rmt.montecarlo.dynamics import simulate_runs

        sim = simulate_runs(*sb.expanded(), "sgd", sparse_b, lr=lr_b, n=N, batch=1, noise=NOISE, reps=runs[0],
                            runs_per_rep=runs[1], seed=seed + 10)
        tp = D.multipass_sgd(sb, N, lr_b, sparse_b, 1, 0.0, NOISE)
        xs = np.maximum(sparse_b, 0.7)
        ax_b.errorbar(xs, sim.test_error, 2 * sim.test_stderr, fmt="o", ms=4, color="C0")
        ax_b.errorbar(xs, sim.train_error, 2 * sim.train_stderr, fmt="s", ms=4, color="C1")
        add("b", "sgd test (sim)", sparse_b, tp.test_error, sim.test_error, sim.test_stderr)
        add("b", "sgd train (sim)", sparse_b, tp.train_error, sim.train_error, sim.train_stderr)
        compare("multi-pass sgd test", tp.test_error, sim.test_error, sim.test_stderr, 3 / N)
        compare("multi-pass sgd train", tp.train_error, sim.train_error, sim.train_stderr, 3 / N)
    ax_b.set(xscale="log", yscale="log", xlabel="step", ylabel="error",
             title=f"b. multi-pass SGD, n = {N}, M = {MODES_B}, lambda_i = i^-0.7, lr = {lr_b:.3g} "
             f"(kernel mass {sg.params['kernel_mass']:.2f})")
    ax_b.legend(fontsize=8)

    # c. gradient flow with early stopping
    tt = np.geomspace(0.05, 3000, 60)
    gf = D.gradient_flow(s, N, tt, 0.0, NOISE_C)
    pop = D.population_gradient_flow(s, tt)
    es = D.early_stopping(s, N, NOISE_C)
    ax_c.plot(tt, gf.test_error, "C0", label="test (theory)")
    ax_c.plot(tt, gf.train_error, "C1", label="train (theory)")
    ax_c.plot(tt, pop.test_error, "k:", lw=1, label="population flow (n = inf)")
    ax_c.axhline(float(krr(s, N, 0.0, NOISE_C).test_error), color="C3", ls="--", lw=1, label="ridgeless limit t = inf")
    ax_c.axhline(es.ridge_error, color="C2", ls="-.", lw=1, label=f"optimal ridge {es.ridge:.2g}")
    ax_c.plot([es.time], [es.test_error], "k*", ms=12, label=f"early stopping t* = {es.time:.3g}")
    add("c", "gf test", tt, gf.test_error)
    add("c", "gf train", tt, gf.train_error)
    add("c", "population gf", tt, pop.test_error)
    if mc:
        from rmt.montecarlo.dynamics import simulate_dynamics

        p = D.DynamicsProblem(s, "gf", times=(0.3, 3.0, 30.0, 300.0), n=N, noise=NOISE_C)
        sim = simulate_dynamics(p, reps=runs[0], runs_per_rep=runs[1], seed=seed + 20)
        tp = D.gradient_flow(s, N, sim.x, 0.0, NOISE_C)
        ax_c.errorbar(sim.x, sim.test_error, 2 * sim.test_stderr, fmt="o", ms=4, color="C0")
        ax_c.errorbar(sim.x, sim.train_error, 2 * sim.train_stderr, fmt="s", ms=4, color="C1")
        add("c", "gf test (sim, GD with small step)", sim.x, tp.test_error, sim.test_error, sim.test_stderr)
        add("c", "gf train (sim, GD with small step)", sim.x, tp.train_error, sim.train_error, sim.train_stderr)
        compare("gradient flow test (GD, small step)", tp.test_error, sim.test_error, sim.test_stderr, 3 / N + 0.005)
        compare("gradient flow train (GD, small step)", tp.train_error, sim.train_error, sim.train_stderr,
                3 / N + 0.005)
    ax_c.set(xscale="log", yscale="log", xlabel="time t", ylabel="error",
             title=f"c. gradient flow, n = {N}, noise {NOISE_C}: early stopping vs ridge")
    ax_c.legend(fontsize=8)

    # d. lr -> 0
    td = np.geomspace(0.1, 1000, 50)
    popd = D.population_gradient_flow(s, td)
    ax_d.plot(td, popd.test_error, "k", lw=2, label="population gradient flow")
    for i, lr in enumerate([0.4, 0.2, 0.05]):
        k = np.unique(np.round(td / lr)).astype(int)
        on = D.online_sgd(s, lr, k, 1, NOISE)
        ax_d.plot(k * lr, on.test_error, f"C{i}--", label=f"online SGD lr={lr:g}, B=1")
        add("d", f"online lr={lr:g} vs lr*steps", k * lr, on.test_error)
    add("d", "population gf", td, popd.test_error)
    ax_d.set(xscale="log", yscale="log", xlabel="t = lr x steps", ylabel="excess test error",
             title="d. online SGD -> gradient flow as lr -> 0")
    ax_d.legend(fontsize=8)

    fig.suptitle(f"Learning dynamics, lambda_i = i^-{ALPHA}, v_i^2 = i^-{BETA}, M = {MODES}, noise = {NOISE}")
    fig.tight_layout()
    png, csv_path, js = out / "sgd_dynamics.png", out / "sgd_dynamics.csv", out / "sgd_dynamics.json"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["panel", "curve", "x", "theory", "simulation", "stderr"])
        w.writeheader()
        w.writerows(rows)
    summary = {"figure": "sgd-dynamics", "mc": mc, "quick": quick, "seed": seed,
               "early_stopping": es.as_dict(), "online_threshold_B1": thr, "z_scores": zs,
               "worst": max(zs, key=lambda r: r["max_abs_z"]) if zs else None,
               "seconds": round(time.time() - t0, 2), "files": [str(png), str(csv_path), str(js)]}
    js.write_text(json.dumps(summary, indent=1))
    return summary


if __name__ == "__main__":
    import sys

    from rmt.figures.commands.figure import standalone

    sys.exit(standalone("sgd-dynamics"))
