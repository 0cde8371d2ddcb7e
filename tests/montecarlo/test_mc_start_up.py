"""The shortcuts that make ``rmt simulate rf`` cheaper leave its numbers unchanged: the Cholesky factor of a
block-built Gram matrix taken without symmetrising (and of its transpose) is the factor
:func:`jax.numpy.linalg.cholesky` gives, bit for bit; the Gram blocks follow the stated rule; the command line's
garbage-collector settings are made by its entry point only, not by importing it or calling :func:`main`."""

from __future__ import annotations

import gc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rmt.montecarlo.random_features import gram_cholesky, gram_parts, symmetric_gram
from rmt.numerics import float64_jax


@pytest.mark.parametrize("n, parts", [(9, 2), (23, 3), (40, 4)])
def test_gram_cholesky_is_the_symmetrising_factor_bit_for_bit(n, parts):
    feats = np.random.default_rng(n).standard_normal((n, 2 * n))
    with float64_jax():
        gram = jax.jit(lambda f: symmetric_gram(f, parts) / (2 * n) + 0.1 * jnp.eye(n))(feats)
        got = np.asarray(jax.jit(gram_cholesky, static_argnums=1)(gram, parts))
        want = np.asarray(jax.jit(jnp.linalg.cholesky)(gram))
    g = np.asarray(gram)
    assert np.array_equal(g, g.T)  # symmetric by construction, so skipping the symmetrisation is exact
    assert np.array_equal(got, want)
    np.testing.assert_allclose(got @ got.T, g, rtol=1e-12, atol=1e-12)


def test_gram_cholesky_of_stacked_matrices():
    feats = np.random.default_rng(1).standard_normal((3, 12, 20))
    with float64_jax():
        gram = jax.vmap(lambda f: symmetric_gram(f, 2) / 20 + 0.5 * jnp.eye(12))(feats)
        got = np.asarray(gram_cholesky(gram, 2))
        want = np.asarray(jnp.linalg.cholesky(gram))
    assert np.array_equal(got, want)


def test_gram_parts_rule():
    assert [gram_parts(n) for n in (10, 799, 800, 1023, 1024, 1536, 2047, 2048, 10_000)] == [1, 1, 2, 2, 2, 3, 3, 4, 4]


def test_gc_settings_only_in_the_console_entry_point():
    before = gc.get_threshold()
    from rmt.figures import cli

    assert cli.main(["constants", "--activation", "relu", "--json"]) == 0
    assert gc.get_threshold() == before
    assert cli.GC_THRESHOLD0 > before[0]
