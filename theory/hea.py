r"""The Hermite eigenstructure ansatz (HEA): kernel learning curves from the data covariance.

Karkada, Turnbull, Liu & Simon (arXiv:2510.14878) propose that a rotation-invariant kernel on Gaussian data
``x ~ N(0, Gamma)``, ``Gamma = diag(gamma_1 >= ... >= gamma_d)``, has approximately

* eigenfunctions ``h_alpha(z) = prod_i h_{alpha_i}(z_i)``: products of normalised probabilists' Hermite polynomials
  ``h_k = He_k / sqrt(k!)`` of the whitened input ``z_i = x_i / sqrt(gamma_i)``, one per multi-index
  ``alpha in N^d``;
* eigenvalues ``lambda_alpha = c_|alpha| prod_i gamma_i^alpha_i``, a *level coefficient* ``c_l`` of the kernel at
  degree ``l = |alpha|`` times a monomial in the covariance eigenvalues.

Where the level coefficients come from (derived here). Every kernel below is, after replacing the norms ``|x|^2``,
``|x'|^2`` by their concentration value ``T = tr Gamma`` (exact for dot-product kernels, a high-dimensional
approximation otherwise), a function ``f(t)`` of ``t = x . x'``. Writing
``(x . x')^l = sum_{|alpha| = l} (l!/alpha!) x^alpha x'^alpha`` and ``x^alpha = gamma^{alpha/2} z^alpha`` with
``z^alpha = sqrt(alpha!) h_alpha(z) + (lower degree)``, the degree-``l`` term of ``f`` contributes
``f^(l)(0)/l! * l! * gamma^alpha h_alpha(z) h_alpha(z')`` to the top-degree Hermite products; lower-degree
remainders are smaller by powers of the ``gamma_i``. Hence ``c_l = f^(l)(0)``:

* dot-product kernel ``f(x . x')`` (any power series): ``c_l = f^(l)(0)``; ``linear``: ``c_1 = 1`` only (the
  eigenvalues are the ``gamma_i`` themselves, exactly);
* ``gaussian``, ``exp(-|x - x'|^2 / (2 s^2))`` = ``exp(-|x|^2/2s^2) exp(-|x'|^2/2s^2) exp(x.x'/s^2)``: the norms
  factor out, ``c_l = exp(-T/s^2) s^(-2l)``;
* ``laplace``, ``exp(-|x - x'| / s)`` with ``|x - x'|^2 ~ 2T - 2t``: ``f(t) = exp(-sqrt(2T - 2t)/s)``, Taylor
  coefficients at ``t = 0`` (all positive) by mpmath;
* ``relu-nngp``, ``E_w relu(w.x) relu(w.x')`` for ``w ~ N(0, I)``: ``|x||x'| kappa_1(cos theta)`` with the
  arc-cosine function ``kappa_1(rho) = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` (Cho & Saul), so
  ``f(t) = T kappa_1(t/T)`` and ``c_l = T^(1-l) kappa_1^(l)(0)`` (levels 3, 5, 7, ... vanish);
* ``relu-ntk``, the two-layer ReLU NTK ``K_nngp + (x . x') kappa_0(cos theta)`` with
  ``kappa_0(rho) = (pi - arccos rho)/(2 pi)``: ``f(t) = T kappa_1(t/T) + t kappa_0(t/T)``.

The eigenvalues are generated in decreasing order without enumerating all multi-indices (a heap over sorted index
tuples: a tuple's successors increment one entry, which can only lower the product), and fed to the eigenframework
(:func:`rmt.theory.eigen.krr`; Simon, Dickens, Karkada & DeWeese arXiv:2110.03922). The kernel's trace
``E k(x, x) = f(T)`` is conserved: what the generated modes do not carry (the rest of the levels ``<= max_level``,
``sum_l c_l h_l(gamma)`` with ``h_l`` the complete homogeneous symmetric polynomial, and all higher levels) enters as
a white continuum (``flat_mass``, an implicit ridge); target power outside the generated modes is ``target_tail``. Targets are combinations ``f*(x) = sum_alpha v_alpha h_alpha(z)`` of Hermite monomials.

Multi-indices are written as sorted tuples of coordinates: ``()`` is the constant, ``(0,)`` is ``h_1(z_0)``,
``(0, 0)`` is ``h_2(z_0)``, ``(0, 3)`` is ``h_1(z_0) h_1(z_3)``.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.hea_problem import HEA_KERNELS, HEAProblem, hea_target  # the problem lives in rmt
from rmt.records import Tabular, broadcast_records
from rmt.theory.eigen import Eigensystem, KRRResult, compress, krr

__all__ = ["KERNELS", "HEAProblem", "HEAResult", "HEASpectrum", "hea_theory", "gaussian_exact_spectrum", "gaussian_kernel_eigenvalue", "hea_spectrum", "kernel_diagonal", "learning_curve", "level_coefficients",
           "level_masses", "multi_index"]

KERNELS = HEA_KERNELS  # defined once, beside the problem


def _taylor(f: Callable[[Any], Any], L: int) -> np.ndarray:
    """``f^(l)(0)`` for ``l = 0..L`` by mpmath (40 digits)."""
    import mpmath

    with mpmath.workdps(40):
        a = mpmath.taylor(f, 0, L)
        return np.array([float(a[l] * mpmath.factorial(l)) for l in range(L + 1)])


def level_coefficients(kernel: str | Callable[[Any], Any], trace: float, max_level: int, *,
                       bandwidth: float = 1.0) -> np.ndarray:
    r"""Level coefficients ``c_0..c_L`` of the HEA (module docstring for the derivation).

    Args:
        kernel: one of :data:`KERNELS`, or a callable ``f(t)`` (mpmath-compatible) of ``t = x . x'`` for a
            dot-product kernel.
        trace: ``T = tr Gamma > 0`` (the norms' concentration value).
        max_level: ``L >= 0``.
        bandwidth: ``s`` of the Gaussian and Laplace kernels.

    Returns:
        ``c`` (length ``L + 1``), non-negative; coefficients below ``1e-25`` of the largest are set to 0.

    Raises:
        ValueError: unknown kernel, bad arguments, or a negative coefficient (not a positive-definite kernel).
    """
    import mpmath

    T = float(check_positive(trace, "trace"))
    L = check_positive_int(max_level, "max_level", minimum=0)
    s = float(check_positive(bandwidth, "bandwidth"))
    k1 = lambda r: (mpmath.sqrt(1 - r * r) + (mpmath.pi - mpmath.acos(r)) * r) / (2 * mpmath.pi)  # noqa: E731
    k0 = lambda r: (mpmath.pi - mpmath.acos(r)) / (2 * mpmath.pi)  # noqa: E731
    if callable(kernel):
        c = _taylor(kernel, L)
    elif kernel == "linear":
        c = np.zeros(L + 1)
        if L >= 1:
            c[1] = 1.0
    elif kernel == "gaussian":
        c = math.exp(-T / s ** 2) * s ** (-2.0 * np.arange(L + 1))
    elif kernel == "laplace":
        c = _taylor(lambda t: mpmath.exp(-mpmath.sqrt(2 * T - 2 * t) / s), L)
    elif kernel == "relu-nngp":
        c = _taylor(lambda t: T * k1(t / T), L)
    elif kernel == "relu-ntk":
        c = _taylor(lambda t: T * k1(t / T) + t * k0(t / T), L)
    else:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)} or a callable, got {kernel!r}")
    c = np.asarray(c, dtype=float)
    top = float(np.max(np.abs(c))) if c.size else 0.0
    c = np.where(np.abs(c) < 1e-25 * top, 0.0, c)
    if np.any(c < 0):
        raise ValueError(f"kernel has a negative level coefficient c_{int(np.flatnonzero(c < 0)[0])}: not a "
                         "positive-definite dot-product kernel")
    return c


def kernel_diagonal(kernel: str | Callable[[Any], Any], trace: float, *, bandwidth: float = 1.0) -> float:
    """``f(T)``: the kernel at coinciding points with ``|x|^2 = T`` (its trace ``E k(x, x)`` under norm
    concentration): 1 for the Gaussian and Laplace kernels, ``T/2`` for the ReLU NNGP, ``T`` for the ReLU NTK,
    ``T`` for the linear kernel, ``f(T)`` for a dot-product callable."""
    T = float(check_positive(trace, "trace"))
    if callable(kernel):
        return float(kernel(T))
    table = {"linear": T, "gaussian": 1.0, "laplace": 1.0, "relu-nngp": T / 2, "relu-ntk": T}
    if kernel not in table:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)} or a callable, got {kernel!r}")
    return table[kernel]


def gaussian_kernel_eigenvalue(index: tuple[int, ...], gammas: Any, bandwidth: float = 1.0) -> float:
    r"""The *exact* eigenvalue of the Gaussian kernel ``exp(-|x - x'|^2 / 2 s^2)`` on ``N(0, diag(gammas))`` for
    a multi-index (the kernel and the measure factorise over coordinates; per coordinate Mehler's formula gives
    ``lambda_k = sqrt(2a/A) B^k`` with ``a = 1/(4 gamma)``, ``b = 1/(2 s^2)``, ``c = sqrt(a^2 + 2ab)``,
    ``A = a + b + c``, ``B = b/A``: Zhu, Williams, Rohwer & Morciniec 1998; Rasmussen & Williams 2006, eq. 4.42).
    Its eigenfunctions are Hermite functions of a rescaled coordinate, not ``h_alpha(z)``; the ansatz's eigenvalue
    ``exp(-T/s^2) s^(-2l) gamma^alpha`` agrees with it to first order in ``gamma_i / s^2``."""
    g = check_positive(np.atleast_1d(np.asarray(gammas, dtype=float)), "gammas").ravel()
    s = float(check_positive(bandwidth, "bandwidth"))
    a = 1.0 / (4.0 * g)
    b = 1.0 / (2.0 * s * s)
    A = a + b + np.sqrt(a * a + 2.0 * a * b)
    alpha = multi_index(tuple(index), g.size)
    return float(np.prod(np.sqrt(2.0 * a / A) * (b / A) ** alpha))


def _complete_homogeneous(gammas: np.ndarray, L: int) -> np.ndarray:
    """``h_0..h_L`` of the ``gammas`` (Newton's identities ``l h_l = sum_k p_k h_{l-k}``)."""
    p = np.array([np.sum(gammas ** k) for k in range(L + 1)])
    h = np.zeros(L + 1)
    h[0] = 1.0
    for l in range(1, L + 1):
        h[l] = sum(p[k] * h[l - k] for k in range(1, l + 1)) / l
    return h


def level_masses(coefficients: np.ndarray, gammas: Any) -> np.ndarray:
    """Total HEA eigenvalue mass of each level, ``c_l h_l(gamma)`` (``h_l``: complete homogeneous symmetric
    polynomial, the sum of ``gamma^alpha`` over ``|alpha| = l``)."""
    g = check_positive(np.asarray(gammas, dtype=float), "gammas").ravel()
    c = np.asarray(coefficients, dtype=float)
    return c * _complete_homogeneous(g, c.size - 1)


def multi_index(index: tuple[int, ...], d: int) -> np.ndarray:
    """The exponent vector ``alpha`` (length ``d``) of a sorted coordinate tuple."""
    a = np.zeros(d, dtype=int)
    for i in index:
        a[i] += 1
    return a


@dataclass(frozen=True, eq=False)
class HEASpectrum:
    """The ansatz's leading eigenvalues, their multi-indices, and the eigensystem fed to the eigenframework.

    Attributes:
        eigenvalues: decreasing ``lambda_alpha`` (generated modes). indices: their sorted coordinate tuples.
        levels: ``|alpha|`` of each mode. coefficients: ``c_0..c_L``. gammas: the covariance eigenvalues.
        flat_mass: ansatz trace (levels ``<= L``) not in the generated modes. target: ``{index: coefficient}``.
        system: the :class:`~rmt.theory.eigen.Eigensystem` (target power per generated mode, ``target_tail`` for
            target monomials not generated, ``flat_mass``).
    """

    eigenvalues: np.ndarray
    indices: tuple[tuple[int, ...], ...] = field(repr=False)
    levels: np.ndarray = field(repr=False)
    coefficients: np.ndarray = field(repr=False)
    gammas: np.ndarray = field(repr=False)
    flat_mass: float
    target: Mapping[tuple[int, ...], float] = field(repr=False)
    system: Eigensystem = field(repr=False)

    def position(self, index: tuple[int, ...]) -> int | None:
        """Rank (0-based) of a multi-index among the generated modes, or None."""
        key = tuple(sorted(index))
        for j, t in enumerate(self.indices):
            if t == key:
                return j
        return None

    def eigenvalue(self, index: tuple[int, ...]) -> float:
        """``c_|alpha| prod gamma^alpha`` for any multi-index (generated or not)."""
        key = tuple(sorted(index))
        if len(key) >= self.coefficients.size:
            return 0.0
        return float(self.coefficients[len(key)] * np.prod(self.gammas[list(key)]))


def _normalise_target(target: Mapping[Any, float] | None, d: int) -> dict[tuple[int, ...], float]:
    return hea_target(target, d)


def hea_spectrum(kernel: str | Callable[[Any], Any], gammas: Any, modes: int, *,
                 target: Mapping[Any, float] | None = None, max_level: int = 10, bandwidth: float = 1.0,
                 compressed: bool | None = None) -> HEASpectrum:
    r"""The ``modes`` largest HEA eigenvalues (heap generation; module docstring) and the eigensystem.

    Args:
        kernel: see :func:`level_coefficients`. gammas: covariance eigenvalues, non-increasing, ``> 0``.
        modes: number of leading eigenvalues to generate.
        target: ``{multi-index: coefficient}`` of ``f* = sum v_alpha h_alpha(z)``.
        max_level: highest level ``L`` of the ansatz. bandwidth: Gaussian/Laplace ``s``.
        compressed: use :func:`rmt.theory.eigen.compress` for the eigensystem (default: more than 20,000 modes).

    Raises:
        ValueError: bad arguments (named), increasing ``gammas``, or a kernel without positive coefficients.
    """
    g = check_positive(np.atleast_1d(np.asarray(gammas, dtype=float)), "gammas").ravel()
    if np.any(np.diff(g) > 0):
        raise ValueError("gammas must be non-increasing (sort the covariance eigenvalues)")
    d = g.size
    M = check_positive_int(modes, "modes")
    c = level_coefficients(kernel, float(g.sum()), max_level, bandwidth=bandwidth)
    tgt = _normalise_target(target, d)
    heap: list[tuple[float, int, tuple[int, ...]]] = []
    for l, cl in enumerate(c):
        if cl > 0:
            heap.append((-cl * g[0] ** l, l, (0,) * l))
    heapq.heapify(heap)
    seen = {t for _, _, t in heap}
    vals: list[float] = []
    idx: list[tuple[int, ...]] = []
    while heap and len(vals) < M:
        v, l, t = heapq.heappop(heap)
        if -v <= 0:
            break
        vals.append(-v)
        idx.append(t)
        for k in range(l):
            nk = t[k] + 1
            if nk < d and (k == l - 1 or nk <= t[k + 1]):
                nt = t[:k] + (nk,) + t[k + 1:]
                if nt not in seen:
                    seen.add(nt)
                    heapq.heappush(heap, (v * g[nk] / g[t[k]], l, nt))
    lam = np.array(vals)
    if lam.size == 0:
        raise ValueError("the kernel has no positive level coefficient up to max_level")
    # the kernel's trace f(T) is kept: what the generated modes do not carry (higher levels, levels above
    # max_level) is a white continuum
    total = max(float(level_masses(c, g).sum()), kernel_diagonal(kernel, float(g.sum()), bandwidth=bandwidth))
    flat = max(total - float(lam.sum()), 0.0)
    pos = {t: j for j, t in enumerate(idx)}
    v2 = np.zeros(lam.size)
    tail = 0.0
    for key, coef in tgt.items():
        if key in pos:
            v2[pos[key]] += coef * coef
        else:
            tail += coef * coef
    system = Eigensystem(lam, v2, flat_mass=flat, target_tail=tail)
    if compressed if compressed is not None else lam.size > 20_000:
        system = compress(system)
    return HEASpectrum(eigenvalues=lam, indices=tuple(idx), levels=np.array([len(t) for t in idx]),
                       coefficients=c, gammas=g, flat_mass=flat, target=tgt, system=system)


def learning_curve(spectrum: HEASpectrum, n: Any, ridge: Any, noise: Any = 0.0) -> tuple[KRRResult, dict]:
    r"""KRR test error predicted by the ansatz (eigenframework on :attr:`HEASpectrum.system`), and the
    learnability ``L_alpha = lambda_alpha / (lambda_alpha + kappa)`` of every target monomial (0 for a monomial
    outside the generated modes): the order in which monomials are learned as ``n`` grows.

    Returns:
        ``(result, {index: learnabilities})`` broadcast over ``n``, ``ridge``, ``noise``.
    """
    check_nonnegative(noise, "noise")
    res = krr(spectrum.system, n, ridge, noise)
    kap = np.asarray(res.kappa)
    learn = {}
    for key in spectrum.target:
        lam = spectrum.eigenvalue(key)
        with np.errstate(divide="ignore", invalid="ignore"):
            learn[key] = np.where(kap > 0, lam / (lam + kap), 1.0 if lam > 0 else 0.0)
    return res, learn


def _index_key(index: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in index)


@dataclass(frozen=True, eq=False)
class HEAResult(Tabular):
    """The ansatz's prediction at one :class:`rmt.HEAProblem` (:func:`hea_theory`).

    Attributes:
        krr: the eigenframework result on the ansatz's eigensystem (``test_error`` excludes the test label's noise).
        learnability: ``{multi-index: L_alpha}`` for every target monomial. spectrum: the :class:`HEASpectrum`.
        problem: the problem.
    """

    krr: KRRResult
    learnability: Mapping[tuple[int, ...], float]
    spectrum: HEASpectrum = field(repr=False)
    problem: HEAProblem = field(repr=False)

    @property
    def test_error(self) -> float:
        return float(np.asarray(self.krr.test_error))

    def nested_records(self) -> list[dict[str, Any]]:
        """One record: ``model``, ``n``, ``ridge``, ``noise``, ``test_error`` and ``learnability`` keyed by the
        multi-index as text (``"0,3"``), as in the simulation's rows (:mod:`rmt.records`)."""
        p = self.problem
        return broadcast_records({"model": "hea", "n": p.n, "ridge": p.ridge, "noise": p.noise},
                                 {"test_error": self.test_error,
                                  "learnability": {_index_key(k): float(v) for k, v in self.learnability.items()}})


def hea_theory(problem: HEAProblem, modes: int = 20_000, *, max_level: int = 10,
               compressed: bool | None = None) -> HEAResult:
    """The theory entry point of the model table: :func:`hea_spectrum` (``modes`` leading eigenvalues, levels up to
    ``max_level``) and :func:`learning_curve` at one :class:`rmt.HEAProblem` (the same object
    :func:`rmt.montecarlo.hea.simulate_hea` takes).

    Raises:
        ValueError: ``problem`` is not a :class:`rmt.HEAProblem`, or bad ``modes``/``max_level`` (named).
    """
    if not isinstance(problem, HEAProblem):
        raise ValueError(f"problem must be an HEAProblem, got {type(problem).__name__}")
    spec = hea_spectrum(problem.kernel, problem.gammas, modes, target=problem.target, max_level=max_level,
                        bandwidth=problem.bandwidth, compressed=compressed)
    res, learn = learning_curve(spec, problem.n, problem.ridge, problem.noise)
    return HEAResult(krr=res, learnability={k: float(v) for k, v in learn.items()}, spectrum=spec, problem=problem)


def _hermite_functions(u: np.ndarray, K: int) -> np.ndarray:
    """``H_k(u) / sqrt(2^k k!)`` for ``k = 0..K`` (physicists' Hermite, stable recurrence); shape ``(K+1,) + u.shape``."""
    out = np.empty((K + 1,) + u.shape)
    out[0] = 1.0
    if K >= 1:
        out[1] = math.sqrt(2.0) * u
    for k in range(1, K):
        out[k + 1] = math.sqrt(2.0 / (k + 1)) * u * out[k] - math.sqrt(k / (k + 1)) * out[k - 1]
    return out


def gaussian_exact_spectrum(gammas: Any, modes: int, *, target: Mapping[Any, float] | None = None,
                            bandwidth: float = 1.0, max_order: int = 40, quadrature: int = 160) -> Eigensystem:
    r"""The *exact* eigensystem of the Gaussian kernel on ``N(0, diag(gammas))`` (no ansatz), for comparison with the
    HEA: per coordinate Mehler's eigenpairs (Zhu, Williams, Rohwer & Morciniec 1998; Rasmussen & Williams 2006,
    §4.3.1), ``lambda_k = sqrt(2a/A) B^k`` and ``phi_k(x) ∝ exp(-(c - a) x^2) H_k(sqrt(2c) x)``, products over
    coordinates; the ``modes`` largest eigenvalues (heap), the target's coefficients on them by Gauss-Hermite
    quadrature of ``<h_m(z_i), phi_k(x_i)>`` per coordinate (orders up to ``max_order``), the rest of the target
    power as ``target_tail`` and the rest of the trace (1) as ``flat_mass``."""
    g = check_positive(np.atleast_1d(np.asarray(gammas, dtype=float)), "gammas").ravel()
    if np.any(np.diff(g) > 0):
        raise ValueError("gammas must be non-increasing (sort the covariance eigenvalues)")
    s = float(check_positive(bandwidth, "bandwidth"))
    M = check_positive_int(modes, "modes")
    K = check_positive_int(max_order, "max_order")
    d = g.size
    tgt = _normalise_target(target, d)
    a = 1.0 / (4.0 * g)
    b = 1.0 / (2.0 * s * s)
    c = np.sqrt(a * a + 2.0 * a * b)
    A = a + b + c
    B = b / A
    C = float(np.prod(np.sqrt(2.0 * a / A)))
    # heap over sorted tuples (coordinates, one entry per unit of order): value C prod B^k
    heap = [(-C, ())]
    seen = {()}
    vals, idx = [], []
    while heap and len(vals) < M:
        v, t = heapq.heappop(heap)
        vals.append(-v)
        idx.append(t)
        if len(t) >= K * 1:  # never extend beyond the quadrature's orders in total
            continue
        cands = [t + (t[-1] if t else 0,)] + [t[:k] + (t[k] + 1,) + t[k + 1:] for k in range(len(t))]
        for nt in cands:
            if nt and (max(nt) >= d or any(x > y for x, y in zip(nt, nt[1:]))):
                continue
            if nt not in seen:
                seen.add(nt)
                heapq.heappush(heap, (-C * float(np.prod(B[list(nt)])), nt))
    lam = np.array(vals)
    # overlaps O_i[m, k] = E h_m(z) phi_k(sqrt(gamma_i) z), phi_k normalised in L2(N(0, gamma_i))
    z, wq = np.polynomial.hermite_e.hermegauss(quadrature)
    wq = wq / wq.sum()
    mmax = max([max(multi_index(k, d)) if k else 0 for k in tgt] + [0])
    He = np.polynomial.hermite_e.hermevander(z, mmax).T / np.sqrt([math.factorial(m) for m in range(mmax + 1)])[:, None]
    O = np.empty((d, mmax + 1, K + 1))
    for i in range(d):
        x = math.sqrt(g[i]) * z
        phi = np.exp(-(c[i] - a[i]) * x * x) * _hermite_functions(math.sqrt(2 * c[i]) * x, K)
        phi /= np.sqrt((phi * phi * wq).sum(1))[:, None]
        O[i] = (He[:, None, :] * phi[None, :, :] * wq).sum(-1)
    base = np.log(np.abs(O[:, 0, 0])).sum()
    v = np.zeros(lam.size)
    terms = [(multi_index(k, d), coef) for k, coef in tgt.items()]
    for j, t in enumerate(idx):
        kv = np.zeros(d, dtype=int)
        for i in t:
            kv[i] += 1
        tot = 0.0
        for alpha, coef in terms:
            S = np.flatnonzero((kv > 0) | (alpha > 0))
            if np.any(kv[S] > K):
                continue
            p = np.prod(O[S, alpha[S], kv[S]]) * math.exp(base - np.log(np.abs(O[S, 0, 0])).sum())
            tot += coef * p
        v[j] = tot * tot
    total_power = sum(cf * cf for cf in tgt.values())
    tail = max(total_power - float(v.sum()), 0.0)
    return Eigensystem(lam, v, flat_mass=max(1.0 - float(lam.sum()), 0.0), target_tail=tail)
