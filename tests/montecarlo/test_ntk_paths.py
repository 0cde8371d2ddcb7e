"""The two ways the NTK engine forms test predictions (through the T x m test kernels, or per label column through
an n0 x n1 matrix) give the same numbers, and the cheaper one is chosen."""

from __future__ import annotations

import numpy as np
import pytest

from rmt.montecarlo import ntk
from rmt.problem import Problem


@pytest.mark.parametrize("noise", [0.5])
def test_prediction_paths_agree(monkeypatch, noise):
    problem = Problem(n0=12, n1=20, m=16, ridge=0.3, activation="tanh", noise=noise, nonlinear_signal=0.3)
    runs = []
    for by_columns in (False, True):
        monkeypatch.setattr(ntk, "_predict_by_columns", lambda *a, _v=by_columns: _v)
        ntk._rep_fn.cache_clear()
        runs.append(ntk.simulate_ntk(problem, lr_ratio=0.8, include_f0=True, trials=(2, 2, 2), reps=2, seed=4,
                                     n_test=30))
    ntk._rep_fn.cache_clear()
    for k in ("test_error", "train_error", "bias", "variance", "noise_variance"):
        np.testing.assert_allclose(runs[0].samples[k], runs[1].samples[k], rtol=1e-10, atol=1e-13)


def test_the_cheaper_path_is_chosen():
    # one label column (no noise): per-column matrices; three columns at n0 = n1 / 2: the test kernels
    assert ntk._predict_by_columns(2000, 1000, 2000, 2000, 1)
    assert not ntk._predict_by_columns(2000, 1000, 2000, 2000, 3)
    fl = ntk.ntk_flops(1000, 2000, 2000, 2000, (2, 2, 2))
    assert fl["total"] == pytest.approx(sum(v for k, v in fl.items() if k not in ("total", "per_trial")))
