"""rmt.numerics: the shared helpers (read-only results, 0 * inf = 0, Timer, the scoped float64 mode of JAX)."""

import math
import time

import numpy as np
import pytest

from rmt.numerics import Timer, float64_jax, frozen_value, jax_float64, readonly_array, zero_safe_product


def test_readonly_array_is_a_readonly_copy():
    src = np.array([1, 2, 3])
    out = readonly_array(src)
    assert out.dtype == float and not out.flags.writeable
    with pytest.raises(ValueError):
        out[0] = 5.0
    src[0] = 7  # the caller's array stays writable and the result does not follow it
    assert out[0] == 1.0
    assert readonly_array(np.int8(3), dtype=None).dtype == np.int8
    assert readonly_array(2.0).ndim == 0


def test_frozen_value_scalars_and_arrays():
    assert frozen_value(np.asarray(2.5)) == 2.5 and type(frozen_value(np.asarray(2.5))) is float
    assert type(frozen_value(np.int8(3), None)) is int
    a = frozen_value(np.arange(3), None)
    assert a.dtype == np.arange(3).dtype and not a.flags.writeable
    b = frozen_value([1, 2])
    assert b.dtype == float and not b.flags.writeable


def test_zero_safe_product():
    coef = np.array([0.0, 0.0, 2.0, 2.0])
    x = np.array([np.inf, np.nan, np.inf, 3.0])
    out = zero_safe_product(coef, x)
    assert out[0] == 0.0 and out[1] == 0.0 and math.isinf(out[2]) and out[3] == 6.0
    assert float(zero_safe_product(0.0, np.inf)) == 0.0


def test_timer_measures_elapsed_time():
    t = Timer()
    time.sleep(0.01)
    assert 0.009 <= t.elapsed < 5.0


def test_float64_scope_restores_the_global_setting_and_separates_compilations():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    before = jax.config.jax_enable_x64
    f = jax.jit(lambda x: x * 2.0)
    with float64_jax():
        assert jax.config.jax_enable_x64
        inside = f(np.ones(2))
    assert jax.config.jax_enable_x64 == before
    assert inside.dtype == jnp.float64
    if not before:  # the program compiled under the scope is not reused outside it
        assert f(np.ones(2)).dtype == jnp.float32

    @jax_float64
    def g(x):
        return jnp.asarray(x) + 1.0

    assert g(np.ones(1)).dtype == jnp.float64
    assert jax.config.jax_enable_x64 == before
