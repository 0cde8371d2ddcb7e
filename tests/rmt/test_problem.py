"""The shared problem description: constructors, ratios and validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmt.problem import CovarianceSpectrum, LinearProblem, Problem


def test_ratios_and_constructors():
    p = Problem(n0=400, n1=800, m=600, ridge=0.1, activation="tanh")
    assert p.phi == pytest.approx(400 / 600)
    assert p.psi == pytest.approx(0.5)
    assert p.psi1 == pytest.approx(2.0) and p.psi2 == pytest.approx(1.5)
    assert p.lambda_mm == pytest.approx(0.1 * 400 / 600)
    assert p.width_ratio == pytest.approx(800 / 600)
    assert p.integer_sizes() == (400, 800, 600)
    q = Problem.from_ratios(phi=p.phi, psi=p.psi, ridge=0.1, activation="tanh", n0=400)
    assert q.integer_sizes() == (400, 800, 600)
    mm = Problem.from_mei_montanari(psi1=2.0, psi2=1.5, lam=p.lambda_mm, activation="tanh", tau2=0.3, n0=400)
    assert mm.integer_sizes() == (400, 800, 600)
    assert mm.ridge == pytest.approx(0.1) and mm.noise == 0.3


def test_grid_problems_broadcast_and_map():
    p = Problem.from_ratios(np.array([0.5, 1.0, 2.0]), psi=np.array([[0.5], [1.0]]), ridge=0.1)
    assert p.shape == (2, 3)
    assert not p.is_scalar
    with pytest.raises(ValueError, match="scalar"):
        p.integer_sizes()
    vals = p.map(lambda q: float(q.phi))
    assert vals == pytest.approx([0.5, 1.0, 2.0] * 2)
    with pytest.raises(ValueError, match="broadcast"):
        Problem(n0=np.ones(2), n1=np.ones(3), m=1.0)


def test_with_n0_keeps_ratios():
    p = Problem.from_ratios(0.5, 2.0).with_n0(300)
    assert p.integer_sizes() == (300, 150, 600)


def test_covariance_spectrum():
    c = CovarianceSpectrum([1.6, 0.4], [0.4, 1.6], [1, 1])
    assert c.weights.tolist() == [0.5, 0.5]
    assert c.is_shifted and c.train_trace == pytest.approx(1.0) and c.test_trace == pytest.approx(1.0)
    assert not CovarianceSpectrum([2.0]).is_shifted
    with pytest.raises(ValueError, match="train eigenvalues"):
        CovarianceSpectrum([-1.0])
    with pytest.raises(ValueError, match="same length"):
        CovarianceSpectrum([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="weights"):
        CovarianceSpectrum([1.0, 2.0], weights=[1.0, -1.0])


def test_linear_problem():
    lp = LinearProblem.from_ratio(2.0, ridge=0.1, n=300, spectrum=CovarianceSpectrum([1, 9]), beta_weights=[0, 2])
    assert lp.gamma == 2.0 and lp.integer_sizes() == (300, 600)
    assert lp.signal_weights.tolist() == [0.0, 1.0]
    assert LinearProblem(n=10, d=5).signal_weights.tolist() == [1.0]
    with pytest.raises(ValueError, match="beta_weights"):
        LinearProblem(n=10, d=5, spectrum=CovarianceSpectrum([1, 2]), beta_weights=[1.0])


BAD = st.one_of(st.floats(max_value=0.0, allow_nan=False, allow_infinity=False), st.just(float("nan")))
NEG = st.one_of(st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False), st.just(float("nan")))


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["n0", "n1", "m"]), value=BAD)
def test_bad_sizes_raise_naming_the_argument(field, value):
    kwargs = dict(n0=10.0, n1=20.0, m=30.0)
    kwargs[field] = value
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        Problem(**kwargs)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["ridge", "noise", "signal", "nonlinear_signal"]), value=NEG)
def test_negative_or_nan_hyperparameters_raise(field, value):
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        Problem(n0=10, n1=20, m=30, **{field: value})


@settings(max_examples=40, deadline=None)
@given(field=st.sampled_from(["phi", "psi"]), value=BAD)
def test_bad_ratios_raise(field, value):
    kwargs = dict(phi=0.5, psi=0.5)
    kwargs[field] = value
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        Problem.from_ratios(**kwargs)


@settings(max_examples=30, deadline=None)
@given(name=st.text(min_size=1, max_size=12).filter(
    lambda s: s.strip().lower() not in {"relu", "tanh", "erf", "linear", "sign", "quadratic", "softplus", "gelu"}))
def test_unknown_activation_names(name):
    with pytest.raises(ValueError, match="activation must be one of relu"):
        Problem(n0=1, n1=1, m=1, activation=name)


def test_infinite_ridge_is_rejected_and_zero_allowed():
    with pytest.raises(ValueError, match="ridge"):
        Problem(n0=1, n1=1, m=1, ridge=math.inf)
    assert Problem(n0=1, n1=1, m=1, ridge=0.0).ridge == 0.0
