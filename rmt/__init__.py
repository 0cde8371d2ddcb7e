"""rmt: model-agnostic random-matrix machinery and the problem description shared by theory and simulation.

Public modules: :mod:`rmt.activations` (Gaussian moments), :mod:`rmt.stieltjes` (Marchenko-Pastur and Stieltjes
inversion), :mod:`rmt.kernel_spectrum` (the nonlinear random-feature Gram spectrum), :mod:`rmt.symbolic` (elimination
of polynomial self-consistent systems), :mod:`rmt.solvers` (roots with physical-branch rules, continuation,
bracketing, mpmath path) and :mod:`rmt.problem`.
"""

from rmt.activations import Activation, ActivationConstants, KNOWN_ACTIVATIONS, constants, get_activation
from rmt.problem import CovarianceSpectrum, JointSpectrum, LinearProblem, Problem
from rmt.solvers import Solution, SolverError, Status

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "ActivationConstants",
    "CovarianceSpectrum",
    "JointSpectrum",
    "KNOWN_ACTIVATIONS",
    "LinearProblem",
    "Problem",
    "Solution",
    "SolverError",
    "Status",
    "__version__",
    "constants",
    "get_activation",
]
