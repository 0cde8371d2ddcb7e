r"""Triple descent of NTK regression: test error against the number of parameters across all scales of the width.

Adlam & Pennington 2020 (arXiv:2008.06786), Figure 1's picture, for the model of :mod:`theory.ntk`: kernel ridge
regression with the empirical NTK of a two-layer network at initialisation (no initial function ``f0``), centred
activation, inputs ``x ~ N(0, I_n0)``, linear teacher with label noise. One network family: ``n0`` and ``m`` fixed,
the width ``n1`` grows, ``p = n0 n1`` first-layer weights.

* ``p ~ m`` (``n1`` of order one): the linear-scaling limit of :func:`theory.ntk.linear_scaling`, defined at integer
  widths, with the classical interpolation peak where ``p`` reaches ``m`` (for ReLU at ``p = (1 - 2^-n1) m``);
* ``p ~ m^2`` (``n1`` proportional to ``m``): :func:`theory.ntk.quadratic_scaling`, whose bump at ``n1 ~ m``
  sharpens into the random-feature peak as the learning-rate ratio ``r`` decreases;
* ``p -> infinity``: :func:`theory.ntk.infinite_width`.

Simulation points (:func:`montecarlo.ntk.simulate_ntk`, crossed design with standard errors) cover the whole range.
Every point has a curve under it: the linear-scaling limit is drawn at integer widths (the exact ``n1 x n1`` fixed
point at the configured small widths, its wide formulation beyond, see :mod:`theory._ntk_linear`) up to twice the boundary below.
Which limit applies where is a stated rule computed from the theory alone, not from the simulation: each limit drops
a source of variance that the other keeps (the linear scaling the ``n1`` random features of the second layer, the
quadratic scaling the fluctuation of the first-layer kernel at finite width), so the applicable one is the larger of
the two; the boundary is the first integer width above ``p = m`` where the quadratic-scaling curve reaches the
linear-scaling one (marked per learning-rate ratio). Each curve is solid where it applies and dotted outside.
The caption and the first line of the CSV give the measured worst
relative deviation of the simulation from the applicable curve per region. Writes ``triple_descent.png`` and
``triple_descent.csv`` (every number drawn).

Finite-size extrapolation (``extrapolate``, on by default): in the quadratic region the simulated error approaches
its limit like ``1/n0`` at fixed ``phi, psi`` (measured by ``benchmarks/triple_descent_finite_size.py``), so each
point there is simulated again at about half the size with the same limit coordinates (:func:`half_size`) and
Richardson's rule ``E_inf = (n0 E(n0) - h E(h)) / (n0 - h)`` (``2 E(n0) - E(n0/2)`` for ``h = n0/2``;
:func:`richardson`) removes the ``1/n0`` term. Those points are drawn as open markers next to the raw ones (which
stay), with their own worst deviation per region; the half-size runs are in the CSV too (``kind =
simulation-half``, with their own ``n0, m``). In the linear region the same rule (same integer width) is applied only
on request (``extrapolate_linear``) and only at the widths of the exact formulation (``n1 <= max(linear_widths)``):
there the finite-size deviation was measured to be below the simulation's noise (the extrapolation only doubles the
error bar), and at wider widths, where ``n1 / n0`` is not small at the half size, to fall slower than ``1/n0``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from rmt._validation import check_nonnegative, check_positive, check_positive_int
from rmt.problem import Problem
from rmt.theory.ntk import infinite_width, linear_scaling, quadratic_scaling

__all__ = ["TripleDescentConfig", "compute_extrapolation", "compute_simulation", "compute_theory", "default_config",
           "draw", "extrapolated_row", "half_size", "make", "make_figure", "region_deviations", "richardson",
           "switch_width", "wide_widths"]

COLUMNS = ("activation", "lr_ratio", "kind", "n1", "p", "p_over_m", "test_error", "stderr", "bias", "variance",
           "n0", "m")
"""CSV columns; ``n0, m`` (the sizes simulated, those of the configuration except for ``simulation-half``) came
last, after the others."""


@dataclass(frozen=True)
class TripleDescentConfig:
    """Sizes and parameters of the figure (one network family: ``n0`` and ``m`` fixed, ``n1`` varies).

    Attributes:
        n0, m: input dimension and number of training samples (``p = m`` at ``n1 = m / n0``).
        ridge, noise: kernel ridge and label-noise variance.
        activations: one panel each.
        lr_ratios: first-to-second-layer learning-rate ratios (one colour each).
        linear_widths: integer widths for the linear-scaling theory.
        quadratic_min_width, quadratic_max_ratio: the quadratic-scaling curve spans ``n1`` from the first to
            ``quadratic_max_ratio * m``.
        sim_widths: widths simulated.
        trials, reps, seed: the Monte Carlo design (:func:`montecarlo.ntk.simulate_ntk`); at widths up to
            ``small_width`` the number of ``P`` draws is raised to ``small_width_draws`` (the error then varies much
            with the second layer, and those fits are cheap).
        a_points, gate_points: quadrature of the linear-scaling theory (see :func:`theory.ntk.linear_scaling`);
            the wide formulation draws ``4 a_points`` second layers.
        linear_max_ratio: the linear-scaling curve continues at integer widths (wide formulation beyond the
            largest of ``linear_widths``) up to ``linear_max_ratio * m^(3/2) / n0`` (``p = m^(3/2)`` is midway between
            ``p ~ m`` and ``p ~ m^2`` on the log axis).
        switch_width: the width up to which the linear scaling is the applicable limit, for every panel; ``None``:
            where the two limits cross (module docstring), per activation and learning-rate ratio.
        extrapolate: also simulate each point of the quadratic region at about half the size with the same
            limit coordinates and draw the points extrapolated to n0 -> inf by Richardson's rule in 1/n0,
            2 E(n0) - E(n0/2).
        extrapolate_linear: extrapolate the linear region's points too (same integer width; only at the exact
            formulation's widths, n1 <= max(linear_widths)).
    """

    n0: int = 150
    m: int = 600
    ridge: float = 1e-3
    noise: float = 0.1
    activations: tuple[str, ...] = ("relu", "tanh")
    lr_ratios: tuple[float, ...] = (1.0, 0.01)
    linear_widths: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)
    quadratic_min_width: float = 8.0
    quadratic_max_ratio: float = 30.0
    sim_widths: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 12, 24, 48, 96, 192, 384, 600, 1200, 2400)
    trials: tuple[int, int, int] = (2, 2, 2)
    reps: int = 16
    small_width: int = 8
    small_width_draws: int = 6
    seed: int = 0
    a_points: int = 256
    gate_points: int = 1024
    linear_max_ratio: float = 2.0
    switch_width: float | None = None
    extrapolate: bool = True
    extrapolate_linear: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_positive_int(self.n0, "n0")
        check_positive_int(self.m, "m")
        check_nonnegative(self.ridge, "ridge")
        check_nonnegative(self.noise, "noise")
        check_nonnegative(np.asarray(self.lr_ratios, dtype=float), "lr_ratios")
        for w in (*self.linear_widths, *self.sim_widths):
            check_positive_int(w, "width")
        check_positive(self.quadratic_max_ratio, "quadratic_max_ratio")
        if self.extrapolate and self.n0 < 2:
            raise ValueError(f"n0 must be at least 2 to extrapolate from half the size, got {self.n0}")


def default_config(quick: bool = False) -> TripleDescentConfig:
    """The figure's defaults; ``quick`` halves the sizes and thins the widths (a smoke run of about a minute)."""
    if not quick:
        return TripleDescentConfig()
    return TripleDescentConfig(n0=75, m=300, linear_widths=(1, 2, 3, 4, 6), sim_widths=(1, 2, 4, 6, 16, 64, 150,
                                                                                       300, 1200),
                               reps=2, a_points=128, gate_points=512)


def switch_width(cfg: TripleDescentConfig, rows: Sequence[dict[str, Any]] = (), act: str | None = None,
                 lr: float | None = None) -> float:
    """The largest width for which the linear scaling is the applicable limit: ``cfg.switch_width`` if set, else the
    first integer width above ``p = m`` at which the quadratic-scaling limit reaches the linear-scaling one (from the
    theory rows; half a width below it), or the end of the linear-scaling curve if they do not cross there."""
    if cfg.switch_width is not None:
        return float(cfg.switch_width)
    lin = sorted((r["n1"], r["test_error"]) for r in rows if r["kind"] == "theory-linear" and r["activation"] == act
                 and r["lr_ratio"] == lr)
    cand = [(n1, e) for n1, e in lin if n1 > cfg.m / cfg.n0 and n1 >= cfg.quadratic_min_width]
    if not cand:
        return float(lin[-1][0]) if lin else cfg.m ** 1.5 / cfg.n0
    quad = quadratic_scaling(Problem(n0=cfg.n0, n1=np.array([n1 for n1, _ in cand], dtype=float), m=cfg.m,
                                     ridge=cfg.ridge, activation=act, noise=cfg.noise), lr_ratio=float(lr))
    for (n1, e), q in zip(cand, np.atleast_1d(quad.test_error)):
        if q >= e:
            return n1 - 0.5
    return float(lin[-1][0])


def wide_widths(cfg: TripleDescentConfig) -> list[int]:
    """Integer widths of the linear-scaling curve beyond ``linear_widths`` (wide formulation): a geometric grid up to
    ``linear_max_ratio * m^(3/2) / n0``, plus every simulated width in that range (so each such point has its
    value)."""
    start = max(cfg.linear_widths, default=0) + 1
    stop = int(cfg.linear_max_ratio * cfg.m ** 1.5 / cfg.n0)
    if stop < start:
        return []
    grid = {int(round(w)) for w in np.geomspace(start, stop, 24)}
    grid |= {w for w in cfg.sim_widths if start <= w <= stop}
    return sorted(grid)


def _row(act: str, lr: float, kind: str, n1: float, cfg: TripleDescentConfig, err: float, se: float = 0.0,
         bias: float = math.nan, var: float = math.nan, n0: int | None = None, m: int | None = None
         ) -> dict[str, Any]:
    n0 = cfg.n0 if n0 is None else n0
    m = cfg.m if m is None else m
    p = n0 * n1
    return {"activation": act, "lr_ratio": lr, "kind": kind, "n1": n1, "p": p, "p_over_m": p / m,
            "test_error": err, "stderr": se, "bias": bias, "variance": var, "n0": n0, "m": m}


def half_size(n0: int, n1: int, m: int, region: str) -> tuple[int, int, int]:
    """The sizes ``(h, n1_h, m_h)`` of the half-size problem with the same limit coordinates as ``(n0, n1, m)``.

    ``h = ceil(n0 / 2)`` (``n0 / 2`` when even), ``m_h = round(m h / n0)`` (same ``phi = n0 / m``), and the width:
    the same integer ``n1`` in the ``linear`` region (the linear scaling's coordinates are ``phi`` and ``n1``),
    ``round(n1 h / n0)`` (at least 1) in the ``quadratic`` region (same ``psi = n0 / n1``). With ``n0`` odd or
    ``m h / n0``, ``n1 h / n0`` not integers the ratios of the half-size problem are the nearest the integer sizes
    allow; :func:`compute_extrapolation` then moves its error along the limit to the full-size coordinates.

    Raises:
        ValueError: ``n0 < 2``, or ``region`` not ``"linear"``/``"quadratic"``.
    """
    n0, n1, m = check_positive_int(n0, "n0", minimum=2), check_positive_int(n1, "n1"), check_positive_int(m, "m")
    if region not in ("linear", "quadratic"):
        raise ValueError(f"region must be 'linear' or 'quadratic', got {region!r}")
    h = (n0 + 1) // 2
    m_h = max(1, int(math.floor(m * h / n0 + 0.5)))
    n1_h = n1 if region == "linear" else max(1, int(math.floor(n1 * h / n0 + 0.5)))
    return h, n1_h, m_h


def richardson(e1: float, se1: float, e2: float, se2: float, n0: int, h: int) -> tuple[float, float]:
    """Richardson extrapolation in ``1/n0`` from sizes ``n0`` and ``h < n0`` (independent simulations).

    If ``E(n) = E_inf + c / n``, then ``E_inf = (n0 E(n0) - h E(h)) / (n0 - h)`` (``2 E(n0) - E(n0/2)`` for
    ``h = n0 / 2``) with standard error ``sqrt(n0^2 se1^2 + h^2 se2^2) / (n0 - h)`` (``sqrt(4 se1^2 + se2^2)``).

    Returns:
        ``(E_inf, stderr)``.
    """
    if not 0 < h < n0:
        raise ValueError(f"h must satisfy 0 < h < n0, got h={h}, n0={n0}")
    return (n0 * e1 - h * e2) / (n0 - h), math.hypot(n0 * se1, h * se2) / (n0 - h)


def extrapolated_row(full: dict[str, Any], half: dict[str, Any], cfg: TripleDescentConfig,
                     shift: float = 0.0) -> dict[str, Any]:
    """The ``simulation-extrapolated`` row from a ``simulation`` row and its ``simulation-half`` row
    (:func:`richardson`; ``shift``: the applicable limit at the full-size coordinates minus that at the half-size
    ones, added to the half-size error; ``0`` when the ratios agree). Drawn at the full-size point's ``p``;
    ``bias, variance``: NaN (not extrapolated)."""
    e, se = richardson(full["test_error"], full["stderr"], half["test_error"] + shift, half["stderr"],
                       int(full["n0"]), int(half["n0"]))
    return _row(full["activation"], full["lr_ratio"], "simulation-extrapolated", full["n1"], cfg, e, se,
                n0=int(full["n0"]), m=int(full["m"]))


def compute_theory(cfg: TripleDescentConfig) -> list[dict[str, Any]]:
    """Theory rows: ``linear`` (integer widths; ``stderr`` is the quadrature error of the average over ``a``),
    ``quadratic`` (a fine grid in ``n1``) and ``infinite`` (one row per activation and ratio)."""
    rows: list[dict[str, Any]] = []
    lrs = np.asarray(cfg.lr_ratios, dtype=float)
    phi = cfg.n0 / cfg.m
    widths = np.geomspace(cfg.quadratic_min_width, cfg.quadratic_max_ratio * cfg.m, 160)
    for act in cfg.activations:
        for n1 in cfg.linear_widths:
            res = linear_scaling(Problem(n0=cfg.n0, n1=n1, m=cfg.m, ridge=cfg.ridge, activation=act,
                                         noise=cfg.noise), lr_ratio=lrs, a_points=cfg.a_points,
                                 gate_points=cfg.gate_points)
            for j, lr in enumerate(lrs):
                rows.append(_row(act, float(lr), "theory-linear", n1, cfg, float(res.test_error[j]),
                                 float(res.quadrature_stderr[j]), float(res.bias[j]), float(res.variance[j])))
        for n1 in wide_widths(cfg):
            res = linear_scaling(Problem(n0=cfg.n0, n1=n1, m=cfg.m, ridge=cfg.ridge, activation=act,
                                         noise=cfg.noise), lr_ratio=lrs, method="wide",
                                 a_points=4 * cfg.a_points)
            for j, lr in enumerate(lrs):
                rows.append(_row(act, float(lr), "theory-linear", n1, cfg, float(res.test_error[j]),
                                 float(res.quadrature_stderr[j]), float(res.bias[j]), float(res.variance[j])))
        grid = Problem(n0=cfg.n0, n1=widths[None, :], m=cfg.m, ridge=cfg.ridge, activation=act, noise=cfg.noise)
        quad = quadratic_scaling(grid, lr_ratio=lrs[:, None])
        inf = infinite_width(Problem(n0=cfg.n0, n1=cfg.m, m=cfg.m, ridge=cfg.ridge, activation=act,
                                     noise=cfg.noise), lr_ratio=lrs)
        for j, lr in enumerate(lrs):
            for k, n1 in enumerate(widths):
                rows.append(_row(act, float(lr), "theory-quadratic", float(n1), cfg, float(quad.test_error[j, k]),
                                 0.0, float(quad.bias[j, k]), float(quad.variance[j, k])))
            rows.append(_row(act, float(lr), "theory-infinite", math.inf, cfg, float(inf.test_error[j]), 0.0,
                             float(inf.bias[j]), float(inf.variance[j])))
    return rows


def _trials(cfg: TripleDescentConfig, n1: int) -> tuple[int, ...]:
    trials = tuple(cfg.trials)
    if n1 <= cfg.small_width:
        trials = (max(trials[0], cfg.small_width_draws),) + trials[1:]
    return trials


HALF_SEED_OFFSET = 1_000_003
"""Added to a point's simulation seed for its half-size run (independent draws)."""


def _limit(cfg: TripleDescentConfig, act: str, lr: float, region: str, n0: int, n1: int, m: int) -> float:
    """The applicable limit at the coordinates of ``(n0, n1, m)``, in the figure's formulation."""
    prob = Problem(n0=n0, n1=n1, m=m, ridge=cfg.ridge, activation=act, noise=cfg.noise)
    if region == "quadratic":
        return float(quadratic_scaling(prob, lr_ratio=float(lr)).test_error)
    if n1 <= max(cfg.linear_widths, default=0):
        res = linear_scaling(prob, lr_ratio=float(lr), a_points=cfg.a_points, gate_points=cfg.gate_points)
    else:
        res = linear_scaling(prob, lr_ratio=float(lr), method="wide", a_points=4 * cfg.a_points)
    return float(np.squeeze(res.test_error))


def compute_extrapolation(cfg: TripleDescentConfig, rows: Sequence[dict[str, Any]], *,
                          progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Half-size simulations and the points extrapolated to ``n0 -> inf`` (module docstring).

    For every ``simulation`` row in ``rows`` (which must hold the theory rows too: the region of a point is decided
    by :func:`switch_width`), simulates :func:`half_size` with the same trials and repetitions and an independent
    seed, and returns its ``simulation-half`` row and the ``simulation-extrapolated`` row (:func:`extrapolated_row`).
    Points of the linear region get neither unless ``cfg.extrapolate_linear``, and never beyond the exact
    formulation's widths (``n1 > max(linear_widths)``).
    Where the half-size ratios differ from the full-size ones (``m h / n0`` or ``n1 h / n0`` not an integer), the
    half-size error is first moved by the applicable limit's difference between the two coordinates (the
    ``1/n0`` deviation is what is extrapolated).
    """
    from rmt.montecarlo.ntk import simulate_ntk

    out: list[dict[str, Any]] = []
    exact_max = max(cfg.linear_widths, default=0)
    switch: dict[tuple[str, float], float] = {}
    for full in [r for r in rows if r["kind"] == "simulation"]:
        act, lr, n1 = full["activation"], full["lr_ratio"], int(full["n1"])
        if (act, lr) not in switch:
            switch[act, lr] = switch_width(cfg, rows, act, lr)
        region = "linear" if n1 <= switch[act, lr] else "quadratic"
        if region == "linear" and (not cfg.extrapolate_linear or n1 > exact_max):
            continue
        h, n1_h, m_h = half_size(cfg.n0, n1, cfg.m, region)
        res = simulate_ntk(Problem(n0=h, n1=n1_h, m=m_h, ridge=cfg.ridge, activation=act, noise=cfg.noise),
                           lr_ratio=float(lr), trials=_trials(cfg, n1), reps=cfg.reps,
                           seed=cfg.seed + 7919 * n1 + HALF_SEED_OFFSET)
        half = _row(act, lr, "simulation-half", n1_h, cfg, float(res.test_error), float(res.stderr["test_error"]),
                    float(res.bias), float(res.variance), n0=h, m=m_h)
        same = h * cfg.m == m_h * cfg.n0 and (region == "linear" or h * n1 == n1_h * cfg.n0)
        shift = 0.0 if same else (_limit(cfg, act, lr, region, cfg.n0, n1, cfg.m)
                                  - _limit(cfg, act, lr, region, h, n1_h, m_h))
        ext = extrapolated_row({**full, "n0": cfg.n0, "m": cfg.m}, half, cfg, shift)
        out += [half, ext]
        if progress is not None:
            progress(f"{act} n1={n1} r={lr} half size (n0={h}, n1={n1_h}, m={m_h}): {half['test_error']:.4f} +- "
                     f"{half['stderr']:.4f}; extrapolated: {ext['test_error']:.4f} +- {ext['stderr']:.4f}"
                     + ("" if same else f" (half-size ratios differ: limit shift {shift:+.4f} applied)"))
    return out


def compute_simulation(cfg: TripleDescentConfig, *, progress: Callable[[str], None] | None = None
                       ) -> list[dict[str, Any]]:
    """Simulation rows (``kind = "simulation"``) from :func:`montecarlo.ntk.simulate_ntk`."""
    from rmt.montecarlo.ntk import simulate_ntk

    rows = []
    for act in cfg.activations:
        for n1 in cfg.sim_widths:
            prob = Problem(n0=cfg.n0, n1=n1, m=cfg.m, ridge=cfg.ridge, activation=act, noise=cfg.noise)
            trials = _trials(cfg, n1)
            for lr in cfg.lr_ratios:
                res = simulate_ntk(prob, lr_ratio=float(lr), trials=trials, reps=cfg.reps,
                                   seed=cfg.seed + 7919 * n1)
                rows.append(_row(act, float(lr), "simulation", n1, cfg, float(res.test_error),
                                 float(res.stderr["test_error"]), float(res.bias), float(res.variance)))
                if progress is not None:
                    progress(f"{act} n1={n1} r={lr}: {res.test_error:.4f} +- {res.stderr['test_error']:.4f}")
    return rows


def region_deviations(rows: Sequence[dict[str, Any]], cfg: TripleDescentConfig, kind: str = "simulation"
                      ) -> list[dict[str, Any]]:
    """Worst relative deviation ``(simulation - theory) / theory`` of the simulated points from the applicable limit,
    per activation, learning-rate ratio and region (``linear``: ``n1 <= switch_width(...)``, against the linear-scaling
    value at that integer width; ``quadratic``: above, against :func:`theory.ntk.quadratic_scaling` at that width).
    ``kind``: the rows compared (``"simulation-extrapolated"``: the points extrapolated to ``n0 -> inf``).

    Returns one dict per (activation, lr_ratio, region) with keys ``activation, lr_ratio, region, n1, deviation,
    z`` (``z``: the deviation in simulation standard errors) and ``points``.
    """
    out = []
    for act in cfg.activations:
        for lr in cfg.lr_ratios:
            sw = switch_width(cfg, rows, act, lr)
            sims = [r for r in rows if r["kind"] == kind and r["activation"] == act and r["lr_ratio"] == lr]
            lin = {int(r["n1"]): r["test_error"] for r in rows if r["kind"] == "theory-linear"
                   and r["activation"] == act and r["lr_ratio"] == lr}
            for region in ("linear", "quadratic"):
                pts = []
                for r in sims:
                    n1 = r["n1"]
                    if (n1 <= sw) != (region == "linear"):
                        continue
                    if region == "linear":
                        if int(n1) not in lin:
                            continue
                        th = lin[int(n1)]
                    else:
                        th = float(quadratic_scaling(Problem(n0=cfg.n0, n1=n1, m=cfg.m, ridge=cfg.ridge,
                                                             activation=act, noise=cfg.noise),
                                                     lr_ratio=float(lr)).test_error)
                    dev = (r["test_error"] - th) / th
                    pts.append((abs(dev), n1, dev, (r["test_error"] - th) / max(r["stderr"], 1e-300)))
                if pts:
                    _, n1, dev, z = max(pts)
                    out.append({"activation": act, "lr_ratio": lr, "region": region, "n1": n1, "deviation": dev,
                                "z": z, "points": len(pts), "switch_width": sw})
    return out


EXTRAPOLATED_SHIFT = 1.12
"""The extrapolated points are drawn at this multiple of their ``p`` (next to the raw point, not on it)."""


def _deviation_text(devs: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{d['activation']} r={d['lr_ratio']:g} {d['region']}: {100 * d['deviation']:+.1f}% "
                     f"(n1={d['n1']:g}, {d['z']:+.1f} se)" for d in devs)


def draw(rows: Sequence[dict[str, Any]], cfg: TripleDescentConfig, path: Path | str) -> Path:
    """Draw the rows (as written to the CSV) into a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acts = list(cfg.activations)
    colours = ["#1f4e9c", "#d1495b", "#2a9d8f", "#e9a03b"]
    has_ext = any(r["kind"] == "simulation-extrapolated" for r in rows)
    # (width per panel, height, legend's y, axes' bottom): room for the fifth legend column and a longer caption
    width, height, legend_y, bottom = (7.0, 7.8, 0.16, 0.28) if has_ext else (6.4, 6.8, 0.115, 0.23)
    fig, axes = plt.subplots(1, len(acts), figsize=(width * len(acts), height), sharey=False, squeeze=False)
    for ax, act in zip(axes[0], acts):
        for j, lr in enumerate(cfg.lr_ratios):
            col = colours[j % len(colours)]
            sel = lambda kind: [r for r in rows if r["activation"] == act and r["lr_ratio"] == lr  # noqa: E731
                                and r["kind"] == kind]
            sw = switch_width(cfg, rows, act, lr)
            ax.axvline(cfg.n0 * sw, color=col, lw=0.9, ls=(0, (1, 2, 4, 2)))
            quad = sel("theory-quadratic")
            if quad:  # solid where it applies (n1 > switch width), thin dotted below
                inside = [r for r in quad if r["n1"] >= sw]
                ax.plot([r["p"] for r in inside], [r["test_error"] for r in inside], "-", color=col, lw=1.8,
                        label=f"r={lr:g}: quadratic scaling (n1 ~ m)")
                ax.plot([r["p"] for r in quad if r["n1"] <= sw], [r["test_error"] for r in quad if r["n1"] <= sw],
                        ":", color=col, lw=0.9)
            lin = sorted(sel("theory-linear"), key=lambda r: r["n1"])
            if lin:  # markers at the exact widths, a line through the wide ones; dotted beyond the switch width
                inside = [r for r in lin if r["n1"] <= sw]
                ax.plot([r["p"] for r in inside], [r["test_error"] for r in inside], "--", color=col, lw=1.3,
                        label=f"r={lr:g}: linear scaling (n1 fixed, integer)")
                ax.plot([r["p"] for r in lin if r["n1"] >= max(inside[-1]["n1"] if inside else 0, 1)],
                        [r["test_error"] for r in lin if r["n1"] >= max(inside[-1]["n1"] if inside else 0, 1)],
                        ":", color=col, lw=0.9)
                ex = [r for r in lin if r["n1"] <= max(cfg.linear_widths, default=0)]
                ax.plot([r["p"] for r in ex], [r["test_error"] for r in ex], "D", color=col, ms=5, mfc="white")
            inf = sel("theory-infinite")
            if inf:
                ax.axhline(inf[0]["test_error"], color=col, ls=":", lw=1.4,
                           label=f"r={lr:g}: infinite-width NTK = {inf[0]['test_error']:.3g}")
                ax.annotate(f"{inf[0]['test_error']:.3g}", xy=(1.0, inf[0]["test_error"]),
                            xycoords=("axes fraction", "data"), xytext=(3, 5 - 10 * j), textcoords="offset points",
                            color=col, fontsize=8, va="center")
            sim = sel("simulation")
            if sim:
                ax.errorbar([r["p"] for r in sim], [r["test_error"] for r in sim],
                            yerr=[2 * r["stderr"] for r in sim], fmt="o", color=col, ms=4.5, capsize=2,
                            elinewidth=1, label=f"r={lr:g}: simulation (±2 s.e.)")
            ext = sel("simulation-extrapolated")
            if ext:
                ax.errorbar([EXTRAPOLATED_SHIFT * r["p"] for r in ext], [r["test_error"] for r in ext],
                            yerr=[2 * r["stderr"] for r in ext], fmt="s", color=col, mfc="white", ms=4.5,
                            capsize=2, elinewidth=0.8,
                            label=f"r={lr:g}: extrapolated, n0 -> inf (±2 s.e.)")
        ax.axvline(cfg.m, color="0.35", lw=1.0, ls="-.")
        ax.axvline(cfg.n0 * cfg.m, color="0.35", lw=1.0, ls="-.")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ymin, _ = ax.get_ylim()
        ax.text(cfg.m * 1.08, ymin * 1.06, "p = m", color="0.25", fontsize=9, va="bottom")
        ax.text(cfg.n0 * cfg.m * 1.08, ymin * 1.06, "n1 = m", color="0.25", fontsize=9, va="bottom")
        ax.set_xlabel(f"parameters p = n0 n1 (first layer; n0 = {cfg.n0}, m = {cfg.m})")
        ax.set_ylabel("test error (excess, no test noise)")
        ax.set_title(f"{act}", fontsize=12)
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    by_label = dict(zip([lab.split(" = ")[0] if "infinite" in lab else lab for lab in labels], handles))
    kinds = ("quadratic scaling", "linear scaling", "infinite-width", "simulation", "extrapolated")
    entries = []
    for kind in kinds:  # column-major fill: one legend row per learning-rate ratio
        for lr in cfg.lr_ratios:
            entries += [(h, lab) for lab, h in by_label.items() if lab.startswith(f"r={lr:g}: {kind}")]
    fig.legend([h for h, _ in entries], [lab for _, lab in entries], loc="lower center",
               ncol=max(4, sum(any(lab.startswith(f"r={lr:g}: {kind}") for lab in by_label for lr in cfg.lr_ratios)
                               for kind in kinds)),
               fontsize=8.5, bbox_to_anchor=(0.5, legend_y), frameon=False)
    fig.suptitle("Triple descent of NTK kernel regression (Adlam & Pennington 2020): empirical NTK at "
                 "initialisation, kernel ridge without f0", fontsize=11.5)
    devs = region_deviations(rows, cfg)
    measured = ("Measured worst deviation of the simulation from the applicable curve: " + _deviation_text(devs)
                + ".") if devs else "No simulation drawn."
    ext_devs = region_deviations(rows, cfg, kind="simulation-extrapolated")
    if ext_devs:
        half = [r for r in rows if r["kind"] == "simulation-half"]
        h = int(half[0]["n0"]) if half else cfg.n0 // 2
        measured += (f" Open squares (drawn at {EXTRAPOLATED_SHIFT:g} p): each point simulated again at n0 = {h} "
                     f"with the same limit coordinates and extrapolated to n0 -> inf, "
                     + ("2 E(n0) - E(n0/2)" if 2 * h == cfg.n0 else
                        f"({cfg.n0} E({cfg.n0}) - {h} E({h})) / {cfg.n0 - h} (where the rounded half sizes change "
                        "a ratio, the half-size error is first moved along the limit)")
                     + (" (linear region: exact widths only)" if cfg.extrapolate_linear else
                        " (quadratic region only)") + "; their worst deviation: " + _deviation_text(ext_devs)
                     + ".")
    fig.text(0.5, 0.005,
             f"Two-layer net, NTK parameterisation, centred activation; x ~ N(0, I), y = beta.x/sqrt(n0) + noise; "
             f"ridge = {cfg.ridge:g}, noise variance = {cfg.noise:g}; r = first/second-layer learning-rate ratio. "
             "Lines: n0, m -> inf limits at these ratios (linear scaling at integer widths: diamonds exact, line "
             "beyond the diamonds its wide formulation); each is solid where it applies and dotted outside: the applicable "
             "limit is the larger one, which keeps the dominant source of variance (thin dash-dot lines: where the "
             "two cross, per r). The empirical NTK approaches the quadratic-scaling limit "
             "like 1/n0, so at this n0 the quadratic region lies above its curve. " + measured,
             ha="center", fontsize=7.5, wrap=True)
    fig.tight_layout(rect=(0, bottom, 1, 0.95))
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def make_figure(out: Path | str = "out", *, mc: bool = True, quick: bool = False, seed: int | None = None,
                config: TripleDescentConfig | None = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compute (theory, and simulation unless ``mc=False``; with ``config.extrapolate`` also the half-size runs and
    the extrapolated points), write ``triple_descent.csv`` and ``.png`` into ``out``.

    ``seed`` overrides the configuration's simulation seed; ``progress`` receives one line per simulated point.

    Returns:
        ``{"png": path, "csv": path, "files": [png, csv], "rows": int, "seconds": float, "deviations": [...],
        "extrapolated_deviations": [...]}`` (the last two from :func:`region_deviations`).
    """
    start = time.perf_counter()
    cfg = config or default_config(quick)
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=int(check_nonnegative(seed, "seed")))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = compute_theory(cfg)
    if mc:
        rows += compute_simulation(cfg, progress=progress)
        if cfg.extrapolate:
            rows += compute_extrapolation(cfg, rows, progress=progress)
    csv_path = out_dir / "triple_descent.csv"
    devs = region_deviations(rows, cfg)
    ext_devs = region_deviations(rows, cfg, kind="simulation-extrapolated")
    with csv_path.open("w", newline="") as fh:
        fh.write("# " + "; ".join(f"{k}={v}" for k, v in asdict(cfg).items() if k != "extra")
                 + "; switch_widths=" + ",".join(f"{d['activation']}/r={d['lr_ratio']:g}:{d['switch_width']:g}"
                                                 for d in devs if d["region"] == "linear")
                 + ("; worst deviation from the applicable limit: " + _deviation_text(devs) if devs else "")
                 + ("; worst deviation of the points extrapolated to n0 -> inf: " + _deviation_text(ext_devs)
                    if ext_devs else "") + "\n")
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    png = draw(rows, cfg, out_dir / "triple_descent.png")
    return {"png": str(png), "csv": str(csv_path), "files": [str(png), str(csv_path)], "rows": len(rows),
            "seconds": time.perf_counter() - start, "deviations": devs, "extrapolated_deviations": ext_devs}


def make(out: Path | str = "out", *, mc: bool = True, quick: bool = False, seed: int | None = None
         ) -> dict[str, Any]:
    """The entry point of ``rmt figure triple-descent [--out DIR] [--no-mc] [--quick] [--seed S]``
    (:mod:`figures.commands.figure`): :func:`make_figure` with progress lines on stderr."""
    return make_figure(out, mc=mc, quick=quick, seed=seed, progress=lambda msg: print(msg, file=sys.stderr,
                                                                                      flush=True))


if __name__ == "__main__":
    from rmt.figures.commands.figure import standalone

    raise SystemExit(standalone("triple-descent"))
