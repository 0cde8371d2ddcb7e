"""One vocabulary of quantity names, shared by theory, simulation, validation and every table the package writes.

A theory result and a simulation estimate of the same model name the same number the same way: ``test_error`` from
:func:`rmt.theory.random_features.rf_theory` and ``test_error`` from :func:`rmt.montecarlo.simulate_rf` are the same
limit, and validation compares them key by key. This module is the one place where the names are defined; every
other module imports them from here.

Conventions (Adlam & Pennington, arXiv:2011.03321, eq. (5)-(7)): errors are *excess* errors (the test label's noise
is excluded); ``bias + variance = test_error``; the variance splits into the symmetric Sobol-Hoeffding terms of the
three independent sources ``P`` (the random weights / initialisation), ``X`` (the training inputs) and ``eps`` (the
training-label noise): ``variance = P + X + eps + PX + Peps + Xeps + PXeps`` (arXiv:2011.03321, eq. (10)).

In flat tables (:mod:`rmt.records`) the seven terms are columns ``fine_grained.P`` ... ``fine_grained.PXeps`` and a
standard error of a simulated quantity ``q`` is the column ``stderr.q`` (``stderr.fine_grained.PX``).

``COORDINATES`` lists the columns that locate a point (the problem description): theory rows and simulation rows of
the same model carry the same coordinate columns, so that joining them is one ``merge`` on those columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "COORDINATES",
    "FINE_GRAINED_KEYS",
    "FINE_GRAINED_PREFIX",
    "HEADLINE",
    "QUANTITIES",
    "SOURCES",
    "STDERR_PREFIX",
    "Quantity",
    "describe",
    "fine_grained_columns",
]

SOURCES: tuple[str, ...] = ("P", "X", "eps")
"""The independent random sources of random-feature and NTK regression: weights ``P``, inputs ``X``, noise ``eps``."""

FINE_GRAINED_KEYS: tuple[str, ...] = ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")
"""The seven fine-grained variance terms (every non-empty subset of :data:`SOURCES`, by size then in order)."""

FINE_GRAINED_PREFIX = "fine_grained"
"""Group name of the seven terms: nested records hold ``{"fine_grained": {"P": ...}}``, flat ones ``fine_grained.P``."""

STDERR_PREFIX = "stderr"
"""Group name of the standard errors of a simulation: ``stderr.test_error``, ``stderr.fine_grained.PX``."""

HEADLINE: tuple[str, ...] = ("test_error", "train_error", "bias", "variance")
"""The four numbers every model reports."""


@dataclass(frozen=True)
class Quantity:
    """A named quantity: its key in records and its meaning in one line."""

    name: str
    meaning: str


def _table(rows: Mapping[str, str]) -> Mapping[str, Quantity]:
    return MappingProxyType({k: Quantity(k, v) for k, v in rows.items()})


_FINE_MEANING = {
    "P": "variance due to the random weights alone (initialisation)",
    "X": "variance due to the training inputs alone",
    "eps": "variance due to the training-label noise alone",
    "PX": "interaction of weights and inputs",
    "Peps": "interaction of weights and label noise",
    "Xeps": "interaction of inputs and label noise",
    "PXeps": "three-way interaction of weights, inputs and label noise",
}

QUANTITIES: Mapping[str, Quantity] = _table({
    # the headline errors
    "test_error": "excess test error E_x (yhat(x) - y*(x))^2, test-label noise excluded, averaged over all sources",
    "train_error": "training error (1/m) |Y - yhat(X)|^2 with the noisy training labels",
    "bias": "error of the mean predictor, E_x (E yhat(x) - y*(x))^2",
    "variance": "test_error - bias = E_x Var yhat(x), the sum of the seven fine-grained terms",
    "test_mse": "test_error + noise: the test mean squared error including the label-noise floor",
    "noise_variance": "the part of the variance caused by training-label noise",
    # the seven fine-grained terms
    **{f"{FINE_GRAINED_PREFIX}.{k}": f"fine-grained term {k}: {v}" for k, v in _FINE_MEANING.items()},
    # resolvent traces and effective ridges
    "tau1": "lim (1/m) tr (K + ridge I)^-1, the normalised trace of the resolvent of the kernel",
    "tau2": "lim (1/m) tr [X^T X/n0 (K + ridge I)^-1]",
    "kappa": "effective (renormalised) ridge of the self-consistent equation of the model",
    "gamma_tilde": "random features: ensemble effective ridge (the infinite ensemble is linear ridge with it)",
    "kappa_prime": "random features: bagging effective ridge",
    "rho": "ridge of the linear model equivalent to the infinite ensemble",
    "chi": "Mei-Montanari's nu1 nu2 at the imaginary spectral argument (negative)",
    "overlap": "overlap of the mean predictor with the teacher (d'Ascoli et al.'s Psi_1)",
    "B_mm": "Mei-Montanari's bias functional B",
    "V_mm": "Mei-Montanari's variance functional V",
    "d1": "degrees of freedom (1/m) tr C (C + kappa)^-1",
    "d2": "(1/m) tr C^2 (C + kappa)^-2 (< 1 on the physical branch)",
    "df1": "degrees of freedom sum_i L_i (eigenframework) or gamma E_H[s/(s+kappa)] (linear ridge)",
    "df2": "sum_i L_i^2 (eigenframework) or gamma E_H[s^2/(s+kappa)^2] (linear ridge)",
    "E0": "overfitting coefficient: the factor by which sample fluctuations inflate the error",
    "residual": "relative residual of the equation that fixed the solution",
    "status": "solver status (success, ...)",
    # covariate shift
    "id_test_error": "test error on the training law (in distribution)",
    "id_bias": "bias on the training law",
    "id_variance": "variance on the training law",
    "ood_penalty": "test_error - id_test_error: what the shift costs (negative: the shift helps)",
    "id_ood_slope": "slope of the exact linear relation between OOD and ID error (ridgeless, over-parameterised)",
    "id_ood_intercept": "intercept of that linear relation",
    # eigenframework
    "kare": "kernel alignment risk estimate (GCV) from training data",
    "ensemble_limit_error": "excess error of an infinite ensemble over feature draws on the same data",
    "feature_variance": "variance over feature draws; a K-ensemble adds feature_variance / K",
    # linear ridge
    "conditional_bias": "Hastie et al.'s bias conditional on the training inputs",
    "conditional_variance": "Hastie et al.'s variance conditional on the training inputs",
    # NTK
    "ensemble_ridge": "NTK: ridge of the linear model equal to the weight-averaged predictor",
    "f0_excess": "NTK: error added by the network's initial function",
    "shrinkage": "NTK: mean shrinkage a with E[yhat(x) | beta] = a beta.x/sqrt(n0) (stored under the key 'alpha')",
    # feature transfer and the Hermite eigenstructure ansatz
    "kept_features": "feature transfer: number of features with a non-zero scale b_i",
    "learnability": "eigenframework: fraction of a target mode learnt, L_i = lambda_i / (lambda_i + kappa)",
})
"""Every quantity key with its meaning."""

COORDINATES: Mapping[str, Quantity] = _table({
    "model": "model name of the model table (rf, linear, ntk, shift, eigen-krr, eigen-rf)",
    "activation": "activation function of the features",
    "n0": "input dimension",
    "n1": "number of features (width)",
    "m": "number of training samples",
    "phi": "n0 / m",
    "psi": "n0 / n1",
    "ridge": "ridge in K + ridge I (random features, NTK; Adlam-Pennington scaling), X^T X/n + ridge I (linear), "
             "K + ridge I (eigenframework, sum convention)",
    "noise": "training-label noise variance",
    "signal": "teacher signal power |beta|^2 / n0 (|beta|^2 for linear ridge)",
    "nonlinear_signal": "power of a nonlinear teacher component",
    "n": "number of training samples (linear ridge, eigenframework)",
    "d": "dimension (linear ridge)",
    "gamma": "d / n (linear ridge)",
    "p": "number of random features (eigenframework)",
    "alpha": "spectral decay lambda_i = i^-alpha (eigenframework)",
    "beta": "target decay v_i^2 = i^-beta (eigenframework)",
    "modes": "number of modes of a truncated spectrum",
    "lr_ratio": "NTK: first-to-second-layer learning-rate ratio",
    "scaling": "NTK: quadratic, infinite-width or linear scaling",
    "spectrum": "covariate shift: the joint train/test spectrum",
    "algorithm": "learning dynamics: gf (gradient flow), gd, online-sgd or sgd (multi-pass)",
    "time": "learning dynamics: continuous training time of gradient flow",
    "step": "learning dynamics: number of (S)GD steps",
    "lr": "learning dynamics: learning rate",
    "batch": "learning dynamics: batch size of SGD",
    "features": "feature transfer: the featurisation (identity, top:K, power:P, optimal)",
    "kernel": "Hermite eigenstructure ansatz: the rotation-invariant kernel",
})
"""The coordinate columns of flat records (which apply depends on the model)."""


def fine_grained_columns() -> tuple[str, ...]:
    """``("fine_grained.P", ..., "fine_grained.PXeps")``: the flat column names of the seven terms."""
    return tuple(f"{FINE_GRAINED_PREFIX}.{k}" for k in FINE_GRAINED_KEYS)


def describe(name: str) -> str:
    """The one-line meaning of a quantity or coordinate key, flat (``stderr.fine_grained.PX``) or plain (``PX``).

    Raises:
        ValueError: an unknown name.
    """
    key = name
    prefix = ""
    if key.startswith(STDERR_PREFIX + "."):
        key, prefix = key[len(STDERR_PREFIX) + 1:], "standard error of: "
    if key in FINE_GRAINED_KEYS:
        key = f"{FINE_GRAINED_PREFIX}.{key}"
    if key.startswith("id_fine_grained."):
        key, prefix = FINE_GRAINED_PREFIX + key[len("id_fine_grained"):], prefix + "in distribution: "
    for table in (QUANTITIES, COORDINATES):
        if key in table:
            return prefix + table[key].meaning
    raise ValueError(f"name must be a known quantity or coordinate, got {name!r}")
