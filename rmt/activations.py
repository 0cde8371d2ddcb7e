r"""Gaussian moments of activation functions.

For a pre-activation :math:`u \sim N(0, s)` (``variance=s``, default 1) and an activation :math:`\sigma`:

* ``mu0 = E sigma(u)``
* ``mu1 = E sigma'(u) = E[u sigma(u)] / s`` (Stein's lemma; the linear Hermite coefficient)
* ``mu_star2 = E sigma(u)^2 - mu0^2 - s mu1^2`` (the "nonlinear" power), ``mu_star = sqrt(mu_star2)``
* ``eta = Var sigma(u) = E sigma(u)^2 - mu0^2`` and ``zeta = mu1^2``: Adlam & Pennington's constants of the centred
  activation (arXiv:2011.03321); at ``s = 1``, ``eta - zeta = mu_star2``.
* ``mean_derivative = E sigma'(u)`` and ``mean_sq_derivative = E sigma'(u)^2`` (``eta'`` of the NTK, Adlam &
  Pennington arXiv:2008.06786); ``inf`` for ``sign``, whose derivative is a Dirac mass.

Mei & Montanari's ``zeta_MM = mu1 / mu_star`` (a ratio, not squared) is available as ``zeta_mm``.

Three evaluation paths:

* ``method="exact"``: sympy closed forms for ``relu``, ``erf``, ``linear``, ``sign`` and ``quadratic`` (as functions
  of the variance ``s``), evaluated to any precision.
* ``method="mpmath"``: adaptive tanh-sinh quadrature split at the kinks, at ``precision`` significant digits.
* ``method="gauss-hermite"``: float64 Gauss-Hermite quadrature with an even number of nodes (fast path; about
  1e-3 accurate on a kink such as relu's, machine precision for smooth activations).
* ``method="float"``: the same closed forms as ``"exact"``, evaluated in float64 with :mod:`math` (no sympy; within
  a few units in the last place of the exact values). :func:`gaussian_mean` gives ``mu0`` this way for every named
  activation (the centring constant of the simulations, which then never load sympy).

``method="auto"`` uses the closed form when one exists and mpmath quadrature at 20 digits otherwise.

Example:
    >>> c = constants("relu")
    >>> round(c.mu1, 12), round(c.mu_star2, 12)
    (0.5, 0.090845056908)
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal, Union

import numpy as np

from rmt._validation import check_positive, check_positive_int
from rmt.numerics import float64_jax

if TYPE_CHECKING:  # sympy, mpmath and scipy.special are imported where they are used (start-up of the simulation)
    import sympy as sp

__all__ = [
    "Activation",
    "ActivationConstants",
    "ActivationLike",
    "KNOWN_ACTIVATIONS",
    "constants",
    "exact_moments",
    "gaussian_mean",
    "get_activation",
    "hermite_coefficients",
]

ArrayFn = Callable[[Any], Any]
Method = Literal["auto", "exact", "float", "mpmath", "gauss-hermite"]


class _Namespace:
    """The handful of array functions activations need, for one array library."""

    def __init__(self, module: Any, erf: Callable[[Any], Any]):
        self.maximum = module.maximum
        self.tanh = module.tanh
        self.sign = module.sign
        self.exp = module.exp
        self.sqrt = module.sqrt
        self.logaddexp = module.logaddexp
        self.where = module.where
        self.zeros_like = module.zeros_like
        self.ones_like = module.ones_like
        self.erf = erf


def _scipy_erf(x: Any) -> Any:
    import scipy.special  # imported on first use: it takes about a quarter of a second

    return scipy.special.erf(x)


_NUMPY = _Namespace(np, _scipy_erf)
_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _relu(x, xp):
    return xp.maximum(x, 0.0)


def _drelu(x, xp):
    return xp.where(x > 0, 1.0, 0.0)


def _tanh(x, xp):
    return xp.tanh(x)


def _dtanh(x, xp):
    t = xp.tanh(x)
    return 1.0 - t * t


def _erf(x, xp):
    return xp.erf(x)


def _derf(x, xp):
    return (2.0 / math.sqrt(math.pi)) * xp.exp(-x * x)


def _linear(x, xp):
    return 1.0 * x


def _dlinear(x, xp):
    return xp.ones_like(x)


def _sign(x, xp):
    return xp.sign(x)


def _dsign(x, xp):
    return xp.zeros_like(x)  # a.e.; the distributional derivative 2 delta(x) is handled in the moments


def _quadratic(x, xp):
    return x * x


def _dquadratic(x, xp):
    return 2.0 * x


def _softplus(x, xp):
    return xp.logaddexp(0.0, x)


def _dsoftplus(x, xp):
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def _gelu(x, xp):
    return 0.5 * x * (1.0 + xp.erf(x / _SQRT2))


def _dgelu(x, xp):
    return 0.5 * (1.0 + xp.erf(x / _SQRT2)) + x * _INV_SQRT2PI * xp.exp(-0.5 * x * x)


@functools.lru_cache(maxsize=1)
def _mp_funcs() -> dict[str, tuple[Callable, Callable]]:
    """mpmath versions of the named activations and their derivatives (for quadrature at arbitrary precision)."""
    import mpmath

    return {
        "relu": (lambda x: x if x > 0 else mpmath.mpf(0), lambda x: mpmath.mpf(1) if x > 0 else mpmath.mpf(0)),
        "tanh": (mpmath.tanh, lambda x: 1 - mpmath.tanh(x) ** 2),
        "erf": (mpmath.erf, lambda x: 2 / mpmath.sqrt(mpmath.pi) * mpmath.exp(-x * x)),
        "linear": (lambda x: x, lambda x: mpmath.mpf(1)),
        "sign": (mpmath.sign, lambda x: mpmath.mpf(0)),
        "quadratic": (lambda x: x * x, lambda x: 2 * x),
        "softplus": (lambda x: mpmath.log1p(mpmath.exp(x)) if x < 30 else x + mpmath.log1p(mpmath.exp(-x)),
                     lambda x: 1 / (1 + mpmath.exp(-x))),
        "gelu": (lambda x: x * mpmath.ncdf(x), lambda x: mpmath.ncdf(x) + x * mpmath.npdf(x)),
    }

# Points where the activation or its derivative is not smooth (quadrature is split there).
_KINKS: dict[str, tuple[float, ...]] = {"relu": (0.0,), "sign": (0.0,)}


def exact_moments(name: str) -> dict[str, sp.Expr] | None:
    r"""Closed-form Gaussian moments of a named activation as sympy expressions in the variance ``s``.

    Returns a dict with keys ``E_sigma``, ``mu1`` (= E sigma'(u) = E[u sigma(u)]/s), ``E_sigma2``,
    ``E_dsigma2`` (E sigma'(u)^2, ``oo`` for ``sign``), or ``None`` when no closed form is tabulated
    (``tanh``, ``softplus``, ``gelu``). Each entry is checked against 30-digit quadrature in the tests.
    """
    import sympy as sp

    s = _s_symbol()
    pi = sp.pi
    table: dict[str, dict[str, sp.Expr]] = {
        "relu": {"E_sigma": sp.sqrt(s / (2 * pi)), "mu1": sp.Rational(1, 2), "E_sigma2": s / 2,
                 "E_dsigma2": sp.Rational(1, 2)},
        "erf": {"E_sigma": sp.Integer(0), "mu1": 2 / sp.sqrt(pi * (1 + 2 * s)),
                "E_sigma2": 2 / pi * sp.asin(2 * s / (1 + 2 * s)), "E_dsigma2": 4 / (pi * sp.sqrt(1 + 4 * s))},
        "linear": {"E_sigma": sp.Integer(0), "mu1": sp.Integer(1), "E_sigma2": s, "E_dsigma2": sp.Integer(1)},
        "sign": {"E_sigma": sp.Integer(0), "mu1": sp.sqrt(2 / (pi * s)), "E_sigma2": sp.Integer(1),
                 "E_dsigma2": sp.oo},
        "quadratic": {"E_sigma": s, "mu1": sp.Integer(0), "E_sigma2": 3 * s**2, "E_dsigma2": 4 * s},
    }
    return table.get(name)


def _float_moments(name: str, s: float) -> dict[str, float] | None:
    """The closed forms of :func:`exact_moments` evaluated in float64 (``None`` where there is none).

    Same formulas, written so that float64 loses nothing: ``asin(2s / (1 + 2s)) = atan(2s / sqrt(1 + 4s))``
    (the arcsine's argument tends to 1 as ``s`` grows, where it is ill-conditioned; the arctangent is not).
    """
    pi = math.pi
    if name == "relu":
        return {"E_sigma": math.sqrt(s / (2.0 * pi)), "mu1": 0.5, "E_sigma2": s / 2.0, "E_dsigma2": 0.5}
    if name == "erf":
        return {"E_sigma": 0.0, "mu1": 2.0 / math.sqrt(pi * (1.0 + 2.0 * s)),
                "E_sigma2": 2.0 / pi * math.atan(2.0 * s / math.sqrt(1.0 + 4.0 * s)),
                "E_dsigma2": 4.0 / (pi * math.sqrt(1.0 + 4.0 * s))}
    if name == "linear":
        return {"E_sigma": 0.0, "mu1": 1.0, "E_sigma2": s, "E_dsigma2": 1.0}
    if name == "sign":
        return {"E_sigma": 0.0, "mu1": math.sqrt(2.0 / (pi * s)), "E_sigma2": 1.0, "E_dsigma2": math.inf}
    if name == "quadratic":
        return {"E_sigma": s, "mu1": 0.0, "E_sigma2": 3.0 * s * s, "E_dsigma2": 4.0 * s}
    return None


# E sigma(u), u ~ N(0, s), in closed form: zero for odd activations; gelu by Stein's lemma,
# E[u Phi(u)] = s E[phi(u)] = s / sqrt(2 pi (1 + s)). Softplus has none.
_FLOAT_MEANS: dict[str, Callable[[float], float]] = {
    "relu": lambda s: math.sqrt(s / (2.0 * math.pi)),
    "tanh": lambda s: 0.0,
    "erf": lambda s: 0.0,
    "linear": lambda s: 0.0,
    "sign": lambda s: 0.0,
    "quadratic": lambda s: s,
    "gelu": lambda s: s / math.sqrt(2.0 * math.pi * (1.0 + s)),
}


@functools.lru_cache(maxsize=1)
def _s_symbol() -> sp.Symbol:
    """The variance ``s`` of the closed forms (a positive sympy symbol)."""
    import sympy as sp

    return sp.Symbol("s", positive=True)


@dataclass(frozen=True, eq=False)
class Activation:
    """An activation function with what the theory and the simulation need of it.

    Named activations carry a numpy implementation, a JAX implementation (``jax_fn``), an exact derivative and,
    where one exists, sympy closed forms of their Gaussian moments. A custom callable should be written with
    ``jax.numpy`` operations (these also accept numpy arrays) so that the Monte Carlo can jit it; it is evaluated in
    float64 (also under ``method="mpmath"``: precision beyond double needs a named activation); its derivative, if
    not given, is taken by a 5-point finite difference for quadrature and by ``jax.grad`` in simulation.

    Args:
        name: identifier (for named activations, one of ``KNOWN_ACTIVATIONS``).
        fn: ``fn(x) -> array``, elementwise, accepting numpy arrays.
        derivative: elementwise derivative or ``None``.
    """

    name: str
    fn: ArrayFn
    derivative: ArrayFn | None = None
    _xp_fn: Callable[[Any, Any], Any] | None = field(default=None, repr=False)
    _xp_dfn: Callable[[Any, Any], Any] | None = field(default=None, repr=False)

    @property
    def is_named(self) -> bool:
        return self.name in _NAMED and self._xp_fn is _NAMED[self.name][0]

    def __call__(self, x: Any) -> np.ndarray:
        if self._xp_fn is not None:
            return np.asarray(self.fn(x), dtype=float)
        return _call_float64(self.fn, x)

    def d(self, x: Any) -> np.ndarray:
        """Elementwise derivative (exact for named activations, finite differences otherwise)."""
        if self.derivative is not None:
            return np.asarray(self.derivative(x), dtype=float)
        x = np.asarray(x, dtype=float)
        h = 1e-3 * np.maximum(1.0, np.abs(x))
        f = self.__call__
        return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)

    def jax_fn(self) -> ArrayFn:
        """The activation for JAX arrays (used by ``montecarlo``)."""
        if self._xp_fn is None:
            return self.fn
        import jax.numpy as jnp
        import jax.scipy.special

        ns = _Namespace(jnp, jax.scipy.special.erf)
        xp_fn = self._xp_fn
        return lambda x: xp_fn(x, ns)

    def jax_derivative(self) -> ArrayFn:
        """The derivative for JAX arrays (exact for named activations, ``jax.grad`` for callables)."""
        if self._xp_dfn is not None:
            import jax.numpy as jnp
            import jax.scipy.special

            ns = _Namespace(jnp, jax.scipy.special.erf)
            xp_dfn = self._xp_dfn
            return lambda x: xp_dfn(x, ns)
        if self.derivative is not None:
            return self.derivative
        return _elementwise_grad(self.fn)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __hash__(self) -> int:
        return hash((self.name, self.fn, self.derivative))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Activation) and self.name == other.name and self.fn is other.fn
                and self.derivative is other.derivative)


def _call_float64(fn: ArrayFn, x: Any) -> np.ndarray:
    """Evaluate a user callable in float64, also when it is written with ``jax.numpy`` (whose default is float32)."""
    if sys.modules.get("jax") is not None:  # only when JAX is in use: never import it for a numpy callable
        with float64_jax():
            return np.asarray(fn(np.asarray(x, dtype=float)), dtype=float)
    return np.asarray(fn(np.asarray(x, dtype=float)), dtype=float)


def _elementwise_grad(fn: ArrayFn) -> ArrayFn:
    import jax

    g = jax.grad(lambda t: fn(t))

    def dfn(x):
        flat = x.reshape(-1)
        return jax.vmap(g)(flat).reshape(x.shape)

    return dfn


_NAMED: dict[str, tuple[Callable, Callable]] = {
    "relu": (_relu, _drelu),
    "tanh": (_tanh, _dtanh),
    "erf": (_erf, _derf),
    "linear": (_linear, _dlinear),
    "sign": (_sign, _dsign),
    "quadratic": (_quadratic, _dquadratic),
    "softplus": (_softplus, _dsoftplus),
    "gelu": (_gelu, _dgelu),
}

KNOWN_ACTIVATIONS: tuple[str, ...] = tuple(_NAMED)


def _make_named(name: str) -> Activation:
    f, df = _NAMED[name]
    return Activation(name=name, fn=lambda x: f(x, _NUMPY), derivative=lambda x: df(x, _NUMPY), _xp_fn=f,
                      _xp_dfn=df)


_NAMED_INSTANCES: dict[str, Activation] = {name: _make_named(name) for name in _NAMED}

ActivationLike = Union[str, Activation, Callable[[Any], Any]]


def get_activation(activation: ActivationLike, *, name: str = "activation") -> Activation:
    """Return the :class:`Activation` for a name, an ``Activation`` or a callable.

    Raises:
        ValueError: unknown name (the message lists the known ones) or a non-callable object.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key not in _NAMED_INSTANCES:
            raise ValueError(f"{name} must be one of {', '.join(KNOWN_ACTIVATIONS)} or a callable, "
                             f"got {activation!r}")
        return _NAMED_INSTANCES[key]
    if callable(activation):
        label = getattr(activation, "__name__", None) or "custom"
        return Activation(name=label, fn=activation)
    raise ValueError(f"{name} must be one of {', '.join(KNOWN_ACTIVATIONS)} or a callable, got {activation!r}")


@dataclass(frozen=True)
class ActivationConstants:
    """Gaussian moments of an activation at pre-activation variance ``variance`` (see the module docstring).

    Values are floats, or mpmath ``mpf`` numbers when computed with ``precision=``.
    """

    activation: str
    variance: Any
    mu0: Any
    mu1: Any
    mu_star2: Any
    eta: Any
    zeta: Any
    mean_derivative: Any
    mean_sq_derivative: Any
    method: str

    @property
    def mu_star(self) -> Any:
        mp = sys.modules.get("mpmath")  # an mpf value means mpmath is loaded; never import it for floats
        if mp is not None and isinstance(self.mu_star2, mp.mpf):
            return mp.sqrt(self.mu_star2)
        return math.sqrt(max(float(self.mu_star2), 0.0))

    @property
    def zeta_mm(self) -> Any:
        """Mei & Montanari's ``zeta = mu1 / mu_star`` (``inf`` for a linear activation)."""
        ms = self.mu_star
        return self.mu1 / ms if ms != 0 else math.inf

    def as_dict(self) -> dict[str, float]:
        return {"mu0": float(self.mu0), "mu1": float(self.mu1), "mu_star": float(self.mu_star),
                "mu_star2": float(self.mu_star2), "eta": float(self.eta), "zeta": float(self.zeta),
                "mean_derivative": float(self.mean_derivative),
                "mean_sq_derivative": float(self.mean_sq_derivative)}


def _from_moments(name: str, s: Any, e1: Any, mu1: Any, e2: Any, ed: Any, ed2: Any, method: str,
                  clip: bool) -> ActivationConstants:
    eta = e2 - e1 * e1
    mu_star2 = eta - s * mu1 * mu1
    if clip and -1e-12 < float(mu_star2) < 0:  # rounding for (near-)linear activations
        mu_star2 = 0.0 * mu_star2
    return ActivationConstants(activation=name, variance=s, mu0=e1, mu1=mu1, mu_star2=mu_star2, eta=eta,
                               zeta=mu1 * mu1, mean_derivative=ed, mean_sq_derivative=ed2, method=method)


@functools.lru_cache(maxsize=4096)
def _constants_cached(act: Activation, s: float, method: str, precision: int | None,
                      nodes: int) -> ActivationConstants:
    if method == "exact":
        moments = exact_moments(act.name) if act.is_named else None
        if moments is None:
            raise ValueError(f"method='exact' needs a closed form; {act.name!r} has none "
                             f"(closed forms: relu, erf, linear, sign, quadratic); use method='mpmath'")
        import mpmath
        import sympy as sp

        s_exact = sp.Rational(repr(s))  # the shortest decimal of the float, exactly
        dps = (precision or 17) + 5

        def ev(key: str) -> Any:
            expr = moments[key].subs(_s_symbol(), s_exact)
            if expr is sp.oo:
                return mpmath.inf if precision else math.inf
            return mpmath.mpf(str(sp.N(expr, dps))) if precision else float(sp.N(expr, dps))

        with mpmath.workdps(dps):
            s_out = mpmath.mpf(s_exact.p) / s_exact.q if precision else s
            e1, mu1, e2, ed2 = (ev(k) for k in ("E_sigma", "mu1", "E_sigma2", "E_dsigma2"))
            return _from_moments(act.name, s_out, e1, mu1, e2, mu1, ed2, "exact", clip=not precision)
    if method == "float":
        fm = _float_moments(act.name, s) if act.is_named else None
        if fm is None:
            raise ValueError(f"method='float' needs a closed form; {act.name!r} has none "
                             f"(closed forms: relu, erf, linear, sign, quadratic); use method='mpmath'")
        if precision is not None:
            raise ValueError("method='float' is float64; for precision= use method='exact'")
        return _from_moments(act.name, s, fm["E_sigma"], fm["mu1"], fm["E_sigma2"], fm["mu1"], fm["E_dsigma2"],
                             "float", clip=True)
    if method == "mpmath":
        return _mpmath_constants(act, s, precision or 20, float_out=precision is None)
    if method == "gauss-hermite":
        x, w = _gh_nodes(nodes)
        u = math.sqrt(s) * x
        fu = act(u)
        du = act.d(u)
        e1 = float(w @ fu)
        e2 = float(w @ (fu * fu))
        mu1 = float(w @ (u * fu)) / s
        if act.is_named and act.name == "sign":  # sigma' = 2 delta: E sigma' = mu1 (Stein), E sigma'^2 = inf
            ed, ed2 = mu1, math.inf
        else:
            ed, ed2 = float(w @ du), float(w @ (du * du))
        return _from_moments(act.name, s, e1, mu1, e2, ed, ed2, "gauss-hermite", clip=True)
    raise ValueError(f"method must be one of auto, exact, float, mpmath, gauss-hermite; got {method!r}")


@functools.lru_cache(maxsize=16)
def _gh_nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to the N(0,1) measure (scipy's Golub-Welsch
    construction, stable for thousands of nodes where numpy's ``hermegauss`` overflows)."""
    import scipy.special

    x, w = scipy.special.roots_hermitenorm(n)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(w))):
        raise ArithmeticError(f"Gauss-Hermite rule with {n} nodes is not finite")
    return x, w / w.sum()


def _mp_callables(act: Activation) -> tuple[Callable, Callable]:
    import mpmath

    if act.is_named:
        return _mp_funcs()[act.name]

    def f(x):  # custom callables are evaluated in float64 (named activations carry mpmath versions)
        return mpmath.mpf(float(act(np.array(float(x)))))

    def df(x):
        return mpmath.mpf(float(act.d(np.array(float(x)))))

    return f, df


def _mpmath_constants(act: Activation, s: float, dps: int, float_out: bool) -> ActivationConstants:
    import mpmath

    f, df = _mp_callables(act)
    kinks = _KINKS.get(act.name, ()) if act.is_named else ()
    with mpmath.workdps(dps + 10):
        sd = mpmath.sqrt(mpmath.mpf(s))
        pts = [-mpmath.inf, *[mpmath.mpf(k) for k in kinks], mpmath.inf]

        def gauss(g):
            return mpmath.quad(lambda z: g(sd * z) * mpmath.npdf(z), pts)

        e1 = gauss(f)
        e2 = gauss(lambda u: f(u) ** 2)
        mu1 = mpmath.quad(lambda z: z * f(sd * z) * mpmath.npdf(z), pts) / sd
        if act.name == "sign" and act.is_named:
            ed, ed2 = mu1, mpmath.inf
        else:
            ed = gauss(df)
            ed2 = gauss(lambda u: df(u) ** 2)
        vals = (e1, mu1, e2, ed, ed2)
        if float_out:
            vals = tuple(float(v) for v in vals)
            s_out: Any = float(s)
        else:
            vals = tuple(+v for v in vals)
            s_out = mpmath.mpf(s)
        return _from_moments(act.name, s_out, *vals, method="mpmath", clip=float_out)


def constants(activation: ActivationLike, variance: float = 1.0, *, method: Method = "auto",
              precision: int | None = None, nodes: int = 200) -> ActivationConstants:
    """Gaussian moments ``mu0, mu1, mu_star2, eta, zeta, E sigma', E sigma'^2`` of an activation.

    Args:
        activation: a name from ``KNOWN_ACTIVATIONS``, an :class:`Activation` or a callable.
        variance: pre-activation variance ``s > 0`` (``u ~ N(0, s)``); 1 for isotropic inputs, ``tr Sigma / n0``
            under covariate shift (Tripuraneni, Adlam & Pennington, arXiv:2111.08234).
        method: ``"auto"`` (closed form if available, else 20-digit mpmath), ``"exact"``, ``"float"`` (the closed
            form in float64, without sympy), ``"mpmath"`` or ``"gauss-hermite"``.
        precision: significant digits for ``exact``/``mpmath``; when given, values are mpmath numbers.
        nodes: number of Gauss-Hermite nodes.

    Raises:
        ValueError: unknown activation, non-positive variance, or ``method="exact"``/``"float"`` without a closed
            form.
    """
    act = get_activation(activation)
    s = float(check_positive(variance, "variance"))
    if precision is not None:
        precision = check_positive_int(precision, "precision")
    nodes = check_positive_int(nodes, "nodes", minimum=2)
    if method == "auto":
        method = "exact" if act.is_named and exact_moments(act.name) is not None else "mpmath"
    return _constants_cached(act, s, method, precision, nodes)


def gaussian_mean(activation: ActivationLike, variance: float = 1.0) -> float:
    r"""``mu0 = E sigma(u)`` for ``u ~ N(0, variance)`` in float64, without sympy: the centring constant of the
    simulations (Adlam & Pennington, arXiv:2011.03321, centre the activation by it).

    Named activations: closed forms (``sqrt(s / (2 pi))`` for relu, ``s`` for quadratic, ``s / sqrt(2 pi (1 + s))``
    for gelu by Stein's lemma, exactly 0 for the odd ``tanh``, ``erf``, ``linear``, ``sign``), equal to
    ``constants(..., method="exact")`` (or 30-digit quadrature) to a few units in the last place; ``softplus``, which
    has none, by 20-digit mpmath quadrature (``method="mpmath"``). Custom callables: 200-node Gauss-Hermite (about
    1e-3 accurate across a kink).

    Raises:
        ValueError: unknown activation or non-positive variance.
    """
    act = get_activation(activation)
    s = float(check_positive(variance, "variance"))
    if act.is_named and act.name in _FLOAT_MEANS:
        return float(_FLOAT_MEANS[act.name](s))
    method = "mpmath" if act.is_named else "gauss-hermite"
    return float(_constants_cached(act, s, method, None, 200).mu0)


def hermite_coefficients(activation: ActivationLike, degree: int, variance: float = 1.0, *,
                         method: Literal["mpmath", "gauss-hermite"] = "mpmath",
                         precision: int = 20, nodes: int = 200) -> np.ndarray:
    r"""Normalised Hermite coefficients ``c_k = E[sigma(u) He_k(u/sqrt(s))] / sqrt(k!)`` for ``k = 0..degree``.

    With this normalisation ``sum_k c_k^2 = E sigma(u)^2``, ``c_0 = mu0`` and ``c_1 = sqrt(s) mu1``.
    """
    act = get_activation(activation)
    degree = check_positive_int(degree, "degree", minimum=0)
    s = float(check_positive(variance, "variance"))
    if method == "gauss-hermite":
        x, w = _gh_nodes(check_positive_int(nodes, "nodes", minimum=2))
        fx = act(math.sqrt(s) * x)
        out = np.empty(degree + 1)
        for k in range(degree + 1):
            he = np.polynomial.hermite_e.hermeval(x, [0] * k + [1])
            out[k] = float(w @ (fx * he)) / math.sqrt(math.factorial(k))
        return out
    if method != "mpmath":
        raise ValueError(f"method must be 'mpmath' or 'gauss-hermite', got {method!r}")
    import mpmath

    f, _ = _mp_callables(act)
    kinks = _KINKS.get(act.name, ()) if act.is_named else ()
    with mpmath.workdps(check_positive_int(precision, "precision") + 10):
        sd = mpmath.sqrt(mpmath.mpf(s))
        pts = [-mpmath.inf, *[mpmath.mpf(k) for k in kinks], mpmath.inf]
        out = np.empty(degree + 1)
        for k in range(degree + 1):
            val = mpmath.quad(lambda z: f(sd * z) * mpmath.hermite(k, z / mpmath.sqrt(2)) * 2 ** (-mpmath.mpf(k) / 2)
                              * mpmath.npdf(z), pts)
            out[k] = float(val / mpmath.sqrt(mpmath.factorial(k)))
    return out
