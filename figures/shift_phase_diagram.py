"""Figure ``shift-phase-diagram``: the sign and size of ``E_OOD - E_ID`` for random features under covariate shift.

Six panels of exact theory (:func:`theory.covariate_shift.covariate_shift_error`; Tripuraneni, Adlam & Pennington,
arXiv:2111.08234; docs/models.md §5.2, §5.4, §5.8): over (``n1/m``, ``m/n0``) for the harmful
swap shift and for a helpful shift, and over (shift strength, ``n1/m``) at ``m/n0 = 2``; each ridgeless and at the
ridge tuned for the in-distribution error (what a practitioner selects on ID validation data). Colour: ``E_OOD -
E_ID`` on a symmetric-log diverging scale (red: the shift hurts, blue: it helps), the zero contour in black, the
interpolation threshold ``n1 = m`` dashed. The diagram is theory only (``--no-mc`` changes nothing); the formulas it
evaluates are checked against simulation in ``id-ood-line`` and in the test suite.

Run: ``rmt figure shift-phase-diagram [--out DIR] [--quick]`` or ``python -m figures.shift_phase_diagram``.
"""

from __future__ import annotations

from pathlib import Path
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.activations import get_activation
from rmt.numerics import Timer
from rmt.figures._shift_common import (ACTIVATION, HARMFUL, HELPFUL, NOISE, TRAIN, setup_matplotlib, significant,
                                   write_json)
from rmt.theory.covariate_shift import covariate_shift_error, optimal_ridge, two_point

NAME = "shift-phase-diagram"
VMAX = 1.0
LINTHRESH = 1e-3


@dataclass(frozen=True)
class ShiftPhaseDiagramConfig:
    """Settings of the figure (the defaults draw the README's figure).

    Attributes:
        activation: activation of the random features (an odd one, or the centring caveat applies to ``s_* != s``).
        noise: training-label noise variance.
        points: grid points per axis.
        ratio_range: range of ``n1/m`` and ``m/n0`` (log-spaced).
        strength_m_over_n0: ``m/n0`` of the panels over the shift strength.
        ridge_points, ridge_refine: grid and refinement steps of the ID-tuned ridge search.
    """

    activation: str = ACTIVATION
    noise: float = NOISE
    points: int = 91
    ratio_range: tuple[float, float] = (0.1, 10.0)
    strength_m_over_n0: float = 2.0
    ridge_points: int = 40
    ridge_refine: int = 32

    def __post_init__(self) -> None:
        get_activation(self.activation)
        check_nonnegative(self.noise, "noise")
        check_positive_int(self.points, "points", minimum=2)
        check_positive(self.ratio_range, "ratio_range")
        if len(self.ratio_range) != 2 or not self.ratio_range[0] < self.ratio_range[1]:
            raise ValueError(f"ratio_range must be two values lo < hi, got {self.ratio_range}")
        check_positive(self.strength_m_over_n0, "strength_m_over_n0")
        check_positive_int(self.ridge_points, "ridge_points", minimum=2)
        check_positive_int(self.ridge_refine, "ridge_refine")


def default_config(quick: bool = False) -> ShiftPhaseDiagramConfig:
    """The README's configuration, or the coarser grid of ``--quick``."""
    return ShiftPhaseDiagramConfig(points=41, ridge_points=24, ridge_refine=20) if quick else \
        ShiftPhaseDiagramConfig()


def _delta(phi: np.ndarray, psi: np.ndarray, spectrum: Any, tuned: bool,
           cfg: ShiftPhaseDiagramConfig) -> tuple[np.ndarray, Any]:
    if tuned:
        o = optimal_ridge(phi, psi, spectrum=spectrum, activation=cfg.activation, noise=cfg.noise, criterion="id",
                          points=cfg.ridge_points, refine=cfg.ridge_refine)
        r, ridge = o.result, o.ridge
    else:
        r = covariate_shift_error(phi, psi, spectrum=spectrum, ridge=0.0, activation=cfg.activation,
                                  noise=cfg.noise)
        ridge = np.zeros(np.shape(r.test_error))
    ood, ind = np.asarray(r.test_error), np.asarray(r.id_test_error)
    with np.errstate(invalid="ignore"):
        delta = np.where(np.isinf(ood) & np.isinf(ind), np.nan, ood - ind)  # the pole: undefined, drawn blank
    return delta, {"E_ood": ood, "E_id": ind, "ridge": np.broadcast_to(ridge, ood.shape)}


def compute(quick: bool = False, cfg: ShiftPhaseDiagramConfig | None = None) -> dict[str, Any]:
    cfg = cfg or default_config(quick)
    n = cfg.points
    width = np.geomspace(*cfg.ratio_range, n)  # n1/m
    samples = np.geomspace(*cfg.ratio_range, n)  # m/n0
    W, M = np.meshgrid(width, samples)  # rows: m/n0, columns: n1/m
    phi = 1.0 / M
    psi = phi / W
    panels: dict[str, Any] = {}
    for shift in (HARMFUL, HELPFUL):
        for tuned in (False, True):
            d, extra = _delta(phi, psi, shift.spectrum, tuned, cfg)
            panels[f"{shift.name}|{'tuned' if tuned else 'ridgeless'}"] = {
                "kind": "width-samples", "shift": shift.name, "test_eigenvalues": shift.test_eigenvalues,
                "x": width, "y": samples, "delta": d, **extra}
    strengths = np.linspace(-1.0 / 3.0, 4.0 / 3.0, n)
    fam = two_point(strengths[:, None], train=TRAIN)  # batch of spectra (n, 1), broadcast against the widths
    phi_s = 1.0 / cfg.strength_m_over_n0  # n0/m
    for tuned in (False, True):
        d, extra = _delta(np.full((n, n), phi_s), phi_s / width[None, :], fam, tuned, cfg)
        panels[f"strength|{'tuned' if tuned else 'ridgeless'}"] = {
            "kind": "strength-width", "x": width, "y": strengths, "delta": d, "m_over_n0": 1 / phi_s, **extra}
    return panels


def _panel(ax: Any, plt: Any, p: dict[str, Any], title: str) -> Any:
    from matplotlib.colors import SymLogNorm

    norm = SymLogNorm(linthresh=LINTHRESH, linscale=0.6, vmin=-VMAX, vmax=VMAX, base=10)
    d = np.clip(p["delta"], -VMAX, VMAX)
    mesh = ax.pcolormesh(p["x"], p["y"], d, cmap="RdBu_r", norm=norm, shading="nearest", rasterized=True)
    masked = np.ma.masked_invalid(p["delta"])
    if masked.min() < 0 < masked.max():
        ax.contour(p["x"], p["y"], masked, levels=[0.0], colors="k", linewidths=1.2)
    ax.axvline(1.0, color="0.2", ls="--", lw=0.9)
    ax.set_xscale("log")
    ax.set_xlabel("width $n_1/m$")
    if p["kind"] == "width-samples":
        ax.set_yscale("log")
        ax.set_ylabel("samples $m/n_0$")
    else:
        ax.axhline(0.0, color="0.5", ls=":", lw=0.8)
        ax.set_ylabel("shift strength $t$  (0: none, 1: swap)")
    ax.set_title(title)
    return mesh


def draw(panels: dict[str, Any], path: Path, cfg: ShiftPhaseDiagramConfig | None = None) -> Path:
    cfg = cfg or default_config()
    plt = setup_matplotlib()
    fig, axes = plt.subplots(3, 2, figsize=(9.2, 11.0), constrained_layout=True)
    order = [(f"{HARMFUL.name}|ridgeless", f"(a) harmful swap {HARMFUL.short}, ridgeless"),
             (f"{HARMFUL.name}|tuned", f"(b) harmful swap {HARMFUL.short}, ID-tuned ridge"),
             (f"{HELPFUL.name}|ridgeless", f"(c) helpful {HELPFUL.short}, ridgeless"),
             (f"{HELPFUL.name}|tuned", f"(d) helpful {HELPFUL.short}, ID-tuned ridge"),
             ("strength|ridgeless", "(e) strength $t$: $\\Sigma_*$ = {1.6-1.2t, 0.4+1.2t}, "
                                    f"$m/n_0={cfg.strength_m_over_n0:g}$, ridgeless"),
             ("strength|tuned", "(f) the same, ID-tuned ridge")]
    mesh = None
    for ax, (key, title) in zip(axes.ravel(), order):
        mesh = _panel(ax, plt, panels[key], title)
    cb = fig.colorbar(mesh, ax=axes, shrink=0.6, location="right")
    cb.set_label("$E_{OOD} - E_{ID}$  (symmetric log scale, clipped at $\\pm1$)")
    fig.suptitle(f"Random features under covariate shift: $E_{{OOD}}-E_{{ID}}$  ({cfg.activation}, train spectrum "
                 f"$\\Sigma$ = {{1.6, 0.4}}, noise {cfg.noise:g}; exact theory)\n"
                 "black: zero contour (only in (e), (f): at t = 0);  dashed: interpolation threshold $n_1=m$ "
                 "(ridgeless pole, blank);\nID-tuned ridge: minimises the in-distribution error, the OOD error is "
                 "evaluated at that ridge", fontsize=9.5)
    fig.savefig(path)
    plt.close(fig)
    return path


def make(out: Path, *, mc: bool = True, quick: bool = False,
         config: ShiftPhaseDiagramConfig | None = None) -> dict[str, Any]:
    """Compute, draw and save; returns paths and timings."""
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    cfg = config or default_config(quick)
    panels = compute(quick, cfg)
    t_theory = timer.elapsed
    png = draw(panels, out / f"{NAME}.png", cfg)
    data = {k: {kk: (significant(vv) if isinstance(vv, np.ndarray) else vv) for kk, vv in v.items()}
            for k, v in panels.items()}
    js = write_json(out / f"{NAME}.json", {"figure": NAME, "activation": cfg.activation, "noise": cfg.noise,
                                           "train": TRAIN, "panels": data})
    return {"figure": NAME, "png": str(png), "data": str(js), "files": [str(png), str(js)],
            "theory_seconds": round(t_theory, 2),
            "total_seconds": round(timer.elapsed, 2), "simulation": "none (theory only)"}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("shift-phase-diagram"))
