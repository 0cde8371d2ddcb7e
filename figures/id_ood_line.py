"""Figure ``id-ood-line``: out-of-distribution against in-distribution error as the width varies.

Left: for several two-point shifts, the exact theory curve ``(E_ID(n1), E_OOD(n1))`` traced by the width ``n1`` at
fixed ``m/n0 = 0.5`` (ridgeless, tanh, noise 0.1): in the over-parameterised regime ``n1 > m`` it is the straight line
``E_OOD = S E_ID + I`` with the closed-form slope and intercept of :func:`theory.covariate_shift.id_ood_line`
(Tripuraneni, Adlam & Pennington, arXiv:2111.08234; docs/models.md §5.6), given in the legend;
the under-parameterised branch ``n1 < m`` (dotted) leaves the line. Points: Monte Carlo of the actual estimator
(``n0 = 400``, min-norm interpolation, both errors with standard-error bars). Right: the distance of the theory curves
from the closed-form line -- rounding level in the regime, far larger with a ridge or for ``n1 < m``.

Run: ``rmt figure id-ood-line [--out DIR] [--no-mc] [--quick]`` or ``python -m figures.id_ood_line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.activations import get_activation
from rmt.numerics import Timer
from rmt.figures._shift_common import (ACTIVATION, HARMFUL, HELPFUL, N0_SIM, NOISE, SHIFTS,
                                   simulation_db, setup_matplotlib, simulate_pair, write_csv)
from rmt.theory.covariate_shift import covariate_shift_error, id_ood_line

NAME = "id-ood-line"
PHI = 2.0  # m/n0 = 0.5
SIM_WIDTHS = (1.5, 2.0, 4.0, 8.0)  # n1/m
RIDGE_DEV = 0.1  # the ridge of the "off the law" comparison curve


@dataclass(frozen=True)
class IdOodLineConfig:
    """Settings of the figure (the defaults draw the README's figure).

    Attributes:
        activation: activation of the random features (an odd one, or the centring caveat applies to ``s_* != s``).
        noise: training-label noise variance.
        phi: ``n0/m``, fixed while the width varies.
        ridge_dev: ridge of the comparison curve that leaves the line.
        all_shifts: all four shifts (otherwise the harmful and the helpful one).
        sim_widths: widths ``n1/m`` simulated (over-parameterised, ``> 1``).
        reps: independent repetitions per simulated point.
        n0: input dimension of the simulation.
    """

    activation: str = ACTIVATION
    noise: float = NOISE
    phi: float = PHI
    ridge_dev: float = RIDGE_DEV
    all_shifts: bool = True
    sim_widths: tuple[float, ...] = SIM_WIDTHS
    reps: int = 12
    n0: int = N0_SIM

    def __post_init__(self) -> None:
        get_activation(self.activation)
        check_nonnegative(self.noise, "noise")
        check_positive(self.phi, "phi")
        check_nonnegative(self.ridge_dev, "ridge_dev")
        check_positive(self.sim_widths, "sim_widths")
        check_positive_int(self.reps, "reps", minimum=2)
        check_positive_int(self.n0, "n0")


def default_config(quick: bool = False) -> IdOodLineConfig:
    """The README's configuration, or the smaller one of ``--quick`` (two shifts, half the widths, 4 repetitions)."""
    if not quick:
        return IdOodLineConfig()
    return IdOodLineConfig(all_shifts=False, sim_widths=SIM_WIDTHS[::2], reps=4)


def compute(mc: bool, quick: bool, out: Path, cfg: IdOodLineConfig | None = None) -> dict[str, Any]:
    cfg = cfg or default_config(quick)
    act, noise, phi, ridge_dev = cfg.activation, cfg.noise, cfg.phi, cfg.ridge_dev
    over = np.geomspace(1.08, 200.0, 120)
    under = np.geomspace(0.05, 0.93, 80)
    rows, curves, sims = [], {}, []
    db = simulation_db(out)
    shifts = SHIFTS if cfg.all_shifts else (HARMFUL, HELPFUL)
    for sh in shifts:
        line = id_ood_line(phi, spectrum=sh.spectrum, activation=act, noise=noise)
        r_over = covariate_shift_error(phi, phi / over, spectrum=sh.spectrum, ridge=0.0, activation=act,
                                       noise=noise)
        r_under = covariate_shift_error(phi, phi / under, spectrum=sh.spectrum, ridge=0.0, activation=act,
                                        noise=noise)
        r_ridge = covariate_shift_error(phi, phi / np.concatenate([under, over]), spectrum=sh.spectrum,
                                        ridge=ridge_dev, activation=act, noise=noise)
        S, I = float(line.slope), float(line.intercept)
        dev = lambda r: np.abs(np.asarray(r.test_error) - (S * np.asarray(r.id_test_error) + I))  # noqa: E731
        curves[sh.name] = {"shift": sh, "slope": S, "intercept": I, "theta": float(line.theta), "d0": float(line.d0),
                           "over": r_over, "under": r_under, "ridge": r_ridge, "w_over": over, "w_under": under,
                           "dev_over": dev(r_over), "dev_under": dev(r_under), "dev_ridge": dev(r_ridge)}
        for regime, w, r in (("ridgeless n1>m", over, r_over), ("ridgeless n1<m", under, r_under),
                             (f"ridge {ridge_dev}", np.concatenate([under, over]), r_ridge)):
            for k in range(w.size):
                rows.append(["theory", sh.name, regime, w[k], phi / w[k], float(r.ridge if np.ndim(r.ridge) == 0
                                                                                  else r.ridge[k]),
                             r.id_test_error[k], r.test_error[k], "", "", S, I])
        if mc:
            j = SHIFTS.index(sh)
            for k, wr in enumerate(cfg.sim_widths):
                pt = simulate_pair(sh, phi, phi / wr, 0.0, reps=cfg.reps, seed=100 + 20 * j + k, db=db,
                                   activation=act, noise=noise, n0=cfg.n0)
                sims.append((sh.name, wr, pt))
                rows.append(["simulation", sh.name, "ridgeless n1>m", wr, phi / wr, 0.0, pt.iid, pt.ood, pt.iid_se,
                             pt.ood_se, S, I])
    return {"curves": curves, "sims": sims, "rows": rows, "cfg": cfg}


def draw(data: dict[str, Any], path: Path) -> Path:
    plt = setup_matplotlib()
    cfg = data.get("cfg") or default_config()
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
                    label=f"simulation, $n_0={cfg.n0}$, $n_1/m\\in${{{', '.join(f'{w:g}' for w in cfg.sim_widths)}}}")
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(f"width sweep at $m/n_0$ = {1 / cfg.phi:g}, ridgeless ({cfg.activation}, noise {cfg.noise:g}, "
                 "$\\Sigma$ = {1.6, 0.4});\nsolid: $n_1 > m$, exactly the closed-form line (legend)")
    bx.axvline(1.0, color="0.6", ls="--", lw=0.8)
    bx.set_xlabel("width $n_1/m$")
    bx.set_ylabel("$|E_{OOD} - (S\\,E_{ID} + I)|$ (floored at $10^{-17}$)")
    bx.plot([], [], color="0.3", lw=1.6, label="ridgeless, $n_1 > m$: rounding only")
    bx.plot([], [], color="0.3", lw=1.0, ls=":", label="ridgeless, $n_1 < m$")
    bx.plot([], [], color="0.3", lw=1.0, ls="--", label=f"ridge {cfg.ridge_dev:g}")
    bx.legend(loc="center right", frameon=False)
    bx.set_title("distance from the closed-form ID-OOD line")
    fig.savefig(path)
    plt.close(fig)
    return path


def make(out: Path, *, mc: bool = True, quick: bool = False, config: IdOodLineConfig | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    data = compute(mc, quick, out, config)
    png = draw(data, out / f"{NAME}.png")
    csv = write_csv(out / f"{NAME}.csv", ["source", "shift", "regime", "n1_over_m", "psi", "ridge", "E_id",
                                         "E_ood", "E_id_stderr", "E_ood_stderr", "slope", "intercept"], data["rows"])
    worst = {name: float(np.max(c["dev_over"])) for name, c in data["curves"].items()}
    return {"figure": NAME, "png": str(png), "data": str(csv), "files": [str(png), str(csv)],
            "seconds": round(timer.elapsed, 2),
            "line_max_residual": worst,
            "simulation": [{"shift": n, "n1/m": w, "E_id": p.iid, "E_id_se": p.iid_se, "E_ood": p.ood,
                            "E_ood_se": p.ood_se} for n, w, p in data["sims"]]}


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("id-ood-line"))
