"""Every simulator refuses a request that cannot finish, before any work: the repetition count and the trial counts
are checked in one place (rmt.montecarlo._engine.check_count / check_trials) against the caps of rmt.limits, which
the command line's preflight checks use too (issue: ``simulate_rf(p, reps=10**20)`` ran for ever)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from rmt import LinearProblem, Problem, limits
from rmt.figures import _limits as cli_limits
from rmt.montecarlo import _engine as eng
from rmt.problem import CovarianceSpectrum

HUGE = 10**20


def _refuses(call, name):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^{name} must be an integer in \[\d+, {limits.MAX_REPS}\]") as e:
        call()
    assert time.perf_counter() - t0 < 1.0
    assert "1e+20" in str(e.value) and str(limits.MAX_REPS) in str(e.value)  # the request and the limit


def test_caps_are_shared_with_the_command_line():
    for k in limits.__all__:
        assert getattr(cli_limits, k) is getattr(limits, k), k


def test_random_features_ntk_shift_linear_refuse_huge_reps():
    from rmt.montecarlo.covariate_shift import simulate_shift
    from rmt.montecarlo.linear import simulate_linear
    from rmt.montecarlo.ntk import simulate_ntk
    from rmt.montecarlo.random_features import simulate_rf

    p = Problem(n0=10, n1=14, m=12, ridge=0.2, activation="relu", noise=0.3)
    cov = CovarianceSpectrum([1.0, 3.0], [2.0, 3.0], [0.5, 0.5])
    _refuses(lambda: simulate_rf(p, reps=HUGE), "reps")
    _refuses(lambda: simulate_ntk(p, reps=HUGE), "reps")
    _refuses(lambda: simulate_shift(Problem(n0=10, n1=14, m=12, ridge=0.2, covariance=cov), reps=HUGE), "reps")
    _refuses(lambda: simulate_linear(LinearProblem(n=60, d=30, ridge=0.1, noise=1.0), reps=HUGE), "reps")


def test_spectra_eigen_dynamics_transfer_hea_refuse_huge_counts():
    from rmt.montecarlo.dynamics import simulate_dynamics
    from rmt.montecarlo.eigen import simulate_eigen
    from rmt.montecarlo.hea import simulate_hea
    from rmt.montecarlo.spectra import wishart_eigenvalues
    from rmt.montecarlo.transfer import simulate_transfer
    from rmt.theory import dynamics as D
    from rmt.theory.eigen import EigenProblem, Eigensystem
    from rmt.theory.transfer import TransferSetting, features

    s = Eigensystem(np.arange(1, 21) ** -1.3, np.arange(1, 21) ** -1.0)
    _refuses(lambda: wishart_eigenvalues(5, 10, reps=HUGE), "reps")
    _refuses(lambda: simulate_eigen(EigenProblem(s, n=10, ridge=0.1), trials=HUGE), "trials")
    p = D.DynamicsProblem(s, "gf", steps=(0, 5), n=10, lr=0.5, noise=0.2)
    _refuses(lambda: simulate_dynamics(p, reps=HUGE), "reps")
    st = TransferSetting.power_law(1.5, 1.8, 20)
    _refuses(lambda: simulate_transfer(st.eigenvalues, st.target_power, features("top:10", st), 10, 0.1,
                                       trials=HUGE), "trials")
    _refuses(lambda: simulate_hea("gaussian", np.full(4, 0.25), {(0,): 1.0}, 10, 1e-3, trials=HUGE), "trials")


def test_trial_counts_are_capped():
    with pytest.raises(ValueError, match=r"trials\[P\] must be at most 10000"):
        eng.check_trials((HUGE, 2, 2), ("P", "X", "eps"))
    with pytest.raises(ValueError, match=r"trials: 1000000 fitted models per repetition .* limit is 100000"):
        eng.check_trials((100, 100, 100), ("P", "X", "eps"))
    assert eng.check_trials((2, 3, 4), ("P", "X", "eps")) == (2, 3, 4)
    with pytest.raises(ValueError, match=r"^reps must be an integer in \[1, 100000\]"):
        eng.run_repetitions(lambda key, prm: {}, {}, seed=0, reps=limits.MAX_REPS + 1)  # the runner's own check
    assert eng.check_count(limits.MAX_REPS, "reps") == limits.MAX_REPS


def test_a_fit_that_cannot_be_held_is_refused_before_any_work():
    """n1 = m = 10**6 needs a 10**6-square Gram matrix (16 TB): refused at once, naming max_memory with the estimate
    and the limit; a larger max_memory raises the limit."""
    from rmt.montecarlo.random_features import simulate_rf

    p = Problem(n0=10, n1=10**6, m=10**6, ridge=0.2, activation="relu")
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"^max_memory: one fitted model needs about [\d.e+]+ GiB .* above the "
                                         r"limit 8 GiB"):
        simulate_rf(p, reps=2)
    assert time.perf_counter() - t0 < 1.0
    assert eng.choose_cell_batch(n_cells=4, cell_bytes=9.0 * 1024**3, cell_flops=1.0, shared_bytes=0.0,
                                 max_memory=10 * 1024**3) == 1
