r"""Numeric solvers with explicit physical-branch rules and convergence reports.

Every solver returns a :class:`Solution` (value, residual, status per point, branch rule used, iterations) in the
spirit of optimistix: ``throw=True`` (the default) raises :class:`SolverError` with the worst residual when any point
fails; ``throw=False`` returns the solution with its status codes and NaN only where the status says so. Nothing
returns a silent NaN.

Building blocks:

* :func:`polyroots` -- all roots of many polynomials at once (batched companion-matrix eigenvalues, grouped by
  effective degree, then Newton-polished on the original coefficients).
* Branch rules -- :func:`select_real_in_interval` (a Stieltjes transform on the negative real axis,
  ``m(-t) = int dmu(s)/(s+t)`` in ``(0, 1/t]`` for a probability measure on ``[0, inf)``) and
  :func:`select_upper_half_plane` (``Im m(z) > 0`` for ``Im z > 0``), never "the first root found".
* :func:`continue_roots` -- follow one root along a sweep, choosing the root nearest to the previous one, so the
  branch never jumps; :func:`stieltjes_roots` continues from large ``Im z`` (where ``m(z) ~ -1/z``) down to the
  real axis.
* :func:`solve_monotone` -- vectorized bracketed root of a monotone scalar equation (bisection with Illinois
  steps, optionally in log space).
* :func:`monotone_newton` -- vectorized Newton iteration for a convex equation started right of its root
  (monotone convergence, never crossing the root).
* :func:`fixed_point` -- damped fixed-point iteration with an iteration cap and a convergence report.
* :func:`minimize_scalar` -- the one-dimensional minimiser: vectorized golden-section search on a bracket, or the
  sign change of a given derivative on the bracket.
* :func:`polyroots_mp` -- the same polynomial roots in mpmath at any precision (used to test the float path).
* :func:`bracket_root_mp` -- a scalar root on a sign-change bracket in mpmath (Illinois steps, bisection every
  third step), for the high-precision reference paths.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # imported where used: the float solvers (and the simulations) never load mpmath
    import mpmath

__all__ = [
    "SolverError",
    "Solution",
    "Status",
    "bracket_root_mp",
    "continue_roots",
    "fixed_point",
    "minimize_scalar",
    "monotone_newton",
    "newton_polish",
    "polyroots",
    "polyroots_mp",
    "polyval",
    "select_real_in_interval",
    "select_upper_half_plane",
    "solve_monotone",
    "stieltjes_roots",
]


class Status(enum.IntEnum):
    """Per-point outcome of a solve."""

    SUCCESS = 0
    MAX_ITERATIONS = 1  #: did not reach the tolerance within the iteration cap
    NO_PHYSICAL_ROOT = 2  #: no root satisfies the branch rule
    AMBIGUOUS_BRANCH = 3  #: several roots satisfy the branch rule
    NO_BRACKET = 4  #: the bracket does not enclose a sign change
    NONFINITE = 5  #: a non-finite value appeared


class SolverError(ArithmeticError):
    """A solver did not converge or found no physical root; carries the worst residual."""

    def __init__(self, message: str, residual: float = float("nan"), status: Status | None = None):
        super().__init__(message)
        self.residual = residual
        self.status = status


@dataclass(frozen=True)
class Solution:
    """Result of a solver, vectorized over parameter points.

    Attributes:
        value: the solution (array; NaN only where ``status != SUCCESS``).
        residual: absolute residual of the defining equation at ``value``.
        status: array of :class:`Status` codes (``int8``).
        branch: a description of the branch rule that selected the value.
        iterations: iterations used (maximum over points).
        objective: for minimisers, the function's value at ``value`` (``None`` for root finders).
    """

    value: Any
    residual: Any
    status: np.ndarray
    branch: str = ""
    iterations: int = 0
    objective: Any = None

    @property
    def ok(self) -> bool:
        return bool(np.all(self.status == Status.SUCCESS))

    def raise_for_status(self, what: str = "solver") -> "Solution":
        """Raise :class:`SolverError` if any point failed; otherwise return ``self``."""
        if self.ok:
            return self
        st = np.asarray(self.status)
        bad = np.flatnonzero(st.ravel() != Status.SUCCESS)
        first = int(bad[0])
        code = Status(int(st.ravel()[first]))
        res = np.asarray(self.residual, dtype=complex if np.iscomplexobj(self.residual) else float).ravel()
        finite = np.abs(res[bad])
        worst = float(np.nanmax(finite)) if np.any(np.isfinite(finite)) else float("nan")
        raise SolverError(f"{what}: {code.name.lower().replace('_', ' ')} at {bad.size} of {st.size} points "
                          f"(first at flat index {first}; worst residual {worst:.3g}; branch rule: {self.branch})",
                          residual=worst, status=code)


def _finish(sol: Solution, throw: bool, what: str) -> Solution:
    return sol.raise_for_status(what) if throw else sol


# ----------------------------------------------------------------------------------------------------------------
# polynomials
# ----------------------------------------------------------------------------------------------------------------

def polyval(coeffs: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate polynomials (coefficients highest degree first, last axis) at ``x`` by Horner's rule.

    ``coeffs`` has shape ``(..., d+1)``; ``x`` broadcasts against ``coeffs[..., 0]`` (extra trailing axes of ``x``
    are allowed when ``coeffs`` is given a matching axis by the caller).
    """
    coeffs = np.asarray(coeffs)
    out = np.zeros(np.broadcast_shapes(coeffs.shape[:-1], np.shape(x)), dtype=np.result_type(coeffs, x))
    for k in range(coeffs.shape[-1]):
        out = out * x + coeffs[..., k]
    return out


def _polyder(coeffs: np.ndarray) -> np.ndarray:
    d = coeffs.shape[-1] - 1
    return coeffs[..., :-1] * np.arange(d, 0, -1)


def newton_polish(coeffs: np.ndarray, roots: np.ndarray, *, steps: int = 3) -> np.ndarray:
    """Polish ``roots`` (shape ``(..., k)``) of polynomials ``coeffs`` (shape ``(..., d+1)``) by Newton steps.

    A step is accepted only where it lowers the residual, so polishing never makes a root worse.
    """
    c = np.asarray(coeffs, dtype=complex)[..., None, :]
    dc = _polyder(c)
    r = np.array(roots, dtype=complex)
    res = np.abs(polyval(c, r))
    for _ in range(steps):
        with np.errstate(all="ignore"):
            step = polyval(c, r) / polyval(dc, r)
            cand = r - step
            cres = np.abs(polyval(c, cand))
        better = np.isfinite(cres) & (cres < res)
        r = np.where(better, cand, r)
        res = np.where(better, cres, res)
    return r


def _csqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(x.astype(complex))


def _quadratic_monic(b: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """Roots of ``x^2 + b x + c`` without cancellation."""
    s = _csqrt(b * b - 4 * c)
    s = np.where((np.conj(b) * s).real >= 0, s, -s)
    q = -0.5 * (b + s)
    safe = q != 0
    r1 = q
    with np.errstate(all="ignore"):
        r2 = np.where(safe, c / np.where(safe, q, 1), 0)
    return [r1, r2]


def _cubic_monic(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
    """Roots of ``x^3 + a x^2 + b x + c`` (Cardano on the depressed cubic)."""
    p = b - a * a / 3
    q = 2 * a**3 / 27 - a * b / 3 + c
    s = _csqrt(q * q / 4 + p**3 / 27)
    u3a, u3b = -q / 2 + s, -q / 2 - s
    u3 = np.where(np.abs(u3a) >= np.abs(u3b), u3a, u3b)
    u = np.where(u3 != 0, np.abs(u3) ** (1 / 3) * np.exp(1j * np.angle(u3) / 3), 0)
    omega = np.exp(2j * np.pi / 3)
    roots = []
    for k in range(3):
        uk = u * omega**k
        with np.errstate(all="ignore"):
            t = np.where(uk != 0, uk - p / (3 * np.where(uk != 0, uk, 1)), 0)
        roots.append(t - a / 3)
    return roots


def _quartic_monic(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> list[np.ndarray]:
    """Roots of ``x^4 + a x^3 + b x^2 + c x + d`` (Ferrari with the largest root of the resolvent cubic)."""
    p = b - 3 * a * a / 8
    q = c - a * b / 2 + a**3 / 8
    r = d - a * c / 4 + a * a * b / 16 - 3 * a**4 / 256
    # resolvent: 8 m^3 + 8 p m^2 + (2 p^2 - 8 r) m - q^2 = 0
    ms = _cubic_monic(p, p * p / 4 - r, -q * q / 8)
    mags = np.stack([np.abs(m) for m in ms])
    m = np.take_along_axis(np.stack(ms), mags.argmax(axis=0)[None], axis=0)[0]
    w = _csqrt(2 * m)
    shift = -a / 4
    out = []
    biquad = w == 0
    zq = _quadratic_monic(p, r)  # y^2 roots when q = 0 and m = 0
    for s1 in (1.0, -1.0):
        with np.errstate(all="ignore"):
            inner = _csqrt(-(2 * p + 2 * m + s1 * 2 * q / np.where(biquad, 1, w)))
        for s2 in (1.0, -1.0):
            y = (s1 * w + s2 * inner) / 2
            yb = s2 * _csqrt(zq[0 if s1 > 0 else 1])
            out.append(np.where(biquad, yb, y) + shift)
    return out


def _closed_form_roots(monic: np.ndarray) -> np.ndarray:
    deg = monic.shape[-1]
    cols = [monic[:, k] for k in range(deg)]
    if deg == 1:
        return -cols[0][:, None]
    if deg == 2:
        return np.stack(_quadratic_monic(*cols), axis=-1)
    if deg == 3:
        return np.stack(_cubic_monic(*cols), axis=-1)
    return np.stack(_quartic_monic(*cols), axis=-1)


def _root_quality_ok(coeffs: np.ndarray, roots: np.ndarray, tol: float) -> np.ndarray:
    """Rows whose roots all have a small backward error and whose product matches the constant term."""
    c = coeffs[:, None, :]
    absr = np.abs(roots)
    d = coeffs.shape[-1] - 1
    powers = absr[..., None] ** np.arange(d, -1, -1)
    scale = (np.abs(c) * powers).sum(axis=-1)
    with np.errstate(all="ignore"):
        backward = np.abs(polyval(c, roots)) / scale
        # Vieta: the roots must be the *whole* root set, not one root found twice
        vieta = np.abs(np.prod(roots, axis=-1) * (-1) ** d * coeffs[:, 0] - coeffs[:, -1])
        vscale = np.abs(coeffs[:, 0]) * np.prod(np.maximum(absr, 1e-300), axis=-1) + np.abs(coeffs[:, -1])
        vsum = np.abs(roots.sum(axis=-1) * coeffs[:, 0] + coeffs[:, 1])
        sscale = np.abs(coeffs[:, 0]) * absr.sum(axis=-1) + np.abs(coeffs[:, 1])
    ok = np.all(np.isfinite(roots), axis=-1) & np.all(backward <= tol, axis=-1)
    ok &= (vieta <= 1e3 * tol * vscale + 1e-300) & (vsum <= 1e3 * tol * sscale + 1e-300)
    return ok


def polyroots(coeffs: Any, *, polish: bool = True, method: str = "auto") -> np.ndarray:
    """All roots of many polynomials at once.

    Args:
        coeffs: shape ``(..., d+1)``, highest degree first, real or complex. A polynomial whose leading
            coefficients vanish exactly has lower degree; its missing roots are returned as ``inf`` (as a
            generalized eigenvalue solver would).
        polish: Newton-polish the roots on the original coefficients.
        method: ``"auto"`` uses vectorized closed forms (quadratic, Cardano, Ferrari) for degree <= 4, verifies
            every row (backward error below 1e-11 and Vieta's sum and product), and recomputes failing rows from
            companion-matrix eigenvalues; ``"companion"`` always uses eigenvalues.

    Returns:
        Complex array of shape ``(..., d)``.

    Raises:
        ValueError: non-finite coefficients or an identically zero polynomial.
    """
    c = np.asarray(coeffs)
    if c.ndim == 0 or c.shape[-1] < 2:
        raise ValueError("coeffs must have a last axis of length >= 2 (degree >= 1)")
    if not np.all(np.isfinite(c)):
        raise ValueError("coeffs must be finite")
    if method not in ("auto", "companion"):
        raise ValueError(f"method must be 'auto' or 'companion', got {method!r}")
    batch = c.shape[:-1]
    d = c.shape[-1] - 1
    flat = c.reshape(-1, d + 1)
    nz = flat != 0
    if not np.all(nz.any(axis=1)):
        raise ValueError("an identically zero polynomial has no well-defined roots")
    lead = nz.argmax(axis=1)  # index of first non-zero coefficient
    out = np.full((flat.shape[0], d), np.inf + 0j)
    for lead_idx in np.unique(lead):
        rows = np.flatnonzero(lead == lead_idx)
        deg = d - lead_idx
        if deg == 0:
            continue
        sub = flat[rows, lead_idx:]
        monic = (sub[:, 1:] / sub[:, :1]).astype(complex)
        todo = np.ones(rows.size, dtype=bool)
        r = np.empty((rows.size, deg), dtype=complex)
        if method == "auto" and deg <= 4:
            with np.errstate(all="ignore"):
                rc = _closed_form_roots(monic)
                if polish:
                    rc = newton_polish(sub, rc, steps=1)
            good = _root_quality_ok(sub.astype(complex), rc, 1e-11)
            r[good] = rc[good]
            todo = ~good
        if np.any(todo):
            comp = np.zeros((int(todo.sum()), deg, deg), dtype=monic.dtype if np.iscomplexobj(sub) else float)
            m_sub = monic[todo] if np.iscomplexobj(sub) else monic[todo].real
            comp[:, 0, :] = -m_sub
            if deg > 1:
                comp[:, np.arange(1, deg), np.arange(deg - 1)] = 1.0
            re = np.linalg.eigvals(comp).astype(complex)
            if polish:
                re = newton_polish(sub[todo], re)
            r[todo] = re
        out[rows, :deg] = r
    return out.reshape(*batch, d)


def polyroots_mp(coeffs: Sequence[Any], *, precision: int = 50, maxsteps: int = 200) -> list[mpmath.mpc]:
    """Roots of one polynomial (highest degree first) with mpmath at ``precision`` significant digits.

    Leading zero coefficients are dropped. Raises :class:`SolverError` if mpmath's Durand-Kerner iteration does not
    converge.
    """
    import mpmath

    with mpmath.workdps(precision + 10):
        cs = [mpmath.mpmathify(x) for x in coeffs]
        while cs and cs[0] == 0:
            cs = cs[1:]
        if len(cs) < 2:
            raise ValueError("polynomial of degree < 1 has no roots")
        try:
            roots = mpmath.polyroots(cs, maxsteps=maxsteps, extraprec=4 * precision)
        except mpmath.libmp.libhyper.NoConvergence as exc:  # pragma: no cover - mpmath's own failure
            raise SolverError(f"mpmath.polyroots did not converge at {precision} digits: {exc}") from None
        return [mpmath.mpc(r) for r in (roots if isinstance(roots, list) else [roots])]


# ----------------------------------------------------------------------------------------------------------------
# branch rules
# ----------------------------------------------------------------------------------------------------------------

def select_real_in_interval(roots: np.ndarray, lo: Any, hi: Any, *, extra: np.ndarray | None = None,
                            imag_tol: float = 1e-9, rel_pad: float = 1e-10,
                            rule: str = "real root in (lo, hi]") -> Solution:
    """Pick, per point, the unique real root in ``(lo, hi]``.

    Args:
        roots: complex roots of shape ``(..., d)``.
        lo, hi: interval ends, broadcasting against ``roots[..., 0]``.
        extra: optional boolean mask of shape ``(..., d)`` that a root must also satisfy (a problem-specific
            condition such as ``tau2 > 0``).
        imag_tol: a root counts as real if ``|Im| <= imag_tol * max(1, |root|)``.
        rel_pad: relative slack on the interval ends (rounding).

    Returns:
        A :class:`Solution` with the real value; status ``NO_PHYSICAL_ROOT`` or ``AMBIGUOUS_BRANCH`` where zero or
        several roots qualify (value NaN there), residual left as 0 (callers fill it in).
    """
    r = np.asarray(roots)
    lo = np.asarray(lo, dtype=float)[..., None]
    hi = np.asarray(hi, dtype=float)[..., None]
    mag = np.maximum(1.0, np.abs(r))
    real = np.isfinite(r) & (np.abs(r.imag) <= imag_tol * mag)
    x = r.real
    with np.errstate(invalid="ignore"):
        inside = real & (x > lo - rel_pad * np.abs(lo)) & (x <= hi + rel_pad * np.abs(hi))
    if extra is not None:
        inside &= extra
    count = inside.sum(axis=-1)
    status = np.where(count == 1, Status.SUCCESS, np.where(count == 0, Status.NO_PHYSICAL_ROOT,
                                                           Status.AMBIGUOUS_BRANCH)).astype(np.int8)
    idx = inside.argmax(axis=-1)
    val = np.take_along_axis(x, idx[..., None], axis=-1)[..., 0]
    val = np.where(count == 1, val, np.nan)
    return Solution(value=val, residual=np.zeros_like(val), status=status, branch=rule)


def select_upper_half_plane(roots: np.ndarray, *, min_imag: float = 0.0) -> Solution:
    """Pick the unique root with ``Im > min_imag`` (a Stieltjes transform at ``Im z > 0``)."""
    r = np.asarray(roots)
    ok = np.isfinite(r) & (r.imag > min_imag)
    count = ok.sum(axis=-1)
    status = np.where(count == 1, Status.SUCCESS, np.where(count == 0, Status.NO_PHYSICAL_ROOT,
                                                           Status.AMBIGUOUS_BRANCH)).astype(np.int8)
    idx = ok.argmax(axis=-1)
    val = np.take_along_axis(r, idx[..., None], axis=-1)[..., 0]
    val = np.where(count == 1, val, np.nan + 0j)
    return Solution(value=val, residual=np.zeros(val.shape), status=status, branch="Im m > 0")


def continue_roots(roots: np.ndarray, start: Any, *, axis: int = 0, predictor: bool = True) -> np.ndarray:
    """Follow one root along a sweep: at each step take the root nearest to the predicted position.

    Args:
        roots: complex roots, shape ``(n_steps, ..., d)`` (the sweep along ``axis``).
        start: the physical root at the first step (shape ``(...)``), chosen by a branch rule.
        predictor: predict by secant extrapolation from the two previous choices (``2 x_k - x_{k-1}``); without it,
            the previous choice itself. The predictor keeps the branch when the root moves by as much as the gap to a
            neighbouring root per step.

    Returns:
        The continued root, shape ``(n_steps, ...)``.
    """
    r = np.moveaxis(np.asarray(roots), axis, 0)
    cur = np.asarray(start, dtype=complex)
    prev = cur
    out = np.empty(r.shape[:-1], dtype=complex)
    for k in range(r.shape[0]):
        target = 2 * cur - prev if (predictor and k >= 2) else cur
        with np.errstate(invalid="ignore"):
            dist = np.abs(r[k] - target[..., None])
        dist = np.where(np.isfinite(dist), dist, np.inf)
        idx = dist.argmin(axis=-1)
        nxt = np.take_along_axis(r[k], idx[..., None], axis=-1)[..., 0]
        prev, cur = (cur if k >= 1 else nxt), nxt
        out[k] = cur
    return np.moveaxis(out, 0, axis)


def stieltjes_roots(coeff_fn: Callable[[np.ndarray], np.ndarray], z: Any, *, start_imag: float = 1e4,
                    steps: int = 60, final_imag: float = 1e-10, throw: bool = True) -> Solution:
    r"""The physical root ``m(z)`` of a polynomial equation for a Stieltjes transform, for real or complex ``z``.

    Branch rule: at ``z_0 = Re z + i start_imag`` the physical root is the one closest to ``-1/z_0`` (a probability
    measure has ``m(z) ~ -1/z``); it is then continued along ``Re z + i y`` with ``y`` decreasing geometrically to
    ``max(Im z, final_imag)``, taking at each step the root nearest to the previous one. The result must lie in the
    closed upper half plane; otherwise the status is ``NO_PHYSICAL_ROOT``.

    Args:
        coeff_fn: maps complex ``z`` (any shape) to coefficients of shape ``z.shape + (d+1,)``.
        z: points (real numbers are read as ``x + i final_imag``).

    Returns:
        :class:`Solution` with complex values and the polynomial residual.
    """
    z = np.asarray(z, dtype=complex)
    y_end = np.maximum(z.imag, final_imag)
    frac = np.linspace(0.0, 1.0, steps)[:, None]
    ys = np.exp(np.log(start_imag) + frac * (np.log(y_end.ravel())[None, :] - np.log(start_imag)))
    path = z.real.ravel()[None, :] + 1j * ys  # (steps, n)
    coeffs = coeff_fn(path)
    roots = polyroots(coeffs)
    start = -1.0 / path[0]
    m = continue_roots(roots, start, predictor=False)[-1]  # geometric steps in Im z: no secant predictor
    final_coeffs = coeffs[-1]
    res = np.abs(polyval(final_coeffs, m)) / np.maximum(np.abs(final_coeffs).max(axis=-1), 1e-300)
    status = np.where(np.isfinite(m) & (m.imag >= -1e-12 * np.maximum(1.0, np.abs(m))), Status.SUCCESS,
                      Status.NO_PHYSICAL_ROOT).astype(np.int8)
    sol = Solution(value=m.reshape(z.shape), residual=res.reshape(z.shape), status=status.reshape(z.shape),
                   branch="continued from m(z) ~ -1/z at large Im z", iterations=steps)
    return _finish(sol, throw, "stieltjes_roots")


# ----------------------------------------------------------------------------------------------------------------
# scalar monotone equations and fixed points
# ----------------------------------------------------------------------------------------------------------------

def solve_monotone(f: Callable[[np.ndarray], np.ndarray], lo: Any, hi: Any, *, log: bool = True,
                   xtol: float = 1e-14, ftol: float = 0.0, maxiter: int = 300, throw: bool = True,
                   what: str = "solve_monotone", expand: bool = True) -> Solution:
    """Vectorized root of a monotone (either direction) function on a bracket ``[lo, hi]``.

    Uses bisection interleaved with Illinois (modified regula falsi) steps, in ``log x`` when ``log=True`` (the
    bracket must then be positive). The function is evaluated on whole arrays at once.

    Args:
        f: vectorized function of ``x`` with the shape of the bracket arrays.
        lo, hi: bracket ends (broadcast together).
        expand: if ``f`` has the same sign at both ends, first widen the bracket geometrically (in log space) up to
            30 times before giving up with ``NO_BRACKET``.
        xtol: relative tolerance on ``x``.

    Returns:
        :class:`Solution` whose residual is ``|f(value)|``.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
    lo = lo.copy()
    hi = hi.copy()
    if log and (np.any(lo <= 0) or np.any(hi <= 0)):
        raise ValueError("solve_monotone(log=True) needs a positive bracket")
    to_u = np.log if log else (lambda v: v)
    from_u = np.exp if log else (lambda v: v)
    flo = np.asarray(f(lo), dtype=float)
    fhi = np.asarray(f(hi), dtype=float)
    if expand:
        for _ in range(30 if log else 60):
            same = np.sign(flo) * np.sign(fhi) > 0
            if not np.any(same):
                break
            # move the end whose |f| is larger away from the other end
            width = to_u(hi) - to_u(lo)
            move_hi = same & (np.abs(fhi) <= np.abs(flo))
            move_lo = same & ~move_hi
            step = np.minimum(np.maximum(width, 1.0), 20.0) if log else np.maximum(width, 1.0)
            with np.errstate(over="ignore"):
                new_hi = from_u(to_u(hi) + np.where(move_hi, step, 0.0))
                new_lo = from_u(to_u(lo) - np.where(move_lo, step, 0.0))
            lo = np.where(move_lo, new_lo, lo)
            hi = np.where(move_hi, new_hi, hi)
            flo = np.where(move_lo, np.asarray(f(lo), dtype=float), flo)
            fhi = np.where(move_hi, np.asarray(f(hi), dtype=float), fhi)
    bracketed = (np.sign(flo) * np.sign(fhi) <= 0) & np.isfinite(flo) & np.isfinite(fhi)
    ua, ub = to_u(lo), to_u(hi)
    fa, fb = flo, fhi
    done = bracketed & ((fa == 0) | (fb == 0))
    x = np.where(fa == 0, lo, hi)
    side = np.zeros(lo.shape)  # Illinois bookkeeping: which end was retained last time
    it = 0
    for it in range(1, maxiter + 1):
        active = bracketed & ~done
        if not np.any(active):
            break
        # Illinois step, falling back to bisection every third iteration or when the step leaves the bracket
        with np.errstate(all="ignore"):
            us = ub - fb * (ub - ua) / (fb - fa)
        mid = 0.5 * (ua + ub)
        use_mid = (it % 3 == 0) | ~np.isfinite(us) | (us <= np.minimum(ua, ub)) | (us >= np.maximum(ua, ub))
        um = np.where(use_mid, mid, us)
        xm = from_u(um)
        fm = np.where(active, np.asarray(f(xm), dtype=float), 0.0)
        left = np.sign(fm) == np.sign(fa)
        # keep the sign change in [ua, ub]
        new_ua = np.where(active & left, um, ua)
        new_fa = np.where(active & left, fm, fa)
        new_ub = np.where(active & ~left, um, ub)
        new_fb = np.where(active & ~left, fm, fb)
        # Illinois: halve the stale end's value when the same end is retained twice
        stale_b = active & left & (side == 1)
        stale_a = active & ~left & (side == -1)
        new_fb = np.where(stale_b, 0.5 * new_fb, new_fb)
        new_fa = np.where(stale_a, 0.5 * new_fa, new_fa)
        side = np.where(active, np.where(left, 1, -1), side)
        ua, fa, ub, fb = new_ua, new_fa, new_ub, new_fb
        x = np.where(active, xm, x)
        width = np.abs(ub - ua) if log else np.abs(ub - ua) / np.maximum(np.abs(ua), np.abs(ub)).clip(1e-300)
        # a bracket as narrow as the float64 grid allows has converged: in log space the spacing of u = log x near
        # |u| ~ 700 (x ~ 1e-300) is 1.1e-13, above xtol, so the width alone would never get there
        grid = 4.0 * np.finfo(float).eps * np.maximum(np.abs(ua), np.abs(ub)) if log else 4.0 * np.finfo(float).eps
        conv = (width <= np.maximum(xtol, grid)) | (fm == 0) | (np.abs(fm) <= ftol)
        done = done | (active & conv)
    fx = np.asarray(f(x), dtype=float)
    status = np.where(~bracketed, Status.NO_BRACKET,
                      np.where(done, np.where(np.isfinite(fx), Status.SUCCESS, Status.NONFINITE),
                               Status.MAX_ITERATIONS)).astype(np.int8)
    value = np.where(status == Status.SUCCESS, x, np.nan)
    sol = Solution(value=value, residual=np.abs(fx), status=status,
                   branch="unique root of a monotone equation on its bracket", iterations=it)
    return _finish(sol, throw, what)


def fixed_point(g: Callable[[Any], Any], x0: Any, *, damping: float = 0.5, tol: float = 1e-13,
                maxiter: int = 10_000, throw: bool = True, what: str = "fixed_point") -> Solution:
    """Damped fixed-point iteration ``x <- (1-damping) x + damping g(x)``, vectorized, with an iteration cap.

    Convergence is judged per point on ``|g(x) - x| <= tol * max(1, |x|)``; points that converge are frozen.
    ``x0`` may be a tuple of arrays (a system); ``g`` then returns a tuple of the same structure.
    """
    system = isinstance(x0, tuple)
    x = tuple(np.asarray(v, dtype=float).copy() for v in (x0 if system else (x0,)))
    shape = np.broadcast_shapes(*(v.shape for v in x))
    x = tuple(np.broadcast_to(v, shape).copy() for v in x)
    done = np.zeros(shape, dtype=bool)
    res = np.full(shape, np.inf)
    it = 0
    for it in range(1, maxiter + 1):
        gx = g(*x) if system else (g(x[0]),)
        gx = tuple(np.broadcast_to(np.asarray(v, dtype=float), shape) for v in gx)
        res = np.max(np.stack([np.abs(a - b) / np.maximum(1.0, np.abs(a)) for a, b in zip(gx, x)]), axis=0)
        conv = res <= tol
        x = tuple(np.where(done, a, np.where(conv, b, (1 - damping) * a + damping * b)) for a, b in zip(x, gx))
        done = done | conv
        if np.all(done | ~np.isfinite(res)):
            break
    status = np.where(done, Status.SUCCESS, np.where(np.isfinite(res), Status.MAX_ITERATIONS,
                                                     Status.NONFINITE)).astype(np.int8)
    vals = tuple(np.where(status == Status.SUCCESS, v, np.nan) for v in x)
    sol = Solution(value=vals if system else vals[0], residual=res, status=status,
                   branch="damped fixed-point iteration from the given start", iterations=it)
    return _finish(sol, throw, what)


def monotone_newton(f_and_df: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], x0: Any, *,
                    maxiter: int = 200, rtol: float = 4.0 * np.finfo(float).eps, throw: bool = True,
                    what: str = "monotone_newton") -> Solution:
    r"""Newton's method for a convex function, started to the right of its root, vectorized over points.

    If ``f`` is convex with ``f(x0) >= 0`` and ``f(x) < 0`` somewhere left of ``x0``, its root ``x*`` in that range
    is unique and ``f' > 0`` on ``[x*, x0]``, so the Newton iterates decrease monotonically to ``x*`` and never cross
    it (Fourier's condition). Iteration stops per point when the step falls below ``rtol |x|`` or when ``f`` is no
    longer positive (the root has been reached within rounding). Only unfinished points are re-evaluated.

    Args:
        f_and_df: ``f_and_df(x, idx) -> (f(x), f'(x))`` where ``idx`` are the flat indices of the points ``x``
            (so the callable can slice its parameter arrays).
        x0: starting points (flattened) with ``f(x0) >= 0``.
        maxiter: iteration cap. rtol: relative step size that counts as converged.
        throw: raise :class:`SolverError` when a point does not converge (else report it in ``status``).

    Returns:
        :class:`Solution` (flat arrays): ``value`` the last iterate at every point (also where the iteration failed,
        so that callers can evaluate their own residual there), ``residual`` ``|f|`` at the last evaluation (at
        ``value`` for converged points, at the previous iterate otherwise), ``status`` ``SUCCESS``,
        ``MAX_ITERATIONS`` or ``NONFINITE`` (a non-finite Newton step).
    """
    x = np.array(x0, dtype=float, copy=True).ravel()
    done = np.zeros(x.shape, dtype=bool)
    bad = np.zeros(x.shape, dtype=bool)
    resid = np.full(x.shape, np.inf)
    idx = np.arange(x.size)
    it = 0
    for it in range(1, maxiter + 1):
        if idx.size == 0:
            break
        xi = x[idx]
        f, df = f_and_df(xi, idx)
        resid[idx] = np.abs(f)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = f / df
        stop = (f <= 0) | (np.abs(step) <= rtol * np.abs(xi))
        ok_step = np.isfinite(step) & ~stop
        x[idx[ok_step]] = xi[ok_step] - step[ok_step]
        nonfinite = ~np.isfinite(step) & ~stop
        done[idx[stop]] = True
        bad[idx[nonfinite]] = True
        idx = idx[ok_step]
    status = np.where(done, Status.SUCCESS, np.where(bad, Status.NONFINITE, Status.MAX_ITERATIONS)).astype(np.int8)
    sol = Solution(value=x, residual=resid, status=status,
                   branch="unique root of a convex equation left of the start (monotone Newton)", iterations=it)
    return _finish(sol, throw, what)


_INVPHI = (np.sqrt(5.0) - 1.0) / 2.0


def minimize_scalar(f: Callable[[np.ndarray], np.ndarray], lo: Any, hi: Any, *,
                    slope: Callable[[np.ndarray], np.ndarray] | None = None, xtol: float = 1e-10,
                    steps: int | None = None, maxiter: int = 300, throw: bool = True,
                    what: str = "minimize_scalar") -> Solution:
    r"""Minimise ``f`` on the bracket ``[lo, hi]`` at many points at once (the one 1-d minimiser of the package).

    Without ``slope``: golden-section search (all points step together; ``f`` is evaluated on whole arrays). The
    bracket shrinks by the golden ratio per step until every width is at most ``xtol`` (status ``MAX_ITERATIONS``
    after ``maxiter`` steps), or for exactly ``steps`` steps when given. The result is the better of the two
    interior points: the minimiser of a unimodal ``f`` within the final bracket (``f`` is only compared, so below
    about ``sqrt(eps)`` relative width the comparisons are decided by rounding).

    With ``slope`` (``f'``, vectorized): the minimiser is the sign change of ``f'`` from negative at ``lo`` to
    positive at ``hi``, found by :func:`solve_monotone` (bisection with Illinois steps) to absolute width
    ``xtol`` in the variable; ``NO_BRACKET`` where ``f'`` does not change sign on the bracket.

    Args:
        f: the objective, vectorized over the bracket arrays.
        lo, hi: bracket ends (broadcast together; ``lo < hi``).
        slope: the derivative ``f'`` (optional, see above).
        xtol: bracket width at which to stop. steps: a fixed number of golden-section steps instead.
        maxiter: iteration cap. throw: raise :class:`SolverError` on failure (else report it in ``status``).

    Returns:
        :class:`Solution` with ``value`` the minimiser, ``objective`` ``f(value)``, ``residual`` the final bracket
        width (golden section) or ``|f'(value)|`` (with ``slope``), ``status`` and ``iterations``.

    Example:
        >>> s = minimize_scalar(lambda u: (u - 0.3) ** 2, 0.0, 1.0)
        >>> abs(s.value - 0.3) < 1e-6
        True
    """
    a, b = (np.array(v, dtype=float) for v in np.broadcast_arrays(np.asarray(lo, dtype=float),
                                                                   np.asarray(hi, dtype=float)))
    if np.any(~(a < b)):
        raise ValueError("minimize_scalar needs lo < hi at every point")
    if slope is not None:
        # solve_monotone's log mode stops on an absolute width in log x: with x = exp(u - mid) that is an absolute
        # width ``xtol`` in u (the shift keeps exp finite for any bracket narrower than 1400)
        mid = 0.5 * (a + b)
        root = solve_monotone(lambda x: np.asarray(slope(np.log(x) + mid), dtype=float), np.exp(a - mid),
                              np.exp(b - mid), log=True, xtol=xtol, maxiter=maxiter, throw=False, what=what,
                              expand=False)
        u = np.log(root.value) + mid
        ok = root.status == Status.SUCCESS
        obj = np.where(ok, np.asarray(f(np.where(ok, u, mid)), dtype=float), np.nan)
        sol = Solution(value=u, residual=root.residual, status=root.status,
                       branch="sign change of the derivative from - to + on the bracket", iterations=root.iterations,
                       objective=obj)
        return _finish(sol, throw, what)
    c, d = b - _INVPHI * (b - a), a + _INVPHI * (b - a)
    fc, fd = np.asarray(f(c), dtype=float), np.asarray(f(d), dtype=float)
    limit = maxiter if steps is None else int(steps)
    it = 0
    while it < limit and (steps is not None or np.max(b - a) > xtol):
        it += 1
        left = fc <= fd  # the minimum lies in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        c_new = np.where(left, b - _INVPHI * (b - a), d)
        d_new = np.where(left, c, a + _INVPHI * (b - a))
        fresh = np.asarray(f(np.where(left, c_new, d_new)), dtype=float)
        fc, fd = np.where(left, fresh, fd), np.where(left, fc, fresh)
        c, d = c_new, d_new
    width = b - a
    converged = np.full(width.shape, True) if steps is not None else width <= xtol
    best_c = fc <= fd
    sol = Solution(value=np.where(best_c, c, d), residual=width,
                   status=np.where(converged, Status.SUCCESS, Status.MAX_ITERATIONS).astype(np.int8),
                   branch="golden-section search on the bracket (a unimodal minimum)", iterations=it,
                   objective=np.where(best_c, fc, fd))
    return _finish(sol, throw, what)


def bracket_root_mp(f: Callable[[Any], Any], lo: Any, hi: Any, *, tol: Any, maxiter: int = 2000,
                    what: str = "bracket_root_mp") -> Solution:
    """Root of a scalar (mpmath) function with a sign change on ``[lo, hi]``: Illinois (modified regula falsi)
    steps, a bisection every third step, until the bracket's relative width is at most ``tol`` or ``f`` is exactly 0.

    Returns:
        :class:`Solution` with scalar ``value`` (an ``mpmath.mpf`` for mpmath input), ``residual`` ``|f(value)|``.

    Raises:
        SolverError: no sign change on the bracket (``NO_BRACKET``) or no convergence in ``maxiter`` steps.
    """
    ok = np.array(Status.SUCCESS, dtype=np.int8)
    branch = "the root on the sign-change bracket"
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return Solution(value=lo, residual=abs(flo), status=ok, branch=branch)
    if fhi == 0:
        return Solution(value=hi, residual=abs(fhi), status=ok, branch=branch)
    if flo * fhi > 0:
        import mpmath

        raise SolverError(f"{what}: no sign change on [{mpmath.nstr(lo, 8)}, {mpmath.nstr(hi, 8)}]",
                          status=Status.NO_BRACKET)
    side = 0
    for it in range(1, maxiter + 1):
        if it % 3 == 0:
            x = (lo + hi) / 2
        else:
            x = hi - fhi * (hi - lo) / (fhi - flo)
            if not (min(lo, hi) < x < max(lo, hi)):
                x = (lo + hi) / 2
        fx = f(x)
        if fx == 0 or abs(hi - lo) <= tol * max(abs(lo), abs(hi)):
            return Solution(value=x, residual=abs(fx), status=ok, branch=branch, iterations=it)
        if (fx > 0) == (flo > 0):
            lo, flo = x, fx
            if side == -1:
                fhi /= 2
            side = -1
        else:
            hi, fhi = x, fx
            if side == 1:
                flo /= 2
            side = 1
    raise SolverError(f"{what}: no convergence in {maxiter} iterations", status=Status.MAX_ITERATIONS)
