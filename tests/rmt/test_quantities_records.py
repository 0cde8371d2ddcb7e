"""One vocabulary (rmt.quantities) and flat records (rmt.records): keys defined once, dotted columns, the same
coordinates on theory and simulation rows (a merge is one line), non-finite numbers never written as strings."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import sys

import numpy as np
import pytest

from rmt import LinearProblem, Problem
from rmt.quantities import COORDINATES, FINE_GRAINED_KEYS, QUANTITIES, SOURCES, describe, fine_grained_columns
from rmt.records import broadcast_records, coordinates, flatten, frame, jsonable, write_csv

pd = pytest.importorskip("pandas")


def test_fine_grained_keys_are_the_subsets_of_the_sources_and_defined_once():
    # independent derivation: every non-empty subset of (P, X, eps), by size then in order
    subsets = ["".join(c) for r in (1, 2, 3) for c in itertools.combinations(SOURCES, r)]
    assert list(FINE_GRAINED_KEYS) == subsets
    from rmt.montecarlo import estimators
    from rmt.theory import ntk, random_features

    for mod in (estimators, ntk, random_features):
        assert mod.FINE_GRAINED_KEYS is FINE_GRAINED_KEYS
    assert estimators.component_keys(SOURCES) == FINE_GRAINED_KEYS


def test_every_name_has_a_meaning():
    assert describe("fine_grained.PX") == describe("PX")
    assert describe("stderr.fine_grained.PX").startswith("standard error of:")
    assert describe("id_fine_grained.P").startswith("in distribution:")
    assert all(q.meaning for q in QUANTITIES.values()) and all(c.meaning for c in COORDINATES.values())
    assert set(fine_grained_columns()) <= set(QUANTITIES)
    with pytest.raises(ValueError, match="name"):
        describe("no_such_quantity")


def test_flatten_and_jsonable():
    nested = {"a": 1, "fine_grained": {"PX": np.float64(2.5)}, "stderr": {"fine_grained": {"PX": 0.1}},
              "trials": (2, 3), "empty": {}}
    flat = flatten(nested)
    assert flat == {"a": 1, "fine_grained.PX": 2.5, "stderr.fine_grained.PX": 0.1, "trials": "[2, 3]", "empty": None}
    assert type(flat["fine_grained.PX"]) is float
    j = jsonable({"x": math.inf, "y": -np.inf, "z": np.nan, "w": np.array([1.0, np.inf]), "k": np.int64(3)})
    assert j == {"x": None, "y": None, "z": None, "w": [1.0, None], "k": 3}
    json.dumps(j, allow_nan=False)  # valid JSON: no Infinity / NaN tokens


def test_broadcast_records_order():
    rows = broadcast_records({"model": "m", "a": np.array([1.0, 2.0])[:, None]}, {"b": np.array([10.0, 20.0, 30.0])})
    assert [(r["a"], r["b"]) for r in rows] == [(1, 10), (1, 20), (1, 30), (2, 10), (2, 20), (2, 30)]
    assert all(r["model"] == "m" for r in rows)


def test_rf_theory_records_are_flat_and_agree_with_the_result():
    from rmt.theory.random_features import rf_theory

    p = Problem(n0=np.array([100.0, 100.0]), n1=np.array([50.0, 100.0]), m=100.0, ridge=0.0, activation="relu",
                noise=0.1)
    r = rf_theory(p)
    recs = r.records()
    assert len(recs) == 2 and all("." not in k or k.split(".")[0] == "fine_grained" for k in recs[0])
    for i, rec in enumerate(recs):
        assert rec["fine_grained.PX"] == r.fine_grained["PX"][i] and rec["test_error"] == r.test_error[i]
        assert (rec["model"], rec["n0"], rec["n1"], rec["m"]) == ("rf", 100.0, p.n1[i], 100.0)
        assert rec["phi"] == 1.0 and rec["psi"] == 100.0 / p.n1[i]
    # n1 = m ridgeless: the divergence stays a float in records, is null in JSON and an empty cell in CSV
    assert recs[1]["test_error"] == math.inf
    assert jsonable(recs[1])["test_error"] is None
    row = list(csv.DictReader(io.StringIO(write_csv(recs))))[1]
    assert row["test_error"] == "" and row["fine_grained.PX"] == "" and float(row["bias"]) == recs[1]["bias"]


def test_csv_round_trip_is_exact():
    from rmt.theory.linear import linear_theory

    recs = linear_theory(LinearProblem.from_ratio(np.array([0.5, 1.0, 2.0]), ridge=0.0, noise=1.0)).records()
    back = pd.read_csv(io.StringIO(write_csv(recs)))
    df = frame(recs)
    assert list(back.columns) == list(df.columns)
    num = [c for c in df.columns if df[c].dtype.kind == "f"]
    finite = np.isfinite(df[num].to_numpy())
    np.testing.assert_array_equal(back[num].to_numpy()[finite], df[num].to_numpy()[finite])  # repr: exact
    # gamma = 1 ridgeless: the variance diverges; CSV has an empty cell, read back as NaN
    assert df.loc[1, "variance"] == math.inf and math.isnan(back.loc[1, "variance"])


def test_coordinates_are_computed_one_way():
    p = Problem(n0=400, n1=800, m=600, ridge=1e-3, activation="tanh", noise=0.25)
    c = coordinates(p, "rf")
    assert c == coordinates(p.as_dict(), "rf")  # from the object and from a stored configuration alike
    assert c["phi"] == p.phi and c["psi"] == p.psi and c["activation"] == "tanh"
    lc = coordinates(LinearProblem(n=200, d=100, ridge=0.1), "linear")
    assert lc["gamma"] == 0.5 and "activation" not in lc


def test_merge_theory_and_simulation_is_one_line():
    """The contract: theory and simulation rows of the same problems join on their coordinate columns."""
    from rmt.figures.models import get_model
    from rmt.montecarlo import simulate_rf
    from rmt.theory.random_features import rf_theory

    p = Problem(n0=20, n1=30, m=25, ridge=0.1, activation="relu", noise=0.25)
    sim = simulate_rf(p, trials=(2, 2, 2), reps=2, n_test=50, taus=False)
    merged = pd.merge(rf_theory(p).to_frame(), sim.to_frame(), on=list(get_model("rf").coordinates),
                      suffixes=("_theory", "_sim"))
    assert len(merged) == 1
    row = merged.iloc[0]
    assert row["test_error_sim"] == sim.test_error and row["test_error_theory"] == rf_theory(p).test_error
    assert row["stderr.fine_grained.PX"] == sim.stderr["fine_grained"]["PX"]
    assert row["n0_theory"] == row["n0_sim"] == 20


def test_merge_linear_on_the_model_tables_coordinates():
    from rmt.figures.models import get_model
    from rmt.montecarlo import simulate_linear
    from rmt.theory.linear import linear_theory

    th = linear_theory(LinearProblem(n=20.0, d=10.0, ridge=np.array([0.1, 1.0]), noise=0.5)).to_frame()
    sims = pd.concat([simulate_linear(LinearProblem(n=20, d=10, ridge=r, noise=0.5), reps=2).to_frame()
                      for r in (0.1, 1.0)])
    merged = pd.merge(th, sims, on=list(get_model("linear").coordinates), suffixes=("_theory", "_sim"))
    assert list(merged["ridge"]) == [0.1, 1.0] and list(merged["gamma"]) == [0.5, 0.5]
    assert merged["test_error_sim"].notna().all() and merged["stderr.test_error"].gt(0).all()


def test_to_frame_names_the_extra_without_pandas(monkeypatch):
    from rmt.theory.linear import linear_theory

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"\[pandas\]"):
        linear_theory(LinearProblem(n=10, d=5, ridge=0.1)).to_frame()


def test_one_meaning_per_name():
    """Distinct names where there were clashes, the old names kept as aliases; the optimal-ridge results agree on
    ``ridge`` and ``test_error``."""
    from rmt.theory import covariate_shift, eigen, eigen_autodiff, random_features

    assert eigen.RFResult is eigen.EigenRFResult and eigen.EigenRFResult is not random_features.RFResult
    assert random_features.OptimalRidge is random_features.RFOptimalRidge
    assert covariate_shift.OptimalRidge is covariate_shift.ShiftOptimalRidge
    assert random_features.RFOptimalRidge is not covariate_shift.ShiftOptimalRidge
    assert random_features.rf_optimal_ridge is random_features.optimal_ridge
    assert covariate_shift.shift_optimal_ridge is covariate_shift.optimal_ridge
    assert eigen_autodiff.eigen_optimal_ridge is eigen_autodiff.optimal_ridge
    rf = random_features.rf_optimal_ridge(Problem.from_ratios(0.5, 0.5, ridge=0.1, noise=0.25))
    sh = covariate_shift.shift_optimal_ridge(0.5, 0.25, noise=0.1)
    opt = eigen_autodiff.Optimum(x=0.3, value=0.2, slope=0.0, at_bound=None, bounds=(1e-3, 1.0), evaluations=5)
    for r in (rf, sh, opt):
        assert r.ridge > 0 and r.test_error > 0
    assert (opt.ridge, opt.test_error) == (0.3, 0.2)
    # the error is minimal at the optimum: both neighbours are worse (independent evaluation)
    p = Problem.from_ratios(0.5, 0.5, ridge=rf.ridge, noise=0.25)
    for f in (0.8, 1.25):
        assert random_features.rf_theory(p.replace(ridge=rf.ridge * f)).test_error > rf.test_error
    # gamma means d/n: LinearProblem.gamma, the `rmt theory linear --gamma` flag and the records' gamma column
    assert LinearProblem.from_ratio(2.0).gamma == 2.0 and describe("gamma") == "d / n (linear ridge)"


def test_every_theory_result_has_flat_records():
    """Mixtures, NTK scalings, eigenframework and the covariate shift: one flat row per grid point, coordinates
    first, every value equal to the result's own (independently read) field."""
    from rmt.theory.covariate_shift import covariate_shift_error, two_point
    from rmt.theory.eigen import Eigensystem, krr, rf
    from rmt.theory.ntk import infinite_width
    from rmt.theory.random_features import FeatureMixture, mixture_theory

    mix = mixture_theory(np.array([0.5, 2.0]), 0.5, 0.1, FeatureMixture.from_activations(["relu", "tanh"]))
    recs = mix.records()
    assert [r["phi"] for r in recs] == [0.5, 2.0] and [r["test_error"] for r in recs] == list(mix.test_error)
    iw = infinite_width(Problem.from_ratios(np.array([0.5, 2.0]), 1.0, ridge=0.1, noise=0.1), lr_ratio=0.5)
    recs = iw.records()
    assert "psi" not in recs[0] and recs[1]["phi"] == 2.0 and recs[1]["fine_grained.X"] == iw.fine_grained["X"][1]
    system = Eigensystem.power_law(1.5, 1.8, 200)
    k = krr(system, n=np.array([50.0, 100.0]), ridge=1e-3, noise=0.1).records()
    assert [r["model"] for r in k] == ["eigen-krr"] * 2 and k[1]["n"] == 100.0
    e = rf(system, n=100, p=50, ridge=1e-3, noise=0.1)
    (row,) = e.records()
    assert row["ensemble_limit_error"] == pytest.approx(float(e.ensemble_limit_mse) - 0.1, abs=1e-15)
    sh = covariate_shift_error(0.5, np.array([0.5, 0.25]), spectrum=two_point(1.0), ridge=0.0, activation="tanh",
                               noise=0.1)
    recs = sh.records()
    assert math.isnan(recs[0]["ood_penalty"]) and recs[0]["test_error"] == math.inf  # the ridgeless pole
    assert recs[1]["ood_penalty"] == pytest.approx(sh.test_error[1] - sh.id_test_error[1], rel=1e-15)


def test_joint_spectrum_lives_beside_the_problem():
    import rmt
    from rmt.theory import covariate_shift

    assert covariate_shift.JointSpectrum is rmt.JointSpectrum  # the old import path is an alias
    sp = rmt.JointSpectrum([1.6, 0.4], [0.4, 1.6])
    cov = sp.covariance()
    assert isinstance(cov, rmt.CovarianceSpectrum) and rmt.JointSpectrum.from_covariance(cov).as_dict()["test"] == [
        0.4, 1.6]
    assert sp.train_trace == cov.train_trace == 1.0
