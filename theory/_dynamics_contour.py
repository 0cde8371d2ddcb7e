r"""Contour machinery for finite-sample spectral filters (private to :mod:`theory.dynamics`).

Any estimator ``w_hat = g(Sigma_hat) X^T y / n`` with residual filter ``r(s) = 1 - s g(s)`` (ridge, gradient flow,
gradient descent, early stopping) is a contour integral of ridge estimators at complex ridges:

    w_hat - w* = (1/2 pi i) oint_C (r(z)/z) (w_hat_{ridge=-z} - w*) dz

over a closed curve ``C`` around the spectrum of ``Sigma_hat`` and 0 and around no singularity of ``r`` (the residue
at ``z = 0`` gives ``-r(0) w* = -w*``; the residue at an eigenvalue ``s`` gives ``g(s)``). The same holds for the
training residual ``y - X w_hat = r(X X^T/n) y``. Averaging over the data, the two-point deterministic equivalent of
ridge regression at two complex per-sample ridges ``a, b`` (with ``kappa`` from ``ridge = kappa (1 - df1(kappa)/n)``,
``L_i = lambda_i/(lambda_i + kappa)``, ``G_ab = (1/n) sum_i L_i^a L_i^b``) is

    E_ab + sigma^2 = [ sum_i v_i^2 (1 - L_i^a)(1 - L_i^b) + sigma^2 ] / (1 - G_ab)

(test error; Atanasov, Bordelon, Zavatone-Veth, Paquette & Pehlevan, "two-point deterministic equivalence",
arXiv:2502.05074; at ``a = b`` the eigenlearning risk of Simon et al. arXiv:2110.03922, eq. for ``E_te``), and for the
training residuals ``T_ab = (a/kappa_a)(b/kappa_b)(E_ab + sigma^2)``. The last identity is exact given the one-point
equivalent ``(1/n) y^T (K/n + a)^-1 y ~ sum_i v_i^2/(lambda_i + kappa_a) + sigma^2/kappa_a``: the two-point
training quantity is its divided difference in ``a``, and ``(a - b)/(kappa_a - kappa_b) = 1 - G_ab`` exactly.
Hence, with quadrature weights ``q_j`` and nodes ``z_j``:

    test_error  = sum_jl (q_j r_j / z_j)(q_l r_l / z_l) Q_jl  - sigma^2 (sum_j q_j r_j / z_j)^2
    train_error = sum_jl (q_j r_j / kappa_j)(q_l r_l / kappa_l) Q_jl,         Q = E + sigma^2

The one-point trace ``Tr (z - Sigma_hat)^-1 ~ (kappa/z) sum_i 1/(lambda_i + kappa)`` (the generalized
Marchenko-Pastur law) gives the spectral kernels of homogenized SGD (Paquette, Paquette, Adlam & Pennington,
arXiv:2205.07069 and arXiv:2206.07252): ``Tr(Sigma_hat^2 phi(Sigma_hat)) = -(1/2 pi i) oint z phi(z) df1(kappa(-z)) dz``
(the dimension term integrates to zero), and ``Tr(Sigma phi(Sigma_hat) Sigma_hat psi(Sigma_hat))`` from the noise
part of ``E_ab``: ``n G_ab / (1 - G_ab)``.

Contour and quadrature (a stated rule, checked by refinement in the tests): a circle through ``-m`` and ``s_R``, with
``s_R = 2 (sqrt(lambda_max) + sqrt(trace/n))^2 + trace/n`` (beyond the support of the spectrum of ``Sigma_hat``)
and the margin ``m`` given by the caller (small enough that the filters do not blow up, ``e^{t m}``, and that a pole
of the filter at ``-ridge`` stays outside). Trapezoid nodes equally spaced on the unit circle are pulled towards
``-m`` by a disc automorphism ``u = (w + a)/(1 + a w)`` with ``1 + a = 2 sqrt(m/R)``, so that the node spacing near
the spectrum's edge at 0 is of the order of ``m`` while the far side stays resolved; ``N ~ 32/sqrt(m/R)`` nodes.
``kappa(-z)`` is followed along the upper half of the contour by damped Newton steps from the real positive-ridge
root (the unique positive root, :func:`theory.eigen.solve_kappa`) and mirrored to the lower half by
``kappa(conj z) = conj kappa(z)``; a node whose Newton iteration does not converge raises
:class:`rmt.solvers.SolverError` with its residual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rmt.solvers import SolverError
from rmt.theory.eigen import Eigensystem, solve_kappa

__all__ = ["Contour", "build_contour", "contour_nodes", "spectral_edge"]


def spectral_edge(system: Eigensystem, n: float) -> float:
    """An upper bound for the support of the deterministic equivalent of the spectrum of ``Sigma_hat`` (with margin)."""
    lam_max = float(np.max(system.eigenvalues))
    tn = system.trace / n
    return 2.0 * (math.sqrt(lam_max) + math.sqrt(tn)) ** 2 + tn


@dataclass(frozen=True, eq=False)
class Contour:
    """Nodes ``z`` (upper half then its mirror), weights ``q`` (``(1/2 pi i) oint f dz ~ sum q f(z)``), the
    effective ridges ``kappa(-z)``, ``df1(kappa)``, the two-point matrix ``Q = E + sigma^2`` and the noise-free
    ``P = n G/(1 - G)``."""

    z: np.ndarray
    q: np.ndarray
    kappa: np.ndarray
    df1: np.ndarray
    Q: np.ndarray
    P: np.ndarray
    noise: float
    n: float
    right: float

    def test_train(self, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Test and train error of the filters ``r`` (shape ``(T, N)``: residual filter values at the nodes)."""
        W = self.q * r / self.z
        V = self.q * r / self.kappa
        test = _quad(W, self.Q) - self.noise * np.sum(W, axis=1).real ** 2
        train = _quad(V, self.Q)
        return test, train

    def trace_h2(self, phi: np.ndarray) -> np.ndarray:
        """``Tr(Sigma_hat^2 phi(Sigma_hat))`` for entire ``phi`` given at the nodes (shape ``(T, N)``)."""
        return -np.sum(self.q * self.z * self.df1 * phi, axis=1).real

    def sigma_weighted(self, phi: np.ndarray) -> np.ndarray:
        """``Tr(Sigma phi(Sigma_hat) Sigma_hat phi(Sigma_hat))`` for entire ``phi`` at the nodes (shape ``(T, N)``)."""
        return _quad(self.q * phi, self.P)


def _quad(W: np.ndarray, M: np.ndarray) -> np.ndarray:
    return np.einsum("tj,tj->t", W @ M, W).real


def _newton(system: Eigensystem, n: float, lam: complex, k0: complex) -> tuple[complex, float]:
    ev, mult, flat = system.eigenvalues, system.multiplicities, system.flat_mass
    k = k0
    scale = abs(lam) + abs(k0)
    for _ in range(200):
        d = ev + k
        df1 = np.sum(mult * ev / d) + flat / k
        df2 = np.sum(mult * (ev / d) ** 2)
        F = k * (1.0 - df1 / n) - lam
        dF = 1.0 - df2 / n
        step = F / dF
        # damping: never move kappa by more than half its modulus in one step
        lim = 0.5 * abs(k)
        if abs(step) > lim:
            step *= lim / abs(step)
        k = k - step
        if abs(F) <= 1e-13 * scale and abs(step) <= 1e-13 * abs(k):
            return k, abs(F) / scale
    d = ev + k
    F = k * (1.0 - (np.sum(mult * ev / d) + flat / k) / n) - lam
    return k, abs(F) / scale


def contour_nodes(right: float, margin: float, *, nodes: int | None = None, refine: float = 1.0,
                  cap: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Upper-half nodes and weights of the circle through ``-margin`` and ``right`` (the rule of the module
    docstring; the lower half is the mirror image). ``cap`` bounds the total number of nodes."""
    s_R, m = float(right), float(margin)
    c, R = 0.5 * (s_R - m), 0.5 * (s_R + m)
    eps = m / R
    delta = min(1.0, max(eps, 2.0 * math.sqrt(eps)))
    a = -1.0 + delta
    if nodes is None:
        nodes = int(min(cap, max(128, math.ceil(32.0 * refine / math.sqrt(eps)))))
    half = int(nodes) // 2 + (int(nodes) // 2) % 2
    N = 2 * half
    theta = np.pi - 2.0 * np.pi * (np.arange(half) + 0.5) / N  # from near pi down to near 0 (upper half)
    w = np.exp(1j * theta)
    u = (w + a) / (1.0 + a * w)
    zu = c + R * u
    qu = R * (1.0 - a * a) / (1.0 + a * w) ** 2 * w / N
    return zu, qu


def build_contour(system: Eigensystem, n: float, noise: float, margin: float, *, nodes: int | None = None,
                  refine: float = 1.0, two_point: bool = True) -> Contour:
    """Build the contour of the module docstring for ``n`` samples, label noise ``noise`` and left margin
    ``margin`` (``-margin`` is the leftmost point). ``nodes`` overrides the rule ``N ~ 32 refine / sqrt(m/R)``;
    ``two_point=False`` skips the ``(N, N)`` matrices (one-point functions only)."""
    s_R = spectral_edge(system, n)
    m = float(margin)
    zu, qu = contour_nodes(s_R, m, nodes=nodes, refine=refine, cap=4000 if two_point else 40000)
    half = zu.size
    # follow kappa(-z) from the real positive ridge at z = -m
    k_real = float(solve_kappa(system, n, n * m).value)
    kap = np.empty(half, dtype=complex)
    k = complex(k_real)
    worst = 0.0
    for j in range(half):
        k, res = _newton(system, n, -zu[j], k)
        if not (res < 1e-9 and np.isfinite(k)):
            raise SolverError(f"dynamics contour: kappa(-z) did not converge at z = {zu[j]:.6g} (residual {res:.3g})")
        worst = max(worst, res)
        kap[j] = k
    z = np.concatenate([zu, zu.conj()])
    q = np.concatenate([qu, qu.conj()])  # trapezoid weight at the mirrored angle -theta is the conjugate
    kappa = np.concatenate([kap, kap.conj()])
    ev, mult, v2 = system.eigenvalues, system.multiplicities, system.target_power
    d1 = np.array([np.sum(mult * ev / (ev + kk)) + system.flat_mass / kk for kk in kappa])
    if not two_point:
        empty = np.zeros((0, 0), dtype=complex)
        return Contour(z=z, q=q, kappa=kappa, df1=d1, Q=empty, P=empty, noise=float(noise), n=float(n), right=s_R)
    L = ev[None, :] / (ev[None, :] + kappa[:, None])  # (N, M)
    OL = kappa[:, None] / (ev[None, :] + kappa[:, None])
    Lu, OLu = L[:half], OL[:half]
    G = _mirror((Lu * mult) @ L.T / n, half)  # (N, N)
    del L
    Q = _mirror((OLu * (mult * v2)) @ OL.T, half)
    del OL
    # in place (the matrices are the memory peak): Q = (B + tail + noise)/(1 - G), P = n G/(1 - G)
    Q += system.target_tail + noise
    P = G
    G = 1.0 - G  # a new array: 1 - G
    Q /= G
    P *= n
    P /= G
    del G
    return Contour(z=z, q=q, kappa=kappa, df1=d1, Q=Q, P=P, noise=float(noise), n=float(n), right=s_R)


def _mirror(top: np.ndarray, half: int) -> np.ndarray:
    """Full ``(N, N)`` matrix from its upper rows, using ``M(conj a, conj b) = conj M(a, b)``."""
    out = np.empty((2 * half, 2 * half), dtype=complex)
    out[:half] = top
    out[half:, :half] = top[:, half:].conj()
    out[half:, half:] = top[:, :half].conj()
    return out
