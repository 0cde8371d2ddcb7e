"""``rmt theory hea`` and ``rmt simulate hea``: kernel learning curves from the Hermite eigenstructure ansatz.

Data ``x ~ N(0, diag(gamma))`` with ``gamma_i ∝ i^-decay``, ``i <= --d``, normalised to trace 1; a target given as
Hermite monomials of the whitened input (``--target 0=1,1=0.6,0.1=0.5,2.2=0.4``: coordinates joined by dots, then
the coefficient; ``0.1`` is ``h_1(z_0) h_1(z_1)``, ``2.2`` is ``h_2(z_2)``). Theory: :mod:`rmt.theory.hea`
(Karkada, Turnbull, Liu & Simon arXiv:2510.14878) through the eigenframework; simulation: :mod:`rmt.montecarlo.hea`
(kernel ridge regression with the exact kernel). Sum-convention ridge; ``test_error`` is the excess error.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.figures._cliutil import add_format_arg, emit, output_format, sweep_type

KERNELS = ("linear", "gaussian", "laplace", "relu-nngp", "relu-ntk")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", required=True, metavar="NAME", help=" | ".join(KERNELS))
    p.add_argument("--d", type=int, required=True, metavar="D", help="input dimension")
    p.add_argument("--decay", type=float, default=0.0, metavar="A", help="gamma_i ∝ i^-A (default 0: isotropic)")
    p.add_argument("--n", type=sweep_type("--n"), required=True, metavar="N", help="training samples")
    p.add_argument("--ridge", type=sweep_type("--ridge"), required=True, metavar="R", help="sum-convention ridge")
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="S", help="label-noise variance")
    p.add_argument("--bandwidth", type=float, default=1.0, metavar="S", help="Gaussian/Laplace bandwidth (1)")
    p.add_argument("--target", default="0=1", metavar="SPEC", help="Hermite monomials, e.g. 0=1,0.1=0.5,2.2=0.4")
    p.add_argument("--json", action="store_true", help="print JSON lines")
    add_format_arg(p)


def register(groups) -> None:
    t = groups["theory"].add_parser(
        "hea", help="kernel learning curves from the Hermite eigenstructure ansatz (Karkada et al.)",
        description="Test error and monomial learnabilities of kernel ridge regression on anisotropic Gaussian data "
        "predicted by the Hermite eigenstructure ansatz (arXiv:2510.14878) through the eigenframework.")
    _add_common(t)
    t.add_argument("--modes", type=int, default=20_000, metavar="M", help="leading eigenvalues generated (20000)")
    t.add_argument("--max-level", type=int, default=8, metavar="L", help="highest Hermite degree (8)")
    t.set_defaults(func=run_theory)
    s = groups["simulate"].add_parser(
        "hea", help="kernel ridge regression with the exact kernel on sampled Gaussian data (JAX)",
        description="Monte Carlo (rmt.montecarlo.hea) under the keys of `rmt theory hea`.")
    _add_common(s)
    s.add_argument("--trials", type=int, default=8, metavar="T", help="replicates (8)")
    s.add_argument("--n-test", type=int, default=2000, metavar="T", help="test points per replicate (2000)")
    s.add_argument("--seed", type=int, default=0, metavar="S")
    s.set_defaults(func=run_simulate)


def parse_target(spec: str, d: int) -> dict[tuple[int, ...], float]:
    """``"0=1,0.1=0.5"`` -> ``{(0,): 1.0, (0, 1): 0.5}`` (``--target``)."""
    out: dict[tuple[int, ...], float] = {}
    for item in spec.split(","):
        key, sep, val = item.partition("=")
        try:
            idx = tuple(sorted(int(i) for i in key.split("."))) if key.strip() != "" else ()
            coef = float(val)
        except ValueError:
            raise ValueError(f"--target must look like 0=1,0.1=0.5 (coordinates.joined=coefficient), got {item!r}") \
                from None
        if not sep or any(not 0 <= i < d for i in idx):
            raise ValueError(f"--target entry {item!r} needs coordinates in 0..{d - 1} and '=coefficient'")
        out[idx] = out.get(idx, 0.0) + coef
    return out


def _setup(args: argparse.Namespace):
    if args.kernel not in KERNELS:
        raise ValueError(f"--kernel must be one of {', '.join(KERNELS)}, got {args.kernel!r}")
    d = check_positive_int(args.d, "--d")
    check_nonnegative(args.decay, "--decay")
    check_positive(args.bandwidth, "--bandwidth")
    check_positive(args.n, "--n")
    check_nonnegative(args.ridge, "--ridge")
    check_nonnegative(args.noise, "--noise")
    target = parse_target(args.target, d)
    import numpy as np

    g = np.arange(1, d + 1, dtype=float) ** -float(args.decay)
    return g / g.sum(), target, itertools.product(args.n, args.ridge, args.noise)


def _key(idx: tuple[int, ...]) -> str:
    return ".".join(map(str, idx)) if idx else "const"


def run_theory(args: argparse.Namespace) -> int:
    from rmt.theory.hea import hea_spectrum, learning_curve

    check_positive_int(args.modes, "--modes")
    check_positive_int(args.max_level, "--max-level", minimum=0)
    g, target, pts = _setup(args)
    spec = hea_spectrum(args.kernel, g, args.modes, target=target, max_level=args.max_level,
                        bandwidth=args.bandwidth)
    records: list[dict[str, Any]] = []
    for n, ridge, noise in pts:
        res, learn = learning_curve(spec, n, ridge, noise)
        records.append({"model": "hea", "kernel": args.kernel, "d": args.d, "decay": args.decay, "n": n,
                        "ridge": ridge, "noise": noise, "test_error": float(res.test_error),
                        "bias": float(res.bias), "variance": float(res.variance), "kappa": float(res.kappa),
                        "learnability": {_key(k): float(v) for k, v in learn.items()},
                        "flat_mass": spec.flat_mass})
    emit(records, as_json=output_format(args))
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from rmt.montecarlo.hea import simulate_hea

    trials = check_positive_int(args.trials, "--trials", minimum=2)
    n_test = check_positive_int(args.n_test, "--n-test")
    g, target, pts = _setup(args)
    pts = list(pts)
    for n, _, _ in pts:
        check_positive_int(n, "--n")
    records = []
    for n, ridge, noise in pts:
        s = simulate_hea(args.kernel, g, target, int(n), ridge, noise, bandwidth=args.bandwidth, trials=trials,
                         n_test=n_test, seed=args.seed)
        records.append({"model": "hea", "kernel": args.kernel, "d": args.d, "decay": args.decay, "n": n,
                        "ridge": ridge, "noise": noise, "test_error": s.test_error,
                        "learnability": {_key(k): v for k, v in s.learnability.items()},
                        "stderr": {"test_error": s.test_error_stderr,
                                   "learnability": {_key(k): v for k, v in s.learnability_stderr.items()}},
                        "replicates": s.replicates, "seed": s.seed})
    emit(records, as_json=output_format(args))
    return 0
