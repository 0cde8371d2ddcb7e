"""The float64 path of theory.random_features against the independent mpmath path at 50 digits.

The mpmath path takes tau1 as the quartic root of docs/models.md §3.6 (all four roots, unique-root rule), solves the
effective ridges and chi by bracketing in the G-form equations of §3.9 and §3.3 and differentiates tau numerically;
the float path uses Newton on convex equations, cancellation-free MP integrals and implicit differentiation.
Agreement to 1e-9 on random points checks the algebraic rewrites as well as the arithmetic.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from rmt import Problem
from rmt.theory.random_features import FINE_GRAINED_KEYS, rf_theory, rf_theory_mp

FIELDS = ("tau1", "tau2", "gamma_tilde", "kappa_prime", "chi", "overlap", "B_mm", "V_mm", "test_error",
          "train_error", "bias", "variance")


def _points(rng: np.random.Generator, n: int) -> list[dict]:
    out = []
    acts = ["relu", "tanh", "erf"]
    while len(out) < n:
        phi, psi = 10 ** rng.uniform(-1, 1, 2)
        if abs(phi / psi - 1) < 0.05:  # away from the interpolation threshold
            continue
        ridge = 0.0 if rng.uniform() < 0.15 else 10 ** rng.uniform(-4, 1)
        out.append(dict(phi=phi, psi=psi, ridge=ridge, activation=acts[len(out) % 3], noise=rng.uniform(0, 1),
                        signal=rng.uniform(0.5, 2), nonlinear_signal=rng.uniform(0, 0.5)))
    return out


def _rel(a: float, b) -> float:
    b = float(b)
    if math.isinf(b):
        return 0.0 if a == b else math.inf
    return abs(a - b) / max(abs(b), 1e-300) if b != 0 else abs(a)


def test_float_path_matches_mpmath_on_200_random_points():
    pts = _points(np.random.default_rng(2024), 200)
    worst: dict[str, tuple[float, int]] = {}
    for act in ("relu", "tanh", "erf"):
        idx = [i for i, p in enumerate(pts) if p["activation"] == act]
        grid = Problem.from_ratios(np.array([pts[i]["phi"] for i in idx]), np.array([pts[i]["psi"] for i in idx]),
                                   ridge=np.array([pts[i]["ridge"] for i in idx]), activation=act,
                                   noise=np.array([pts[i]["noise"] for i in idx]),
                                   signal=np.array([pts[i]["signal"] for i in idx]),
                                   nonlinear_signal=np.array([pts[i]["nonlinear_signal"] for i in idx]))
        fl = rf_theory(grid)
        for j, i in enumerate(idx):
            mp = rf_theory_mp(Problem.from_ratios(**pts[i]), precision=50)
            assert mp.diagnostics.ok
            for k in FIELDS:
                e = _rel(float(np.asarray(getattr(fl, k))[j]), getattr(mp, k))
                worst[k] = max(worst.get(k, (0.0, -1)), (e, i))
            for k in FINE_GRAINED_KEYS:
                a, b = float(fl.fine_grained[k][j]), mp.fine_grained[k]
                # absolute for terms that vanish (no noise), relative otherwise
                e = abs(a - float(b)) if b == 0 else _rel(a, b)
                worst[k] = max(worst.get(k, (0.0, -1)), (e, i))
    bad = {k: (e, pts[i]) for k, (e, i) in worst.items() if not e <= 1e-9}
    assert not bad, bad


def test_mpmath_result_is_high_precision():
    p = Problem.from_ratios(0.5, 0.5, ridge=0.1, activation="relu", noise=0.25)
    mp = rf_theory_mp(p, precision=60)
    assert isinstance(mp.test_error, mpmath.mpf) and mp.precision == 60
    # identities hold to the working precision
    with mpmath.workdps(60):
        assert abs(mp.bias + mp.variance - mp.test_error) < mpmath.mpf(10) ** -55
        assert mp.diagnostics.residual < mpmath.mpf(10) ** -55
    assert float(mp.tau1) == pytest.approx(4.97964, abs=5e-6)
    # the threshold in mpmath too
    thr = rf_theory_mp(Problem.from_ratios(0.5, 0.5, ridge=0.0, noise=0.25))
    assert thr.test_error == mpmath.inf and thr.fine_grained["PX"] == mpmath.inf
    assert float(thr.bias) == pytest.approx(rf_theory(Problem.from_ratios(0.5, 0.5, ridge=0.0)).bias, rel=1e-12)


def test_mpmath_near_the_threshold():
    """Close to n1 = m with a tiny ridge the float path loses about log10(V_PX) digits (docs/models.md §3.14); it
    still agrees with 50-digit arithmetic to that accuracy, and the mpmath path gives the value to full precision."""
    for eps, ridge in ((1e-3, 1e-10), (1e-6, 1e-14), (1e-9, 1e-14)):
        p = Problem.from_ratios(0.5, 0.5 * (1 + eps), ridge=ridge, activation="relu", noise=0.25)
        fl = rf_theory(p)
        mp = rf_theory_mp(p, precision=50)
        assert float(mp.fine_grained["PX"]) > 100
        for k in ("PX", "PXeps"):
            assert _rel(fl.fine_grained[k], mp.fine_grained[k]) < 1e-14 * float(mp.test_error)
        assert _rel(fl.test_error, mp.test_error) < 1e-14 * float(mp.test_error)
        assert _rel(fl.bias, mp.bias) < 1e-13  # the finite terms keep full accuracy


def test_mpmath_bad_input():
    with pytest.raises(ValueError, match="grid"):
        rf_theory_mp(Problem.from_ratios(np.array([0.5, 1.0]), 1.0, ridge=0.1))
    with pytest.raises(ValueError, match="precision"):
        rf_theory_mp(Problem.from_ratios(0.5, 1.0, ridge=0.1), precision=5)
    with pytest.raises(ValueError, match="zeta"):
        rf_theory_mp(Problem.from_ratios(0.5, 1.0, ridge=0.1, activation="quadratic"))
