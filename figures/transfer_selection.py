r"""Figure ``transfer-selection``: optimal feature transfer in the spectrum-only case and the hard/soft transition.

Setting: ``lambda_i = i^-1.5``, prior power ``w_i = i^-1.8``, ``M = 400`` modes (:mod:`rmt.theory.transfer`; Li, Sen &
Adlam arXiv:2404.12481 for the model; the optimum is derived in that module).

a. optimal learnabilities ``q_i`` against the mode index at ``n = 100`` for several noise levels: ridge ``> 0``
   (soft, every mode; lines) and ridgeless (points: soft at low noise, least squares on ``K < n`` modes at high
   noise);
b. ridgeless risk of the two branches against the noise at ``n = 100``, with identity features and the best
   top-K (PCR) for reference, the transition, and ``r_eff / n`` of the soft optimum (right axis); Monte Carlo of
   the optimal featurisation (ridge ``0.05``; points +- 2 standard errors) against its predicted risk;
c. the transition noise, the number of kept modes and the effective rank there, against ``n``.

Writes ``transfer_selection.png``, ``transfer_selection.csv`` and ``transfer_selection.json``.
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

from rmt.theory.transfer import (TransferSetting, optimal_features, ridgeless_branches,  # noqa: E402
                                 selection_transition, transfer)

__all__ = ["make"]

ALPHA, BETA, MODES, N = 1.5, 1.8, 400, 100


def make(out: str | Path = "out", *, mc: bool = True, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Draw the figure; returns the summary written to the JSON file."""
    t0 = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    st = TransferSetting.power_law(ALPHA, BETA, MODES)
    rows: list[dict[str, Any]] = []
    fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(18, 5.2))
    idx = np.arange(1, MODES + 1)

    tr = selection_transition(st, N)
    for j, s in enumerate((0.01, 0.1, tr.noise, 1.0)):
        soft = optimal_features(st, N, 0.05, s)
        rl = optimal_features(st, N, 0.0, s)
        ax_a.loglog(idx, np.maximum(soft.learnabilities, 1e-6), color=f"C{j}", label=f"noise {s:.3g} ridge>0")
        ax_a.loglog(idx[::7], np.maximum(rl.learnabilities, 1e-6)[::7], "o", color=f"C{j}", ms=3,
                    label=f"noise {s:.3g} ridgeless ({rl.regime}, {rl.kept} kept)")
    ax_a.set_ylim(1e-4, 1.5)
    ax_a.set_xlabel("mode i")
    ax_a.set_ylabel("optimal learnability q_i")
    ax_a.set_title(f"a. optimal featurisation, n = {N}")
    ax_a.legend(fontsize=7)

    noises = np.geomspace(1e-3, 10, 16 if quick else 40)
    soft_r, ls_r, ident, pcr, reff, opt_r = [], [], [], [], [], []
    for s in noises:
        br = ridgeless_branches(st, N, s)
        soft_r.append(br["soft"])
        ls_r.append(br["least_squares"])
        ident.append(float(transfer(st, "identity", N, 0.0, s).test_error))
        pcr.append(min(float(transfer(st, f"top:{k}", N, 0.0, s).test_error) for k in range(1, N)))
        o = optimal_features(st, N, 0.05, s)
        reff.append(o.effective_rank / N)
        opt_r.append(o.test_error)
        rows.append({"panel": "b", "noise": s, "soft": br["soft"], "least_squares": br["least_squares"],
                     "identity": ident[-1], "best_top_k": pcr[-1], "optimal_ridge_positive": opt_r[-1], "effective_rank_over_n": reff[-1]})
    ax_b.loglog(noises, soft_r, label="ridgeless optimum, soft branch")
    ax_b.loglog(noises, ls_r, label="ridgeless optimum, least-squares branch")
    ax_b.loglog(noises, opt_r, color="C4", label="optimum at any ridge > 0 (soft)")
    ax_b.loglog(noises, ident, ":", label="identity features, ridgeless")
    ax_b.loglog(noises, pcr, "--", label="best top-K (PCR), ridgeless")
    ax_b.axvline(tr.noise, color="k", lw=0.6)
    if mc:
        from rmt.montecarlo.transfer import simulate_transfer

        for s in (noises[::4] if quick else noises[::3]):
            opt = optimal_features(st, N, 0.05, float(s))
            sim = simulate_transfer(st.eigenvalues, st.target_power, opt.b, N, 0.05, float(s),
                                    trials=16 if quick else 40, seed=seed + int(1e3 * s))
            v, e = sim.values["test_error"], sim.stderr["test_error"]
            ax_b.errorbar(s, v, yerr=2 * e, fmt="o", color="C4", ms=4)
            rows.append({"panel": "b-mc", "noise": float(s), "theory": opt.test_error, "simulation": v, "stderr": e})
        ax_b.plot([], [], "o", color="C4", label="optimal (ridge 0.05): simulation")
    ax_b.set_xlabel("label-noise variance")
    ax_b.set_ylabel("test error")
    ax_b.set_title(f"b. soft vs hard selection (transition at noise {tr.noise:.3g})")
    ax_b.legend(fontsize=7, loc="upper left")
    tw = ax_b.twinx()
    tw.semilogx(noises, reff, color="0.5", lw=0.8)
    tw.set_ylabel("r_eff / n of the soft optimum (grey)")

    ns = np.array([20, 40, 80, 160, 320] if quick else [10, 20, 40, 80, 120, 160, 240, 320])
    trs = [selection_transition(st, float(n)) for n in ns]
    ax_c.loglog(ns, [t.noise for t in trs], "o-", label="transition noise")
    ax_c.loglog(ns, [t.kept / n for t, n in zip(trs, ns)], "s-", label="kept modes / n (least squares)")
    ax_c.loglog(ns, [t.effective_rank / n for t, n in zip(trs, ns)], "^-", label="r_eff / n (soft)")
    for t, n in zip(trs, ns):
        rows.append({"panel": "c", "n": int(n), "noise": t.noise, "kept": t.kept, "effective_rank": t.effective_rank,
                     "risk": t.risk})
    ax_c.set_xlabel("n")
    ax_c.set_title("c. the ridgeless hard/soft transition")
    ax_c.legend(fontsize=8)
    fig.tight_layout()
    png = out / "transfer_selection.png"
    fig.savefig(png, dpi=130)
    plt.close(fig)
    keys = sorted({k for r in rows for k in r})
    with open(out / "transfer_selection.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    summary = {"files": [str(png), str(out / "transfer_selection.csv"), str(out / "transfer_selection.json")],
               "seconds": round(time.time() - t0, 1), "transition_noise_n100": tr.noise, "quick": quick}
    with open(out / "transfer_selection.json", "w") as fh:
        json.dump({**summary, "rows": rows}, fh, indent=1)
    return summary
