r"""The nonlinear (single-index Hermite-2) teacher component under covariate shift.

Teacher (the project's simulator, :mod:`montecarlo.random_features`): the clean target is
``y_*(x) = beta.x / sqrt(n0) + sqrt(F_*^2) He2(v.x) / sqrt(2)``, ``He2(t) = t^2 - 1``, with ``F_*^2`` the
``nonlinear_signal`` and ``v`` a random (isotropic Gaussian) direction scaled so that ``v.x ~ N(0, 1)`` on the
*training* law ``x ~ N(0, Sigma)``. On the training law the nonlinear part has mean 0, variance ``F_*^2`` and no
linear component (Mei & Montanari's ``F_star``, arXiv:1908.05355, Theorem 1).

On the test law ``x ~ N(0, Sigma_*)``, ``v.x ~ N(0, r)`` with ``r = v^T Sigma_* v / v^T Sigma v``; for a random
direction ``r`` concentrates on the ratio of traces ``r -> s_*/s = int lambda_* dmu / int lambda dmu`` (fluctuations
``O(n0^{-1/2})``). With ``t ~ N(0, r)``, ``E t^2 = r`` and ``E t^4 = 3 r^2``:

* mean: ``sqrt(F_*^2) E He2(t) / sqrt 2 = sqrt(F_*^2) (r - 1) / sqrt 2``;
* second moment: ``F_*^2 E (t^2 - 1)^2 / 2 = F_*^2 (3 r^2 - 2 r + 1) / 2``;
* linear component ``E[He2(t) t] = E t^3 - E t = 0`` (``He2`` is even): the teacher's nonlinear part stays orthogonal
  to every linear function of ``x`` on the test law too.

At ``r = 1`` (no change of trace, in particular in distribution) the second moment is ``F_*^2`` and the mean 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["he2_test_mean", "he2_test_power"]


def he2_test_power(nonlinear_signal: np.ndarray, trace_ratio: np.ndarray) -> np.ndarray:
    """``E_test [sqrt(F) He2(v.x)/sqrt 2]^2 = F (3 r^2 - 2 r + 1)/2`` with ``v.x ~ N(0, r)`` (module docstring)."""
    f = np.asarray(nonlinear_signal, dtype=float)
    r = np.asarray(trace_ratio, dtype=float)
    return f * (3.0 * r * r - 2.0 * r + 1.0) / 2.0


def he2_test_mean(nonlinear_signal: np.ndarray, trace_ratio: np.ndarray) -> np.ndarray:
    """``E_test sqrt(F) He2(v.x)/sqrt 2 = sqrt(F) (r - 1)/sqrt 2`` with ``v.x ~ N(0, r)`` (module docstring)."""
    f = np.asarray(nonlinear_signal, dtype=float)
    r = np.asarray(trace_ratio, dtype=float)
    return np.sqrt(f) * (r - 1.0) / np.sqrt(2.0)
