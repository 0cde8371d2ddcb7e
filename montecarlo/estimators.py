r"""Unbiased estimators for balanced crossed Monte Carlo designs.

A repetition draws ``k_1`` samples of the first random source, ``k_2`` of the second, ... (for random features:
``k_P`` weight matrices ``W`` x ``k_X`` training sets ``X`` x ``k_eps`` label-noise vectors ``eps``), fits one
model per cell of the full cross and evaluates every model on one shared test set. The residuals
``r[i_1, ..., i_d, t] = yhat(x_t) - y_*(x_t)`` are the input of everything here.

Fine-grained variance (Adlam & Pennington, arXiv:2011.03321, and ../shared/reference/random_features.md section 3.2)
is the symmetric Sobol-Hoeffding decomposition of ``Var yhat(x)`` over the independent sources, averaged over the
test point. For a balanced crossed design with one observation per cell, the classical random-effects ANOVA gives
it without bias (Searle, Casella & McCulloch, *Variance Components*, ch. 4; the Hoeffding terms of different
subsets are uncorrelated, which is all the expected-mean-square algebra needs):

* mean square of effect ``S``: ``MS_S = SS_S / df_S`` with ``df_S = prod_{i in S} (k_i - 1)``;
* ``E[MS_S] = sum_{T >= S} c_T V_T`` with ``c_T = prod_{i not in T} k_i``;
* hence, by Moebius inversion, ``V_S = (1 / c_S) sum_{T >= S} (-1)^{|T \ S|} MS_T`` (the top interaction is
  estimated by its own mean square, ``V_{1..d} = MS_{1..d}``).

``test_error`` is the plain mean of ``r^2`` over cells and test points (each cell is one independent model, so it is
unbiased); ``variance`` is the sum of the component estimates; ``bias = test_error - variance``. This bias equals
the corrected estimator ``mean_t rbar_t^2 - sum_S V_S / n_S`` (``rbar`` the grand mean over cells,
``n_S = prod_{i in S} k_i``, so ``sum_S V_S / n_S`` estimates ``Var rbar``) *algebraically* in a balanced design:
``sum_S V_S (1 - 1/n_S) = (1/N) sum_S SS_S``, the within-cells sum of squares. Hence, in every single estimate,
``bias + variance = test_error`` and the components sum to ``variance`` (checked in the tests to 1e-12).

Components are unbiased, so they can be negative when the true value is near zero; they are not clipped (clipping
would bias them).

Ensembles and bagging (random_features.md section 3.8): the error of the average of ``k`` models that redraw the
sources ``over`` (and share the others) is ``B + sum_{S disjoint from over} V_S + (1/k) sum_{S meets over} V_S``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from rmt.quantities import FINE_GRAINED_KEYS, SOURCES  # re-exported; SOURCES in the order of component names

__all__ = [
    "FINE_GRAINED_KEYS",
    "SOURCES",
    "component_keys",
    "component_members",
    "crossed_anova",
    "ensemble_error",
    "ensemble_error_direct",
    "mean_and_stderr",
]


def _subsets(d: int) -> list[tuple[int, ...]]:
    """Non-empty subsets of ``range(d)``, by size then lexicographically (P, X, eps, PX, Peps, Xeps, PXeps)."""
    return [s for r in range(1, d + 1) for s in itertools.combinations(range(d), r)]


def component_members(factors: Sequence[str]) -> list[tuple[str, tuple[str, ...]]]:
    """``(name, sources)`` of every variance component of a design with these factors, in canonical order."""
    return [("".join(factors[i] for i in s), tuple(factors[i] for i in s)) for s in _subsets(len(factors))]


def component_keys(factors: Sequence[str]) -> tuple[str, ...]:
    """Names of the variance components of a design with these factors (``("P","X","eps")`` gives
    :data:`FINE_GRAINED_KEYS`)."""
    return tuple(name for name, _ in component_members(factors))


def crossed_anova(residuals: Any, factors: Sequence[str]) -> dict[str, Any]:
    r"""Unbiased test error, bias and Sobol-Hoeffding variance components from a balanced crossed design.

    Works on numpy and on JAX arrays (it uses only array methods).

    Args:
        residuals: array of shape ``(..., k_1, ..., k_d, T)``: ``yhat - y_*`` of the model of each cell at each of
            ``T`` shared test points (or coordinates whose mean square is the exact test error); leading axes are
            independent designs (e.g. repetitions).
        factors: the ``d`` source names, e.g. ``("P", "X", "eps")``; component names are their concatenations.

    Returns:
        A dict with ``test_error`` (mean of ``r^2``), ``bias``, ``variance`` and one entry per non-empty subset of
        factors (see :func:`component_keys`), each averaged over the test points (shape: the leading axes).

    Raises:
        ValueError: a factor has fewer than 2 levels (its components would not be estimable), or the shape does
            not match ``factors``.
    """
    d = len(factors)
    shape = tuple(residuals.shape)
    if len(shape) < d + 1:
        raise ValueError(f"residuals must have shape (..., k_1, ..., k_{d}, T) for factors {tuple(factors)}, "
                         f"got shape {shape}")
    k = shape[-d - 1:-1]
    for name, ki in zip(factors, k):
        if ki < 2:
            raise ValueError(f"the crossed design needs at least 2 levels of every source; {name} has {ki}")
    n_cells = math.prod(k)
    axis = [i - d - 1 for i in range(d)]  # the cell axes, counted from the end
    subsets = _subsets(d)
    mean_square: dict[tuple[int, ...], Any] = {}
    for s in subsets:
        other = tuple(axis[i] for i in range(d) if i not in s)
        effect = residuals.mean(axis=other, keepdims=True) if other else residuals
        for i in s:
            effect = effect - effect.mean(axis=axis[i], keepdims=True)
        n_s = math.prod(k[i] for i in s)
        df_s = math.prod(k[i] - 1 for i in s)
        ss = (n_cells / n_s) * (effect * effect).sum(axis=tuple(axis))  # (..., T)
        mean_square[s] = ss.mean(axis=-1) / df_s
    out: dict[str, Any] = {}
    variance = 0.0
    for s, (name, _) in zip(subsets, component_members(factors)):
        c_s = n_cells / math.prod(k[i] for i in s)
        acc = 0.0
        for t in subsets:
            if set(s) <= set(t):
                acc = acc + (-1.0) ** (len(t) - len(s)) * mean_square[t]
        out[name] = acc / c_s
        variance = variance + out[name]
    test_error = (residuals * residuals).mean(axis=tuple(axis) + (-1,))
    out["test_error"] = test_error
    out["variance"] = variance
    out["bias"] = test_error - variance
    return out


def ensemble_error_direct(residuals: Any, factors: Sequence[str], over: str) -> Any:
    """Direct estimate of the error of the average of the ``k`` models along factor ``over`` (``k`` its level count).

    Averages the residuals (shape ``(..., k_1, ..., k_d, T)``) over the axis of ``over`` and returns the mean square
    over the other cells and the test points: unbiased for the error of a ``k``-member ensemble that shares every
    other source.
    """
    if over not in factors:
        raise ValueError(f"over must be one of {tuple(factors)}, got {over!r}")
    d = len(factors)
    avg = residuals.mean(axis=list(factors).index(over) - d - 1)
    return (avg * avg).mean(axis=tuple(range(-d, 0)))


def ensemble_error(components: Mapping[str, Any], bias: Any, k: int | float, over: Iterable[str] | str,
                   factors: Sequence[str] = SOURCES) -> Any:
    r"""Error of the average of ``k`` models that redraw the sources ``over`` and share the others.

    ``E(k) = B + sum_{S disjoint from over} V_S + (1/k) sum_{S meets over} V_S`` (random_features.md section 3.8):
    ``over="P"`` is an ensemble over initialisations sharing the data; ``over=("X", "eps")`` is bagging over
    independent training sets sharing the weights. Exact as an identity of expectations, so applied to unbiased
    component estimates it is unbiased. ``k = inf`` gives the infinite ensemble.

    Args:
        components: the variance components keyed as :func:`component_keys` (values or per-repetition arrays).
        bias: the bias (value or array).
        k: ensemble size ``>= 1``.
        over: one source name or several.
        factors: the design's source names.
    """
    over_set = {over} if isinstance(over, str) else set(over)
    bad = over_set - set(factors)
    if not over_set or bad:
        raise ValueError(f"over must name sources among {tuple(factors)}, got {sorted(over_set)}")
    kf = float(k)
    if not (kf >= 1):
        raise ValueError(f"k must be >= 1 (or inf), got {k!r}")
    total = bias
    for name, members in component_members(factors):
        shared = not (over_set & set(members))
        total = total + (components[name] if shared else components[name] / kf)
    return total


def mean_and_stderr(samples: Any) -> tuple[float, float]:
    """Mean over repetitions and its standard error ``std(ddof=1)/sqrt(R)``.

    One repetition gives ``stderr = inf`` (unknown, not zero). Samples that are all ``+inf`` (an exactly infinite
    quantity, e.g. ``tau1`` at zero ridge below the interpolation threshold) give ``(inf, 0.0)``. NaN samples, or a
    mix of infinite and finite ones, raise ``ValueError``.
    """
    x = np.asarray(samples, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("samples must not be empty")
    if np.any(np.isnan(x)):
        raise ValueError("samples contain NaN")
    if np.all(np.isposinf(x)):
        return math.inf, 0.0
    if not np.all(np.isfinite(x)):
        raise ValueError("samples mix finite and infinite values")
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.inf
    return mean, float(x.std(ddof=1) / math.sqrt(x.size))
