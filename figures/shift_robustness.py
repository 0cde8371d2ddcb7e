"""Figure ``shift-robustness``: the OOD penalty ``E_OOD - E_ID`` against the width (over-parameterisation and
robustness to covariate shift; Tripuraneni, Adlam & Pennington, NeurIPS 2021 / arXiv:2111.08234; reference sheet
ntk_covariate_shift.md 3.7).

Exact theory (:func:`theory.covariate_shift.covariate_shift_error`) for several two-point shifts at ``m/n0 = 0.5``
(tanh, noise 0.1): (a) ridgeless, with Monte Carlo points (``n0 = 400``, 24 repetitions, standard-error bars of the
paired difference; independent seeds per point);
(b) at the ridge tuned for the in-distribution error (:func:`theory.covariate_shift.optimal_ridge`); (c) the ratio
``E_OOD / E_ID``. In the over-parameterised regime the absolute penalty of a harmful shift shrinks with the width
towards its infinite-width value while the ratio does not (sheet 3.7 reports the same for ReLU at ``m/n0 = 2``).

Run: ``rmt figure shift-robustness [--out DIR] [--no-mc] [--quick]`` or ``python -m figures.shift_robustness``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rmt.figures._shift_common import (ACTIVATION, HARMFUL, HELPFUL, N0_SIM, NOISE, SHIFTS, Timer, simulation_db,
                                   setup_matplotlib, simulate_pair, write_csv)
from rmt.theory.covariate_shift import covariate_shift_error, optimal_ridge

NAME = "shift-robustness"
PHI = 2.0  # m/n0 = 0.5
SIM_WIDTHS = (0.25, 0.5, 2.0, 4.0, 8.0)
REPS = 24  # the penalty is a small difference of errors: more repetitions than id-ood-line


def compute(mc: bool, quick: bool, out: Path) -> dict[str, Any]:
    widths = np.geomspace(0.05, 1000.0, 81 if quick else 241)
    widths = widths[np.abs(np.log(widths)) > 1e-3]
    curves, sims, rows = {}, [], []
    db = simulation_db(out)
    for sh in SHIFTS:
        r0 = covariate_shift_error(PHI, PHI / widths, spectrum=sh.spectrum, ridge=0.0, activation=ACTIVATION,
                                   noise=NOISE)
        o = optimal_ridge(PHI, PHI / widths, spectrum=sh.spectrum, activation=ACTIVATION, noise=NOISE,
                          criterion="id", points=24 if quick else 40, refine=20 if quick else 32)
        curves[sh.name] = {"shift": sh, "ridgeless": r0, "tuned": o.result, "ridge": np.asarray(o.ridge)}
        for k, w in enumerate(widths):
            for regime, r, rg in (("ridgeless", r0, 0.0), ("ID-tuned ridge", o.result, float(np.asarray(o.ridge)[k]))):
                rows.append(["theory", sh.name, regime, w, PHI / w, rg, r.id_test_error[k], r.test_error[k],
                             r.ood_penalty[k], ""])
    if mc:
        for j, sh in enumerate((HARMFUL, HELPFUL)):
            for k, w in enumerate(SIM_WIDTHS[1::2] if quick else SIM_WIDTHS):
                pt = simulate_pair(sh, PHI, PHI / w, 0.0, reps=4 if quick else REPS, seed=300 + 20 * j + k,
                                   db=db)
                sims.append((sh.name, w, pt))
                rows.append(["simulation", sh.name, "ridgeless", w, PHI / w, 0.0, pt.iid, pt.ood, pt.penalty,
                             pt.penalty_se])
    return {"curves": curves, "sims": sims, "rows": rows, "widths": widths}


def draw(data: dict[str, Any], path: Path) -> Path:
    plt = setup_matplotlib()
    fig, axes = plt.subplots(1, 3, figsize=(14.0, 4.6), constrained_layout=True)
    w = data["widths"]
    for name, c in data["curves"].items():
        sh = c["shift"]
        for ax, key in ((axes[0], "ridgeless"), (axes[1], "tuned")):
            r = c[key]
            with np.errstate(invalid="ignore"):
                pen = np.asarray(r.test_error) - np.asarray(r.id_test_error)
            ax.semilogx(w, pen, color=sh.color, lw=1.6, label=sh.short)
        for key, ls in (("ridgeless", "-"), ("tuned", "--")):
            r = c[key]
            axes[2].semilogx(w, np.asarray(r.test_error) / np.asarray(r.id_test_error), color=sh.color, lw=1.4,
                             ls=ls)
    for name, wr, pt in data["sims"]:
        sh = data["curves"][name]["shift"]
        axes[0].errorbar(wr, pt.penalty, yerr=pt.penalty_se, fmt="o", ms=4.5, mfc="white", color=sh.color,
                         capsize=2, lw=1)
    for ax in axes:
        ax.axvline(1.0, color="0.6", ls="--", lw=0.8)
        ax.axhline(0.0 if ax is not axes[2] else 1.0, color="0.6", lw=0.7)
        ax.set_xlabel("width $n_1/m$")
    axes[0].set_ylim(-0.6, 1.2)
    axes[0].set_ylabel("OOD penalty $E_{OOD} - E_{ID}$")
    axes[0].set_title("(a) ridgeless (pole at $n_1 = m$)")
    if data["sims"]:
        axes[0].errorbar([], [], yerr=[], fmt="o", mfc="white", color="0.3",
                         label=f"simulation, $n_0 = {N0_SIM}$ (+-1 s.e.)")
    axes[0].legend(loc="upper right", frameon=False)
    axes[1].set_ylabel("OOD penalty $E_{OOD} - E_{ID}$")
    axes[1].set_title("(b) ridge tuned for the in-distribution error")
    axes[2].set_ylabel("ratio $E_{OOD} / E_{ID}$")
    axes[2].set_title("(c) ratio (solid: ridgeless, dashed: ID-tuned ridge)")
    fig.suptitle(f"Over-parameterisation and robustness to covariate shift: random features at $m/n_0$ = {1 / PHI:g} "
                 f"({ACTIVATION}, noise {NOISE}, train $\\Sigma$ = {{1.6, 0.4}}; exact theory)", fontsize=10)
    fig.savefig(path)
    plt.close(fig)
    return path


def make(out: Path, *, mc: bool = True, quick: bool = False) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    data = compute(mc, quick, out)
    png = draw(data, out / f"{NAME}.png")
    csv = write_csv(out / f"{NAME}.csv", ["source", "shift", "regime", "n1_over_m", "psi", "ridge", "E_id", "E_ood",
                                         "penalty", "penalty_stderr"], data["rows"])
    return {"figure": NAME, "png": str(png), "data": str(csv), "files": [str(png), str(csv)],
            "seconds": round(timer.seconds, 2),
            "simulation": [{"shift": n, "n1/m": w, "penalty": p.penalty, "penalty_se": p.penalty_se}
                           for n, w, p in data["sims"]]}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("shift-robustness"))
