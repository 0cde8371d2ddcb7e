"""The nonlinear (He2 single-index) teacher under covariate shift: rmt.theory.covariate_shift with
``nonlinear_signal > 0`` (covariate_shift_error, shift_error, shift_fine_grained).

Independent references:

* without shift, every term, the bias and the error equal Adlam & Pennington's / Mei & Montanari's nonlinear-teacher
  terms of :func:`rmt.theory.random_features.rf_theory` (a different solver: its own coupled equations);
* ``nonlinear_signal = 0`` leaves every number unchanged (bit for bit), and the nonlinear teacher's increments are
  the closed forms ``D_* F/(1 - d2)`` (variance) and ``F_test`` (bias), with the ``eps`` terms untouched;
* the seven terms still sum to the variance;
* the test-law power ``F (3 r^2 - 2 r + 1)/2`` against Gauss-Hermite quadrature of ``He2(t)^2/2``, ``t ~ N(0, r)``,
  and ``r -> s_*/s`` against random directions;
* the unbiased crossed-design ANOVA estimates of ``montecarlo.covariate_shift.simulate_shift`` (tanh, a harmful shift
  with ``s_* = 2 s`` and a helpful one with ``s_* = s/2``; ReLU with equal traces), each term within
  ``4 standard errors + 2% of the test error``, plus, for the bias and the error, the finite-size excess of the
  teacher's test-law power (the random direction's ``r`` fluctuates by ``O(n0^-1/2)``, which biases ``E r^2``; computed
  here by an independent Monte Carlo over directions). One cheap configuration runs in the fast suite.
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.problem import CovarianceSpectrum
from rmt.theory.covariate_shift import (covariate_shift_error, he2_test_mean, he2_test_power, shift_error,
                                        shift_fine_grained)
from rmt.theory.random_features import rf_theory

KEYS = ("P", "X", "eps", "PX", "Peps", "Xeps", "PXeps")
TRAIN = [1.6, 0.4]
HARMFUL2 = CovarianceSpectrum(train=TRAIN, test=[0.8, 3.2], weights=[0.5, 0.5])  # swap and double: r = s_*/s = 2
HELPFUL_HALF = CovarianceSpectrum(train=TRAIN, test=[0.95, 0.05], weights=[0.5, 0.5])  # r = 1/2
SWAP = CovarianceSpectrum(train=TRAIN, test=[0.4, 1.6], weights=[0.5, 0.5])  # equal traces: r = 1


# ---------------------------------------------------------------------------------------------------------------
# closed forms, limits and identities
# ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("phi,psi,ridge,noise,act", [(0.5, 0.25, 1e-3, 0.1, "tanh"), (2.0, 1.0, 0.1, 0.3, "erf"),
                                                     (0.7, 2.0, 0.0, 0.2, "tanh"), (3.0, 0.5, 0.0, 0.0, "relu")])
def test_no_shift_equals_random_feature_nonlinear_teacher(phi, psi, ridge, noise, act):
    F = 0.4
    rf = rf_theory(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, signal=1.3,
                                       nonlinear_signal=F))
    fg = shift_fine_grained(phi, psi, ridge=ridge, activation=act, noise=noise, signal=1.3, nonlinear_signal=F)
    for k in KEYS:
        assert float(fg.ood[k]) == pytest.approx(float(rf.fine_grained[k]), rel=1e-9, abs=1e-12), k
        assert float(fg.iid[k]) == pytest.approx(float(rf.fine_grained[k]), rel=1e-9, abs=1e-12), k
    for b in (fg.ood_bias, fg.iid_bias):
        assert float(b) == pytest.approx(float(rf.bias), rel=1e-9)
    assert float(fg.shift.test_error) == pytest.approx(float(rf.test_error), rel=1e-9)
    assert float(fg.shift.nonlinear_signal_test) == F  # r = 1: the test-law power is F


def test_zero_nonlinear_signal_changes_nothing():
    kw = dict(spectrum=HARMFUL2, ridge=1e-2, activation="tanh", noise=0.2, signal=1.1)
    phi, psi = np.array([0.5, 2.0])[:, None], np.array([0.25, 1.0, 4.0])
    a = covariate_shift_error(phi, psi, **kw)
    b = covariate_shift_error(phi, psi, nonlinear_signal=0.0, **kw)
    for k in ("test_error", "bias", "variance", "noise_variance", "id_test_error", "id_bias", "id_variance"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    assert np.all(np.asarray(b.nonlinear_variance) == 0) and np.all(np.asarray(b.nonlinear_signal_test) == 0)
    fa = shift_fine_grained(phi, psi, **kw)
    fb = shift_fine_grained(phi, psi, nonlinear_signal=0.0, **kw)
    for k in KEYS:
        np.testing.assert_array_equal(fa.ood[k], fb.ood[k], err_msg=k)
    # the documented example still holds
    r = covariate_shift_error(0.5, 0.25, spectrum=SWAP, ridge=1e-3, activation="tanh", noise=0.1,
                              nonlinear_signal=0.0)
    assert round(r.test_error, 6) == 0.362009 and round(r.id_test_error, 6) == 0.219019


@pytest.mark.parametrize("spec", [HARMFUL2, HELPFUL_HALF, SWAP])
def test_increments_are_the_closed_forms(spec):
    """E(F) - E(0) = D_* F/(1 - d2) + F_test on the test law and bias(F) - bias(0) = F on the training law; rho is
    unchanged, and so are the eps terms of the decomposition."""
    phi, psi = np.array([0.5, 2.0])[:, None], np.array([0.25, 1.0, 4.0])
    F = 0.7
    kw = dict(spectrum=spec, ridge=1e-2, activation="tanh", noise=0.2)
    a = covariate_shift_error(phi, psi, **kw)
    b = covariate_shift_error(phi, psi, nonlinear_signal=F, **kw)
    r = float(np.sum(spec.weights * spec.test) / np.sum(spec.weights * spec.train))
    f_test = F * (3 * r * r - 2 * r + 1) / 2
    np.testing.assert_allclose(b.rho, a.rho, rtol=0)
    np.testing.assert_allclose(b.nonlinear_variance, np.asarray(a.d_star) * F / (1 - np.asarray(a.d2)), rtol=1e-13)
    np.testing.assert_allclose(np.asarray(b.test_error) - a.test_error, np.asarray(b.nonlinear_variance) + f_test,
                               rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.bias) - a.bias, f_test, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.id_bias) - a.id_bias, F, rtol=1e-12)
    np.testing.assert_allclose(b.noise_variance, a.noise_variance, rtol=1e-15)
    fa = shift_fine_grained(phi, psi, **kw)
    fb = shift_fine_grained(phi, psi, nonlinear_signal=F, **kw)
    for side in ("ood", "iid"):
        A, B = getattr(fa, side), getattr(fb, side)
        for k in ("P", "eps", "Peps", "Xeps", "PXeps"):  # the nonlinear teacher is carried by X, never by eps
            np.testing.assert_allclose(B[k], A[k], rtol=1e-12, atol=1e-15, err_msg=(side, k))
        assert np.all(np.asarray(B["X"]) > np.asarray(A["X"])) and np.all(np.asarray(B["PX"]) > np.asarray(A["PX"]))
    # the X part of the increment is F times the noise's X part per unit noise (both are label noise seen by X)
    np.testing.assert_allclose(np.asarray(fb.ood["X"]) - fa.ood["X"], F * np.asarray(fa.ood["Xeps"]) / 0.2,
                               rtol=1e-10)


@pytest.mark.parametrize("spec", [HARMFUL2, HELPFUL_HALF, SWAP])
def test_terms_sum_to_the_variance(spec):
    phi, psi = np.array([0.5, 2.0, 1.0])[:, None], np.array([0.25, 1.0, 4.0])[None, :]
    fg = shift_fine_grained(phi, psi, spectrum=spec, ridge=1e-2, activation="tanh", noise=0.2, nonlinear_signal=0.6)
    np.testing.assert_allclose(sum(np.asarray(fg.ood[k]) for k in KEYS), fg.shift.variance, rtol=1e-12)
    np.testing.assert_allclose(sum(np.asarray(fg.iid[k]) for k in KEYS), fg.shift.id_variance, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(fg.ood_bias) + fg.shift.variance, fg.shift.test_error, rtol=1e-12)
    for k in ("P", "X", "PX", "Xeps", "PXeps"):
        assert np.all(np.asarray(fg.ood[k]) >= 0), k


def test_test_law_power_against_quadrature_and_random_directions():
    t, w = np.polynomial.hermite_e.hermegauss(40)  # nodes/weights for the weight exp(-t^2/2)
    w = w / w.sum()
    for r in (0.0, 0.3, 1.0, 2.0, 5.0):
        he2 = (r * t * t - 1.0)  # He2(sqrt(r) t), t ~ N(0, 1)
        assert float(he2_test_power(1.0, r)) == pytest.approx(float(np.sum(w * he2**2) / 2), rel=1e-13, abs=1e-15)
        assert float(he2_test_mean(2.0, r)) == pytest.approx(float(np.sqrt(2.0) * np.sum(w * he2) / np.sqrt(2)),
                                                             rel=1e-13, abs=1e-15)
        assert float(np.sum(w * he2 * np.sqrt(r) * t)) == pytest.approx(0.0, abs=1e-12)  # no linear component
    # r -> s_*/s for a random direction normalised on the training law (the simulator's construction)
    rng = np.random.default_rng(3)
    n0 = 20000
    lam, lam_s = np.repeat(TRAIN, n0 // 2), np.repeat([0.8, 3.2], n0 // 2)
    v = rng.standard_normal((20, n0))
    ratio = (v**2 @ lam_s) / (v**2 @ lam)
    assert abs(ratio.mean() - 2.0) < 0.01
    r = covariate_shift_error(0.5, 0.5, spectrum=HARMFUL2, ridge=1e-2, nonlinear_signal=0.5)
    assert float(r.nonlinear_signal_test) == pytest.approx(0.5 * 4.5, rel=1e-14)


def test_override_and_problem_entry_point():
    kw = dict(spectrum=HARMFUL2, ridge=1e-2, activation="tanh", noise=0.1)
    a = covariate_shift_error(0.5, 0.25, nonlinear_signal=0.3, **kw)
    b = covariate_shift_error(0.5, 0.25, nonlinear_signal=0.3, nonlinear_signal_test=0.1, **kw)
    assert float(b.bias) - float(a.bias) == pytest.approx(0.1 - 0.3 * 4.5, rel=1e-12)
    assert float(b.variance) == pytest.approx(float(a.variance), rel=1e-13)
    assert float(b.id_test_error) == float(a.id_test_error)  # in distribution the power is F
    p = Problem.from_ratios(0.5, 0.25, ridge=1e-2, activation="tanh", noise=0.1, nonlinear_signal=0.3,
                            covariance=HARMFUL2)
    assert float(shift_error(p).test_error) == float(a.test_error)
    assert float(shift_error(p, nonlinear_signal_test=0.1).bias) == float(b.bias)
    # E is linear in (signal, noise, F) jointly
    c = covariate_shift_error(0.5, 0.25, signal=2.0, noise=0.2, nonlinear_signal=0.6,
                              **{k: v for k, v in kw.items() if k != "noise"})
    assert float(c.test_error) == pytest.approx(2 * float(a.test_error), rel=1e-12)


@pytest.mark.parametrize("F,F_test", [(0.7, None), (0.7, 0.2), (0.0, 0.3)])
def test_id_ood_line_with_the_nonlinear_teacher(F, F_test):
    """Ridgeless over-parameterised: the line (slope unchanged, intercept + F_test - theta F) reproduces the error."""
    from rmt.theory.covariate_shift import id_ood_line, two_point

    sp = two_point(np.array([1.0, -0.25]), scale=np.array([2.0, 0.5]))
    psi = np.array([[0.3], [1.2]])
    r = covariate_shift_error(2.0, psi, spectrum=sp, ridge=0.0, noise=0.1, nonlinear_signal=F,
                              nonlinear_signal_test=F_test)
    line = id_ood_line(2.0, spectrum=sp, noise=0.1, nonlinear_signal=F, nonlinear_signal_test=F_test)
    np.testing.assert_allclose(line(r.id_test_error), r.test_error, rtol=1e-12)
    np.testing.assert_allclose(line.slope, id_ood_line(2.0, spectrum=sp, noise=0.1).slope, rtol=0)


@pytest.mark.parametrize("kw,name", [({"nonlinear_signal": -0.1}, "nonlinear_signal"),
                                     ({"nonlinear_signal": 0.1, "nonlinear_signal_test": -1.0},
                                      "nonlinear_signal_test"),
                                     ({"nonlinear_signal": float("nan")}, "nonlinear_signal")])
def test_bad_input_names_the_argument(kw, name):
    with pytest.raises(ValueError, match=name):
        covariate_shift_error(0.5, 0.25, spectrum=HARMFUL2, ridge=1e-2, **kw)


def test_centring_caveat_still_refused_for_relu_with_unequal_traces():
    with pytest.raises(ValueError, match="centring caveat"):
        covariate_shift_error(0.5, 0.25, spectrum=HARMFUL2, ridge=1e-2, activation="relu", nonlinear_signal=0.5)


# ---------------------------------------------------------------------------------------------------------------
# against the simulation
# ---------------------------------------------------------------------------------------------------------------

def _teacher_power_excess(spec: CovarianceSpectrum, n0: int, F: float, draws: int = 4000) -> float:
    """``E_v F (3 r^2 - 2 r + 1)/2 - F_test`` at size ``n0``: the finite-size excess of the teacher's test-law power
    (``r = v^T Sigma_* v / v^T Sigma v`` for a Gaussian ``v``; two atoms of ``n0/2`` coordinates each), by Monte
    Carlo over directions."""
    rng = np.random.default_rng(11)
    lam, lam_s = np.repeat(np.asarray(spec.train), n0 // 2), np.repeat(np.asarray(spec.test), n0 // 2)
    g = rng.standard_normal((draws, n0)) ** 2
    r = (g @ lam_s) / (g @ lam)
    r_inf = float(lam_s.sum() / lam.sum())
    return abs(float(np.mean(F * (3 * r * r - 2 * r + 1) / 2)) - F * (3 * r_inf**2 - 2 * r_inf + 1) / 2)


def _compare(spec, n0, *, phi, psi, act, noise, signal, F, trials, reps, seed=1):
    from rmt.montecarlo.covariate_shift import simulate_shift

    pr = Problem.from_ratios(phi, psi, ridge=1e-2, activation=act, noise=noise, signal=signal, nonlinear_signal=F,
                             n0=n0, covariance=spec)
    sim = simulate_shift(pr, trials=trials, reps=reps, seed=seed, taus=False)
    fg = shift_fine_grained(phi, psi, spectrum=spec, ridge=1e-2, activation=act, noise=noise, signal=signal,
                            nonlinear_signal=F)
    excess = {"ood": _teacher_power_excess(spec, n0, F), "iid": _teacher_power_excess(
        CovarianceSpectrum(train=spec.train, test=spec.train, weights=spec.weights), n0, F)}
    rows = []
    for lab, s, th, bias, err in (("ood", sim.ood, fg.ood, fg.ood_bias, fg.shift.test_error),
                                  ("iid", sim.iid, fg.iid, fg.iid_bias, fg.shift.id_test_error)):
        allow = 0.02 * float(s.test_error)  # finite size: as for the linear teacher (tests/theory/test_shift_fine_grained)
        for k in KEYS:
            rows.append((lab, k, s.fine_grained[k], s.stderr["fine_grained"][k], float(th[k]), allow))
        for k, t in (("bias", bias), ("test_error", err)):
            rows.append((lab, k, float(getattr(s, k)), float(s.stderr[k]), float(t), allow + excess[lab]))
    for lab, k, mc, se, th, allow in rows:
        print(f"{act} n0={n0} {lab} {k}: sim {mc:.5f} +- {se:.5f}, theory {th:.5f}")
    for lab, k, mc, se, th, allow in rows:
        assert abs(mc - th) <= 4 * se + allow, (lab, k, mc, se, th, allow)
    return fg, sim


def test_against_simulation_fast():
    """Only the nonlinear teacher (signal = noise = 0, F = 1), helpful shift with s_* = s/2 (F_test = 0.375):
    the error is then all X, PX and bias; treating the teacher as eps-noise or its test power as F would fail."""
    fg, sim = _compare(HELPFUL_HALF, 100, phi=0.5, psi=0.5, act="tanh", noise=0.0, signal=0.0, F=1.0,
                       trials=(2, 2, 2), reps=8)
    assert float(fg.ood_bias) == pytest.approx(0.375, rel=1e-12) and float(fg.iid_bias) == pytest.approx(1.0)
    assert sim.ood.bias < 0.6 < 0.8 < sim.iid.bias  # the test-law power, not F, is what the shifted error pays


@pytest.mark.slow
@pytest.mark.parametrize("n0", [100, 200])
@pytest.mark.parametrize("name,spec,phi,psi,act", [("harmful", HARMFUL2, 0.5, 0.5, "tanh"),
                                                   ("helpful", HELPFUL_HALF, 0.5, 0.5, "tanh"),
                                                   ("harmful-over", HARMFUL2, 2.0, 0.5, "tanh"),
                                                   ("swap-relu", SWAP, 0.5, 0.5, "relu")])
def test_against_simulation(n0, name, spec, phi, psi, act):
    _compare(spec, n0, phi=phi, psi=psi, act=act, noise=0.2, signal=1.0, F=0.5, trials=(3, 3, 2), reps=16)



@pytest.mark.slow
def test_paired_increments_against_simulation():
    """The nonlinear teacher's increments, paired: the same seed with F = 0 and F = 0.5 (the teacher's direction is
    an extra random stream, so beta, W, X, eps and the test points are shared) removes the linear teacher's Monte
    Carlo noise. Helpful shift with s_* = s/2, n0 = 400, 32 repetitions; each increment within 4 standard errors of
    the paired differences + 1% of the test-error increment (finite size)."""
    from rmt.montecarlo.covariate_shift import simulate_shift

    kw = dict(ridge=1e-2, activation="tanh", noise=0.2)
    sims, ths = {}, {}
    for F in (0.0, 0.5):
        pr = Problem.from_ratios(0.5, 0.5, nonlinear_signal=F, n0=400, covariance=HELPFUL_HALF, **kw)
        sims[F] = simulate_shift(pr, trials=(3, 3, 2), reps=32, seed=9, taus=False)
        ths[F] = shift_fine_grained(0.5, 0.5, spectrum=HELPFUL_HALF, nonlinear_signal=F, **kw)
    for lab in ("ood", "iid"):
        a, b = getattr(sims[0.0], lab).samples, getattr(sims[0.5], lab).samples
        th_err = (np.asarray(ths[0.5].shift.test_error) - ths[0.0].shift.test_error if lab == "ood" else
                  np.asarray(ths[0.5].shift.id_test_error) - ths[0.0].shift.id_test_error)
        th_bias = float(getattr(ths[0.5], lab + "_bias")) - float(getattr(ths[0.0], lab + "_bias"))
        expect = {"test_error": float(th_err), "bias": th_bias,
                  **{k: float(getattr(ths[0.5], lab)[k]) - float(getattr(ths[0.0], lab)[k]) for k in KEYS}}
        for k, th in expect.items():
            d = b[k] - a[k]
            mc, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
            print(f"paired {lab} {k}: sim {mc:.5f} +- {se:.5f}, theory {th:.5f}")
            assert abs(mc - th) <= 4 * se + 0.01 * float(th_err), (lab, k, mc, se, th)


# ---------------------------------------------------------------------------------------------------------------
# CLI: rmt theory shift --nonlinear-signal F [--nonlinear-signal-test F]
# ---------------------------------------------------------------------------------------------------------------

def _cli_json(capsys, argv):
    import json

    from rmt.figures.cli import main

    rc = main(argv)
    out = capsys.readouterr()
    assert rc == 0, out.err
    return [json.loads(line) for line in out.out.splitlines() if line.strip()]


BASE = ["theory", "shift", "--phi", "2", "--psi", "0.5", "--ridge", "0", "--activation", "tanh", "--noise", "0.1",
        "--spectrum", "1.6:0.8,0.4:3.2"]


def test_cli_nonlinear_signal(capsys):
    recs = _cli_json(capsys, BASE + ["--nonlinear-signal", "0,0.5", "--json"])
    assert [r["nonlinear_signal"] for r in recs] == [0.0, 0.5]
    th = covariate_shift_error(2.0, 0.5, spectrum=HARMFUL2, ridge=0.0, activation="tanh", noise=0.1,
                               nonlinear_signal=0.5)
    r = recs[1]
    assert r["test_error"] == pytest.approx(float(th.test_error), rel=1e-14)
    assert r["nonlinear_signal_test"] == pytest.approx(2.25, rel=1e-14)  # r = s_*/s = 2: F (3 r^2 - 2 r + 1)/2
    assert r["bias"] - recs[0]["bias"] == pytest.approx(2.25, rel=1e-12)
    # ridgeless over-parameterised: the exact ID-OOD line still reproduces the error with the nonlinear teacher
    assert r["id_ood_slope"] == pytest.approx(recs[0]["id_ood_slope"], rel=1e-14)
    assert r["id_ood_slope"] * r["id_test_error"] + r["id_ood_intercept"] == pytest.approx(r["test_error"], rel=1e-12)
    recs = _cli_json(capsys, BASE + ["--nonlinear-signal", "0.5", "--nonlinear-signal-test", "0.1", "--json"])
    assert recs[0]["nonlinear_signal_test"] == 0.1
    assert recs[0]["test_error"] == pytest.approx(float(th.test_error) - 2.25 + 0.1, rel=1e-12)
    # without the flags the output keeps its keys
    recs = _cli_json(capsys, BASE + ["--json"])
    assert "nonlinear_signal" not in recs[0] and "nonlinear_variance" not in recs[0]


@pytest.mark.parametrize("argv,flag", [(["--nonlinear-signal=-1"], "--nonlinear-signal"),
                                       (["--nonlinear-signal", "abc"], "--nonlinear-signal"),
                                       (["--nonlinear-signal", "inf"], "--nonlinear-signal"),
                                       (["--nonlinear-signal", "0.5", "--nonlinear-signal-test=-2"],
                                        "--nonlinear-signal-test")])
def test_cli_bad_nonlinear_signal_exit_2_one_line(capsys, argv, flag):
    from rmt.figures.cli import main

    rc = main(BASE + argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and flag in err, err


def test_figure_shift_fine_grained_takes_the_nonlinear_teacher(tmp_path, capsys):
    import csv

    from rmt.figures import shift_fine_grained as sfg
    from rmt.figures._shift_common import HARMFUL
    from rmt.figures.cli import main

    cfg = sfg.ShiftFineGrainedConfig(nonlinear_signal=0.5)
    data = sfg.compute(mc=False, quick=True, widths=[0.3, 3.0], config=cfg)
    ref = shift_fine_grained(cfg.phi, cfg.phi / 3.0, spectrum=HARMFUL.spectrum, ridge=cfg.ridge,
                             activation=cfg.activation, noise=cfg.noise, nonlinear_signal=0.5)
    for term, th in (("X", ref.ood["X"]), ("bias", ref.ood_bias)):
        (row,) = [r for r in data["rows"] if r[1] == HARMFUL.name and r[2] == 3.0 and r[4] == term]
        assert row[5] == pytest.approx(float(th), rel=1e-12)
    rc = main(["figure", "shift-fine-grained", "--no-mc", "--quick", "--nonlinear-signal=-1", "--out",
               str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--nonlinear-signal" in err
