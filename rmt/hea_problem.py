r"""The Hermite-eigenstructure-ansatz problem: one description shared by the theory
(:func:`rmt.theory.hea.hea_theory`) and the simulation (:func:`rmt.montecarlo.hea.simulate_hea`).

Setting (Karkada, Turnbull, Liu & Simon, arXiv:2510.14878): kernel ridge regression with a rotation-invariant kernel
on ``n`` samples of Gaussian data ``x ~ N(0, diag(gammas))``, a target ``f*(x) = sum_alpha v_alpha h_alpha(z)`` of
normalised Hermite monomials of the whitened input ``z_i = x_i / sqrt(gamma_i)``, label-noise variance ``noise`` and
the sum-convention ridge. A multi-index is a sorted tuple of coordinates: ``()`` the constant, ``(0,)`` is
``h_1(z_0)``, ``(0, 0)`` is ``h_2(z_0)``, ``(0, 3)`` is ``h_1(z_0) h_1(z_3)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from rmt._validation import check_nonnegative, check_point, check_positive

__all__ = ["HEA_KERNELS", "HEAProblem", "hea_target"]

HEA_KERNELS = ("linear", "gaussian", "laplace", "relu-nngp", "relu-ntk")
"""The kernels both the ansatz and the simulation know (``gaussian`` and ``laplace`` take a ``bandwidth``)."""


def hea_target(target: Mapping[Any, float] | None, d: int) -> dict[tuple[int, ...], float]:
    """``{sorted coordinate tuple: coefficient}`` from any mapping of coordinate sequences to numbers (coefficients of
    the same monomial written twice add up).

    Raises:
        ValueError: naming ``target``: a coordinate outside ``0..d-1`` or a non-finite coefficient.
    """
    out: dict[tuple[int, ...], float] = {}
    for k, v in (target or {}).items():
        key = tuple(sorted(int(i) for i in k))
        if any(i < 0 or i >= d for i in key):
            raise ValueError(f"target multi-index {k!r} has a coordinate outside 0..{d - 1}")
        if not math.isfinite(float(v)):
            raise ValueError(f"target coefficient of {k!r} must be finite, got {v!r}")
        out[key] = out.get(key, 0.0) + float(v)
    return out


@dataclass(frozen=True, eq=False)
class HEAProblem:
    """One kernel-regression problem on anisotropic Gaussian data (one point).

    Attributes:
        kernel: one of :data:`HEA_KERNELS`.
        gammas: covariance eigenvalues ``> 0``, non-increasing (stored as a read-only array).
        target: ``{multi-index: coefficient}``, at least one monomial (normalised by :func:`hea_target`).
        n: samples ``> 0`` (an integer for the simulation). ridge: sum-convention ridge ``>= 0``.
        noise: label-noise variance ``>= 0``. bandwidth: ``s`` of the Gaussian and Laplace kernels, ``> 0``.

    Raises:
        ValueError: naming the argument.
    """

    kernel: str
    gammas: np.ndarray
    target: Mapping[tuple[int, ...], float]
    n: float
    ridge: float
    noise: float = 0.0
    bandwidth: float = 1.0

    def __post_init__(self) -> None:
        if self.kernel not in HEA_KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(HEA_KERNELS)}, got {self.kernel!r}")
        g = np.array(check_positive(np.atleast_1d(np.asarray(self.gammas, dtype=float)), "gammas"), dtype=float)
        if g.ndim != 1:
            raise ValueError(f"gammas must be 1-d, got shape {g.shape}")
        if np.any(np.diff(g) > 0):
            raise ValueError("gammas must be non-increasing (sort the covariance eigenvalues)")
        g.setflags(write=False)
        object.__setattr__(self, "gammas", g)
        if not isinstance(self.target, Mapping):
            raise ValueError(f"target must be a mapping of multi-indices to coefficients, got {self.target!r}")
        tgt = hea_target(self.target, g.size)
        if not tgt:
            raise ValueError("target must contain at least one monomial")
        object.__setattr__(self, "target", tgt)
        for name, check in (("n", check_positive), ("ridge", check_nonnegative), ("noise", check_nonnegative),
                            ("bandwidth", check_positive)):
            object.__setattr__(self, name, check_point(getattr(self, name), name, check))

    @property
    def dimension(self) -> int:
        return int(self.gammas.size)

    @property
    def signal(self) -> float:
        """Target power ``sum_alpha v_alpha^2``."""
        return float(sum(v * v for v in self.target.values()))

    def as_dict(self) -> dict[str, Any]:
        return {"model": "hea", "kernel": self.kernel, "n": self.n, "ridge": self.ridge, "noise": self.noise,
                "bandwidth": self.bandwidth, "d": self.dimension, "signal": self.signal}
