r"""Differentiable eigenframework in JAX: implicit differentiation through ``kappa`` and ``gamma``, optimal ridge,
compute-optimal width, sensitivities.

The forward solves are log-space bisections with brackets that are valid by construction (the same brackets as
:mod:`theory.eigen`; ../shared/reference/eigenframework.md §1.2, §2.5). Derivatives are **not** obtained by
unrolling the bisection: :func:`krr_kappa` and :func:`rf_gamma` are ``jax.custom_jvp`` functions whose tangent
comes from the implicit function theorem applied to the defining equation ``G(x, theta) = 0``,

    ``dx = -(dG/dtheta . dtheta) / (dG/dx)``,

the construction optimistix uses for root finds (``ImplicitAdjoint``). Reverse mode follows by JAX's linearise and
transpose, and higher derivatives work because the tangent rule is itself differentiable. Equations:

* KRR: ``G = df1(kappa) + ridge/kappa - n`` (Simon et al. arXiv:2110.03922);
* RF: ``G = gamma (1 - z/n)(1 - z/p) - ridge/n`` with ``z = df1(gamma)`` (Atanasov, Zavatone-Veth & Pehlevan
  arXiv:2405.00592; Simon, Karkada, Ghosh & Belkin arXiv:2311.14646), or ``df1(gamma) - min(n, p)`` at ridge 0.

Everything is float64 (``jax_enable_x64`` is switched on when this module is imported). Conventions are those of
:mod:`theory.eigen`: sum-convention ridge (per-sample ``ridge / n``), ``test_error`` excess (no test noise),
``test_mse`` with the noise floor (Simon's ``E_te``).

On top of the gradients:

* :func:`optimal_ridge` -- the ridge minimising the test error, as the root of ``d test_error / d log ridge``
  (bracketed on a grid of gradients, refined by Brent's method on the gradient), with the boundary reported when
  the optimum is at the edge of the search interval (e.g. ``ridge* = 0``: "overfitting is obligatory" for power-law
  tasks with ``beta >= alpha``, Simon et al. arXiv:2311.14646 §5; sheet §1.7);
* :func:`optimal_width` -- the number of random features ``p`` minimising the test error at a compute budget
  ``n * p = C`` (``n = C / p``), at a given ridge or with the ridge re-optimised at every width (envelope theorem
  for the outer gradient);
* :func:`sensitivities` -- gradients of the test error with respect to every input (including every eigenvalue and
  target coefficient, and ``alpha``, ``beta`` of a power law).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.solvers import SolverError, Status
from rmt.theory.eigen import Eigensystem

jax.config.update("jax_enable_x64", True)

__all__ = [
    "Optimum",
    "Spectrum",
    "krr_errors",
    "krr_kappa",
    "optimal_ridge",
    "eigen_optimal_ridge",
    "optimal_width",
    "power_law_spectrum",
    "rf_errors",
    "rf_gamma",
    "sensitivities",
    "spectrum_from",
]

_BISECT = 120  # log-space bisection steps: any bracket narrower than 2^120 * 1e-16 in log x is resolved to rounding


class Spectrum(NamedTuple):
    """A JAX pytree version of :class:`theory.eigen.Eigensystem` (every leaf may carry a tangent)."""

    eigenvalues: jax.Array
    target_power: jax.Array
    multiplicities: jax.Array
    flat_mass: jax.Array
    target_tail: jax.Array


def spectrum_from(system: Eigensystem) -> Spectrum:
    """The :class:`Spectrum` of an :class:`~theory.eigen.Eigensystem`."""
    return Spectrum(jnp.asarray(system.eigenvalues), jnp.asarray(system.target_power),
                    jnp.asarray(system.multiplicities), jnp.asarray(system.flat_mass, dtype=float),
                    jnp.asarray(system.target_tail, dtype=float))


def power_law_spectrum(alpha: Any, beta: Any, modes: int, *, scale: Any = 1.0, target_scale: Any = 1.0
                       ) -> Spectrum:
    """``lambda_i = scale i^-alpha``, ``v_i^2 = target_scale i^-beta``, ``i = 1..modes`` as a differentiable
    function of ``alpha``, ``beta`` and the scales (no tail correction; see :meth:`Eigensystem.power_law`)."""
    m = check_positive_int(modes, "modes")
    i = jnp.arange(1, m + 1, dtype=float)
    return Spectrum(scale * i ** (-jnp.asarray(alpha, dtype=float)), target_scale * i ** (-jnp.asarray(beta, dtype=float)),
                    jnp.ones(m), jnp.asarray(0.0), jnp.asarray(0.0))


# ----------------------------------------------------------------------------------------------------------------
# sums and brackets
# ----------------------------------------------------------------------------------------------------------------

def _df1(spec: Spectrum, k: jax.Array) -> jax.Array:
    lam = spec.eigenvalues
    return jnp.sum(spec.multiplicities * lam / (lam + k)) + spec.flat_mass / k


def _sums(spec: Spectrum, k: jax.Array) -> dict[str, jax.Array]:
    """Mode sums at ``k >= 0`` (``k = 0`` only without a flat part): z, q, zq (= z - q), b2, bl; see
    :func:`theory.eigen._mode_sums`."""
    lam, m, v2 = spec.eigenvalues, spec.multiplicities, spec.target_power
    den = lam + k
    L = lam / den
    oml = k / den
    pos = k > 0
    inv_k = jnp.where(pos, 1.0 / jnp.where(pos, k, 1.0), 0.0)
    fk = spec.flat_mass * inv_k
    return {"z": jnp.sum(m * L) + fk, "q": jnp.sum(m * L * L), "zq": jnp.sum(m * L * oml) + fk,
            "b2": jnp.sum(m * v2 * oml * oml) + spec.target_tail, "bl": jnp.sum(m * v2 * L * oml)}


def _lower_bound(spec: Spectrum, target: jax.Array, ridge: jax.Array) -> jax.Array:
    """``kappa_lo`` with ``df1 + ridge/kappa >= target`` (0 if none exists); see
    :func:`theory.eigen._lower_bound_df1`."""
    lam = jax.lax.stop_gradient(spec.eigenvalues)
    mult = jax.lax.stop_gradient(spec.multiplicities)
    flat = jax.lax.stop_gradient(spec.flat_mass)
    target = jax.lax.stop_gradient(target)
    ridge = jax.lax.stop_gradient(ridge)
    order = jnp.argsort(-lam)
    ls = lam[order]
    cum = jnp.cumsum(mult[order])
    idx = jnp.searchsorted(cum, 2.0 * target, side="left")
    cand = jnp.where(idx < ls.size, ls[jnp.minimum(idx, ls.size - 1)], 0.0)
    rank = jnp.sum(mult)
    c1 = jnp.where(ridge > 0, ridge / target, 0.0)
    c2 = flat / target
    c3 = jnp.where((flat == 0) & (rank > target), jnp.min(lam) * (rank - target) / target, 0.0)
    return jnp.maximum(jnp.maximum(c1, c2), jnp.maximum(c3, cand))


def _bisect_log(fn: Callable[[jax.Array], jax.Array], lo: jax.Array, hi: jax.Array, increasing: bool) -> jax.Array:
    """Root of a monotone ``fn`` on ``[lo, hi]`` (``lo, hi > 0``) by bisection in ``log x``."""
    sgn = 1.0 if increasing else -1.0

    def body(_, uv):
        a, b = uv
        mid = 0.5 * (a + b)
        right = sgn * fn(jnp.exp(mid)) > 0  # root lies left of mid
        return jnp.where(right, a, mid), jnp.where(right, mid, b)

    a, b = jax.lax.fori_loop(0, _BISECT, body, (jnp.log(lo), jnp.log(jnp.maximum(hi, lo))))
    return jnp.exp(0.5 * (a + b))


# ----------------------------------------------------------------------------------------------------------------
# kappa (KRR) with an implicit-function-theorem JVP
# ----------------------------------------------------------------------------------------------------------------

def _kappa_residual(kappa, spec, n, ridge):
    return _df1(spec, kappa) + ridge / kappa - n


@jax.custom_jvp
def krr_kappa(spec: Spectrum, n: Any, ridge: Any) -> jax.Array:
    r"""KRR effective regularisation: the root of ``df1(kappa) + ridge/kappa = n`` (0 for ``ridge = 0`` and
    ``rank <= n``). Scalar ``n`` and ``ridge``; ``jax.vmap`` for arrays. Differentiable (implicit function
    theorem) in every leaf of ``spec``, in ``n`` and in ``ridge``."""
    n = jnp.asarray(n, dtype=float)
    ridge = jnp.asarray(ridge, dtype=float)
    lo = _lower_bound(spec, n, ridge)
    valid = lo > 0
    lo_s = jnp.where(valid, lo, 1.0)
    hi = (ridge + jnp.sum(spec.multiplicities * spec.eigenvalues) + spec.flat_mass) / n
    k = _bisect_log(lambda x: _kappa_residual(x, spec, n, ridge), lo_s, jnp.where(valid, hi, 1.0), increasing=False)
    return jnp.where(valid, k, 0.0)


@krr_kappa.defjvp
def _krr_kappa_jvp(primals, tangents):
    spec, n, ridge = primals
    k = krr_kappa(spec, n, ridge)
    pos = k > 0
    ks = jnp.where(pos, k, 1.0)
    _, dG = jax.jvp(lambda s, nn, rr: _kappa_residual(ks, s, nn, rr), (spec, jnp.asarray(n, float),
                                                                       jnp.asarray(ridge, float)),
                    (tangents[0], _as_tangent(tangents[1]), _as_tangent(tangents[2])))
    dGdk = jax.grad(_kappa_residual)(ks, spec, n, ridge)
    return k, jnp.where(pos, -dG / dGdk, 0.0)


def _as_tangent(t):
    return jnp.asarray(t, dtype=float)


# ----------------------------------------------------------------------------------------------------------------
# gamma (RF) with an implicit-function-theorem JVP
# ----------------------------------------------------------------------------------------------------------------

def _gamma_residual(g, spec, n, p, ridge):
    z = _df1(spec, g)
    h = g * (1.0 - z / n) * (1.0 - z / p) - ridge / n
    return jnp.where(ridge > 0, h, z - jnp.minimum(n, p))


@jax.custom_jvp
def rf_gamma(spec: Spectrum, n: Any, p: Any, ridge: Any) -> jax.Array:
    r"""RF renormalised ridge ``gamma``: root of the increasing ``gamma (1 - z/n)(1 - z/p) = ridge/n`` on
    ``[gamma_B, inf)`` with ``df1(gamma_B) = min(n, p)`` (sheet §2.5; 0 when ``ridge = 0`` and
    ``rank <= min(n, p)``). Differentiable by the implicit function theorem."""
    n = jnp.asarray(n, dtype=float)
    p = jnp.asarray(p, dtype=float)
    ridge = jnp.asarray(ridge, dtype=float)
    B = jnp.minimum(n, p)
    T = jnp.sum(spec.multiplicities * spec.eigenvalues) + spec.flat_mass
    lo_b = _lower_bound(spec, B, jnp.asarray(0.0))
    has_b = lo_b > 0
    gB = _bisect_log(lambda x: _df1(spec, x) - B, jnp.where(has_b, lo_b, 1.0), jnp.where(has_b, T / B, 1.0),
                     increasing=False)
    gB = jnp.where(has_b, gB, 0.0)
    pos = ridge > 0
    lo = jnp.maximum(gB, ridge / n)
    hi = ridge / n + 2.0 * T * (1.0 / n + 1.0 / p)
    g = _bisect_log(lambda x: _gamma_residual(x, spec, n, p, ridge), jnp.where(pos, lo, 1.0),
                    jnp.where(pos, hi, 1.0), increasing=True)
    return jnp.where(pos, g, gB)


@rf_gamma.defjvp
def _rf_gamma_jvp(primals, tangents):
    spec, n, p, ridge = primals
    g = rf_gamma(spec, n, p, ridge)
    pos = g > 0
    gs = jnp.where(pos, g, 1.0)
    args = (spec, jnp.asarray(n, float), jnp.asarray(p, float), jnp.asarray(ridge, float))
    _, dG = jax.jvp(lambda s, nn, pp, rr: _gamma_residual(gs, s, nn, pp, rr), args,
                    (tangents[0], _as_tangent(tangents[1]), _as_tangent(tangents[2]), _as_tangent(tangents[3])))
    dGdg = jax.grad(_gamma_residual)(gs, *args)
    return g, jnp.where(pos, -dG / dGdg, 0.0)


# ----------------------------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------------------------

@jax.jit
def krr_errors(spec: Spectrum, n: Any, ridge: Any, noise: Any = 0.0) -> dict[str, jax.Array]:
    """KRR errors (same formulas and keys as :class:`theory.eigen.KRRResult`): ``kappa``, ``E0``,
    ``test_error`` (excess), ``test_mse`` (with noise), ``train_error``, ``bias``, ``variance``. Scalar inputs;
    differentiable; jitted (one compilation per spectrum size)."""
    n = jnp.asarray(n, dtype=float)
    ridge = jnp.asarray(ridge, dtype=float)
    noise = jnp.asarray(noise, dtype=float)
    k = krr_kappa(spec, n, ridge)
    s = _sums(spec, k)
    pos = k > 0
    s_n = jnp.where(pos, ridge / (n * jnp.where(pos, k, 1.0)), 1.0 - s["z"] / n)
    nmq = n * s_n + s["zq"]
    E0 = n / nmq
    bias = s["b2"]
    variance = s["q"] / nmq * (bias + noise)
    test = bias + variance
    mse = test + noise
    return {"kappa": k, "E0": E0, "test_error": test, "test_mse": mse, "train_error": s_n * s_n * mse,
            "bias": bias, "variance": variance}


@jax.jit
def rf_errors(spec: Spectrum, n: Any, p: Any, ridge: Any, noise: Any = 0.0) -> dict[str, jax.Array]:
    """RF errors (same formulas and keys as :class:`theory.eigen.EigenRFResult`): ``gamma``, ``kappa``, ``E0``,
    ``test_error``, ``test_mse``, ``train_error``, ``bias``, ``variance``, ``ensemble_limit_mse``,
    ``feature_variance``. Scalar inputs with ``n != p`` or ``ridge > 0``; differentiable; jitted."""
    n = jnp.asarray(n, dtype=float)
    p = jnp.asarray(p, dtype=float)
    ridge = jnp.asarray(ridge, dtype=float)
    noise = jnp.asarray(noise, dtype=float)
    g = rf_gamma(spec, n, p, ridge)
    s = _sums(spec, g)
    z, q, zq = s["z"], s["q"], s["zq"]
    big = jnp.maximum(n, p)
    small = jnp.minimum(n, p)
    s_big = 1.0 - z / big
    pos = g > 0
    gsafe = jnp.where(pos, g, 1.0)
    s_small = jnp.where(ridge > 0, ridge / (n * gsafe * jnp.where(s_big > 0, s_big, 1.0)), 0.0)
    s_small = jnp.where(pos, s_small, 1.0 - z / small)
    n_big = n >= p
    s_n = jnp.where(n_big, s_big, s_small)
    s_p = jnp.where(n_big, s_small, s_big)
    # at n == p both factors are small and equal: sqrt(ridge / (n gamma)) avoids the cancellation in 1 - z/n
    eq = (n == p) & pos & (ridge > 0)
    s_eq = jnp.sqrt(jnp.where(eq, ridge / (n * gsafe), 1.0))
    s_n = jnp.where(eq, s_eq, s_n)
    s_p = jnp.where(eq, s_eq, s_p)
    kappa = g * s_p
    pmq = p * s_p + zq
    r = p * s_p / pmq
    omr = zq / pmq
    omg1 = s_n + r * zq / n
    E0 = 1.0 / omg1
    e0m1 = (q + omr * zq) / (n * omg1)
    b2, bl = s["b2"], s["bl"]
    variance = e0m1 * (b2 + noise) + E0 * omr * bl
    test = b2 + variance
    mse = test + noise
    e_inf = (b2 + noise) * n / (n * s_n + zq)
    return {"gamma": g, "kappa": kappa, "E0": E0, "test_error": test, "test_mse": mse,
            "train_error": s_n * s_n * mse, "bias": b2, "variance": variance, "ensemble_limit_mse": e_inf,
            "feature_variance": mse - e_inf}


# ----------------------------------------------------------------------------------------------------------------
# optimisation by gradient
# ----------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Optimum:
    """Result of a gradient-based 1-d minimisation over ``log x``.

    Attributes:
        x: the minimiser (ridge for :func:`optimal_ridge`, width ``p`` for :func:`optimal_width`).
        value: the minimum (excess test error).
        slope: ``d value / d log x`` at ``x`` (about 0 at an interior optimum; its sign tells which way the
            optimum would move at a bound).
        at_bound: ``"lower"`` or ``"upper"`` when the minimum is on the search interval's end, else ``None``.
        bounds: the search interval.
        evaluations: number of gradient evaluations.
        extra: further values at the optimum (e.g. ``n`` and ``ridge`` for :func:`optimal_width`).
    """

    x: float
    value: float
    slope: float
    at_bound: str | None
    bounds: tuple[float, float]
    evaluations: int
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ridge(self) -> float:
        """The ridge at the optimum: ``x`` for :func:`optimal_ridge`, ``extra["ridge"]`` for :func:`optimal_width`."""
        return float(self.extra.get("ridge", self.x))

    @property
    def test_error(self) -> float:
        """The minimum excess test error (``value``)."""
        return self.value


def _minimise_log(value_and_slope: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], lo: float, hi: float,
                  grid: int, xtol: float = 1e-10) -> tuple[float, float, float, str | None, int]:
    """Minimise ``f(t)`` over ``t = log x`` in ``[log lo, log hi]`` from ``f`` and ``f'`` (vectorized over ``t``).

    Candidates: both ends and every grid interval where ``f'`` goes from negative to positive, refined by Brent's
    method on ``f'`` (a root of the gradient); the smallest value wins.
    """
    ts = np.linspace(math.log(lo), math.log(hi), grid)
    f, d = value_and_slope(ts)
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(d))):
        bad = ts[~(np.isfinite(f) & np.isfinite(d))][0]
        raise SolverError(f"non-finite test error or gradient at x = {math.exp(bad):.4g} while minimising",
                          status=Status.NONFINITE)
    evals = grid
    cands = [(float(f[0]), float(ts[0]), float(d[0])), (float(f[-1]), float(ts[-1]), float(d[-1]))]
    count = [0]

    def slope(t: float) -> float:
        count[0] += 1
        return float(value_and_slope(np.array([t]))[1][0])

    for j in np.flatnonzero((d[:-1] < 0) & (d[1:] > 0)):
        t = brentq(slope, ts[j], ts[j + 1], xtol=xtol, rtol=1e-14, maxiter=200)
        fv, dv = value_and_slope(np.array([t]))
        count[0] += 1
        cands.append((float(fv[0]), float(t), float(dv[0])))
    best = min(cands, key=lambda c: c[0])
    where = "lower" if best[1] == ts[0] else "upper" if best[1] == ts[-1] else None
    return math.exp(best[1]), best[0], best[2], where, evals + count[0]


# jitted value-and-slope kernels; the spectrum is an argument (never a closure constant), so one compilation per
# spectrum size serves every call
@jax.jit
def _vs_krr_ridge(spec, ts, n, noise):
    f = lambda t: krr_errors(spec, n, jnp.exp(t), noise)["test_error"]  # noqa: E731
    return jax.vmap(jax.value_and_grad(f))(ts)


@jax.jit
def _vs_rf_ridge(spec, ts, n, p, noise):
    f = lambda t: rf_errors(spec, n, p, jnp.exp(t), noise)["test_error"]  # noqa: E731
    return jax.vmap(jax.value_and_grad(f))(ts)


@jax.jit
def _vs_rf_width(spec, ts, compute, ridges, noise):
    def f(t, r):
        p = jnp.exp(t)
        return rf_errors(spec, compute / p, p, r, noise)["test_error"]

    return jax.vmap(jax.value_and_grad(f))(ts, ridges)


def _np_pair(out) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(out[0]), np.asarray(out[1])


_CHUNK = 8  # evaluations are always made in blocks of this many points, so each kernel compiles once


def _chunked(kernel: Callable[[jax.Array, jax.Array], Any], ts: np.ndarray, aux: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate ``kernel(ts_block, aux_block)`` on fixed-size blocks (the last one padded by repetition)."""
    ts = np.asarray(ts, dtype=float)
    aux = np.zeros_like(ts) if aux is None else np.asarray(aux, dtype=float)
    fs, ds = [], []
    for s in range(0, ts.size, _CHUNK):
        tb, ab = ts[s:s + _CHUNK], aux[s:s + _CHUNK]
        k = tb.size
        if k < _CHUNK:
            tb = np.concatenate([tb, np.full(_CHUNK - k, tb[-1])])
            ab = np.concatenate([ab, np.full(_CHUNK - k, ab[-1])])
        f, d = _np_pair(kernel(jnp.asarray(tb), jnp.asarray(ab)))
        fs.append(f[:k])
        ds.append(d[:k])
    return np.concatenate(fs), np.concatenate(ds)


def optimal_ridge(system: Eigensystem | Spectrum, n: float, noise: float = 0.0, p: float | None = None, *,
                  bounds: tuple[float, float] | None = None, grid: int = 64) -> Optimum:
    r"""The sum-convention ridge minimising the excess test error of KRR (``p=None``) or RF with ``p`` features,
    from the gradient ``d test_error / d log ridge`` (implicit differentiation through ``kappa`` / ``gamma``).

    Args:
        system: eigensystem (or :class:`Spectrum`).
        n: samples. noise: label-noise variance. p: features (None: KRR).
        bounds: search interval for the ridge (default ``[1e-10, 1e6] * trace``, 16 decades).
        grid: grid points in ``log ridge`` used to bracket sign changes of the gradient.

    Returns:
        :class:`Optimum` (``x`` = optimal ridge; ``at_bound="lower"`` when the error keeps decreasing towards zero
        ridge, i.e. the optimum is ``ridge <= bounds[0]``, possibly negative).

    Example:
        >>> iso = Eigensystem.isotropic(d=150, signal=1.0)
        >>> round(optimal_ridge(iso, n=100, noise=0.5).x, 6)   # sigma^2 d / r^2, sheet §1.6
        75.0
    """
    spec = system if isinstance(system, Spectrum) else spectrum_from(system)
    n = float(check_positive(n, "n"))
    noise = float(check_nonnegative(noise, "noise"))
    trace = float(jnp.sum(spec.multiplicities * spec.eigenvalues) + spec.flat_mass)
    lo, hi = bounds if bounds is not None else (1e-10 * trace, 1e6 * trace)
    lo, hi = float(check_positive(lo, "bounds[0]")), float(check_positive(hi, "bounds[1]"))
    if not lo < hi:
        raise ValueError(f"bounds must satisfy lower < upper, got {bounds!r}")
    grid = check_positive_int(grid, "grid", minimum=3)
    if p is None:
        run = lambda ts: _chunked(lambda tb, _: _vs_krr_ridge(spec, tb, n, noise), ts)  # noqa: E731
    else:
        pp = float(check_positive(p, "p"))
        run = lambda ts: _chunked(lambda tb, _: _vs_rf_ridge(spec, tb, n, pp, noise), ts)  # noqa: E731
    x, v, s, where, ev = _minimise_log(run, lo, hi, grid)
    return Optimum(x=x, value=v, slope=s, at_bound=where, bounds=(lo, hi), evaluations=ev)


def optimal_width(system: Eigensystem | Spectrum, compute: float, noise: float = 0.0, ridge: float | None = None, *,
                  bounds: tuple[float, float] | None = None, grid: int = 40, ridge_grid: int = 48) -> Optimum:
    r"""Compute-optimal number of random features: minimise the RF excess test error over ``p`` at a fixed budget
    ``n * p = compute`` (so ``n = compute / p``; both treated as real numbers, as in the theory).

    With ``ridge=None`` the ridge is re-optimised at every width (:func:`optimal_ridge`) and the outer gradient is
    ``d E / d log p`` at fixed ridge, evaluated at the inner optimum (envelope theorem).

    Args:
        system: eigensystem. compute: the budget ``C = n p > 0``. noise: label-noise variance.
        ridge: fixed sum-convention ridge ``> 0``, or None to optimise it.
        bounds: search interval for ``p`` (default ``[sqrt(C)/100, sqrt(C)*100]`` clipped to ``[1, C]``).
        grid, ridge_grid: grid sizes of the outer and inner searches.

    Returns:
        :class:`Optimum` with ``x = p*`` and ``extra = {"n": C/p*, "ridge": ridge at p*}``.
    """
    spec = system if isinstance(system, Spectrum) else spectrum_from(system)
    C = float(check_positive(compute, "compute"))
    noise = float(check_nonnegative(noise, "noise"))
    lo, hi = bounds if bounds is not None else (max(1.0, math.sqrt(C) / 100), min(C, math.sqrt(C) * 100))
    lo, hi = float(check_positive(lo, "bounds[0]")), float(check_positive(hi, "bounds[1]"))
    if not lo < hi:
        raise ValueError(f"bounds must satisfy lower < upper, got {bounds!r}")

    if ridge is not None:
        r0 = float(check_positive(ridge, "ridge"))
        run = lambda ts: _chunked(lambda tb, rb: _vs_rf_width(spec, tb, C, rb, noise), ts,  # noqa: E731
                                  np.full(len(ts), r0))
        x, v, s, where, ev = _minimise_log(run, lo, hi, grid)
        return Optimum(x=x, value=v, slope=s, at_bound=where, bounds=(lo, hi), evaluations=ev,
                       extra={"n": C / x, "ridge": r0})

    inner: dict[float, float] = {}

    def run_outer(ts: np.ndarray):
        ridges = []
        for t in ts:
            p = math.exp(float(t))
            r = optimal_ridge(spec, C / p, noise, p, grid=ridge_grid).x
            inner[float(t)] = r
            ridges.append(r)
        # envelope theorem: d E*(p) / d log p = dE / d log p at the inner optimum ridge*(p)
        return _chunked(lambda tb, rb: _vs_rf_width(spec, tb, C, rb, noise), ts, np.asarray(ridges))

    x, v, s, where, ev = _minimise_log(run_outer, lo, hi, grid, xtol=1e-8)
    r_star = inner.get(math.log(x), optimal_ridge(spec, C / x, noise, x, grid=ridge_grid).x)
    return Optimum(x=x, value=v, slope=s, at_bound=where, bounds=(lo, hi), evaluations=ev,
                   extra={"n": C / x, "ridge": r_star})


def sensitivities(system: Eigensystem | Spectrum, n: float, ridge: float, noise: float = 0.0,
                  p: float | None = None, *, key: str = "test_error") -> dict[str, Any]:
    r"""Gradients of one output (default the excess ``test_error``) with respect to every input, by reverse-mode
    autodiff through the implicit ``kappa`` / ``gamma``.

    Returns a dict with ``value`` and the derivatives ``d_n``, ``d_ridge``, ``d_noise`` (and ``d_p`` for RF), the
    arrays ``d_eigenvalues`` and ``d_target_power`` (per stored mode, i.e. per unit change of each of the
    ``m_i``-fold eigenvalue), ``d_flat_mass``, ``d_target_tail``, and the elasticities
    ``dlog_n = d log value / d log n`` etc.
    """
    spec = system if isinstance(system, Spectrum) else spectrum_from(system)
    n = float(check_positive(n, "n"))
    ridge = float(check_nonnegative(ridge, "ridge"))
    noise = float(check_nonnegative(noise, "noise"))
    if p is None:
        fn = lambda s, nn, rr, ee: krr_errors(s, nn, rr, ee)[key]  # noqa: E731
        args = (spec, n, ridge, noise)
        names = ("n", "ridge", "noise")
    else:
        pp = float(check_positive(p, "p"))
        fn = lambda s, nn, qq, rr, ee: rf_errors(s, nn, qq, rr, ee)[key]  # noqa: E731
        args = (spec, n, pp, ridge, noise)
        names = ("n", "p", "ridge", "noise")
    val, grads = jax.value_and_grad(fn, argnums=tuple(range(len(args))))(*args)
    val = float(val)
    out: dict[str, Any] = {"value": val}
    g_spec = grads[0]
    out["d_eigenvalues"] = np.asarray(g_spec.eigenvalues)
    out["d_target_power"] = np.asarray(g_spec.target_power)
    out["d_flat_mass"] = float(g_spec.flat_mass)
    out["d_target_tail"] = float(g_spec.target_tail)
    for name, a, g in zip(names, args[1:], grads[1:]):
        out[f"d_{name}"] = float(g)
        out[f"dlog_{name}"] = float(g) * float(a) / val if val != 0 else math.nan
    return out


# distinct names for the three optimal-ridge searches of the package (each result has ``ridge`` and ``test_error``):
# eigen_optimal_ridge here, rmt.theory.random_features.rf_optimal_ridge, rmt.theory.covariate_shift.shift_optimal_ridge
eigen_optimal_ridge = optimal_ridge
