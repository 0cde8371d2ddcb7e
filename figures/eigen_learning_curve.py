r"""Figure ``eigen-learning-curve``: eigenframework KRR and random-feature ridge regression against simulation.

Setting (docs/models.md §6.1, §6.6): ``lambda_i = i^-1.5``, ``v_i^2 = i^-1.8``,
``M = 1000`` modes, label noise ``0.1``; Gaussian features with this covariance (montecarlo.eigen). Lines: theory
(theory.eigen); points: Monte Carlo means with +-2 standard errors.

a. KRR test and train error against ``n`` for two ridges;
b. RF test error against the number of features ``p`` at ``n = 100`` (double descent at ``p = n`` for the small
   ridge), with the KRR limit ``p -> inf``;
c. RF decomposition at ``n = 100``, ridge ``1e-3``: bias of the mean predictor, variance, the infinite-ensemble error
   and the variance over feature draws;
d. RF test error against ``n`` at ``p = 100`` (sample-wise double descent).

Writes ``eigen_learning_curve.png``, ``.csv`` (every theory and simulation value) and ``.json`` (z-scores, worst
case, runtime) into ``--out``.
"""

from __future__ import annotations

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
from rmt.figures.scaling_laws import write_panel_csv  # noqa: E402
from rmt.theory.eigen import EigenProblem, Eigensystem, evaluate, finite_size_allowance, krr, rf  # noqa: E402

__all__ = ["EigenLearningCurveConfig", "default_config", "make"]

ALPHA, BETA, MODES, NOISE = 1.5, 1.8, 1000, 0.1
RIDGES = (1e-3, 1e-1)


@dataclass(frozen=True)
class EigenLearningCurveConfig:
    """Settings of the figure (the defaults draw the README's figure).

    Attributes:
        alpha, beta: the spectrum ``lambda_i = i^-alpha`` and target ``v_i^2 = i^-beta`` (both > 1).
        modes: number of modes ``M`` (the simulation's dimension).
        noise: label-noise variance.
        ridges: sum-convention ridges (one colour each; panel c uses the first).
        n_rf: sample size of the random-feature panels b, c.
        p_rf: feature count of the random-feature panel d.
        trials: simulated datasets per KRR point.
        datasets: simulated datasets per RF point.
        feature_draws: feature draws per dataset (RF).
        n_sim: sample sizes simulated for KRR (panel a).
        p_sim: feature counts simulated for RF (panels b, c).
        n_sim_rf: sample sizes simulated for RF (panel d).
    """

    alpha: float = ALPHA
    beta: float = BETA
    modes: int = MODES
    noise: float = NOISE
    ridges: tuple[float, ...] = RIDGES
    n_rf: int = 100
    p_rf: int = 100
    trials: int = 40
    datasets: int = 24
    feature_draws: int = 3
    n_sim: tuple[int, ...] = (20, 50, 100, 200, 500)
    p_sim: tuple[int, ...] = (20, 60, 100, 150, 400, 1500)
    n_sim_rf: tuple[int, ...] = (30, 60, 100, 300, 1000)

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            if not getattr(self, name) > 1:
                raise ValueError(f"{name} must be > 1, got {getattr(self, name)}")
        check_positive_int(self.modes, "modes")
        check_nonnegative(self.noise, "noise")
        check_nonnegative(self.ridges, "ridges")
        if not self.ridges:
            raise ValueError("ridges must not be empty")
        for name in ("n_rf", "p_rf", "trials", "datasets", "feature_draws"):
            check_positive_int(getattr(self, name), name, minimum=2 if name != "feature_draws" else 1)
        for name in ("n_sim", "p_sim", "n_sim_rf"):
            check_positive(getattr(self, name), name)


def default_config(quick: bool = False) -> EigenLearningCurveConfig:
    """The README's configuration, or the smaller simulation of ``--quick``."""
    if not quick:
        return EigenLearningCurveConfig()
    return EigenLearningCurveConfig(trials=12, datasets=8, feature_draws=2, n_sim=(20, 100, 500), p_sim=(30, 100, 400),
                                    n_sim_rf=(40, 100, 400))


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0,
         config: EigenLearningCurveConfig | None = None) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file."""
    cfg = config or default_config(quick)
    NOISE, MODES, RIDGES = cfg.noise, cfg.modes, cfg.ridges  # noqa: N806 (the module defaults, overridable)
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sys_ = Eigensystem.power_law(cfg.alpha, cfg.beta, MODES)
    rows: list[dict[str, Any]] = []
    zs: list[dict[str, Any]] = []
    plt.rcParams.update({"axes.titlesize": 10.5})
    fig, axes = plt.subplots(2, 2, figsize=(13, 10))
    (ax_a, ax_b), (ax_c, ax_d) = axes
    trials = cfg.trials
    datasets, draws = cfg.datasets, cfg.feature_draws

    def sim(prob: EigenProblem):
        from rmt.montecarlo.eigen import simulate_eigen

        s = simulate_eigen(prob, trials=trials if prob.p is None else datasets, feature_draws=draws,
                     seed=seed + int(prob.n) + 7 * int(prob.p or 0))
        th = evaluate(prob)
        a = finite_size_allowance(prob)
        z = s.z_scores(th, allowance=a)
        zraw = s.z_scores(th)
        for k, v in z.items():
            zs.append({"model": prob.model, "n": prob.n, "p": prob.p, "ridge": prob.ridge, "key": k,
                       "theory": th[k], "mc": s.values[k], "stderr": s.stderr[k], "z": v, "z_raw": zraw[k],
                       "allowance": a})
        return s

    # --- a: KRR vs n -------------------------------------------------------------------------------------------
    n_line = np.geomspace(10, 1000, 120)
    n_mc = list(cfg.n_sim)
    for i, r in enumerate(RIDGES):
        res = krr(sys_, n_line, r, NOISE)
        c = f"C{i}"
        ax_a.loglog(n_line, res.test_error, c, lw=2, label=f"test, ridge {r:g}")
        ax_a.loglog(n_line, res.train_error, c, ls="--", lw=1.3, label=f"train, ridge {r:g}")
        rows += [{"panel": "a", "series": f"krr test ridge={r:g}", "x": x, "theory": y}
                 for x, y in zip(n_line, res.test_error)]
        if mc:
            for n in n_mc:
                s = sim(EigenProblem(sys_, n=n, ridge=r, noise=NOISE))
                for key, mk in (("test_error", "o"), ("train_error", "s")):
                    ax_a.errorbar([n], [s.values[key]], yerr=[2 * s.stderr[key]], fmt=mk, color=c, mfc="white",
                                  ms=6, capsize=3)
                    rows.append({"panel": "a", "series": f"krr {key} ridge={r:g}", "x": n,
                                 "theory": evaluate(EigenProblem(sys_, n=n, ridge=r, noise=NOISE))[key],
                                 "mc": s.values[key], "mc_stderr": s.stderr[key]})
    ax_a.set(xlabel="samples n", ylabel="error (excess test; train with noisy labels)",
             title="a. KRR learning curves (lines: theory; o test, s train: simulation)\n"
                   f"the small-ridge curve peaks at n = M = {MODES} (finite rank)")
    ax_a.legend(fontsize=8, loc="lower left")
    ax_a.grid(True, alpha=0.3)

    # --- b, c: RF vs p at n = 100 --------------------------------------------------------------------------------
    n0 = cfg.n_rf
    p_line = np.unique(np.concatenate([np.geomspace(5, 3000, 200), [n0 - 1e-6, n0 + 1e-6]]))
    p_mc = list(cfg.p_sim)
    rf_sims: dict[tuple[float, float], Any] = {}
    for i, r in enumerate(RIDGES):
        res = rf(sys_, n0, p_line, r, NOISE)
        c = f"C{i}"
        ax_b.loglog(p_line, res.test_error, c, lw=2, label=f"RF, ridge {r:g}")
        ax_b.axhline(krr(sys_, n0, r, NOISE).test_error, color=c, ls=":", lw=1.2, label=f"KRR (p = inf), ridge {r:g}")
        rows += [{"panel": "b", "series": f"rf test ridge={r:g}", "x": x, "theory": y}
                 for x, y in zip(p_line, res.test_error)]
        if mc:
            for p in p_mc:
                s = sim(EigenProblem(sys_, n=n0, p=p, ridge=r, noise=NOISE))
                rf_sims[(p, r)] = s
                ax_b.errorbar([p], [s.values["test_error"]], yerr=[2 * s.stderr["test_error"]], fmt="o", color=c,
                              mfc="white", ms=6, capsize=3)
                rows.append({"panel": "b", "series": f"rf test ridge={r:g}", "x": p,
                             "theory": float(rf(sys_, n0, p, r, NOISE).test_error), "mc": s.values["test_error"],
                             "mc_stderr": s.stderr["test_error"]})
    ax_b.axvline(n0, color="grey", lw=0.8)
    ax_b.set(xlabel="features p", ylabel="excess test error",
             title=f"b. random features at n = {n0}: double descent at p = n (small ridge)")
    ax_b.legend(fontsize=8, loc="upper right")
    ax_b.grid(True, alpha=0.3)

    r = RIDGES[0]
    res = rf(sys_, n0, p_line, r, NOISE)
    parts = {"bias": ("C0", res.bias), "variance": ("C1", res.variance),
             "ensemble_limit_error": ("C2", res.ensemble_limit_mse - NOISE),
             "feature_variance": ("C3", res.feature_variance)}
    labels = {"bias": "bias (mean predictor)", "variance": "variance", "ensemble_limit_error":
              "infinite ensemble over features", "feature_variance": "variance over feature draws"}
    for key, (c, y) in parts.items():
        ax_c.loglog(p_line, y, c, lw=2, label=labels[key])
        rows += [{"panel": "c", "series": key, "x": x, "theory": v} for x, v in zip(p_line, y)]
        if mc:
            for p in p_mc:
                s = rf_sims[(p, r)]
                ax_c.errorbar([p], [s.values[key]], yerr=[2 * s.stderr[key]], fmt="o", color=c, mfc="white", ms=5,
                              capsize=3)
    ax_c.axvline(n0, color="grey", lw=0.8)
    ax_c.set(xlabel="features p", ylabel="error component", ylim=(1e-3, None),
             title=f"c. RF decomposition at n = {n0}, ridge {r:g}: test = bias + variance\n"
                   "= infinite ensemble + feature variance")
    ax_c.legend(fontsize=8, loc="upper right")
    ax_c.grid(True, alpha=0.3)

    # --- d: RF vs n at p = 100 -----------------------------------------------------------------------------------
    p0 = cfg.p_rf
    n_line2 = np.unique(np.concatenate([np.geomspace(10, 2000, 200), [p0 - 1e-6, p0 + 1e-6]]))
    n_mc2 = list(cfg.n_sim_rf)
    for i, r in enumerate(RIDGES):
        c = f"C{i}"
        ax_d.loglog(n_line2, rf(sys_, n_line2, p0, r, NOISE).test_error, c, lw=2, label=f"RF, ridge {r:g}")
        if mc:
            for n in n_mc2:
                s = rf_sims.get((n, r)) if n == n0 and p0 == n0 else None
                s = s or sim(EigenProblem(sys_, n=n, p=p0, ridge=r, noise=NOISE))
                ax_d.errorbar([n], [s.values["test_error"]], yerr=[2 * s.stderr["test_error"]], fmt="o", color=c,
                              mfc="white", ms=6, capsize=3)
                rows.append({"panel": "d", "series": f"rf test ridge={r:g}", "x": n,
                             "theory": float(rf(sys_, n, p0, r, NOISE).test_error), "mc": s.values["test_error"],
                             "mc_stderr": s.stderr["test_error"]})
    ax_d.axvline(p0, color="grey", lw=0.8)
    ax_d.set(xlabel="samples n", ylabel="excess test error",
             title=f"d. random features with p = {p0}: sample-wise double descent at n = p")
    ax_d.legend(fontsize=8, loc="upper right")
    ax_d.grid(True, alpha=0.3)

    worst = max(zs, key=lambda d: abs(d["z"])) if zs else None
    worst_raw = max(zs, key=lambda d: abs(d["z_raw"])) if zs else None
    head = (rf"Eigenframework vs simulation: $\lambda_i=i^{{-{cfg.alpha:g}}}$, $v_i^2=i^{{-{cfg.beta:g}}}$, "
            f"M = {MODES}, noise {NOISE}; lines: theory, points: Monte Carlo +-2 s.e.")
    if worst:
        where = f"{worst_raw['model']} n={worst_raw['n']:g}" + (f" p={worst_raw['p']:g}" if worst_raw["p"] else "")
        head += (f"\nworst |z| = {abs(worst['z']):.2f} over {len(zs)} estimates, z = (sim - theory) / "
                 "sqrt(s.e.^2 + (a theory)^2), finite-size allowance a = 3/min(n,p) (8/min(n,p) at an interpolation "
                 f"peak)\nwithout the allowance: worst |z| = {abs(worst_raw['z_raw']):.2f} ({worst_raw['key']}, "
                 f"{where}); the kappa-hat estimator has an O(1/n) bias")
    fig.suptitle(head, fontsize=11)
    fig.tight_layout()
    png = out / "eigen_learning_curve.png"
    fig.savefig(png, dpi=130)
    plt.close(fig)
    csv_path = out / "eigen_learning_curve.csv"
    write_panel_csv(csv_path, rows)
    summary = {"figure": "eigen-learning-curve", "quick": quick, "mc": mc, "z_scores": zs, "worst": worst,
               "worst_without_allowance": worst_raw,
               "runtime_s": round(time.time() - t0, 1),
               "files": [str(png), str(csv_path), str(out / "eigen_learning_curve.json")]}
    (out / "eigen_learning_curve.json").write_text(json.dumps(summary, indent=1, default=float))
    return summary


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("eigen-learning-curve"))
