"""Speed of the compressed eigenframework (``rmt.theory.eigen.compress``) against the direct sums, side by side.

On an explicit power-law spectrum ``lambda_i = i^-1.5``, ``v_i^2 = i^-1.8`` with ``M`` modes (default 10^5), pinned to
one CPU core: KRR at ``P`` random points (default 10^4; ``n`` log-uniform on [1, 2M], ridge log-uniform on
[1e-12, 1e3] with one point in 16 ridgeless, random noise) and RF at the same points with ``p`` log-uniform on
[1, 2M]. The compressed path evaluates every point; the direct path (``krr``/``rf`` on the plain eigensystem, which
costs ``O(M)`` per point) a subset, whose time is scaled to ``P`` points. Prints the build time, both times, their
ratio, and the largest relative difference between the two paths on the subset (test error, bias, variance, kappa,
gamma). Then the per-point cost of the compressed KRR for ``M`` = 10^3 ... 10^6 (it should not grow with ``M``).

Usage: ``python benchmarks/eigen_fast.py [--modes M] [--points P] [--direct D] [--quick]``. Ends with
``krr_seconds=<t> rf_seconds=<t> krr_speedup=<r> rf_speedup=<r> max_rel_diff=<d>``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from rmt.theory.eigen import Eigensystem, compress, krr, rf  # noqa: E402


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(b) & (b != 0)
    return float(np.max(np.abs(a[ok] - b[ok]) / np.abs(b[ok]))) if np.any(ok) else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", type=int, default=100_000)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--direct", type=int, default=100, help="points evaluated by the direct path")
    ap.add_argument("--quick", action="store_true", help="M = 2*10^4, P = 2000, 40 direct points, no M scan")
    a = ap.parse_args()
    if a.quick:
        a.modes, a.points, a.direct = 20_000, 2000, 40
    M, P, D = a.modes, a.points, a.direct
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(0.0, np.log(2 * M), P))
    p = np.exp(rng.uniform(0.0, np.log(2 * M), P))
    ridge = 10.0 ** rng.uniform(-12, 3, P)
    ridge[::16] = 0.0
    noise = rng.uniform(0.0, 1.0, P)
    system = Eigensystem.power_law(1.5, 1.8, M)
    t_build, fast = _best(lambda: compress(system), repeat=1)
    t_krr, kf = _best(lambda: krr(fast, n, ridge, noise))
    t_rf, rf_f = _best(lambda: rf(fast, n, p, ridge, noise))
    sl = slice(0, D)
    t_krr_d, kd = _best(lambda: krr(system, n[sl], ridge[sl], noise[sl]), repeat=1)
    t_rf_d, rd = _best(lambda: rf(system, n[sl], p[sl], ridge[sl], noise[sl]), repeat=1)
    t_krr_d *= P / D
    t_rf_d *= P / D
    diff = max([_rel(np.asarray(getattr(kf, k))[sl], getattr(kd, k)) for k in ("test_error", "bias", "variance",
                                                                             "kappa", "train_error")]
               + [_rel(np.asarray(getattr(rf_f, k))[sl], getattr(rd, k)) for k in ("test_error", "bias", "variance",
                                                                                 "kappa", "gamma")])
    print(f"spectrum: power law alpha=1.5 beta=1.8, M={M} explicit modes; {P} points; one core")
    print(f"build (once per spectrum)      {t_build:8.3f} s   ({fast.tables.pieces} pieces, probe error "
          f"{fast.build_error:.1e})")
    print(f"KRR compressed                 {t_krr:8.3f} s   direct (scaled from {D} points) {t_krr_d:9.1f} s   "
          f"ratio {t_krr_d / t_krr:8.0f}")
    print(f"RF  compressed                 {t_rf:8.3f} s   direct (scaled from {D} points) {t_rf_d:9.1f} s   "
          f"ratio {t_rf_d / t_rf:8.0f}")
    print(f"largest relative difference compressed vs direct: {diff:.2e}")
    if not a.quick:
        for m in (1_000, 10_000, 100_000, 1_000_000):
            s = compress(Eigensystem.power_law(1.5, 1.8, m))
            nn = np.exp(rng.uniform(0.0, np.log(2 * m), P))
            t, _ = _best(lambda: krr(s, nn, ridge, noise))
            print(f"  M={m:>8d}: compressed KRR {1e6 * t / P:6.1f} us/point ({s.tables.pieces} pieces)")
    print(f"krr_seconds={t_krr:.3f} rf_seconds={t_rf:.3f} krr_speedup={t_krr_d / t_krr:.0f} "
          f"rf_speedup={t_rf_d / t_rf:.0f} max_rel_diff={diff:.1e}")


if __name__ == "__main__":
    main()
