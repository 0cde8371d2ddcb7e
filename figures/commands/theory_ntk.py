"""``rmt theory ntk``: asymptotic test error of NTK regression (Adlam & Pennington 2020, arXiv:2008.06786).

Three scales (see :mod:`theory.ntk`):

* default -- quadratic scaling (``n0, n1, m`` proportional): ``--phi F --psi F`` (or ``--n0 --n1 --m``);
* ``--width-limit`` -- the infinite-width NTK (``n1 -> infinity``; ``--psi`` / ``--n1`` are not needed);
* ``--linear-width N`` -- the linear scaling (``n1 = N`` fixed while ``n0, m -> infinity``; give ``--phi``).

Every numeric flag takes a value, a list ``a,b`` or a sweep ``a:b:n[:log]``; one JSON object is printed per point.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

import numpy as np

from rmt.figures._cliutil import (add_format_arg, add_problem_args, emit, iter_problems, output_format, stack_problems,
                                  sweep_type)
from rmt._validation import check_positive_int
from rmt.problem import Problem
from rmt.theory.ntk import infinite_width, linear_scaling, quadratic_scaling

_HELP = ("NTK kernel regression (no f0 unless --include-f0): test error, bias, variance, noise variance, "
         "fine-grained variance over P=(W,a), X, eps; Adlam & Pennington 2020 (arXiv:2008.06786)")


def register(groups) -> None:
    p = groups["theory"].add_parser(
        "ntk", help="NTK regression in high dimensions (quadratic / infinite-width / linear scaling)",
        description=_HELP + ". Default: quadratic scaling (n0, n1, m proportional). --width-limit: infinite width. "
        "--linear-width N: width N fixed while n0, m grow (give --phi).")
    add_problem_args(p)
    p.add_argument("--lr-ratio", type=sweep_type("--lr-ratio"), default=[1.0], metavar="R",
                   help="first-to-second-layer learning-rate ratio r >= 0 (default 1; 0 = random features)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--width-limit", action="store_true", help="infinite-width NTK (n1 -> infinity)")
    mode.add_argument("--linear-width", type=sweep_type("--linear-width"), default=None, metavar="N",
                      help="linear scaling with this fixed integer width n1 (uses --phi only)")
    p.add_argument("--include-f0", action="store_true",
                   help="predictor includes the initial function f0 (quadratic scaling; linear scaling, both "
                        "formulations, where the limit is unchanged)")
    p.add_argument("--linear-method", choices=("auto", "exact", "wide"), default="auto",
                   help="linear scaling: exact n1 x n1 fixed point (n1 <= 12, cost ~ n1^4), wide formulation (any "
                        "n1, cost ~ n1, O(1/n1) from exact) or auto (exact up to n1 = 10, ridge 0 included; default)")
    p.add_argument("--json", action="store_true", help="print one JSON object per point (JSON lines)")
    add_format_arg(p)
    p.set_defaults(func=run)


def _linear(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.phi is None or args.psi is not None or args.n1 is not None or args.m is not None:
        raise ValueError("--linear-width N takes --phi (n0/m) and no --psi/--n1/--m")
    widths = [check_positive_int(w, "--linear-width") for w in args.linear_width]
    out = []
    for n1, phi, ridge, noise, signal, lr in itertools.product(widths, args.phi, args.ridge, args.noise,
                                                               args.signal, args.lr_ratio):
        prob = Problem(n0=phi, n1=n1, m=1.0, ridge=ridge, activation=args.activation, noise=noise, signal=signal)
        res = linear_scaling(prob, lr_ratio=lr, include_f0=args.include_f0, method=args.linear_method)
        out.extend(res.nested_records())
    return out


def run(args: argparse.Namespace) -> int:
    out_format = output_format(args)
    if args.linear_width is not None:
        emit(_linear(args), as_json=out_format)
        return 0
    if args.width_limit and args.include_f0:
        raise ValueError("--include-f0 is not available with --width-limit")
    if args.width_limit and args.psi is None and args.phi is not None:
        args.psi = [1.0]  # not used by the infinite-width limit
    # one vectorized call over all (problem, lr) points: problems along axis 0, learning-rate ratios along axis 1
    grid = stack_problems(list(iter_problems(args)), trailing_axes=1)
    lr_grid = np.asarray(args.lr_ratio, dtype=float)[None, :]
    if args.width_limit:
        res = infinite_width(grid, lr_ratio=lr_grid)
    else:
        res = quadratic_scaling(grid, lr_ratio=lr_grid, include_f0=args.include_f0)
    emit(res.nested_records(), as_json=out_format)
    return 0
