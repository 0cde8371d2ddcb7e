"""``rmt theory dynamics`` and ``rmt simulate dynamics``: risk trajectories of gradient flow and SGD.

Model (rmt.theory.dynamics): ``x ~ N(0, diag(i^-alpha))``, target power ``v_i^2 = i^-beta``, labels with noise
variance ``--noise``, start ``w = 0``. ``--algorithm gf`` is gradient flow ``dw/dt = -(Sigma_hat w - X^T y/n) -
ridge w`` at ``--times`` (population flow without ``--n``; with ``--steps`` and ``--lr``: gradient descent with that
step); ``online-sgd`` draws a fresh batch every step (no ``--n``); ``sgd`` is multi-pass SGD on ``--n`` samples.
``test_error`` is the excess risk (no label noise), ``train_error`` the mean squared training residual (finite
``--n``). Without ``--modes`` the theory uses an effectively infinite power law (binned, with its tail).
"""

from __future__ import annotations

import argparse
import itertools
import math
from typing import Any, Iterator

from rmt.figures._cliutil import add_format_arg, emit, output_format, sweep_type

_FLAGS = ("lr", "steps", "times", "n", "batch", "ridge", "noise", "modes", "alpha", "beta", "reps", "seed")


def _add(p: argparse.ArgumentParser) -> None:
    p.add_argument("--algorithm", required=True, choices=["gf", "online-sgd", "sgd"],
                   help="gf: gradient flow (gradient descent with --steps --lr); online-sgd: fresh batch every step; "
                   "sgd: multi-pass SGD on --n samples")
    p.add_argument("--alpha", type=sweep_type("--alpha"), required=True, metavar="A",
                   help="spectral decay alpha > 1 (lambda_i = i^-alpha)")
    p.add_argument("--beta", type=sweep_type("--beta"), required=True, metavar="B",
                   help="target decay beta > 1 (v_i^2 = i^-beta)")
    p.add_argument("--modes", type=int, default=None, metavar="M", help="truncate the power law at M modes")
    p.add_argument("--n", type=sweep_type("--n"), default=None, metavar="N",
                   help="training samples (omit: population gradient flow / online SGD)")
    p.add_argument("--lr", type=sweep_type("--lr"), default=None, metavar="ETA", help="learning rate (SGD, GD)")
    p.add_argument("--batch", type=sweep_type("--batch"), default=[1.0], metavar="B", help="batch size (default 1)")
    p.add_argument("--ridge", type=sweep_type("--ridge"), default=[0.0], metavar="R",
                   help="per-sample ridge in the loss, (Sigma_hat + ridge) (default 0)")
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="S",
                   help="label-noise variance (default 0)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--times", type=sweep_type("--times"), metavar="T,...", help="gradient-flow times (list or sweep)")
    g.add_argument("--steps", type=sweep_type("--steps"), metavar="K,...",
                   help="SGD / GD step counts, strictly increasing (list or sweep a:b:n[:log], rounded)")
    p.add_argument("--json", action="store_true", help="one JSON object per time or step (JSON lines)")
    add_format_arg(p)


def register(groups) -> None:
    t = groups["theory"].add_parser(
        "dynamics", help="exact risk trajectories of gradient flow, online and multi-pass SGD",
        description="Test and train error along training for a power-law spectrum: gradient flow (population: "
        "closed form; finite n: contour integral of the two-point ridge equivalent), online SGD (Bordelon & "
        "Pehlevan arXiv:2106.02713, exact for Gaussian features), multi-pass SGD (homogenized SGD, Paquette, "
        "Paquette, Adlam & Pennington arXiv:2206.07252). Numeric flags accept lists and sweeps.")
    _add(t)
    t.set_defaults(func=run_theory)
    s = groups["simulate"].add_parser(
        "dynamics", help="simulate gradient descent / SGD training runs (JAX) on Gaussian data",
        description="Actual training runs (montecarlo.dynamics): gradient descent (small step for --times), online "
        "SGD, multi-pass SGD; means and standard errors over --reps runs, keyed like `rmt theory dynamics`.")
    _add(s)
    s.add_argument("--reps", type=int, default=100, metavar="R", help="independent training runs (default 100)")
    s.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    s.add_argument("--db", metavar="FILE", help="SQLite file: store each finished configuration, skip stored ones")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=run_simulate)


def _flagged(exc: ValueError) -> ValueError:
    """The API's messages start with the argument's name; the command line names the flag."""
    msg = str(exc)
    for name in _FLAGS:
        if msg.startswith(name + " ") or msg.startswith(name + ":"):
            return ValueError("--" + msg)
    return exc


def _int_list(values: list[float] | None, flag: str, minimum: int) -> list[int]:
    out = []
    for v in values or []:
        if not (math.isfinite(v) and v == round(v) and v >= minimum):
            raise ValueError(f"{flag} must be integers >= {minimum}, got {v!r}")
        out.append(int(v))
    return out


def _problems(args: argparse.Namespace, *, simulate: bool) -> Iterator[tuple[dict[str, Any], Any]]:
    from rmt.theory.dynamics import DynamicsProblem, spectrum_system

    for name in ("alpha", "beta"):
        for v in getattr(args, name):
            if not v > 1:
                raise ValueError(f"--{name} must be > 1, got {v!r}")
    if args.modes is not None and args.modes < 1:
        raise ValueError(f"--modes must be a positive integer, got {args.modes}")
    if simulate and args.modes is None:
        raise ValueError("--modes is required for a simulation (it sets the dimension)")
    if args.times is not None and args.algorithm != "gf":
        raise ValueError(f"--times: {args.algorithm} counts steps; use --steps")
    steps = None
    if args.steps is not None:
        raw = list(args.steps)
        if any(b <= a for a, b in zip(raw, raw[1:])):
            raise ValueError(f"--steps must be strictly increasing, got {[f'{v:g}' for v in raw]}")
        if any(not (math.isfinite(v) and v >= 0) for v in raw):
            raise ValueError(f"--steps must be non-negative, got {[f'{v:g}' for v in raw]}")
        steps = sorted(set(int(round(v)) for v in raw))  # a log sweep may round two values to one step
        if args.lr is None:
            raise ValueError("--lr is required with --steps")
    if args.times is not None:
        for t in args.times:
            if not (math.isfinite(t) and t >= 0):
                raise ValueError(f"--times must be >= 0, got {t!r}")
    if args.algorithm == "sgd" and args.n is None:
        raise ValueError("--n is required for multi-pass SGD (omit it with --algorithm online-sgd)")
    if args.algorithm == "online-sgd" and args.n is not None:
        raise ValueError("--n: online SGD draws a fresh batch every step; use --algorithm sgd for n samples")
    if simulate and args.algorithm == "gf" and args.n is None:
        raise ValueError("--n is required to simulate gradient flow (the population flow is deterministic)")
    ns = _int_list(args.n, "--n", 1) if args.n is not None else [None]
    lrs = list(args.lr) if args.lr is not None else [None]
    for v in lrs:
        if v is not None and not v > 0:
            raise ValueError(f"--lr must be > 0, got {v!r}")
    batches = _int_list(args.batch, "--batch", 1)
    for flag in ("ridge", "noise"):
        for v in getattr(args, flag):
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"--{flag} must be >= 0, got {v!r}")
    for alpha, beta, n, lr, batch, ridge, noise in itertools.product(args.alpha, args.beta, ns, lrs, batches,
                                                                      args.ridge, args.noise):
        horizon = max(([max(args.times)] if args.times else []) + ([(lr or 0.0) * max(steps)] if steps else []))
        system = spectrum_system(alpha, beta, args.modes, n=n, time=horizon)
        try:
            prob = DynamicsProblem(system, args.algorithm, times=None if args.times is None else tuple(args.times),
                                   steps=None if steps is None else tuple(steps), n=n, lr=lr, batch=batch,
                                   ridge=ridge, noise=noise)
        except ValueError as exc:
            raise _flagged(exc) from None
        head = {"algorithm": args.algorithm, "alpha": alpha, "beta": beta, "modes": args.modes, "n": n, "lr": lr,
                "batch": batch, "ridge": ridge, "noise": noise}
        yield head, prob


def run_theory(args: argparse.Namespace) -> int:
    from rmt.theory.dynamics import evaluate

    records = []
    for head, prob in _problems(args, simulate=False):
        try:
            curve = evaluate(prob)
        except ValueError as exc:
            raise _flagged(exc) from None
        records.extend({**head, **rec} for rec in curve.records())
    emit(records, as_json=output_format(args), fmt=_human)
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import SweepPoint, run_sweep
    from rmt.theory.dynamics import evaluate

    reps = args.reps
    if reps < 2:
        raise ValueError(f"--reps must be an integer >= 2, got {reps}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    runs = max(d for d in range(1, min(reps, 50) + 1) if reps % d == 0)
    points, heads = [], []
    for head, prob in _problems(args, simulate=True):
        if prob.algorithm != "gf":
            try:  # the stability threshold of the theory, before any simulation
                evaluate(prob)
            except ValueError as exc:
                raise _flagged(exc) from None
        points.append(SweepPoint("dynamics", prob, {"reps": reps // runs, "runs_per_rep": runs,
                                                     "seed": args.seed}))
        heads.append(head)

    def records():
        for head, (rec, _cached) in zip(heads, run_sweep(points, db=args.db, quiet=args.quiet)):
            for r in rec["points"]:
                yield {**head, **r}

    emit(records(), as_json=output_format(args), fmt=_human)
    return 0


def _human(rec: dict[str, Any]) -> str:
    axis = "time" if "time" in rec else "step"
    parts = [f"{rec['algorithm']}", f"{axis}={rec[axis]:g}", f"test_error={rec['test_error']:.8g}"]
    if "train_error" in rec:
        parts.append(f"train_error={rec['train_error']:.8g}")
    if "stderr" in rec:
        parts.append("stderr=" + ",".join(f"{v:.2g}" for v in rec["stderr"].values()))
    return "  ".join(parts)
