"""Random-feature simulation: agreement with a plain-numpy implementation on the same draws, internal identities,
the primal/kernel solves, tau1 against free probability for a linear activation, reproducibility, bad input."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from rmt.montecarlo.estimators import FINE_GRAINED_KEYS
from rmt.numerics import float64_jax
from rmt.montecarlo.random_features import (rf_draws, rf_flops, simulate_rf, symmetric_gram, symmetric_gram_flops,
                                        triangular_inverse, triangular_inverse_flops, triangular_solve)
from rmt.problem import CovarianceSpectrum, Problem
from rmt.solvers import SolverError
from rmt.stieltjes import mp_G
from tests.montecarlo._reference import rf_reference

KERNEL = Problem(n0=12, n1=20, m=16, ridge=0.3, activation="relu", noise=0.5, nonlinear_signal=0.3)
PRIMAL = Problem(n0=12, n1=10, m=16, ridge=0.3, activation="tanh", noise=0.5, signal=2.0, nonlinear_signal=0.2,
                 covariance=CovarianceSpectrum([1.0, 4.0], [2.0, 0.5], [0.5, 0.5]))
TRIALS = (2, 3, 2)
N_TEST = 40
REPS = 2


@pytest.fixture(autouse=True)
def _float64():
    """Arrays these tests build with JAX directly are float64 inside the scoped 64-bit mode (importing the package
    leaves JAX's global configuration alone)."""
    with float64_jax():
        yield


@pytest.fixture(scope="module")
def kernel_run():
    return simulate_rf(KERNEL, trials=TRIALS, reps=REPS, seed=11, n_test=N_TEST)


@pytest.fixture(scope="module")
def primal_run():
    return simulate_rf(PRIMAL, trials=TRIALS, reps=REPS, seed=11, n_test=N_TEST)


@pytest.mark.parametrize("which", ["kernel", "primal"])
def test_matches_plain_numpy_on_the_same_draws(which, kernel_run, primal_run):
    """Every per-repetition estimate equals a loop-and-np.linalg implementation of the model and of the
    textbook three-way ANOVA to 1e-10, on the very draws the engine used."""
    problem, run = (KERNEL, kernel_run) if which == "kernel" else (PRIMAL, primal_run)
    assert run.config["solver"] == which
    for rep in range(REPS):
        draws = rf_draws(problem, seed=11, rep=rep, trials=TRIALS, n_test=N_TEST)
        ref = rf_reference(draws, problem.activation, n1=int(problem.n1), ridge=float(problem.ridge),
                           fstar2=float(problem.nonlinear_signal))
        np.testing.assert_allclose(draws.y_test, ref["y_test"], rtol=1e-12, atol=1e-12)
        for key in FINE_GRAINED_KEYS + ("test_error", "train_error", "bias", "variance", "tau1", "tau2"):
            assert run.samples[key][rep] == pytest.approx(ref[key], rel=1e-10, abs=1e-10), (key, rep)


def test_draw_conventions():
    d = rf_draws(KERNEL, seed=3, trials=TRIALS, n_test=N_TEST)
    assert np.sum(d.beta**2) == pytest.approx(KERNEL.n0 * KERNEL.signal, rel=1e-12)  # |beta|^2 = n0 signal
    assert np.sum(d.direction**2) == pytest.approx(1.0, rel=1e-12)
    assert d.mu0 == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)  # centred ReLU
    p = rf_draws(PRIMAL, seed=3, trials=TRIALS, n_test=N_TEST)
    assert p.mu0 == 0.0  # tanh is odd
    train_var = np.repeat([1.0, 4.0], 6)
    assert np.sum(p.direction**2 * train_var) == pytest.approx(1.0, rel=1e-12)  # v.x ~ N(0,1) on train inputs
    # more weight draws leave the existing ones unchanged (one stream per source and draw)
    more = rf_draws(KERNEL, seed=3, trials=(3, 3, 2), n_test=N_TEST)
    np.testing.assert_array_equal(more.w[:2], d.w)
    np.testing.assert_array_equal(more.x, d.x)


@pytest.mark.parametrize("n, block", [(37, 8), (64, 16), (5, 8)])
def test_blocked_triangular_inverse(n, block):
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n, n))
    lower = np.linalg.cholesky(a @ a.T / n + np.eye(n))
    got = np.asarray(jax.jit(triangular_inverse, static_argnums=1)(jnp.asarray(lower), block))
    np.testing.assert_allclose(got, np.linalg.inv(lower), rtol=1e-10, atol=1e-12)
    assert np.all(np.triu(got, 1) == 0)
    assert triangular_inverse_flops(n, block) >= n**3 / 3
    rhs = rng.standard_normal((n, 3))
    np.testing.assert_allclose(np.asarray(jax.jit(triangular_solve, static_argnums=2)(lower, rhs, block)),
                               np.linalg.solve(lower, rhs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n, parts", [(10, 1), (10, 3), (37, 4)])
def test_symmetric_gram(n, parts):
    f = np.random.default_rng(n).standard_normal((n, 6))
    got = jax.jit(symmetric_gram, static_argnums=1)(f, parts)
    np.testing.assert_allclose(np.asarray(got), f @ f.T, rtol=1e-13, atol=1e-13)
    assert symmetric_gram_flops(n, 6, parts) == pytest.approx(2.0 * n * n * 6 * (parts + 1) / (2 * parts), rel=0.1)


def test_flop_count_of_the_benchmark_case():
    """Hand count for n0=1000, n1=m=2000, T=2000, design 2x2x2 (Gram in 3 row blocks: 6/9 of 2 m^2 n1)."""
    fl = rf_flops(1000, 2000, 2000, 2000, (2, 2, 2))
    assert fl["features"] / 4 == 2 * 2000 * 1000 * 2000
    assert fl["gram"] / 4 == pytest.approx(2 * 2000**2 * 2000 * 6 / 9, rel=1e-3)
    assert fl["cholesky"] / 4 == pytest.approx(2000**3 / 3)
    assert fl["test_features"] == 2 * 2 * 2000 * 1000 * 2000
    assert fl["essential"] / 4 == pytest.approx(
        2 * 2000 * 1000 * 2000 + 2000**2 * 2000 + 2000**3 / 3 + 2000**3 / 3 + 2000**2 * 1000 + 2 * 2000 * 1000 * 2000 / 2
        + fl["solve"] / 4 + fl["predict"] / 4, rel=1e-12)


def test_internal_identities(kernel_run):
    s = kernel_run.samples
    np.testing.assert_allclose(s["bias"] + s["variance"], s["test_error"], rtol=1e-12)
    np.testing.assert_allclose(sum(s[k] for k in FINE_GRAINED_KEYS), s["variance"], rtol=1e-12)
    assert kernel_run.stderr["fine_grained"].keys() == set(FINE_GRAINED_KEYS)
    assert set(kernel_run.as_dict()) >= {"test_error", "train_error", "bias", "variance", "fine_grained",
                                         "stderr", "tau1", "tau2"}
    value, err = kernel_run.ensemble(1, "P")
    assert value == pytest.approx(kernel_run.test_error, rel=1e-12)
    groups = kernel_run.grouped({"noise": ["eps", "Peps", "Xeps", "PXeps"]})
    assert groups["noise"][0] == pytest.approx(sum(kernel_run.fine_grained[k] for k in ("eps", "Peps", "Xeps",
                                                                                          "PXeps")))


def test_primal_and_kernel_solves_agree(kernel_run):
    primal = simulate_rf(KERNEL, trials=TRIALS, reps=REPS, seed=11, n_test=N_TEST, solver="primal")
    assert primal.config["solver"] == "primal"
    for key in FINE_GRAINED_KEYS + ("test_error", "train_error", "bias", "tau1", "tau2"):
        np.testing.assert_allclose(primal.samples[key], kernel_run.samples[key], rtol=1e-9, atol=1e-12)


def test_zero_noise_makes_eps_inert_and_zero_ridge_below_threshold_gives_infinite_taus():
    """Also: a custom activation (a JAX callable), centred by quadrature."""
    relu = lambda u: jnp.maximum(u, 0.0)  # noqa: E731
    r = simulate_rf(KERNEL.replace(noise=0.0, n1=10.0, ridge=0.0, activation=relu), trials=(2, 2, 5), reps=2,
                    n_test=N_TEST)
    assert r.config["mu0"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=2e-3)
    assert r.trials == (2, 2, 1)
    for k in ("eps", "Peps", "Xeps", "PXeps"):
        assert r.fine_grained[k] == 0.0 and r.stderr["fine_grained"][k] == 0.0
    assert r.extras["tau1"] == math.inf and r.extras["tau2"] == math.inf
    assert math.isfinite(r.test_error)


def test_reproducible_bit_for_bit(kernel_run):
    again = simulate_rf(KERNEL, trials=TRIALS, reps=REPS, seed=11, n_test=N_TEST)
    for k, v in kernel_run.samples.items():
        np.testing.assert_array_equal(again.samples[k], v)
    other = simulate_rf(KERNEL, trials=TRIALS, reps=REPS, seed=12, n_test=N_TEST)
    assert not np.array_equal(other.samples["test_error"], kernel_run.samples["test_error"])


def _tau1_linear_activation(phi: float, psi: float, ridge: float) -> float:
    """tau1 for sigma(u) = u, where K = X^T A X / n0 with A = W^T W / n1 ~ MP_psi (AP's X is n0 x m).

    Silverstein-Bai: the companion matrix B = X^T A X / m (= phi K) has Stieltjes transform u(z) solving
    z = -1/u + phi int t dH(t) / (1 + t u) with H = MP_psi, i.e. int t/(1+tu) dH = (1 - G_psi(1/u)/u)/u.
    Then tau1 = (1/m) tr (K + ridge)^-1 = phi u(-ridge phi).
    """
    s = ridge * phi

    def f(u):
        return -s + 1.0 / u - (phi / u) * (1.0 - mp_G(1.0 / u, psi) / u)

    u = brentq(f, 1e-9, 1.0 / s, xtol=1e-15, rtol=1e-14)
    return phi * u


@pytest.mark.parametrize("n1", [300, 120])  # kernel (n1 > m) and primal (n1 < m) solves
def test_tau1_linear_activation_matches_free_probability(n1):
    """Within 4 standard errors plus a 3% finite-size allowance."""
    problem = Problem(n0=150, n1=n1, m=225, ridge=0.1, activation="linear")
    r = simulate_rf(problem, trials=(2, 2, 2), reps=3, n_test=50)
    theory = _tau1_linear_activation(float(problem.phi), float(problem.psi), 0.1)
    assert abs(r.extras["tau1"] - theory) < 4 * r.stderr["tau1"] + 0.03 * theory, (r.extras["tau1"], theory)


def test_float32_option_runs_close_to_float64(kernel_run):
    r32 = simulate_rf(KERNEL, trials=TRIALS, reps=REPS, seed=11, n_test=N_TEST, dtype="float32")
    assert r32.config["dtype"] == "float32"
    np.testing.assert_allclose(r32.samples["test_error"], kernel_run.samples["test_error"], rtol=1e-3)


def test_singular_kernel_raises_solver_error():
    # linear activation: K = X^T W^T W X / (n0 n1) has rank n0 = 6 < m = 12, and there is no ridge
    with pytest.raises(SolverError, match="non-finite"):
        simulate_rf(Problem(n0=6, n1=20, m=12, ridge=0.0, activation="linear"), trials=(2, 2, 2), reps=1,
                    n_test=10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(trials=(1, 2, 2)), r"trials\[P\] must be an integer >= 2"),
    (dict(trials=(2, 2)), "trials must have 3 entries"),
    (dict(trials="abc"), "trials must be a sequence of 3 integers"),
    (dict(reps=0), "reps must be an integer >= 1"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(seed=2**64), r"seed must be an integer in \[0, 2\*\*63\)"),
    (dict(n_test=0), "n_test must be an integer >= 1"),
    (dict(dtype="float16"), "dtype must be 'float64' or 'float32'"),
    (dict(solver="lu"), "solver must be 'auto', 'kernel' or 'primal'"),
    (dict(max_memory=0), r"max_memory must be positive"),
    (dict(devices=64), "devices must be at most"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_rf(KERNEL, **{"reps": 1, "n_test": 10, **kwargs})


def _not_integral(x: float) -> bool:
    return not (math.isfinite(x) and float(x).is_integer())


def _not_a_count(text: str) -> bool:
    """Text that does not read as an integer >= 1 (``"3"`` is accepted by the validators, as is ``3.0``)."""
    try:
        return _not_integral(float(text)) or float(text) < 1
    except ValueError:
        return True


@settings(max_examples=60, deadline=None)
@given(bad=st.one_of(
    st.tuples(st.just("reps"), st.one_of(st.integers(max_value=0), st.floats().filter(_not_integral),
                                        st.text(max_size=4).filter(_not_a_count), st.booleans())),
    st.tuples(st.just("seed"), st.one_of(st.integers(max_value=-1), st.integers(min_value=2**63),
                                        st.floats().filter(_not_integral))),
    st.tuples(st.just("n_test"), st.integers(max_value=0)),
    st.tuples(st.just("trials"), st.lists(st.integers(max_value=1), min_size=3, max_size=3)),
))
def test_bad_arguments_always_name_the_argument(bad):
    """Whatever the bad value, a ValueError naming the argument, raised before any compilation."""
    name, value = bad
    with pytest.raises(ValueError, match=name):
        simulate_rf(KERNEL, **{name: value})


def test_bad_problems_raise_value_error():
    with pytest.raises(ValueError, match="rmt.problem.Problem"):
        simulate_rf({"n0": 10})
    with pytest.raises(ValueError, match="scalar Problem"):
        simulate_rf(Problem(n0=[10, 20], n1=20, m=16, ridge=0.1))
    with pytest.raises(ValueError, match="needs ridge > 0 when n1 < m"):
        simulate_rf(Problem(n0=10, n1=8, m=16, ridge=0.0), solver="kernel")


def test_uneven_cell_batches_do_not_deadlock():
    """Regression: a cell batch that left a remainder (5 of 9 fits) made ``simulate_rf`` hang in XLA:CPU. Run in a
    subprocess with a timeout so that a hang fails the test instead of stalling the suite."""
    import subprocess
    import sys

    from rmt.montecarlo._engine import choose_cell_batch

    assert choose_cell_batch(n_cells=9, cell_bytes=1.0, cell_flops=4e8, shared_bytes=0.0) == 3  # not 5
    assert choose_cell_batch(n_cells=7, cell_bytes=1.0, cell_flops=4e8, shared_bytes=0.0) == 1
    code = ("from rmt import Problem; from rmt.montecarlo import simulate_rf; "
            "p = Problem(n0=200, n1=400, m=400, ridge=0.1, activation='relu', noise=0.25); "
            "r = simulate_rf(p, trials=(3, 3, 2), reps=2, n_test=1000); print(r.test_error)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert 0.0 < float(proc.stdout) < 2.0
