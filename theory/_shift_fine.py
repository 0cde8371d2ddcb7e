r"""Fine-grained bias-variance decomposition of random-feature ridge regression under covariate shift.

Model: :mod:`theory.covariate_shift` (Tripuraneni, Adlam & Pennington 2021, arXiv:2111.08234): training inputs
``x ~ N(0, Sigma)``, test inputs ``x ~ N(0, Sigma_*)`` with a joint spectral measure ``mu`` of ``(lambda,
lambda_*)``, features ``sigma(W x / sqrt n0)``, ridge ``gamma``. The decomposition is the symmetric Sobol-Hoeffding
(ANOVA) one over the three independent sources ``P = W``, ``X`` (training inputs) and ``eps`` (label noise) of
Adlam & Pennington 2020 (arXiv:2011.03321, section 3 and eq. (10)): ``E_* = Bias_* + V_P + V_X + V_eps + V_PX + V_Peps +
V_Xeps + V_PXeps``, each term a variance of conditional means of the predictor, measured on the test law.

**Construction** (the shift engine's resolvent quantities, at the root ``rho`` of its self-consistent equation,
``q = rho lambda / (1 + rho lambda)``, ``Q2 = int q^2``, ``Q2* = int (lambda_*/lambda) q^2``,
``t1 = mu1*/mu1`` the ratio of the linear activation coefficients at the test and training pre-activation scales):

* ``V_P = Bbar_* - Bias_*``: the test-law error of the predictor averaged over ``X`` and ``eps`` (``Bbar_*``) is the
  bias plus the variance over ``W`` of that average.
* The remaining variance ``D_* (Bbar + noise) / (1 - d2)`` is that over ``X`` and ``eps`` at fixed ``W``, averaged over
  ``W``; its noise part ``D_* noise / (1 - d2)`` holds all ``eps`` terms and the rest ``D_* Bbar / (1 - d2)`` is
  ``V_X + V_PX``.
* Averaged over ``W`` at fixed data, the predictor is ``t1`` times linear ridge regression on the raw inputs whose
  sample-averaged predictor is ``q(Sigma)`` (the random-feature predictor averaged over its weights is kernel ridge
  regression with the linear kernel and a larger, self-consistent ridge): the ``psi -> 0`` member of the same family
  at the same ``rho``. Its variance over ``X`` and ``eps`` is the level-one engine's with ``d2 = phi Q2``,
  ``D_* = phi t1^2 Q2*`` and ``Bbar = signal (Q1 - Q2) / rho``:
  ``V_X = phi t1^2 Q2* Bbar / (1 - phi Q2)``, ``V_Xeps = phi t1^2 Q2* noise / (1 - phi Q2)``.
* ``V_eps = V_Peps = 0``: averaged over the training inputs, the predictor does not depend on the noise (the inputs
  are centred Gaussians, so the weight of each label averages to zero).
* ``V_PX = D_* Bbar / (1 - d2) - V_X`` and ``V_PXeps = D_* noise / (1 - d2) - V_Xeps``.
* A nonlinear teacher component of training-law power ``F`` (``nonlinear_signal``) is, on the training labels, label
  noise that is a deterministic function of ``X``: the source ``X`` carries it, so it adds ``phi t1^2 Q2* F /
  (1 - phi Q2)`` to ``V_X`` and ``D_* F / (1 - d2)`` minus that to ``V_PX``, and nothing to the ``eps`` terms (its
  test-law second moment belongs to the bias, :func:`theory.covariate_shift.covariate_shift_error`).

Without shift (``Sigma_* = Sigma = I``) these are exactly the fine-grained terms of Adlam & Pennington's random-feature
theory (:func:`theory.random_features.rf_theory`; tested to 1e-10). Under shift each term is checked against the
unbiased crossed-design ANOVA estimates of the simulation (:func:`montecarlo.covariate_shift.simulate_shift`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rmt.quantities import FINE_GRAINED_KEYS

__all__ = ["FINE_GRAINED_KEYS", "shift_terms"]


def shift_terms(*, phi: np.ndarray, ridge: np.ndarray, noise: np.ndarray, signal: np.ndarray, rho: np.ndarray,
                q1: np.ndarray, q2: np.ndarray, q2_star: np.ndarray, t1sq: np.ndarray, bias: np.ndarray,
                bbar: np.ndarray, bbar_star: np.ndarray, d_star: np.ndarray, d2: np.ndarray,
                noise_variance: np.ndarray, psi: np.ndarray, nonlinear_signal: Any = 0.0) -> dict[str, Any]:
    """The seven terms from the shift engine's quantities (arrays of one shape; module docstring).

    At the ridgeless interpolation threshold (``ridge = 0``, ``phi = psi``) the ``P``-containing terms diverge: they are
    returned as ``inf`` (``nan``-free), the ``W``-averaged ones stay finite. ``bias`` is the linear teacher's
    ``Bias_*`` (without the nonlinear teacher's test-law power).
    """
    pole = (ridge == 0) & (phi == psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        den_lin = 1.0 - phi * q2
        dlin = phi * t1sq * q2_star
        b_lin = signal * (q1 - q2) / rho
        v_x = dlin * (b_lin + nonlinear_signal) / den_lin
        v_xe = dlin * noise / den_lin
        v_all_x = np.where(pole, np.inf, d_star * (bbar + nonlinear_signal) / np.where(pole, 1.0, 1.0 - d2))
        v_p = bbar_star - bias
        out = {"P": v_p, "X": v_x, "eps": np.zeros_like(v_x), "PX": v_all_x - v_x, "Peps": np.zeros_like(v_x),
               "Xeps": v_xe, "PXeps": np.where(pole, np.where(noise > 0, np.inf, 0.0), noise_variance - v_xe)}
    return out
