r"""The mpmath path of :mod:`theory.random_features`: the same quantities at arbitrary precision, for one problem.

It is written to be *independent* of the float64 route of :mod:`theory._rf_core`, so that agreement between the two
checks the algebra as well as the arithmetic. It follows the reference sheet (../shared/reference/random_features.md)
literally:

* ``tau1`` is the sheet's physical root of the (S67)/(S68) quartic (derived symbolically by
  :func:`rmt.kernel_spectrum.rf_kernel_polynomial`): all four roots by :func:`rmt.solvers.polyroots_mp`, then the
  unique real root in ``(0, 1/ridge]`` with ``tau2 > 0`` (``SolverError`` if none or several); ``tau2`` by the sheet's
  rational formula;
* ``gamma_tilde`` and ``kappa'`` as roots of the sheet's effective-ridge equations (3.6 (i), (ii)) written with the
  sheet's ``G_r`` (section 7.2 form), bracketed on ``[g0, g0 + c eta]`` (the root is unique there, see
  :mod:`theory._rf_core`) and located by Illinois/bisection;
* ``chi`` by the same bracketed solver on ``(chi0, 0)`` (the interval on which ``a_1, a_2 > 0``), after which both
  of MM's original fixed-point equations are checked at ``(a_1, a_2)``;
* the terms by the sheet's formulas in ``G`` and ``K`` (3.6 (iii)), the training error by a central difference of
  the quartic root in ``ridge`` (step ``ridge 10^(-precision/3)``), the ridgeless limit by the ridgeless equations
  of 3.7 (bracketed, not the closed-form quadratic roots of the float path).
"""

from __future__ import annotations

import types
from typing import Any, Callable

import mpmath
import sympy as sp

from rmt._validation import check_positive_int
from rmt.activations import constants
from rmt.kernel_spectrum import TAU1, rf_kernel_polynomial
from rmt.problem import Problem
from rmt.solvers import SolverError, Status, polyroots_mp
from rmt.theory._rf_core import FINE_GRAINED_KEYS, RFDiagnostics, RFResult, rf_constants
from rmt.theory._rf_mm import mm_E_polynomials

__all__ = ["rf_theory_mp"]

_COEFF_FNS: dict[str, Callable[..., list[Any]]] = {}


def _quartic_coeffs(phi, psi, ridge, eta, zeta) -> list[Any]:
    if "fn" not in _COEFF_FNS:
        res = rf_kernel_polynomial()
        _COEFF_FNS["fn"] = sp.lambdify(res.parameters, sp.Poly(res.expr, TAU1).all_coeffs(), modules="mpmath")
    return [mpmath.mpf(c) for c in _COEFF_FNS["fn"](phi, psi, ridge, eta, zeta)]


def _G(t, r):
    """The sheet's MP transform ``G_r(t)`` (section 1.2), in the stable form of section 7.2."""
    a = 1 - r + t
    D = a * a + 4 * r * t
    return 2 / (mpmath.sqrt(D) + a) if a >= 0 else (mpmath.sqrt(D) - a) / (2 * r * t)


def _K(t, r):
    """``K_r(t) = -G_r'(t) = (r G^2 + G) / (2 r t G + 1 - r + t)`` (section 1.2)."""
    g = _G(t, r)
    return (r * g * g + g) / (2 * r * t * g + 1 - r + t)


def _bracket_root(f: Callable[[Any], Any], lo: Any, hi: Any, what: str, *, tol: Any, maxiter: int = 2000) -> Any:
    """Root of ``f`` on ``[lo, hi]`` with a sign change (Illinois steps, bisection every third step)."""
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if flo * fhi > 0:
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
            return x
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


def _tau_from_quartic(phi, psi, ridge, eta, zeta, prec: int) -> tuple[Any, Any]:
    """The sheet's physical quartic root (unique real root in ``(0, 1/ridge]`` with ``tau2 > 0``)."""
    roots = polyroots_mp(_quartic_coeffs(phi, psi, ridge, eta, zeta), precision=prec)
    cands = []
    for z in roots:
        if abs(z.imag) > mpmath.mpf(10) ** (-(prec // 2)) * max(1, abs(z)):
            continue
        t1 = z.real
        if not (t1 > 0 and (ridge == 0 or ridge * t1 <= 1)):
            continue
        t2 = phi ** 2 * t1 / (phi ** 2 + (phi - psi) * zeta * t1 + ridge * psi * zeta * t1 ** 2)
        if t2 > 0:
            cands.append((t1, t2))
    if len(cands) != 1:
        raise SolverError(f"tau1: {len(cands)} quartic roots satisfy the branch rule at phi={mpmath.nstr(phi, 8)}, "
                          f"psi={mpmath.nstr(psi, 8)}, ridge={mpmath.nstr(ridge, 8)}",
                          status=Status.NO_PHYSICAL_ROOT if not cands else Status.AMBIGUOUS_BRANCH)
    return cands[0]


def _continue_tau(t1, phi, psi, ridge, eta, zeta, tol) -> tuple[Any, Any]:
    """Newton on the quartic from ``t1`` (the physical root at a neighbouring ``ridge``)."""
    cs = _quartic_coeffs(phi, psi, ridge, eta, zeta)
    dcs = [c * (len(cs) - 1 - k) for k, c in enumerate(cs[:-1])]
    for _ in range(50):
        step = mpmath.polyval(cs, t1) / mpmath.polyval(dcs, t1)
        t1 -= step
        if abs(step) <= tol * abs(t1):
            break
    else:
        raise SolverError("tau1: Newton continuation did not converge", status=Status.MAX_ITERATIONS)
    t2 = phi ** 2 * t1 / (phi ** 2 + (phi - psi) * zeta * t1 + ridge * psi * zeta * t1 ** 2)
    return t1, t2


def rf_theory_mp(problem: Problem, *, precision: int = 50) -> RFResult:
    """mpmath evaluation at ``precision`` significant digits; see :func:`theory.random_features.rf_theory_mp`."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be an rmt.Problem, got {type(problem).__name__}")
    if not problem.is_scalar:
        raise ValueError(f"rf_theory_mp evaluates one problem; this one is a grid of shape {problem.shape} "
                         "(loop over problem.map or use rf_theory)")
    prec = check_positive_int(precision, "precision", minimum=15)
    rf_constants(problem)  # validation (isotropy, nonlinearity)
    dps = prec + 15
    with mpmath.workdps(dps):
        c = constants(problem.activation, precision=dps)
        eta, zeta = +c.eta, +c.zeta
        if not zeta > 0:
            raise ValueError("rf_theory_mp needs zeta = mu1^2 > 0 (the sheet's G-forms divide by zeta); "
                             f"{problem.activation.name!r} has zeta = 0: use rf_theory")
        a = eta - zeta
        mpf = mpmath.mpf
        n0, n1, m = mpf(problem.n0), mpf(problem.n1), mpf(problem.m)
        phi, psi = n0 / m, n0 / n1
        ridge, noise, signal, fstar = (mpf(getattr(problem, k)) for k in ("ridge", "noise", "signal",
                                                                           "nonlinear_signal"))
        tol = mpf(10) ** (-(prec + 8))
        psi1, psi2 = 1 / psi, 1 / phi
        z2 = zeta / a
        residuals: dict[str, Any] = {}

        def eff_eq(cr, r, g0):
            # the sheet's equation  g - g0 = g c [1 - (g/zeta) G_r((a+g)/zeta)]
            return lambda g: g - g0 - g * cr * (1 - g / zeta * _G((a + g) / zeta, r))

        pmin = min(psi1, psi2)
        Bq = pmin * z2 - z2 - 1
        chi0 = (-Bq - mpmath.sqrt(Bq * Bq + 4 * z2 * pmin)) / (2 * z2)  # the negative root (sheet 2.3)
        if ridge > 0:
            tau1, tau2 = _tau_from_quartic(phi, psi, ridge, eta, zeta, dps)
            f_gt = eff_eq(psi / phi, 1 / phi, ridge)
            gt = _bracket_root(f_gt, ridge, ridge + psi / phi * eta, "gamma_tilde", tol=tol)
            f_kp = eff_eq(phi / psi, 1 / psi, ridge * phi / psi)
            kp = _bracket_root(f_kp, ridge * phi / psi, ridge * phi / psi + phi / psi * eta, "kappa_prime", tol=tol)
            residuals["gamma_tilde"] = abs(f_gt(gt)) / gt
            residuals["kappa_prime"] = abs(f_kp(kp)) / kp
            lam_bar = phi * ridge / a
            s = mpmath.sqrt(psi1 * psi2 * lam_bar)

            def H(chi):
                q = chi * (1 + z2 / (1 - z2 * chi))
                return (psi1 + q) * (psi2 + q) + s * s * chi

            chi = _bracket_root(H, chi0, mpf(0), "chi", tol=tol)
            # MM's original equations at nu_j = i a_j (sheet 2.2)
            q = chi * (1 + z2 / (1 - z2 * chi))
            a1, a2 = (psi1 + q) / s, (psi2 + q) / s
            if not (a1 > 0 and a2 > 0):
                raise SolverError("chi: the root does not have a1, a2 > 0", status=Status.NO_PHYSICAL_ROOT)
            e1 = a1 - psi1 / (s + a2 + z2 * a2 / (1 + z2 * a1 * a2))
            e2 = a2 - psi2 / (s + a1 + z2 * a1 / (1 + z2 * a1 * a2))
            residuals["chi"] = max(abs(e1) / a1, abs(e2) / a2)
            # training error: central difference of the physical quartic root in ridge, continued by Newton from
            # the root at ridge (a relative step of 10^(-dps/3) cannot jump to another branch)
            h = ridge * mpf(10) ** (-(dps // 3))
            tp1, tp2 = _continue_tau(tau1, phi, psi, ridge + h, eta, zeta, tol)
            tm1, tm2 = _continue_tau(tau1, phi, psi, ridge - h, eta, zeta, tol)
            dt1, dt2 = (tp1 - tm1) / (2 * h), (tp2 - tm2) / (2 * h)
            train = -ridge ** 2 * (signal * dt2 + (noise + fstar) * dt1)
            E0, E1, E2 = mm_E_polynomials(chi, z2, psi1, psi2)
            B_mm, V_mm = E1 / E0, E2 / E0
        else:
            # ridgeless (sheet 3.7): gamma_tilde_0 > 0 iff n1 < m, kappa'_0 > 0 iff n1 > m, both bracketed
            def ridgeless_root(cr, r, what):
                f = lambda g: cr * (1 - g / zeta * _G((a + g) / zeta, r)) - 1  # noqa: E731
                hi = mpf(1)
                while f(hi) > 0:
                    hi *= 2
                return _bracket_root(f, mpf(10) ** (-dps), hi, what, tol=tol)

            gt = ridgeless_root(psi / phi, 1 / phi, "gamma_tilde_0") if phi < psi else mpf(0)
            kp = ridgeless_root(phi / psi, 1 / psi, "kappa_prime_0") if phi > psi else mpf(0)
            residuals["gamma_tilde"] = residuals["kappa_prime"] = mpf(0)
            if phi > psi:
                tau1, tau2 = _tau_from_quartic(phi, psi, mpf(0), eta, zeta, dps)
            else:
                tau1 = tau2 = mpmath.inf
            chi = chi0
            residuals["chi"] = mpf(0)
            if phi == psi:
                B_mm = V_mm = mpmath.inf
            else:
                E0, E1, E2 = mm_E_polynomials(chi, z2, psi1, psi2)
                B_mm, V_mm = E1 / E0, E2 / E0
            # training error (sheet 3.4): (1 - n1/m)_+ [noise + F*^2 + s B_lsamp(zeta_MM, psi1, 0)]
            frac = max(1 - phi / psi, mpf(0))
            Bw = psi1 * z2 - z2 - 1
            w = (-Bw - mpmath.sqrt(Bw * Bw + 4 * psi1 * z2)) / 2  # omega(zeta, psi1, 0)
            b_ls = ((w ** 3 - w ** 2) / z2 + psi1 * w - psi1) / ((w - 1) * (psi1 - 2 * w * psi1 + w * w * psi1
                                                                           - w * w))
            train = frac * (noise + fstar + signal * b_ls)
        # the terms (sheet 3.6 (iii)) in the sheet's G, K notation
        rho = (a + gt) / zeta
        t = phi * rho
        G, K = _G(t, phi), _K(t, phi)
        cc = 1 - t * G
        tW = (a + kp) / zeta
        GW, KW = _G(tW, 1 / psi), _K(tW, 1 / psi)
        c_w = (1 - tW * GW) / psi
        c_chi = -z2 * chi / (1 - z2 * chi)
        residuals["overlap"] = max(abs(cc - c_w), abs(cc - c_chi))
        vx = (1 - 2 * t * G + t * t * K) - cc * cc
        vxe = phi * (G - t * K)
        vp = ((1 - tW * GW) - kp / zeta * (GW - tW * KW)) / psi - cc * cc

        def scale(coef, x):
            return mpf(0) if coef == 0 else coef * x

        bias_unit = (1 - cc) ** 2
        vpx = B_mm - bias_unit - vp - vx
        vpxe = V_mm - vxe
        fg = {"P": signal * vp, "X": signal * vx + fstar * vxe, "eps": mpf(0), "PX": scale(signal, vpx)
              + scale(fstar, vpxe), "Peps": mpf(0), "Xeps": noise * vxe, "PXeps": scale(noise, vpxe)}
        bias = signal * bias_unit + fstar
        variance = sum((fg[k] for k in FINE_GRAINED_KEYS), mpf(0))
        test = scale(signal, B_mm) + scale(noise + fstar, V_mm) + fstar
        worst = max(residuals.values())
        status = Status.SUCCESS if worst <= mpf(10) ** (-(prec - 5)) else Status.MAX_ITERATIONS
        diag = RFDiagnostics(status=int(status), residual=worst, residuals=types.MappingProxyType(residuals),
                             branch="tau1: unique real quartic root in (0, 1/ridge] with tau2 > 0; gamma_tilde, "
                             "kappa': bracketed unique roots of the effective-ridge equations; chi: bracketed root "
                             "on (chi0, 0) (a1, a2 > 0)", iterations=types.MappingProxyType({}), method="mpmath")
        out = RFResult(problem=problem, eta=eta, zeta=zeta, tau1=tau1, tau2=tau2, gamma_tilde=gt, kappa_prime=kp,
                       chi=chi, overlap=cc, psi4=vx + cc * cc, psi5=vxe, B_mm=B_mm, V_mm=V_mm, test_error=test,
                       train_error=train, bias=bias, variance=variance,
                       fine_grained=types.MappingProxyType(fg), diagnostics=diag, precision=prec)
    if status != Status.SUCCESS:
        raise SolverError(f"rf_theory_mp: residual {mpmath.nstr(worst, 5)} above 1e-{prec - 5}",
                          residual=float(worst), status=status)
    return out
