r"""Random-feature ridge regression under covariate shift (Tripuraneni, Adlam & Pennington, arXiv:2111.08234).

Training inputs ``x ~ N(0, Sigma)``, test inputs ``x ~ N(0, Sigma_*)``, both diagonal in a shared basis given by the
problem's :class:`rmt.problem.CovarianceSpectrum` (atom ``k`` = train eigenvalue ``train[k]`` and test eigenvalue
``test[k]`` on ``round(weights[k] n0)`` coordinates, largest-remainder rounding). Everything else is
:func:`montecarlo.random_features.simulate_rf`; the clean target is the same linear function ``beta.x / sqrt(n0)``
(plus the nonlinear teacher, normalised on the training law) at train and test time.

Each fitted model is scored on two test sets built from the same standard normals ``z``: ``Sigma_*^{1/2} z``
(out of distribution) and ``Sigma^{1/2} z`` (in distribution), so the two errors share their random numbers.

.. warning:: Centring. The activation is centred with ``mu0`` at the *training* pre-activation variance
   ``tr Sigma / n0``. For an activation that is not odd (ReLU) and ``tr Sigma_* != tr Sigma``, the test features then
   have a non-zero mean ``mu0(tr Sigma_* / n0) - mu0(tr Sigma / n0)``, which the theory (docs/models.md §5.1,
   "centring caveat") does not cover; odd activations (tanh, erf) or equal traces avoid it.
"""

from __future__ import annotations

from typing import Any, Callable

from rmt.montecarlo import _engine as eng
from rmt.montecarlo import random_features as rf
from rmt.montecarlo.estimators import SOURCES
from rmt.montecarlo.results import ShiftResult, make_result
from rmt.numerics import jax_float64
from rmt.problem import Problem

__all__ = ["simulate_shift"]


@jax_float64
def simulate_shift(problem: Problem, *, trials: Any = (2, 2, 2), reps: int = 4, seed: int = 0,
                   n_test: int | None = None, center: bool = True, taus: bool = True, solver: rf.Solver = "auto",
                   dtype: Any = "float64", max_memory: float = eng.DEFAULT_MAX_MEMORY, devices: int | None = None,
                   progress: Callable[[int], None] | None = None) -> ShiftResult:
    """Simulate random features under covariate shift: OOD and in-distribution test error, bias and variance.

    Args:
        problem: a scalar :class:`rmt.problem.Problem` whose ``covariance`` is a
            :class:`rmt.problem.CovarianceSpectrum`.
        trials, reps, seed, n_test, center, taus, solver, dtype, max_memory, devices, progress: as
            :func:`montecarlo.random_features.simulate_rf`.

    Returns:
        :class:`montecarlo.results.ShiftResult` with ``ood`` (test inputs from ``Sigma_*``; model ``"rf-shift"``)
        and ``iid`` (test inputs from ``Sigma``), each a full :class:`montecarlo.results.SimulationResult` (train
        error and taus are those of the shared fits).

    Raises:
        ValueError: bad arguments, or a problem without a covariance spectrum.
    """
    if not isinstance(problem, Problem) or problem.covariance is None:
        raise ValueError("problem must be an rmt.problem.Problem with covariance=CovarianceSpectrum(train, test, "
                         "weights) for a covariate-shift simulation")
    samples, cfg, options, elapsed = rf.run_rf(problem, trials=trials, reps=reps, seed=seed, n_test=n_test,
                                               center=center, taus=taus, solver=solver, dtype=dtype,
                                               max_memory=max_memory, devices=devices, progress=progress,
                                               test_sets=2)
    options = dict(options, model="rf-shift")
    common = dict(sources=SOURCES, trials=cfg.trials, extras=rf._TAU_NAMES if cfg.taus else (), reps=reps,
                  seed=seed, n_test=cfg.n_test, elapsed_s=elapsed)
    ood = make_result("rf-shift", samples, config=options, **common)
    iid = make_result("rf-shift", samples, config=dict(options, test_law="train"), prefix="iid.", **common)
    return ShiftResult(ood=ood, iid=iid)
