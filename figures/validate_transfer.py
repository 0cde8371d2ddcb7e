"""Validation cases of feature transfer (``rmt validate --model transfer``), for :mod:`rmt.figures.validate`.

Theory: :func:`rmt.theory.transfer.transfer` (Li, Sen & Adlam arXiv:2404.12481, spectrum-only case, through the
eigenframework); simulation: :func:`rmt.montecarlo.transfer.simulate_transfer` (tasks from the prior, Gaussian data,
ridge regression on the features). The grid: identity, PCR (top-K) on both sides of the ridgeless divergence
``n = K``, power featurisations, and the optimal featurisation at a positive ridge and ridgeless. Allowance: the
eigenframework's ``3/n`` (``8/n`` within 30 % of ``n = K``), measured O(1/n) deviations of the deterministic
equivalent (tests/montecarlo/test_mc_transfer.py).
"""

from __future__ import annotations

import math

from rmt.figures.validate import ValidationCase, register_model
from rmt.theory.transfer import TransferSetting, features, optimal_features, transfer

__all__ = ["cases", "make_case"]

KEYS = ("test_error", "bias", "variance", "V_X", "V_eps")


def make_case(setting: TransferSetting, spec: str, n: int, ridge: float, noise: float, *, trials: int,
              seed: int) -> ValidationCase:
    """One point: ``spec`` is ``identity``, ``top:K``, ``power:P`` or ``optimal``."""
    b = optimal_features(setting, n, ridge, noise).b if spec == "optimal" else features(spec, setting)
    kept = int((b > 0).sum())

    def theory():
        t = transfer(setting, b, n, ridge, noise)
        return {k: float(getattr(t, k)) for k in KEYS}

    def simulate():
        from rmt.montecarlo.transfer import simulate_transfer

        s = simulate_transfer(setting.eigenvalues, setting.target_power, b, n, ridge, noise, trials=trials, seed=seed)
        return dict(s.values), dict(s.stderr)

    allowance = (8.0 if abs(math.log(n / kept)) < 0.3 else 3.0) / n
    return ValidationCase(model="transfer", label=f"transfer M={setting.modes} {spec} n={n} ridge={ridge:g} "
                          f"noise={noise:g}", theory=theory, simulate=simulate, allowance=allowance, floor=1e-12,
                          keys=KEYS, params={"modes": setting.modes, "features": spec, "n": n, "ridge": ridge,
                                             "noise": noise, "kept": kept})


def cases(quick: bool) -> list[ValidationCase]:
    """The grid; ``quick`` is one small case (a few seconds)."""
    if quick:
        st = TransferSetting.power_law(1.5, 1.8, 60)
        return [make_case(st, "top:30", 40, 0.05, 0.2, trials=24, seed=3)]
    st = TransferSetting.power_law(1.5, 1.8, 400)
    pts = [("identity", 0.0), ("identity", 0.05), ("top:150", 0.0), ("top:150", 0.05), ("top:250", 0.0),
           ("top:350", 0.0), ("power:0.5", 0.05), ("power:-0.25", 0.0), ("optimal", 0.05), ("optimal", 0.0)]
    return [make_case(st, spec, 300, r, 0.25, trials=60, seed=11 + j) for j, (spec, r) in enumerate(pts)]


register_model("transfer", cases)
