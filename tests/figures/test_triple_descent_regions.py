"""The triple-descent figure's regions: the boundary rule (where the quadratic-scaling limit reaches the
linear-scaling one, from the theory alone) and the per-region worst deviation."""

from __future__ import annotations

import pytest

from rmt import Problem
from rmt.figures import triple_descent as td
from rmt.theory.ntk import linear_scaling, quadratic_scaling


def _cfg(**kw):
    base = dict(n0=20, m=80, activations=("tanh",), lr_ratios=(0.01,), linear_widths=(1, 2), sim_widths=(2, 30),
                quadratic_min_width=4, quadratic_max_ratio=2.0, a_points=64, gate_points=256)
    return td.TripleDescentConfig(**{**base, **kw})


def test_switch_is_where_the_curves_cross_and_deviations_use_the_applicable_curve():
    cfg = _cfg()
    rows = td.compute_theory(cfg)
    sw = td.switch_width(cfg, rows, "tanh", 0.01)
    lin = {r["n1"]: r["test_error"] for r in rows if r["kind"] == "theory-linear"}
    below, above = max(n for n in lin if n < sw), min(n for n in lin if n > sw)
    prob = lambda n1: Problem(n0=20, n1=n1, m=80, ridge=1e-3, activation="tanh", noise=0.1)  # noqa: E731
    q = lambda n1: float(quadratic_scaling(prob(n1), lr_ratio=0.01).test_error)  # noqa: E731
    assert q(above) >= lin[above] and (below < 4 or q(below) < lin[below])
    fake = [dict(activation="tanh", lr_ratio=0.01, kind="simulation", n1=n1, p=20 * n1, p_over_m=n1 / 4,
                 test_error=1.1 * ref, stderr=0.01, bias=0.0, variance=0.0)
            for n1, ref in ((2, float(linear_scaling(prob(2), lr_ratio=0.01).test_error)), (30, q(30)))]
    devs = td.region_deviations(rows + fake, cfg)
    assert {d["region"] for d in devs} == {"linear", "quadratic"}
    assert all(d["deviation"] == pytest.approx(0.1, rel=1e-9) for d in devs)
    assert td.switch_width(_cfg(switch_width=7.0), rows, "tanh", 0.01) == 7.0
