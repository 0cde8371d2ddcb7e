r"""The numbers behind ``rmt explore``: one pure function per view, no web framework.

Each view takes plain settings (floats, strings), validates them with messages that name the field, evaluates the
exact theory on a grid and returns a :class:`View`: the columns of numbers that are drawn, the equivalent
``rmt theory ...`` command line, and a title. The page (:mod:`rmt.figures.explore`) only draws these, so that what a
test reads from the browser can be compared with what ``rmt theory`` prints for the same settings.

The models are those of the model table (:mod:`rmt.figures.models`), called through its theory entry points.
Views:

* ``descent``: test error of random-feature (Adlam & Pennington, arXiv:2011.03321) or NTK regression (quadratic
  scaling, Adlam & Pennington, arXiv:2008.06786) against the width ``n1/m`` at fixed ``phi = n0/m``, with the bias
  and the seven fine-grained variance terms stacked (random features; an ensemble of ``K`` initialisations averages
  the terms that involve ``P``);
* ``phase``: the covariate-shift penalty ``E_OOD - E_ID`` of random features (Tripuraneni, Adlam & Pennington,
  arXiv:2111.08234) over the plane of width ``n1/n0`` and samples ``m/n0``, with the ridgeless interpolation
  threshold ``n1 = m`` and the zero contour;
* ``dynamics``: exact risk trajectories of online SGD (learning rate, batch) or population gradient flow on the
  power-law spectrum (Bordelon & Pehlevan, arXiv:2106.02713; Paquette et al., arXiv:2205.07069);
* ``learning``: eigenframework learning curves (test error against the number of samples ``n``) of kernel ridge
  regression and, with ``p`` features, random-feature ridge regression on a power-law spectrum
  (``lambda_k = k^-alpha``, target power ``k^-beta``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from rmt.activations import KNOWN_ACTIVATIONS

__all__ = ["FIELDS", "VIEWS", "FieldError", "View", "compute", "parse_settings"]

VIEWS = ("descent", "phase", "learning", "dynamics")
MODELS = ("rf", "ntk")
FAMILIES = ("two-point", "power-law")
ALGORITHMS = ("online-sgd", "gf")
DYNAMICS_MODES = 1000
DYNAMICS_POINTS = 40
GRID_POINTS = 120
PHASE_POINTS = 41
LEARNING_POINTS = 60
LEARNING_MODES = 10_000  # n stays <= 1000, ten times below the truncation


class FieldError(ValueError):
    """A setting out of range; ``field`` names the control."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.field = name


@dataclass(frozen=True)
class Field:
    """One control: its name, default, allowed range and kind (``float``, ``int``, ``choice``, ``ensemble``)."""

    name: str
    default: Any
    kind: str = "float"
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    choices: tuple[str, ...] = ()
    label: str = ""

    def parse(self, raw: Any) -> Any:
        if self.kind == "choice":
            value = str(raw).strip()
            if value not in self.choices:
                raise FieldError(self.name, f"must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        text = str(raw).strip() if raw is not None else ""
        if self.kind == "ensemble" and text.lower() in ("inf", "infinity"):
            return math.inf
        try:
            value = float(text)
        except ValueError:
            raise FieldError(self.name, f"must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise FieldError(self.name, f"must be finite, got {text!r}")
        if self.kind in ("int", "ensemble"):
            if value != int(value):
                raise FieldError(self.name, f"must be an integer, got {text!r}")
            value = int(value)
        if value < self.low or (self.low_open and value == self.low) or value > self.high:
            lo = "(" if self.low_open else "["
            raise FieldError(self.name, f"must lie in {lo}{self.low:g}, {self.high:g}], got {text}")
        return value


FIELDS: Mapping[str, Field] = {f.name: f for f in (
    Field("model", "rf", "choice", choices=MODELS, label="model (descent)"),
    Field("activation", "relu", "choice", choices=tuple(sorted(set(KNOWN_ACTIVATIONS) - {"linear"})),
          label="activation"),
    Field("phi", 0.5, low=0.0, high=100.0, low_open=True, label="phi = n0/m"),
    Field("ridge", 1e-3, low=0.0, high=1e6, label="ridge"),
    Field("noise", 0.25, low=0.0, high=100.0, label="noise variance"),
    Field("signal", 1.0, low=0.0, high=100.0, label="signal |beta|^2/n0"),
    Field("ensemble", "1", "ensemble", low=1, high=1e6, label="ensemble size K (or inf)"),
    Field("lr_ratio", 1.0, low=0.0, high=100.0, label="NTK learning-rate ratio r"),
    Field("family", "two-point", "choice", choices=FAMILIES, label="shift family"),
    Field("strength", 1.0, low=-10.0, high=10.0, label="shift strength"),
    Field("alpha", 1.5, low=1.0, high=10.0, low_open=True, label="spectrum decay alpha"),
    Field("beta", 1.8, low=1.0, high=10.0, low_open=True, label="target decay beta"),
    Field("p", 0, "int", low=0, high=1e6, label="features p (0: kernel)"),
    Field("algorithm", "online-sgd", "choice", choices=ALGORITHMS, label="algorithm (dynamics)"),
    Field("lr", 0.5, low=0.0, high=100.0, low_open=True, label="learning rate"),
    Field("batch", 1, "int", low=1, high=1e6, label="batch size"),
)}


def parse_settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate every known field of ``raw`` (missing ones take their defaults); raise :class:`FieldError`."""
    return {name: f.parse(raw.get(name, f.default)) for name, f in FIELDS.items()}


@dataclass(frozen=True)
class View:
    """What one view draws: ``x`` (and ``y`` for a map), named curves or a map ``z``, and the command line."""

    name: str
    title: str
    x_label: str
    y_label: str
    x: np.ndarray
    curves: Mapping[str, np.ndarray] = field(default_factory=dict)
    stack: tuple[str, ...] = ()
    y: np.ndarray | None = None
    z: np.ndarray | None = None
    command: str = ""
    log_x: bool = True
    log_y: bool = False

    def columns(self) -> dict[str, np.ndarray]:
        """The numbers behind the view as flat columns (a map is flattened row by row)."""
        if self.z is None:
            return {self.x_label: self.x, **self.curves}
        xx, yy = np.meshgrid(self.x, self.y)
        return {self.x_label: xx.ravel(), self.y_label: yy.ravel(), "ood_penalty": self.z.ravel()}

    def csv(self) -> str:
        cols = self.columns()
        names = list(cols)
        rows = [",".join(names)]
        for i in range(len(next(iter(cols.values())))):
            rows.append(",".join(_fmt(cols[k][i]) for k in names))
        return "\n".join(rows) + "\n"


def _fmt(v: float) -> str:
    v = float(v)
    return repr(v) if math.isfinite(v) else ""  # non-finite values are empty cells, as in every rmt CSV


def _finite(a: Any) -> np.ndarray:
    """A float array with non-finite entries as NaN (drawn as gaps)."""
    a = np.array(a, dtype=float)
    a[~np.isfinite(a)] = np.nan
    return a


def _ens(k: float) -> str:
    return "inf" if math.isinf(k) else str(int(k))


def _theory(model: str) -> Any:
    """The theory entry point of ``model`` from the model table (:mod:`rmt.figures.models`)."""
    from rmt.figures.models import entry_point, get_model

    return entry_point(get_model(model).theory)


def descent(s: Mapping[str, Any]) -> View:
    """Test error against ``n1/m`` at fixed ``phi``: theory on a log grid of ``psi = phi / (n1/m)``."""
    from rmt.problem import Problem

    psi_lo, psi_hi = s["phi"] / 20.0, s["phi"] / 0.05  # n1/m from 20 down to 0.05, in the command's order
    psi = np.logspace(math.log10(psi_lo), math.log10(psi_hi), GRID_POINTS)
    width = s["phi"] / psi
    p = Problem.from_ratios(phi=s["phi"], psi=psi, ridge=s["ridge"], activation=s["activation"],
                            noise=s["noise"], signal=s["signal"])
    common = (f"--phi {s['phi']:g} --psi {psi_lo:g}:{psi_hi:g}:{GRID_POINTS}:log --ridge {s['ridge']:g} "
              f"--activation {s['activation']} --noise {s['noise']:g} --signal {s['signal']:g}")
    theory = _theory(s["model"])
    if s["model"] == "ntk":
        r = theory(p, lr_ratio=s["lr_ratio"])
        curves = {"test_error": _finite(r.test_error), "bias": _finite(r.bias)}
        curves.update({k: _finite(v) for k, v in r.fine_grained.items()})
        command = f"rmt theory ntk {common} --lr-ratio {s['lr_ratio']:g} --json"
        title = f"NTK regression (r = {s['lr_ratio']:g}), {s['activation']}"
    else:
        r = theory(p)
        if s["ensemble"] != 1:
            r = r.ensemble(s["ensemble"])
        curves = {"test_error": _finite(r.test_error), "bias": _finite(r.bias)}
        curves.update({k: _finite(v) for k, v in r.fine_grained.items()})
        extra = f" --ensemble {_ens(s['ensemble'])}" if s["ensemble"] != 1 else ""
        command = f"rmt theory rf {common}{extra} --json"
        title = f"random features, {s['activation']}" + (f", ensemble of {_ens(s['ensemble'])}"
                                                         if s["ensemble"] != 1 else "")
    stack = ("bias",) + tuple(k for k in curves if k not in ("test_error", "bias"))
    return View("descent", title, "n1/m", "test error", width, curves, stack, command=command, log_y=True)


def _shift_spectrum(s: Mapping[str, Any]) -> Any:
    from rmt.theory.covariate_shift import power_law, two_point

    if s["family"] == "power-law":
        return power_law(1.0, 1.0 + s["strength"])
    return two_point(s["strength"])


def phase(s: Mapping[str, Any]) -> View:
    """``E_OOD - E_ID`` over ``(n1/n0, m/n0)`` on a log grid, random features under covariate shift."""
    from rmt.theory.covariate_shift import covariate_shift_error

    if s["family"] == "two-point" and not -1.0 < s["strength"] < 1.0 / 0.6:
        raise FieldError("strength", "the two-point family needs strength in (-1, 1.667)")
    widths = np.logspace(-1, 1, PHASE_POINTS)   # n1/n0 = 1/psi
    samples = np.logspace(-1, 1, PHASE_POINTS)  # m/n0 = 1/phi
    psi = 1.0 / widths[None, :]
    phi = 1.0 / samples[:, None]
    ridge = s["ridge"]
    if ridge == 0.0:
        # the ridgeless error diverges on the threshold n1 = m: keep the diagonal off the grid by a tiny ridge
        ridge = 1e-8
    r = covariate_shift_error(phi, psi, spectrum=_shift_spectrum(s), ridge=ridge, activation=s["activation"],
                              noise=s["noise"], signal=s["signal"])
    z = _finite(np.asarray(r.test_error) - np.asarray(r.id_test_error))
    spec = f"--family {s['family']} --strength={s['strength']:g}"
    command = (f"rmt theory shift --phi 0.1:10:{PHASE_POINTS}:log --psi 0.1:10:{PHASE_POINTS}:log --ridge {ridge:g} "
               f"--activation {s['activation']} --noise {s['noise']:g} --signal {s['signal']:g} {spec} --json")
    return View("phase", f"OOD penalty E_OOD - E_ID ({s['family']}, strength {s['strength']:g})", "n1/n0", "m/n0",
                widths, y=samples, z=z, command=command)


def learning(s: Mapping[str, Any]) -> View:
    """Eigenframework learning curve: test error against ``n`` (KRR, or random features with ``p`` features)."""
    from rmt.theory.eigen import Eigensystem

    krr, rf = _theory("eigen-krr"), _theory("eigen-rf")
    system = Eigensystem.power_law(alpha=s["alpha"], beta=s["beta"], modes=LEARNING_MODES)
    n = np.geomspace(1.0, 1000.0, LEARNING_POINTS)  # the eigenframework takes n as a real number
    ridge = s["ridge"]
    curves = {"test_error (KRR)": _finite(krr(system, n=n, ridge=ridge, noise=s["noise"]).test_error)}
    tail = ""
    if s["p"] > 0:
        if ridge == 0.0:
            raise FieldError("ridge", "random features in the eigenframework need ridge > 0 here")
        curves[f"test_error (RF, p = {s['p']})"] = _finite(rf(system, n=n, p=s["p"], ridge=ridge,
                                                              noise=s["noise"]).test_error)
        tail = f" --p {s['p']}"
    command = (f"rmt theory eigen --alpha {s['alpha']:g} --beta {s['beta']:g} --n 1:1000:{LEARNING_POINTS}:log "
               f"--modes {LEARNING_MODES} --ridge {ridge:g} --noise {s['noise']:g}{tail} --json")
    return View("learning", f"eigenframework, alpha = {s['alpha']:g}, beta = {s['beta']:g}", "n", "test error", n,
                curves, command=command, log_y=True)


def dynamics(s: Mapping[str, Any]) -> View:
    """Risk against training steps (online SGD with ``lr`` and ``batch``) or time (population gradient flow) on the
    power-law spectrum of the learning view, truncated at :data:`DYNAMICS_MODES` modes."""
    from rmt.theory.dynamics import DynamicsProblem
    from rmt.theory.eigen import Eigensystem

    system = Eigensystem.power_law(alpha=s["alpha"], beta=s["beta"], modes=DYNAMICS_MODES)
    common = (f"--alpha {s['alpha']:g} --beta {s['beta']:g} --modes {DYNAMICS_MODES} --noise {s['noise']:g}")
    if s["algorithm"] == "gf":
        t = np.geomspace(0.1, 1e4, DYNAMICS_POINTS)
        prob = DynamicsProblem(system, "gf", times=tuple(t), noise=s["noise"])
        command = f"rmt theory dynamics --algorithm gf {common} --times 0.1:10000:{DYNAMICS_POINTS}:log --json"
        x_label, title = "time", "population gradient flow"
    else:
        steps = np.unique(np.round(np.geomspace(1, 1e4, DYNAMICS_POINTS)).astype(int))
        prob = DynamicsProblem(system, "online-sgd", steps=tuple(int(k) for k in steps), lr=s["lr"],
                               batch=s["batch"], noise=s["noise"])
        command = (f"rmt theory dynamics --algorithm online-sgd {common} --lr {s['lr']:g} --batch {s['batch']} "
                   f"--steps {','.join(str(int(k)) for k in steps)} --json")
        x_label, title = "step", f"online SGD, lr = {s['lr']:g}, batch = {s['batch']}"
    try:
        curve = _theory("dynamics")(prob)
    except ValueError as exc:  # e.g. a learning rate beyond the stability threshold: name the control
        raise _field_error(exc) from None
    return View("dynamics", f"{title}, alpha = {s['alpha']:g}, beta = {s['beta']:g}", x_label, "test error",
                np.asarray(curve.x, dtype=float), {"test_error": _finite(curve.test_error)}, command=command,
                log_y=True)


def _field_error(exc: ValueError) -> ValueError:
    """The theory's ``ValueError`` as a :class:`FieldError` when its message starts with a control's name."""
    msg = " ".join(str(exc).split())
    name = msg.split(" ", 1)[0].rstrip(":=")
    return FieldError(name, msg.split(" ", 1)[1].lstrip(":= ") if " " in msg else msg) if name in FIELDS else exc


_VIEW_FUNCS = {"descent": descent, "phase": phase, "learning": learning, "dynamics": dynamics}


def compute(view: str, raw: Mapping[str, Any]) -> View:
    """Validate ``raw`` and compute ``view``; :class:`FieldError` names the offending control."""
    if view not in _VIEW_FUNCS:
        raise FieldError("view", f"must be one of {', '.join(VIEWS)}, got {view!r}")
    return _VIEW_FUNCS[view](parse_settings(raw))
