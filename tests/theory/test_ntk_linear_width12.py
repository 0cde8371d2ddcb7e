"""The exact linear-scaling formulation at n1 = 11 and 12 (method="exact"; "auto" keeps the wide formulation above
n1 = 10, so its answers there are unchanged), and the batching of its fixed-point rows."""

from __future__ import annotations

import numpy as np
import pytest

from rmt import Problem
from rmt.theory._ntk_linear import _conditional, gate_rule
from rmt.theory.ntk import linear_scaling


def test_width_twelve_exact_and_auto():
    n1 = 12
    prob = Problem(n0=1.5 / n1, n1=n1, m=1.0, ridge=1e-2, activation="relu", noise=0.1)
    a = np.linspace(0.5, 1.6, n1)
    ex = linear_scaling(prob, second_layer=a, method="exact")
    assert ex.quadrature["gate_rule"] == "exact" and ex.quadrature["gate_nodes"] == 4096
    auto = linear_scaling(prob, second_layer=a)
    assert auto.quadrature["method"] == "wide"
    assert float(auto.test_error) == float(linear_scaling(prob, second_layer=a, method="wide").test_error)
    # the wide formulation is O(1/n1) from the exact one (measured -5.0% at n1 = 10 at this second layer)
    assert abs(float(auto.test_error) / float(ex.test_error) - 1) < 0.06
    np.testing.assert_allclose(ex.bias + ex.variance, ex.test_error, rtol=1e-12)
    assert 0 < float(ex.spectral_radius) < 1
    with pytest.raises(ValueError, match="n1"):
        linear_scaling(Problem(n0=0.1, n1=13, m=1.0, ridge=1e-2), method="exact")


@pytest.mark.parametrize("act,n1", [("relu", 6), ("tanh", 3)])
def test_rows_are_independent_of_the_batch(act, n1):
    """Many rows in one fixed-point call (as linear_scaling passes them) equal one row per call to rounding."""
    v, w, _ = gate_rule(act, n1)
    rng = np.random.default_rng(1)
    lam = 1e-2 * n1 / rng.uniform(0.2, 2.0, (7, n1)) ** 2
    phi = rng.uniform(0.5, 2.5, 7) / n1
    batch = _conditional(phi, lam, v, w)
    for i in (0, 3, 6):
        one = _conditional(phi[i:i + 1], lam[i:i + 1], v, w)
        for key in ("es", "en", "alpha"):
            assert one[key][0] == pytest.approx(batch[key][i], rel=1e-10)
