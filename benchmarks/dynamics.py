"""Speed of the online-SGD recursion (Bordelon & Pehlevan arXiv:2106.02713) against plain loops, side by side.

The exact Gaussian-feature recursion ``c_k <- a_k c_k + (lr^2/B) lambda_k (E + noise)``, ``E = sum_k lambda_k c_k``
costs ``O(steps x modes)``. Timed on one CPU core for ``10^5`` steps on a ``10^4``-mode power law
(``lambda_k = k^-1.5``, ``v_k^2 = k^-1.2``, lr = 0.5, batch 4):

* :func:`theory.dynamics.online_sgd` with ``method="scan"``: one ``jax.lax.scan`` over steps, vectorized over modes
  (the time after compilation, and the first call including compilation);
* the same recursion as a Python loop over steps with numpy over modes (:func:`theory.dynamics.online_sgd_loop`);
* a plain Python loop over steps and modes (scalar arithmetic), timed on the first ``--python-steps`` steps and
  scaled linearly to ``10^5`` (its cost is exactly linear in the steps).

The results must agree (largest relative difference printed). Times are the best of ``--repeat`` runs (the machine
may be shared). Also times the finite-``n`` gradient-flow contour formula for 200 times at once.

Usage: ``python benchmarks/dynamics.py [--steps 100000 --modes 10000]``. Ends with
``seconds=<scan> speedup_vs_numpy_loop=<ratio> speedup_vs_python_loop=<ratio>``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS"):
    os.environ.setdefault(_var, "1" if _var != "XLA_FLAGS" else "--xla_cpu_multi_thread_eigen=false "
                          "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import numpy as np  # noqa: E402

from rmt.theory.dynamics import gradient_flow, online_sgd, online_sgd_loop  # noqa: E402
from rmt.theory.eigen import Eigensystem  # noqa: E402


def python_loop(system: Eigensystem, lr: float, steps: int, batch: int, noise: float) -> list[float]:
    lam = system.eigenvalues.tolist()
    c = (system.target_power / system.eigenvalues).tolist()
    a = [1 - 2 * lr * x + lr * lr * (1 + 1 / batch) * x * x for x in lam]
    inj = [lr * lr / batch * x for x in lam]
    out = []
    for _ in range(steps + 1):
        e = 0.0
        for k in range(len(lam)):
            e += lam[k] * c[k]
        out.append(e)
        for k in range(len(lam)):
            c[k] = a[k] * c[k] + inj[k] * (e + noise)
    return out


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--modes", type=int, default=10_000)
    ap.add_argument("--python-steps", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    system = Eigensystem.power_law(1.5, 1.2, args.modes)
    lr, batch, noise = 0.5, 4, 0.1
    steps = np.arange(0, args.steps + 1, max(1, args.steps // 100))
    t0 = time.perf_counter()
    first = online_sgd(system, lr, steps, batch, noise, method="scan")
    t_first = time.perf_counter() - t0
    t_scan, scan = best(lambda: online_sgd(system, lr, steps, batch, noise, method="scan"), args.repeat)
    t_np, ref = best(lambda: online_sgd_loop(system, lr, steps, batch, noise), 1)
    ps = args.python_steps
    t_py, py = best(lambda: python_loop(system, lr, ps, batch, noise), 1)
    t_py_full = t_py * (args.steps + 1) / (ps + 1)
    diff = float(np.max(np.abs(scan.test_error / ref - 1)))
    py_diff = abs(py[ps] / online_sgd_loop(system, lr, [ps], batch, noise)[0] - 1)
    print(f"online SGD recursion, {args.steps} steps x {args.modes} modes (one core)")
    print(f"  jax scan:           {t_scan:8.3f} s   (first call with compilation {t_first:.3f} s)")
    print(f"  numpy loop:         {t_np:8.3f} s   max relative difference {diff:.2e}")
    print(f"  python loop:        {t_py_full:8.1f} s   (measured on {ps} steps, scaled; difference {py_diff:.1e})")
    sys_gf = Eigensystem(np.arange(1, 401) ** -1.2, np.arange(1, 401) ** -1.5)
    t_gf, _ = best(lambda: gradient_flow(sys_gf, 150, np.geomspace(0.1, 1000, 200), noise=0.2), args.repeat)
    print(f"  gradient-flow contour, 200 times, M = 400, n = 150: {t_gf:.3f} s")
    assert diff < 1e-10 and np.allclose(first.test_error, scan.test_error, rtol=0, atol=0)
    print(f"seconds={t_scan:.4f} speedup_vs_numpy_loop={t_np / t_scan:.1f} "
          f"speedup_vs_python_loop={t_py_full / t_scan:.0f}")


if __name__ == "__main__":
    main()
