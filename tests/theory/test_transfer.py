"""Feature transfer (rmt.theory.transfer) against exact special cases, internal identities, independent solves and
the command line. The simulation comparison is in tests/montecarlo/test_mc_transfer.py.

Independent references: identity features are the eigenframework's KRR (the same numbers bit for bit); ridgeless
principal-component regression with K < n kept modes is least squares with the discarded power acting as noise,
``test_error = tail + K/(n - K) (tail + noise)``; kappa of a truncated spectrum from scipy's brentq; the optimum
against every identity / top-K / power featurisation and a generic L-BFGS search over the scales.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
from scipy.optimize import brentq, minimize

from rmt.figures.cli import main
from rmt.theory.eigen import Eigensystem, krr
from rmt.theory.transfer import (TransferSetting, features, optimal_features, risk_gradient, selection_transition,
                                 transfer)

ST = TransferSetting.power_law(1.5, 1.8, 200)


def _cli(*argv: str) -> tuple[int, list[dict]]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(list(argv))
    return rc, [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_identity_is_eigen_krr_exactly():
    n, r, s = np.array([20.0, 150.0, 400.0]), np.array([0.0, 1e-3, 1.0]), 0.3
    t = transfer(ST, "identity", n, r, s)
    k = krr(Eigensystem.power_law(1.5, 1.8, 200), n, r, s)
    for a, b in ((t.test_error, k.test_error), (t.bias, k.bias), (t.variance, k.variance), (t.kappa, k.kappa)):
        assert np.array_equal(a, b)
    rc, [e] = _cli("theory", "eigen", "--alpha", "1.5", "--beta", "1.8", "--modes", "200", "--n", "150", "--ridge",
                   "1e-3", "--noise", "0.3", "--json")
    rc2, [tr] = _cli("theory", "transfer", "--alpha", "1.5", "--beta", "1.8", "--modes", "200", "--n", "150",
                     "--ridge", "1e-3", "--noise", "0.3", "--features", "identity", "--json")
    assert rc == rc2 == 0
    assert tr["test_error"] == e["test_error"] and tr["bias"] == e["bias"] and tr["kappa"] == e["kappa"]


def test_top_k_is_truncated_krr_plus_discarded_power():
    K, n, r, s = 60, 100.0, 0.02, 0.1
    lam, w = ST.eigenvalues, ST.target_power
    tail = w[K:].sum()
    t = transfer(ST, f"top:{K}", n, r, s)
    # independent kappa on the truncated spectrum
    kap = brentq(lambda k: np.sum(lam[:K] / (lam[:K] + k)) + r / k - n, 1e-12, 10.0, xtol=1e-300, rtol=1e-15)
    q = lam[:K] / (lam[:K] + kap)
    bias = np.sum(w[:K] * (1 - q) ** 2) + tail
    d2 = np.sum(q * q) / n
    assert float(t.kappa) == pytest.approx(kap, rel=1e-11)
    assert float(t.bias) == pytest.approx(bias, rel=1e-11)
    assert float(t.test_error) == pytest.approx((bias + d2 * s) / (1 - d2), rel=1e-11)
    assert float(t.bias) >= tail and t.discarded_power == pytest.approx(tail, rel=1e-14) and t.kept == K


def test_ridgeless_pcr_closed_form_and_divergence():
    K, s = 40, 0.25
    tail = ST.target_power[K:].sum()
    n = np.array([41.0, 50.0, 80.0, 400.0])
    t = transfer(ST, f"top:{K}", n, 0.0, s)
    np.testing.assert_allclose(t.test_error, tail + K / (n - K) * (tail + s), rtol=1e-13)
    np.testing.assert_allclose(t.V_eps, K / (n - K) * s, rtol=1e-13)
    assert np.isinf(transfer(ST, f"top:{K}", float(K), 0.0, s).test_error)
    # the divergence sits at n = number of kept features, on both sides
    below = transfer(ST, f"top:{K}", K - np.array([4.0, 1.0, 0.1]), 0.0, s).test_error
    assert np.all(np.diff(below) > 0) and below[-1] > 50 * below[0] / 10


def test_fine_grained_terms_sum_to_variance():
    for spec in ("identity", "top:30", "power:0.5", "power:-0.3"):
        t = transfer(ST, spec, np.array([10.0, 30.0, 120.0, 500.0]), np.array([0.0, 1e-4, 0.1, 3.0]), 0.2)
        ok = np.isfinite(t.test_error)
        np.testing.assert_allclose((t.V_X + t.V_eps)[ok], t.variance[ok], rtol=1e-12)
        np.testing.assert_allclose((t.bias + t.variance)[ok], t.test_error[ok], rtol=1e-12)
        assert np.all(t.V_X >= 0) and np.all(t.V_eps >= 0)
    none = transfer(ST, np.zeros(200), 50.0, 0.1, 0.2)
    assert float(none.test_error) == pytest.approx(ST.signal) and float(none.variance) == 0


def _grid_best(n, r, s):
    cands = [float(transfer(ST, "identity", n, r, s).test_error)]
    cands += list(np.asarray([float(transfer(ST, f"top:{k}", n, r, s).test_error) for k in range(1, 201)]))
    cands += [float(transfer(ST, f"power:{p}", n, r, s).test_error) for p in np.linspace(-1, 2, 31)]
    return min(c for c in cands if np.isfinite(c))


@pytest.mark.parametrize("n,ridge,noise", [(50.0, 0.05, 0.1), (50.0, 1e-3, 1.0), (80.0, 0.0, 0.01),
                                           (30.0, 0.0, 2.0)])
def test_optimal_is_no_worse_than_the_grid_and_stationary(n, ridge, noise):
    opt = optimal_features(ST, n, ridge, noise)
    at_b = float(transfer(ST, opt.b, n, ridge, noise).test_error)
    assert opt.attained and at_b == pytest.approx(opt.test_error, rel=1e-9)
    assert opt.test_error <= _grid_best(n, ridge, noise) * (1 + 1e-12)
    g = risk_gradient(ST, opt.b, n, ridge, noise)
    assert np.max(np.abs(g * opt.b)) <= 1e-9 * opt.test_error  # d R / d log b_i = 0 on every kept mode
    # a discarded mode switched on a little makes it worse (the KKT sign)
    off = np.flatnonzero(opt.b == 0)
    for j in off[:3]:
        b2 = opt.b.copy()
        b2[j] = 1e-3 * np.sqrt(opt.b.max() ** 2 * ST.eigenvalues[0] / ST.eigenvalues[j] + 1e-30)
        assert float(transfer(ST, b2, n, ridge, noise).test_error) >= opt.test_error * (1 - 1e-12)


def test_optimal_soft_identity_and_ridge_independence():
    a = optimal_features(ST, 60.0, 1e-3, 0.2)
    b = optimal_features(ST, 60.0, 10.0, 0.2)
    assert a.regime == b.regime == "soft" and a.kept == 200
    assert a.test_error == pytest.approx(b.test_error, rel=1e-12)
    # r_eff(tau) = n - noise / tau at the soft optimum (so the budget sum q <= n never binds)
    assert a.effective_rank == pytest.approx(60.0 - 0.2 / a.tau, rel=1e-10)


def test_optimal_against_a_generic_search():
    small = TransferSetting.power_law(1.2, 1.5, 25)
    n, r, s = 10.0, 0.01, 0.05
    opt = optimal_features(small, n, r, s)

    def f(u):
        b = np.exp(u)
        return float(transfer(small, b, n, r, s).test_error), risk_gradient(small, b, n, r, s) * b

    rng = np.random.default_rng(0)
    for _ in range(1):
        res = minimize(f, rng.normal(0, 1, 25), jac=True, method="L-BFGS-B", options={"maxiter": 300})
        assert res.fun >= opt.test_error * (1 - 1e-9)
        assert res.fun <= opt.test_error * 1.01  # and the search does approach it


def test_hard_soft_transition_ridgeless():
    tr = selection_transition(ST, 40.0)
    below = optimal_features(ST, 40.0, 0.0, 0.8 * tr.noise)
    above = optimal_features(ST, 40.0, 0.0, 1.25 * tr.noise)
    assert below.regime == "soft" and below.kept == 200
    assert above.regime == "least-squares" and above.kept < 40
    assert tr.kept < 40 and 0 < tr.effective_rank < 40


def test_bad_input():
    with pytest.raises(ValueError, match="features"):
        features("top:0", ST)
    with pytest.raises(ValueError, match="features"):
        features("bogus", ST)
    with pytest.raises(ValueError, match="features"):
        features(np.ones(3), ST)
    with pytest.raises(ValueError, match="eigenvalues"):
        TransferSetting([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="ridge"):
        transfer(ST, "identity", 10.0, -1.0)
    with pytest.raises(ValueError, match="n"):
        optimal_features(ST, 0.0, 0.1)


def test_cli_optimal_keys_and_exit_codes(capsys):
    rc, [rec] = _cli("theory", "transfer", "--alpha", "1.5", "--beta", "1.8", "--modes", "200", "--n", "50",
                     "--ridge", "0.05", "--noise", "0.1", "--features", "optimal", "--json")
    assert rc == 0
    for k in ("test_error", "bias", "variance", "kappa", "kept_features", "effective_rank"):
        assert k in rec
    assert set(rec["fine_grained"]) == {"X", "eps"}
    for bad in (["--features", "top:x"], ["--features", "power:"], ["--features", "top:5000"],
                ["--features", "identity", "--ridge=-1"]):
        argv = ["theory", "transfer", "--alpha", "1.5", "--beta", "1.8", "--n", "50", "--ridge", "0.1"] + bad
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ("--features" in err[0] or "--ridge" in err[0])


def test_simulate_cli_rejects_bad_flags_before_work(capsys):
    base = ["simulate", "transfer", "--alpha", "1.5", "--beta", "1.8", "--modes", "50", "--ridge", "0.1",
            "--features", "identity"]
    assert main(base + ["--n", "10.5"]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(base + ["--n", "10", "--trials", "1"]) == 2
    assert "--trials" in capsys.readouterr().err


def test_sparse_prior_optimum():
    """Prior power on 20 of 200 modes: the optimum keeps exactly those (soft, ridge > 0; least squares, ridgeless
    at n = 50 > 20 where kappa = 0 fits them all)."""
    st = TransferSetting(np.arange(1, 201.0) ** -1.5, np.r_[np.arange(1, 21.0) ** -1.0, np.zeros(180)])
    for r, regime in ((0.1, "soft"), (0.0, "least-squares")):
        o = optimal_features(st, 50.0, r, 0.1)
        assert o.regime == regime and o.kept == 20
        assert float(transfer(st, o.b, 50.0, r, 0.1).test_error) == pytest.approx(o.test_error, rel=1e-10)
    # least squares on the 20 modes: noise K/(n - K)
    assert optimal_features(st, 50.0, 0.0, 0.1).test_error == pytest.approx(0.1 * 20 / 30, rel=1e-12)
