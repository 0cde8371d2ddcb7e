"""Stress sweeps (slow): many ratios x ridges from 1e-300 to 1e300 for every theory, with the checks of
``test_extreme_ridges.py`` on whole grids. Run with ``pytest -m slow tests/theory/test_stress_slow.py``."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from rmt import LinearProblem, Problem
from rmt.theory.linear import linear_theory
from rmt.theory.ntk import FINE_GRAINED_KEYS as NTK_KEYS
from rmt.theory.ntk import quadratic_scaling
from rmt.theory.random_features import FINE_GRAINED_KEYS, rf_theory

pytestmark = pytest.mark.slow

RATIOS = np.logspace(-3, 3, 13)
RIDGES = np.logspace(-300, 300, 121)
FINE = np.logspace(-40, -5, 71)  # half-decade steps where the ridge starts to matter


def _grid(ridges):
    phi = RATIOS[:, None, None]
    psi = RATIOS[None, :, None]
    return phi, psi, ridges[None, None, :]


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "gelu"])
def test_rf_stress(act):
    phi, psi, ridge = _grid(RIDGES)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = rf_theory(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=0.2, signal=1.3))
        r0 = rf_theory(Problem.from_ratios(phi, psi, ridge=0.0, activation=act, noise=0.2, signal=1.3))
        rf = rf_theory(Problem.from_ratios(phi, psi, ridge=FINE[None, None, :], activation=act, noise=0.2,
                                           signal=1.3))
    assert r.diagnostics.ok and rf.diagnostics.ok
    te = np.asarray(r.test_error)
    assert np.all(np.isfinite(te)) and np.all(np.isfinite(r.train_error)) and np.all(te > 0)
    for k in FINE_GRAINED_KEYS:
        assert np.all(np.asarray(r.fine_grained[k]) >= -1e-12 * te), k
    off = (phi != psi)[..., 0]
    tiny = RIDGES <= 1e-30
    assert np.allclose(te[off][:, tiny], np.asarray(r0.test_error)[off], rtol=1e-8)
    assert np.allclose(te[..., RIDGES >= 1e30], 1.3, rtol=1e-12)
    # no branch jump on half-decade steps: the error is a smooth function of log ridge (slope 1/2 in
    # log-log at the threshold, far less elsewhere)
    tf = np.log(np.asarray(rf.test_error))
    assert np.max(np.abs(np.diff(tf, axis=-1))) <= 0.6 * math.log(10) * 0.5


@pytest.mark.parametrize("act", ["relu", "tanh", "erf", "linear"])
@pytest.mark.parametrize("lr", [0.0, 1.0, 10.0])
def test_ntk_stress(act, lr):
    if act == "linear" and lr == 0.0:
        pytest.skip("linear random features: no ridgeless limit")
    phi, psi, ridge = _grid(RIDGES)
    # the interpolation thresholds (random features at n1 = m; the linear activation at n0 = m) are included: they
    # diverge as C/sqrt(ridge) down to ridge 1e-300 (1 - d1 and 1 - d2 evaluated without cancellation)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = quadratic_scaling(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=0.2, signal=1.3),
                              lr_ratio=lr)
    te = np.asarray(r.test_error)
    assert np.all(np.isfinite(te)) and np.all(te > 0)
    for k in NTK_KEYS:  # rounding of differences of O(signal) terms
        assert np.all(np.asarray(r.fine_grained[k]) >= -1e-12 * np.maximum(te, 1.3)), k
    assert np.allclose(te[..., RIDGES >= 1e30], 1.3, rtol=1e-12)
    pole = (phi == psi)[..., 0] if lr == 0.0 else np.zeros(te.shape[:2], bool)
    if act == "linear":
        pole = pole | (np.abs(phi - 1.0) < 1e-9)[..., 0] & np.ones(te.shape[:2], bool)
    tiny = RIDGES <= 1e-40
    c = te[pole][:, tiny] * np.sqrt(RIDGES[tiny])
    assert pole.any() == (lr == 0.0 or act == "linear")
    assert np.allclose(c, c[:, :1], rtol=1e-7)  # the square-root law over 260 decades


@pytest.mark.parametrize("lr", [1.0, 10.0])
def test_ntk_fine_grained_smooth_along_psi_at_tiny_ridges(lr):
    psi = np.linspace(0.05, 5.0, 400)
    for act in ("linear", "relu", "tanh"):
        for phi in (0.3, 1.5, 4.0):
            for ridge in (1e-12, 1e-50, 1e-300):
                r = quadratic_scaling(Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=1.0),
                                      lr_ratio=lr)
                te = np.asarray(r.test_error)
                for k in NTK_KEYS:
                    v = np.asarray(r.fine_grained[k])
                    assert np.all(v >= -1e-12 * te), (act, phi, ridge, k)
                    # smooth: cancellation noise makes the second difference alternate in sign (82 flips in
                    # the issue); a smooth curve has a handful of inflection points
                    d2 = np.diff(v, 2)
                    d2 = d2[np.abs(d2) > 1e-12 * te.max()]
                    assert np.count_nonzero(np.diff(np.sign(d2))) <= 6, (act, phi, ridge, k)


def test_linear_stress():
    g = RATIOS[:, None]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        r = linear_theory(LinearProblem.from_ratio(g, ridge=RIDGES[None, :], noise=0.4, signal=1.3))
        r0 = linear_theory(LinearProblem.from_ratio(g, ridge=0.0, noise=0.4, signal=1.3))
    te = np.asarray(r.test_error)
    assert np.all(np.asarray(r.status) == 0) and np.all(np.isfinite(te))
    off = np.abs(RATIOS - 1.0) > 1e-9
    assert np.allclose(te[off][:, RIDGES <= 1e-30], np.asarray(r0.test_error)[off], rtol=1e-8)
    assert np.allclose(te[:, RIDGES >= 1e30], 1.3, rtol=1e-12)


@pytest.mark.parametrize("ridge", ["1e-300", "1e-30", "1e30", "1e300"])
def test_shift_and_eigen_commands_at_extreme_ridges(capsys, ridge):
    from rmt.figures.cli import main

    cmds = [["theory", "shift", "--phi", "0.5,2", "--psi", "0.25,1,4", "--ridge", ridge, "--activation", "tanh",
             "--noise", "0.1", "--spectrum", "1.6:0.4:1,0.4:1.6:1", "--json"],
            ["theory", "shift", "--phi", "2", "--psi", "0.1:1.9:5", "--ridge", ridge, "--activation", "erf",
             "--noise", "0.1", "--family", "power-law", "--alpha", "0.5", "--alpha-star", "0.7", "--json"],
            ["theory", "eigen", "--alpha", "1.5,3", "--beta", "1.8,4", "--n", "10,1000", "--ridge", ridge,
             "--noise", "0.1", "--json"],
            ["theory", "eigen", "--alpha", "1.5", "--beta", "1.8", "--n", "100", "--p", "50,200", "--ridge", ridge,
             "--noise", "0.1", "--json"]]
    for argv in cmds:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0 and err == "", (argv, err)
        for line in out.splitlines():
            rec = json.loads(line)
            assert isinstance(rec["test_error"], float) and math.isfinite(rec["test_error"]), (argv, rec)
