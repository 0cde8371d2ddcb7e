"""Figure ``shift-fine-grained``: which sources of variance a covariate shift amplifies, against the width.

Random-feature ridge regression (tanh, ``m/n0 = 2``) under a harmful and a helpful two-point shift of the input
spectrum (Tripuraneni, Adlam & Pennington 2021, arXiv:2111.08234), with the error split into the bias and the seven
fine-grained variance terms over the random features ``P``, the training inputs ``X`` and the label noise ``eps``
(Adlam & Pennington 2020, arXiv:2011.03321): :func:`theory.covariate_shift.shift_fine_grained`.

(a), (b): each term on the test law (solid) and on the training law (dashed) against ``n1/m``; simulation points are
the unbiased crossed-design ANOVA estimates of :func:`montecarlo.covariate_shift.simulate_shift` (two standard
errors). (c): the amplification ``term_OOD / term_ID`` per term. ``V_eps = V_Peps = 0`` identically and are not drawn.

Run: ``rmt figure shift-fine-grained [--out DIR] [--no-mc] [--quick] [--seed S] [--nonlinear-signal F]``
(``--nonlinear-signal``: a nonlinear teacher component, carried by ``V_X``, ``V_PX`` and the bias).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.activations import get_activation
from rmt.figures._shift_common import ACTIVATION, HARMFUL, HELPFUL, NOISE, setup_matplotlib, write_csv
from rmt.quantities import FINE_GRAINED_KEYS
from rmt.theory.covariate_shift import shift_fine_grained

__all__ = ["ShiftFineGrainedConfig", "compute", "default_config", "draw", "make"]

NAME = "shift-fine-grained"
PHI = 0.5  # n0/m: m = 2 n0
RIDGE = 1e-3
TERMS = ("P", "X", "PX", "Xeps", "PXeps")
COLOURS = {"bias": "0.2", "P": "#1b9e77", "X": "#d95f02", "PX": "#7570b3", "Xeps": "#e7298a", "PXeps": "#66a61e"}


@dataclass(frozen=True)
class ShiftFineGrainedConfig:
    """Settings of the figure (each is a flag of ``rmt figure shift-fine-grained``).

    Attributes:
        activation: activation of the random features (odd, or the centring caveat applies to ``s_* != s``).
        phi: ``n0/m``, fixed while the width varies.
        ridge: ridge ``>= 0`` in ``K + ridge I``.
        noise: training-label noise variance.
        points: theory points on ``n1/m`` in ``[0.05, 100]`` (log grid).
        sim_widths: simulated widths ``n1/m``.
        n0: input dimension of the simulation.
        reps: independent repetitions per simulated point.
        nonlinear_signal: power F_*^2 >= 0 of a nonlinear (He2 single-index) teacher component (0: linear teacher);
            it enters V_X, V_PX and the bias (docs/models.md §5.11).
    """

    activation: str = ACTIVATION
    phi: float = PHI
    ridge: float = RIDGE
    noise: float = NOISE
    points: int = 181
    sim_widths: tuple[float, ...] = (0.25, 0.5, 2.0, 8.0)
    n0: int = 200
    reps: int = 4
    nonlinear_signal: float = 0.0

    def __post_init__(self) -> None:
        get_activation(self.activation)
        check_positive(self.phi, "phi")
        check_nonnegative(self.ridge, "ridge")
        check_nonnegative(self.noise, "noise")
        check_positive_int(self.points, "points", minimum=3)
        check_positive(self.sim_widths, "sim_widths")
        check_positive_int(self.n0, "n0")
        check_positive_int(self.reps, "reps", minimum=2)
        check_nonnegative(self.nonlinear_signal, "nonlinear_signal")


def default_config(quick: bool = False) -> ShiftFineGrainedConfig:
    """The README's configuration, or the smaller one of ``--quick`` (61 points, n0 = 100, two widths, 2 reps)."""
    if not quick:
        return ShiftFineGrainedConfig()
    return ShiftFineGrainedConfig(points=61, sim_widths=(0.5, 4.0), n0=100, reps=2)


def compute(*, mc: bool, quick: bool, seed: int = 0, widths: Any = None,
            config: ShiftFineGrainedConfig | None = None) -> dict[str, Any]:
    """Theory curves (and simulation points unless ``mc=False``) and the CSV rows."""
    cfg = config or default_config(quick)
    phi, ridge, act, noise = cfg.phi, cfg.ridge, cfg.activation, cfg.noise
    widths = np.geomspace(0.05, 100.0, cfg.points) if widths is None else np.asarray(widths, dtype=float)
    widths = widths[np.abs(widths - 1.0) > 1e-3]
    rows: list[list[Any]] = []
    curves = {}
    for sh in (HARMFUL, HELPFUL):
        fg = shift_fine_grained(phi, phi / widths, spectrum=sh.spectrum, ridge=ridge, activation=act,
                                noise=noise, nonlinear_signal=cfg.nonlinear_signal)
        curves[sh.name] = fg
        for k, w in enumerate(widths):
            rows.append(["theory", sh.name, w, phi / w, "bias", float(fg.ood_bias[k]), float(fg.iid_bias[k]), "", ""])
            for t in FINE_GRAINED_KEYS:
                rows.append(["theory", sh.name, w, phi / w, t, float(fg.ood[t][k]), float(fg.iid[t][k]), "", ""])
    sims = []
    if mc:
        from rmt import Problem
        from rmt.montecarlo.covariate_shift import simulate_shift
        from rmt.problem import CovarianceSpectrum

        n0, sim_widths, reps = cfg.n0, cfg.sim_widths, cfg.reps
        for j, sh in enumerate((HARMFUL, HELPFUL)):
            spec = sh.spectrum
            cov = CovarianceSpectrum(train=spec.train, test=spec.test, weights=spec.weights)
            for k, w in enumerate(sim_widths):
                pr = Problem.from_ratios(phi, phi / w, ridge=ridge, activation=act, noise=noise, n0=n0,
                                         covariance=cov, nonlinear_signal=cfg.nonlinear_signal)
                res = simulate_shift(pr, trials=(3, 3, 2), reps=reps, seed=seed + 100 * j + k)
                sims.append((sh.name, w, res))
                rows.append(["simulation", sh.name, w, phi / w, "bias", res.ood.bias, res.iid.bias,
                             res.ood.stderr["bias"], res.iid.stderr["bias"]])
                for t in FINE_GRAINED_KEYS:
                    rows.append(["simulation", sh.name, w, phi / w, t, res.ood.fine_grained[t],
                                 res.iid.fine_grained[t], res.ood.stderr["fine_grained"][t],
                                 res.iid.stderr["fine_grained"][t]])
                print(f"{sh.name} n1/m={w:g}: OOD {res.ood.test_error:.4f} +- {res.ood.stderr['test_error']:.4f}",
                      file=sys.stderr, flush=True)
    return {"widths": widths, "curves": curves, "sims": sims, "rows": rows, "cfg": cfg}


def draw(data: dict[str, Any], path: Path) -> Path:
    plt = setup_matplotlib()
    widths = data["widths"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, sh in zip(axes[:2], (HARMFUL, HELPFUL)):
        fg = data["curves"][sh.name]
        ax.plot(widths, fg.ood_bias, "-", color=COLOURS["bias"], lw=1.4, label="bias")
        ax.plot(widths, fg.iid_bias, "--", color=COLOURS["bias"], lw=1.0)
        for t in TERMS:
            ax.plot(widths, fg.ood[t], "-", color=COLOURS[t], lw=1.6, label=f"$V_{{{t}}}$".replace("eps", r"\epsilon"))
            ax.plot(widths, fg.iid[t], "--", color=COLOURS[t], lw=1.0)
        for name, w, res in data["sims"]:
            if name != sh.name:
                continue
            for t in TERMS:
                ax.errorbar([w], [res.ood.fine_grained[t]], yerr=[2 * res.ood.stderr["fine_grained"][t]], fmt="o",
                            color=COLOURS[t], ms=4, capsize=2)
        ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(1e-4, None)
        ax.set_xlabel("n1 / m")
        ax.set_ylabel("term of the test error")
        ax.set_title(f"({'a' if sh is HARMFUL else 'b'}) {sh.label()}: OOD solid, ID dashed")
        ax.legend(fontsize=7.5, ncol=2)
    ax = axes[2]
    for sh, ls in ((HARMFUL, "-"), (HELPFUL, "--")):
        amp = data["curves"][sh.name].amplification()
        for t in TERMS:
            ax.plot(widths, amp[t], ls, color=COLOURS[t], lw=1.4, label=f"$V_{{{t}}}$".replace("eps", r"\epsilon")
                    if sh is HARMFUL else None)
        fg = data["curves"][sh.name]
        ax.plot(widths, np.asarray(fg.ood_bias) / np.asarray(fg.iid_bias), ls, color=COLOURS["bias"], lw=1.2,
                label="bias" if sh is HARMFUL else None)
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n1 / m")
    ax.set_ylabel("amplification  term_OOD / term_ID")
    ax.set_title("(c) OOD / ID per term: harmful solid, helpful dashed")
    ax.legend(fontsize=7, ncol=2)
    cfg = data["cfg"]
    teacher = f", nonlinear teacher F*^2 = {cfg.nonlinear_signal:g}" if cfg.nonlinear_signal else ""
    fig.suptitle(f"Fine-grained variance under covariate shift: random features, {cfg.activation}, "
                 f"m/n0 = {1 / cfg.phi:g}, ridge = {cfg.ridge:g}, noise = {cfg.noise:g}{teacher} "
                 "(V_eps = V_Peps = 0)", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)
    return path


def make(out: Path | str = "out", *, mc: bool = True, quick: bool = False, seed: int | None = None,
         config: ShiftFineGrainedConfig | None = None) -> dict[str, Any]:
    """Compute, write ``shift-fine-grained.png`` and ``.csv`` into ``out``; return their paths."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = compute(mc=mc, quick=quick, seed=int(seed or 0), config=config)
    png = draw(data, out / f"{NAME}.png")
    csv = write_csv(out / f"{NAME}.csv", ["source", "shift", "n1_over_m", "psi", "term", "ood", "iid",
                                          "ood_stderr", "iid_stderr"], data["rows"])
    return {"figure": NAME, "png": str(png), "csv": str(csv), "files": [str(png), str(csv)],
            "seconds": round(time.perf_counter() - t0, 2)}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone(NAME))
