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
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rmt.theory.eigen import EigenProblem, Eigensystem, evaluate, krr, rf  # noqa: E402
from rmt.theory.eigen_scaling import bahri_regimes, data_scaling, predicted_exponents, width_scaling  # noqa: E402

__all__ = ["CASES", "make"]

CASES: tuple[tuple[float, float], ...] = ((1.5, 2.0), (2.0, 3.0), (1.5, 3.5), (1.2, 4.0), (3.0, 2.0))
"""(alpha, beta) pairs: below, at and above the width crossover beta - 1 = alpha, and beta - 1 > 2 alpha."""

COLORS = plt.get_cmap("tab10").colors


def _label(a: float, b: float) -> str:
    return rf"$\alpha$={a:g}, $\beta$={b:g}"


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file (with the output paths)."""
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"figure": "scaling-laws", "quick": quick, "mc": mc, "fits": [], "bahri": {}}
    npts = 21 if quick else 41
    sizes = np.geomspace(10, 1e4, npts)

    plt.rcParams.update({"axes.titlesize": 10.5})
    fig, axes = plt.subplots(2, 3, figsize=(16.5, 10))
    (ax_d, ax_w, ax_s), (ax_b1, ax_b2, ax_mc) = axes

    # --- a, b: data and width directions -------------------------------------------------------------------------
    for i, (a, b) in enumerate(CASES):
        c = COLORS[i]
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
        i = [k for k, ab in enumerate(CASES) if ab == (f["alpha"], f["beta"])][0]
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
        reg = bahri_regimes(a, b, points=13 if quick else 25)
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
        summary["mc"] = _mc_panel(ax_mc, rows, quick=quick, seed=seed)
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


def _mc_panel(ax, rows: list[dict[str, Any]], *, quick: bool, seed: int) -> dict[str, Any]:
    from rmt.montecarlo.eigen import simulate_eigen

    a, b, M = 1.5, 2.0, 2000
    sys_ = Eigensystem.power_law(a, b, M)
    trials = 12 if quick else 30
    res: dict[str, Any] = {"alpha": a, "beta": b, "modes": M, "points": []}
    # KRR, data direction
    ns = np.array([25, 100, 400]) if quick else np.array([25, 50, 100, 200, 400])
    nn = np.geomspace(20, 500, 60)
    ax.loglog(nn, krr(sys_, nn, 1e-6).test_error, "C0-", label=f"KRR E(n), ridge 1e-6 (theory, M = {M})")
    # RF, width direction at large n
    n_rf = 1000
    ps = np.array([10, 40]) if quick else np.array([10, 20, 40, 80])
    pp = np.geomspace(8, 100, 60)
    ax.loglog(pp, rf(sys_, n_rf, pp, 1e-6).test_error, "C1-", label=f"RF E(p), n = {n_rf}, ridge 1e-6 (theory)")
    worst = 0.0
    for kind, xs in (("krr", ns), ("rf", ps)):
        for x in xs:
            prob = EigenProblem(sys_, n=float(x), ridge=1e-6) if kind == "krr" else \
                EigenProblem(sys_, n=float(n_rf), p=float(x), ridge=1e-6)
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
