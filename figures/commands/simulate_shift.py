"""``rmt simulate shift``: Monte Carlo of random-feature regression under covariate shift, with standard errors.

Uses :func:`montecarlo.covariate_shift.simulate_shift` (each fitted model is scored on test inputs from ``Sigma_*``
and from ``Sigma``) through the resumable sweep of :mod:`montecarlo.sweep`. The shift flags are those of
``rmt theory shift`` (``--spectrum L:LS:W,...`` or ``--family two-point|power-law|isotropic``); the run flags those of
``rmt simulate rf``. Each point prints ``test_error``, ``train_error``, ``bias``, ``variance``, ``fine_grained`` (OOD),
``id_test_error``, ``id_bias``, ``id_variance`` and ``stderr`` with the same keys; a sweep prints one object per point.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any, Mapping

from rmt.figures._cliutil import add_problem_args, emit, output_format
from rmt.figures.commands.simulate import _add_rf_args, _human, _rf_options, _rf_problems
from rmt.figures.commands.theory_shift import add_spectrum_args, family_points


def register(groups) -> None:
    p = groups["simulate"].add_parser(
        "shift", help="random features under covariate shift (Monte Carlo, JAX)",
        description="Simulate random-feature ridge regression with training inputs N(0, Sigma) and test inputs "
        "N(0, Sigma_*) (diagonal in a shared basis; atom k on round(w_k n0) coordinates). Every fitted model is "
        "scored on both test laws; standard errors are over --reps repetitions of a crossed design.",
        epilog="Example: rmt simulate shift --n0 400 --n1 400 --m 200 --ridge 0.1 --activation tanh --noise 0.1 "
        "--family two-point --strength 1 --reps 8 --json")
    add_problem_args(p)
    add_spectrum_args(p)
    _add_rf_args(p)
    p.set_defaults(func=run)


def _record(rec: Mapping[str, Any], fam: Mapping[str, float], spectrum: str) -> dict[str, Any]:
    from rmt.montecarlo.results import shift_record

    out = shift_record(rec)
    out["spectrum"] = spectrum
    out.update(fam)
    return out


def run(args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import SweepPoint, run_sweep

    fam_pts, build = family_points(args)
    opts = _rf_options(args)
    points, meta = [], []
    spectrum_name = args.spectrum if args.spectrum is not None else (args.family or "isotropic")
    for problem, fam in itertools.product(list(_rf_problems(args)), fam_pts):
        spec = build([fam])
        spec = spec[0] if spec.batch_shape else spec
        points.append(SweepPoint("shift", problem.replace(covariance=spec.covariance()), opts))
        meta.append((fam, spectrum_name))
    records = (_record(rec, *m) for (rec, _cached), m in zip(run_sweep(points, db=args.db, quiet=args.quiet), meta))
    emit(records, as_json=output_format(args), fmt=_fmt)
    return 0


def _fmt(rec: Mapping[str, Any]) -> str:
    err = rec["stderr"]
    ood = {k: v for k, v in rec.items() if not k.startswith("id_")}
    ood["stderr"] = {k: v for k, v in err.items() if not k.startswith("id_")}
    lines = [_human(ood)]
    for k in ("id_test_error", "id_bias", "id_variance"):
        if isinstance(rec.get(k), (int, float)) and isinstance(err.get(k), (int, float)):
            lines.append(f"  {k:<22s} {rec[k]:.6g} +- {err[k]:.2g}")
    return "\n".join(lines)
