"""Validation cases of the eigenframework (``rmt validate --model eigen``), for :mod:`figures.validate`.

A stratified grid over both sides of every threshold: KRR below and above the number of modes (ridgeless least
squares vs interpolation), at the finite-rank peak, small and large ridges, with and without label noise, an
isotropic spectrum (Marchenko-Pastur / Hastie et al.); random features below, at and above the interpolation
threshold ``p = n``, and ``p >> n``. Theory: :func:`theory.eigen.evaluate`; simulation:
:func:`montecarlo.eigen.simulate_eigen` on the same :class:`theory.eigen.EigenProblem`; allowance:
:func:`theory.eigen.finite_size_allowance` (``3/min(n, p)``, ``8/min(n, p)`` next to an interpolation peak, from
measured O(1/n) deviations).
"""

from __future__ import annotations

from rmt.figures.validate import ValidationCase, register_model
from rmt.theory.eigen import EigenProblem, Eigensystem, evaluate, finite_size_allowance

__all__ = ["cases", "make_case"]

KRR_KEYS = ("test_error", "train_error", "bias", "variance", "kappa", "kare")
RF_KEYS = KRR_KEYS + ("ensemble_limit_error", "feature_variance")


def make_case(problem: EigenProblem, label: str, *, trials: int, feature_draws: int = 3, seed: int = 0,
              keys: tuple[str, ...] | None = None) -> ValidationCase:
    """A :class:`ValidationCase` comparing :func:`theory.eigen.evaluate` with :func:`montecarlo.eigen.simulate_eigen`
    (``kare``, an estimate of the test MSE from training data, is compared with the theory's ``test_mse``)."""
    keys = keys or (KRR_KEYS if problem.p is None else RF_KEYS)

    def theory():
        t = evaluate(problem)
        t["kare"] = t["test_mse"]
        return {k: t[k] for k in keys}

    def simulate():
        from rmt.montecarlo.eigen import simulate_eigen as sim

        s = sim(problem, trials=trials, feature_draws=feature_draws, seed=seed)
        return dict(s.values), dict(s.stderr)

    return ValidationCase(model="eigen", label=label, theory=theory, simulate=simulate,
                          allowance=finite_size_allowance(problem), floor=1e-12, keys=keys,
                          params=problem.as_dict())


def cases(quick: bool) -> list[ValidationCase]:
    """The grid; ``quick`` keeps three compiled problem shapes (about half a minute on 2 cores)."""
    pl = Eigensystem.power_law(1.5, 1.8, 400)
    out = []
    t = 24 if quick else 60
    krr_points = [(100, 1e-3, 0.2), (100, 1.0, 0.0)] if quick else [
        (100, 1e-3, 0.2), (100, 1.0, 0.0), (100, 0.0, 0.0), (100, 1e-2, 0.5), (300, 1e-3, 0.1), (400, 1e-2, 0.1),
        (600, 0.0, 0.1), (300, 10.0, 0.1)]
    for n, r, s in krr_points:
        keys = tuple(k for k in KRR_KEYS if not (k in ("train_error", "kare") and r == 0 and n < pl.rank))
        out.append(make_case(EigenProblem(pl, n=n, ridge=r, noise=s), f"KRR power law M=400 n={n} ridge={r:g} "
                             f"noise={s:g}", trials=t, seed=n + int(1e3 * r), keys=keys))
    iso_points = [(100, 50)] if quick else [(100, 50), (100, 200), (200, 150)]
    for n, d in iso_points:
        iso = Eigensystem.isotropic(d, 1.0)
        keys = ("test_error", "bias", "variance") + (("train_error",) if d < n else ())
        out.append(make_case(EigenProblem(iso, n=n, ridge=0.0, noise=0.3), f"KRR isotropic d={d} n={n} ridgeless",
                             trials=t, seed=d, keys=keys))
    rf_points = [(100, 50, 1e-2)] if quick else [(100, 50, 1e-2), (100, 100, 1e-2), (100, 300, 1e-3),
                                                 (100, 300, 1.0), (200, 60, 0.1)]
    for n, p, r in rf_points:
        out.append(make_case(EigenProblem(pl, n=n, p=p, ridge=r, noise=0.1), f"RF power law M=400 n={n} p={p} "
                             f"ridge={r:g}", trials=t // 2, seed=n + p))
    return out


register_model("eigen", cases)
