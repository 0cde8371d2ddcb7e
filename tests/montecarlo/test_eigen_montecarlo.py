"""Simulation checks of the eigenframework (theory.eigen) with montecarlo.eigen.

Pass criterion: |sim - theory| <= 4 sqrt(se^2 + (a * theory)^2) with a finite-size allowance ``a``. The
eigenframework is a deterministic equivalent whose corrections are O(1/n); measured at lambda_i = i^-1.5,
v_i^2 = i^-1.8 (200-400 datasets): relative deviations 1-2 % at n = 50-100 and 0.5-1 % at n = 200 for the test error,
bias and variance, and -0.2 to -0.6 % for the kappa-hat estimator. We use a = 3/n (a = 6/n next to the RF
interpolation peak, where 3-4 % was measured at n = p = 100; docs/validation.md). Heavy runs are marked slow.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rmt.montecarlo.eigen import EigenSimulation, simulate_eigen, simulate_eigen_krr, simulate_eigen_rf, u_statistic_sq_norm
from rmt.theory.eigen import EigenProblem, Eigensystem, evaluate, krr, rf

Z = 4.0


def _check(sim: EigenSimulation, theory: dict, allowance: float, keys=None) -> dict:
    z = sim.z_scores(theory, allowance=allowance)
    keys = keys or list(z)
    bad = {k: (sim.values[k], sim.stderr[k], theory[k], z[k]) for k in keys if abs(z[k]) > Z}
    assert not bad, f"outside {Z} standard errors (+{allowance:.3f} relative): {bad}"
    return z


@pytest.fixture(scope="module")
def spectrum():
    return Eigensystem.power_law(1.5, 1.8, 800)


@pytest.fixture(scope="module")
def krr_sim(spectrum):
    lam, v2 = spectrum.expanded()
    return simulate_eigen_krr(lam, v2, 100, 1e-2, 0.1, trials=80, seed=11, modes=True)


def test_krr_all_keys(spectrum, krr_sim):
    th = evaluate(EigenProblem(spectrum, n=100, ridge=1e-2, noise=0.1))
    th["kare"] = th["test_mse"]  # KARE estimates the test MSE (Jacot et al. arXiv:2006.09796; docs/models.md §6.3)
    _check(krr_sim, th, 3 / 100, ["test_error", "train_error", "bias", "variance", "test_mse", "kappa", "kare"])


def test_krr_per_mode_mean_and_fluctuation(spectrum, krr_sim):
    """E v_hat_i = L_i v_i and Var v_hat_i = L_i^2 E_te / n (Simon et al. arXiv:2110.03922; docs/models.md §6.1),
    at modes 1, 6, 21, 101."""
    r = krr(spectrum, 100, 1e-2, 0.1)
    idx = np.array([0, 5, 20, 100])
    mean_th = r.mean_coefficients()[idx]
    var_th = r.mode_variance()[idx]
    for i, k in enumerate(idx):
        se = math.hypot(krr_sim.mode_mean_stderr[k], 0.03 * mean_th[i])
        assert abs(krr_sim.mode_mean[k] - mean_th[i]) <= Z * se
        se = math.hypot(krr_sim.mode_variance_stderr[k], 0.05 * var_th[i])
        assert abs(krr_sim.mode_variance[k] - var_th[i]) <= Z * se


def test_rf_all_keys(spectrum):
    lam, v2 = spectrum.expanded()
    sim = simulate_eigen_rf(lam, v2, 100, 60, 1e-2, 0.1, datasets=40, feature_draws=3, seed=12)
    th = evaluate(EigenProblem(spectrum, n=100, ridge=1e-2, noise=0.1, p=60))
    th["kare"] = th["test_mse"]
    _check(sim, th, 3 / 100)


def test_reproducible_and_batch_independent(spectrum, krr_sim):
    """Replicate r draws from the engine's repetition key fold_in(key(seed), r): the (compatibility) batch size does
    not change the numbers, the seed does (shapes as in the module fixture, so the compiled kernel is reused)."""
    lam, v2 = spectrum.expanded()
    a = simulate_eigen_krr(lam, v2, 100, 1e-2, 0.1, trials=16, seed=11, batch=8)
    b = simulate_eigen_krr(lam, v2, 100, 1e-2, 0.1, trials=16, seed=11, batch=16)
    c = simulate_eigen_krr(lam, v2, 100, 1e-2, 0.1, trials=16, seed=12, batch=8)
    for k in a.values:
        assert a.values[k] == pytest.approx(b.values[k], rel=1e-12)
    assert a.values["test_error"] != c.values["test_error"]


def test_simulate_accepts_problem_point(spectrum, krr_sim):
    s = simulate_eigen(EigenProblem(spectrum, n=100, ridge=0.1, noise=0.05), trials=8, seed=1)
    assert set(s.values) == set(s.stderr)
    assert {"test_error", "train_error", "bias", "variance", "kappa"} <= set(s.values)
    with pytest.raises(ValueError, match="flat_mass"):
        simulate_eigen(EigenProblem(Eigensystem([1.0], [1.0], flat_mass=0.1), n=10, ridge=0.1), trials=4)


def test_eigen_model_in_the_sweep_store(tmp_path):
    """Model "eigen" of montecarlo.sweep: a point is stored in SQLite and a rerun reads it back unchanged; the
    replicate count (trials) drives the progress callback like reps for the other models."""
    from rmt.montecarlo.sweep import MODELS, SweepPoint, run_sweep

    assert "eigen" in MODELS
    system = Eigensystem.power_law(1.5, 1.8, 40)
    points = [SweepPoint("eigen", EigenProblem(system, n=10, ridge=r, noise=0.1), {"trials": 4, "seed": 2})
              for r in (0.05, 0.2)]  # one shape: one compilation
    db = tmp_path / "eigen.db"
    first = list(run_sweep(points, db=db, quiet=True))
    again = list(run_sweep(points, db=db, quiet=True))
    assert [c for _, c in first] == [False, False] and [c for _, c in again] == [True, True]
    assert [r for r, _ in again] == [r for r, _ in first]
    direct = simulate_eigen(points[1].problem, trials=4, seed=2)
    assert first[1][0]["test_error"] == pytest.approx(direct.values["test_error"], rel=1e-12)
    ticks = []
    simulate_eigen(points[0].problem, trials=4, seed=2, progress=ticks.append)
    assert ticks[-1] == 4


def test_u_statistic_is_unbiased():
    """Mean over many repetitions of the U-statistic equals |mu|^2, unlike the plug-in |mean|^2."""
    rng = np.random.default_rng(0)
    mu = np.array([0.3, -0.2, 0.0])
    w = np.array([1.0, 2.0, 0.5])
    us, plug = [], []
    for _ in range(4000):
        e = mu + rng.normal(size=(5, 3))
        us.append(u_statistic_sq_norm(e, w)[0])
        plug.append(float((e.mean(0) ** 2 * w).sum()))
    truth = float((mu * mu * w).sum())
    se = np.std(us) / math.sqrt(len(us))
    assert abs(np.mean(us) - truth) < 4 * se
    assert np.mean(plug) - truth > 10 * se  # the plug-in is biased by tr(W Cov)/R = 0.7


def test_input_validation():
    with pytest.raises(ValueError, match="trials must be an integer >= 3"):
        simulate_eigen_krr([1.0, 0.5], [1.0, 0.5], 10, 0.1, trials=2)
    with pytest.raises(ValueError, match="eigenvalues must be positive"):
        simulate_eigen_krr([1.0, 0.0], [1.0, 0.5], 10, 0.1)
    with pytest.raises(ValueError, match="singular interpolation"):
        simulate_eigen_rf([1.0] * 30, [0.1] * 30, 10, 10, 0.0)


# ------------------------------------------------------------------------------------------------------------
# heavier: power-law settings lambda_i = i^-1.5, v_i^2 = i^-1.8 (KRR and RF), isotropic ridgeless, ensembles
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("n,ridge,noise", [(100, 0.0, 0.0), (100, 1e-2, 0.1), (300, 1e-3, 0.05), (300, 0.3, 0.05)])
def test_krr_power_law_settings(n, ridge, noise):
    s = Eigensystem.power_law(1.5, 1.8, 1500)
    lam, v2 = s.expanded()
    sim = simulate_eigen_krr(lam, v2, n, ridge, noise, trials=100, seed=100 + n)
    th = evaluate(EigenProblem(s, n=n, ridge=ridge, noise=noise))
    keys = ["test_error", "bias", "variance", "kappa"] + (["train_error"] if ridge > 0 else [])
    _check(sim, th, 3 / n, keys)


@pytest.mark.slow
@pytest.mark.parametrize("n,p,ridge,noise,a", [(100, 50, 1e-3, 0.1, 0.03), (100, 300, 1e-2, 0.1, 0.03),
                                               (200, 200, 0.1, 0.0, 0.03), (100, 100, 1e-2, 0.05, 0.06),
                                               (100, 400, 1e-4, 0.0, 0.03)])
def test_rf_power_law_settings(n, p, ridge, noise, a):
    s = Eigensystem.power_law(1.5, 1.8, 1500)
    lam, v2 = s.expanded()
    sim = simulate_eigen_rf(lam, v2, n, p, ridge, noise, datasets=40, feature_draws=4, seed=200 + p)
    th = evaluate(EigenProblem(s, n=n, ridge=ridge, noise=noise, p=p))
    _check(sim, th, a, ["test_error", "train_error", "bias", "variance", "kappa", "ensemble_limit_error",
                        "feature_variance"])


@pytest.mark.slow
def test_rf_ensemble_over_feature_draws():
    """K-model ensembles: E_K = E_inf + (E_1 - E_inf)/K (docs/models.md §6.8), checked through the crossed-design
    estimates."""
    s = Eigensystem.power_law(1.5, 1.8, 1000)
    lam, v2 = s.expanded()
    for n, p, ridge in [(100, 300, 0.01), (300, 300, 0.03)]:
        sim = simulate_eigen_rf(lam, v2, n, p, ridge, 0.1, datasets=40, feature_draws=6, seed=7)
        r = rf(s, n, p, ridge, 0.1)
        for K in (1, 4, 32):
            est = sim.values["ensemble_limit_error"] + sim.values["feature_variance"] / K
            se = math.hypot(sim.stderr["ensemble_limit_error"], sim.stderr["feature_variance"] / K)
            th = float(r.ensemble_test_error(K))
            assert abs(est - th) <= Z * math.hypot(se, 3 / n * th)


@pytest.mark.slow
@pytest.mark.parametrize("n,d", [(200, 100), (100, 300)])
def test_isotropic_ridgeless_simulation(n, d):
    iso = Eigensystem.isotropic(d, 1.0)
    lam, v2 = iso.expanded()
    sim = simulate_eigen_krr(lam, v2, n, 0.0, 0.3, trials=200, seed=3)
    th = evaluate(EigenProblem(iso, n=n, ridge=0.0, noise=0.3))
    _check(sim, th, 3 / n, ["test_error", "bias", "variance"])


@pytest.mark.slow
def test_finite_size_deviation_shrinks_with_n():
    """The relative deviation of the simulated test error from the theory at n = 400 is below 1 % (it is O(1/n))."""
    s = Eigensystem.power_law(1.5, 1.8, 4000)
    lam, v2 = s.expanded()
    sim = simulate_eigen_krr(lam, v2, 400, 1e-3, 0.1, trials=60, seed=9)
    th = evaluate(EigenProblem(s, n=400, ridge=1e-3, noise=0.1))
    _check(sim, th, 0.01, ["test_error", "bias", "variance", "train_error", "kappa"])
