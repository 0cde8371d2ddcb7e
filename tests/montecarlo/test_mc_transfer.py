"""Theory of feature transfer (rmt.theory.transfer) against the JAX simulation of the pipeline
(rmt.montecarlo.transfer): tasks drawn from the prior, Gaussian data, ridge regression on the features.

Criterion: ``|sim - theory| <= 4 se + allowance |theory| + 1e-12`` with the eigenframework's finite-size allowance
(``3/n``, ``8/n`` within 30 % of the ridgeless divergence ``n = kept``; measured O(1/n) deviations of the
deterministic equivalent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmt.montecarlo.transfer import simulate_transfer
from rmt.theory.transfer import TransferSetting, features, optimal_features, transfer


def _check(st, b, n, ridge, noise, trials, seed):
    th = transfer(st, b, n, ridge, noise)
    sim = simulate_transfer(st.eigenvalues, st.target_power, b, n, ridge, noise, trials=trials, seed=seed)
    kept = int((np.asarray(b) > 0).sum())
    allowance = (8.0 if abs(math.log(n / kept)) < 0.3 else 3.0) / n
    worst = 0.0
    for key, tv in (("test_error", th.test_error), ("bias", th.bias), ("variance", th.variance),
                    ("V_X", th.V_X), ("V_eps", th.V_eps)):
        tv = float(tv)
        dev = abs(sim.values[key] - tv)
        tol = 4 * sim.stderr[key] + allowance * abs(tv) + 1e-12
        assert dev <= tol, (key, tv, sim.values[key], sim.stderr[key])
        worst = max(worst, dev / tol)
    return worst


def test_small_pipeline_matches_theory():
    st = TransferSetting.power_law(1.5, 1.8, 60)
    _check(st, features("top:30", st), 40, 0.05, 0.2, trials=24, seed=3)


def test_simulation_rejects_the_divergence_and_bad_input():
    st = TransferSetting.power_law(1.5, 1.8, 20)
    with pytest.raises(ValueError, match="divergence"):
        simulate_transfer(st.eigenvalues, st.target_power, features("top:10", st), 10, 0.0, trials=3)
    with pytest.raises(ValueError, match="features"):
        simulate_transfer(st.eigenvalues, st.target_power, np.zeros(20), 10, 0.1, trials=3)
    with pytest.raises(ValueError, match="trials"):
        simulate_transfer(st.eigenvalues, st.target_power, np.ones(20), 10, 0.1, trials=2)


@pytest.mark.slow
@pytest.mark.parametrize("spec,ridge", [("identity", 0.0), ("identity", 0.05), ("top:150", 0.0), ("top:150", 0.05),
                                        ("power:0.5", 0.05), ("power:-0.25", 0.0), ("optimal", 0.05),
                                        ("optimal", 0.0)])
def test_pipeline_d400_n300(spec, ridge):
    st = TransferSetting.power_law(1.5, 1.8, 400)
    b = optimal_features(st, 300, ridge, 0.25).b if spec == "optimal" else features(spec, st)
    _check(st, b, 300, ridge, 0.25, trials=60, seed=7)


@pytest.mark.slow
def test_ridgeless_pcr_across_the_divergence():
    st = TransferSetting.power_law(1.5, 1.8, 200)
    for K in (60, 90, 110, 140):
        _check(st, features(f"top:{K}", st), 100, 0.0, 0.25, trials=60, seed=K)


def test_ridgeless_pcr_noise_term_is_the_exact_wishart_value():
    """Least squares on K Gaussian features: E tr (Z^T Z)^-1 Sigma_z = K / (n - K - 1) exactly at finite n (inverse
    Wishart mean), so the simulated V_eps must equal noise K/(n - K - 1) (the limit K/(n - K) is 1/(n-K) lower)."""
    st = TransferSetting.power_law(1.5, 1.8, 20)
    sim = simulate_transfer(st.eigenvalues, st.target_power, features("top:10", st), 30, 0.0, 0.5, trials=400,
                           seed=2, batch=50)
    exact = 0.5 * 10 / (30 - 10 - 1)
    assert abs(sim.values["V_eps"] - exact) <= 4 * sim.stderr["V_eps"]
    assert abs(sim.values["V_eps"] - 0.5 * 10 / 20) > 4 * sim.stderr["V_eps"]
