"""Shared settings and helpers of the covariate-shift figures (``shift-phase-diagram``, ``id-ood-line``,
``shift-robustness``).

The model is random-feature ridge regression of ../shared/DESIGN.md under the two-point shifts of
:func:`theory.covariate_shift.two_point` (train eigenvalues {1.6, 0.4} with equal weights, as in reference sheet
ntk_covariate_shift.md section 3.10), ``tanh`` features and label noise 0.1. Simulation points come from
:func:`montecarlo.covariate_shift.simulate_shift` with the same :class:`rmt.problem.Problem` (each fitted model
scored on test inputs from ``Sigma_*`` and from ``Sigma``).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rmt.records import jsonable
from rmt.problem import Problem
from rmt.theory.covariate_shift import JointSpectrum, two_point

ACTIVATION = "tanh"
NOISE = 0.1
TRAIN = (1.6, 0.4)
N0_SIM = 400


@dataclass(frozen=True)
class Shift:
    """A named two-point shift."""

    name: str
    strength: float
    scale: float = 1.0
    color: str = "k"

    @property
    def spectrum(self) -> JointSpectrum:
        return two_point(self.strength, train=TRAIN, scale=self.scale)

    @property
    def test_eigenvalues(self) -> tuple[float, float]:
        t = self.spectrum.test
        return round(float(t[0]), 10), round(float(t[1]), 10)

    @property
    def short(self) -> str:
        a, b = self.test_eigenvalues
        return f"$\\Sigma_*$ = {{{a:g}, {b:g}}}"

    def label(self) -> str:
        a, b = self.test_eigenvalues
        return f"{self.name}: $\\Sigma_*$ = {{{a:g}, {b:g}}}"


HARMFUL = Shift("swap (harmful)", 1.0, color="#c0392b")
MILD = Shift("half swap", 0.5, color="#e67e22")
HELPFUL = Shift("helpful", -0.25, color="#2471a3")
SCALED = Shift("scaled, $s_*=2s$", 0.0, 2.0, color="#7d3c98")
SHIFTS = (HARMFUL, MILD, HELPFUL, SCALED)


@dataclass(frozen=True)
class SimPoint:
    """Monte Carlo OOD and in-distribution test errors at one point, with standard errors over repetitions; both
    errors come from the same fitted models (common random numbers), so the penalty has its own paired error."""

    ood: float
    ood_se: float
    iid: float
    iid_se: float
    penalty: float
    penalty_se: float


def simulation_db(out: Path) -> Path:
    """The sweep store of the shift figures' simulations in ``out`` (:class:`montecarlo.sweep.SweepStore`): a
    rerun reads every point already simulated there."""
    return out / "shift-simulations.sqlite"


def simulate_pair(shift: Shift, phi: float, psi: float, ridge: float, *, reps: int, seed: int,
                  db: Path | None = None, activation: str = ACTIVATION, noise: float = NOISE) -> SimPoint:
    """Simulate at ``n0 = 400`` the OOD and in-distribution errors under ``shift``
    (:func:`montecarlo.covariate_shift.simulate_shift` through :func:`montecarlo.sweep.run_sweep`, so that with
    ``db`` every point is stored in SQLite and a rerun skips it); the penalty and its paired standard error are
    the simulation's ``ood_penalty``."""
    from rmt.montecarlo.sweep import SweepPoint, run_sweep

    prob = Problem.from_ratios(phi, psi, ridge=ridge, activation=activation, noise=noise, n0=N0_SIM,
                               covariance=shift.spectrum.covariance())
    point = SweepPoint("shift", prob, {"trials": (2, 2, 2), "reps": reps, "seed": seed, "taus": False})
    (rec, _cached), = run_sweep([point], db=db, quiet=True)
    err, iid = rec["stderr"], rec["in_distribution"]
    return SimPoint(rec["test_error"], err["test_error"], iid["test_error"], iid["stderr"]["test_error"],
                    rec["ood_penalty"], err["ood_penalty"])


def write_json(path: Path, payload: dict[str, Any]) -> Path:
    path.write_text(json.dumps(jsonable(payload), indent=1))
    return path


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    """CSV with proper quoting (shift names contain commas); floats to 10 significant digits, ``inf``/``nan`` as
    text."""
    def fmt(v: Any) -> Any:
        if isinstance(v, (float, np.floating)):
            return "inf" if math.isinf(v) else ("nan" if math.isnan(v) else f"{float(v):.10g}")
        return v

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[fmt(v) for v in row] for row in rows])
    return path


def significant(a: Any, digits: int = 8) -> np.ndarray:
    """Round to ``digits`` significant digits (keeps the JSON data files small); non-finite values are kept."""
    a = np.asarray(a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(a) & (a != 0), np.floor(np.log10(np.abs(a))), 0.0)
        scale = 10.0 ** (digits - 1 - mag)
        return np.where(np.isfinite(a), np.round(a * scale) / scale, a)


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0


def setup_matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 130, "font.size": 9, "axes.titlesize": 9.5,
                         "legend.fontsize": 7.5, "axes.grid": False})
    return plt
