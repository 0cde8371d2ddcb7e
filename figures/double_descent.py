r"""Double descent of random-feature ridge regression and its fine-grained anatomy.

Three panels, all against the width ratio ``n1/m`` (ReLU features, ``m = 2 n0``, label noise ``0.25``, signal 1):

(a) test error for several ridges, exact asymptotics (:func:`theory.random_features.rf_theory`, lines; the ridgeless
    curve diverges at ``n1 = m``) with the optimally tuned ridge (:func:`theory.random_features.optimal_ridge`,
    dashed) and Monte Carlo estimates (:func:`montecarlo.random_features.simulate_rf`, points with one standard error);
(b) the fine-grained decomposition at a small ridge, stacked: bias, ``V_P``, ``V_X``, ``V_PX``, ``V_Xeps``,
    ``V_PXeps`` (Adlam & Pennington 2020): the peak is the ``P x X`` interaction (``V_PX`` and ``V_PXeps``);
(c) averaging removes the peak: ensembles over ``k`` initialisations and bagging over training sets
    (docs/models.md §3.11), with Monte Carlo estimates of the infinite ensemble and of infinite bagging from the same simulations (unbiased
    combinations of the estimated terms, :meth:`montecarlo.results.SimulationResult.ensemble`).

Writes ``double_descent.png`` and ``double_descent.csv`` (every plotted number: ``source`` theory or mc, ``panel``,
``series``, ``ridge``, ``k``, ``n1_over_m``, ``quantity``, ``value``, ``stderr``) into the output directory.

Every field of :class:`DoubleDescentConfig` is a flag of ``rmt figure double-descent`` (for example
``--activation tanh --phi 1 --ridge 1e-3,1e-2 --noise 0.5 --n0 200``); the defaults draw the README's figure.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.activations import get_activation
from rmt.problem import Problem
from rmt.theory.random_features import FINE_GRAINED_KEYS, optimal_ridge, rf_theory

__all__ = ["DoubleDescentConfig", "default_config", "make"]


@dataclass(frozen=True)
class DoubleDescentConfig:
    """Settings of the figure (the defaults are the README's; ``quick()`` is a smaller simulation).

    Attributes:
        activation: activation of the random features.
        phi: ``n0/m``, fixed along the width sweep.
        noise: training-label noise variance.
        signal: signal power ``|beta|^2 / n0``.
        ridges: ridges of the theory curves in panel (a).
        decomposition_ridge: ridge of the fine-grained decomposition and the ensembles (panels b, c).
        width_range: range of ``n1/m`` of the theory curves.
        theory_points: points of the theory curves (log-spaced).
        ensemble_sizes: ensemble and bagging sizes ``k`` of panel (c) (``inf`` allowed).
        n0: input dimension of the simulation (``m = n0/phi``, ``n1 = width * m``).
        mc_widths: widths ``n1/m`` simulated.
        mc_ridges: ridges simulated.
        trials: crossed design of the simulation: draws of ``P``, ``X``, ``eps``.
        reps: independent repetitions (standard errors).
        n_test: test points per repetition.
        seed: seed of the simulation.
    """

    activation: str = "relu"
    phi: float = 0.5  # n0/m
    noise: float = 0.25
    signal: float = 1.0
    ridges: tuple[float, ...] = (0.0, 1e-3, 1e-2, 1e-1)
    decomposition_ridge: float = 1e-3
    width_range: tuple[float, float] = (0.1, 10.0)
    theory_points: int = 401
    ensemble_sizes: tuple[float, ...] = (1, 2, 10, math.inf)
    # Monte Carlo
    n0: int = 100
    mc_widths: tuple[float, ...] = (0.2, 0.5, 0.8, 1.0, 1.25, 2.0, 5.0)
    mc_ridges: tuple[float, ...] = (1e-3, 1e-1)
    trials: tuple[int, int, int] = (3, 3, 2)
    reps: int = 8
    n_test: int = 400
    seed: int = 0

    def __post_init__(self) -> None:
        get_activation(self.activation)
        check_positive(self.phi, "phi")
        check_nonnegative(self.noise, "noise")
        check_nonnegative(self.signal, "signal")
        check_nonnegative(np.asarray(self.ridges, dtype=float), "ridges")
        check_nonnegative(self.decomposition_ridge, "decomposition_ridge")
        check_positive(np.asarray(self.width_range, dtype=float), "width_range")
        if len(self.width_range) != 2 or not self.width_range[0] < self.width_range[1]:
            raise ValueError(f"width_range must be two values lo < hi, got {self.width_range}")
        check_positive_int(self.theory_points, "theory_points", minimum=2)
        check_positive(np.asarray(self.ensemble_sizes, dtype=float), "ensemble_sizes", allow_inf=True)
        check_positive_int(self.n0, "n0")
        check_positive(np.asarray(self.mc_widths, dtype=float), "mc_widths")
        check_nonnegative(np.asarray(self.mc_ridges, dtype=float), "mc_ridges")
        if len(self.trials) != 3:
            raise ValueError(f"trials must be three integers P,X,E, got {self.trials}")
        for t in self.trials:
            check_positive_int(t, "trials")
        check_positive_int(self.reps, "reps", minimum=2)
        check_positive_int(self.n_test, "n_test")
        check_positive_int(self.seed, "seed", minimum=0)

    @classmethod
    def quick(cls) -> "DoubleDescentConfig":
        return cls(n0=60, mc_widths=(0.25, 0.8, 1.0, 1.25, 4.0), reps=3, theory_points=201, n_test=300)


def default_config(quick: bool = False) -> DoubleDescentConfig:
    """The README's configuration, or the smaller simulation of ``--quick``."""
    return DoubleDescentConfig.quick() if quick else DoubleDescentConfig()


@dataclass
class _Rows:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, source: str, panel: str, series: str, ridge: float, k: float, width: Any, quantity: str,
            value: Any, stderr: Any = None) -> None:
        width, value = np.atleast_1d(width), np.atleast_1d(value)
        se = np.full(value.shape, np.nan) if stderr is None else np.atleast_1d(stderr)
        for w, v, s in zip(np.broadcast_to(width, value.shape), value, se):
            self.rows.append({"source": source, "panel": panel, "series": series, "ridge": ridge, "k": k,
                              "n1_over_m": float(w), "quantity": quantity, "value": float(v),
                              "stderr": "" if np.isnan(s) else float(s)})


def _problem(cfg: DoubleDescentConfig, widths: Any, ridge: Any, n0: float = 1.0) -> Problem:
    widths = np.asarray(widths, dtype=float)
    return Problem.from_ratios(cfg.phi, cfg.phi / widths, ridge=ridge, activation=cfg.activation, noise=cfg.noise,
                               signal=cfg.signal, n0=n0)


def _simulate(cfg: DoubleDescentConfig, log: Callable[[str], None]) -> dict[tuple[float, float], Any]:
    """Monte Carlo at the configured widths and ridges (integer sizes: m = n0/phi, n1 = width * m), keyed by
    (ridge, n1/m)."""
    from rmt.montecarlo.random_features import simulate_rf

    m = int(round(cfg.n0 / cfg.phi))
    out = {}
    for ridge in cfg.mc_ridges:
        for w in cfg.mc_widths:
            n1 = max(1, int(round(w * m)))
            p = Problem(n0=cfg.n0, n1=n1, m=m, ridge=ridge, activation=cfg.activation, noise=cfg.noise,
                        signal=cfg.signal)
            t = time.perf_counter()
            out[(ridge, n1 / m)] = simulate_rf(p, trials=cfg.trials, reps=cfg.reps, seed=cfg.seed,
                                               n_test=cfg.n_test, taus=False)
            log(f"  simulated n0={cfg.n0} n1={n1} m={m} ridge={ridge:g}: {time.perf_counter() - t:.1f} s")
    return out


def make(out_dir: str | os.PathLike = "out", *, mc: bool = True, quick: bool = False, seed: int | None = None,
         config: DoubleDescentConfig | None = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute, draw and write the figure; returns ``{"png": path, "csv": path, "files": [png, csv]}``.

    ``seed`` overrides the configuration's simulation seed; ``log`` receives progress lines (default: stderr).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    cfg = config or (DoubleDescentConfig.quick() if quick else DoubleDescentConfig())
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=seed)
    if log is None:
        log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    os.makedirs(out_dir, exist_ok=True)
    rows = _Rows()
    widths = np.geomspace(*cfg.width_range, cfg.theory_points)
    widths = np.unique(np.concatenate([widths, [1.0]]))
    t0 = time.perf_counter()
    sims = _simulate(cfg, log) if mc else {}
    t_mc = time.perf_counter() - t0

    fig, axes = plt.subplots(1, 3, figsize=(16.5, 5.4), constrained_layout=False)
    fig.subplots_adjust(left=0.05, right=0.99, top=0.88, bottom=0.27, wspace=0.24)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(cfg.ridges)))
    ridge_color = {r: c for r, c in zip(cfg.ridges, colors)}

    # (a) test error for several ridges ----------------------------------------------------------------------
    ax = axes[0]
    for ridge in cfg.ridges:
        r = rf_theory(_problem(cfg, widths, ridge))
        err = np.asarray(r.test_error)
        label = "ridgeless (exact limit)" if ridge == 0 else f"ridge $\\gamma$ = {ridge:g}"
        ax.plot(widths, np.where(np.isfinite(err), err, np.nan), color=ridge_color[ridge], lw=2, label=label)
        rows.add("theory", "a", "test_error", ridge, 1, widths, "test_error", err)
    opt = optimal_ridge(_problem(cfg, widths, 0.0))
    ax.plot(widths, opt.test_error, color="k", ls="--", lw=1.5, label="optimal ridge")
    rows.add("theory", "a", "optimal_ridge", math.nan, 1, widths, "test_error", opt.test_error)
    rows.add("theory", "a", "optimal_ridge", math.nan, 1, widths, "ridge", opt.ridge)
    for (ridge, w), s in sims.items():
        ax.errorbar(w, s.test_error, yerr=s.stderr["test_error"], fmt="o", ms=6, mfc="white", mew=1.6,
                    color=ridge_color.get(ridge, "C3"), capsize=3, zorder=5)
        rows.add("mc", "a", "test_error", ridge, 1, w, "test_error", s.test_error, s.stderr["test_error"])
    if sims:
        ax.plot([], [], "o", mfc="white", mec="0.3", mew=1.6, label=f"Monte Carlo ($n_0$ = {cfg.n0}), $\\pm$1 s.e.")
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.text(1.06, 22, "$n_1 = m$", fontsize=9, color="0.35", va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(0.08, 30)
    ax.set_xlim(*cfg.width_range)
    ax.set_xlabel("width  $n_1/m$  (features per training sample)")
    ax.set_ylabel("excess test error")
    ax.set_title("(a) double descent: test error vs width", loc="left", fontsize=11)
    ax.legend(fontsize=8.5, loc="lower left", framealpha=0.9)

    # (b) stacked fine-grained decomposition -----------------------------------------------------------------
    ax = axes[1]
    rd = cfg.decomposition_ridge
    r = rf_theory(_problem(cfg, widths, rd))
    fg = r.fine_grained
    layers = [("bias", r.bias, "#4c72b0"), ("$V_P$", fg["P"], "#55a868"), ("$V_X$", fg["X"], "#c4ad66"),
              ("$V_{PX}$", fg["PX"], "#c44e52"), ("$V_{X\\varepsilon}$", fg["Xeps"], "#8172b2"),
              ("$V_{PX\\varepsilon}$", fg["PXeps"], "#dd8452")]
    ax.stackplot(widths, *[np.asarray(v) for _, v, _ in layers], labels=[n for n, _, _ in layers],
                 colors=[c for _, _, c in layers], alpha=0.9, lw=0)
    ax.plot(widths, r.test_error, color="k", lw=1.2, label="test error (sum)")
    for key, v in (("bias", r.bias), *((f"V_{k}", fg[k]) for k in FINE_GRAINED_KEYS)):
        rows.add("theory", "b", "decomposition", rd, 1, widths, key, v)
    for (ridge, w), s in sims.items():
        if ridge != rd:
            continue
        ax.errorbar(w, s.test_error, yerr=s.stderr["test_error"], fmt="o", ms=5, mfc="white", mec="k", ecolor="k",
                    capsize=2, zorder=5)
        for k in FINE_GRAINED_KEYS:
            rows.add("mc", "b", "decomposition", ridge, 1, w, f"V_{k}", s.fine_grained[k],
                     s.stderr["fine_grained"][k])
        rows.add("mc", "b", "decomposition", ridge, 1, w, "bias", s.bias, s.stderr["bias"])
    ymax = 1.15 * float(np.max(r.test_error))
    ax.set_ylim(0, ymax)
    ax.set_xscale("log")
    ax.set_xlim(*cfg.width_range)
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("width  $n_1/m$")
    ax.set_ylabel("contribution to the test error")
    ax.set_title(f"(b) fine-grained decomposition ($\\gamma$ = {rd:g})", loc="left", fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], fontsize=8.5, loc="upper right", framealpha=0.9)
    ax.annotate("P$\\times$X interaction:\nthe peak", xy=(1.0, 0.8 * ymax), xytext=(0.13, 0.72 * ymax),
                fontsize=9, arrowprops=dict(arrowstyle="->", color="0.2"))

    # (c) ensembles and bagging -------------------------------------------------------------------------------
    ax = axes[2]
    ens_colors = plt.get_cmap("plasma")(np.linspace(0.0, 0.75, len(cfg.ensemble_sizes)))
    for k, c in zip(cfg.ensemble_sizes, ens_colors):
        e = r.ensemble(k).test_error
        size = "$\\infty$" if math.isinf(k) else str(int(k))
        lab = "single model" if k == 1 else f"ensemble of {size} initialisations"
        ax.plot(widths, e, color=c, lw=2, label=lab)
        rows.add("theory", "c", "ensemble", rd, k, widths, "test_error", e)
    bag = r.bagging(math.inf).test_error
    ax.plot(widths, bag, color="#2a9d8f", lw=2, ls="-.", label="bagging over $\\infty$ training sets")
    rows.add("theory", "c", "bagging", rd, math.inf, widths, "test_error", bag)
    for (ridge, w), s in sims.items():
        if ridge != rd:
            continue
        e, se = s.ensemble(math.inf, over="P")
        ax.errorbar(w, e, yerr=se, fmt="s", ms=5, mfc="white", mew=1.5, color=ens_colors[-1], capsize=2, zorder=5)
        rows.add("mc", "c", "ensemble", ridge, math.inf, w, "test_error", e, se)
        b, bse = s.ensemble(math.inf, over=("X", "eps"))
        ax.errorbar(w, b, yerr=bse, fmt="D", ms=5, mfc="white", mew=1.5, color="#2a9d8f", capsize=2, zorder=5)
        rows.add("mc", "c", "bagging", ridge, math.inf, w, "test_error", b, bse)
        ax.errorbar(w, s.test_error, yerr=s.stderr["test_error"], fmt="o", ms=5, mfc="white", mew=1.5,
                    color=ens_colors[0], capsize=2, zorder=5)
    if sims:
        ax.plot([], [], "o", mfc="white", mec="0.3", mew=1.5, label="Monte Carlo (same runs as (b))")
    ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*cfg.width_range)
    ax.set_ylim(0.04, 30)
    ax.set_xlabel("width  $n_1/m$")
    ax.set_ylabel("excess test error")
    ax.set_title(f"(c) averaging removes the peak ($\\gamma$ = {rd:g})", loc="left", fontsize=11)
    ax.legend(fontsize=8.5, loc="upper right", framealpha=0.9)

    for ax in axes:
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    m = int(round(cfg.n0 / cfg.phi))
    designs = sorted({tuple(s.trials) for s in sims.values()}, reverse=True)
    design_text = " or ".join("$\\times$".join(str(k) for k in d) for d in designs)
    mc_text = (f"Points: Monte Carlo at $n_0$ = {cfg.n0}, $m$ = {m}, $n_1$ = width $\\times$ m; mean $\\pm$ 1 standard "
               f"error over {cfg.reps} repetitions of a {design_text} crossed design (W $\\times$ X $\\times$ "
               f"$\\varepsilon$), {cfg.n_test} test points; unbiased ANOVA estimators of the terms.") if sims else \
        "Monte Carlo points omitted (--no-mc)."
    caption = (f"Random-feature ridge regression $\\hat y(x) = Y(K+\\gamma I)^{{-1}}F^\\top f(x)/n_1$, "
               f"$f(x) = \\sigma(Wx/\\sqrt{{n_0}})$, $\\sigma$ = centred {cfg.activation}, Gaussian inputs, linear "
               f"teacher with $s_\\beta^2$ = {cfg.signal:g}, label noise $\\sigma_\\varepsilon^2$ = {cfg.noise:g}, "
               f"$m = n_0/\\phi$ with $\\phi$ = {cfg.phi:g}. Lines: exact high-dimensional limit (rmt theory rf; "
               "Adlam & Pennington 2020, Mei & Montanari 2019).\n" + mc_text)
    fig.text(0.05, 0.035, caption, fontsize=9, va="bottom", ha="left", wrap=True)
    fig.suptitle("Double descent in random-feature regression: where the peak comes from, and how to remove it",
                 fontsize=13, x=0.05, ha="left", y=0.975)
    png = os.path.join(out_dir, "double_descent.png")
    fig.savefig(png, dpi=130)
    plt.close(fig)
    path_csv = os.path.join(out_dir, "double_descent.csv")
    with open(path_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows.rows[0]))
        writer.writeheader()
        writer.writerows(rows.rows)
    log(f"wrote {png} and {path_csv} (Monte Carlo {t_mc:.1f} s, total {time.perf_counter() - t0:.1f} s)")
    return {"png": png, "csv": path_csv, "files": [png, path_csv]}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("double-descent"))
