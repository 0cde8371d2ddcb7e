"""Caps on the cost of a request, shared by the API (``rmt.montecarlo``) and the command line (``rmt.figures``).

One set of numbers: the simulators refuse a count above these caps with a ``ValueError`` naming the argument (before
any work), and the command line's preflight checks refuse the same counts as flags with exit code 2. Each cap is a
module constant, so a caller (or a test) can read it; :mod:`rmt.figures._limits` re-exports them.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "MAX_CELLS",
    "MAX_DECAY",
    "MAX_GRID",
    "MAX_MODES",
    "MAX_NODES",
    "MAX_PRECISION",
    "MAX_REPS",
    "MAX_RIDGE",
    "MAX_SIZE",
    "MAX_SWEEP_POINTS",
    "MAX_TRIALS",
    "SPECTRUM_RATIO",
]

MAX_SIZE = 10**7
"""Largest dimension, width, sample or test-set size of a simulation."""
MAX_SWEEP_POINTS = 100_000
"""Largest number of points in one sweep (product of the lengths of all list flags) and in one list flag."""
MAX_REPS = 100_000
"""Largest number of repetitions (``reps``; the replicates of the models that count them as ``trials``)."""
MAX_TRIALS = 10_000
"""Largest draw count of one source in ``trials`` (and of any other per-repetition count)."""
MAX_CELLS = 100_000
"""Largest product of the ``trials`` counts (fitted models per repetition)."""
MAX_PRECISION = 2_000
"""Largest mpmath precision (significant digits)."""
MAX_GRID = 10**6
"""Largest number of points of a density grid."""
MAX_MODES = 10**7
"""Largest number of modes of a truncated power-law spectrum."""
MAX_NODES = 10**5
"""Largest number of nodes of a quadrature."""
MAX_RIDGE = 1e300
"""Largest ridge (the theories are exact from 0 to here; beyond, squares of the effective ridges overflow)."""
SPECTRUM_RATIO = (1e-3, 1e3)
"""Range of ``phi`` and ``psi`` of the kernel spectrum (the support of the kernel spectrum is delimited by
continuation in the complex plane, which loses the physical root beyond)."""
MAX_DECAY = 100.0
"""Largest power-law exponent of the eigenframework (``2^-100 ~ 1e-30``)."""
DEFAULT_MAX_MEMORY = 8 * 1024**3
"""Default memory limit (bytes) of one fitted model of a command-line simulation (``--max-memory``)."""
