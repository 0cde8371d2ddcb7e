"""Result objects of the Monte Carlo models and the per-repetition decomposition they are built from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from rmt.quantities import HEADLINE
from rmt.records import Tabular, coordinates
from rmt.montecarlo.estimators import (component_keys, component_members, crossed_anova, ensemble_error,
                                   mean_and_stderr)
from rmt.solvers import SolverError, Status

__all__ = ["ShiftResult", "SimulationResult", "decompose", "make_result", "model_coordinates", "shift_record"]

_HEADLINE = HEADLINE
#: names of the simulators' ``config["model"]`` in the model table (:mod:`rmt.figures.models`)
_TABLE_NAMES = {"rf-shift": "shift"}


def model_coordinates(config: Mapping[str, Any]) -> dict[str, Any]:
    """The coordinate columns of a simulation (:func:`rmt.records.coordinates`) from its ``config`` (``model``,
    ``problem`` and options; also the stored ``config`` of a sweep point): the model-table name, the problem's
    sizes, ratios, ridge, noise and signal, and the NTK's ``lr_ratio``. Empty without a problem."""
    problem = config.get("problem")
    if not isinstance(problem, Mapping):
        return {}
    model = str(config.get("model", ""))
    out = coordinates(problem, _TABLE_NAMES.get(model, model))
    if "lr_ratio" in config:
        out["lr_ratio"] = float(config["lr_ratio"])
    return out


def decompose(residuals: Any, factors: Sequence[str], inert: Iterable[str] = ()) -> dict[str, Any]:
    """:func:`montecarlo.estimators.crossed_anova` on the active factors; components of ``inert`` factors
    (present as axes of length 1, e.g. ``eps`` at zero noise) are exactly zero.

    Args:
        residuals: shape ``(..., k_1, ..., k_d, T)`` with length-1 axes for the inert factors.
        factors: all ``d`` source names.
        inert: names of sources the predictor does not depend on.
    """
    inert = set(inert)
    d = len(factors)
    shape = tuple(residuals.shape)
    cells = shape[-d - 1:-1]
    active = [i for i, f in enumerate(factors) if f not in inert]
    squeezed = residuals.reshape(shape[:-d - 1] + tuple(cells[i] for i in active) + shape[-1:])
    est = crossed_anova(squeezed, [factors[i] for i in active])
    zero = est["variance"] * 0.0
    out = {k: est[k] for k in ("test_error", "bias", "variance")}
    for name, members in component_members(factors):
        out[name] = zero if inert & set(members) else est["".join(members)]
    return out


@dataclass(frozen=True)
class SimulationResult(Tabular):
    """Monte Carlo estimates with standard errors over independent repetitions.

    Every figure is the mean over ``reps`` repetitions of an unbiased per-repetition estimate (the crossed design
    of :mod:`montecarlo.estimators`); ``stderr`` holds the standard error of each (``inf`` with one repetition).
    In every repetition ``bias + variance = test_error`` and the components of ``fine_grained`` sum to ``variance``.

    Attributes:
        model: ``"rf"``, ``"linear"``, ``"ntk"`` or ``"rf-shift"``.
        test_error: ``E_x (yhat(x) - y_*(x))^2``, excess (no test-label noise), averaged over all sources.
        train_error: ``(1/m) |Y - yhat(X)|^2`` with the noisy training labels.
        bias: ``E_x (E yhat(x) - y_*(x))^2``.
        variance: ``E_x Var yhat(x)`` = the sum of ``fine_grained``.
        fine_grained: the symmetric Sobol-Hoeffding terms (``P, X, eps, PX, Peps, Xeps, PXeps`` for random
            features and the NTK; ``X, eps, Xeps`` for linear ridge).
        extras: model-specific figures (``tau1``, ``tau2``; ``conditional_bias``; ``noise_variance``...).
        stderr: standard errors keyed like :meth:`as_dict` (``fine_grained`` nested).
        sources, trials: the crossed design (``trials[i]`` draws of ``sources[i]``; 1 for an inert source).
        reps, seed, n_test: repetitions, seed, test points (for linear ridge, the exact test expectation is used and
            ``n_test`` is 0).
        config: the problem and options, JSON-serialisable.
        samples: per-repetition estimates (arrays of shape ``(reps,)``) for every key above.
        elapsed_s: wall-clock seconds of the simulation.
    """

    model: str
    test_error: float
    train_error: float
    bias: float
    variance: float
    fine_grained: Mapping[str, float]
    extras: Mapping[str, float]
    stderr: Mapping[str, Any]
    sources: tuple[str, ...]
    trials: tuple[int, ...]
    reps: int
    seed: int
    n_test: int
    config: Mapping[str, Any]
    samples: Mapping[str, np.ndarray] = field(repr=False)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The JSON record: the coordinates (:func:`model_coordinates`), ``test_error``, ``train_error``, ``bias``,
        ``variance``, ``fine_grained``, the extras, and ``stderr`` with the same keys (``fine_grained`` nested),
        plus ``config``."""
        out: dict[str, Any] = model_coordinates(self.config)
        out.update({k: getattr(self, k) for k in _HEADLINE})
        out["fine_grained"] = dict(self.fine_grained)
        out.update(self.extras)
        out["stderr"] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in self.stderr.items()}
        out["trials"] = list(self.trials)
        out["reps"] = self.reps
        out["seed"] = self.seed
        out["n_test"] = self.n_test
        out["config"] = dict(self.config)
        return out

    def nested_records(self) -> list[dict[str, Any]]:
        """``[as_dict()]`` without the ``config`` (its coordinates are columns): one row for :meth:`records`."""
        rec = self.as_dict()
        rec.pop("config")
        return [rec]

    def ensemble(self, k: float, over: str | Sequence[str] = "P") -> tuple[float, float]:
        """Error of an average of ``k`` models redrawing the sources ``over`` and sharing the others, with its
        standard error (docs/models.md §3.11): ``over="P"`` is an ensemble over weights sharing the
        data, ``over=("X", "eps")`` bagging over training sets sharing the weights.

        Computed per repetition from the unbiased components, so it is unbiased and its standard error is
        honest. ``k = math.inf`` gives the infinite ensemble.
        """
        comps = {name: self.samples[name] for name in self.fine_grained}
        per_rep = ensemble_error(comps, self.samples["bias"], k, over, self.sources)
        return mean_and_stderr(per_rep)

    def grouped(self, groups: Mapping[str, Sequence[str]]) -> dict[str, tuple[float, float]]:
        """Sums of fine-grained terms (e.g. d'Ascoli et al.'s ``{"noise": ["eps", "Peps", "Xeps", "PXeps"]}``)
        with standard errors computed per repetition."""
        out = {}
        for label, names in groups.items():
            unknown = set(names) - set(self.fine_grained)
            if unknown:
                raise ValueError(f"groups[{label!r}] names unknown terms {sorted(unknown)}; "
                                 f"known: {list(self.fine_grained)}")
            out[label] = mean_and_stderr(sum(self.samples[n] for n in names))
        return out


@dataclass(frozen=True)
class ShiftResult(Tabular):
    """Random features under covariate shift: the same fitted models scored on test inputs from ``Sigma_*``
    (:attr:`ood`) and from the training law ``Sigma`` (:attr:`iid`), on common random numbers."""

    ood: SimulationResult
    iid: SimulationResult

    @property
    def ood_penalty(self) -> tuple[float, float]:
        """``test_error - id_test_error`` and its standard error, from the per-repetition differences (both errors
        come from the same fitted models, so the pair is correlated and this error is smaller than either's)."""
        diff = np.asarray(self.ood.samples["test_error"]) - np.asarray(self.iid.samples["test_error"])
        return mean_and_stderr(diff)

    def as_dict(self) -> dict[str, Any]:
        """The OOD record at the top level (its keys as in :meth:`SimulationResult.as_dict`), ``ood_penalty``
        (with its paired standard error under ``stderr``) plus ``in_distribution`` (``test_error``, ``bias``,
        ``variance``, ``fine_grained`` and their ``stderr``)."""
        out = self.ood.as_dict()
        iid = self.iid.as_dict()
        out["ood_penalty"], out["stderr"]["ood_penalty"] = self.ood_penalty
        out["in_distribution"] = {k: iid[k] for k in ("test_error", "bias", "variance", "fine_grained")}
        out["in_distribution"]["stderr"] = {k: iid["stderr"][k]
                                            for k in ("test_error", "bias", "variance", "fine_grained")}
        return out

    def nested_records(self) -> list[dict[str, Any]]:
        """One row in the vocabulary of the theory (:func:`shift_record`): ``test_error`` ... on the test law,
        ``id_test_error``, ``id_bias``, ``id_variance``, ``id_fine_grained`` on the training law, ``ood_penalty``,
        and ``stderr`` with the same keys."""
        rec = shift_record(self.as_dict())
        rec.pop("config")
        return [rec]


def shift_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A :meth:`ShiftResult.as_dict` record (also as stored by a sweep) with the in-distribution numbers moved to
    the top level under the theory's names: ``id_test_error``, ``id_bias``, ``id_variance``, ``id_fine_grained``
    and their standard errors under ``stderr``."""
    out = dict(record)
    iid = out.pop("in_distribution")
    stderr = dict(out["stderr"])
    for k in ("test_error", "bias", "variance"):
        out[f"id_{k}"] = iid[k]
        stderr[f"id_{k}"] = iid["stderr"][k]
    out["id_fine_grained"] = iid["fine_grained"]
    stderr["id_fine_grained"] = iid["stderr"]["fine_grained"]
    out["stderr"] = stderr
    return out


def make_result(model: str, samples: Mapping[str, np.ndarray], *, sources: tuple[str, ...],
                trials: tuple[int, ...], extras: Sequence[str], reps: int, seed: int, n_test: int,
                config: Mapping[str, Any], elapsed_s: float, prefix: str = "") -> SimulationResult:
    """Summarise per-repetition samples (keys ``prefix + name``) into a :class:`SimulationResult`."""
    comps = component_keys(sources)

    def col(name: str) -> np.ndarray:
        key = prefix + name if name not in ("train_error",) and name not in extras else name
        a = np.array(samples[key], dtype=float)
        a.setflags(write=False)
        return a

    names = list(_HEADLINE) + list(comps) + list(extras)
    per_rep = {name: col(name) for name in names}
    value: dict[str, float] = {}
    err: dict[str, float] = {}
    for name, arr in per_rep.items():
        value[name], err[name] = mean_and_stderr(arr)
    bad = [k for k in list(_HEADLINE) + list(comps) if not math.isfinite(value[k])]
    if bad:  # an error, not data (e.g. a signal, noise or covariance scale near 1e308 overflows the squares)
        raise SolverError(f"{model} simulation produced non-finite {', '.join(bad)} ({value[bad[0]]}): the inputs "
                          "overflow float64", status=Status.NONFINITE)
    stderr: dict[str, Any] = {k: err[k] for k in _HEADLINE}
    stderr["fine_grained"] = MappingProxyType({k: err[k] for k in comps})
    stderr.update({k: err[k] for k in extras})
    return SimulationResult(
        model=model, test_error=value["test_error"], train_error=value["train_error"], bias=value["bias"],
        variance=value["variance"], fine_grained=MappingProxyType({k: value[k] for k in comps}),
        extras=MappingProxyType({k: value[k] for k in extras}), stderr=MappingProxyType(stderr),
        sources=tuple(sources), trials=tuple(int(t) for t in trials), reps=int(reps), seed=int(seed),
        n_test=int(n_test), config=MappingProxyType(dict(config)), samples=MappingProxyType(per_rep),
        elapsed_s=float(elapsed_s))

