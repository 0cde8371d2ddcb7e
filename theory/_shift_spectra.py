r"""Joint spectral measures of ``(Sigma, Sigma_*)`` for the covariate-shift theory (private; public names are
re-exported by :mod:`theory.covariate_shift`).

Atoms ``(lambda, lambda_*, weight)`` with optional batch axes (:class:`JointSpectrum`), and the named families of
reference sheet ntk_covariate_shift.md sections 3.8 and 3.10: :func:`two_point` (with a shift strength),
:func:`power_law` (Gauss-Legendre quadrature after ``t = v^10``) and :func:`from_density` (quadrature of a continuous
law given by callables). Tripuraneni, Adlam & Pennington, arXiv:2111.08234.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from rmt._validation import check_finite, check_nonnegative, check_positive, check_positive_int
from rmt.problem import JointSpectrum, SpectrumLike, as_joint_spectrum  # re-exported

__all__ = ["ArrayLike", "JointSpectrum", "SpectrumLike", "as_joint_spectrum", "from_density", "power_law", "two_point"]

ArrayLike = Any  # float or numpy array

# ----------------------------------------------------------------------------------------------------------------
# joint spectral measures
# ----------------------------------------------------------------------------------------------------------------


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _out(a: Any) -> Any:
    """0-d arrays become floats; arrays are returned read-only."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else _readonly(a)


def two_point(strength: ArrayLike = 0.0, *, train: Sequence[float] = (1.6, 0.4),
              weights: Sequence[float] = (0.5, 0.5), scale: ArrayLike = 1.0) -> JointSpectrum:
    r"""Two-point spectra with a shift strength (sheet sections 3.8 and 3.10).

    Train eigenvalues ``(l1, l2)`` with weights ``(w1, w2)``; test eigenvalues

    ``l1* = scale (l1 - 2 t w2 (l1 - l2))``, ``l2* = scale (l2 + 2 t w1 (l1 - l2))``,

    so that for ``scale = 1`` the test trace equals the train trace for every ``t`` (a pure reallocation of
    variance between the two groups of directions). With equal weights ``t = 0`` is no shift, ``t = 1`` swaps the
    two eigenvalues (``{0.4, 1.6}``: a harmful shift, test variance moved to weakly-trained directions), and
    ``t < 0`` moves test variance onto the strongly-trained directions (e.g. ``t = -0.25`` gives ``{1.9, 0.1}``: a
    helpful shift). ``scale != 1`` multiplies the test covariance (``s_* = scale s``), e.g. ``{3.2, 0.8}``.

    Args:
        strength: ``t`` (array allowed: the result is a batch of spectra of ``strength``'s shape, broadcast with
            ``scale``); test eigenvalues must stay ``>= 0``.
        train: the two train eigenvalues (``> 0``).
        weights: their weights (``> 0``, normalised).
        scale: positive multiplier of the test covariance.

    Raises:
        ValueError: a strength that makes a test eigenvalue negative, or invalid train eigenvalues/weights.
    """
    lam = check_positive(np.asarray(train, dtype=float), "train")
    w = check_positive(np.asarray(weights, dtype=float), "weights")
    if lam.shape != (2,) or w.shape != (2,):
        raise ValueError("two_point needs exactly two train eigenvalues and two weights")
    w = w / w.sum()
    t = check_finite(strength, "strength")
    c = check_positive(scale, "scale")
    t, c = np.broadcast_arrays(t, c)
    delta = lam[0] - lam[1]
    l1 = c * (lam[0] - 2 * t * w[1] * delta)
    l2 = c * (lam[1] + 2 * t * w[0] * delta)
    if np.any(l1 < -1e-15) or np.any(l2 < -1e-15):
        lo, hi = sorted([-lam[1] / (2 * w[0] * delta), lam[0] / (2 * w[1] * delta)]) if delta else (0.0, 0.0)
        raise ValueError(f"strength must keep the test eigenvalues >= 0, i.e. lie in [{lo:.6g}, {hi:.6g}] for "
                         f"train={tuple(lam)}; got {t[(l1 < 0) | (l2 < 0)].ravel()[0]!r}")
    test = np.stack([np.maximum(l1, 0.0), np.maximum(l2, 0.0)], axis=-1)
    label = f"two-point {tuple(float(x) for x in lam)}"
    return JointSpectrum(np.broadcast_to(lam, test.shape), test, np.broadcast_to(w, test.shape), label=label)


def _quadrature(nodes: int, power: float) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on (0, 1) after the substitution ``t = v^power`` (weights include ``dt/dv``)."""
    v, wv = np.polynomial.legendre.leggauss(nodes)
    v = 0.5 * (v + 1.0)
    wv = 0.5 * wv
    return v**power, wv * power * v ** (power - 1.0)


def power_law(alpha: ArrayLike, alpha_star: ArrayLike, *, nodes: int = 200, power: float = 10.0) -> JointSpectrum:
    r"""Power-law spectra ``lambda(t) = (1-alpha) t^-alpha``, ``lambda_*(t) = (1-alpha_*) t^-alpha_*``, ``t ~ U(0,1)``.

    Both laws have unit trace (``s = s_* = 1``) and the same ordering of directions (sheet sections 3.8 and 3.10).
    The measure is discretised by Gauss-Legendre quadrature with ``nodes`` points after the substitution
    ``t = v^power``, which resolves the integrable singularity at ``t = 0`` (sheet 3.10 uses ``power = 10``).

    Args:
        alpha, alpha_star: exponents ``< 1`` (arrays broadcast into a batch of spectra).
        nodes: quadrature points (>= 8).
        power: substitution exponent (>= 1).

    Raises:
        ValueError: an exponent ``>= 1`` (non-integrable) or invalid quadrature settings.
    """
    a = check_finite(alpha, "alpha")
    b = check_finite(alpha_star, "alpha_star")
    for name, x in (("alpha", a), ("alpha_star", b)):
        if np.any(x >= 1):
            raise ValueError(f"{name} must be < 1 (lambda = (1-{name}) t^-{name} must be integrable), got "
                             f"{float(x[x >= 1].ravel()[0])!r}")
    nodes = check_positive_int(nodes, "nodes", minimum=8)
    power = float(check_finite(power, "power"))
    if power < 1:
        raise ValueError(f"power must be >= 1, got {power!r}")
    t, w = _quadrature(nodes, power)
    a, b = np.broadcast_arrays(a, b)
    a_, b_ = a[..., None], b[..., None]
    train = (1 - a_) * t ** (-a_)
    test = (1 - b_) * t ** (-b_)
    label = "power law" if a.ndim else f"power law alpha={float(a):g}, alpha*={float(b):g}"
    return JointSpectrum(train, test, np.broadcast_to(w, train.shape), label=label)


def from_density(train: Callable[[np.ndarray], Any], test: Callable[[np.ndarray], Any],
                 density: Callable[[np.ndarray], Any] | None = None, *, interval: tuple[float, float] = (0.0, 1.0),
                 nodes: int = 200, power: float = 1.0, label: str = "continuous") -> JointSpectrum:
    r"""A continuous joint law by quadrature: ``(lambda, lambda_*) = (train(t), test(t))`` with ``t ~ density``.

    ``t`` runs over ``interval`` with the (not necessarily normalised) density ``density(t)`` (uniform if ``None``);
    the measure is normalised to a probability measure. Quadrature: Gauss-Legendre with ``nodes`` points on
    ``[a, b]`` after ``t = a + (b - a) v^power`` (``power > 1`` clusters nodes at ``a``, for singular laws). A train
    eigenvalue density ``p(lambda)`` on ``[a, b]`` with test map ``g`` is
    ``from_density(lambda t: t, g, p, interval=(a, b))``.

    Args:
        train, test: vectorized maps ``t -> lambda(t) > 0`` and ``t -> lambda_*(t) >= 0``.
        density: vectorized non-negative density of ``t`` (``None`` = uniform).
        interval: finite ``(a, b)`` with ``a < b``.
        nodes: quadrature points (>= 8).
        power: substitution exponent (>= 1).

    Raises:
        ValueError: non-finite or invalid values of the callables, a bad interval, or zero total mass.
    """
    if not (callable(train) and callable(test) and (density is None or callable(density))):
        raise ValueError("train, test (and density, if given) must be callables of t")
    a, b = (float(v) for v in check_finite(np.asarray(interval, dtype=float), "interval"))
    if not a < b:
        raise ValueError(f"interval must be (a, b) with a < b, got {interval!r}")
    nodes = check_positive_int(nodes, "nodes", minimum=8)
    power = float(check_finite(power, "power"))
    if power < 1:
        raise ValueError(f"power must be >= 1, got {power!r}")
    v, wv = _quadrature(nodes, power)
    t = a + (b - a) * v
    w = (b - a) * wv
    if density is not None:
        dens = check_nonnegative(np.broadcast_to(np.asarray(density(t), dtype=float), t.shape), "density(t)")
        w = w * dens
    keep = w > 0
    if not np.any(keep):
        raise ValueError("density has zero mass on the interval")
    lam = check_positive(np.broadcast_to(np.asarray(train(t), dtype=float), t.shape), "train(t)")
    lam_s = check_nonnegative(np.broadcast_to(np.asarray(test(t), dtype=float), t.shape), "test(t)")
    return JointSpectrum(lam[keep], lam_s[keep], w[keep], label=label)


