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

:class:`DynamicsProblem` (defined in :mod:`rmt.dynamics_problem`, re-exported here) bundles one configuration for
the command line, the simulator (:func:`rmt.montecarlo.dynamics.simulate_dynamics`) and validation.
"""

from __future__ import annotations

from rmt._validation import check_positive_int
from rmt.theory._dynamics_gf import (Curve, EarlyStopping, early_stopping, gradient_descent, gradient_flow,
                                     population_gradient_flow)
from rmt.theory._dynamics_sgd import (HSGDData, hsgd, kernel_mass_data, multipass_sgd, online_sgd, online_sgd_loop,
                                      online_sgd_mass, online_sgd_threshold, sgd_threshold_data)
from rmt.theory._dynamics_scaling import (ComputeFrontier, compute_optimal, projected_gradient_descent,
                                          projected_gradient_flow)
from rmt.theory._dynamics_rfp import scaling_model_loss
from rmt.theory.eigen import Eigensystem
from rmt.dynamics_problem import ALGORITHMS, DynamicsProblem  # the problem lives in rmt; kept importable here

__all__ = ["ALGORITHMS", "ComputeFrontier", "Curve", "compute_optimal", "projected_gradient_descent",
           "projected_gradient_flow", "DynamicsProblem", "EarlyStopping", "HSGDData", "early_stopping", "evaluate",
           "finite_size_allowance", "gradient_descent", "gradient_flow", "hsgd", "kernel_mass_data",
           "multipass_sgd", "online_sgd", "online_sgd_loop", "online_sgd_mass", "online_sgd_threshold",
           "population_gradient_flow", "scaling_model_loss", "sgd_threshold_data"]


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
