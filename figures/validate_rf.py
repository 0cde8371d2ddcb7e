"""Validation cases of random-feature and linear ridge regression (``rmt validate --model rf`` / ``linear``).

Random features (:func:`theory.random_features.rf_theory` against :func:`montecarlo.simulate_rf` on the same
:class:`rmt.Problem`): every quantity -- test and training error, bias, variance, the seven fine-grained terms, tau1,
tau2 -- on a stratified grid: relu, tanh and erf; both sides of the interpolation threshold (n1/m = 1/2 and 2);
ridgeless, small and large ridge; with and without label noise. ``eps`` and ``Peps`` vanish in the limit (their
estimates are compared with 0 through the absolute floor).

Linear ridge (:func:`theory.linear.linear_theory` against :func:`montecarlo.simulate_linear`): test and training
error, and Hastie et al.'s bias and variance conditional on X (the simulation's ``conditional_*`` extras), isotropic
and anisotropic, gamma = d/n on both sides of 1, ridge and ridgeless.

Finite-size allowances (the limit is approached at rate O(1/n0)): 5 % at n0 = 200 (full grid; the largest relative
deviations measured there are tau1/tau2 at 3.8 % and the variance at 3.0 %), 8 % at n0 = 100 (quick grid; tau1 for
tanh deviates by 6.5 % there); linear ridge 3 % (its finite-size effects are smaller).
"""

from __future__ import annotations

from rmt.figures.validate import ValidationCase, register_model
from rmt.problem import CovarianceSpectrum, LinearProblem, Problem
from rmt.quantities import FINE_GRAINED_KEYS, HEADLINE

__all__ = ["rf_case", "linear_case", "rf_cases", "linear_cases"]

RF_KEYS = HEADLINE + FINE_GRAINED_KEYS + ("tau1", "tau2")


def rf_case(problem: Problem, *, reps: int, seed: int, allowance: float, trials=(3, 3, 2)) -> ValidationCase:
    n0, n1, m = problem.integer_sizes()
    label = (f"{problem.activation.name} n0={n0} n1/m={n1 / m:g} phi={float(problem.phi):g} "
             f"ridge={float(problem.ridge):g} noise={float(problem.noise):g}")
    ridgeless_singular = float(problem.ridge) == 0.0 and n1 < m  # K singular: tau1, tau2 infinite on both sides
    keys = tuple(k for k in RF_KEYS if not (ridgeless_singular and k in ("tau1", "tau2")))

    def theory() -> dict[str, float]:
        from rmt.theory.random_features import rf_theory

        th = rf_theory(problem)
        out = {"test_error": th.test_error, "train_error": th.train_error, "bias": th.bias,
               "variance": th.variance, "tau1": th.tau1, "tau2": th.tau2}
        out.update(th.fine_grained)
        return {k: float(out[k]) for k in keys}

    def simulate() -> tuple[dict[str, float], dict[str, float]]:
        from rmt.montecarlo import simulate_rf

        sim = simulate_rf(problem, trials=trials, reps=reps, seed=seed, taus="tau1" in keys)
        val = {"test_error": sim.test_error, "train_error": sim.train_error, "bias": sim.bias,
               "variance": sim.variance, **sim.fine_grained}
        err = {k: sim.stderr[k] for k in ("test_error", "train_error", "bias", "variance")}
        err.update(sim.stderr["fine_grained"])
        if "tau1" in keys:
            val.update(tau1=sim.extras["tau1"], tau2=sim.extras["tau2"])
            err.update(tau1=sim.stderr["tau1"], tau2=sim.stderr["tau2"])
        return val, err

    return ValidationCase(model="rf", label=label, theory=theory, simulate=simulate, allowance=allowance,
                          floor=2e-3, keys=keys, params=problem.as_dict())


def rf_cases(quick: bool) -> list[ValidationCase]:
    """Quick: n0 = 100, three points (one per activation, both sides of the threshold, ridgeless included).
    Full: n0 = 200, twelve points."""
    if quick:
        grid = [("relu", 0.5, 1e-3, 0.25), ("tanh", 2.0, 0.1, 0.0), ("erf", 2.0, 0.0, 0.25)]
        n0, reps, allowance = 100, 6, 0.08
    else:
        grid = [(act, w, ridge, noise) for act in ("relu", "tanh", "erf")
                for (w, ridge, noise) in ((0.5, 1e-3, 0.25), (2.0, 0.0, 0.25), (0.5, 0.1, 0.0), (2.0, 0.1, 0.25))]
        n0, reps, allowance = 200, 8, 0.05
    phi = 0.5
    out = []
    for i, (act, width, ridge, noise) in enumerate(grid):
        m = int(round(n0 / phi))
        p = Problem(n0=n0, n1=int(round(width * m)), m=m, ridge=ridge, activation=act, noise=noise)
        out.append(rf_case(p, reps=reps, seed=100 + i, allowance=allowance))
    return out


def linear_case(problem: LinearProblem, *, reps: int, seed: int, allowance: float = 0.03) -> ValidationCase:
    n, d = problem.integer_sizes()
    aniso = problem.spectrum is not None
    label = (f"n={n} gamma={d / n:g} ridge={float(problem.ridge):g} noise={float(problem.noise):g}"
             f"{' anisotropic' if aniso else ''}")
    keys = ("test_error", "train_error", "bias", "variance")

    def theory() -> dict[str, float]:
        from rmt.theory.linear import linear_theory

        th = linear_theory(problem)
        return {k: float(getattr(th, k)) for k in keys}

    def simulate() -> tuple[dict[str, float], dict[str, float]]:
        from rmt.montecarlo import simulate_linear

        sim = simulate_linear(problem, trials=(4, 2), reps=reps, seed=seed)
        val = {"test_error": sim.test_error, "train_error": sim.train_error,
               "bias": sim.extras["conditional_bias"], "variance": sim.extras["conditional_variance"]}
        err = {"test_error": sim.stderr["test_error"], "train_error": sim.stderr["train_error"],
               "bias": sim.stderr["conditional_bias"], "variance": sim.stderr["conditional_variance"]}
        return val, err

    return ValidationCase(model="linear", label=label, theory=theory, simulate=simulate, allowance=allowance,
                          floor=1e-3, keys=keys, params=problem.as_dict())


def linear_cases(quick: bool) -> list[ValidationCase]:
    two_point = CovarianceSpectrum([1.0, 9.0])
    grid = [(0.5, 0.0, 1.0, None, None), (2.0, 0.1, 0.5, two_point, [0.0, 1.0])]
    if not quick:
        grid += [(2.0, 0.0, 1.0, None, None), (0.5, 0.1, 0.5, None, None), (3.0, 0.0, 1.0, two_point, None),
                 (1.5, 1.0, 0.25, two_point, [1.0, 0.0])]
    n = 100 if quick else 200
    out = []
    for i, (gamma, ridge, noise, spec, bw) in enumerate(grid):
        p = LinearProblem(n=n, d=int(round(gamma * n)), ridge=ridge, noise=noise, spectrum=spec, beta_weights=bw)
        out.append(linear_case(p, reps=8 if quick else 12, seed=200 + i))
    return out


register_model("rf", rf_cases)
register_model("linear", linear_cases)
