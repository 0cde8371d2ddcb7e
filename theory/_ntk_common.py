"""Shared pieces of the NTK theory (private; see :mod:`theory.ntk`): constants, input checks, output helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rmt._validation import check_nonnegative
from rmt.activations import ActivationLike, constants, get_activation
from rmt.numerics import ArrayLike, frozen_value
from rmt.problem import Problem
from rmt.quantities import FINE_GRAINED_KEYS  # ``P`` = both layers' initial weights
from rmt.records import Tabular, coordinate_columns, rows_of

SMALLEST_LR_RATIO = 1e-300
"""The smallest positive first-to-second-layer learning-rate ratio accepted."""

__all__ = ["FINE_GRAINED_KEYS", "NTKConstants", "check_problem", "ntk_constants"]


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
        return frozen_value((1.0 + np.asarray(self.lr_ratio)) * self.zeta)

    @property
    def infinite_width_diagonal(self) -> Any:
        """``mu_star^2 + r (eta' - zeta)``: the identity coefficient of the infinite-width NTK (docs/models.md §4.5)."""
        return frozen_value(self.mu_star2 + np.asarray(self.c2))

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
    tiny = (lr > 0) & (lr < SMALLEST_LR_RATIO)
    if np.any(tiny):  # r scales the implicit ridge r (eta' - zeta), which would underflow
        raise ValueError(f"lr_ratio must be 0 or at least {SMALLEST_LR_RATIO:g} (smaller ratios underflow the implicit "
                         f"ridge r (eta' - zeta) of the kernel), got {float(lr[tiny].ravel()[0])!r}")
    c = constants(act)
    zeta, ms2, eta, etap = float(c.zeta), float(c.mu_star2), float(c.eta), float(c.mean_sq_derivative)
    if np.any(lr > 0) and not np.isfinite(etap):
        raise ValueError(f"activation {act.name!r} has E sigma'(z)^2 = inf (its derivative is a Dirac mass), so its "
                         "NTK first-layer term does not exist; use lr_ratio=0 (random features) or a smooth "
                         "activation")
    etap_used = etap if np.isfinite(etap) else 0.0
    c1 = lr * zeta
    c2 = lr * max(etap_used - zeta, 0.0)
    return NTKConstants(activation=act.name, lr_ratio=frozen_value(lr), zeta=zeta, mu_star2=max(ms2, 0.0), eta=eta,
                        eta_prime=etap, c1=frozen_value(c1), c2=frozen_value(c2))


def check_problem(problem: Problem, what: str) -> None:
    """Refuse anything but an :class:`rmt.Problem` without a covariance (``what`` names the caller)."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an rmt.Problem, got {type(problem).__name__}")
    if problem.covariance is not None:
        raise ValueError(f"{what}: covariance must be None (the NTK theory here is for isotropic inputs)")
    if np.any(np.asarray(problem.nonlinear_signal) != 0):
        raise ValueError(f"{what}: nonlinear_signal must be 0 (the NTK contract has a linear teacher)")


class NTKTabular(Tabular):
    """Flat records of the NTK results (:mod:`rmt.records`): the coordinates (``model = "ntk"``, the problem's
    sizes and ratios less those the scaling does not use), ``scaling``, ``lr_ratio`` and the numbers of
    ``as_dict()``, one row per point of the broadcast grid of the problem and the learning-rate ratio."""

    scaling: ClassVar[str] = ""
    unused: ClassVar[tuple[str, ...]] = ()  # coordinates the scaling ignores (e.g. psi at infinite width)

    def nested_records(self) -> list[dict[str, Any]]:
        problem: Problem | None = getattr(self, "problem", None)
        if problem is None:
            raise ValueError("records need the problem: build the result with the theory function")
        lr = np.asarray(getattr(self, "lr_ratio", 1.0), dtype=float)
        data = self.as_dict()  # type: ignore[attr-defined]
        shape = np.broadcast_shapes(problem.shape, lr.shape, np.shape(data["test_error"]))

        def pick(v: Any, idx: tuple[int, ...]) -> Any:
            if isinstance(v, dict):
                return {k: pick(x, idx) for k, x in v.items()}
            if isinstance(v, np.ndarray) and v.ndim:
                return float(np.broadcast_to(v, shape)[idx])
            return v

        coords = rows_of({k: v for k, v in coordinate_columns(problem, "ntk", shape).items() if k not in self.unused})
        lrs = np.broadcast_to(lr, shape).ravel().tolist()
        out = []
        for rec, lr_i, idx in zip(coords, lrs, np.ndindex(*shape)):
            rec.update(scaling=self.scaling, lr_ratio=lr_i)
            rec.update(pick(data, idx))
            out.append(rec)
        return out
