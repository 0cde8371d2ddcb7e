"""The compressed eigensystem (rmt.theory._eigen_fast via rmt.theory.eigen.compress) against the direct sums.

Expected values come from the direct O(M) path of rmt.theory.eigen, which stays the reference: every quantity of
KRR and RF must agree to 1e-10 relative at random points, including extreme ridges, n near and beyond the rank,
kappa outside the spectrum's range (moment expansions) and kappa = 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from rmt.theory._eigen_fast import CompressedEigensystem, direct_sums
from rmt.theory.eigen import Eigensystem, compress, krr, rf, solve_kappa

REL = 1e-10
KRR_KEYS = ("kappa", "test_error", "bias", "variance", "train_error", "E0", "df1", "df2")
RF_KEYS = ("gamma", "kappa", "test_error", "bias", "variance", "train_error", "E0", "ensemble_limit_mse")


def _close(a, b, rel=REL, floor=0.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    same_inf = np.isinf(a) & np.isinf(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.where(same_inf, 0.0, np.abs(a - b) / np.maximum(np.abs(b), floor))
    err = np.where((a == 0) & (b == 0), 0.0, err)
    return float(np.max(err))


def _points(rng, P, rank):
    n = np.exp(rng.uniform(np.log(0.5), np.log(4 * rank), P))
    ridge = 10.0 ** rng.uniform(-14, 4, P)
    ridge[: P // 8] = 0.0
    n[P // 8: P // 4] = rank * np.exp(rng.uniform(-0.01, 0.01, P // 4 - P // 8))  # next to the rank
    noise = rng.uniform(0, 1, P)
    return n, ridge, noise


@pytest.fixture(scope="module")
def power():
    s = Eigensystem.power_law(1.5, 1.8, 3000)
    return s, compress(s)


def test_krr_random_points_equal_direct(power):
    s, c = power
    n, ridge, noise = _points(np.random.default_rng(1), 400, 3000)
    a, b = krr(c, n, ridge, noise), krr(s, n, ridge, noise)
    for k in KRR_KEYS:
        assert _close(getattr(a, k), getattr(b, k)) < REL, k


def test_rf_random_points_equal_direct(power):
    s, c = power
    rng = np.random.default_rng(2)
    n, ridge, noise = _points(rng, 300, 3000)
    p = np.exp(rng.uniform(np.log(0.5), np.log(8000), n.size))
    p[:20] = n[:20]  # n == p (the ridgeless RF peak when ridge = 0)
    ridge[:10] = np.maximum(ridge[:10], 1e-3)
    a, b = rf(c, n, p, ridge, noise), rf(s, n, p, ridge, noise)
    for k in RF_KEYS:
        assert _close(getattr(a, k), getattr(b, k)) < REL, k
    # the feature variance is a difference E_1 - E_inf: compare it on the scale of E_1
    fin = np.isfinite(b.test_mse)
    assert np.array_equal(fin, np.isfinite(a.test_mse))
    with np.errstate(invalid="ignore"):
        fv = np.abs(np.asarray(a.feature_variance) - b.feature_variance)[fin] / np.asarray(b.test_mse)[fin]
    assert float(fv.max()) < REL


def test_sums_out_of_range_and_zero():
    s = Eigensystem(np.geomspace(1.0, 1e-6, 700), np.geomspace(1.0, 1e-9, 700))
    c = compress(s)
    kap = np.concatenate([np.geomspace(1e-30, 1e-8, 30), np.geomspace(30.0, 1e30, 30)])
    fast = c.spectral_sums(kap)
    ref = direct_sums(s.eigenvalues, s.multiplicities, s.target_power, kap)
    for j, k in enumerate(("z", "q", "zq", "b2", "bl")):
        assert _close(fast[k], ref[..., j], rel=1e-13) < 1e-13, k
    z0 = c.spectral_sums(np.array([0.0]))
    assert z0["z"][0] == pytest.approx(700, rel=1e-15) and z0["zq"][0] == 0 and z0["b2"][0] == 0


def test_flat_part_tail_multiplicities_and_isotropic():
    s = Eigensystem.power_law(2.0, 1.5, 200_000, tail=True, exact_modes=500, bins_per_decade=40)
    c = compress(s)
    n, ridge, noise = _points(np.random.default_rng(3), 200, 1e5)
    a, b = krr(c, n, ridge + 1e-9, noise), krr(s, n, ridge + 1e-9, noise)
    for k in KRR_KEYS:
        assert _close(getattr(a, k), getattr(b, k)) < REL, k
    iso = Eigensystem.isotropic(d=100, signal=1.0)
    r = krr(compress(iso), n=200, ridge=0.0, noise=0.3)
    assert float(r.test_mse) == pytest.approx(0.3 / (1 - 100 / 200), rel=1e-13)  # Marchenko-Pastur closed form
    none = Eigensystem(np.geomspace(1, 1e-3, 50), np.zeros(50))
    assert float(krr(compress(none), 20, 1e-3, 0.1).bias) == 0.0


def test_is_an_eigensystem_and_checks_its_build():
    s = Eigensystem.power_law(1.2, 1.4, 1000)
    c = compress(s)
    assert isinstance(c, Eigensystem) and c.build_error < 1e-13
    assert float(solve_kappa(c, 10.0, 0.0).value) == pytest.approx(float(solve_kappa(s, 10.0, 0.0).value),
                                                                   rel=1e-12)
    np.testing.assert_allclose(c.df2(np.geomspace(1e-6, 1, 7)), s.df2(np.geomspace(1e-6, 1, 7)), rtol=1e-12)
    with pytest.raises(ValueError, match="degree"):
        CompressedEigensystem.from_system(s, degree=2)
    with pytest.raises(ValueError, match="tol"):
        compress(s, tol=-1.0)
    with pytest.raises(ValueError, match="system"):
        CompressedEigensystem.from_system("not a system")
