"""``rmt validate`` cases of the covariate-shift model (:mod:`theory.covariate_shift` against
:func:`montecarlo.covariate_shift.simulate_shift`).

Each case compares the OOD test error and bias, the in-distribution test error and the OOD penalty (its standard
error from the paired per-repetition differences: both test laws score the same fits). Cases cover tanh and erf,
helpful and harmful shifts, ``s_* != s``, ridge > 0 and both ridgeless regimes. Full grid: ``n0 = 400``, 16
repetitions, finite-size allowance 2% (issue 6's criterion). Quick grid: ``n0 = 120``, 12 repetitions, allowance 5%
(finite-size effects are O(1/n0)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rmt.figures.validate import ValidationCase, register_model
from rmt.problem import Problem
from rmt.theory.covariate_shift import covariate_shift_error, two_point

# (activation, strength, scale, phi, psi, ridge, noise)
FULL = [
    ("tanh", 1.0, 1.0, 2.0, 1.0, 0.1, 0.1),
    ("tanh", -0.25, 1.0, 2.0, 1.0, 0.1, 0.1),
    ("tanh", 0.0, 2.0, 2.0, 0.5, 1e-2, 0.1),
    ("tanh", 1.0, 1.0, 0.5, 1.0, 1e-3, 0.1),
    ("erf", 1.0, 1.0, 2.0, 0.5, 0.0, 0.1),
    ("erf", -0.25, 1.0, 2.0, 4.0, 0.0, 0.2),
]
QUICK = [("tanh", 1.0, 1.0, 2.0, 1.0, 0.1, 0.1), ("erf", 0.0, 2.0, 2.0, 0.5, 1e-2, 0.1)]


def _case(cfg: tuple, *, n0: int, reps: int, allowance: float) -> ValidationCase:
    act, strength, scale, phi, psi, ridge, noise = cfg
    spec = two_point(strength, scale=scale)
    a, b = (float(x) for x in spec.test)
    label = f"{act} Sigma*={{{a:g},{b:g}}} phi={phi:g} psi={psi:g} ridge={ridge:g} noise={noise:g} n0={n0}"

    def theory() -> dict[str, float]:
        r = covariate_shift_error(phi, psi, spectrum=spec, ridge=ridge, activation=act, noise=noise)
        return {"test_error": r.test_error, "bias": r.bias, "id_test_error": r.id_test_error,
                "ood_penalty": r.ood_penalty}

    def simulate() -> tuple[dict[str, float], dict[str, float]]:
        from rmt.montecarlo.covariate_shift import simulate_shift

        prob = Problem.from_ratios(phi, psi, ridge=ridge, activation=act, noise=noise, n0=n0,
                                   covariance=spec.covariance())
        r = simulate_shift(prob, trials=(2, 2, 2), reps=reps, seed=11, taus=False)
        diff = np.asarray(r.ood.samples["test_error"]) - np.asarray(r.iid.samples["test_error"])
        mean = {"test_error": r.ood.test_error, "bias": r.ood.bias, "id_test_error": r.iid.test_error,
                "ood_penalty": float(diff.mean())}
        err = {"test_error": r.ood.stderr["test_error"], "bias": r.ood.stderr["bias"],
               "id_test_error": r.iid.stderr["test_error"],
               "ood_penalty": float(diff.std(ddof=1) / np.sqrt(diff.size))}
        return mean, err

    params: dict[str, Any] = dict(activation=act, test_eigenvalues=(a, b), train_eigenvalues=(1.6, 0.4), phi=phi,
                                  psi=psi, ridge=ridge, noise=noise, n0=n0, reps=reps)
    return ValidationCase(model="shift", label=label, theory=theory, simulate=simulate, allowance=allowance,
                          floor=1e-3, params=params)


def cases(quick: bool) -> list[ValidationCase]:
    if quick:
        return [_case(c, n0=120, reps=12, allowance=0.05) for c in QUICK]
    return [_case(c, n0=400, reps=16, allowance=0.02) for c in FULL]


register_model("shift", cases)
