r"""Small numeric helpers shared by every layer (each one defined here and only here).

* :data:`ArrayLike` -- the annotation of inputs that are a float or a numpy array (broadcast together);
* :func:`readonly_array` and :func:`frozen_value` -- result arrays handed to users are read-only (a result is a
  frozen record: writing into one of its arrays would silently change it), and 0-d results are plain Python scalars;
* :func:`zero_safe_product` -- ``coef * x`` with ``0 * inf = 0``: a term whose prefactor vanishes exactly (zero noise,
  zero signal) contributes nothing even where its factor diverges (e.g. at the interpolation threshold);
* :class:`Timer` -- wall-clock seconds of a run;
* :func:`float64_jax` and :func:`jax_float64` -- run JAX code in 64-bit mode *inside a scope* (a ``with`` block or
  a decorated function), leaving JAX's global configuration (``jax_enable_x64``) as it was. JAX keys its
  compilation caches on this setting, so a function compiled inside the scope is never reused outside it.

Nothing here imports JAX at import time.
"""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

__all__ = ["ArrayLike", "Timer", "float64_jax", "frozen_value", "jax_float64", "readonly_array",
           "zero_safe_product"]

ArrayLike = Any
"""A float or a numpy array (inputs of vectorized functions broadcast together)."""

F = TypeVar("F", bound=Callable[..., Any])


def readonly_array(a: Any, dtype: Any = float) -> np.ndarray:
    """A read-only copy of ``a`` as an array of ``dtype`` (``None`` keeps the input's dtype); 0-d stays an array.

    Example:
        >>> readonly_array([1, 2]).flags.writeable
        False
    """
    arr = np.array(a, dtype=dtype)
    arr.setflags(write=False)
    return arr


def frozen_value(x: Any, dtype: Any = float) -> Any:
    """A result value: a Python scalar for 0-d input (``float`` for the default ``dtype``), otherwise a read-only
    copy as an array of ``dtype`` (``None`` keeps the input's dtype, e.g. integer status codes).

    Example:
        >>> frozen_value(np.asarray(2.0)), frozen_value([1.0, 2.0]).flags.writeable
        (2.0, False)
    """
    arr = np.array(x, dtype=dtype)
    if arr.ndim == 0:
        return arr.item()
    arr.setflags(write=False)
    return arr


def zero_safe_product(coef: Any, x: Any) -> np.ndarray:
    """``coef * x`` with ``0 * inf = 0`` (and ``0 * nan = 0``): a term with zero weight vanishes even where ``x``
    diverges.

    Example:
        >>> float(zero_safe_product(0.0, np.inf)), float(zero_safe_product(2.0, 3.0))
        (0.0, 6.0)
    """
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(coef) == 0, 0.0, np.multiply(coef, x))


class Timer:
    """Wall-clock seconds since construction (:attr:`elapsed`)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since the timer was created."""
        return time.perf_counter() - self.start


@contextlib.contextmanager
def float64_jax() -> Iterator[None]:
    """Inside the block JAX runs in 64-bit mode (``jax_enable_x64`` on); the previous setting is restored after.

    The setting is thread-local and part of the key of JAX's compilation caches, so code compiled inside the block
    (float64) and outside it (float32 by JAX's default) never share a compiled program. Imports JAX on first use.
    """
    import jax

    scope = getattr(jax, "enable_x64", None)
    if scope is None:  # JAX < 0.7 spells it jax.experimental.enable_x64
        from jax.experimental import enable_x64 as scope
    with scope(True):
        yield


def jax_float64(fn: F) -> F:
    """Decorator: run ``fn`` inside :func:`float64_jax` (for entry points whose JAX work must be float64)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with float64_jax():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
