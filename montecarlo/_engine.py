r"""Shared machinery of the Monte Carlo models: random streams, input sampling, batching, repetition runner.

Random streams (the reproducibility contract). Repetition ``r`` of a run with seed ``s`` uses the key
``fold_in(key(s, impl="threefry2x32"), r)`` and, inside it, one stream per source (:data:`STREAM`; see
:func:`normal_draws`). So a repetition depends only on ``(seed, r)``, and raising ``k_P`` adds weight draws without
changing the existing ones. Same seed and same configuration on the same machine give bit-identical results.

Devices. Repetitions are spread over every visible device with :func:`jax.shard_map` on a one-axis mesh
(``"reps"``); on one device the runner is a plain ``jax.jit``. Multi-host runs need nothing else: call
``jax.distributed.initialize()`` in every process before using :mod:`montecarlo` (``jax.devices()`` then lists the
devices of all hosts, the repetition indices are created with :func:`jax.make_array_from_callback`, and results are
gathered with :func:`jax.experimental.multihost_utils.process_allgather`). There is no home-made networking.

Memory. A model tells :func:`choose_cell_batch` the bytes and FLOPs of one cell (one fitted model) and of the
arrays shared by a repetition; cells are vmapped in groups (``jax.lax.map(..., batch_size=...)``) so that one group
stays within ``max_memory`` bytes and batching stops once a group carries enough FLOPs to keep the BLAS busy.

LAPACK threads. On CPU, JAX's Cholesky and triangular solves call the OpenBLAS bundled with scipy. Its threads
compete with XLA's own thread pool for the same cores, which makes solves many times slower (measured on 2 cores:
a 50 x 50 triangular solve 20 ms instead of 30 us; a 2000 x 2000 Cholesky 0.7 s instead of 0.27 s), so a run holds
that OpenBLAS at :data:`LAPACK_THREADS` (one) thread for its duration (:func:`lapack_threads`) and leaves the
parallelism to XLA's products. Set ``montecarlo._engine.LAPACK_THREADS = None`` to leave OpenBLAS alone.

Compilation. Small programs are compiled with ``xla_backend_optimization_level=0`` (:func:`compiler_options`):
on CPU their compilation, not their run, dominates; large ones get XLA's default optimisation.
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from rmt._validation import check_positive, check_positive_int
from rmt.activations import Activation, gaussian_mean
from rmt.limits import DEFAULT_MAX_MEMORY as MEMORY_LIMIT
from rmt.limits import MAX_CELLS, MAX_REPS, MAX_TRIALS
from rmt.numerics import jax_float64
from rmt.problem import CovarianceSpectrum
from rmt.solvers import SolverError

__all__ = [
    "DEFAULT_MAX_MEMORY",
    "LAPACK_THREADS",
    "STREAM",
    "atom_counts",
    "centering_mean",
    "check_count",
    "check_seed",
    "check_trials",
    "combine_columns",
    "label_columns",
    "choose_cell_batch",
    "diagonal_covariances",
    "resolve_dtype",
    "normal_draws",
    "rep_key",
    "run_repetitions",
    "teacher",
    "unit_norm_rows",
]

LAPACK_THREADS: int | None = 1
"""Threads of scipy's OpenBLAS (jaxlib's CPU LAPACK) during a run; ``None`` leaves it as it is."""

DEFAULT_MAX_MEMORY = 2 * 1024**3
"""Default bound (bytes) on the arrays one vmapped group of cells/repetitions holds."""

STREAM = {"beta": 0, "test": 1, "P": 2, "X": 3, "eps": 4, "a": 5, "teacher_dir": 6}
"""Integers that give each random source its own stream inside a repetition key (see :func:`normal_draws`)."""

PRNG_IMPL = "threefry2x32"


def rep_key(seed: Any, rep: Any) -> jax.Array:
    """The key of repetition ``rep`` of a run with seed ``seed``."""
    return jax.random.fold_in(jax.random.key(seed, impl=PRNG_IMPL), rep)


BLOCK = 4096
"""Normals are generated in blocks of this many numbers, each block from its own key."""


def normal_draws(key: jax.Array, requests: Sequence[tuple[str, int, tuple[int, ...]]], dtype: Any
                 ) -> dict[str, jax.Array]:
    """Standard normal draws for several sources of one repetition, from a single generator call site.

    Request ``(source, count, shape)`` gives ``count`` independent arrays of ``shape`` (stacked); the ``i``-th one
    is made of blocks of :data:`BLOCK` numbers, block ``b`` drawn with the key
    ``fold_in(fold_in(key, STREAM[source] * 2**16 + i), b)``. So a draw depends only on the repetition key, its
    source, its index and its shape (raising a count adds draws and changes none), and XLA compiles the
    counter-based generator once per program instead of once per source (compilation dominated small runs).
    The numbers are always drawn in float64 and rounded to ``dtype``, so float32 runs see the same draws.
    """
    codes, blocks, layout = [], [], []
    start = 0
    for source, count, shape in requests:
        size = math.prod(shape)
        nb = max(1, math.ceil(size / BLOCK))
        for i in range(count):
            codes.append(np.full(nb, STREAM[source] * 2**16 + i, dtype=np.uint32))
            blocks.append(np.arange(nb, dtype=np.uint32))
        layout.append((source, count, shape, size, nb, start))
        start += count * nb
    codes_arr, blocks_arr = np.concatenate(codes), np.concatenate(blocks)

    def one(code, block):
        k = jax.random.fold_in(jax.random.fold_in(key, code), block)
        return jax.random.normal(k, (BLOCK,), jnp.float64)

    flat = jax.vmap(one)(jnp.asarray(codes_arr), jnp.asarray(blocks_arr)).astype(dtype)  # (blocks, BLOCK)
    out = {}
    for source, count, shape, size, nb, first in layout:
        part = flat[first:first + count * nb].reshape(count, nb * BLOCK)[:, :size]
        out[source] = part.reshape((count,) + tuple(shape))
    return out


def check_seed(seed: Any) -> int:
    """A non-negative integer seed below 2**63."""
    s = check_positive_int(seed, "seed", minimum=0)
    if s >= 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    return s


def check_count(value: Any, name: str, *, minimum: int = 1, limit: int = MAX_REPS) -> int:
    """A repetition count (``reps``, or the replicates a model calls ``trials``): an integer in ``[minimum, limit]``.

    The one cost check of every simulator, made before any work: repetitions run one after another, so a count
    above the cap (:data:`rmt.limits.MAX_REPS`, the command line's ``--reps`` cap) cannot finish; it is refused with
    the request and the limit. :func:`run_repetitions` checks its ``reps`` here too.
    """
    k = check_positive_int(value, name, minimum=minimum)
    if k > limit:
        raise ValueError(f"{name} must be an integer in [{minimum}, {limit}]: {k:.3g} repetitions requested, the "
                         f"limit is {limit} (they run one after another)")
    return k


def check_trials(trials: Any, names: tuple[str, ...], *, inert: tuple[str, ...] = ()) -> tuple[int, ...]:
    """Validate the crossed design ``k_1 x ... x k_d``.

    Every source needs at least 2 levels, except those in ``inert`` (which provably do not affect the predictor,
    e.g. ``eps`` at zero noise): their count is forced to 1 and their components are exactly zero.
    """
    try:
        if isinstance(trials, str):
            raise TypeError
        values = tuple(trials)
    except TypeError:
        raise ValueError(f"trials must be a sequence of {len(names)} integers ({','.join(names)}), "
                         f"got {trials!r}") from None
    if len(values) != len(names):
        raise ValueError(f"trials must have {len(names)} entries ({','.join(names)}), got {len(values)}")
    out = []
    for name, v in zip(names, values):
        k = check_positive_int(v, f"trials[{name}]", minimum=1)
        if name in inert:
            k = 1
        elif k < 2:
            raise ValueError(f"trials[{name}] must be an integer >= 2 (the unbiased variance estimators need two "
                             f"draws of each source), got {v!r}")
        if k > MAX_TRIALS:
            raise ValueError(f"trials[{name}] must be at most {MAX_TRIALS} (rmt.limits.MAX_TRIALS), got {v!r}")
        out.append(k)
    if math.prod(out) > MAX_CELLS:
        raise ValueError(f"trials: {math.prod(out)} fitted models per repetition ({' x '.join(map(str, out))}); the "
                         f"limit is {MAX_CELLS} (rmt.limits.MAX_CELLS)")
    return tuple(out)


def resolve_dtype(dtype: Any) -> str:
    """``"float64"`` (default) or ``"float32"``."""
    try:
        name = dtype.strip().lower() if isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return name


def atom_counts(weights: np.ndarray, n: int) -> np.ndarray:
    """Integer coordinate counts per spectral atom, summing to ``n`` (largest-remainder rounding of
    ``weights * n``); every atom gets at least one coordinate.

    Raises:
        ValueError: fewer coordinates than atoms.
    """
    w = np.asarray(weights, dtype=float)
    if n < w.size:
        raise ValueError(f"the dimension ({n}) must be at least the number of spectral atoms ({w.size})")
    exact = w / w.sum() * n
    counts = np.maximum(np.floor(exact).astype(int), 1)
    while counts.sum() > n:  # only possible through the max(., 1) floor
        counts[np.argmax(np.where(counts > 1, counts - exact, -np.inf))] -= 1
    remainder = exact - counts
    for i in np.argsort(-remainder, kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts


def diagonal_covariances(spectrum: CovarianceSpectrum | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test covariance diagonals of length ``n`` in the shared eigenbasis (atom ``k`` gets
    :func:`atom_counts` coordinates, in atom order); ``None`` gives the identity."""
    if spectrum is None:
        return np.ones(n), np.ones(n)
    counts = atom_counts(spectrum.weights, n)
    return np.repeat(spectrum.train, counts), np.repeat(spectrum.test, counts)


def centering_mean(activation: Activation, variance: float = 1.0) -> float:
    """``mu0 = E sigma(u)`` for ``u ~ N(0, variance)`` (:func:`rmt.activations.gaussian_mean`): float64 closed forms
    for named activations (20-digit quadrature for softplus), 200-node Gauss-Hermite for custom callables (about
    1e-3 accurate across a kink)."""
    return gaussian_mean(activation, float(check_positive(variance, "variance")))


def unit_norm_rows(g: jax.Array, norm: Any) -> jax.Array:
    """Rescale the last axis of ``g`` to Euclidean norm ``norm`` (zero when ``norm`` is zero)."""
    n = jnp.sqrt(jnp.sum(g * g, axis=-1, keepdims=True))
    return g * (norm / n)


def teacher(x: jax.Array, beta: jax.Array, direction: jax.Array | None, nonlinear_scale: Any) -> jax.Array:
    r"""Clean target ``beta.x / sqrt(n0) + nonlinear_scale * He2(direction.x) / sqrt(2)`` on the rows of ``x``.

    ``direction`` is normalised by the caller so that ``direction.x ~ N(0, 1)`` on training inputs; the nonlinear
    part (``He2(z) = z^2 - 1``) then has mean zero, unit variance and no linear component there.
    """
    n0 = x.shape[-1]
    y = x @ beta / math.sqrt(n0)
    if direction is not None:
        z = x @ direction
        y = y + nonlinear_scale * (z * z - 1.0) / math.sqrt(2.0)
    return y


def label_columns(y_clean: jax.Array, eps: jax.Array | None) -> jax.Array:
    """Right-hand sides of the fits: the clean labels ``(k_X, m)`` and, when noisy, the ``k_eps`` noise vectors
    ``(k_eps, m)`` as extra columns: ``(k_X, m, 1 + k_eps)`` (or ``(k_X, m, 1)``). The fits are linear in the
    labels, so the prediction for ``y_clean + eps_e`` is column 0 plus column ``1 + e``."""
    cols = y_clean[..., None]
    if eps is None:
        return cols
    return jnp.concatenate([cols, jnp.broadcast_to(eps.T, y_clean.shape + eps.shape[:1])], axis=-1)


def combine_columns(values: jax.Array, noisy: bool) -> jax.Array:
    """Per noise draw ``e``: column 0 (clean labels) plus column ``1 + e`` of the last axis (see
    :func:`label_columns`); unchanged without noise."""
    return values[..., :1] + values[..., 1:] if noisy else values


def choose_cell_batch(*, n_cells: int, cell_bytes: float, cell_flops: float, shared_bytes: float,
                      max_memory: float = DEFAULT_MAX_MEMORY, flops_per_group: float = 2e9) -> int:
    """How many fits of a repetition to vmap together: as many as fit in ``max_memory`` bytes next to the
    repetition's shared arrays (at least one whatever the budget), and no more once a group carries
    ``flops_per_group`` FLOPs (beyond that, batching only costs memory). Repetitions run one after the other on
    each device.

    The batch is the largest *divisor* of ``n_cells`` within those limits, so ``jax.lax.map(..., batch_size=)``
    never takes its remainder path: with jaxlib 0.10 on CPU that path deadlocked the random-feature repetition
    (every thread waiting, e.g. n0=200, n1=m=400, trials (3, 3, 2), batch 5 of 9 fits; regression test in
    tests/montecarlo/test_mc_random_features.py).

    Before any work, a fit that cannot be held is refused: one cell plus the shared arrays must fit in
    ``max(max_memory, rmt.limits.DEFAULT_MAX_MEMORY)`` bytes (the command line's default ``--max-memory``; a larger
    ``max_memory`` raises the limit), else a ``ValueError`` naming ``max_memory`` with the estimate and the limit.
    """
    need, limit = float(shared_bytes) + float(cell_bytes), max(float(max_memory), float(MEMORY_LIMIT))
    if not need <= limit:
        raise ValueError(f"max_memory: one fitted model needs about {need / 1024**3:.3g} GiB (estimate from the "
                         f"sizes), above the limit {limit / 1024**3:.3g} GiB; lower the sizes or raise max_memory")
    by_flops = max(1, int(flops_per_group // max(cell_flops, 1.0)))
    limit = int(max(1, min(n_cells, (max_memory - shared_bytes) // max(cell_bytes, 1.0), by_flops)))
    return max(d for d in range(1, limit + 1) if n_cells % d == 0)


def check_memory(max_memory: Any) -> float:
    return float(check_positive(max_memory, "max_memory"))


# --------------------------------------------------------------------------------------------------------------
# repetition runner
# --------------------------------------------------------------------------------------------------------------

RepFn = Callable[[jax.Array, Mapping[str, Any]], Mapping[str, jax.Array]]


@functools.lru_cache(maxsize=1)
def _scipy_openblas() -> Any:
    """ctypes handle of the OpenBLAS that jaxlib's CPU LAPACK kernels use (scipy's), or ``None``."""
    import ctypes
    import glob
    import os

    import scipy

    for path in sorted(glob.glob(os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs",
                                              "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            lib.scipy_openblas_get_num_threads()
            return lib
        except (OSError, AttributeError):
            continue
    return None


@contextlib.contextmanager
def lapack_threads(n: int | None) -> Iterator[None]:
    """Hold scipy's OpenBLAS (used by jaxlib's CPU Cholesky and triangular solves) at ``n`` threads inside the
    block, restoring the previous count after; ``None``, or no such library, does nothing."""
    lib = _scipy_openblas() if n is not None else None
    if lib is None:
        yield
        return
    before = lib.scipy_openblas_get_num_threads()
    lib.scipy_openblas_set_num_threads(int(n))
    try:
        yield
    finally:
        lib.scipy_openblas_set_num_threads(before)


def compiler_options(rep_flops: float) -> tuple[tuple[str, Any], ...]:
    """XLA options for a repetition of ``rep_flops`` FLOPs: no LLVM optimisation below 1e8 FLOPs (where compiling
    takes longer than running), XLA's defaults above."""
    return (("xla_backend_optimization_level", 0),) if rep_flops < 1e8 else ()


@functools.lru_cache(maxsize=128)
def _compiled(rep_fn: RepFn, n_devices: int, options: tuple[tuple[str, Any], ...]) -> tuple[Callable, Any]:
    def local(seed, idx, params):
        return jax.lax.map(lambda i: rep_fn(rep_key(seed, i), params), idx)

    opts = dict(options) or None
    if n_devices == 1:
        return jax.jit(local, compiler_options=opts), None
    mesh = jax.make_mesh((n_devices,), ("reps",), devices=jax.devices()[:n_devices])
    spec = jax.sharding.PartitionSpec
    fn = jax.shard_map(local, mesh=mesh, in_specs=(spec(), spec("reps"), spec()), out_specs=spec("reps"))
    return jax.jit(fn, compiler_options=opts), mesh


def _to_host(tree: Any) -> Any:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return jax.tree_util.tree_map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
    return jax.tree_util.tree_map(np.asarray, tree)


@jax_float64
def run_repetitions(rep_fn: RepFn, params: Mapping[str, Any], *, seed: int, reps: int, rep_flops: float = 1e12,
                    devices: int | None = None, progress: Callable[[int], None] | None = None
                    ) -> dict[str, np.ndarray]:
    """Run ``reps`` repetitions of ``rep_fn`` and return its outputs stacked to shape ``(reps, ...)``.

    Args:
        rep_fn: pure function ``(key, params) -> {name: array}``; must be hashable and stable (the compiled runner is
            cached on it), so build it with a cached factory.
        params: dynamic parameters (a pytree of arrays; changing them does not recompile).
        seed: the run's seed.
        reps: number of repetitions.
        rep_flops: FLOPs of one repetition (chooses :func:`compiler_options`).
        devices: number of devices to shard over (default: all of ``jax.devices()``).
        progress: called with the number of repetitions finished after each chunk.
    """
    reps = check_count(reps, "reps")
    visible = len(jax.devices())
    n_dev = visible if devices is None else check_positive_int(devices, "devices")
    if n_dev > visible:
        raise ValueError(f"devices must be at most {visible} (the visible devices), got {devices}")
    chunk = n_dev  # one repetition per device per call: one compiled program whatever ``reps`` is
    fn, mesh = _compiled(rep_fn, n_dev, compiler_options(rep_flops))
    seed_arr = np.asarray(seed, dtype=np.int64)  # numpy arguments: jnp.asarray would compile a conversion program
    outs: list[dict[str, np.ndarray]] = []
    with lapack_threads(LAPACK_THREADS):
        for start in range(0, reps, chunk):
            idx = np.arange(start, start + chunk, dtype=np.int64)  # the last chunk is padded, extra reps dropped
            if mesh is None:
                idx_dev = idx
            else:
                sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("reps"))
                idx_dev = jax.make_array_from_callback(idx.shape, sharding, lambda index: idx[index])
            outs.append(_to_host(fn(seed_arr, idx_dev, params)))
            if progress is not None:
                progress(min(reps, start + chunk))
    return {k: np.concatenate([o[k] for o in outs])[:reps] for k in outs[0]}


def raise_if_nonfinite(raw: Mapping[str, np.ndarray], keys: Sequence[str], what: str, hint: str) -> None:
    """Raise :class:`rmt.solvers.SolverError` when a repetition produced non-finite predictions or residuals."""
    bad = np.zeros(len(raw[keys[0]]), dtype=bool)
    for k in keys:
        a = np.asarray(raw[k])
        bad |= ~np.all(np.isfinite(a.reshape(a.shape[0], -1)), axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise SolverError(f"{what}: non-finite predictions in {int(bad.sum())} of {bad.size} repetitions "
                          f"(first: repetition {first}); {hint}")

