r"""Learning dynamics of least squares: exact risk trajectories of gradient flow, gradient descent and SGD.

Model (the conventions of every function here): Gaussian features ``x ~ N(0, Lambda)``, ``Lambda = diag(lambda_i)``
(an :class:`theory.eigen.Eigensystem`, multiplicities allowed), target ``y = w*.x + eps`` with ``Var eps = noise``,
target power per mode ``v_i^2 = lambda_i w*_i^2``, start ``w = 0``.

* ``test_error = E (w - w*)^T Lambda (w - w*)``: the excess population risk, without the label noise.
* ``train_error = (1/n)|X w - y|^2`` with the noisy labels (finite training sets only).
* Gradient flow: ``dw/dt = -(Sigma_hat w - X^T y/n) - ridge w`` in continuous time ``t`` (``Sigma_hat = X^T X/n``;
  ``ridge`` is per sample, i.e. the eigenframework's sum-convention ridge ``n * ridge``). Without ``n``:
  population flow ``dw/dt = -Lambda(w - w*) - ridge w``.
* SGD in integer steps: ``w <- w - (lr/B) sum_{b<B} x_b (x_b^T w - y_b) - lr ridge w``, a fresh batch every step
  (online) or a batch drawn uniformly with replacement from ``n`` fixed samples (multi-pass).

Theories:

* :func:`population_gradient_flow` (closed form), :func:`gradient_flow` and :func:`gradient_descent` (finite ``n``,
  contour integral of the two-point deterministic equivalent of ridge regression; Paquette, Paquette, Adlam &
  Pennington arXiv:2205.07069; Atanasov, Bordelon, Zavatone-Veth, Paquette & Pehlevan arXiv:2502.05074),
  :func:`early_stopping` (optimal stopping time against the optimal ridge).
* :func:`online_sgd`: the exact Gaussian-feature recursion of Bordelon & Pehlevan (arXiv:2106.02713), any batch,
  :func:`online_sgd_threshold` (stability).
* :func:`hsgd` (a given data set) and :func:`multipass_sgd` (deterministic equivalent): homogenized SGD and its
  Volterra equation (Paquette, Paquette, Adlam & Pennington arXiv:2206.07252, arXiv:2205.07069), with the kernel
  mass ("implicit conditioning": the learning-rate threshold is set by the trace of ``Sigma_hat``).
* :func:`projected_gradient_flow` and :func:`compute_optimal`: the dynamical scaling-law model of Bordelon, Atanasov
  & Pehlevan (arXiv:2402.01092) with unlimited data: gradient flow on ``N`` random projections, and the
  compute-optimal frontier ``min_{N t = C} L`` with fitted against predicted exponents.
* :func:`scaling_model_loss`: the same model with ``N`` projections AND ``P`` samples (gradient flow or descent on
  the empirical loss): a double contour integral of the two-point random-feature ridge quantity, whose finite-``N``
  two-point terms are divided differences of one-point functions (derived in :mod:`theory._dynamics_rfp`).

:class:`DynamicsProblem` bundles one configuration for the command line, the simulator
(:func:`montecarlo.dynamics.simulate_dynamics` reads it by duck typing) and validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.theory._dynamics_gf import (Curve, EarlyStopping, early_stopping, gradient_descent, gradient_flow,
                                     population_gradient_flow, steps_array, times_array)
from rmt.theory._dynamics_sgd import (HSGDData, hsgd, kernel_mass_data, multipass_sgd, online_sgd, online_sgd_loop,
                                      online_sgd_mass, online_sgd_threshold, sgd_threshold_data)
from rmt.theory._dynamics_scaling import (ComputeFrontier, compute_optimal, projected_gradient_descent,
                                          projected_gradient_flow)
from rmt.theory._dynamics_rfp import scaling_model_loss
from rmt.theory.eigen import Eigensystem

__all__ = ["ALGORITHMS", "ComputeFrontier", "Curve", "compute_optimal", "projected_gradient_descent",
           "projected_gradient_flow", "DynamicsProblem", "EarlyStopping", "HSGDData", "early_stopping", "evaluate",
           "finite_size_allowance", "gradient_descent", "gradient_flow", "hsgd", "kernel_mass_data",
           "multipass_sgd", "online_sgd", "online_sgd_loop", "online_sgd_mass", "online_sgd_threshold",
           "population_gradient_flow", "scaling_model_loss", "sgd_threshold_data"]

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


def evaluate(problem: DynamicsProblem) -> Curve:
    """The theory curve of a problem: population or finite-``n`` gradient flow / descent, online SGD, or the
    deterministic equivalent of multi-pass SGD."""
    p = problem
    if p.algorithm == "gf":
        if p.steps is None:
            if p.n is None:
                return population_gradient_flow(p.system, p.times, p.ridge)
            return gradient_flow(p.system, p.n, p.times, p.ridge, p.noise)
        if p.n is None:
            raise ValueError("n is required for gradient descent with steps (use times for the population flow)")
        return gradient_descent(p.system, p.n, p.lr, p.steps, p.ridge, p.noise)
    if p.algorithm == "online-sgd":
        return online_sgd(p.system, p.lr, p.steps, p.batch, p.noise)
    return multipass_sgd(p.system, p.n, p.lr, p.steps, p.batch, p.ridge, p.noise)


def finite_size_allowance(problem: DynamicsProblem) -> float:
    r"""Relative tolerance for comparing a theory curve with a simulation at finite sizes.

    Online SGD's recursion is exact for Gaussian features at any size (allowance 0 beyond rounding). The finite-``n``
    gradient-flow and multi-pass-SGD curves are deterministic equivalents with ``O(1/n)`` corrections; the same
    rule as the eigenframework's (``3/n``, measured in tests/montecarlo/test_mc_dynamics.py) is used. Homogenized
    SGD also drops the ``grad grad^T`` part and the Gaussian fourth-moment part of the gradient covariance; the
    latter is of order ``lambda_max / trace`` (not ``1/n``): measured +3.5 to +5 % at early steps on the flat
    spectrum ``k^-0.7`` with ``d = n/2`` (n = 80, 200), and much more on steep power laws (docs/dynamics.md).
    """
    if problem.algorithm == "online-sgd" or problem.n is None:
        return 1e-9
    return 3.0 / problem.n


def spectrum_system(alpha: float, beta: float, modes: int | None, n: float | None = None,
                    time: float | None = None) -> Eigensystem:
    """The power-law spectrum of the command line: ``lambda_i = i^-alpha``, ``v_i^2 = i^-beta``, truncated at
    ``modes`` when given; otherwise effectively infinite: ``max(10^4, 100 n, 100 time^{1/alpha})`` modes (a mode
    ``i`` is learned by time ``t`` once ``i^-alpha t ~ 1``; ``time`` is the largest time or ``lr x steps``), the first
    1000 exact and the rest in logarithmic bins (40 per decade), plus the first-order tail beyond them (see
    :meth:`theory.eigen.Eigensystem.power_law`)."""
    if modes is not None:
        return Eigensystem.power_law(alpha, beta, check_positive_int(modes, "modes"))
    m = max(1e4, 100.0 * (n or 0.0), 100.0 * max(time or 0.0, 1.0) ** (1.0 / alpha))
    return Eigensystem.power_law(alpha, beta, int(min(m, 1e9)), exact_modes=1000, bins_per_decade=40, tail=True)
