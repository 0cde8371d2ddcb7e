r"""Figure ``scaling-laws``: eigenframework learning curves for power-law spectra, fitted against predicted exponents.

Panels (docs/models.md §6.5, §6.11; Bahri et al. arXiv:2102.06701):

a. data direction: KRR excess error ``E(n)`` (ridgeless, noise-free) for several ``(alpha, beta)``; dashed: the
   least-squares power law over the upper two decades; legend: fitted vs predicted ``min(beta - 1, 2 alpha)``;
b. width direction: RF with unlimited data, ``E(p)``; predicted ``min(beta - 1, alpha)``;
c. every fitted exponent against its prediction;
d, e. the four regimes of Bahri et al. for ``alpha = beta = 1.8`` (their ``a = 0.8``) and for ``alpha = 1.5``,
   ``beta = 3.5`` (where data and width exponents differ);
f. simulation check (``--no-mc`` skips it): KRR ``E(n)`` and RF ``E(p)`` at ``n = 1000`` on a truncated power law,
   theory lines against Monte Carlo points (+-2 standard errors).

Writes ``scaling_laws.png``, ``scaling_laws.csv`` (every curve, long format) and ``scaling_laws.json`` (fits,
predictions, z-scores, runtime) into ``--out``.
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
from rmt.theory.eigen import EigenProblem, Eigensystem, evaluate, krr, rf  # noqa: E402
from rmt.theory.eigen_scaling import bahri_regimes, data_scaling, predicted_exponents, width_scaling  # noqa: E402

__all__ = ["CASES", "ScalingLawsConfig", "default_config", "make"]

CASES: tuple[tuple[float, float], ...] = ((1.5, 2.0), (2.0, 3.0), (1.5, 3.5), (1.2, 4.0), (3.0, 2.0))
"""(alpha, beta) pairs: below, at and above the width crossover beta - 1 = alpha, and beta - 1 > 2 alpha."""

COLORS = plt.get_cmap("tab10").colors


@dataclass(frozen=True)
class ScalingLawsConfig:
    """Settings of the figure (the defaults draw the README's figure; the Bahri panels d, e keep their two cases).

    Attributes:
        alphas, betas: the ``(alpha, beta)`` cases of panels a-c, paired in order (``lambda_i = i^-alpha``,
            ``v_i^2 = i^-beta``; both > 1).
        size_range: range of ``n`` and ``p`` of the learning curves (log-spaced).
        points: points per learning curve.
        bahri_points: points per curve of the Bahri panels.
        mc_alpha, mc_beta: the spectrum of the simulation panel f.
        mc_modes: modes of its truncated power law.
        mc_ridge: sum-convention ridge of panel f.
        mc_trials: simulated datasets per KRR point (a third, at least 4, per RF point).
        mc_n: sample sizes simulated for KRR.
        mc_p: feature counts simulated for RF.
        mc_n_rf: sample size of the RF simulations.
    """

    alphas: tuple[float, ...] = tuple(a for a, _ in CASES)
    betas: tuple[float, ...] = tuple(b for _, b in CASES)
    size_range: tuple[float, float] = (10.0, 1e4)
    points: int = 41
    bahri_points: int = 25
    mc_alpha: float = 1.5
    mc_beta: float = 2.0
    mc_modes: int = 2000
    mc_ridge: float = 1e-6
    mc_trials: int = 30
    mc_n: tuple[int, ...] = (25, 50, 100, 200, 400)
    mc_p: tuple[int, ...] = (10, 20, 40, 80)
    mc_n_rf: int = 1000

    def __post_init__(self) -> None:
        if len(self.alphas) != len(self.betas) or not self.alphas:
            raise ValueError(f"alphas and betas must have the same (non-zero) length, got {len(self.alphas)} and "
                             f"{len(self.betas)}")
        for name in ("alphas", "betas", "mc_alpha", "mc_beta"):
            if not np.all(np.asarray(getattr(self, name), dtype=float) > 1):
                raise ValueError(f"{name} must be > 1, got {getattr(self, name)}")
        check_positive(self.size_range, "size_range")
        if len(self.size_range) != 2 or not self.size_range[0] < self.size_range[1]:
            raise ValueError(f"size_range must be two values lo < hi, got {self.size_range}")
        check_positive_int(self.points, "points", minimum=3)
        check_positive_int(self.bahri_points, "bahri_points", minimum=3)
        check_positive_int(self.mc_modes, "mc_modes")
        check_positive(self.mc_ridge, "mc_ridge")
        check_positive_int(self.mc_trials, "mc_trials", minimum=2)
        for name in ("mc_n", "mc_p"):
            for v in getattr(self, name):
                check_positive_int(v, name)
        check_positive_int(self.mc_n_rf, "mc_n_rf")

    @property
    def cases(self) -> tuple[tuple[float, float], ...]:
        return tuple(zip(self.alphas, self.betas))


def default_config(quick: bool = False) -> ScalingLawsConfig:
    """The README's configuration, or the coarser one of ``--quick``."""
    if not quick:
        return ScalingLawsConfig()
    return ScalingLawsConfig(points=21, bahri_points=13, mc_trials=12, mc_n=(25, 100, 400), mc_p=(10, 40))


def _label(a: float, b: float) -> str:
    return rf"$\alpha$={a:g}, $\beta$={b:g}"


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0,
         config: ScalingLawsConfig | None = None) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file (with the output paths)."""
    cfg = config or default_config(quick)
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"figure": "scaling-laws", "quick": quick, "mc": mc, "fits": [], "bahri": {}}
    sizes = np.geomspace(*cfg.size_range, cfg.points)

    plt.rcParams.update({"axes.titlesize": 10.5})
    fig, axes = plt.subplots(2, 3, figsize=(16.5, 10))
    (ax_d, ax_w, ax_s), (ax_b1, ax_b2, ax_mc) = axes

    # --- a, b: data and width directions -------------------------------------------------------------------------
    for i, (a, b) in enumerate(cfg.cases):
        c = COLORS[i % len(COLORS)]
        for ax, fit in ((ax_d, data_scaling(a, b, n=sizes)), (ax_w, width_scaling(a, b, p=sizes))):
            ax.loglog(fit.x, fit.y, color=c, lw=2,
                      label=f"{_label(a, b)}: fit {fit.exponent:.3f}, pred {fit.predicted:g}")
            xw = np.geomspace(*fit.window, 10)
            ax.loglog(xw, fit.fitted(xw) * 1.8, color=c, ls="--", lw=1)
            direction = "data" if ax is ax_d else "width"
            summary["fits"].append({"direction": direction, **fit.as_dict()})
            rows += [{"panel": direction, "series": _label(a, b), "x": x, "theory": y} for x, y in zip(fit.x, fit.y)]
    ax_d.set(xlabel="samples n", ylabel="excess test error",
             title="a. data direction: KRR, ridgeless, noise-free\n"
                   r"predicted exponent min($\beta-1$, $2\alpha$); dashed: fit (offset x1.8)")
    ax_w.set(xlabel="features p", ylabel="excess test error",
             title="b. width direction: RF with n = inf\n"
                   r"predicted exponent min($\beta-1$, $\alpha$); dashed: fit (offset x1.8)")
    for ax in (ax_d, ax_w):
        ax.legend(fontsize=8, loc="lower left")
        ax.grid(True, which="major", alpha=0.3)

    # --- c: fitted vs predicted --------------------------------------------------------------------------------
    for f in summary["fits"]:
        i = [k for k, ab in enumerate(cfg.cases) if ab == (f["alpha"], f["beta"])][0] % len(COLORS)
        ax_s.plot(f["predicted"], f["exponent"], "o" if f["direction"] == "data" else "s", color=COLORS[i], ms=8,
                  mfc="none" if f["direction"] == "width" else COLORS[i])
    lim = [0.8, 2.7]
    ax_s.plot(lim, lim, "k-", lw=0.8)
    ax_s.plot([], [], "ko", label="data direction (n)")
    ax_s.plot([], [], "ks", mfc="none", label="width direction (p)")
    ax_s.set(xlim=lim, ylim=lim, xlabel="predicted exponent", ylabel="fitted exponent (upper two decades)",
             title="c. fitted vs predicted exponents (colours as in a, b)\nthe width fit at "
                   r"$\beta-1=\alpha$ (orange square) has a log correction")
    ax_s.legend(fontsize=9, loc="upper left")
    ax_s.grid(True, alpha=0.3)

    # --- d, e: Bahri et al. four regimes -------------------------------------------------------------------------
    for ax, (a, b), tag in ((ax_b1, (1.8, 1.8), "d"), (ax_b2, (1.5, 3.5), "e")):
        reg = bahri_regimes(a, b, points=cfg.bahri_points)
        summary["bahri"][f"alpha={a},beta={b}"] = reg.as_dict()
        styles = {"resolution_data": ("C0", "-", "o"), "resolution_width": ("C1", "--", "s"),
                  "variance_data": ("C2", "-", "^"), "variance_width": ("C3", "--", "v")}
        for key, (col, ls, mk) in styles.items():
            fit = getattr(reg, key)
            ax.loglog(fit.x, fit.y, color=col, ls=ls, marker=mk, ms=4, markevery=3,
                      label=f"{fit.label}: fit {fit.exponent:.3f}, pred {fit.predicted:g}")
            rows += [{"panel": f"bahri {a},{b}", "series": key, "x": x, "theory": y} for x, y in zip(fit.x, fit.y)]
        ax.set(xlabel="n or p", ylabel="excess error (variance-limited: minus its limit)",
               title=f"{tag}. Bahri et al. four regimes, {_label(a, b)}\nvariance-limited: fixed p or n = 100, "
                     "ridge 1e-8")
        ax.legend(fontsize=7.5, loc="lower left" if tag == "d" else "upper right")
        ax.grid(True, alpha=0.3)
    ax_b1.text(0.97, 0.97, "resolution-limited n and p curves coincide\n(duality, " r"$\beta-1\leq\alpha$)"
               "\nvariance-limited n and p curves coincide\n(exact identity when noise-free and ridgeless)",
               transform=ax_b1.transAxes, ha="right", va="top", fontsize=8)
    ax_b2.text(0.97, 0.72, "resolution-limited exponents differ:\n" r"data $\min(\beta-1,2\alpha)$ = 2.5, width "
               r"$\min(\beta-1,\alpha)$ = 1.5", transform=ax_b2.transAxes, ha="right", va="top", fontsize=8)

    # --- f: simulation check -----------------------------------------------------------------------------------
    if mc:
        summary["mc"] = _mc_panel(ax_mc, rows, cfg=cfg, seed=seed)
    else:
        ax_mc.text(0.5, 0.5, "simulation skipped (--no-mc)", ha="center", va="center", transform=ax_mc.transAxes)
        ax_mc.set_axis_off()

    fig.suptitle("Eigenframework scaling laws for power-law spectra "
                 r"($\lambda_i=i^{-\alpha}$, $v_i^2=i^{-\beta}$; spectra effectively infinite: $10^4\times$ the "
                 "largest size, binned, with the tail)", fontsize=12)
    fig.tight_layout()
    png = out / "scaling_laws.png"
    fig.savefig(png, dpi=130)
    plt.close(fig)
    csv_path = out / "scaling_laws.csv"
    write_panel_csv(csv_path, rows)
    summary["runtime_s"] = round(time.time() - t0, 1)
    summary["files"] = [str(png), str(csv_path), str(out / "scaling_laws.json")]
    (out / "scaling_laws.json").write_text(json.dumps(summary, indent=1, default=float))
    return summary


def _mc_panel(ax, rows: list[dict[str, Any]], *, cfg: ScalingLawsConfig, seed: int) -> dict[str, Any]:
    from rmt.montecarlo.eigen import simulate_eigen

    a, b, M, ridge = cfg.mc_alpha, cfg.mc_beta, cfg.mc_modes, cfg.mc_ridge
    sys_ = Eigensystem.power_law(a, b, M)
    trials = cfg.mc_trials
    res: dict[str, Any] = {"alpha": a, "beta": b, "modes": M, "points": []}
    # KRR, data direction
    ns = np.array(cfg.mc_n)
    nn = np.geomspace(20, 500, 60)
    ax.loglog(nn, krr(sys_, nn, ridge).test_error, "C0-", label=f"KRR E(n), ridge {ridge:g} (theory, M = {M})")
    # RF, width direction at large n
    n_rf = cfg.mc_n_rf
    ps = np.array(cfg.mc_p)
    pp = np.geomspace(8, 100, 60)
    ax.loglog(pp, rf(sys_, n_rf, pp, ridge).test_error, "C1-", label=f"RF E(p), n = {n_rf}, ridge {ridge:g} (theory)")
    worst = 0.0
    for kind, xs in (("krr", ns), ("rf", ps)):
        for x in xs:
            prob = EigenProblem(sys_, n=float(x), ridge=ridge) if kind == "krr" else \
                EigenProblem(sys_, n=float(n_rf), p=float(x), ridge=ridge)
            sim = simulate_eigen(prob, trials=trials if kind == "krr" else max(trials // 3, 4), feature_draws=2,
                           seed=seed + int(x))
            th = evaluate(prob)
            z = sim.z_scores(th)["test_error"]
            worst = max(worst, abs(z))
            col = "C0" if kind == "krr" else "C1"
            ax.errorbar([x], [sim.values["test_error"]], yerr=[2 * sim.stderr["test_error"]], fmt="o", color=col,
                        mfc="white", ms=6, capsize=3)
            res["points"].append({"model": kind, "x": float(x), "theory": th["test_error"],
                                  "mc": sim.values["test_error"], "stderr": sim.stderr["test_error"], "z": z})
            rows.append({"panel": "mc", "series": kind, "x": float(x), "theory": th["test_error"],
                         "mc": sim.values["test_error"], "mc_stderr": sim.stderr["test_error"]})
    ax.plot([], [], "ko", mfc="white", label="Monte Carlo (+-2 s.e.)")
    pred = predicted_exponents(a, b)
    ax.set(xlabel="n (KRR) or p (RF)", ylabel="excess test error",
           title=f"f. simulation check, {_label(a, b)}, truncated at M = {M}\npredicted exponents: data "
                 f"{pred.data:g}, width {pred.features:g}; worst |z| = {worst:.2f}")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, alpha=0.3)
    res["worst_abs_z"] = worst
    return res


def write_panel_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """The numbers behind a panel figure: one row per point (``panel, series, x, theory, mc, mc_stderr``)."""
    keys = ["panel", "series", "x", "theory", "mc", "mc_stderr"]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in keys})


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("scaling-laws"))
