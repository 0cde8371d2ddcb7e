"""``rmt simulate rf | ntk | linear | export``: Monte Carlo simulation (JAX) with standard errors.

A flag given several values (``--ridge 0.01,0.1`` or ``--n1 100:400:4``) makes a sweep: one JSON object per point
(JSON lines with ``--json``), printed as each point finishes; ``--db FILE`` stores every finished point in SQLite so
that rerunning the same command skips them (see :mod:`montecarlo.sweep`). Several ``rmt simulate`` processes may
share one ``--db`` file: they split the points between them. ``--scheduler ADDRESS`` sends the points to a Dask
cluster and ``--workers N`` starts a local one; the results are stored here as they arrive and are identical to a
serial run's (every point has its own seed).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
from typing import Any, Iterator, Mapping

from rmt.figures._cliutil import add_format_arg, add_problem_args, emit, iter_problems, output_format, sweep_type

SIM_DEFAULTS = {"trials": "2,2,2", "reps": 3, "seed": 0}


def register(groups) -> None:
    sim = groups["simulate"]
    p = sim.add_parser("rf", help="random-feature ridge regression (Adlam-Pennington model)",
                       description="Simulate random-feature ridge regression: test and train error, bias, variance "
                       "and its seven fine-grained terms with standard errors over --reps repetitions of a "
                       "k_P x k_X x k_eps crossed design (--trials).")
    add_problem_args(p)
    add_rf_args(p)
    p.set_defaults(func=_run_rf)

    p = sim.add_parser("ntk", help="kernel regression with the empirical NTK of a two-layer network",
                       description="Simulate empirical-NTK kernel ridge regression (sources P = (W, a), X, eps).")
    add_problem_args(p)
    add_rf_args(p, taus=False)
    p.add_argument("--lr-ratio", type=float, default=1.0, metavar="R",
                   help="learning rate of the first layer relative to the second (0: random features; default 1)")
    p.add_argument("--include-f0", action="store_true", help="add the network's initial function to the predictor")
    p.set_defaults(func=_run_ntk)

    p = sim.add_parser("linear", help="linear ridge regression (Hastie-Montanari-Rosset-Tibshirani)",
                       description="Simulate linear ridge regression with isotropic inputs: the risk (excess, "
                       "exact test expectation), bias, variance and its X/eps terms, and HMRT's conditional bias "
                       "and variance.")
    p.add_argument("--n", type=sweep_type("--n"), required=True, metavar="N", help="number of samples")
    p.add_argument("--d", type=sweep_type("--d"), required=True, metavar="N", help="dimension")
    p.add_argument("--ridge", type=sweep_type("--ridge"), required=True, metavar="F",
                   help="ridge >= 0 in (X^T X / n + ridge I); 0 = min-norm least squares")
    p.add_argument("--noise", type=sweep_type("--noise"), default=[0.0], metavar="F", help="noise variance")
    p.add_argument("--signal", type=sweep_type("--signal"), default=[1.0], metavar="F", help="|beta|^2")
    _add_run_args(p, trials="4,2", names="X,E")
    p.set_defaults(func=_run_linear)

    p = sim.add_parser("export", help="write the points stored by --db as CSV or JSON",
                       description="Export every point stored in a sweep database.")
    p.add_argument("--db", required=True, metavar="FILE", help="the SQLite file written by --db")
    p.add_argument("--format", choices=["csv", "json"], default="csv",
                   help="csv (default): one row per point with flat dotted columns (fine_grained.PX, "
                   "stderr.test_error) and the coordinate columns; json: the stored rows")
    p.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    p.add_argument("--model", action="append", metavar="NAME", choices=_sweep_models(),
                   help=f"only the points of this model (repeatable; one of {', '.join(_sweep_models())}; "
                   "default: all)")
    p.set_defaults(func=_run_export)


def _sweep_models() -> list[str]:
    """The models of the model table that sweeps store (:mod:`rmt.figures.models`)."""
    from rmt.figures.models import MODELS

    return [spec.name for spec in MODELS if spec.sweep is not None]


def _add_run_args(p: argparse.ArgumentParser, *, trials: str, names: str) -> None:
    p.add_argument("--trials", default=trials, metavar=names,
                   help=f"crossed design: draws of each source {names} (each >= 2; default {trials})")
    p.add_argument("--reps", type=int, default=SIM_DEFAULTS["reps"], metavar="R",
                   help=f"independent repetitions for the standard errors (default {SIM_DEFAULTS['reps']})")
    p.add_argument("--seed", type=int, default=SIM_DEFAULTS["seed"], metavar="S", help="random seed (default 0)")
    p.add_argument("--float32", action="store_true", help="single precision (default float64)")
    p.add_argument("--json", action="store_true", help="print one JSON object per point (JSON lines)")
    add_format_arg(p)
    p.add_argument("--db", metavar="FILE", help="SQLite file: store each finished point, skip stored ones")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    dist = p.add_mutually_exclusive_group()
    dist.add_argument("--scheduler", metavar="ADDRESS",
                      help="run the points of the sweep on this Dask cluster (e.g. tcp://host:8786); needs "
                      "pip install 'rmt-asymptotics[distributed]'")
    dist.add_argument("--workers", type=int, metavar="N",
                      help="run the points on a local Dask cluster of N worker processes (needs the distributed extra)")


def add_rf_args(p: argparse.ArgumentParser, *, taus: bool = True) -> None:
    """The random-feature simulation flags (shared by ``rmt simulate rf``, ``ntk`` and ``shift``)."""
    p.add_argument("--nonlinear-signal", type=sweep_type("--nonlinear-signal"), default=[0.0], metavar="F",
                   help="power F_*^2 of a nonlinear (He2) teacher component (default 0)")
    p.add_argument("--n-test", type=int, default=None, metavar="T", help="shared test points (default max(1000, m))")
    p.add_argument("--no-center", action="store_true", help="do not subtract mu0 = E sigma(z) from the activation")
    if taus:
        p.add_argument("--no-taus", action="store_true", help="skip tau1 and tau2 (saves about a quarter)")
    _add_run_args(p, trials=SIM_DEFAULTS["trials"], names="P,X,E")


def _trials(text: str, count: int, names: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise ValueError(f"--trials must be {count} comma-separated integers {names}, got {text!r}")
    return values


def _common_options(args: argparse.Namespace, count: int, names: str) -> dict[str, Any]:
    return {"trials": _trials(args.trials, count, names), "reps": args.reps, "seed": args.seed,
            "dtype": "float32" if args.float32 else "float64"}


def rf_problems(args: argparse.Namespace) -> Iterator[Any]:
    """The scalar problems of the parsed random-feature flags (one per sweep point)."""
    if (args.phi is not None or args.psi is not None) and args.n0 is None:
        raise ValueError("--n0 is required with --phi/--psi for a simulation (it sets the integer sizes)")
    problems = list(iter_problems(args))
    for nls, problem in itertools.product(args.nonlinear_signal, problems):
        yield problem.replace(nonlinear_signal=nls)


def rf_options(args: argparse.Namespace) -> dict[str, Any]:
    """The simulator options of the parsed random-feature flags."""
    opts = _common_options(args, 3, "P,X,E")
    opts.update(n_test=args.n_test, center=not args.no_center)
    if hasattr(args, "no_taus"):
        opts["taus"] = not args.no_taus
    return opts


def _run_rf(args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import SweepPoint

    opts = rf_options(args)
    return _sweep([SweepPoint("rf", p, opts) for p in rf_problems(args)], args)


def _run_ntk(args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import SweepPoint

    opts = dict(rf_options(args), lr_ratio=args.lr_ratio, include_f0=args.include_f0)
    return _sweep([SweepPoint("ntk", p, opts) for p in rf_problems(args)], args)


def _run_linear(args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import SweepPoint
    from rmt.problem import LinearProblem

    opts = _common_options(args, 2, "X,E")
    points = [SweepPoint("linear", LinearProblem(n=n, d=d, ridge=r, noise=z, signal=s), opts)
              for n, d, r, z, s in itertools.product(args.n, args.d, args.ridge, args.noise, args.signal)]
    return _sweep(points, args)


def _sweep(points: list[Any], args: argparse.Namespace) -> int:
    from rmt.montecarlo.sweep import run_sweep

    out_format = output_format(args)
    with _executor(args) as executor:
        records = (rec for rec, _cached in run_sweep(points, db=args.db, quiet=args.quiet, executor=executor))
        emit(records, as_json=out_format, fmt=format_human)
    return 0


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Any]:
    """``None`` (points run here), or a Dask client for ``--scheduler ADDRESS`` / a local cluster of ``--workers N``
    processes (closed on exit)."""
    scheduler, workers = getattr(args, "scheduler", None), getattr(args, "workers", None)
    if scheduler is None and workers is None:
        yield None
        return
    flag = "--scheduler" if scheduler is not None else "--workers"
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be an integer >= 1, got {workers}")
    try:
        import logging

        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(f"{flag} needs Dask: pip install 'rmt-asymptotics[distributed]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except OSError as exc:
                raise ValueError(f"--scheduler: cannot reach {scheduler!r}: {' '.join(str(exc).split())}") from None
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
            from rmt.figures import cli

            cli.ON_INTERRUPT.append(cluster.close)  # Ctrl-C: stop the worker processes before exiting
            stack.callback(cli.ON_INTERRUPT.remove, cluster.close)
        yield client


def _run_export(args: argparse.Namespace) -> int:
    from rmt.figures.models import get_model
    from rmt.montecarlo.sweep import export

    sweeps = None if args.model is None else [get_model(name).sweep for name in args.model]
    text = export(args.db, args.out, fmt=args.format, models=sweeps)
    if args.out is None:
        sys.stdout.write(text)
    return 0


def format_human(rec: Mapping[str, Any]) -> str:
    """A compact block: value +- standard error for the headline figures and the variance terms."""
    err = rec["stderr"]
    cfg = rec["config"]
    prob = cfg["problem"]
    head = ", ".join(f"{k}={prob[k]:g}" for k in prob if isinstance(prob[k], (int, float)))
    act = f", activation={prob['activation']}" if "activation" in prob else ""
    lines = [f"{cfg['model']}: {head}{act}; trials={','.join(map(str, rec['trials']))}, reps={rec['reps']}, "
             f"seed={rec['seed']}"]

    def row(name: str, value: Any, se: Any) -> str:
        if not isinstance(value, (int, float)) or not isinstance(se, (int, float)):  # None: non-finite
            return f"  {name:<22s} {value} (+- {se})"
        return f"  {name:<22s} {value:.6g} +- {se:.2g}"

    for k in ("test_error", "train_error", "bias", "variance"):
        lines.append(row(k, rec[k], err[k]))
    for k, v in rec["fine_grained"].items():
        lines.append(row(f"V_{k}", v, err["fine_grained"][k]))
    for k in rec:
        if k in err and k not in ("test_error", "train_error", "bias", "variance", "fine_grained"):
            lines.append(row(k, rec[k], err[k]))
    return "\n".join(lines)
