"""The triple-descent figure's points extrapolated to ``n0 -> inf``: Richardson's rule in ``1/n0`` and its error,
the half-size coordinates per region, the rows it writes, and its deviation from the applicable limit."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from rmt import Problem
from rmt.figures import triple_descent as td
from rmt.theory.ntk import linear_scaling, quadratic_scaling


def test_richardson_removes_a_1_over_n0_term_and_propagates_independent_errors():
    exact = lambda n: 0.3 + 1.7 / n  # noqa: E731
    e, se = td.richardson(exact(150), 0.01, exact(75), 0.02, 150, 75)
    assert e == pytest.approx(0.3, abs=1e-14) and e == pytest.approx(2 * exact(150) - exact(75), abs=1e-15)
    assert se == pytest.approx(math.sqrt(4 * 0.01 ** 2 + 0.02 ** 2), rel=1e-14)
    e, se = td.richardson(exact(75), 0.01, exact(38), 0.02, 75, 38)  # n0 odd: h = 38, not n0 / 2
    assert e == pytest.approx(0.3, abs=1e-14)
    assert se == pytest.approx(math.sqrt((75 * 0.01) ** 2 + (38 * 0.02) ** 2) / 37, rel=1e-14)
    with pytest.raises(ValueError, match="h must"):
        td.richardson(1.0, 0.1, 1.0, 0.1, 10, 10)


def test_half_size_keeps_the_limit_coordinates_of_each_region():
    assert td.half_size(150, 3, 600, "linear") == (75, 3, 300)  # same phi and integer width
    assert td.half_size(150, 24, 600, "quadratic") == (75, 12, 300)  # same phi and psi
    h, n1_h, m_h = td.half_size(75, 4, 300, "linear")  # n0 odd: h = 38, m_h = 152 keeps phi = 1/4 exactly
    assert (h, n1_h, m_h) == (38, 4, 152) and h * 300 == m_h * 75
    assert td.half_size(75, 150, 300, "quadratic") == (38, 76, 152)  # psi exact
    assert td.half_size(75, 16, 300, "quadratic") == (38, 8, 152)  # the nearest psi the integers allow
    assert td.half_size(3, 1, 5, "quadratic") == (2, 1, 3)
    # the limits depend on the coordinates only, so the half-size problem has the same limit
    prob = lambda n0, n1, m: Problem(n0=n0, n1=n1, m=m, ridge=1e-3, activation="relu", noise=0.1)  # noqa: E731
    q = [float(quadratic_scaling(prob(*s), lr_ratio=0.01).test_error) for s in ((150, 24, 600), (75, 12, 300))]
    assert q[0] == pytest.approx(q[1], rel=1e-12)
    with pytest.raises(ValueError, match="n0"):
        td.half_size(1, 1, 4, "linear")
    with pytest.raises(ValueError, match="region"):
        td.half_size(8, 1, 4, "middle")


def _cfg(**kw):
    base = dict(n0=15, m=50, activations=("tanh",), lr_ratios=(0.5,), linear_widths=(1, 2), sim_widths=(2, 3, 16),
                switch_width=4.0, quadratic_min_width=4, quadratic_max_ratio=2.0, a_points=32, gate_points=128,
                trials=(2, 2, 2), reps=2, extrapolate_linear=True)
    return td.TripleDescentConfig(**{**base, **kw})


def _limit(prob: Problem, lr: float, region: str, cfg) -> float:
    if region == "quadratic":
        return float(quadratic_scaling(prob, lr_ratio=lr).test_error)
    return float(linear_scaling(prob, lr_ratio=lr, a_points=cfg.a_points, gate_points=cfg.gate_points).test_error)


def test_extrapolation_rows_recover_the_limit_of_an_exact_1_over_n0_model(monkeypatch):
    """A stand-in simulation returns the limit at its own coordinates plus ``0.3 / n0``: the extrapolated points must
    give the limit at the figure's coordinates, also where the half-size ratios are not exact (``n0 = 15`` odd,
    ``m = 50``: ``m_h = 27``; ``n1 = 16``: ``n1_h = 9``), and none is made in the linear region beyond the exact
    widths (``n1 = 3``) nor, by default, in the linear region at all."""
    cfg = _cfg()
    calls = []

    def fake(problem, *, lr_ratio, trials, reps, seed):
        region = "linear" if problem.n1 <= 3 else "quadratic"
        calls.append((problem.n0, problem.n1, problem.m, seed))
        return SimpleNamespace(test_error=_limit(problem, lr_ratio, region, cfg) + 0.3 / problem.n0,
                               stderr={"test_error": 0.01}, bias=0.0, variance=0.0)

    monkeypatch.setattr("rmt.montecarlo.ntk.simulate_ntk", fake)
    sims = td.compute_simulation(cfg)
    msgs = []
    rows = td.compute_extrapolation(cfg, sims, progress=msgs.append)
    half = {r["n1"]: r for r in rows if r["kind"] == "simulation-half"}
    ext = {r["n1"]: r for r in rows if r["kind"] == "simulation-extrapolated"}
    assert sorted(ext) == [2, 16] and sorted(half) == [2, 9]
    assert (half[2]["n0"], half[2]["m"], half[9]["n0"], half[9]["m"]) == (8, 27, 8, 27)
    assert half[9]["p"] == 8 * 9 and half[9]["p_over_m"] == pytest.approx(72 / 27)
    for n1, region in ((2, "linear"), (16, "quadratic")):
        prob = Problem(n0=15, n1=n1, m=50, ridge=cfg.ridge, activation="tanh", noise=cfg.noise)
        assert ext[n1]["test_error"] == pytest.approx(_limit(prob, 0.5, region, cfg), rel=1e-9)
        assert ext[n1]["stderr"] == pytest.approx(math.hypot(15 * 0.01, 8 * 0.01) / 7, rel=1e-12)
        assert (ext[n1]["p"], ext[n1]["n0"], ext[n1]["m"]) == (15 * n1, 15, 50)
        assert math.isnan(ext[n1]["bias"])
    assert all("limit shift" in m for m in msgs) and len(msgs) == 2
    seeds = [s for *_, s in calls]
    assert len(set(seeds)) == len(seeds)  # the half-size runs have their own draws
    assert td.compute_extrapolation(cfg, [r for r in sims if r["n1"] == 3]) == []
    default = dataclasses.replace(cfg, extrapolate_linear=False)  # by default: the quadratic region only
    assert [r["n1"] for r in td.compute_extrapolation(default, sims)] == [9, 16]


def test_region_deviations_of_the_extrapolated_points():
    cfg = _cfg()
    prob = lambda n1: Problem(n0=15, n1=n1, m=50, ridge=1e-3, activation="tanh", noise=0.1)  # noqa: E731
    lin, quad = 0.4, float(quadratic_scaling(prob(16), lr_ratio=0.5).test_error)
    theory = [td._row("tanh", 0.5, "theory-linear", 2, cfg, lin)]
    rows = theory + [td._row("tanh", 0.5, "simulation-extrapolated", 2, cfg, 0.9 * lin, 0.02),
                     td._row("tanh", 0.5, "simulation-extrapolated", 16, cfg, 1.05 * quad, 0.004),
                     td._row("tanh", 0.5, "simulation", 16, cfg, 2 * quad, 0.004)]
    devs = {d["region"]: d for d in td.region_deviations(rows, cfg, kind="simulation-extrapolated")}
    assert devs["linear"]["deviation"] == pytest.approx(-0.1) and devs["linear"]["z"] == pytest.approx(-2.0)
    assert devs["quadratic"]["deviation"] == pytest.approx(0.05)
    assert devs["quadratic"]["z"] == pytest.approx(0.05 * quad / 0.004)
    raw = td.region_deviations(rows, cfg)
    assert [d["region"] for d in raw] == ["quadratic"] and raw[0]["deviation"] == pytest.approx(1.0)


def test_config_needs_n0_of_two_to_extrapolate():
    with pytest.raises(ValueError, match="n0"):
        td.TripleDescentConfig(n0=1, m=4)
    assert td.TripleDescentConfig(n0=1, m=4, extrapolate=False).n0 == 1
