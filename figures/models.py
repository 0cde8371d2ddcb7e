"""The model table: every model of rmt in one row, and what the application layer reads from it.

A *model* is a problem description in :mod:`rmt`, one theory entry point in :mod:`rmt.theory` and (where it exists)
one simulation entry point in :mod:`rmt.montecarlo` that take that same problem, and results that name their numbers
from the one vocabulary :mod:`rmt.quantities` and convert to flat tables (:mod:`rmt.records`). Each row of
:data:`MODELS` says where those pieces are:

========================  ==========================================================================================
field                     meaning
========================  ==========================================================================================
``name``                  the model's name: the ``model`` column of every record, ``rmt theory NAME`` ...
``problem``               the problem description (``rmt.Problem``, ``rmt.LinearProblem``, ...)
``theory``                ``"module:function"`` of the theory entry point
``simulation``            ``"module:function"`` of the simulation entry point (``None``: no simulation yet)
``sweep``                 the name under which :mod:`rmt.montecarlo.sweep` runs and stores it (``None``: not yet)
``quantities``            the quantity keys both sides report (flat names of :mod:`rmt.quantities`)
``coordinates``           the coordinate columns theory and simulation rows share: ``pd.merge(theory, sim,
                          on=list(row.coordinates))`` joins them
``validation``            ``"module:function"`` returning the validation cases ``cases(quick)``, and
``validation_group``      the ``rmt validate --model`` name they run under
``options``               variants reached through the same entry points (ensembles, mixtures, scalings, ...)
========================  ==========================================================================================

``rmt models [--json]`` prints the table; ``rmt validate`` takes its model list from it (:func:`validation_groups`);
``rmt simulate export --model NAME`` filters a sweep database by it.

Adding a model is three pieces and no change elsewhere:

1. one theory module in ``theory/`` whose entry point takes the problem and returns a result class deriving from
   :class:`rmt.records.Tabular` (``nested_records()`` with the coordinates of :func:`rmt.records.coordinates`, and
   quantity keys from :mod:`rmt.quantities`, adding any new key there with its meaning);
2. one simulation module in ``montecarlo/`` whose entry point takes the same problem and returns a
   :class:`rmt.montecarlo.results.SimulationResult` (registered in :data:`rmt.montecarlo.sweep.MODELS` to be swept
   and stored);
3. one :class:`ModelSpec` row appended to :data:`MODELS` below (and, for ``rmt validate``, a ``validate_NAME.py``
   whose ``cases(quick)`` the row names).

For example, a model ``"my-rf"`` would add ``theory/my_rf.py`` with ``my_rf_theory(problem) -> MyRFResult``,
``montecarlo/my_rf.py`` with ``simulate_my_rf(problem, ...) -> SimulationResult`` and the row
``ModelSpec("my-rf", "rmt.Problem", "...", theory="rmt.theory.my_rf:my_rf_theory",
simulation="rmt.montecarlo.my_rf:simulate_my_rf", sweep=None, quantities=HEADLINE, coordinates=RF_COORDINATES)``
(``sweep="my-rf"`` once ``rmt.montecarlo.sweep`` registers its simulator).
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any, Callable

from rmt.quantities import FINE_GRAINED_KEYS, FINE_GRAINED_PREFIX, HEADLINE

__all__ = ["MODELS", "ModelSpec", "entry_point", "get_model", "table", "validation_groups"]

_FINE = tuple(f"{FINE_GRAINED_PREFIX}.{k}" for k in FINE_GRAINED_KEYS)

RF_COORDINATES = ("model", "activation", "phi", "psi", "ridge", "noise", "signal")
"""Shared by the random-feature family: ratios (not sizes), since a theory point from ratios has no ``n0``."""


@dataclass(frozen=True)
class ModelSpec:
    """One row of the model table (see the module docstring for the fields)."""

    name: str
    problem: str
    description: str
    theory: str
    simulation: str | None
    sweep: str | None
    quantities: tuple[str, ...]
    coordinates: tuple[str, ...]
    validation: str | None = None
    validation_group: str | None = None
    options: tuple[str, ...] = ()

    @property
    def has_theory(self) -> bool:
        return bool(self.theory)

    @property
    def has_simulation(self) -> bool:
        return self.simulation is not None

    def theory_function(self) -> Callable[..., Any]:
        """The theory entry point (imported on demand)."""
        return entry_point(self.theory)

    def simulation_function(self) -> Callable[..., Any]:
        """The simulation entry point (imported on demand).

        Raises:
            ValueError: the model has no simulation.
        """
        if self.simulation is None:
            raise ValueError(f"model {self.name!r} has no simulation")
        return entry_point(self.simulation)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(has_theory=self.has_theory, has_simulation=self.has_simulation,
                 has_validation=self.validation is not None)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "linear", "rmt.LinearProblem",
        "linear ridge regression, isotropic or anisotropic (Hastie, Montanari, Rosset & Tibshirani, arXiv:1903.08560)",
        theory="rmt.theory.linear:linear_theory", simulation="rmt.montecarlo.linear:simulate_linear",
        sweep="linear", quantities=HEADLINE + ("kappa", "df1", "df2"),
        coordinates=("model", "n", "d", "gamma", "ridge", "noise", "signal"),
        validation="rmt.figures.validate_rf:linear_cases", validation_group="linear"),
    ModelSpec(
        "rf", "rmt.Problem",
        "random-feature ridge regression with the fine-grained bias-variance decomposition (Adlam & Pennington, "
        "arXiv:2011.03321; Mei & Montanari, arXiv:1908.05355)",
        theory="rmt.theory.random_features:rf_theory", simulation="rmt.montecarlo.random_features:simulate_rf",
        sweep="rf", quantities=HEADLINE + _FINE + ("tau1", "tau2"), coordinates=RF_COORDINATES,
        validation="rmt.figures.validate_rf:rf_cases", validation_group="rf",
        options=("ensemble(k): RFResult.ensemble / SimulationResult.ensemble",
                 "bagging(k): RFResult.bagging / SimulationResult.ensemble(over=('X', 'eps'))",
                 "mixtures of activations and random biases: rmt.theory.random_features.mixture_theory (theory only)",
                 "mpmath at any precision: rmt.theory.random_features.rf_theory_mp")),
    ModelSpec(
        "ntk", "rmt.Problem",
        "kernel regression with the empirical NTK of a two-layer network (Adlam & Pennington, arXiv:2008.06786)",
        theory="rmt.theory.ntk:quadratic_scaling", simulation="rmt.montecarlo.ntk:simulate_ntk",
        sweep="ntk", quantities=HEADLINE + ("noise_variance",) + _FINE,
        coordinates=RF_COORDINATES + ("lr_ratio",),
        validation="rmt.figures.validate_ntk:ntk_cases", validation_group="ntk",
        options=("infinite width: rmt.theory.ntk.infinite_width",
                 "linear scaling (fixed width): rmt.theory.ntk.linear_scaling", "include_f0")),
    ModelSpec(
        "shift", "rmt.Problem (covariance = rmt.CovarianceSpectrum)",
        "random features under covariate shift (Tripuraneni, Adlam & Pennington, arXiv:2111.08234)",
        theory="rmt.theory.covariate_shift:shift_error", simulation="rmt.montecarlo.covariate_shift:simulate_shift",
        sweep="shift", quantities=("test_error", "bias", "variance", "id_test_error", "id_bias", "id_variance",
                                   "ood_penalty"),
        coordinates=RF_COORDINATES,
        validation="rmt.figures.validate_shift:cases", validation_group="shift",
        options=("covariate_shift_error(phi, psi, spectrum=...) on ratio grids", "id_ood_line", "optimal_ridge",
                 "kernel regression out of distribution: kernel_ood_error")),
    ModelSpec(
        "eigen-krr", "rmt.EigenProblem (p=None)",
        "kernel ridge regression from an eigensystem (Simon et al. arXiv:2110.03922; Canatar, Bordelon & Pehlevan "
        "arXiv:2006.13198)",
        theory="rmt.theory.eigen:krr", simulation="rmt.montecarlo.eigen:simulate_eigen", sweep="eigen",
        quantities=HEADLINE + ("test_mse", "kappa", "E0", "kare"),
        coordinates=("model", "n", "ridge", "noise"),
        validation="rmt.figures.validate_eigen:cases", validation_group="eigen",
        options=("power-law spectra and scaling laws: rmt.theory.eigen_scaling",
                 "gradients through the fixed point: rmt.theory.eigen_autodiff")),
    ModelSpec(
        "eigen-rf", "rmt.EigenProblem (p = number of features)",
        "random-feature ridge regression from an eigensystem (Simon, Karkada, Ghosh & Belkin arXiv:2311.14646; "
        "Atanasov, Zavatone-Veth & Pehlevan arXiv:2405.00592)",
        theory="rmt.theory.eigen:rf", simulation="rmt.montecarlo.eigen:simulate_eigen", sweep="eigen",
        quantities=HEADLINE + ("test_mse", "kappa", "E0", "ensemble_limit_error", "feature_variance"),
        coordinates=("model", "n", "p", "ridge", "noise"),
        validation="rmt.figures.validate_eigen:cases", validation_group="eigen"),
    ModelSpec(
        "dynamics", "rmt.DynamicsProblem",
        "risk trajectories of gradient flow, online and multi-pass SGD on Gaussian features (Paquette, Paquette, "
        "Adlam & Pennington arXiv:2205.07069, 2206.07252; Bordelon & Pehlevan arXiv:2106.02713)",
        theory="rmt.theory.dynamics:evaluate", simulation="rmt.montecarlo.dynamics:simulate_dynamics",
        sweep="dynamics", quantities=("test_error", "train_error"),
        coordinates=("model", "algorithm", "time", "step"),
        validation="rmt.figures.validate_dynamics:cases", validation_group="dynamics",
        options=("early stopping against the optimal ridge: rmt.theory.dynamics.early_stopping",
                 "the dynamical scaling-law model and its compute-optimal frontier (Bordelon, Atanasov & Pehlevan "
                 "arXiv:2402.01092): rmt.theory.dynamics.compute_optimal")),
    ModelSpec(
        "transfer", "rmt.TransferProblem",
        "ridge regression on transferred linear features, fine-grained (Li, Sen & Adlam arXiv:2404.12481, "
        "spectrum-only case)",
        theory="rmt.theory.transfer:transfer_theory", simulation="rmt.montecarlo.transfer:simulate_transfer",
        sweep=None,
        quantities=("test_error", "bias", "variance", "fine_grained.X", "fine_grained.eps", "kappa", "df2",
                    "kept_features"),
        coordinates=("model", "n", "ridge", "noise"),
        validation="rmt.figures.validate_transfer:cases", validation_group="transfer",
        options=("grids of n, ridge and noise: rmt.theory.transfer.transfer(setting, b, n, ridge, noise)",
                 "the optimal featurisation: rmt.theory.transfer.optimal_features",
                 "hard (PCR) against soft selection: rmt.theory.transfer.selection_transition")),
    ModelSpec(
        "hea", "rmt.HEAProblem",
        "kernel learning curves from the Hermite eigenstructure ansatz on anisotropic Gaussian data (Karkada, "
        "Turnbull, Liu & Simon arXiv:2510.14878)",
        theory="rmt.theory.hea:hea_theory", simulation="rmt.montecarlo.hea:simulate_hea", sweep=None,
        quantities=("test_error", "learnability"), coordinates=("model", "n", "ridge", "noise"),
        validation="rmt.figures.validate_hea:cases", validation_group="hea",
        options=("the ansatz's spectrum on grids of n, ridge and noise: rmt.theory.hea.hea_spectrum + learning_curve",
                 "the exact Gaussian-kernel eigensystem: rmt.theory.hea.gaussian_exact_spectrum")),
)
"""The model table, one :class:`ModelSpec` per model."""


def entry_point(path: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute"``."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def get_model(name: str) -> ModelSpec:
    """The row of ``name``.

    Raises:
        ValueError: an unknown model name.
    """
    for spec in MODELS:
        if spec.name == name:
            return spec
    raise ValueError(f"model must be one of {', '.join(s.name for s in MODELS)}, got {name!r}")


def validation_groups() -> dict[str, str]:
    """``rmt validate --model`` name -> ``"module:function"`` of its cases, in table order (rows sharing a group,
    such as the two eigenframework models, share one case generator)."""
    out: dict[str, str] = {}
    for spec in MODELS:
        if spec.validation is not None and spec.validation_group is not None:
            out.setdefault(spec.validation_group, spec.validation)
    return out


def table() -> list[dict[str, Any]]:
    """The table as JSON-ready dicts (``rmt models --json``)."""
    return [spec.as_dict() for spec in MODELS]
