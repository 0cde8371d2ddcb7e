"""Shared pieces of the NTK theory (private; see :mod:`theory.ntk`): constants, input checks, output helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative
from rmt.activations import ActivationLike, constants, get_activation
from rmt.problem import Problem

__all__ = ["FINE_GRAINED_KEYS", "NTKConstants", "ntk_constants"]

FINE_GRAINED_KEYS: tuple[str, ...] = ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")
"""The seven symmetric variance terms of docs/conventions.md (``P`` = both layers' initial weights)."""

ArrayLike = Any


def _out(x: Any) -> Any:
    """A float for 0-d results, a read-only array otherwise."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    arr = np.array(arr)
    arr.setflags(write=False)
    return arr


def _times(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``coef * x`` with ``0 * inf = 0`` (a term whose prefactor vanishes exactly, e.g. noise 0 at a pole)."""
    with np.errstate(invalid="ignore"):
        return np.where(coef == 0, 0.0, coef * x)


# ------------------------------------------------------------------------------------------------------------------
# constants
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NTKConstants:
    """Activation constants and equivalent-kernel coefficients of the NTK (docs/models.md §4.2).

    Attributes:
        activation: activation name.
        lr_ratio: first-to-second-layer learning-rate ratio ``r`` (float or array).
        zeta: ``(E sigma')^2 = mu1^2``.
        mu_star2: ``eta - zeta``.
        eta: ``Var sigma``.
        eta_prime: ``E sigma'^2``.
        c1: ``r zeta``, the coefficient of ``X^T X / n0`` in the equivalent kernel.
        c2: ``r (eta' - zeta)``, the implicit ridge.
    """

    activation: str
    lr_ratio: Any
    zeta: float
    mu_star2: float
    eta: float
    eta_prime: float
    c1: Any
    c2: Any

    @property
    def infinite_width_slope(self) -> Any:
        """``(1 + r) zeta``: coefficient of ``X^T X / n0`` in the infinite-width NTK (docs/models.md §4.5)."""
        return _out((1.0 + np.asarray(self.lr_ratio)) * self.zeta)

    @property
    def infinite_width_diagonal(self) -> Any:
        """``mu_star^2 + r (eta' - zeta)``: the identity coefficient of the infinite-width NTK (docs/models.md §4.5)."""
        return _out(self.mu_star2 + np.asarray(self.c2))

    def as_dict(self) -> dict[str, Any]:
        return {"activation": self.activation, "lr_ratio": self.lr_ratio, "zeta": self.zeta,
                "mu_star2": self.mu_star2, "eta": self.eta, "eta_prime": self.eta_prime, "c1": self.c1,
                "c2": self.c2}


def ntk_constants(activation: ActivationLike, lr_ratio: ArrayLike = 1.0) -> NTKConstants:
    """Constants of the NTK of ``activation`` with learning-rate ratio ``lr_ratio`` (docs/models.md §4.2).

    Args:
        activation: name, :class:`~rmt.activations.Activation` or callable (treated as centred).
        lr_ratio: ``r >= 0`` (float or array).

    Raises:
        ValueError: ``lr_ratio`` negative or not finite; an activation with ``E sigma'^2 = inf`` (``sign``) and
            ``lr_ratio > 0`` (its first-layer kernel does not exist).
    """
    act = get_activation(activation)
    lr = check_nonnegative(lr_ratio, "lr_ratio")
    c = constants(act)
    zeta, ms2, eta, etap = float(c.zeta), float(c.mu_star2), float(c.eta), float(c.mean_sq_derivative)
    if np.any(lr > 0) and not np.isfinite(etap):
        raise ValueError(f"activation {act.name!r} has E sigma'(z)^2 = inf (its derivative is a Dirac mass), so its "
                         "NTK first-layer term does not exist; use lr_ratio=0 (random features) or a smooth "
                         "activation")
    etap_used = etap if np.isfinite(etap) else 0.0
    c1 = lr * zeta
    c2 = lr * max(etap_used - zeta, 0.0)
    return NTKConstants(activation=act.name, lr_ratio=_out(lr), zeta=zeta, mu_star2=max(ms2, 0.0), eta=eta,
                        eta_prime=etap, c1=_out(c1), c2=_out(c2))


def _check_problem(problem: Problem, what: str) -> None:
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an rmt.Problem, got {type(problem).__name__}")
    if problem.covariance is not None:
        raise ValueError(f"{what}: covariance must be None (the NTK theory here is for isotropic inputs)")
    if np.any(np.asarray(problem.nonlinear_signal) != 0):
        raise ValueError(f"{what}: nonlinear_signal must be 0 (the NTK contract has a linear teacher)")
