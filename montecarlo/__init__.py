"""montecarlo: JAX simulation of the models of ``theory``, the independent check of every formula.

Never imports :mod:`theory`. Importing it enables float64 in JAX (``jax_enable_x64``).

Public API:

* :func:`simulate_rf` (random-feature ridge regression), :func:`simulate_linear` (linear ridge, HMRT),
  :func:`simulate_ntk` (empirical NTK regression), :func:`simulate_shift` (random features under covariate shift);
  each returns a :class:`SimulationResult` (or :class:`ShiftResult`) with standard errors over repetitions.
* :mod:`montecarlo.estimators`: the unbiased crossed-design (random-effects ANOVA) estimators.
* :mod:`montecarlo.spectra`: empirical eigenvalues (Wishart / Marchenko-Pastur, the random-feature Gram matrix).
* :mod:`montecarlo.sweep`: resumable sweeps stored in SQLite, export to CSV and JSON.
"""

from montecarlo import _engine  # noqa: F401  (enables float64)
from montecarlo.random_features import simulate_rf
from montecarlo.results import ShiftResult, SimulationResult

__all__ = ["ShiftResult", "SimulationResult", "simulate_rf"]
