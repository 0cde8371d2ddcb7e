"""The training-dynamics problem: one configuration shared by the theory (:func:`rmt.theory.dynamics.evaluate`),
the simulation (:func:`rmt.montecarlo.dynamics.simulate_dynamics`), the command line and validation.

Conventions (those of :mod:`rmt.theory.dynamics`): Gaussian features ``x ~ N(0, Lambda)`` given by an
:class:`rmt.Eigensystem` (``lambda_i``, target power ``v_i^2``), label-noise variance ``noise``, start ``w = 0``;
gradient flow in continuous time ``t``, gradient descent and SGD in integer steps with learning rate ``lr``; the
ridge is per sample. Risk trajectories: Paquette, Paquette, Adlam & Pennington arXiv:2205.07069, arXiv:2206.07252;
Bordelon & Pehlevan arXiv:2106.02713.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.eigensystem import Eigensystem

__all__ = ["ALGORITHMS", "DynamicsProblem", "steps_array", "times_array"]


def times_array(times: Any, name: str = "times") -> np.ndarray:
    """Times as a non-empty 1-d float array of values ``>= 0``.

    Raises:
        ValueError: naming ``name``: a negative or non-finite time, or no time at all.
    """
    t = np.atleast_1d(check_nonnegative(times, name)).astype(float).ravel()
    if t.size == 0:
        raise ValueError(f"{name} must not be empty")
    return t


def steps_array(steps: Any, name: str = "steps") -> np.ndarray:
    """Step counts as a non-empty, strictly increasing 1-d ``int64`` array of non-negative integers.

    Raises:
        ValueError: naming ``name``: a non-integer, negative or non-finite count, counts not increasing, none.
    """
    s = np.atleast_1d(np.asarray(steps, dtype=float)).ravel()
    if s.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.any(~np.isfinite(s)) or np.any(s < 0) or np.any(s != np.round(s)):
        raise ValueError(f"{name} must be non-negative integers, got {steps!r}")
    if np.any(np.diff(s) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {s.astype(int).tolist()}")
    return s.astype(np.int64)


ALGORITHMS = ("gf", "online-sgd", "sgd")


@dataclass(frozen=True, eq=False)
class DynamicsProblem:
    """One training-dynamics configuration.

    Attributes:
        system: the eigensystem (``lambda_i``, ``v_i^2``).
        algorithm: ``"gf"`` (gradient flow; with ``lr`` set: gradient descent with that step), ``"online-sgd"`` or
            ``"sgd"`` (multi-pass, needs ``n``).
        times: gradient-flow times (``gf`` without ``lr``), else ``None``.
        steps: step counts (SGD, gradient descent), strictly increasing, else ``None``.
        n: training samples (``None``: population flow / online SGD).
        lr, batch, ridge, noise: learning rate, batch size, per-sample ridge, label-noise variance.

    Raises:
        ValueError: naming the argument (``--times`` with SGD, steps not increasing, missing ``n`` for ``sgd``, ...).
    """

    system: Eigensystem
    algorithm: str
    times: tuple[float, ...] | None = None
    steps: tuple[int, ...] | None = None
    n: int | None = None
    lr: float | None = None
    batch: int = 1
    ridge: float = 0.0
    noise: float = 0.0

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}")
        if self.times is not None and self.steps is not None:
            raise ValueError("give times or steps, not both")
        if self.algorithm != "gf" and self.times is not None:
            raise ValueError(f"times: the {self.algorithm} algorithm counts steps; give steps instead of times")
        if self.algorithm == "gf" and self.times is None and self.steps is None:
            raise ValueError("times (or steps with lr) are required for gradient flow")
        if self.algorithm != "gf" and self.steps is None:
            raise ValueError("steps are required for SGD")
        if self.times is not None:
            object.__setattr__(self, "times", tuple(float(t) for t in times_array(self.times)))
        if self.steps is not None:
            object.__setattr__(self, "steps", tuple(int(s) for s in steps_array(self.steps)))
            if self.lr is None:
                raise ValueError("lr is required with steps")
        if self.lr is not None:
            object.__setattr__(self, "lr", float(check_positive(self.lr, "lr")))
        if self.n is not None:
            object.__setattr__(self, "n", int(check_positive_int(self.n, "n")))
        elif self.algorithm == "sgd":
            raise ValueError("n is required for multi-pass SGD (omit it for online SGD)")
        if self.algorithm == "online-sgd" and self.n is not None:
            raise ValueError("n: online SGD draws a fresh batch every step; omit n (or use sgd for multi-pass)")
        object.__setattr__(self, "batch", int(check_positive_int(self.batch, "batch")))
        object.__setattr__(self, "ridge", float(check_nonnegative(self.ridge, "ridge")))
        object.__setattr__(self, "noise", float(check_nonnegative(self.noise, "noise")))
        if self.algorithm == "online-sgd" and self.ridge > 0:
            raise ValueError("ridge: online SGD is implemented without a ridge")

    @property
    def axis(self) -> str:
        return "time" if self.steps is None else "step"

    def as_dict(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "n": self.n, "lr": self.lr, "batch": self.batch, "ridge": self.ridge,
                "noise": self.noise, "times": None if self.times is None else list(self.times),
                "steps": None if self.steps is None else list(self.steps),
                "modes": int(self.system.rank) if math.isfinite(self.system.rank) else "inf",
                "signal": self.system.signal, "trace": self.system.trace}
