r"""Neural-tangent-kernel regression in high dimensions: test error, bias and variance at every scale.

Adlam & Pennington 2020, "The Neural Tangent Kernel in High Dimensions: Triple Descent and a Multi-Scale Theory of
Generalization" (arXiv:2008.06786, ICML 2020), in the conventions of docs/conventions.md;
the equations are written out in docs/models.md §4.

Model (the contract). A two-layer network ``f(x) = n1^-1/2 sum_i a_i sigma(w_i.x / sqrt(n0))`` with ``a_i`` and
``W_ij`` i.i.d. ``N(0, 1)`` (NTK parameterisation) and a centred activation ``sigma``. Its empirical NTK at
initialisation with first-to-second-layer learning-rate ratio ``r`` (``lr_ratio``; 1 by default, 0 is random
features) is

    ``Theta(x, x') = F(x).F(x') / n1 + r (x.x' / n0) sum_i a_i^2 sigma'(w_i.x/sqrt n0) sigma'(w_i.x'/sqrt n0) / n1``.

The predictor is kernel ridge regression ``yhat(x) = Theta(x, X) (Theta(X, X) + ridge I)^-1 Y`` *without* the
initial function ``f0`` (``include_f0=True`` adds it, quadratic scaling only: ``yhat = f0 + Theta_x (Theta + ridge)^-1
(Y - f0(X))``, what gradient flow from this initialisation converges to). Inputs ``x ~ N(0, I_n0)``; target
``y = beta.x / sqrt(n0) + eps`` with ``|beta|^2 = n0 * signal`` and ``eps ~ N(0, noise)`` on the training labels;
``test_error = E_x (yhat(x) - beta.x/sqrt(n0))^2`` excludes the test label's noise; ``phi = n0/m``, ``psi = n0/n1``.
Activation constants at unit pre-activation variance: ``zeta = (E sigma')^2``, ``mu_star^2 = eta - zeta``,
``eta' = E sigma'^2`` (:func:`rmt.activations.constants`); ``mu0`` enters no formula.

Three scales of the width, three functions:

* :func:`quadratic_scaling` -- ``n0, n1, m`` proportional (``p = n1 n0 ~ m^2``): the equivalent kernel
  ``F^T F / n1 + c1 X^T X / n0 + c2 I`` with ``c1 = r zeta`` and the implicit ridge ``c2 = r (eta' - zeta)``
  (docs/models.md §4.2), the one-unknown self-consistent equation for ``kappa`` and the error (docs/models.md §4.3), the
  exact ridgeless case (§4.6), the full fine-grained variance over ``P = (W, a)``, ``X`` and ``eps`` (derived here, see
  below). With ``lr_ratio = 0`` it is exactly Adlam & Pennington's random-feature model (docs/models.md §4.4).
* :func:`infinite_width` -- ``n1 -> infinity`` first (docs/models.md §4.5): linear ridge with kernel
  ``(1 + r) zeta X^T X / n0 + (mu_star^2 + r (eta' - zeta)) I``.
* :func:`linear_scaling` -- ``n1`` fixed while ``n0, m -> infinity`` (``p = n1 n0 ~ m``), where the classical
  interpolation peak at ``p = m`` lives (derived here; see :mod:`theory._ntk_linear`): the exact ``n1 x n1`` fixed
  point for ``n1 <= 10`` and, at any width, a wide formulation whose cost is linear in ``n1`` (the gate replaced by
  its second moments; ``O(1/n1)`` from the exact one), with its ridgeless branch.

Fine-grained variance in the quadratic scaling [derived here; checked against the ANOVA estimator of
``montecarlo``]. ``V_eps = V_Peps = 0`` asymptotically (docs/models.md §3.9). With ``s`` = signal,
``sigma^2`` = noise and ``r, r', kappa, d2`` of docs/models.md §4.3:

* ``bias = s r^2`` (docs/models.md §4.3; the mean predictor is ``(1 - r) beta.x / sqrt(n0)``);
* ``V_P = s [(1 - r - kappa r') - (1 - r)^2]``: the data-averaged predictor conditional on ``W`` is
  ``z(x)^T (C + kappa)^-1 b`` (docs/models.md §1.4), whose second moment is ``s (1/n0) tr L^T G C G L = s (1 - r - kappa
  r')`` by the Woodbury form of ``T = (1/m) tr (C + kappa)^-1`` (``L^T G L = I - (aI + bS)^-1``);
* ``V_X = s [(1 - 2 t G + t^2 K) - (1 - r)^2]`` and ``V_Xeps = sigma^2 phi (G - t K)`` with ``G = G_phi(t)``,
  ``K = K_phi(t)``: averaging over ``P`` with the data fixed gives linear ridge on the raw inputs with ridge
  ``rho = t / phi`` (the NTK analogue of docs/models.md §3.9 (i)); ``t`` is fixed by the mean,
  ``t G_phi(t) = r`` (a test checks this against the direct deterministic equivalent of the ensemble);
* ``V_PX = s Bbar / (1 - d2) - bias - V_P - V_X`` and ``V_PXeps = noise_variance - V_Xeps``, where
  ``noise_variance = sigma^2 d2 / (1 - d2)`` is the whole contribution of the label noise.

``train_error = (ridge tau1)^2 (test_error + sigma^2)`` with ``ridge tau1 = (1 - d1) ridge / (ridge + c2)`` (the
train-test relation of ridge on Gaussian equivalent features, since ``Y - yhat(X) = ridge (Theta + ridge)^-1 Y``).

.. warning::
   The empirical NTK converges to these limits more slowly than random features, like ``1/n0``: at ``n0 = 400`` the
   simulation lies within about 2% for ``n1 > n0`` and up to about 8% for ``n1 <= n0`` (docs/models.md §4.2); at
   ``phi = psi = 1/4`` (tanh) we measured +32%, +18%, +11%, +3%, +4% (standard errors 1.5-7%) at
   ``n0 = 50, 100, 150, 200, 300``, and at ``phi = 0.5, psi = 1`` (erf) +15.5%, +3.4%, +5.6%, +1.0% (standard
   errors about 2%) at ``n0 = 100, 200, 400, 800``. The fine-grained terms converge more slowly still (relu, same
   point: ``V_PXeps`` +22%, +8%, +2.4% at ``n0 = 200, 800, 1600``). Compare simulations with the finite-size allowances documented in
   ``tests/theory/test_ntk_simulation.py``.

Example:
    >>> from rmt import Problem
    >>> res = quadratic_scaling(Problem.from_ratios(0.5, 0.5, ridge=1e-3, activation="relu", noise=0.1))
    >>> round(res.test_error, 6), round(res.bias, 6)
    (0.222208, 0.12402)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from rmt.problem import Problem
from rmt.solvers import Solution, SolverError, Status
from rmt.numerics import ArrayLike, frozen_value, zero_safe_product
from rmt.theory._ntk_common import FINE_GRAINED_KEYS, NTKConstants, NTKTabular, check_problem, ntk_constants
from rmt.theory._ntk_linear import LinearScalingResult, linear_scaling
from rmt.theory._ntk_quadratic import ensemble_ridge_t, kappa_state, mp_moments, solve_kappa
from rmt.theory._rf_numerics import mp_second, mp_T

__all__ = [
    "FINE_GRAINED_KEYS",
    "InfiniteWidthResult",
    "NTKConstants",
    "NTKResult",
    "infinite_width",
    "linear_scaling",
    "LinearScalingResult",
    "ntk_constants",
    "quadratic_scaling",
]

# ------------------------------------------------------------------------------------------------------------------
# quadratic scaling
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NTKResult(NTKTabular):
    """Asymptotic test error of NTK regression in the quadratic scaling (floats, or arrays over a grid).

    Attributes:
        test_error: ``E_x (yhat(x) - beta.x/sqrt n0)^2`` (no test noise).
        train_error: ``(1/m) |Y - yhat(X)|^2`` with the noisy training labels.
        bias: ``E_x (E yhat(x) - beta.x/sqrt n0)^2`` (expectation over ``P = (W, a)``, ``X``, ``eps``).
        variance: ``test_error - bias``.
        noise_variance: the part of the variance due to label noise, ``noise d2 / (1 - d2)``.
        fine_grained: the seven symmetric variance terms (``FINE_GRAINED_KEYS``); ``None`` with ``f0``.
        kappa: the feature-space effective ridge (docs/models.md §4.3).
        d1: ``(1/m) tr C (C + kappa)^-1``.
        d2: ``(1/m) tr C^2 (C + kappa)^-2`` (< 1 on the physical branch).
        tau1: ``(1/m) tr (Theta(X, X) + ridge)^-1 = phi / (psi kappa)``.
        alpha: ``E[yhat(x) | beta] = alpha beta.x / sqrt(n0)``, ``alpha = 1 - r``.
        ensemble_ridge: ``rho``: the ``P``-averaged predictor is linear ridge ``(X^T X/n0 + rho)^-1``.
        f0_excess: error added by the initial function (0 unless ``include_f0``).
        constants: the :class:`NTKConstants` used.
        include_f0: whether the predictor includes the initial function.
        solution: the bisection's :class:`~rmt.solvers.Solution` (residuals, iterations), or ``None``.
    """

    test_error: Any
    train_error: Any
    bias: Any
    variance: Any
    noise_variance: Any
    fine_grained: Mapping[str, Any] | None
    kappa: Any
    d1: Any
    d2: Any
    tau1: Any
    alpha: Any
    ensemble_ridge: Any
    f0_excess: Any
    constants: NTKConstants
    include_f0: bool = False
    solution: Solution | None = field(default=None, repr=False, compare=False)
    problem: Problem | None = field(default=None, repr=False, compare=False)
    lr_ratio: Any = field(default=1.0, repr=False, compare=False)
    scaling = "quadratic"

    def as_dict(self) -> dict[str, Any]:
        """The numbers (JSON-friendly after :func:`rmt.records.jsonable`)."""
        out = {k: getattr(self, k) for k in ("test_error", "train_error", "bias", "variance", "noise_variance")}
        out["fine_grained"] = None if self.fine_grained is None else dict(self.fine_grained)
        for k in ("kappa", "d1", "d2", "tau1", "alpha", "ensemble_ridge", "f0_excess"):
            out[k] = getattr(self, k)
        out["c1"], out["c2"] = self.constants.c1, self.constants.c2
        out["include_f0"] = self.include_f0
        return out


def quadratic_scaling(problem: Problem, *, lr_ratio: ArrayLike = 1.0, include_f0: bool = False) -> NTKResult:
    r"""NTK regression with ``n0, n1, m -> infinity`` proportionally (docs/models.md §4.2, §4.3, §4.6; AP 2020 §4).

    Vectorized over every array field of ``problem`` and over ``lr_ratio`` (they broadcast together). Only the
    ratios ``phi = n0/m`` and ``psi = n0/n1`` are used.

    Args:
        problem: sizes (or ratios via :meth:`rmt.Problem.from_ratios`), ``ridge >= 0``, activation, ``noise``,
            ``signal``. ``covariance`` must be ``None`` and ``nonlinear_signal`` 0.
        lr_ratio: first-to-second-layer learning-rate ratio ``r >= 0`` (0 gives random features).
        include_f0: add the initial function to the predictor. Then ``f0(x) = z(x)^T v0`` is linear in the augmented
            features with an independent coefficient ``v0 = (a / sqrt n1, 0)``, so it adds the engine error of the
            target ``-f0``, ``kappa^2 (g_f + kappa g_f') / (1 - d2)`` with ``g_f = (1 - psi (1 - a r)) / nu`` the
            normalised trace of the ``F``-block of ``(C + kappa)^-1`` [derived here, checked by simulation]. It adds
            to the variance only; ``fine_grained`` is then ``None``.

    Returns:
        :class:`NTKResult`.

    Raises:
        ValueError: bad input (see :func:`ntk_constants`); ``ridge = 0`` where the kernel has no implicit ridge and
            ``mu_star = 0`` (linear activation), which has no ridgeless limit here.
        SolverError: the bisection for ``kappa`` did not converge, or a point has no finite value (with the
            residual of the ``kappa`` equation); never a silent NaN.

    Branches: ``kappa`` is the unique positive root of the monotone equation of docs/models.md §4.3 (bisection in
    ``log kappa``); ``r`` the positive root of its quadratic. Without any ridge (``ridge + c2 = 0``: random features)
    ``kappa = 0`` for ``n1 < m`` and the interpolating root for ``n1 > m``; at ``n1 = m`` the limit diverges and the
    result is ``inf`` (``test_error``, ``variance``, ``V_PX``), never NaN.
    """
    check_problem(problem, "quadratic_scaling")
    if not isinstance(include_f0, (bool, np.bool_)):
        raise ValueError(f"include_f0 must be True or False, got {include_f0!r}")
    c = ntk_constants(problem.activation, lr_ratio)
    phi = np.asarray(problem.phi, dtype=float)
    psi = np.asarray(problem.psi, dtype=float)
    ridge = np.asarray(problem.ridge, dtype=float)
    noise = np.asarray(problem.noise, dtype=float)
    signal = np.asarray(problem.signal, dtype=float)
    c1 = np.asarray(c.c1, dtype=float)
    c2 = np.asarray(c.c2, dtype=float)
    shape = np.broadcast_shapes(phi.shape, psi.shape, ridge.shape, noise.shape, signal.shape, c1.shape)
    phi, psi, ridge, noise, signal, c1, c2 = (np.broadcast_to(v, shape) for v in
                                              (phi, psi, ridge, noise, signal, c1, c2))
    zeta = np.full(shape, c.zeta)
    ms2 = np.full(shape, c.mu_star2)
    if np.any((ridge + c2 == 0) & (ms2 == 0)):
        raise ValueError("ridge must be > 0 for an activation with mu_star = 0 (linear) and no implicit ridge: the "
                         "ridgeless limit is degenerate (docs/models.md §4.6)")
    lam = (ridge + c2) * phi / psi
    kappa, sol = solve_kappa(phi, psi, zeta, ms2, c1, lam)
    st = kappa_state(kappa, phi, psi, zeta, ms2, c1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        one_minus_d2 = st.one_minus_d2  # not 1 - d2: that cancels at an interpolation threshold
        at_pole = one_minus_d2 <= 0
        inv = np.where(at_pole, np.inf, 1.0 / np.where(at_pole, 1.0, one_minus_d2))
        bbar = st.r - kappa * st.dr  # docs/models.md §4.3: Bbar = r - kappa r' (per unit signal)
        bias = signal * st.r ** 2
        clean = zero_safe_product(signal * bbar, inv)
        noise_var = zero_safe_product(noise, st.d2 * inv)
        f0 = np.zeros(shape)
        if include_f0:
            # g_f(kappa) = (1/n1) tr_F (C + kappa)^-1 = (1 - psi w) / nu; d/dkappa through nu and w
            gf = (1.0 - psi * st.w) / st.nu
            da = np.where(c1 == 0, 0.0, -(c1 / psi) / (kappa * kappa))
            dw = -(da * st.r + st.a * st.dr)
            dgf = -psi * dw / st.nu - gf / st.nu
            f0 = zero_safe_product(kappa ** 2 * (gf + kappa * dgf), inv)
        test = clean + noise_var + f0
    if np.any(np.isnan(test)):  # never a silent NaN: name the point and the residual of the kappa equation
        bad = np.flatnonzero(np.isnan(test))
        res = np.abs(kappa * st.one_minus_d1 - lam).ravel()[bad]
        worst = float(np.nanmax(res)) if np.any(np.isfinite(res)) else float("nan")
        raise SolverError(f"NTK quadratic scaling: no finite value at {bad.size} point(s) (first at flat index "
                          f"{bad[0]}, kappa {np.ravel(kappa)[bad[0]]:.3g}); worst residual of the kappa equation "
                          f"{worst:.3g}", residual=worst, status=Status.NONFINITE)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        variance = test - bias
        ratio = np.where(ridge + c2 == 0, 1.0, ridge / np.where(ridge + c2 == 0, 1.0, ridge + c2))
        # ridge tau1 = (1 - d1) ridge / (ridge + c2) = ridge phi / (psi kappa) at the root kappa (1 - d1) = lam: the
        # second form (accurate to the root's tolerance) where 1 - d1 < 0.01, whose evaluation cancels as it -> 0
        # (over-parameterised, ridge -> 0: the training error ~ ridge^2 came out ~1e-29 at ridge 1e-100)
        by_root = (kappa > 0) & (st.one_minus_d1 < 0.01)
        gamma_tau1 = np.where(by_root, ridge * phi / (psi * np.where(kappa > 0, kappa, 1.0)), st.one_minus_d1 * ratio)
        train = zero_safe_product(gamma_tau1 ** 2, test + noise)
        tau1 = np.where(kappa > 0, phi / (psi * np.where(kappa > 0, kappa, 1.0)), np.inf)
    # near a threshold d2 = 1 - O(sqrt(ridge)) rounds to 1.0: report the largest float below 1 where 1 - d2 > 0
    d2_out = np.where((st.d2 >= 1.0) & (st.one_minus_d2 > 0), np.nextafter(1.0, 0.0), st.d2)
    alpha = 1.0 - st.r
    t = ensemble_ridge_t(st.r, phi)
    fine: Mapping[str, Any] | None = None
    if not include_f0:
        fin = np.isfinite(t)
        tt = np.where(fin, t, 1.0)
        G, K = mp_moments(tt, phi)
        sq = np.where(fin, mp_second(tt, phi), 0.0)  # (1/n0) tr S^2 (S + rho)^-2 = 1 - 2tG + t^2 K (0 at rho = inf)
        v_x = signal * (sq - alpha ** 2)
        v_xe = noise * np.where(fin, phi * mp_T(1.0, tt, phi), 0.0)  # phi (G - t K) without cancellation
        v_p = signal * ((1.0 - st.r - kappa * st.dr) - alpha ** 2)
        with np.errstate(invalid="ignore"):
            v_px = np.where(np.isinf(clean), np.inf, clean - bias - v_p - v_x)
            v_pxe = np.where(np.isinf(noise_var), np.inf, noise_var - v_xe)
        zero = np.zeros(shape)
        fine = MappingProxyType({"P": frozen_value(v_p), "X": frozen_value(v_x), "eps": frozen_value(zero),
                                 "PX": frozen_value(v_px), "Peps": frozen_value(zero), "Xeps": frozen_value(v_xe),
                                 "PXeps": frozen_value(v_pxe)})
    return NTKResult(test_error=frozen_value(test), train_error=frozen_value(train), bias=frozen_value(bias),
                     variance=frozen_value(variance), noise_variance=frozen_value(noise_var), fine_grained=fine,
                     kappa=frozen_value(kappa), d1=frozen_value(st.d1), d2=frozen_value(d2_out),
                     tau1=frozen_value(tau1), alpha=frozen_value(alpha), ensemble_ridge=frozen_value(t / phi),
                     f0_excess=frozen_value(f0), constants=c, include_f0=include_f0, solution=sol, problem=problem,
                     lr_ratio=lr_ratio)


# ------------------------------------------------------------------------------------------------------------------
# infinite width
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class InfiniteWidthResult(NTKTabular):
    """The infinite-width NTK (``n1 -> infinity`` at fixed ``phi``; docs/models.md §4.5).

    Attributes:
        test_error, train_error, bias, variance, noise_variance: as in :class:`NTKResult`.
        fine_grained: the seven terms; only ``X`` and ``Xeps`` are non-zero (the kernel is deterministic).
        kappa: ``kappa'`` of docs/models.md §4.5 (the effective ridge of linear regression in feature space).
        effective_ridge: ``lambda_e = (mu_star^2 + r (eta' - zeta) + ridge) / ((1 + r) zeta)``.
        alpha: ``1 / (1 + kappa')``, the mean shrinkage.
        tau1: ``(1/m) tr (Theta_inf(X, X) + ridge)^-1``.
        constants: the :class:`NTKConstants` used.
    """

    test_error: Any
    train_error: Any
    bias: Any
    variance: Any
    noise_variance: Any
    fine_grained: Mapping[str, Any]
    kappa: Any
    effective_ridge: Any
    alpha: Any
    tau1: Any
    constants: NTKConstants
    problem: Problem | None = field(default=None, repr=False, compare=False)
    lr_ratio: Any = field(default=1.0, repr=False, compare=False)
    scaling = "infinite-width"
    unused = ("n1", "psi")

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("test_error", "train_error", "bias", "variance", "noise_variance")}
        out["fine_grained"] = dict(self.fine_grained)
        for k in ("kappa", "effective_ridge", "alpha", "tau1"):
            out[k] = getattr(self, k)
        return out


def infinite_width(problem: Problem, *, lr_ratio: ArrayLike = 1.0) -> InfiniteWidthResult:
    r"""The infinite-width NTK (docs/models.md §4.5; AP 2020's "deterministic NTK").

    ``Theta -> (1 + r) zeta X^T X / n0 + (mu_star^2 + r (eta' - zeta)) I``: linear ridge with effective ridge
    ``lambda_e = (mu_star^2 + r (eta' - zeta) + ridge) / ((1 + r) zeta)``. With
    ``kappa' = [-(1 - phi - phi lambda_e) + sqrt((1 - phi - phi lambda_e)^2 + 4 phi lambda_e)] / 2``:
    ``test_error = (s kappa'^2 + phi sigma^2) / ((1 + kappa')^2 - phi)``, ``bias = s (kappa' / (1 + kappa'))^2``.
    Only ``phi = n0/m`` is used (``problem.n1`` is ignored). ``zeta = 0`` (e.g. ``quadratic``) gives the zero
    predictor, ``test_error = bias = signal``.

    Raises:
        ValueError: bad input; ``lambda_e = 0`` (linear activation, ``lr_ratio`` arbitrary, ``ridge = 0``).
    """
    check_problem(problem, "infinite_width")
    c = ntk_constants(problem.activation, lr_ratio)
    phi = np.asarray(problem.phi, dtype=float)
    ridge = np.asarray(problem.ridge, dtype=float)
    noise = np.asarray(problem.noise, dtype=float)
    s = np.asarray(problem.signal, dtype=float)
    slope = np.asarray(c.infinite_width_slope, dtype=float)
    diag = np.asarray(c.infinite_width_diagonal, dtype=float)
    shape = np.broadcast_shapes(phi.shape, ridge.shape, noise.shape, s.shape, slope.shape)
    phi, ridge, noise, s, slope, diag = (np.broadcast_to(v, shape) for v in (phi, ridge, noise, s, slope, diag))
    if np.any((diag + ridge == 0) & (slope > 0)):
        raise ValueError("ridge must be > 0 for a linear activation: the infinite-width NTK is then plain linear "
                         "regression, whose ridgeless limit is not covered")
    live = slope > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lam_e = np.where(live, (diag + ridge) / np.where(live, slope, 1.0), np.inf)
        le = np.where(live, lam_e, 1.0)
        q = 1.0 - phi - phi * le
        disc = np.hypot(q, 2.0 * np.sqrt(phi) * np.sqrt(le))  # no overflow for ridges up to 1e308
        kp = np.where(q <= 0, 0.5 * (disc - q), 2.0 * phi * le / (disc + q))  # positive root, no cancellation
        d2 = phi / (1.0 + kp) ** 2
        test_live = (s * (kp / (1.0 + kp)) ** 2 + noise * d2) / (1.0 - d2)  # (s kp^2 + phi noise)/((1 + kp)^2 - phi)
        bias_live = s * (kp / (1.0 + kp)) ** 2
        nv_live = noise * d2 / (1.0 - d2)
        G1, _ = mp_moments(le, 1.0 / phi)  # (1/m) tr (X^T X / n0 + lambda_e)^-1 (m x m, ratio m/n0)
        tau1_live = G1 / np.where(live, slope, 1.0)
        # fine grained: the predictor is linear ridge with rho = lambda_e, t = phi lambda_e
        tt = phi * le
        G, K = mp_moments(tt, phi)
        alpha_live = 1.0 / (1.0 + kp)
        v_x_live = s * (mp_second(tt, phi) - alpha_live ** 2)
        v_xe_live = noise * phi * mp_T(1.0, tt, phi)
    test = np.where(live, test_live, s)
    bias = np.where(live, bias_live, s)
    nv = np.where(live, nv_live, 0.0)
    alpha = np.where(live, alpha_live, 0.0)
    tau1 = np.where(live, tau1_live, 1.0 / (diag + ridge))
    gt = ridge * tau1
    train = zero_safe_product(gt ** 2, test + noise)
    zero = np.zeros(shape)
    fine = MappingProxyType({"P": frozen_value(zero), "X": frozen_value(np.where(live, v_x_live, 0.0)),
                             "eps": frozen_value(zero), "PX": frozen_value(zero), "Peps": frozen_value(zero),
                             "Xeps": frozen_value(np.where(live, v_xe_live, 0.0)), "PXeps": frozen_value(zero)})
    return InfiniteWidthResult(test_error=frozen_value(test), train_error=frozen_value(train),
                               bias=frozen_value(bias), variance=frozen_value(test - bias),
                               noise_variance=frozen_value(nv), fine_grained=fine,
                               kappa=frozen_value(np.where(live, kp, np.inf)), effective_ridge=frozen_value(lam_e),
                               alpha=frozen_value(alpha), tau1=frozen_value(tau1), constants=c, problem=problem,
                               lr_ratio=lr_ratio)

