r"""Heterogeneous random features: a distribution over activations, including random biases.

Adlam, Levinson & Pennington, arXiv:1912.00827 ("ALP"): features ``f_i(x) = sigma_{k(i)}(w_i.x/sqrt(n0) + b_i)``
with ``k(i) ~ nu`` (or ``b_i ~ P_b``) i.i.d. over features. ALP's own formulas were not available; this implements the
reference sheet's *derived* generalisation of the Adlam-Pennington equations (../shared/reference/random_features.md
section 4, tagged DER + NUM against simulation): per component only ``mu1 = E[z f(z + b)]`` and
``mu_star^2 = E f(z+b)^2 - mu0^2 - mu1^2`` enter (per-feature means add a low-rank term that drops out).

.. warning::
    Replacing the mixture by averaged constants is **wrong** (sheet 4.1): for ReLU with ``b ~ N(0, 1)`` at
    ``phi = psi = 0.5``, ``gamma = 0.1``, ``noise = 0.25`` the averaged constants give 0.660, the mixture theory 0.484
    and simulation 0.478 +- 0.018. :meth:`FeatureMixture.averaged` exists to show this, not to be used.

Training side (sheet 4.2): unknowns ``alpha, beta >= 0`` with ``A = E mu1^2/(1 + mu1^2 alpha + mu_star^2 beta)``,
``Bbar = E mu_star^2/(1 + ...)``, ``alpha = (psi/phi) int s dMP_{1/phi}/(A s + gamma + Bbar)``,
``beta = (psi/phi) int dMP_{1/phi}/(A s + gamma + Bbar)``. Writing ``u = (gamma + Bbar)/A`` (the ridge ``rho_mix`` of
the equivalent linear model) and ``G = G_{1/phi}(u)`` turns them into ``alpha = (psi/phi)(1 - u G)/A``,
``beta = (psi/phi) G/A`` and

* (I) ``1 = E[mu1^2 / (A + (psi/phi) q)]`` with ``q = mu1^2 (1 - u G) + mu_star^2 G``: for fixed ``u`` the right side
  decreases in ``A``, so ``A(u) > 0`` is unique (convex decreasing: Newton from ``A = 0`` converges monotonically);
* (II) ``Phi(u) = u A(u) - gamma - Bbar(u) = 0`` with ``Bbar = E[mu_star^2 A/(A + (psi/phi) q)]``:
  ``Phi(0+) < 0 < Phi(inf)``. **Branch rule:** ``Phi`` is scanned on a log grid and must change sign exactly once
  (otherwise the point is reported ``AMBIGUOUS_BRANCH``); the root is then bracketed and polished. For one activation
  ``Phi`` is increasing on ``u > mu_star^2/mu1^2`` and this reduces exactly to (S67)/(S68).

Then ``tau1 = (phi/psi) beta``, ``tau2 = (phi/psi) alpha`` and ``E_train = -gamma^2 (s tau2' + noise tau1')``
(central difference in ``gamma``, relative step 1e-4, sheet 7.3).

Test side ("bagging route", sheet 4.2): ``delta(z)`` is the unique positive root of
``delta = (1/psi) E mu1^2/(mu_star^2 + z + mu1^2/(1 + delta))`` (concave increasing right side, positive at 0);
``t0``, ``u`` as in the sheet; ``kappa'`` the unique root of ``k - gamma phi/psi = k (phi/psi)(1 - k t0(k))`` on
``[gamma phi/psi, inf)`` (``t0`` is the Stieltjes transform of the feature covariance, so the equation is convex as
in :mod:`theory._rf_core`); ``df2/m = (phi/psi)(1 - 2 k t0 - k^2 t0')``; approximation error
``Acal = s (1 - u(0))``; and ``E_test = Acal + (s [u(0) - u(k) + k u'(k)] + (noise + Acal) df2/m)/(1 - df2/m)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.special import ndtr

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.activations import ActivationLike, constants, get_activation
from rmt.records import Tabular, broadcast_records
from rmt.solvers import SolverError, Status, solve_monotone
from rmt.theory._rf_numerics import mp_R

__all__ = ["FeatureMixture", "MixtureResult", "mixture_theory"]

_SQRT2PI = math.sqrt(2.0 * math.pi)


def _sdiv(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with ``0 / 0 = 0`` (a dead component, ``mu1 = mu_star = 0``, contributes nothing)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(num == 0, 0.0, num / den)


def _gh(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


def _bias_constants(activation: ActivationLike, b: np.ndarray, nodes: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``(mu1(b), mu_star^2(b))`` of ``z -> f(z + b)``, ``z ~ N(0, 1)``.

    Closed forms for ``relu`` (``mu0 = b Phi(b) + phi(b)``, ``mu1 = Phi(b)``,
    ``E relu(z+b)^2 = (1 + b^2) Phi(b) + b phi(b)``, sheet 4.1) and ``sign`` (``mu0 = 2 Phi(b) - 1``,
    ``mu1 = 2 phi(b)``, ``E sign^2 = 1``); Gauss-Hermite quadrature with ``nodes`` nodes otherwise (accurate for smooth
    activations).
    """
    act = get_activation(activation)
    b = np.asarray(b, dtype=float)
    pdf = np.exp(-0.5 * b * b) / _SQRT2PI
    cdf = ndtr(b)
    if act.is_named and act.name == "relu":
        m0, m1, e2 = b * cdf + pdf, cdf, (1 + b * b) * cdf + b * pdf
    elif act.is_named and act.name == "sign":
        m0, m1, e2 = 2 * cdf - 1, 2 * pdf, np.ones_like(b)
    else:
        z, w = _gh(nodes)
        vals = act(z[None, :] + b[:, None])
        m0, m1, e2 = vals @ w, (vals * z[None, :]) @ w, (vals * vals) @ w
    return m1, np.maximum(e2 - m0 * m0 - m1 * m1, 0.0)


@dataclass(frozen=True, eq=False)
class FeatureMixture:
    """A distribution over feature activations: components with ``mu1``, ``mu_star^2`` and probabilities.

    Build with :meth:`from_activations` (a mixture of named activations or callables) or :meth:`random_bias`
    (``sigma(w.x/sqrt(n0) + b)`` with ``b ~ N(0, bias_std^2)``, discretised by Gauss-Hermite quadrature), or directly
    from arrays.

    Attributes:
        mu1: linear coefficients ``E[z f(z)]`` per component.
        mu_star2: nonlinear powers ``mu_star^2`` per component (``mu1^2 + mu_star^2`` is the variance).
        weights: probabilities (normalised).
        label: a description.
    """

    mu1: np.ndarray
    mu_star2: np.ndarray
    weights: np.ndarray
    label: str = "mixture"

    def __post_init__(self) -> None:
        m1 = np.atleast_1d(np.asarray(self.mu1, dtype=float))
        ms = check_nonnegative(np.atleast_1d(np.asarray(self.mu_star2, dtype=float)), "mu_star2")
        w = check_nonnegative(np.atleast_1d(np.asarray(self.weights, dtype=float)), "weights")
        if not (m1.ndim == ms.ndim == w.ndim == 1 and m1.size == ms.size == w.size and m1.size > 0):
            raise ValueError("mu1, mu_star2 and weights must be 1-d arrays of the same positive length")
        if not np.all(np.isfinite(m1)) or w.sum() <= 0:
            raise ValueError("mu1 must be finite and weights must have a positive sum")
        if np.sum(w * ms) <= 0:
            raise ValueError("the mixture must be nonlinear: E mu_star^2 > 0")
        if np.sum(w * m1 * m1) <= 0:
            raise ValueError("the mixture must have a linear part: E mu1^2 > 0")
        for name, arr in (("mu1", m1), ("mu_star2", ms), ("weights", w / w.sum())):
            arr = np.array(arr)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def from_activations(cls, activations: Sequence[ActivationLike], weights: Sequence[float] | None = None
                         ) -> "FeatureMixture":
        """A fraction ``weights[k]`` of the features uses ``activations[k]`` (constants from :func:`rmt.constants`)."""
        acts = [get_activation(a) for a in activations]
        if not acts:
            raise ValueError("activations must not be empty")
        cs = [constants(a) for a in acts]
        w = np.ones(len(acts)) if weights is None else np.asarray(weights, dtype=float)
        return cls(mu1=np.array([float(c.mu1) for c in cs]), mu_star2=np.array([float(c.mu_star2) for c in cs]),
                   weights=w, label="+".join(a.name for a in acts))

    @classmethod
    def random_bias(cls, activation: ActivationLike, bias_std: float = 1.0, *, nodes: int = 64) -> "FeatureMixture":
        """Features ``sigma(w.x/sqrt(n0) + b)`` with i.i.d. ``b ~ N(0, bias_std^2)`` (``nodes`` Gauss-Hermite nodes
        over ``b``; ``bias_std = 0`` is the plain activation)."""
        std = float(check_nonnegative(bias_std, "bias_std"))
        nodes = check_positive_int(nodes, "nodes")
        x, w = _gh(nodes) if std > 0 else (np.zeros(1), np.ones(1))
        m1, ms = _bias_constants(activation, std * x)
        return cls(mu1=m1, mu_star2=ms, weights=w, label=f"{get_activation(activation).name}+N(0,{std:g}^2) bias")

    def averaged(self, which: str = "mean") -> tuple[float, float]:
        """The (wrong) averaged constants ``(eta, zeta)``: ``eta = E(mu1^2 + mu_star^2)`` and ``zeta = (E mu1)^2``
        (``which="mean"``) or ``E mu1^2`` (``which="square"``). For demonstrating the caveat only."""
        eta = float(self.weights @ (self.mu1 ** 2 + self.mu_star2))
        if which == "mean":
            zeta = float(self.weights @ self.mu1) ** 2
        elif which == "square":
            zeta = float(self.weights @ self.mu1 ** 2)
        else:
            raise ValueError(f"which must be 'mean' or 'square', got {which!r}")
        return eta, zeta


@dataclass(frozen=True, eq=False)
class MixtureResult(Tabular):
    """Asymptotics of ridge regression on heterogeneous random features (:func:`mixture_theory`).

    Attributes:
        tau1, tau2: as in :class:`theory.random_features.RFResult` (training side).
        rho: ridge of the linear model equivalent to the infinite ensemble, ``(gamma + Bbar)/A``.
        kappa_prime: bagging effective ridge (test side).
        approximation_error: ``s (1 - u(0))``, the error of the best predictor in the feature span.
        test_error, train_error: excess test error and training error.
        status: per-point :class:`rmt.solvers.Status` codes.
        residual: worst residual of the defining equations.
    """

    tau1: Any
    tau2: Any
    rho: Any
    kappa_prime: Any
    approximation_error: Any
    test_error: Any
    train_error: Any
    status: Any
    residual: Any
    coordinates: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def nested_records(self) -> list[dict[str, Any]]:
        """One row per point: the coordinates (``model = "rf"``, ``activation`` = the mixture's label, ``phi``, ``psi``,
        ``ridge``, ``noise``, ``signal``) and the numbers (:mod:`rmt.records`)."""
        keys = ("test_error", "train_error", "tau1", "tau2", "rho", "kappa_prime", "approximation_error",
                "residual")
        return broadcast_records({k: np.asarray(v) if k not in ("model", "activation") else v
                                  for k, v in self.coordinates.items()},
                                 {k: np.asarray(getattr(self, k), dtype=float) for k in keys})


def _training_side(phi, psi, gamma, m1s, mss, w, ngrid: int = 300):
    """``(tau1, tau2, rho, status, residual)`` from (I)/(II) (flat arrays; components on the last axis; ``m1s`` are
    the ``mu1`` values, squared here)."""
    m1s = m1s * m1s
    n = phi.size
    c = (psi / phi)
    r = 1.0 / phi

    def A_of_u(u, cc, rr):
        # (I): 1 = E mu1^2/(A + cc q); q per component, Newton from A = 0 (convex decreasing in A)
        G = mp_R(1.0, u, rr)  # G_{1/phi}(u)
        q = m1s * (1.0 - u * G)[..., None] + mss * G[..., None]
        A = np.zeros(u.shape)
        for _ in range(200):
            den = A[..., None] + cc[..., None] * q
            g = _sdiv(w * m1s, den).sum(-1) - 1.0
            dg = -_sdiv(w * m1s, den * den).sum(-1)
            step = g / dg
            A = np.where(g > 0, A - step, A)
            if np.all((g <= 0) | (np.abs(step) <= 4e-16 * np.abs(A))):
                break
        den = A[..., None] + cc[..., None] * q
        Bbar = _sdiv(w * mss * A[..., None], den).sum(-1)
        return A, Bbar, G

    # scan u on a log grid (per point) for the sign changes of Phi
    grid = np.geomspace(1e-9, 1e9, ngrid)[None, :] * (1.0 + gamma[:, None])
    cc = np.repeat(c[:, None], ngrid, axis=1)
    rr = np.repeat(r[:, None], ngrid, axis=1)
    A, Bbar, _ = A_of_u(grid, cc, rr)
    Phi = grid * A - gamma[:, None] - Bbar
    sgn = np.sign(Phi)
    changes = (sgn[:, 1:] * sgn[:, :-1] < 0).sum(axis=1)
    status = np.where(changes == 1, Status.SUCCESS, np.where(changes == 0, Status.NO_BRACKET,
                                                             Status.AMBIGUOUS_BRANCH)).astype(np.int8)
    j = np.argmax(sgn[:, 1:] * sgn[:, :-1] < 0, axis=1)
    lo, hi = grid[np.arange(n), j], grid[np.arange(n), j + 1]

    def Phi_u(u):
        A, B, _ = A_of_u(u, c, r)
        return u * A - gamma - B

    sol = solve_monotone(Phi_u, lo, hi, log=True, throw=False, expand=False, what="mixture rho")
    u = np.where(np.isfinite(sol.value), sol.value, lo)
    status = np.where(status == 0, sol.status, status).astype(np.int8)
    A, Bbar, G = A_of_u(u, c, r)
    alpha = c * (1.0 - u * G) / A
    beta = c * G / A
    # residual of the sheet's original equations at (alpha, beta)
    den = 1.0 + m1s * alpha[:, None] + mss * beta[:, None]
    A2 = (w * m1s / den).sum(-1)
    B2 = (w * mss / den).sum(-1)
    u2 = (gamma + B2) / A2
    G2 = mp_R(1.0, u2, r)
    res = np.maximum(np.abs(c * G2 / A2 - beta) / beta, np.abs(c * (1 - u2 * G2) / A2 - alpha) / alpha)
    return (phi / psi) * beta, (phi / psi) * alpha, u, status, res


def _test_side(phi, psi, gamma, m1s, mss, w):
    n = phi.size

    def delta_of(z):
        f = lambda d: _sdiv(w * m1s * m1s, mss + z[:, None] + m1s * m1s / (1.0 + d[:, None])).sum(-1) / psi - d  # noqa
        # f is concave with f(0) > 0: one sign change on [0, inf); widen [0, 1] to the right until f(hi) <= 0
        hi = np.ones(n)
        for _ in range(100):
            up = f(hi) > 0
            if not np.any(up):
                break
            hi = np.where(up, 4.0 * hi, hi)
        sol = solve_monotone(f, np.zeros(n), hi, log=False, throw=False, expand=False, what="delta")
        return np.where(np.isfinite(sol.value), sol.value, 0.0), sol.status

    def parts(z):
        d, st = delta_of(z)
        m2 = m1s * m1s
        wd = m2 / (1.0 + d[:, None])
        D = mss + z[:, None] + wd
        with np.errstate(divide="ignore"):
            t0 = (w / D).sum(-1)
        u = _sdiv(w * wd, D).sum(-1) / psi
        # derivatives by implicit differentiation of the delta equation
        dd = -_sdiv(w * m2, D ** 2).sum(-1) / psi / (1.0 - _sdiv(w * m2 * m2, D ** 2).sum(-1) / psi / (1.0 + d) ** 2)
        dwd = -m2 * (dd / (1.0 + d) ** 2)[:, None]
        dD = 1.0 + dwd
        with np.errstate(divide="ignore"):
            t0p = -(w * dD / D ** 2).sum(-1)
        up = _sdiv(w * (dwd * D - wd * dD), D ** 2).sum(-1) / psi
        return t0, u, t0p, up, st

    cr = phi / psi
    g0 = gamma * cr
    eta_mean = float(np.sum(w * (m1s * m1s + mss)))

    def f_kp(k):
        t0 = parts(k)[0]
        return k - g0 - k * cr * (1.0 - k * t0)

    sol = solve_monotone(f_kp, g0, g0 + cr * eta_mean, log=True, throw=False, expand=True, what="kappa'")
    kp = np.where(np.isfinite(sol.value), sol.value, g0)
    t0, u_k, t0p, up, st = parts(kp)
    _, u_0, _, _, st0 = parts(np.zeros(n))
    df2 = cr * (1.0 - 2.0 * kp * t0 - kp * kp * t0p)
    status = np.where(sol.status != 0, sol.status, np.where(st != 0, st, st0)).astype(np.int8)
    return kp, u_0, u_k, up, df2, status, sol.residual / np.maximum(kp, 1e-300)


def mixture_theory(phi: Any, psi: Any, ridge: Any, features: FeatureMixture, *, noise: Any = 0.0,
                   signal: Any = 1.0, throw: bool = True) -> MixtureResult:
    r"""Test and training error of ridge regression on heterogeneous random features (ALP; sheet section 4.2),
    vectorized over ``phi``, ``psi``, ``ridge``, ``noise``, ``signal``.

    Args:
        phi: ``n0/m``.
        psi: ``n0/n1``.
        ridge: ``gamma > 0`` (AP scaling; the ridgeless limit is not implemented for mixtures).
        features: the :class:`FeatureMixture`.
        noise: label-noise variance; signal: ``s_beta^2``.
        throw: raise :class:`rmt.SolverError` if a point fails.

    Returns:
        :class:`MixtureResult`. For a single component it equals :func:`theory.random_features.rf_theory`.

    Example:
        >>> mix = FeatureMixture.random_bias("relu", 1.0)
        >>> round(float(mixture_theory(0.5, 0.5, 0.1, mix, noise=0.25).test_error), 3)
        0.484
    """
    if not isinstance(features, FeatureMixture):
        raise ValueError(f"features must be a FeatureMixture, got {type(features).__name__}")
    phi = check_positive(phi, "phi")
    psi = check_positive(psi, "psi")
    gamma = check_positive(ridge, "ridge")
    noise = check_nonnegative(noise, "noise")
    signal = check_nonnegative(signal, "signal")
    shape = np.broadcast_shapes(phi.shape, psi.shape, gamma.shape, noise.shape, signal.shape)
    ph, ps, g, nz, sg = (np.broadcast_to(v, shape).ravel().astype(float) for v in (phi, psi, gamma, noise, signal))
    m1s, mss, w = features.mu1[None, :], features.mu_star2[None, :], features.weights[None, :]
    tau1, tau2, rho, st1, res1 = _training_side(ph, ps, g, m1s, mss, w)
    h = 1e-4
    tp1, tp2, _, stp, _ = _training_side(ph, ps, g * (1 + h), m1s, mss, w)
    tm1, tm2, _, stm, _ = _training_side(ph, ps, g * (1 - h), m1s, mss, w)
    dt1 = (tp1 - tm1) / (2 * h * g)
    dt2 = (tp2 - tm2) / (2 * h * g)
    train = -g * g * (sg * dt2 + nz * dt1)
    kp, u0, uk, up, df2, st2, res2 = _test_side(ph, ps, g, m1s, mss, w)
    approx = sg * (1.0 - u0)
    test = approx + (sg * (u0 - uk + kp * up) + (nz + approx) * df2) / (1.0 - df2)
    status = st1
    for st in (stp, stm, st2):
        status = np.where(status == 0, st, status)
    residual = np.maximum(res1, res2)
    status = np.where((status == 0) & ~(residual <= 1e-8), Status.MAX_ITERATIONS, status).astype(np.int8)
    ro = lambda v: v.reshape(shape)[()] if shape == () else v.reshape(shape)  # noqa: E731
    out = MixtureResult(tau1=ro(tau1), tau2=ro(tau2), rho=ro(rho), kappa_prime=ro(kp), approximation_error=ro(approx),
                        test_error=ro(test), train_error=ro(train), status=ro(status), residual=ro(residual),
                        coordinates={"model": "rf", "activation": features.label, "phi": ro(ph), "psi": ro(ps),
                                     "ridge": ro(g), "noise": ro(nz), "signal": ro(sg)})
    if throw and np.any(status != 0):
        bad = np.flatnonzero(status != 0)
        raise SolverError(f"mixture_theory: {Status(int(status[bad[0]])).name.lower()} at {bad.size} points "
                          f"(worst residual {float(np.max(residual)):.3g})", residual=float(np.max(residual)),
                          status=Status(int(status[bad[0]])))
    return out
