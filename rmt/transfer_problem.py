r"""The feature-transfer problem: one description shared by the theory (:func:`rmt.theory.transfer.transfer_theory`)
and the simulation (:func:`rmt.montecarlo.transfer.simulate_transfer`).

Setting (Li, Sen & Adlam, arXiv:2404.12481, the spectrum-only case): inputs ``x ~ N(0, diag(lambda))``, a task prior
with power ``w_i = omega_i lambda_i`` in mode ``i``, pretrained features ``z_i = b_i x_i`` (``b_i = 0`` discards mode
``i``), ridge regression on ``n`` samples with the sum-convention ridge and label-noise variance ``noise``. The
problem holds the feature scales ``b`` as an array, resolved from a specification here (``identity``, ``top:K``,
``power:P``), so that the simulation needs nothing from the theory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_point, check_positive, check_positive_int

__all__ = ["TransferProblem", "TransferSetting", "feature_scales"]


@dataclass(frozen=True, eq=False)
class TransferSetting:
    """Downstream spectrum and task prior in the co-diagonal basis.

    Attributes:
        eigenvalues: ``lambda_i > 0`` (input covariance).
        target_power: ``w_i = omega_i lambda_i >= 0`` (prior power of the task in mode ``i``).

    Raises:
        ValueError: non-positive eigenvalues, negative power, mismatched lengths.
    """

    eigenvalues: np.ndarray
    target_power: np.ndarray

    def __post_init__(self) -> None:
        lam = check_positive(np.atleast_1d(np.asarray(self.eigenvalues, dtype=float)), "eigenvalues")
        w = check_nonnegative(np.atleast_1d(np.asarray(self.target_power, dtype=float)), "target_power")
        if lam.ndim != 1 or w.shape != lam.shape:
            raise ValueError(f"eigenvalues and target_power must be 1-d of equal length, got {lam.shape}, {w.shape}")
        lam.setflags(write=False)
        w.setflags(write=False)
        object.__setattr__(self, "eigenvalues", lam)
        object.__setattr__(self, "target_power", w)

    @classmethod
    def power_law(cls, alpha: float, beta: float, modes: int) -> "TransferSetting":
        """``lambda_i = i^-alpha``, ``w_i = i^-beta``, ``i = 1..modes`` (the convention of ``rmt theory eigen``)."""
        a = float(check_positive(alpha, "alpha"))
        b = float(check_positive(beta, "beta"))
        m = check_positive_int(modes, "modes")
        i = np.arange(1, m + 1, dtype=float)
        return cls(i ** -a, i ** -b)

    @property
    def modes(self) -> int:
        return int(self.eigenvalues.size)

    @property
    def signal(self) -> float:
        return float(self.target_power.sum())


def feature_scales(spec: Any, eigenvalues: Any) -> np.ndarray:
    """Feature scales ``b`` from ``"identity"``, ``"top:K"`` (``b_i = 1`` for the ``K`` largest eigenvalues, else 0),
    ``"power:P"`` (``b_i = lambda_i^P``) or an array of ``M`` non-negative scales (``M`` = number of eigenvalues).

    Raises:
        ValueError: an unknown specification (named ``features``), ``K`` not in ``1..M``, a non-finite ``P``.
    """
    lam = np.asarray(eigenvalues, dtype=float)
    if not isinstance(spec, str):
        b = check_nonnegative(np.asarray(spec, dtype=float), "features")
        if b.shape != lam.shape:
            raise ValueError(f"features must have one scale per mode ({lam.size}), got shape {b.shape}")
        return b
    kind, _, arg = spec.partition(":")
    if kind == "identity" and not arg:
        return np.ones_like(lam)
    if kind == "top" and arg:
        try:
            K = check_positive_int(int(arg), "features top:K")
        except ValueError:
            raise ValueError(f"features top:K needs an integer K >= 1, got {arg!r}") from None
        if K > lam.size:
            raise ValueError(f"features top:K needs K <= modes = {lam.size}, got {K}")
        b = np.zeros_like(lam)
        b[np.argsort(-lam, kind="stable")[:K]] = 1.0
        return b
    if kind == "power" and arg:
        try:
            P = float(arg)
        except ValueError:
            raise ValueError(f"features power:P needs a number P, got {arg!r}") from None
        if not math.isfinite(P):
            raise ValueError(f"features power:P needs a finite P, got {arg!r}")
        return lam ** P
    raise ValueError(f"features must be identity, top:K, power:P or optimal, got {spec!r}")


@dataclass(frozen=True, eq=False)
class TransferProblem:
    """One feature-transfer problem: setting, feature scales, samples, ridge and noise (one point).

    Attributes:
        setting: the spectrum and task prior (:class:`TransferSetting`).
        features: feature scales ``b_i >= 0``, one per mode (given as an array or a specification for
            :func:`feature_scales`; stored as a read-only array).
        n: samples ``> 0`` (an integer for the simulation). ridge: sum-convention ridge ``>= 0``.
        noise: label-noise variance ``>= 0``.

    Raises:
        ValueError: naming the argument (``setting``, ``features``, ``n``, ``ridge``, ``noise``).
    """

    setting: TransferSetting
    features: np.ndarray
    n: float
    ridge: float
    noise: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.setting, TransferSetting):
            raise ValueError(f"setting must be a TransferSetting, got {type(self.setting).__name__}")
        b = np.array(feature_scales(self.features, self.setting.eigenvalues), dtype=float)
        b.setflags(write=False)
        object.__setattr__(self, "features", b)
        for name, check in (("n", check_positive), ("ridge", check_nonnegative), ("noise", check_nonnegative)):
            object.__setattr__(self, name, check_point(getattr(self, name), name, check))

    @classmethod
    def power_law(cls, alpha: float, beta: float, modes: int, features: Any = "identity", *, n: float,
                  ridge: float, noise: float = 0.0) -> "TransferProblem":
        """``lambda_i = i^-alpha``, ``w_i = i^-beta`` (:meth:`TransferSetting.power_law`) with the given features."""
        return cls(TransferSetting.power_law(alpha, beta, modes), features, n, ridge, noise)

    @property
    def eigenvalues(self) -> np.ndarray:
        return self.setting.eigenvalues

    @property
    def target_power(self) -> np.ndarray:
        return self.setting.target_power

    @property
    def kept(self) -> int:
        """Number of features with ``b_i > 0``."""
        return int((self.features > 0).sum())

    def as_dict(self) -> dict[str, Any]:
        return {"model": "transfer", "n": self.n, "ridge": self.ridge, "noise": self.noise,
                "modes": self.setting.modes, "signal": self.setting.signal, "kept_features": self.kept}
