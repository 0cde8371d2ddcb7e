"""``rmt theory eigen`` and ``rmt simulate eigen``: the eigenframework for power-law spectra.

``lambda_i = i^-alpha``, ``v_i^2 = i^-beta`` (theory.eigen; ../shared/reference/eigenframework.md). Without
``--modes`` the theory uses an effectively infinite spectrum (10^4 x the largest size, logarithmically binned, with
the first-order tail); with ``--modes M`` it is truncated at ``M`` exactly (what ``rmt simulate eigen`` simulates).
The ridge is the sum convention ``K + ridge I`` (per-sample ``ridge / n``); ``test_error`` is the excess error
(no test noise) and ``test_mse`` adds the noise floor.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

from rmt.figures._cliutil import add_format_arg, emit, output_format, sweep_type
from rmt._validation import check_nonnegative, check_positive, check_positive_int


def _add_common(p: argparse.ArgumentParser, *, need_modes: bool) -> None:
    p.add_argument("--alpha", type=sweep_type("--alpha"), required=True, metavar="F",
                   help="spectral decay alpha > 1 (lambda_i = i^-alpha)")
    p.add_argument("--beta", type=sweep_type("--beta"), required=True, metavar="F",
                   help="target decay beta > 1 (v_i^2 = i^-beta)")
    p.add_argument("--n", type=sweep_type("--n"), required=True, metavar="N", help="training samples")
    p.add_argument("--ridge", type=sweep_type("--ridge"), required=True, metavar="F",
                   help="sum-convention ridge >= 0 (K + ridge I)")
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="F",
                   help="label-noise variance >= 0 (default 0)")
    p.add_argument("--p", type=sweep_type("--p"), default=None, metavar="P",
                   help="random features (omit for kernel ridge regression)")
    p.add_argument("--modes", type=int, required=need_modes, default=None, metavar="M",
                   help="truncate the power law at M modes" + ("" if need_modes else
                                                               " (default: effectively infinite)"))
    p.add_argument("--json", action="store_true", help="print JSON lines")
    add_format_arg(p)


def register(groups) -> None:
    t = groups["theory"].add_parser(
        "eigen", help="eigenframework KRR / random features for power-law spectra",
        description="Eigenframework (Simon et al. arXiv:2110.03922; Simon, Karkada, Ghosh & Belkin "
        "arXiv:2311.14646) test and train error of kernel ridge regression (no --p) or random-feature ridge "
        "regression (--p) for lambda_i = i^-alpha, v_i^2 = i^-beta. Every numeric flag accepts a list a,b,c or a "
        "sweep start:stop:num[:log].")
    _add_common(t, need_modes=False)
    t.set_defaults(func=run_theory)
    s = groups["simulate"].add_parser(
        "eigen", help="simulate KRR / linear random features on Gaussian data with a power-law covariance",
        description="Monte Carlo (montecarlo.eigen): x ~ N(0, diag(i^-alpha)), i <= --modes, target with v_i^2 = "
        "i^-beta; prints the estimates and their standard errors under the keys of `rmt theory eigen`.")
    _add_common(s, need_modes=True)
    s.add_argument("--trials", type=int, default=40, metavar="R", help="datasets (default 40)")
    s.add_argument("--feature-draws", type=int, default=4, metavar="F", help="RF feature draws per dataset")
    s.add_argument("--seed", type=int, default=0, metavar="S")
    s.set_defaults(func=run_simulate)


def _points(args: argparse.Namespace):
    for name in ("--alpha", "--beta"):
        for v in getattr(args, name[2:]):
            if not v > 1:
                raise ValueError(f"{name} must be > 1, got {v!r}")
    check_positive(args.n, "--n")
    check_nonnegative(args.ridge, "--ridge")
    check_nonnegative(args.noise, "--noise")
    ps = [None] if args.p is None else list(check_positive(args.p, "--p"))
    if args.modes is not None:
        check_positive_int(args.modes, "--modes")
    return itertools.product(args.alpha, args.beta, args.n, args.ridge, args.noise, ps)


def _system(alpha: float, beta: float, modes: int | None, max_size: float):
    from rmt.theory.eigen import Eigensystem
    from rmt.theory.eigen_scaling import powerlaw_system

    if modes is None:
        return powerlaw_system(alpha, beta, max_size), "effectively infinite (binned, with tail)"
    return Eigensystem.power_law(alpha, beta, modes), f"truncated at {modes} modes"


def run_theory(args: argparse.Namespace) -> int:
    from rmt.theory.eigen import EigenProblem, evaluate

    records: list[dict[str, Any]] = []
    cache: dict[tuple, Any] = {}
    for alpha, beta, n, ridge, noise, p in _points(args):
        top = max(max(args.n), max(args.p) if args.p else 0.0)
        key = (alpha, beta)
        if key not in cache:
            cache[key] = _system(alpha, beta, args.modes, top)
        system, desc = cache[key]
        vals = evaluate(EigenProblem(system, n=n, ridge=ridge, noise=noise, p=p))
        records.append({"model": "krr" if p is None else "rf", "alpha": alpha, "beta": beta, "n": n, "p": p,
                        "ridge": ridge, "noise": noise, **vals, "spectrum": desc})
    emit(records, as_json=output_format(args))
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from rmt.montecarlo.eigen import simulate_eigen
    from rmt.theory.eigen import EigenProblem, Eigensystem

    trials = check_positive_int(args.trials, "--trials", minimum=3)
    draws = check_positive_int(args.feature_draws, "--feature-draws", minimum=2)
    records = []
    for alpha, beta, n, ridge, noise, p in _points(args):
        check_positive_int(n, "--n")
        if p is not None:
            check_positive_int(p, "--p")
        system = Eigensystem.power_law(alpha, beta, args.modes)
        sim = simulate_eigen(EigenProblem(system, n=n, ridge=ridge, noise=noise, p=p), trials=trials,
                       feature_draws=draws, seed=args.seed)
        records.append({"model": "krr" if p is None else "rf", "alpha": alpha, "beta": beta, "n": n, "p": p,
                        "ridge": ridge, "noise": noise, "modes": args.modes, **sim.as_dict()})
    emit(records, as_json=output_format(args))
    return 0
