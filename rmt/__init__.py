"""rmt: model-agnostic random-matrix machinery and the problem description shared by theory and simulation.

Public modules: :mod:`rmt.activations` (Gaussian moments), :mod:`rmt.stieltjes` (Marchenko-Pastur and Stieltjes
inversion), :mod:`rmt.kernel_spectrum` (the nonlinear random-feature Gram spectrum), :mod:`rmt.symbolic` (elimination
of polynomial self-consistent systems), :mod:`rmt.solvers` (roots with physical-branch rules, continuation,
bracketing, mpmath path, one minimiser), :mod:`rmt.problem` (``Problem``, ``LinearProblem``, ``CovarianceSpectrum``,
``JointSpectrum``), :mod:`rmt.eigensystem` (``Eigensystem``, ``EigenProblem``), :mod:`rmt.dynamics_problem`
(``DynamicsProblem``), :mod:`rmt.transfer_problem` (``TransferProblem``, ``TransferSetting``), :mod:`rmt.hea_problem`
(``HEAProblem``), :mod:`rmt.quantities` (the one vocabulary of quantity names), :mod:`rmt.records` (flat records,
CSV, DataFrames), :mod:`rmt.numerics` (read-only results, ``0 * inf = 0``, timers, the scoped float64 mode of JAX)
and :mod:`rmt.limits` (the caps every command and simulator checks before any work). ``python -m rmt`` runs the
command line (:mod:`rmt.figures.cli`).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# The names below load on first use (PEP 562), so that ``import rmt`` (and with it the command line's start-up)
# does not pay for sympy, scipy and mpmath until something needs them.
_LAZY = {
    "Activation": "rmt.activations", "ActivationConstants": "rmt.activations", "KNOWN_ACTIVATIONS": "rmt.activations",
    "constants": "rmt.activations", "get_activation": "rmt.activations",
    "CovarianceSpectrum": "rmt.problem", "JointSpectrum": "rmt.problem", "LinearProblem": "rmt.problem",
    "Problem": "rmt.problem", "Eigensystem": "rmt.eigensystem", "EigenProblem": "rmt.eigensystem",
    "DynamicsProblem": "rmt.dynamics_problem",
    "TransferProblem": "rmt.transfer_problem", "TransferSetting": "rmt.transfer_problem",
    "HEAProblem": "rmt.hea_problem",
    "Solution": "rmt.solvers", "SolverError": "rmt.solvers", "Status": "rmt.solvers",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"rmt.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"rmt.{name}":
            raise
        raise AttributeError(f"module 'rmt' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Activation",
    "ActivationConstants",
    "CovarianceSpectrum",
    "DynamicsProblem",
    "EigenProblem",
    "Eigensystem",
    "HEAProblem",
    "JointSpectrum",
    "KNOWN_ACTIVATIONS",
    "LinearProblem",
    "Problem",
    "Solution",
    "SolverError",
    "Status",
    "TransferProblem",
    "TransferSetting",
    "__version__",
    "constants",
    "get_activation",
]
