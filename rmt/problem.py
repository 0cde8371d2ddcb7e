r"""The problem description shared by ``theory`` and ``montecarlo``.

Canonical model (Adlam & Pennington 2020, arXiv:2011.03321; docs/conventions.md):

* inputs ``x ~ N(0, I_n0)`` (or ``N(0, Sigma)`` for training and ``N(0, Sigma_*)`` for testing, given by a
  :class:`CovarianceSpectrum`);
* target ``y(x) = beta.x / sqrt(n0) + eps`` with ``|beta|^2 = n0 * signal`` and ``eps ~ N(0, noise)``; optionally a
  nonlinear teacher component of power ``nonlinear_signal`` (Mei & Montanari's ``F_star^2``);
* weights ``W`` (n1 x n0) i.i.d. N(0, 1); features ``f(x) = sigma(W x / sqrt(n0))``;
* kernel ``K = F^T F / n1``; predictor ``yhat(x) = Y (K + ridge I_m)^-1 F^T f(x) / n1``.

Ratios: ``phi = n0 / m`` and ``psi = n0 / n1`` (Adlam-Pennington); ``psi1 = n1 / n0 = 1/psi``,
``psi2 = m / n0 = 1/phi`` and ``lambda_mm = phi * ridge`` (Mei-Montanari). A problem is described by the sizes
``(n0, n1, m)`` as numbers: theory uses only their ratios, simulation uses them as integer sizes, so one
``Problem(n0=400, n1=800, m=600, ...)`` serves both.

Numeric fields may be numpy arrays (broadcast together) so that theory functions evaluate whole grids at once;
simulation needs scalars.

Example:
    >>> p = Problem.from_ratios(phi=0.5, psi=0.25, ridge=0.1, activation="relu", n0=400)
    >>> (p.n0, p.n1, p.m)
    (400.0, 1600.0, 800.0)
    >>> Problem.from_mei_montanari(psi1=2.0, psi2=4.0, lam=0.1, activation="relu").ridge
    0.4
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, Union

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_ridge
from rmt.activations import Activation, ActivationLike, get_activation
from rmt.numerics import ArrayLike, frozen_value, readonly_array

__all__ = ["ArrayLike", "CovarianceSpectrum", "JointSpectrum", "LinearProblem", "Problem", "SpectrumLike",
           "as_joint_spectrum"]



@dataclass(frozen=True, eq=False)
class JointSpectrum:
    r"""A joint spectral measure of ``(Sigma, Sigma_*)``: atoms ``(train[k], test[k])`` with ``weights[k]``, the
    problem description of the covariate-shift theory (:mod:`rmt.theory.covariate_shift`).

    A fraction ``weights[k]`` of the ``n0`` shared eigen-directions has train eigenvalue ``train[k] > 0`` and test
    eigenvalue ``test[k] >= 0`` (Tripuraneni, Adlam & Pennington, arXiv:2111.08234). Unlike
    :class:`CovarianceSpectrum`, the arrays may carry leading *batch* axes (shape ``batch + (K,)``): a
    family of spectra, e.g. one per shift strength, that broadcasts against the other parameters of
    :func:`rmt.theory.covariate_shift.covariate_shift_error`. Weights are normalised to sum to one along the last axis.

    Args:
        train: train eigenvalues, shape ``batch + (K,)`` (or ``(K,)``), all ``> 0``.
        test: test eigenvalues, same shape, all ``>= 0``; ``None`` means no shift.
        weights: positive weights, same shape or ``(K,)``; ``None`` means equal weights.
        label: a short description (used in figures and the CLI output).

    Raises:
        ValueError: a non-positive train eigenvalue or weight, a negative test eigenvalue, NaN, mismatched shapes, or
            a test law with zero trace.

    Example:
        >>> sp = JointSpectrum([1.6, 0.4], [0.4, 1.6])
        >>> sp.train_trace, sp.test_trace
        (1.0, 1.0)
    """

    train: np.ndarray
    test: np.ndarray
    weights: np.ndarray
    label: str = ""

    def __init__(self, train: ArrayLike, test: ArrayLike | None = None, weights: ArrayLike | None = None, *,
                 label: str = ""):
        tr = check_positive(np.atleast_1d(np.asarray(train, dtype=float)), "train eigenvalues")
        te = tr.copy() if test is None else check_nonnegative(np.atleast_1d(np.asarray(test, dtype=float)),
                                                              "test eigenvalues")
        w = np.ones(tr.shape[-1]) if weights is None else check_positive(
            np.atleast_1d(np.asarray(weights, dtype=float)), "weights")
        try:
            shape = np.broadcast_shapes(tr.shape, te.shape, w.shape)
        except ValueError:
            raise ValueError(f"train eigenvalues {tr.shape}, test eigenvalues {te.shape} and weights {w.shape} "
                             "must have broadcastable shapes (batch..., K)") from None
        tr, te, w = (np.broadcast_to(a, shape) for a in (tr, te, w))
        w = w / w.sum(axis=-1, keepdims=True)
        if np.any(np.einsum("...k,...k->...", w, te) <= 0):
            raise ValueError("test eigenvalues must not all be zero (the test law needs tr Sigma_* > 0)")
        object.__setattr__(self, "train", readonly_array(tr))
        object.__setattr__(self, "test", readonly_array(te))
        object.__setattr__(self, "weights", readonly_array(w))
        object.__setattr__(self, "label", str(label))

    # --- construction ----------------------------------------------------------------------------------------
    @classmethod
    def from_covariance(cls, spectrum: CovarianceSpectrum, *, label: str = "") -> "JointSpectrum":
        """From the shared :class:`CovarianceSpectrum` (one spectrum, no batch axes)."""
        return cls(spectrum.train, spectrum.test, spectrum.weights, label=label)

    @classmethod
    def isotropic(cls) -> "JointSpectrum":
        """``Sigma = Sigma_* = I`` (no shift): the in-distribution model of Adlam & Pennington."""
        return cls([1.0], label="isotropic")

    @classmethod
    def stack(cls, spectra: Sequence["JointSpectrum"], *, label: str = "") -> "JointSpectrum":
        """Stack scalar spectra with the same number of atoms into a batch of shape ``(len(spectra),)``."""
        spectra = [as_joint_spectrum(s) for s in spectra]
        if not spectra:
            raise ValueError("spectra must not be empty")
        if any(s.batch_shape != () for s in spectra) or len({s.n_atoms for s in spectra}) != 1:
            raise ValueError("stack needs unbatched spectra with the same number of atoms")
        return cls(np.stack([s.train for s in spectra]), np.stack([s.test for s in spectra]),
                   np.stack([s.weights for s in spectra]), label=label)

    # --- properties ------------------------------------------------------------------------------------------
    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.train.shape[:-1]

    @property
    def n_atoms(self) -> int:
        return int(self.train.shape[-1])

    @property
    def train_trace(self) -> Any:
        """``s = tr Sigma / n0`` (float, or an array of the batch shape)."""
        return frozen_value(np.einsum("...k,...k->...", self.weights, self.train))

    @property
    def test_trace(self) -> Any:
        """``s_* = tr Sigma_* / n0`` (float, or an array of the batch shape)."""
        return frozen_value(np.einsum("...k,...k->...", self.weights, self.test))

    @property
    def is_shifted(self) -> bool:
        return not np.array_equal(self.train, self.test)

    def in_distribution(self) -> "JointSpectrum":
        """The same training law with ``Sigma_* = Sigma``."""
        return JointSpectrum(self.train, None, self.weights, label=(self.label + " (ID)").strip())

    def __getitem__(self, index: Any) -> "JointSpectrum":
        """Index the batch axes (``spectrum[3]`` is the fourth spectrum of a family)."""
        if not self.batch_shape:
            raise IndexError("an unbatched JointSpectrum cannot be indexed")
        idx = index if isinstance(index, tuple) else (index,)
        return JointSpectrum(self.train[idx], self.test[idx], self.weights[idx], label=self.label)

    def covariance(self) -> CovarianceSpectrum:
        """The :class:`CovarianceSpectrum` (for :class:`rmt.problem.Problem` and ``montecarlo``).

        Raises:
            ValueError: the spectrum has batch axes.
        """
        if self.batch_shape:
            raise ValueError(f"covariance() needs an unbatched spectrum; batch shape is {self.batch_shape}")
        return CovarianceSpectrum(self.train, self.test, self.weights)

    def as_dict(self) -> dict[str, Any]:
        return {"train": self.train.tolist(), "test": self.test.tolist(), "weights": self.weights.tolist(),
                "label": self.label}


class CovarianceSpectrum(JointSpectrum):
    r"""Train and test input covariances, simultaneously diagonal, as one joint spectral measure (no batch axes): the
    ``covariance`` of a :class:`Problem`, which theory and simulation both read.

    Atoms ``(train[k], test[k])`` with weights ``weights[k]`` (normalised to sum to one): a fraction ``weights[k]``
    of the ``n0`` eigen-directions has train eigenvalue ``train[k]`` and test eigenvalue ``test[k]``
    (Tripuraneni, Adlam & Pennington, arXiv:2111.08234). ``test=None`` means no shift (``Sigma_* = Sigma``). It is a
    :class:`JointSpectrum` with one spectrum: the same validation, traces and methods, stricter about shapes (1-d
    sequences of one length).
    """

    def __init__(self, train: ArrayLike, test: ArrayLike | None = None, weights: ArrayLike | None = None):
        tr = np.atleast_1d(np.asarray(train, dtype=float))
        if tr.ndim != 1:
            raise ValueError("train eigenvalues must be a 1-d sequence")
        for name, other in (("test eigenvalues", test), ("weights", weights)):
            if other is not None and np.atleast_1d(np.asarray(other, dtype=float)).shape != tr.shape:
                raise ValueError(f"{name} must have the same length as the train eigenvalues ({tr.size}), got "
                                 f"{np.size(other)}")
        super().__init__(tr, test, weights)

    @classmethod
    def isotropic(cls) -> "CovarianceSpectrum":
        return cls([1.0])

    def as_dict(self) -> dict[str, Any]:
        return {"train": self.train.tolist(), "test": self.test.tolist(), "weights": self.weights.tolist()}


SpectrumLike = Union[JointSpectrum, CovarianceSpectrum, None, Sequence[Sequence[float]]]


def as_joint_spectrum(spectrum: SpectrumLike) -> JointSpectrum:
    """Coerce ``spectrum`` to a :class:`JointSpectrum`.

    Accepts a :class:`JointSpectrum`, a :class:`CovarianceSpectrum`, ``None`` (isotropic, no shift) or a
    sequence of ``(lambda, lambda_*, weight)`` triples.

    Raises:
        ValueError: anything else, or invalid atoms.
    """
    if isinstance(spectrum, JointSpectrum):
        return spectrum
    if spectrum is None:
        return JointSpectrum.isotropic()
    if isinstance(spectrum, CovarianceSpectrum):
        return JointSpectrum.from_covariance(spectrum)
    try:
        arr = np.asarray(spectrum, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"spectrum must be a JointSpectrum, a CovarianceSpectrum, None or a sequence of "
                         f"(lambda, lambda_star, weight) triples; got {spectrum!r}") from None
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 1:
        raise ValueError(f"spectrum as a sequence must be (lambda, lambda_star, weight) triples; got shape "
                         f"{arr.shape}")
    return JointSpectrum(arr[:, 0], arr[:, 1], arr[:, 2])


@dataclass(frozen=True, eq=False)
class Problem:
    """Sizes, ridge, activation, noise and signal of one regression problem (or a broadcast grid of them).

    Args:
        n0: input dimension (> 0).
        n1: number of random features / hidden width (> 0).
        m: number of training samples (> 0).
        ridge: ``>= 0``, multiplying the identity in ``K + ridge I_m`` (Adlam-Pennington scaling; ``gamma`` is
            reserved for the ratio ``d/n`` of :class:`LinearProblem`).
        activation: name, :class:`~rmt.activations.Activation` or callable.
        noise: variance of the training-label noise (``sigma_eps^2 >= 0``).
        signal: ``|beta|^2 / n0 >= 0`` (``s_beta^2``, Mei-Montanari's ``F_1^2``).
        nonlinear_signal: power of a nonlinear teacher component (Mei-Montanari's ``F_star^2 >= 0``).
        covariance: train/test covariance spectra; ``None`` for isotropic inputs.

    Raises:
        ValueError: a non-positive size, a negative ridge/noise/signal, NaN, or an unknown activation.
    """

    n0: ArrayLike
    n1: ArrayLike
    m: ArrayLike
    ridge: ArrayLike = 0.0
    activation: Activation = field(default="relu")  # type: ignore[assignment]
    noise: ArrayLike = 0.0
    signal: ArrayLike = 1.0
    nonlinear_signal: ArrayLike = 0.0
    covariance: CovarianceSpectrum | None = None

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for name in ("n0", "n1", "m"):
            set_(name, frozen_value(check_positive(getattr(self, name), name)))
        set_("ridge", frozen_value(check_ridge(self.ridge)))
        for name in ("noise", "signal", "nonlinear_signal"):
            set_(name, frozen_value(check_nonnegative(getattr(self, name), name)))
        set_("activation", get_activation(self.activation))
        if self.covariance is not None and not isinstance(self.covariance, CovarianceSpectrum):
            raise ValueError("covariance must be a CovarianceSpectrum or None")
        try:
            np.broadcast_shapes(*(np.shape(getattr(self, k)) for k in _NUMERIC))
        except ValueError:
            raise ValueError("array-valued fields of Problem must broadcast together; shapes "
                             + ", ".join(f"{k}={np.shape(getattr(self, k))}" for k in _NUMERIC)) from None

    # --- constructors -------------------------------------------------------------------------------------
    @classmethod
    def from_ratios(cls, phi: ArrayLike, psi: ArrayLike, *, ridge: ArrayLike = 0.0,
                    activation: ActivationLike = "relu", noise: ArrayLike = 0.0, signal: ArrayLike = 1.0,
                    nonlinear_signal: ArrayLike = 0.0, n0: ArrayLike = 1.0,
                    covariance: CovarianceSpectrum | None = None) -> "Problem":
        """Adlam-Pennington ratios ``phi = n0/m`` and ``psi = n0/n1`` (``n0`` fixes the scale: 1 for theory,
        the input dimension for simulation)."""
        phi = check_positive(phi, "phi")
        psi = check_positive(psi, "psi")
        n0a = check_positive(n0, "n0")
        with np.errstate(over="ignore"):
            for name, ratio in (("phi", phi), ("psi", psi)):
                if not np.all(np.isfinite(n0a / ratio)):
                    raise ValueError(f"{name} is too small: n0/{name} overflows float64 (need {name} >= about "
                                     f"{float(np.max(n0a)) / np.finfo(float).max:.3g} at n0 = {float(np.max(n0a)):g})")
        return cls(n0=n0a, n1=n0a / psi, m=n0a / phi, ridge=ridge, activation=activation, noise=noise,
                   signal=signal, nonlinear_signal=nonlinear_signal, covariance=covariance)

    @classmethod
    def from_mei_montanari(cls, psi1: ArrayLike, psi2: ArrayLike, lam: ArrayLike, *,
                           activation: ActivationLike = "relu", tau2: ArrayLike = 0.0, F1_2: ArrayLike = 1.0,
                           Fstar_2: ArrayLike = 0.0, n0: ArrayLike = 1.0) -> "Problem":
        """Mei & Montanari (arXiv:1908.05355) ratios ``psi1 = N/d = n1/n0``, ``psi2 = n/d = m/n0``, their ridge
        ``lambda`` (``= phi * ridge``, so ``ridge = lambda * psi2``), noise ``tau^2``, signal ``F_1^2`` and
        nonlinear teacher power ``F_star^2``."""
        psi1 = check_positive(psi1, "psi1")
        psi2 = check_positive(psi2, "psi2")
        lam = check_nonnegative(lam, "lam")
        n0a = check_positive(n0, "n0")
        return cls(n0=n0a, n1=psi1 * n0a, m=psi2 * n0a, ridge=lam * psi2, activation=activation, noise=tau2,
                   signal=F1_2, nonlinear_signal=Fstar_2)

    def replace(self, **changes: Any) -> "Problem":
        return dataclasses.replace(self, **changes)

    def with_n0(self, n0: float) -> "Problem":
        """The same ratios at input dimension ``n0`` (for simulation at a chosen size)."""
        scale = check_positive(n0, "n0") / np.asarray(self.n0)
        return self.replace(n0=np.asarray(self.n0) * scale, n1=np.asarray(self.n1) * scale,
                            m=np.asarray(self.m) * scale)

    # --- ratios ---------------------------------------------------------------------------------------------
    @property
    def phi(self) -> ArrayLike:
        """``n0 / m``."""
        return frozen_value(np.asarray(self.n0) / self.m)

    @property
    def psi(self) -> ArrayLike:
        """``n0 / n1``."""
        return frozen_value(np.asarray(self.n0) / self.n1)

    @property
    def psi1(self) -> ArrayLike:
        """Mei-Montanari ``N/d = n1 / n0``."""
        return frozen_value(np.asarray(self.n1) / self.n0)

    @property
    def psi2(self) -> ArrayLike:
        """Mei-Montanari ``n/d = m / n0``."""
        return frozen_value(np.asarray(self.m) / self.n0)

    @property
    def lambda_mm(self) -> ArrayLike:
        """Mei-Montanari ridge ``lambda = phi * ridge``."""
        return frozen_value(np.asarray(self.ridge) * self.phi)

    @property
    def width_ratio(self) -> ArrayLike:
        """``n1 / m = phi / psi`` (> 1: over-parameterised)."""
        return frozen_value(np.asarray(self.n1) / self.m)

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(np.shape(getattr(self, k)) for k in _NUMERIC))

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def integer_sizes(self) -> tuple[int, int, int]:
        """``(n0, n1, m)`` rounded to integers for simulation.

        Raises:
            ValueError: the problem is a grid, or a size rounds to zero.
        """
        if not self.is_scalar:
            raise ValueError("simulation needs a scalar Problem; this one is a grid of shape "
                             f"{self.shape}")
        out = []
        for name in ("n0", "n1", "m"):
            v = int(round(float(getattr(self, name))))
            if v < 1:
                raise ValueError(f"{name} must be at least 1 for simulation, got {getattr(self, name)!r}")
            out.append(v)
        return out[0], out[1], out[2]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description (used as the key of stored simulation results)."""
        def conv(v: Any) -> Any:
            return v.tolist() if isinstance(v, np.ndarray) else v

        d: dict[str, Any] = {k: conv(getattr(self, k)) for k in _NUMERIC}
        d["activation"] = self.activation.name
        d["covariance"] = None if self.covariance is None else self.covariance.as_dict()
        return d

    def map(self, fn: Callable[["Problem"], Any]) -> list[Any]:
        """Apply ``fn`` to each scalar problem of a grid (in C order)."""
        shape = self.shape
        arrays = {k: np.broadcast_to(np.asarray(getattr(self, k), dtype=float), shape) for k in _NUMERIC}
        return [fn(self.replace(**{k: float(arrays[k][idx]) for k in _NUMERIC})) for idx in np.ndindex(*shape)]


_NUMERIC = ("n0", "n1", "m", "ridge", "noise", "signal", "nonlinear_signal")


@dataclass(frozen=True, eq=False)
class LinearProblem:
    r"""Linear ridge regression (Hastie, Montanari, Rosset & Tibshirani, arXiv:1903.08560).

    Model: ``x = Sigma^{1/2} z`` in dimension ``d`` with ``Sigma`` given by ``spectrum`` (eigenvalues with weights;
    ``None`` = identity); ``y = x.beta + eps`` with ``|beta|^2 = signal`` (HMRT's ``r^2``) and ``eps ~ N(0, noise)``.
    Estimator ``beta_hat = (X^T X / n + ridge I)^-1 X^T y / n`` (per-sample ridge; ``ridge = 0`` is the min-norm
    least-squares interpolator). Risk: ``E[(x.beta_hat - x.beta)^2 | X]`` (excess, no test noise).

    ``beta_weights[k]`` is the fraction of ``|beta|^2`` lying in the eigenspace of atom ``k`` (HMRT's
    ``G_hat``); ``None`` means ``beta`` isotropic (``beta_weights = spectrum.weights``).

    The ratio is ``gamma = d / n`` (:attr:`gamma`).
    """

    n: ArrayLike
    d: ArrayLike
    ridge: ArrayLike = 0.0
    noise: ArrayLike = 0.0
    signal: ArrayLike = 1.0
    spectrum: CovarianceSpectrum | None = None
    beta_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        for name in ("n", "d"):
            set_(name, frozen_value(check_positive(getattr(self, name), name)))
        set_("ridge", frozen_value(check_ridge(self.ridge)))
        for name in ("noise", "signal"):
            set_(name, frozen_value(check_nonnegative(getattr(self, name), name)))
        if self.spectrum is not None and not isinstance(self.spectrum, CovarianceSpectrum):
            raise ValueError("spectrum must be a CovarianceSpectrum or None")
        if self.beta_weights is not None:
            k = 1 if self.spectrum is None else self.spectrum.train.size
            bw = check_nonnegative(np.atleast_1d(np.asarray(self.beta_weights, dtype=float)), "beta_weights")
            if bw.shape != (k,) or bw.sum() <= 0:
                raise ValueError(f"beta_weights must have one non-negative entry per spectrum atom ({k}) "
                                 "and a positive sum")
            bw = bw / bw.sum()
            bw.setflags(write=False)
            set_("beta_weights", bw)
        try:
            np.broadcast_shapes(*(np.shape(getattr(self, k)) for k in _LINEAR_NUMERIC))
        except ValueError:
            raise ValueError("array-valued fields of LinearProblem must broadcast together") from None

    @classmethod
    def from_ratio(cls, gamma: ArrayLike, *, ridge: ArrayLike = 0.0, noise: ArrayLike = 0.0,
                   signal: ArrayLike = 1.0, n: ArrayLike = 1.0, spectrum: CovarianceSpectrum | None = None,
                   beta_weights: Any = None) -> "LinearProblem":
        """From the ratio ``gamma = d / n`` (``n`` fixes the scale)."""
        gamma = check_positive(gamma, "gamma")
        n_arr = check_positive(n, "n")
        return cls(n=n_arr, d=gamma * n_arr, ridge=ridge, noise=noise, signal=signal, spectrum=spectrum,
                   beta_weights=beta_weights)

    @property
    def gamma(self) -> ArrayLike:
        """``d / n``."""
        return frozen_value(np.asarray(self.d) / self.n)

    @property
    def eigenvalues(self) -> np.ndarray:
        return np.ones(1) if self.spectrum is None else self.spectrum.train

    @property
    def eigen_weights(self) -> np.ndarray:
        return np.ones(1) if self.spectrum is None else self.spectrum.weights

    @property
    def signal_weights(self) -> np.ndarray:
        """Fraction of ``|beta|^2`` per atom (isotropic ``beta`` if not given)."""
        return self.eigen_weights if self.beta_weights is None else self.beta_weights

    @property
    def shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(np.shape(getattr(self, k)) for k in _LINEAR_NUMERIC))

    @property
    def is_scalar(self) -> bool:
        return self.shape == ()

    def replace(self, **changes: Any) -> "LinearProblem":
        return dataclasses.replace(self, **changes)

    def integer_sizes(self) -> tuple[int, int]:
        """``(n, d)`` rounded for simulation (scalar problems only)."""
        if not self.is_scalar:
            raise ValueError(f"simulation needs a scalar LinearProblem; this one has shape {self.shape}")
        n, d = int(round(float(self.n))), int(round(float(self.d)))
        if n < 1 or d < 1:
            raise ValueError("n and d must be at least 1 for simulation")
        return n, d

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {k: (v.tolist() if isinstance(v := getattr(self, k), np.ndarray) else v)
                             for k in _LINEAR_NUMERIC}
        d["spectrum"] = None if self.spectrum is None else self.spectrum.as_dict()
        d["beta_weights"] = None if self.beta_weights is None else self.beta_weights.tolist()
        return d


_LINEAR_NUMERIC = ("n", "d", "ridge", "noise", "signal")
