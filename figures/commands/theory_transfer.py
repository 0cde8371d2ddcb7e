"""``rmt theory transfer`` and ``rmt simulate transfer``: ridge regression on transferred linear features.

Spectrum-only feature transfer (Li, Sen & Adlam arXiv:2404.12481; :mod:`rmt.theory.transfer`): inputs
``x ~ N(0, diag(i^-alpha))``, ``i <= --modes``, tasks with prior power ``i^-beta`` per mode, features
``z_i = b_i x_i`` with ``b`` from ``--features`` (``identity``, ``top:K``, ``power:P`` for ``b_i = lambda_i^P``, or
``optimal``). Sum-convention ridge (``kappa`` solves ``sum c/(c + kappa) + ridge/kappa = n``, ``c_i = b_i^2
lambda_i``); ``test_error`` is the excess error; ``fine_grained`` gives ``X`` (``V_X``) and ``eps`` (``V_eps``).
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.figures._cliutil import add_format_arg, emit, output_format, sweep_type


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpha", type=sweep_type("--alpha"), required=True, metavar="A",
                   help="spectral decay alpha > 0 (lambda_i = i^-alpha)")
    p.add_argument("--beta", type=sweep_type("--beta"), required=True, metavar="B",
                   help="task prior decay beta > 0 (prior power i^-beta in mode i)")
    p.add_argument("--modes", type=int, default=1000, metavar="M", help="number of modes (default 1000)")
    p.add_argument("--n", type=sweep_type("--n"), required=True, metavar="N", help="training samples")
    p.add_argument("--ridge", type=sweep_type("--ridge"), required=True, metavar="R",
                   help="sum-convention ridge >= 0")
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="S",
                   help="label-noise variance >= 0 (default 0)")
    p.add_argument("--features", required=True, metavar="SPEC",
                   help="identity | top:K | power:P (b_i = lambda_i^P) | optimal")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    add_format_arg(p)


def register(groups) -> None:
    t = groups["theory"].add_parser(
        "transfer", help="feature transfer: ridge regression on pretrained linear features (Li, Sen & Adlam)",
        description="Task-averaged test error, bias and fine-grained variance of ridge regression on features "
        "z_i = b_i x_i of x ~ N(0, diag(i^-alpha)) with task prior power i^-beta (Li, Sen & Adlam "
        "arXiv:2404.12481, spectrum-only case), through the eigenframework; --features optimal also reports the "
        "optimal featurisation's kept features, effective rank and regime. Numeric flags accept a,b,c or "
        "start:stop:num[:log].")
    _add_common(t)
    t.set_defaults(func=run_theory)
    s = groups["simulate"].add_parser(
        "transfer", help="simulate ridge regression on transferred linear features (JAX)",
        description="Monte Carlo (rmt.montecarlo.transfer): tasks drawn from the prior, Gaussian data, ridge "
        "regression on the features; estimates with standard errors under the keys of `rmt theory transfer`.")
    _add_common(s)
    s.add_argument("--trials", type=int, default=40, metavar="T", help="replicates (default 40)")
    s.add_argument("--seed", type=int, default=0, metavar="S")
    s.set_defaults(func=run_simulate)


def _check_features(spec: str, modes: int) -> None:
    kind, _, arg = spec.partition(":")
    ok = (kind in ("identity", "optimal") and not arg) or (kind in ("top", "power") and arg)
    if not ok:
        raise ValueError(f"--features must be identity, top:K, power:P or optimal, got {spec!r}")
    if kind == "top":
        try:
            K = int(arg)
        except ValueError:
            raise ValueError(f"--features top:K needs an integer K, got {arg!r}") from None
        if not 1 <= K <= modes:
            raise ValueError(f"--features top:K needs 1 <= K <= --modes = {modes}, got {K}")
    if kind == "power":
        try:
            float(arg)
        except ValueError:
            raise ValueError(f"--features power:P needs a number P, got {arg!r}") from None


def _points(args: argparse.Namespace):
    check_positive(args.alpha, "--alpha")
    check_positive(args.beta, "--beta")
    check_positive_int(args.modes, "--modes")
    check_positive(args.n, "--n")
    check_nonnegative(args.ridge, "--ridge")
    check_nonnegative(args.noise, "--noise")
    _check_features(args.features, args.modes)
    return itertools.product(args.alpha, args.beta, args.n, args.ridge, args.noise)


def _features(setting, spec: str, n: float, ridge: float, noise: float):
    from rmt.theory.transfer import features, optimal_features

    if spec == "optimal":
        opt = optimal_features(setting, n, ridge, noise)
        return opt.b, opt
    return features(spec, setting), None


def run_theory(args: argparse.Namespace) -> int:
    from rmt.theory.transfer import TransferSetting, transfer

    records: list[dict[str, Any]] = []
    for alpha, beta, n, ridge, noise in _points(args):
        st = TransferSetting.power_law(alpha, beta, args.modes)
        b, opt = _features(st, args.features, n, ridge, noise)
        rec: dict[str, Any] = {"model": "transfer", "alpha": alpha, "beta": beta, "modes": args.modes, "n": n,
                               "ridge": ridge, "noise": noise, "features": args.features}
        rec.update(transfer(st, b, n, ridge, noise).as_dict())
        if opt is not None:
            rec.update({"effective_rank": opt.effective_rank, "regime": opt.regime, "attained": opt.attained,
                        "optimal_test_error": opt.test_error})
        records.append(rec)
    emit(records, as_json=output_format(args))
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from rmt.montecarlo.transfer import simulate_transfer
    from rmt.theory.transfer import TransferSetting

    trials = check_positive_int(args.trials, "--trials", minimum=3)
    pts = list(_points(args))
    for *_, n, ridge, _noise in pts:
        check_positive_int(n, "--n")
    records = []
    for alpha, beta, n, ridge, noise in pts:
        st = TransferSetting.power_law(alpha, beta, args.modes)
        b, _ = _features(st, args.features, n, ridge, noise)
        sim = simulate_transfer(st.eigenvalues, st.target_power, b, int(n), ridge, noise, trials=trials,
                                seed=args.seed)
        records.append({"model": "transfer", "alpha": alpha, "beta": beta, "modes": args.modes, "n": n,
                        "ridge": ridge, "noise": noise, "features": args.features, **sim.as_dict()})
    emit(records, as_json=output_format(args))
    return 0
