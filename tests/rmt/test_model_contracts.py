"""One contract per model for dynamics, transfer and HEA: one problem object in ``rmt`` drives the theory entry point
and the simulation entry point of the model table, and their rows merge on the table's coordinates in one line; the
older call forms keep working and give the same numbers; bad input raises ``ValueError`` naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

import rmt
from rmt.figures.models import get_model

pd = pytest.importorskip("pandas")


def _problem_class(spec):
    """The class the table's ``problem`` field names (``"rmt.X"``)."""
    assert spec.problem.startswith("rmt.") and spec.problem.count(".") == 1, spec.problem
    return getattr(rmt, spec.problem.split(".")[1])


def _merge(spec, th, sim):
    on = [c for c in spec.coordinates if c in th.columns or c in sim.columns]
    assert all(c in th.columns and c in sim.columns for c in on), (on, list(th.columns), list(sim.columns))
    return pd.merge(th, sim, on=on, suffixes=("_theory", "_sim"))


# ---------------------------------------------------------------------------------------------------- dynamics

def test_dynamics_one_problem_drives_theory_and_simulation():
    import rmt.theory.dynamics as D

    spec = get_model("dynamics")
    assert _problem_class(spec) is rmt.DynamicsProblem is D.DynamicsProblem  # old import path: the same class
    s = rmt.Eigensystem(np.arange(1, 21) ** -1.2, np.arange(1, 21) ** -1.5)
    p = rmt.DynamicsProblem(s, "gf", steps=(0, 5, 30), n=30, lr=0.5, noise=0.2)
    merged = _merge(spec, spec.theory_function()(p).to_frame(),
                    spec.simulation_function()(p, reps=2, runs_per_rep=20, seed=1).to_frame())
    # "gf" with steps and lr is gradient descent: both sides name the algorithm "gd"
    assert list(merged["step"]) == [0, 5, 30] and list(merged["algorithm"]) == ["gd"] * 3
    # step 0 (w = 0): the error is the signal exactly, on both sides
    assert merged["test_error_theory"][0] == pytest.approx(s.signal, rel=1e-12)
    assert merged["test_error_sim"][0] == pytest.approx(s.signal, rel=1e-12)
    # later steps agree within the standard error plus the finite-n allowance (6 standard errors, 3/n relative)
    tol = 6 * merged["stderr.test_error"] + D.finite_size_allowance(p) * merged["test_error_theory"]
    assert ((merged["test_error_sim"] - merged["test_error_theory"]).abs() <= tol).all()


def test_dynamics_problem_validation_lives_in_rmt():
    from rmt.theory._dynamics_gf import steps_array, times_array
    from rmt import dynamics_problem

    assert steps_array is dynamics_problem.steps_array and times_array is dynamics_problem.times_array
    s = rmt.Eigensystem.power_law(1.5, 1.5, 10)
    with pytest.raises(ValueError, match="steps"):
        rmt.DynamicsProblem(s, "gf", steps=(5, 3), n=10, lr=0.5)
    with pytest.raises(ValueError, match="lr"):
        rmt.DynamicsProblem(s, "gf", steps=(0, 3), n=10, lr=-1.0)
    with pytest.raises(ValueError, match="times"):
        rmt.DynamicsProblem(s, "gf", times=(-1.0,))


# ---------------------------------------------------------------------------------------------------- transfer

def test_transfer_one_problem_drives_theory_and_simulation():
    from rmt.montecarlo.transfer import simulate_transfer
    from rmt.theory.transfer import TransferSetting, transfer

    spec = get_model("transfer")
    assert _problem_class(spec) is rmt.TransferProblem and rmt.TransferSetting is TransferSetting
    p = rmt.TransferProblem.power_law(1.5, 1.2, 20, "top:10", n=25, ridge=0.1, noise=0.1)
    assert p.features.tolist() == [1.0] * 10 + [0.0] * 10 and not p.features.flags.writeable
    th, sim = spec.theory_function()(p), spec.simulation_function()(p, trials=8, seed=2)
    merged = _merge(spec, th.to_frame(), sim.to_frame())
    assert len(merged) == 1 and merged["kept_features_theory"][0] == merged["kept_features_sim"][0] == 10
    row = merged.iloc[0]
    assert row["test_error_theory"] == float(th.test_error) and row["test_error_sim"] == sim.values["test_error"]
    # the same problem on both sides: agreement within 4 standard errors plus a 3/n finite-size allowance (the
    # bias, whose estimate is sharp, tells the featurisations apart: identity features would give 0.07, not 0.40)
    for q in ("test_error", "bias"):
        assert abs(row[f"{q}_sim"] - row[f"{q}_theory"]) <= 4 * row[f"stderr.{q}"] + 3 / p.n * row[f"{q}_theory"]
    # the older call forms: the same numbers
    old_th = transfer(p.setting, "top:10", 25, 0.1, 0.1)
    assert float(old_th.test_error) == float(th.test_error) and float(old_th.V_X) == float(th.V_X)
    old_sim = simulate_transfer(p.eigenvalues, p.target_power, p.features, 25, 0.1, 0.1, trials=8, seed=2)
    assert old_sim.values == sim.values and old_sim.stderr == sim.stderr


def test_transfer_bad_input_names_the_argument():
    from rmt.montecarlo.transfer import simulate_transfer
    from rmt.theory.transfer import transfer_theory

    st = rmt.TransferSetting.power_law(1.5, 1.2, 5)
    ok = dict(setting=st, features="identity", n=10, ridge=0.1, noise=0.0)
    for name, bad, word in (("features", "top:9", "features"), ("features", [1.0, 1.0], "features"),
                            ("n", -1, "n"), ("ridge", -0.1, "ridge"), ("noise", float("nan"), "noise"),
                            ("n", [10, 20], "n"), ("setting", [1.0, 0.5], "setting")):
        with pytest.raises(ValueError, match=word):
            rmt.TransferProblem(**{**ok, name: bad})
    p = rmt.TransferProblem(**ok)
    with pytest.raises(ValueError, match="^target_power"):
        simulate_transfer(p, st.target_power)
    with pytest.raises(ValueError, match="^noise"):
        simulate_transfer(p, noise=0.5)
    with pytest.raises(ValueError, match="target_power is required"):
        simulate_transfer(st.eigenvalues)
    with pytest.raises(ValueError, match="problem"):
        transfer_theory(st)


# ---------------------------------------------------------------------------------------------------------- HEA

def test_hea_one_problem_drives_theory_and_simulation():
    from rmt.montecarlo.hea import simulate_hea
    from rmt.theory.hea import hea_spectrum, learning_curve

    spec = get_model("hea")
    assert _problem_class(spec) is rmt.HEAProblem
    g = [1.0, 0.5, 0.25]
    p = rmt.HEAProblem("linear", g, {(0,): 1.0, (2,): 0.5}, n=40, ridge=0.01, noise=0.1)
    th, sim = spec.theory_function()(p, modes=50), spec.simulation_function()(p, trials=6, n_test=400, seed=3)
    merged = _merge(spec, th.to_frame(), sim.to_frame())
    assert len(merged) == 1
    row = merged.iloc[0]
    assert row["test_error_theory"] == th.test_error and row["test_error_sim"] == sim.test_error
    assert row["learnability.2_theory"] == th.learnability[(2,)]
    # the linear kernel's ansatz is exact (eigenvalues = gammas): agreement within 4 standard errors plus 3/n
    assert abs(row["test_error_sim"] - row["test_error_theory"]) <= (4 * row["stderr.test_error"]
                                                                     + 3 / p.n * row["test_error_theory"])
    # the older call forms: the same numbers
    res, learn = learning_curve(hea_spectrum("linear", g, 50, target=p.target), 40, 0.01, 0.1)
    assert float(res.test_error) == th.test_error and float(learn[(0,)]) == th.learnability[(0,)]
    old = simulate_hea("linear", g, {(0,): 1.0, (2,): 0.5}, 40, 0.01, 0.1, trials=6, n_test=400, seed=3)
    assert old.test_error == sim.test_error and old.learnability == sim.learnability


def test_hea_bad_input_names_the_argument():
    from rmt.montecarlo.hea import simulate_hea
    from rmt.theory.hea import hea_theory

    ok = dict(kernel="gaussian", gammas=[1.0, 0.5], target={(0,): 1.0}, n=10, ridge=0.1, noise=0.0, bandwidth=1.0)
    for name, bad, word in (("kernel", "cubic", "kernel"), ("gammas", [0.5, 1.0], "gammas"),
                            ("gammas", [1.0, -1.0], "gammas"), ("target", {}, "target"),
                            ("target", {(0, 5): 1.0}, "target"), ("target", [1.0], "target"), ("n", 0, "n"),
                            ("ridge", -1.0, "ridge"), ("noise", -1.0, "noise"), ("bandwidth", 0.0, "bandwidth")):
        with pytest.raises(ValueError, match=word):
            rmt.HEAProblem(**{**ok, name: bad})
    p = rmt.HEAProblem(**ok)
    assert p.target == {(0,): 1.0} and not p.gammas.flags.writeable
    with pytest.raises(ValueError, match="^gammas"):
        simulate_hea(p, [1.0])
    with pytest.raises(ValueError, match="^bandwidth"):
        simulate_hea(p, bandwidth=2.0)
    with pytest.raises(ValueError, match="gammas is required"):
        simulate_hea("linear")
    with pytest.raises(ValueError, match="problem"):
        hea_theory(ok)
