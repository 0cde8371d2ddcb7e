"""The machine's own matrix-product rate, against which the benchmarks state their matmul fractions."""

from __future__ import annotations

import math
import time


def matmul_rate(n: int, repeat: int = 5, dtype: str = "float64") -> float:
    """Best FLOP/s of an ``n x n`` matrix product in ``dtype`` on the default JAX device (``repeat`` timed runs after
    one untimed compile)."""
    import jax

    with jax.enable_x64(True):
        a = jax.random.normal(jax.random.key(0), (n, n), dtype)
        b = jax.random.normal(jax.random.key(1), (n, n), dtype)
        f = jax.jit(lambda x, y: x @ y)
        f(a, b).block_until_ready()
        best = math.inf
        for _ in range(repeat):
            t = time.perf_counter()
            f(a, b).block_until_ready()
            best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best
