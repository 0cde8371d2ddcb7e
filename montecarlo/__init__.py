"""montecarlo: JAX simulation of the models of ``theory``, the independent check of every formula.

It never imports :mod:`theory` (docs/architecture.md). Importing it enables float64 in JAX (``jax_enable_x64``);
every simulation runs in float64 unless asked for ``dtype="float32"``.

Models (each returns a frozen :class:`SimulationResult`, or :class:`ShiftResult`, with standard errors over
independent repetitions and the unbiased fine-grained bias-variance decomposition):

* :func:`simulate_rf`: random-feature ridge regression (Adlam & Pennington's model, any activation, label noise,
  signal strength, nonlinear teacher, optional train/test covariances), with ``tau1`` and ``tau2`` per fit;
* :func:`simulate_linear`: linear ridge regression and the min-norm interpolator (Hastie et al.);
* :func:`simulate_ntk`: kernel regression with the empirical NTK of a two-layer network (also
  :func:`empirical_ntk`, :func:`kernel_ridge_predict`);
* :func:`simulate_shift`: random features under covariate shift (OOD and in-distribution on common draws).

Also :mod:`montecarlo.estimators` (the crossed-design ANOVA estimators, ensembles and bagging),
:mod:`montecarlo.spectra` (empirical eigenvalues) and :mod:`montecarlo.sweep` (resumable SQLite sweeps).

Scale: repetitions are sharded over every visible device (:mod:`montecarlo._engine`). For several hosts, call
``jax.distributed.initialize()`` in each process first (see JAX's multi-process guide); nothing else changes.
"""

import rmt.montecarlo._engine  # noqa: F401  (enables float64 in JAX)
from rmt.montecarlo.covariate_shift import simulate_shift
from rmt.montecarlo.estimators import FINE_GRAINED_KEYS, crossed_anova, ensemble_error
from rmt.montecarlo.linear import simulate_linear
from rmt.montecarlo.ntk import empirical_ntk, kernel_ridge_predict, simulate_ntk
from rmt.montecarlo.random_features import rf_draws, simulate_rf
from rmt.montecarlo.results import ShiftResult, SimulationResult
from rmt.montecarlo.spectra import empirical_stieltjes, rf_gram_eigenvalues, wishart_eigenvalues
from rmt.montecarlo.sweep import SweepPoint, export, run_sweep

__all__ = [
    "FINE_GRAINED_KEYS",
    "ShiftResult",
    "SimulationResult",
    "SweepPoint",
    "crossed_anova",
    "empirical_ntk",
    "empirical_stieltjes",
    "ensemble_error",
    "export",
    "kernel_ridge_predict",
    "rf_draws",
    "rf_gram_eigenvalues",
    "run_sweep",
    "simulate_linear",
    "simulate_ntk",
    "simulate_rf",
    "simulate_shift",
    "wishart_eigenvalues",
]
