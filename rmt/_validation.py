"""Argument checks shared by every layer.

Every public entry point validates its inputs with these helpers so that bad input gets one clear
``ValueError`` naming the argument and the allowed range, from the API and (through the CLI) as a one-line
message with exit code 2.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = [
    "check_finite",
    "check_positive",
    "check_nonnegative",
    "check_in_range",
    "check_point",
    "check_positive_int",
    "check_probability",
]


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number (or an array of real numbers), got {value!r}") from None
    return arr



def check_finite(value: Any, name: str) -> np.ndarray:
    """Return ``value`` as a float array; raise ``ValueError`` if any entry is NaN or infinite."""
    arr = _as_float_array(value, name)
    if not np.all(np.isfinite(arr)):
        bad = float(arr[~np.isfinite(arr)].ravel()[0])
        raise ValueError(f"{name} must be a finite real number, got {bad!r}")
    return arr


def check_positive(value: Any, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """Values must be > 0 (and finite unless ``allow_inf``)."""
    arr = _as_float_array(value, name)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must be a positive number (> 0), got nan")
    if not allow_inf and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be a positive finite number (> 0), got inf")
    if np.any(arr <= 0):
        bad = float(arr[arr <= 0].ravel()[0])
        raise ValueError(f"{name} must be positive (> 0), got {bad!r}")
    return arr


SMALLEST_RIDGE = float(np.finfo(float).tiny)
"""The smallest positive ridge accepted: float64's smallest normal number (about 2.2e-308). Below it the ridge is a
subnormal number without float64's precision, and the ridge-dependent terms of the theories underflow."""


def check_ridge(value: Any, name: str = "ridge") -> np.ndarray:
    """A ridge: finite, ``>= 0``, and either 0 (the exact ridgeless limit) or at least :data:`SMALLEST_RIDGE`."""
    arr = check_nonnegative(value, name)
    sub = (arr > 0) & (arr < SMALLEST_RIDGE)
    if np.any(sub):
        bad = float(arr[sub].ravel()[0])
        raise ValueError(f"{name} must be 0 or at least {SMALLEST_RIDGE:.6g} (float64's smallest normal number; a "
                         f"subnormal ridge has no float64 precision), got {bad!r}")
    return arr


def check_point(value: Any, name: str, check: Callable[[Any, str], np.ndarray]) -> float:
    """One number of a problem description that is one point (not a grid): a scalar passing ``check``."""
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number (one problem is one point), got {value!r}")
    return float(check(value, name))


def check_nonnegative(value: Any, name: str, *, allow_inf: bool = False) -> np.ndarray:
    """Values must be >= 0 (and finite unless ``allow_inf``)."""
    arr = _as_float_array(value, name)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must be a non-negative number (>= 0), got nan")
    if not allow_inf and np.any(np.isinf(arr)):
        raise ValueError(f"{name} must be a non-negative finite number (>= 0), got inf")
    if np.any(arr < 0):
        bad = float(arr[arr < 0].ravel()[0])
        raise ValueError(f"{name} must be non-negative (>= 0), got {bad!r}")
    return arr


def check_in_range(value: Any, name: str, lo: float, hi: float, *, lo_open: bool = False,
                   hi_open: bool = False) -> np.ndarray:
    """Values must lie in the interval [lo, hi] (ends open as requested)."""
    arr = check_finite(value, name) if math.isfinite(lo) and math.isfinite(hi) else _as_float_array(value, name)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} must be a number, got nan")
    below = arr <= lo if lo_open else arr < lo
    above = arr >= hi if hi_open else arr > hi
    if np.any(below | above):
        bad = float(arr[below | above].ravel()[0])
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must lie in {interval}, got {bad!r}")
    return arr


def check_probability(value: Any, name: str) -> np.ndarray:
    return check_in_range(value, name, 0.0, 1.0)


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """A scalar integer >= ``minimum`` (floats with integral value are accepted)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}") from None
    if not math.isfinite(f) or f != int(f) or int(f) < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(f)
