r"""The dynamical scaling-law model with unlimited data (private to :mod:`theory.dynamics`).

Bordelon, Atanasov & Pehlevan (arXiv:2402.01092): a linear model on ``N`` random projections ``A x / sqrt(N)`` of
the features (``A`` an ``N x M`` standard Gaussian matrix), trained by gradient flow from zero on the population loss
(``P = inf`` samples). With ``u = Lambda^{1/2}(w* - A^T theta / sqrt N)`` the flow is ``du/dt = -Sigma_N u`` where
``Sigma_N = Lambda^{1/2} A^T A Lambda^{1/2} / N`` is a sample covariance of ``N`` draws of ``N(0, Lambda)``, so the
excess risk is ``|u(t)|^2 = u_0^T e^{-2 t Sigma_N} u_0`` with ``u_0 = Lambda^{1/2} w*``: a one-point spectral
function, exactly expressible by the contour of :mod:`theory._dynamics_contour` with the deterministic equivalent
``u_0^T (z - Sigma_N)^{-1} u_0 ~ (kappa/z) sum_i v_i^2 / (lambda_i + kappa)``, ``-z = kappa (1 - df1(kappa)/N)``:

    L(t, N) = (1/2 pi i) oint e^{-2 t z} (kappa(-z)/z) sum_i v_i^2 / (lambda_i + kappa(-z)) dz.

Limits: ``N -> inf`` gives the population flow ``sum v_i^2 e^{-2 lambda_i t}``; ``t -> inf`` gives
``sum_i v_i^2 kappa_0/(lambda_i + kappa_0)`` with ``df1(kappa_0) = N`` (the random-feature eigenframework at
``n = inf``, Simon, Karkada, Ghosh & Belkin arXiv:2311.14646). For ``lambda_i = i^-alpha``, ``v_i^2 = i^-beta``:
``L ~ c_t t^{-(beta-1)/alpha} + c_N N^{-min(beta-1, alpha)}``; with compute ``C = N t`` and ``beta - 1 < alpha`` the
optimum has ``t* ~ N*^alpha``, ``N* ~ C^{1/(1+alpha)}``, ``t* ~ C^{alpha/(1+alpha)}`` and
``L* ~ C^{-(beta-1)/(1+alpha)}`` (steps grow faster than parameters).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmt._validation import check_positive
from rmt.theory._dynamics_contour import build_contour, spectral_edge
from rmt.theory._dynamics_gf import Curve, steps_array, times_array
from rmt.theory._dynamics_rfp import scaling_model_loss
from rmt.theory.eigen import Eigensystem, solve_kappa

__all__ = ["ComputeFrontier", "compute_optimal", "projected_gradient_descent", "projected_gradient_flow"]


def projected_gradient_flow(system: Eigensystem, width: float, times: Any) -> Curve:
    """Excess risk of population gradient flow on ``width`` random projections of the features (module docstring;
    Bordelon, Atanasov & Pehlevan arXiv:2402.01092, ``P = inf``), at all ``times`` from one contour."""
    t = times_array(times)
    vals = _projected(system, width, t, lambda z, tt: np.exp(-2.0 * tt[:, None] * z[None, :]))
    return Curve("gf", "time", t, vals, None, {"width": float(width)})


def projected_gradient_descent(system: Eigensystem, width: float, lr: float, steps: Any) -> Curve:
    """The same model trained by gradient descent ``theta <- theta - lr grad`` on the population loss: the filter
    ``(1 - lr z)^{2k}`` in place of ``e^{-2 t z}`` (exact in ``lr``; requires ``lr`` below ``2 / s_max``)."""
    lr = float(check_positive(lr, "lr"))
    k = steps_array(steps)
    vals = _projected(system, width, lr * k.astype(float),
                      lambda z, tt: (1.0 - lr * z[None, :]) ** (2.0 * np.round(tt / lr)[:, None]))
    return Curve("gd", "step", k, vals, None, {"width": float(width), "lr": lr})


def _projected(system: Eigensystem, width: float, t: np.ndarray, decay) -> np.ndarray:
    N = float(check_positive(width, "width"))
    ev, mult, v2 = system.eigenvalues, system.multiplicities, system.target_power
    # beyond t_c = 40 / kappa_0 (df1(kappa_0) = N; kappa_0 = 0 when rank <= N) the flow has converged: the nonzero
    # spectrum of Sigma_N lies above about kappa_0, so the remainder is below e^{-80}; there the t -> inf value
    k0 = float(solve_kappa(system, N, 0.0).value)
    limit = float(np.sum(mult * v2 * k0 / (ev + k0))) + system.target_tail if k0 > 0 else system.target_tail
    t_c = 40.0 / k0 if k0 > 0 else math.inf
    late = t >= t_c
    vals = np.full(t.size, limit)
    tt = t[~late]
    if tt.size:
        s_R = spectral_edge(system, N)
        m = min(2.0 / max(float(tt.max()), 1e-300), 0.05 * s_R)  # the filter grows like e^{2 t m} at -m
        R = 0.5 * (s_R + m)
        if m / R < 6.4e-7:  # 40000 nodes (one-point functions only)
            raise ValueError(f"times: {float(tt.max()):g} is too long for the contour quadrature at width {N:g}")
        C = build_contour(system, N, 0.0, m, two_point=False)
        F = np.array([np.sum(mult * v2 / (ev + k)) for k in C.kappa]) * C.kappa / C.z + system.target_tail / C.z
        vals[~late] = (decay(C.z, tt) * (C.q * F)[None, :]).sum(axis=1).real
    return vals


@dataclass(frozen=True, eq=False)
class ComputeFrontier:
    """The compute-optimal frontier ``min_{N t = C} L(t, N)``.

    Attributes:
        compute, width, time, loss: the frontier (``N*(C)``, ``t*(C)``, ``L*(C)``), one entry per compute.
        fitted: fitted log-log slopes of ``L*``, ``N*``, ``t*`` against ``C`` (upper half of the range).
        predicted: from balancing ``t^{-(beta-1)/alpha} = N^{-e}``, ``e = min(beta-1, alpha)``,
            ``g = e alpha/(beta-1)``:
            loss ``-e/(1+g)``, width ``1/(1+g)``, time ``g/(1+g)`` (for ``beta - 1 < alpha``: ``-(beta-1)/(1+alpha)``,
            ``1/(1+alpha)``, ``alpha/(1+alpha)``).
        grid: the widths and the loss table ``L[C, N]`` used.
    """

    compute: np.ndarray
    width: np.ndarray
    time: np.ndarray
    loss: np.ndarray
    fitted: dict[str, float]
    predicted: dict[str, float]
    grid_widths: np.ndarray
    grid_loss: np.ndarray


def compute_optimal(alpha: float, beta: float, compute: Any, widths: Any, *, modes: int | None = None,
                    samples: float | None = None) -> ComputeFrontier:
    """The frontier on a grid of widths (log-spaced): for each compute ``C`` the width minimising
    ``L(C/N, N)``, refined by a parabola through the three grid points around the minimum in ``log N``.
    The spectrum is ``lambda_i = i^-alpha``, ``v_i^2 = i^-beta`` with ``modes`` modes (default ``100 max(widths)``,
    binned beyond 1000, with its tail).

    ``samples = P``: the frontier at a fixed finite data set, with ``L`` from :func:`scaling_model_loss` (gradient
    flow on the empirical loss of ``P`` samples; compute ``C = N t`` as before). It saturates at the best
    ridgeless random-feature loss over the widths once ``N*`` nears ``P``; ``predicted`` stays the ``P = inf``
    balance, meaningful only while ``N* << P``. Times ``C/N`` beyond the quadrature's reach raise ``ValueError``
    (:func:`scaling_model_loss`)."""
    Cs = np.sort(np.atleast_1d(check_positive(compute, "compute")).astype(float))
    if samples is not None:
        samples = float(check_positive(samples, "samples"))
    Ns = np.sort(np.atleast_1d(check_positive(widths, "widths")).astype(float))
    M = int(modes or max(1e4, 100 * Ns.max()))
    system = Eigensystem.power_law(alpha, beta, M, exact_modes=min(M, 1000), bins_per_decade=40, tail=modes is None)
    table = np.empty((Cs.size, Ns.size))
    for j, N in enumerate(Ns):
        if samples is None:
            table[:, j] = projected_gradient_flow(system, N, Cs / N).test_error
        else:
            table[:, j] = scaling_model_loss(system, N, samples, Cs / N).test_error
    bestN, bestL = np.empty(Cs.size), np.empty(Cs.size)
    x = np.log(Ns)
    for i in range(Cs.size):
        j = int(np.argmin(table[i]))
        if 0 < j < Ns.size - 1:
            y = np.log(table[i, j - 1:j + 2])
            xx = x[j - 1:j + 2]
            a, b, c = np.polyfit(xx, y, 2)
            xs = -b / (2 * a) if a > 0 else xx[1]
            xs = min(max(xs, xx[0]), xx[2])
            bestN[i], bestL[i] = math.exp(xs), math.exp(np.polyval([a, b, c], xs))
        else:
            bestN[i], bestL[i] = Ns[j], table[i, j]
    half = slice(Cs.size // 2, None)
    lc = np.log(Cs[half])
    fitted = {"loss": float(np.polyfit(lc, np.log(bestL[half]), 1)[0]),
              "width": float(np.polyfit(lc, np.log(bestN[half]), 1)[0]),
              "time": float(np.polyfit(lc, np.log(Cs[half] / bestN[half]), 1)[0])}
    e = min(beta - 1.0, alpha)
    # balance t^{-(beta-1)/alpha} = N^{-e}: t = N^{e alpha/(beta-1)}, C = N^{1 + e alpha/(beta-1)}
    g = e * alpha / (beta - 1.0)
    predicted = {"width": 1.0 / (1.0 + g), "time": g / (1.0 + g), "loss": -e / (1.0 + g)}
    return ComputeFrontier(Cs, bestN, Cs / bestN, bestL, fitted, predicted, Ns, table)
