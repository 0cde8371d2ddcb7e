r"""Scaling laws of the eigenframework for power-law spectra, and the four regimes of Bahri et al.

Setting (docs/models.md §6.5, §6.11): ``lambda_i = i^-alpha`` (``alpha > 1``) and target
power ``v_i^2 = i^-beta`` (``beta > 1``), noise-free unless stated. Predictions (derived; checked numerically in the
tests):

* data direction (KRR, or RF with ``p >> n``): excess error ``~ n^-min(beta - 1, 2 alpha)`` (the bias saturates at
  ``kappa^2 ~ n^-2alpha`` when ``beta > 2 alpha + 1``);
* feature direction (RF with ``n -> inf``): ``~ p^-min(beta - 1, alpha)`` (the ``n -> inf`` limit is *linear* in
  ``1 - L``, docs/models.md §6.10), so the data-feature duality holds only for ``beta - 1 <= alpha``;
* ridgeless ``kappa ~ (C_alpha / (n + 1/2))^alpha`` with ``C_alpha = (pi/alpha)/sin(pi/alpha)``, ``E0 -> alpha``;
  noise-free ridgeless ``E ~ A(alpha, beta) (C_alpha/n)^(beta - 1)`` for ``1 < beta < 2 alpha + 1``.

Bahri, Dyer, Kaplan, Lee & Sharma, "Explaining neural scaling laws" (arXiv:2102.06701): variance-limited regimes
(``E(n) - E(inf) ~ 1/n`` at fixed width; ``E(p) - E_KRR(n) ~ 1/p`` at fixed data) and resolution-limited regimes
(``E ~ n^-alpha_D`` with ``p = inf``; ``E ~ p^-alpha_P`` with ``n = inf``), with ``alpha_D = min(beta-1, 2 alpha)``
and ``alpha_P = min(beta-1, alpha)`` here.

Numerics. Curves are evaluated on an effectively infinite spectrum: :meth:`Eigensystem.power_law` with
``modes = 10^4 x`` the largest size, the first ``exact_modes`` kept exactly, the rest in logarithmic bins
(``bins_per_decade``) and the remaining tail added in first order (``tail=True``); a truncation at ``M`` comparable to
``n`` biases local slopes visibly (docs/models.md §6.2, §6.12). Exponents are least-squares slopes of ``log E`` against
``log n`` over the stated window (no fitting to a prediction; the prediction is only reported beside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.eigensystem import check_greater
from rmt.theory.eigen import Eigensystem, krr, rf, rf_data_limit

__all__ = [
    "BahriRegimes",
    "ScalingExponents",
    "ScalingFit",
    "bahri_regimes",
    "c_alpha",
    "data_scaling",
    "fit_exponent",
    "kappa_asymptotic",
    "learning_curve_asymptotic",
    "powerlaw_system",
    "predicted_exponents",
    "width_scaling",
]


def c_alpha(alpha: float) -> float:
    """``C_alpha = int_0^inf dx/(1 + x^alpha) = (pi/alpha)/sin(pi/alpha)`` (docs/models.md §6.5)."""
    a = float(check_greater(alpha, "alpha", 1.0))
    return (math.pi / a) / math.sin(math.pi / a)


def kappa_asymptotic(alpha: float, n: Any) -> np.ndarray:
    """Ridgeless ``kappa ~ (C_alpha / (n + 1/2))^alpha`` (Euler-Maclaurin refined continuum; docs/models.md §6.5)."""
    n = check_positive(n, "n")
    return (c_alpha(alpha) / (n + 0.5)) ** float(alpha)


def learning_curve_asymptotic(alpha: float, beta: float, n: Any) -> np.ndarray:
    """Noise-free ridgeless KRR ``E ~ A (C_alpha/n)^(beta-1)`` with ``A = ((beta-1-alpha)/alpha) pi / sin(pi s)``,
    ``s = (2 alpha + 1 - beta)/alpha`` (``A = 1`` at ``beta = alpha + 1``), for ``1 < beta < 2 alpha + 1``
    (docs/models.md §6.5)."""
    a = float(check_greater(alpha, "alpha", 1.0))
    b = float(check_greater(beta, "beta", 1.0))
    if not b < 2 * a + 1:
        raise ValueError(f"beta must be < 2 alpha + 1 = {2 * a + 1} for this asymptote, got {b}")
    n = check_positive(n, "n")
    s = (2 * a + 1 - b) / a
    A = 1.0 if abs(b - a - 1) < 1e-12 else ((b - 1 - a) / a) * math.pi / math.sin(math.pi * s)
    return A * (c_alpha(a) / n) ** (b - 1)


@dataclass(frozen=True)
class ScalingExponents:
    """Predicted exponents (positive numbers; errors decay as ``size^-exponent``)."""

    data: float  #: ``min(beta - 1, 2 alpha)`` (KRR / RF with p >> n)
    features: float  #: ``min(beta - 1, alpha)`` (RF with n >> p)
    time: float  #: ``(beta - 1)/alpha`` (population gradient flow, docs/models.md §6.12)


def predicted_exponents(alpha: float, beta: float) -> ScalingExponents:
    """The exponents of docs/models.md §6.5, §6.11, §6.12 for ``lambda_i ~ i^-alpha``, ``v_i^2 ~ i^-beta``."""
    a = float(check_greater(alpha, "alpha", 1.0))
    b = float(check_greater(beta, "beta", 1.0))
    return ScalingExponents(data=min(b - 1, 2 * a), features=min(b - 1, a), time=(b - 1) / a)


@dataclass(frozen=True)
class ScalingFit:
    """A learning curve with its fitted power law.

    Attributes:
        label: what was varied (``"n"`` or ``"p"``) and the regime.
        x, y: sizes and errors (``y`` is the excess error, or the excess over the limit in variance-limited regimes).
        window: ``(x_lo, x_hi)`` of the least-squares fit.
        exponent: fitted exponent (``-slope`` of ``log y`` vs ``log x`` over the window).
        exponent_stderr: standard error of the least-squares slope (a measure of curvature, not of noise).
        local_exponent: ``-d log y / d log x`` between the last two points of the window.
        predicted: the predicted exponent.
        intercept: fitted ``log y`` at ``log x = 0``.
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    window: tuple[float, float]
    exponent: float
    exponent_stderr: float
    local_exponent: float
    predicted: float
    intercept: float
    params: dict[str, float] = field(default_factory=dict)

    def fitted(self, x: Any) -> np.ndarray:
        """The fitted power law at ``x``."""
        return np.exp(self.intercept) * np.asarray(x, dtype=float) ** (-self.exponent)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "window": list(self.window), "exponent": self.exponent,
                "exponent_stderr": self.exponent_stderr, "local_exponent": self.local_exponent,
                "predicted": self.predicted, **self.params}


def fit_exponent(x: Any, y: Any, window: tuple[float, float] | None = None) -> tuple[float, float, float, float]:
    """Least-squares fit ``log y = c - e log x`` over ``window`` (default all points).

    Returns:
        ``(e, stderr(e), local e at the window's end, c)``.

    Raises:
        ValueError: fewer than 3 points in the window or non-positive values.
    """
    x = check_positive(x, "x").ravel()
    y = check_positive(y, "y").ravel()
    lo, hi = window if window is not None else (x.min(), x.max())
    sel = (x >= lo * (1 - 1e-12)) & (x <= hi * (1 + 1e-12))
    if sel.sum() < 3:
        raise ValueError(f"the fit window {window} must contain at least 3 points")
    lx, ly = np.log(x[sel]), np.log(y[sel])
    A = np.stack([np.ones_like(lx), lx], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    resid = ly - A @ coef
    dof = max(lx.size - 2, 1)
    se = math.sqrt(float(resid @ resid) / dof / float(((lx - lx.mean()) ** 2).sum()))
    local = -(ly[-1] - ly[-2]) / (lx[-1] - lx[-2])
    return -float(coef[1]), se, float(local), float(coef[0])


def powerlaw_system(alpha: float, beta: float, max_size: float, *, exact_modes: int = 4000,
                    bins_per_decade: int = 100, modes_per_size: float = 1e4) -> Eigensystem:
    """An effectively infinite power-law eigensystem for sizes up to ``max_size``: ``modes = modes_per_size *
    max_size`` modes (first ``exact_modes`` exact, the rest binned) plus the first-order tail."""
    m = int(max(modes_per_size * float(max_size), 10 * exact_modes))
    return Eigensystem.power_law(alpha, beta, m, exact_modes=exact_modes, bins_per_decade=bins_per_decade,
                                 tail=True)


def _make(label, x, y, window, predicted, **params) -> ScalingFit:
    e, se, loc, c = fit_exponent(x, y, window)
    return ScalingFit(label=label, x=np.asarray(x, float), y=np.asarray(y, float), window=tuple(window),
                      exponent=e, exponent_stderr=se, local_exponent=loc, predicted=predicted, intercept=c,
                      params={k: float(v) for k, v in params.items()})


def data_scaling(alpha: float, beta: float, *, n: Any = None, ridge: float = 0.0, noise: float = 0.0,
                 window: tuple[float, float] | None = None, system: Eigensystem | None = None) -> ScalingFit:
    """KRR learning curve ``E(n)`` (excess error) on a power law and its fitted exponent against
    ``min(beta - 1, 2 alpha)``.

    Args:
        alpha, beta: spectral and target decay. n: sizes (default ``10^1..10^4``, 31 points).
        ridge: sum-convention ridge (default 0). noise: label-noise variance (default 0; with noise the excess error
            tends to ``(alpha - 1) noise`` ridgeless and no power law remains).
        window: fit window (default the upper two decades of ``n``).
        system: eigensystem to use (default :func:`powerlaw_system`).
    """
    n = np.geomspace(10, 1e4, 31) if n is None else check_positive(n, "n").ravel()
    noise = float(check_nonnegative(noise, "noise"))
    sys_ = system or powerlaw_system(alpha, beta, n.max())
    y = krr(sys_, n, ridge, noise).test_error
    window = window or (n.max() / 100, n.max())
    return _make("n: data-limited (KRR)", n, y, window, predicted_exponents(alpha, beta).data, alpha=alpha,
                 beta=beta, ridge=ridge, noise=noise)


def width_scaling(alpha: float, beta: float, *, p: Any = None, window: tuple[float, float] | None = None,
                  system: Eigensystem | None = None) -> ScalingFit:
    """RF error with unlimited data, ``E(p) = sum (1 - L) v^2`` at ``df1(gamma) = p`` (docs/models.md §6.10), and its
    fitted exponent against ``min(beta - 1, alpha)``."""
    p = np.geomspace(10, 1e4, 31) if p is None else check_positive(p, "p").ravel()
    sys_ = system or powerlaw_system(alpha, beta, p.max())
    y = np.asarray(rf_data_limit(sys_, p), dtype=float)
    window = window or (p.max() / 100, p.max())
    return _make("p: feature-limited (RF, n = inf)", p, y, window, predicted_exponents(alpha, beta).features,
                 alpha=alpha, beta=beta)


@dataclass(frozen=True)
class BahriRegimes:
    """The four regimes of Bahri et al. (arXiv:2102.06701) for one power law, each a :class:`ScalingFit`."""

    variance_data: ScalingFit  #: fixed p, n -> inf: E(n) - E(n = inf) ~ 1/n
    variance_width: ScalingFit  #: fixed n, p -> inf: E(p) - E_KRR(n) ~ 1/p
    resolution_data: ScalingFit  #: p = inf: E(n) ~ n^-min(beta-1, 2 alpha)
    resolution_width: ScalingFit  #: n = inf: E(p) ~ p^-min(beta-1, alpha)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).as_dict() for k in ("variance_data", "variance_width", "resolution_data",
                                                         "resolution_width")}


def bahri_regimes(alpha: float, beta: float, *, fixed: float = 100.0, ridge: float = 1e-8,
                  sizes: tuple[float, float] = (10.0, 1e4), large: tuple[float, float] = (1e4, 1e6),
                  points: int = 25) -> BahriRegimes:
    """The four scaling regimes from the RF eigenframework (docs/models.md §6.11), noise-free.

    Args:
        alpha, beta: power laws (Bahri's teacher-student setting is ``alpha = beta = 1 + a``).
        fixed: the width (variance-limited data) or sample size (variance-limited width) held fixed.
        ridge: small sum-convention ridge of the variance-limited curves (default 1e-8).
        sizes: range of the resolution-limited curves (fit over the upper two decades).
        large: range of the variance-limited curves (``>> fixed``).
        points: points per curve.
    """
    fixed = float(check_positive(fixed, "fixed"))
    ridge = float(check_nonnegative(ridge, "ridge"))
    points = check_positive_int(points, "points", minimum=3)
    top = max(sizes[1], large[1])
    sys_ = powerlaw_system(alpha, beta, top, modes_per_size=1e3)
    pred = predicted_exponents(alpha, beta)
    big = np.geomspace(*large, points)
    # variance-limited in data: p fixed, n >> p
    e_n = rf(sys_, big, fixed, ridge).test_error - float(rf_data_limit(sys_, fixed))
    vd = _make("n: variance-limited (p fixed)", big, e_n, large, 1.0, alpha=alpha, beta=beta, p=fixed)
    # variance-limited in width: n fixed, p >> n
    e_p = rf(sys_, fixed, big, ridge).test_error - krr(sys_, fixed, ridge).test_error
    vw = _make("p: variance-limited (n fixed)", big, e_p, large, 1.0, alpha=alpha, beta=beta, n=fixed)
    small = np.geomspace(*sizes, points)
    win = (sizes[1] / 100, sizes[1])
    rd = data_scaling(alpha, beta, n=small, ridge=0.0, window=win, system=sys_)
    rw = width_scaling(alpha, beta, p=small, window=win, system=sys_)
    rd = ScalingFit(**{**rd.__dict__, "label": "n: resolution-limited (p = inf)", "predicted": pred.data})
    rw = ScalingFit(**{**rw.__dict__, "label": "p: resolution-limited (n = inf)", "predicted": pred.features})
    return BahriRegimes(variance_data=vd, variance_width=vw, resolution_data=rd, resolution_width=rw)
