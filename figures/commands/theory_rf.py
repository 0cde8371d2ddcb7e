"""``rmt theory rf`` and ``rmt theory linear``: exact asymptotics at single points and sweeps.

Every flag that takes a number also takes a list ``a,b,c`` or a sweep ``start:stop:num[:log]``; the cartesian product
of the values is evaluated in one vectorized call and printed as one JSON object per point (``--json``) or one block
per point.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from rmt.figures._cliutil import (add_format_arg, add_problem_args, emit, iter_problems, output_format, parse_values,
                                  stack_problems, sweep_type)
from rmt._validation import check_positive_int
from rmt.problem import CovarianceSpectrum, LinearProblem
from rmt.theory.linear import linear_theory
from rmt.theory.random_features import optimal_ridge, parse_k, rf_theory, rf_theory_mp


def _k_arg(name: str):
    def conv(text: str) -> float:
        try:
            return parse_k(text)
        except ValueError:
            raise ValueError(f"{name} must be an integer >= 1 or inf, got {text!r}") from None

    conv.__name__ = name
    return conv


def register(groups) -> None:
    p = groups["theory"].add_parser(
        "rf", help="random-feature ridge regression: test/train error, bias, variance, fine-grained terms",
        description="Exact high-dimensional limit of random-feature ridge regression (Adlam & Pennington 2020; Mei & "
        "Montanari 2019): K = F^T F/n1, F = sigma(W X/sqrt(n0)), predictor Y (K + ridge I)^-1 F^T f(x)/n1, "
        "phi = n0/m, psi = n0/n1. --ridge 0 is the exact ridgeless limit.")
    add_problem_args(p)
    p.add_argument("--nonlinear-signal", type=sweep_type("--nonlinear-signal"), default=[0.0], metavar="F",
                   help="power F_star^2 of a nonlinear teacher component (default 0)")
    p.add_argument("--ensemble", type=_k_arg("--ensemble"), default=None, metavar="K",
                   help="also report the average of K independently initialised models (integer or inf)")
    p.add_argument("--bagging", type=_k_arg("--bagging"), default=None, metavar="K",
                   help="also report the average of K models trained on independent training sets (integer or inf)")
    p.add_argument("--optimal-ridge", action="store_true",
                   help="also report the ridge minimising the test error and the error there")
    p.add_argument("--method", default="effective-ridge", choices=["effective-ridge", "quartic", "mpmath"],
                   help="solution route (default effective-ridge; mpmath evaluates point by point)")
    p.add_argument("--precision", type=int, default=50, metavar="DIGITS", help="digits for --method mpmath")
    p.add_argument("--json", action="store_true", help="one JSON object per point")
    add_format_arg(p)
    p.set_defaults(func=run_rf)

    q = groups["theory"].add_parser(
        "linear", help="linear ridge regression (Hastie, Montanari, Rosset & Tibshirani)",
        description="Exact high-dimensional risk of ridge regression beta_hat = (X^T X/n + ridge I)^-1 X^T y/n with "
        "x = Sigma^(1/2) z, gamma = d/n, |beta|^2 = signal; --ridge 0 is the min-norm interpolator.")
    q.add_argument("--gamma", type=sweep_type("--gamma"), metavar="F", help="d/n (list or sweep)")
    q.add_argument("--n", type=sweep_type("--n"), metavar="N", help="number of samples")
    q.add_argument("--d", type=sweep_type("--d"), metavar="N", help="dimension")
    q.add_argument("--ridge", type=sweep_type("--ridge"), required=True, metavar="F", help="ridge >= 0")
    q.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="F", help="noise variance (default 0)")
    q.add_argument("--signal", type=sweep_type("--signal"), default=[1.0], metavar="F",
                   help="|beta|^2 (default 1)")
    q.add_argument("--eigenvalues", metavar="S1,S2,...", help="eigenvalues of Sigma (default: identity)")
    q.add_argument("--eigen-weights", metavar="W1,W2,...", help="fraction of directions per eigenvalue")
    q.add_argument("--beta-weights", metavar="G1,G2,...", help="fraction of |beta|^2 per eigenvalue (default: "
                   "isotropic beta)")
    q.add_argument("--json", action="store_true", help="one JSON object per point")
    add_format_arg(q)
    q.set_defaults(func=run_linear)


def run_rf(args: argparse.Namespace) -> int:
    out_format = output_format(args)
    problems = [pr for fs in args.nonlinear_signal for pr in iter_problems(args, nonlinear_signal=fs)]
    if args.method == "mpmath":
        prec = check_positive_int(args.precision, "--precision", minimum=15)
        results = [rf_theory_mp(pr, precision=prec) for pr in problems]
        records = [r.nested_records()[0] for r in results]
        averaged = results
    else:
        grid = stack_problems(problems)
        res = rf_theory(grid, method=args.method)
        records = res.nested_records()
        averaged = [res] * len(records)
    extra: list[dict[str, Any]] = [{} for _ in records]
    if args.ensemble is not None or args.bagging is not None:
        for i, (rec, r) in enumerate(zip(records, averaged)):
            for kind, k in (("ensemble", args.ensemble), ("bagging", args.bagging)):
                if k is None:
                    continue
                a = getattr(r, kind)(k)
                idx = 0 if args.method == "mpmath" else i
                pick = lambda v: float(np.ravel(np.asarray(v, dtype=float))[idx])  # noqa: E731
                extra[i][kind] = {"k": k, "test_error": pick(a.test_error), "bias": pick(a.bias),
                                  "variance": pick(a.variance),
                                  "fine_grained": {key: pick(v) for key, v in a.fine_grained.items()}}
    if args.optimal_ridge:
        opt = optimal_ridge(stack_problems(problems))
        for i in range(len(records)):
            pick = lambda v: float(np.ravel(np.asarray(v, dtype=float))[i])  # noqa: E731
            extra[i]["optimal_ridge"] = {"ridge": pick(opt.ridge), "lambda_mm": pick(opt.lambda_mm),
                                         "test_error": pick(opt.test_error)}
    emit(({**rec, **ext} for rec, ext in zip(records, extra)), as_json=out_format)
    return 0


def _list(text: str | None, name: str) -> list[float] | None:
    if text is None:
        return None
    vals = parse_values(text, name)
    return vals


def run_linear(args: argparse.Namespace) -> int:
    out_format = output_format(args)
    if args.gamma is not None and (args.n is not None or args.d is not None):
        raise ValueError("give either --gamma or --n and --d, not both")
    if args.gamma is None and (args.n is None or args.d is None):
        raise ValueError("give the ratio --gamma F or the sizes --n N --d N")
    eig = _list(args.eigenvalues, "--eigenvalues")
    spectrum = None
    if eig is not None:
        spectrum = CovarianceSpectrum(eig, weights=_list(args.eigen_weights, "--eigen-weights"))
    elif args.eigen_weights is not None or args.beta_weights is not None:
        raise ValueError("--eigen-weights and --beta-weights need --eigenvalues")
    bw = _list(args.beta_weights, "--beta-weights")
    if args.gamma is not None:
        mesh = np.meshgrid(args.gamma, [1.0], args.ridge, args.noise, args.signal, indexing="ij")
    else:
        mesh = np.meshgrid(args.n, args.d, args.ridge, args.noise, args.signal, indexing="ij")
    a, b, ridge, noise, signal = (v.ravel() for v in mesh)
    if args.gamma is not None:
        problem = LinearProblem.from_ratio(a, ridge=ridge, noise=noise, signal=signal, spectrum=spectrum,
                                           beta_weights=bw)
    else:
        problem = LinearProblem(n=a, d=b, ridge=ridge, noise=noise, signal=signal, spectrum=spectrum,
                                beta_weights=bw)
    emit(linear_theory(problem).nested_records(), as_json=out_format)
    return 0
