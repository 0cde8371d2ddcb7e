"""Figure ``id-ood-line``: out-of-distribution against in-distribution error as the width varies.

Left: for several two-point shifts, the exact theory curve ``(E_ID(n1), E_OOD(n1))`` traced by the width ``n1`` at
fixed ``m/n0 = 0.5`` (ridgeless, tanh, noise 0.1): in the over-parameterised regime ``n1 > m`` it is the straight line
``E_OOD = S E_ID + I`` with the closed-form slope and intercept of :func:`theory.covariate_shift.id_ood_line`
(Tripuraneni, Adlam & Pennington, arXiv:2111.08234; reference sheet ntk_covariate_shift.md 3.6), given in the legend;
the under-parameterised branch ``n1 < m`` (dotted) leaves the line. Points: Monte Carlo of the actual estimator
(``n0 = 400``, min-norm interpolation, both errors with standard-error bars). Right: the distance of the theory curves
from the closed-form line -- rounding level in the regime, far larger with a ridge or for ``n1 < m``.

Run: ``rmt figure id-ood-line [--out DIR] [--no-mc] [--quick]`` or ``python -m figures.id_ood_line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rmt.figures._shift_common import (ACTIVATION, HARMFUL, HELPFUL, N0_SIM, NOISE, SHIFTS, Timer,
                                   simulation_db, setup_matplotlib, simulate_pair, write_csv)
from rmt.theory.covariate_shift import covariate_shift_error, id_ood_line

NAME = "id-ood-line"
PHI = 2.0  # m/n0 = 0.5
SIM_WIDTHS = (1.5, 2.0, 4.0, 8.0)  # n1/m
RIDGE_DEV = 0.1  # the ridge of the "off the law" comparison curve


def compute(mc: bool, quick: bool, out: Path) -> dict[str, Any]:
    over = np.geomspace(1.08, 200.0, 120)
    under = np.geomspace(0.05, 0.93, 80)
    rows, curves, sims = [], {}, []
    db = simulation_db(out)
    shifts = (HARMFUL, HELPFUL) if quick else SHIFTS
    for sh in shifts:
        line = id_ood_line(PHI, spectrum=sh.spectrum, activation=ACTIVATION, noise=NOISE)
        r_over = covariate_shift_error(PHI, PHI / over, spectrum=sh.spectrum, ridge=0.0, activation=ACTIVATION,
                                       noise=NOISE)
        r_under = covariate_shift_error(PHI, PHI / under, spectrum=sh.spectrum, ridge=0.0, activation=ACTIVATION,
                                        noise=NOISE)
        r_ridge = covariate_shift_error(PHI, PHI / np.concatenate([under, over]), spectrum=sh.spectrum,
                                        ridge=RIDGE_DEV, activation=ACTIVATION, noise=NOISE)
        S, I = float(line.slope), float(line.intercept)
        dev = lambda r: np.abs(np.asarray(r.test_error) - (S * np.asarray(r.id_test_error) + I))  # noqa: E731
        curves[sh.name] = {"shift": sh, "slope": S, "intercept": I, "theta": float(line.theta), "d0": float(line.d0),
                           "over": r_over, "under": r_under, "ridge": r_ridge, "w_over": over, "w_under": under,
                           "dev_over": dev(r_over), "dev_under": dev(r_under), "dev_ridge": dev(r_ridge)}
        for regime, w, r in (("ridgeless n1>m", over, r_over), ("ridgeless n1<m", under, r_under),
                             (f"ridge {RIDGE_DEV}", np.concatenate([under, over]), r_ridge)):
            for k in range(w.size):
                rows.append(["theory", sh.name, regime, w[k], PHI / w[k], float(r.ridge if np.ndim(r.ridge) == 0
                                                                                  else r.ridge[k]),
                             r.id_test_error[k], r.test_error[k], "", "", S, I])
        if mc:
            widths = SIM_WIDTHS[::2] if quick else SIM_WIDTHS
            j = SHIFTS.index(sh)
            for k, wr in enumerate(widths):
                pt = simulate_pair(sh, PHI, PHI / wr, 0.0, reps=4 if quick else 12, seed=100 + 20 * j + k,
                                   db=db)
                sims.append((sh.name, wr, pt))
                rows.append(["simulation", sh.name, "ridgeless n1>m", wr, PHI / wr, 0.0, pt.iid, pt.ood, pt.iid_se,
                             pt.ood_se, S, I])
    return {"curves": curves, "sims": sims, "rows": rows}


def draw(data: dict[str, Any], path: Path) -> Path:
    plt = setup_matplotlib()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 5.0), constrained_layout=True,
                                 gridspec_kw={"width_ratios": [1.25, 1]})
    emax = 0.0
    for name, c in data["curves"].items():
        sh = c["shift"]
        eo, ei = np.asarray(c["over"].test_error), np.asarray(c["over"].id_test_error)
        keep = ei <= 3.0
        emax = max(emax, float(ei[keep].max()))
        sign = "+" if c["intercept"] >= 0 else "-"
        ax.plot(ei[keep], eo[keep], color=sh.color, lw=1.8,
                label=f"{sh.short}:  $E_{{OOD}}$ = {c['slope']:.4f} $E_{{ID}}$ {sign} {abs(c['intercept']):.4f}")
        eu, eiu = np.asarray(c["under"].test_error), np.asarray(c["under"].id_test_error)
        ku = eiu <= 3.0
        ax.plot(eiu[ku], eu[ku], color=sh.color, lw=1.0, ls=":")
        bx.loglog(c["w_over"], np.maximum(c["dev_over"], 1e-17), color=sh.color, lw=1.6)
        bx.loglog(c["w_under"], c["dev_under"], color=sh.color, lw=1.0, ls=":")
        w_all = np.concatenate([c["w_under"], c["w_over"]])
        bx.loglog(w_all, c["dev_ridge"], color=sh.color, lw=1.0, ls="--")
    for name, wr, pt in data["sims"]:
        sh = data["curves"][name]["shift"]
        ax.errorbar(pt.iid, pt.ood, xerr=pt.iid_se, yerr=pt.ood_se, fmt="o", ms=4.5, mfc="white", color=sh.color,
                    capsize=2, lw=1)
    lim = (0.0, emax * 1.05)
    ax.plot(lim, lim, color="0.6", lw=0.8, ls="-", zorder=0)
    ax.set_xlim(0.0, 3.05)
    ax.set_ylim(0.0, None)
    ax.set_xlabel("in-distribution test error $E_{ID}$")
    ax.set_ylabel("out-of-distribution test error $E_{OOD}$")
    ax.plot([], [], color="0.3", lw=1.0, ls=":", label="$n_1 < m$ (ridgeless): off the line")
    ax.plot([], [], color="0.6", lw=0.8, label="$E_{OOD} = E_{ID}$")
    if data["sims"]:
        ax.errorbar([], [], xerr=[], yerr=[], fmt="o", mfc="white", color="0.3",
                    label=f"simulation, $n_0={N0_SIM}$, $n_1/m\\in${{{', '.join(f'{w:g}' for w in SIM_WIDTHS)}}}")
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(f"width sweep at $m/n_0$ = {1 / PHI:g}, ridgeless ({ACTIVATION}, noise {NOISE}, "
                 "$\\Sigma$ = {1.6, 0.4});\nsolid: $n_1 > m$, exactly the closed-form line (legend)")
    bx.axvline(1.0, color="0.6", ls="--", lw=0.8)
    bx.set_xlabel("width $n_1/m$")
    bx.set_ylabel("$|E_{OOD} - (S\\,E_{ID} + I)|$ (floored at $10^{-17}$)")
    bx.plot([], [], color="0.3", lw=1.6, label="ridgeless, $n_1 > m$: rounding only")
    bx.plot([], [], color="0.3", lw=1.0, ls=":", label="ridgeless, $n_1 < m$")
    bx.plot([], [], color="0.3", lw=1.0, ls="--", label=f"ridge {RIDGE_DEV}")
    bx.legend(loc="center right", frameon=False)
    bx.set_title("distance from the closed-form ID-OOD line")
    fig.savefig(path)
    plt.close(fig)
    return path


def make(out: Path, *, mc: bool = True, quick: bool = False) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    data = compute(mc, quick, out)
    png = draw(data, out / f"{NAME}.png")
    csv = write_csv(out / f"{NAME}.csv", ["source", "shift", "regime", "n1_over_m", "psi", "ridge", "E_id",
                                         "E_ood", "E_id_stderr", "E_ood_stderr", "slope", "intercept"], data["rows"])
    worst = {name: float(np.max(c["dev_over"])) for name, c in data["curves"].items()}
    return {"figure": NAME, "png": str(png), "data": str(csv), "files": [str(png), str(csv)],
            "seconds": round(timer.seconds, 2),
            "line_max_residual": worst,
            "simulation": [{"shift": n, "n1/m": w, "E_id": p.iid, "E_id_se": p.iid_se, "E_ood": p.ood,
                            "E_ood_se": p.ood_se} for n, w, p in data["sims"]]}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("id-ood-line"))
