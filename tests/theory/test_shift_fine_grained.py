"""rmt.theory.covariate_shift.shift_fine_grained: the seven-term decomposition of the error under covariate shift.

Independent references: without shift the terms must equal Adlam & Pennington's random-feature fine-grained terms
(rmt.theory.random_features.rf_theory, a different solver: its own coupled equations); the terms must sum to the
variance of the shift theory; structural zeros (no noise, no signal, infinite width); and, under shift, the unbiased
crossed-design ANOVA estimates of the simulation (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.problem import CovarianceSpectrum
from rmt.theory.covariate_shift import JointSpectrum, shift_fine_grained, two_point
from rmt.theory.random_features import rf_theory

KEYS = ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")
HARMFUL = CovarianceSpectrum(train=[1.6, 0.4], test=[0.4, 1.6], weights=[0.5, 0.5])
HELPFUL = CovarianceSpectrum(train=[1.6, 0.4], test=[1.9, 0.1], weights=[0.5, 0.5])


@pytest.mark.parametrize("phi,psi,ridge,noise,act", [(0.5, 0.25, 1e-3, 0.1, "tanh"), (2.0, 1.0, 0.1, 0.3, "tanh"),
                                                     (1.5, 0.8, 0.05, 0.2, "erf"), (0.7, 2.0, 0.0, 0.2, "tanh"),
                                                     (3.0, 0.5, 0.0, 0.1, "relu")])
def test_no_shift_equals_random_feature_terms(phi, psi, ridge, noise, act):
    rf = rf_theory(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, signal=1.3))
    fg = shift_fine_grained(phi, psi, ridge=ridge, activation=act, noise=noise, signal=1.3)
    for k in KEYS:
        assert float(fg.ood[k]) == pytest.approx(float(rf.fine_grained[k]), rel=1e-9, abs=1e-12), k
        assert float(fg.iid[k]) == pytest.approx(float(rf.fine_grained[k]), rel=1e-9, abs=1e-12), k
    assert float(fg.ood_bias) == pytest.approx(float(rf.bias), rel=1e-9)


@pytest.mark.parametrize("spec", [HARMFUL, HELPFUL, CovarianceSpectrum(train=[3.2, 0.8, 0.2], test=[0.5, 2.0, 1.0],
                                                                       weights=[0.2, 0.3, 0.5])])
def test_terms_sum_to_the_variance(spec):
    phi, psi = np.array([0.5, 2.0, 1.0])[:, None], np.array([0.25, 1.0, 4.0])[None, :]
    fg = shift_fine_grained(phi, psi, spectrum=spec, ridge=1e-2, activation="tanh", noise=0.2)
    tot = sum(np.asarray(fg.ood[k]) for k in KEYS)
    np.testing.assert_allclose(tot, fg.shift.variance, rtol=1e-12)
    np.testing.assert_allclose(sum(np.asarray(fg.iid[k]) for k in KEYS), fg.shift.id_variance, rtol=1e-12)
    for k in ("P", "X", "PX", "Xeps", "PXeps"):
        assert np.all(np.asarray(fg.ood[k]) >= 0), k


def test_structural_zeros_and_limits():
    # no noise: the eps terms vanish; no signal: only the eps terms remain
    fg = shift_fine_grained(0.8, 0.5, spectrum=HARMFUL, ridge=1e-2, noise=0.0)
    assert all(float(fg.ood[k]) == 0 for k in ("eps", "Peps", "Xeps", "PXeps"))
    fg = shift_fine_grained(0.8, 0.5, spectrum=HARMFUL, ridge=1e-2, noise=0.3, signal=0.0)
    assert all(float(fg.ood[k]) == 0 for k in ("P", "X", "PX"))
    # infinite width (psi -> 0): the features' randomness no longer matters, every P term vanishes
    fg = shift_fine_grained(0.8, 1e-9, spectrum=HARMFUL, ridge=1e-2, noise=0.3)
    assert all(abs(float(fg.ood[k])) < 1e-6 for k in ("P", "PX", "PXeps"))
    # ridgeless interpolation threshold: the P-terms diverge, the W-averaged ones stay finite
    fg = shift_fine_grained(1.0, 1.0, spectrum=HARMFUL, ridge=0.0, noise=0.3)
    assert np.isinf(fg.ood["PX"]) and np.isinf(fg.ood["PXeps"]) and np.isfinite(fg.ood["X"])


def test_amplification_ratios():
    fg = shift_fine_grained(0.5, 0.5, spectrum=HARMFUL, ridge=1e-2, noise=0.2)
    amp = fg.amplification()
    assert np.isnan(amp["eps"]) and amp["X"] > 1 and amp["Xeps"] == pytest.approx(amp["X"], rel=1e-12)
    fg = shift_fine_grained(0.5, 0.5, spectrum=HELPFUL, ridge=1e-2, noise=0.2)
    assert fg.amplification()["X"] < 1


# ---------------------------------------------------------------------------------------------------------------
# slow: against the simulation's unbiased ANOVA estimates, at two sizes
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("n0", [100, 200])
@pytest.mark.parametrize("name,spec,phi,psi", [("harmful", HARMFUL, 0.5, 0.5), ("helpful", HELPFUL, 0.5, 0.5),
                                               ("harmful", HARMFUL, 2.0, 0.5)])
def test_against_simulation(n0, name, spec, phi, psi):
    from rmt.montecarlo.covariate_shift import simulate_shift

    pr = Problem.from_ratios(phi, psi, ridge=1e-2, activation="tanh", noise=0.2, n0=n0, covariance=spec)
    sim = simulate_shift(pr, trials=(3, 3, 2), reps=4, seed=1)
    fg = shift_fine_grained(phi, psi, spectrum=spec, ridge=1e-2, activation="tanh", noise=0.2)
    for lab, s, th in (("ood", sim.ood, fg.ood), ("iid", sim.iid, fg.iid)):
        allow = 0.02 * float(s.test_error)  # finite size: the random-feature terms at n0 = 100-200 are within 1-2%
        for k in KEYS:
            dev = s.fine_grained[k] - float(th[k])
            se = s.stderr["fine_grained"][k]
            print(f"{name} n0={n0} phi={phi} {lab} V_{k}: sim {s.fine_grained[k]:.5f} +- {se:.5f}, theory "
                  f"{float(th[k]):.5f}")
            assert abs(dev) <= 4 * se + allow, (lab, k, s.fine_grained[k], se, float(th[k]))
