"""Independent references and one check shared by the NTK tests (nothing here calls ``rmt.theory``).

* :func:`mp_integral` integrates against the Marchenko-Pastur law by adaptive quadrature of its density;
* :func:`linear_ridge` is isotropic linear ridge regression from it (the limit of the NTK for a constant gate, and
  of ReLU with one neuron on half the data);
* :func:`lin_problem` is the limit's problem (only ``phi = n0/m`` and the integer ``n1`` matter);
* :func:`check_against_simulation` compares a theory value with a simulated one.
"""

from __future__ import annotations

import math

import scipy.integrate

from rmt import Problem


def mp_integral(f, ratio):
    """``int f(s) dMP_ratio(s)`` by adaptive quadrature of the density (atom at 0 included)."""
    a, b = (1 - math.sqrt(ratio)) ** 2, (1 + math.sqrt(ratio)) ** 2
    dens = lambda s: math.sqrt(max((b - s) * (s - a), 0.0)) / (2 * math.pi * ratio * s)  # noqa: E731
    val = scipy.integrate.quad(lambda s: f(s) * dens(s), a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    return val + max(0.0, 1.0 - 1.0 / ratio) * f(0.0)


def linear_ridge(phi, lam, signal, noise):
    """Linear ridge ``(X^T X/n0 + lam)^-1`` with ``phi = n0/m``: error and mean shrinkage, by quadrature."""
    t = phi * lam
    G = mp_integral(lambda s: 1 / (s + t), phi)
    K = mp_integral(lambda s: 1 / (s + t) ** 2, phi)
    return signal * t * t * K + noise * phi * (G - t * K), 1 - t * G


def lin_problem(act, n1, phi, ridge, noise, signal=1.0):
    """The linear-scaling limit's problem at ``phi`` and integer width ``n1``."""
    return Problem(n0=phi, n1=n1, m=1.0, ridge=ridge, activation=act, noise=noise, signal=signal)


def check_against_simulation(sim: float, se: float, theory: float, allowance: float, what: str) -> None:
    """``|sim - theory| <= 4 se + allowance`` (``allowance`` absolute: the stated finite-size allowance)."""
    dev = sim - theory
    assert abs(dev) <= 4 * se + allowance, (f"{what}: simulation {sim:.5f} +- {se:.5f}, theory {theory:.5f}, "
                                            f"deviation {dev:+.5f}")
