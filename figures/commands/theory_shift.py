"""``rmt theory shift``: exact test error, bias and variance of random-feature regression under covariate shift.

Theory of :mod:`theory.covariate_shift` (Tripuraneni, Adlam & Pennington, arXiv:2111.08234;
docs/models.md §5.2-§5.6). The shift is a joint spectral measure given as atoms
``--spectrum L:LS:W,L:LS:W,...`` (train eigenvalue, test eigenvalue, weight) or a named family
(``--family two-point --strength T [--train L1,L2] [--weights W1,W2] [--scale C]``,
``--family power-law --alpha A --alpha-star A``, ``--family isotropic``). Every numeric flag takes a value, a list
``a,b,c`` or a sweep ``start:stop:num[:log]``; a sweep prints one JSON object per point (JSON lines). The whole grid
is evaluated in one vectorized call. ``--nonlinear-signal F`` adds the nonlinear (He2 single-index) teacher of power
``F_*^2`` on the training law; ``--nonlinear-signal-test`` overrides its test-law second moment (docs/models.md §5.10).
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np

from rmt.figures._cliutil import (add_format_arg, add_problem_args, emit, iter_problems, output_format, parse_values,
                                  sweep_type)
from rmt.theory.covariate_shift import (
    JointSpectrum,
    covariate_shift_error,
    id_ood_line,
    power_law,
    two_point,
)

FAMILIES = ("two-point", "power-law", "isotropic")


def register(groups) -> None:
    p = groups["theory"].add_parser(
        "shift", help="random features under covariate shift (Tripuraneni, Adlam & Pennington)",
        description="Exact high-dimensional test error, bias and variance of random-feature ridge regression with "
        "training inputs N(0, Sigma) and test inputs N(0, Sigma_*), simultaneously diagonal (arXiv:2111.08234; "
        "docs/models.md §5.2, §5.6). Prints test_error (on the test law, without test-label "
        "noise), bias, variance and id_test_error (on the training law); in the ridgeless over-parameterised "
        "regime also the slope and intercept of the exact linear ID-OOD law.",
        epilog="Examples: rmt theory shift --phi 0.5 --psi 0.25 --ridge 1e-3 --activation tanh --noise 0.1 "
        "--spectrum 1.6:0.4:1,0.4:1.6:1 --json;  rmt theory shift --phi 0.5 --psi 0.05:0.45:5 --ridge 0 "
        "--activation erf --family two-point --strength=-0.25,1 --json  (a value starting with '-' needs '=')")
    add_problem_args(p)
    add_spectrum_args(p)
    p.add_argument("--nonlinear-signal", type=sweep_type("--nonlinear-signal"), default=[0.0], metavar="F",
                   help="power F_*^2 >= 0 of a nonlinear (He2 single-index) teacher component on the training law "
                   "(default 0: linear teacher)")
    p.add_argument("--nonlinear-signal-test", type=sweep_type("--nonlinear-signal-test"), default=None, metavar="F",
                   help="its second moment >= 0 on the test law (default: the He2 teacher's F (3r^2 - 2r + 1)/2 "
                   "with r = s_*/s)")
    p.add_argument("--json", action="store_true", help="print JSON (one object per point)")
    add_format_arg(p)
    p.set_defaults(func=run)


def _nonlinear_values(args: argparse.Namespace) -> tuple[list[float], list[float | None]]:
    """The values of ``--nonlinear-signal`` and ``--nonlinear-signal-test`` (``[None]``: the He2 default).

    Raises:
        ValueError: a negative or non-finite value, naming the flag.
    """
    fs = list(args.nonlinear_signal)
    ft = [None] if args.nonlinear_signal_test is None else list(args.nonlinear_signal_test)
    for flag, values in (("--nonlinear-signal", fs), ("--nonlinear-signal-test", ft)):
        for v in values:
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{flag} must be finite and >= 0, got {v:g}")
    return fs, ft


def add_spectrum_args(p: argparse.ArgumentParser) -> None:
    """The shift flags shared by ``rmt theory shift`` and ``rmt simulate shift``."""
    p.add_argument("--spectrum", metavar="L:LS:W,...", default=None,
                   help="joint spectrum atoms: train eigenvalue L > 0, test eigenvalue LS >= 0, weight W > 0 "
                   "(W may be omitted: equal weights)")
    p.add_argument("--family", choices=FAMILIES, default=None,
                   help="a named family instead of --spectrum (default isotropic when neither is given)")
    p.add_argument("--strength", type=sweep_type("--strength"), default=None, metavar="T",
                   help="two-point shift strength t: 0 no shift, 1 swap, < 0 test variance onto the "
                   "strongly-trained directions (default 1)")
    p.add_argument("--train", default="1.6,0.4", metavar="L1,L2", help="two-point train eigenvalues (default 1.6,0.4)")
    p.add_argument("--weights", default="0.5,0.5", metavar="W1,W2", help="two-point weights (default 0.5,0.5)")
    p.add_argument("--scale", type=sweep_type("--scale"), default=None, metavar="C",
                   help="two-point test covariance multiplier (s_* = C s; default 1)")
    p.add_argument("--alpha", type=sweep_type("--alpha"), default=None, metavar="A",
                   help="power-law train exponent < 1: lambda = (1-A) t^-A")
    p.add_argument("--alpha-star", type=sweep_type("--alpha-star"), default=None, metavar="A",
                   help="power-law test exponent < 1")
    p.add_argument("--nodes", type=int, default=200, metavar="N", help="power-law quadrature nodes (default 200)")


def parse_spectrum(text: str) -> JointSpectrum:
    """Parse ``L:LS:W,L:LS:W,...`` (weights optional) into a :class:`JointSpectrum`.

    Raises:
        ValueError: naming ``--spectrum``.
    """
    atoms = [a.strip() for a in text.split(",") if a.strip()]
    rows = []
    try:
        for a in atoms:
            parts = [float(x) for x in a.split(":")]
            if len(parts) == 2:
                parts.append(1.0)
            if len(parts) != 3:
                raise ValueError
            rows.append(parts)
        if not rows:
            raise ValueError
    except ValueError:
        raise ValueError(f"--spectrum must be atoms L:LS:W (or L:LS) separated by commas, got {text!r}") from None
    arr = np.array(rows)
    try:
        return JointSpectrum(arr[:, 0], arr[:, 1], arr[:, 2], label="atoms")
    except ValueError as exc:
        raise ValueError(f"--spectrum: {exc}") from None


def family_points(args: argparse.Namespace) -> tuple[list[dict[str, float]], Any]:
    """The family parameters of each point and a builder of the batched spectrum for a list of them."""
    fam = args.family
    if args.spectrum is not None and fam is not None:
        raise ValueError("give either --spectrum or --family, not both")
    two_flags = {"--strength": args.strength, "--scale": args.scale}
    pl_flags = {"--alpha": args.alpha, "--alpha-star": args.alpha_star}
    if fam != "two-point":
        for k, v in two_flags.items():
            if v is not None:
                raise ValueError(f"{k} needs --family two-point")
    if fam != "power-law":
        for k, v in pl_flags.items():
            if v is not None:
                raise ValueError(f"{k} needs --family power-law")
    if args.spectrum is not None:
        sp = parse_spectrum(args.spectrum)
        return [{}], lambda pts: sp
    if fam is None or fam == "isotropic":
        return [{}], lambda pts: JointSpectrum.isotropic()
    if fam == "two-point":
        train = parse_values(args.train, "--train")
        weights = parse_values(args.weights, "--weights")
        if len(train) != 2 or len(weights) != 2:
            raise ValueError("--train and --weights take two values each for --family two-point")
        pts = [{"strength": t, "scale": c} for t, c in itertools.product(args.strength or [1.0], args.scale or [1.0])]

        def build(sel: list[dict[str, float]]) -> JointSpectrum:
            return two_point(np.array([q["strength"] for q in sel]), train=train, weights=weights,
                             scale=np.array([q["scale"] for q in sel]))

        return pts, build
    if args.alpha is None or args.alpha_star is None:
        raise ValueError("--family power-law needs --alpha and --alpha-star")
    pts = [{"alpha": a, "alpha_star": b} for a, b in itertools.product(args.alpha, args.alpha_star)]

    def build_pl(sel: list[dict[str, float]]) -> JointSpectrum:
        return power_law(np.array([q["alpha"] for q in sel]), np.array([q["alpha_star"] for q in sel]),
                         nodes=args.nodes)

    return pts, build_pl


def run(args: argparse.Namespace) -> int:
    out_format = output_format(args)
    nl_values, nl_test_values = _nonlinear_values(args)
    fam_pts, build = family_points(args)
    problems = list(iter_problems(args))
    nonlinear = nl_values != [0.0] or nl_test_values != [None]
    grid = [(pr, dict(fp, nonlinear_signal=f, nonlinear_signal_test=ft) if nonlinear else fp)
            for pr, fp, f, ft in itertools.product(problems, fam_pts, nl_values, nl_test_values)]
    col = lambda k: np.array([float(getattr(pr, k)) for pr, _ in grid])  # noqa: E731
    phi, psi, ridge, noise, signal = (col(k) for k in ("phi", "psi", "ridge", "noise", "signal"))
    spec = build([{k: v for k, v in f.items() if not k.startswith("nonlinear_")} for _, f in grid])
    fnl = np.array([f.get("nonlinear_signal", 0.0) for _, f in grid])
    fnl_test = None if nl_test_values == [None] else np.array([f["nonlinear_signal_test"] for _, f in grid])
    r = covariate_shift_error(phi, psi, spectrum=spec, ridge=ridge, activation=args.activation, noise=noise,
                              signal=signal, nonlinear_signal=fnl, nonlinear_signal_test=fnl_test)
    in_regime = (ridge == 0) & (psi < phi)
    line = None
    if np.any(in_regime):
        line = id_ood_line(phi, spectrum=spec, activation=args.activation, noise=noise, signal=signal,
                           nonlinear_signal=fnl, nonlinear_signal_test=fnl_test)
    records = []
    for i, ((pr, fp), rec) in enumerate(zip(grid, r.records())):
        out: dict[str, Any] = {"model": rec["model"], "activation": rec["activation"], "phi": rec["phi"],
                               "psi": rec["psi"], "width_ratio": rec["phi"] / rec["psi"], "ridge": rec["ridge"],
                               "noise": rec["noise"], "signal": rec["signal"]}
        if pr.n0 != 1.0:
            out.update(n0=float(pr.n0), n1=float(pr.n1), m=float(pr.m))
        out["spectrum"] = args.spectrum if args.spectrum is not None else (args.family or "isotropic")
        out.update({k: v for k, v in fp.items() if not k.startswith("nonlinear_")})
        out.update(test_error=rec["test_error"], bias=rec["bias"], variance=rec["variance"],
                   id_test_error=rec["id_test_error"], id_bias=rec["id_bias"], id_variance=rec["id_variance"],
                   ood_penalty=rec["ood_penalty"],  # nan (JSON null) at the ridgeless pole
                   noise_variance=rec["noise_variance"],
                   s=rec["s"], s_star=rec["s_star"], rho=rec["rho"], kappa=rec["kappa"], d2=rec["d2"],
                   residual=rec["residual"])
        if nonlinear:  # keys added only with a nonlinear teacher (the linear teacher's output is unchanged)
            out.update(nonlinear_signal=rec["nonlinear_signal"], nonlinear_signal_test=rec["nonlinear_signal_test"],
                       nonlinear_variance=rec["nonlinear_variance"])
        if line is not None and in_regime[i]:
            out.update(id_ood_slope=float(np.asarray(line.slope)[i]),
                       id_ood_intercept=float(np.asarray(line.intercept)[i]))
        records.append(out)
    emit(records, as_json=out_format)
    return 0
