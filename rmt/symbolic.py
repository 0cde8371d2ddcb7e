r"""Symbolic elimination of polynomial self-consistent systems.

Given polynomial equations ``F_1 = ... = F_k = 0`` in unknowns and parameters (sympy expressions), eliminate all
unknowns but one, by successive resultants or by a lexicographic Groebner basis over the field of rational functions
of the parameters, and return one polynomial in the wanted unknown with coefficients lambdified for numpy arrays.

Elimination produces spurious factors (powers of the unknown, parameter-only factors, components that belong to other
solution branches). They are discarded by a stated rule: a factor is kept only if it involves the unknown and is not a
pure power of it; among several such factors, the one vanishing at a supplied ``check_point`` (a known numerical
solution) is kept, or a caller-supplied ``select`` picks one; otherwise their product is returned and
:attr:`EliminationResult.note` says so.

Example (Marchenko-Pastur: ``m`` and the companion transform ``mbar`` of a sample covariance with ratio ``r``):
    >>> import sympy as sp
    >>> m, mb, z, r = sp.symbols("m mbar z r")
    >>> res = eliminate([z * mb - r * z * m + 1 - r, mb * (z * (1 + mb) - r) + 1 + mb], unknown=m,
    ...                 eliminate=[mb], parameters=[z, r])
    >>> sp.factor(res.expr)
    m**2*r*z + m*r + m*z - m + 1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import sympy as sp

from rmt.solvers import polyroots, polyval

__all__ = ["EliminationResult", "eliminate", "to_expr"]


def to_expr(eq: Any) -> sp.Expr:
    """``lhs - rhs`` for an ``sp.Eq``, the expression itself otherwise (numerator if rational)."""
    expr = eq.lhs - eq.rhs if isinstance(eq, sp.Equality) else sp.sympify(eq)
    num, _ = sp.fraction(sp.together(expr))
    return sp.expand(num)


@dataclass(frozen=True)
class EliminationResult:
    """One polynomial in ``unknown`` obtained by elimination.

    Attributes:
        expr: the polynomial (sympy expression, expanded, primitive over the integers).
        unknown: the remaining unknown.
        parameters: parameter symbols, in the order the numeric coefficient function takes them.
        eliminated: the symbols that were eliminated.
        discarded: spurious factors that were dropped (with the rule of the module docstring).
        method: ``"resultant"`` or ``"groebner"``.
        note: a remark when the factor choice was not unique.
    """

    expr: sp.Expr
    unknown: sp.Symbol
    parameters: tuple[sp.Symbol, ...]
    eliminated: tuple[sp.Symbol, ...]
    discarded: tuple[sp.Expr, ...] = ()
    method: str = "resultant"
    note: str = ""
    _lambdified: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def poly(self) -> sp.Poly:
        return sp.Poly(self.expr, self.unknown)

    @property
    def degree(self) -> int:
        return self.poly.degree()

    def coefficient_exprs(self) -> list[sp.Expr]:
        """Coefficients in the unknown, highest degree first (sympy expressions of the parameters)."""
        return [sp.factor(c) for c in self.poly.all_coeffs()]

    def _fn(self) -> Callable[..., list[Any]]:
        if "fn" not in self._lambdified:
            self._lambdified["fn"] = sp.lambdify(self.parameters, self.poly.all_coeffs(), modules="numpy")
        return self._lambdified["fn"]

    def coefficients(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """Numeric coefficients, shape ``broadcast(params) + (degree+1,)``, highest degree first.

        Parameters are given positionally in the order of :attr:`parameters` or by name; arrays broadcast, complex
        values are allowed.
        """
        vals = self._bind(args, kwargs)
        raw = self._fn()(*vals)
        arrays = np.broadcast_arrays(*[np.asarray(c) for c in raw], *[np.asarray(v) for v in vals])
        coeffs = arrays[: len(raw)]
        dtype = np.result_type(*coeffs, float)
        return np.stack([c.astype(dtype) for c in coeffs], axis=-1)

    def roots(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """All roots at the given parameter values (see :func:`rmt.solvers.polyroots`)."""
        return polyroots(self.coefficients(*args, **kwargs))

    def residual(self, value: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        """``|P(value)|`` divided by the largest coefficient modulus (a scale-free backward residual)."""
        c = self.coefficients(*args, **kwargs)
        return np.abs(polyval(c, value)) / np.abs(c).max(axis=-1)

    def _bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> list[Any]:
        names = [str(p) for p in self.parameters]
        if len(args) > len(names):
            raise ValueError(f"expected at most {len(names)} parameters ({', '.join(names)}), got {len(args)}")
        vals: dict[str, Any] = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise ValueError(f"unknown parameter {k!r}; parameters are {', '.join(names)}")
            if k in vals:
                raise ValueError(f"parameter {k!r} given twice")
            vals[k] = v
        missing = [n for n in names if n not in vals]
        if missing:
            raise ValueError(f"missing parameter(s): {', '.join(missing)}")
        return [vals[n] for n in names]

    def equals_up_to_constant(self, other: Any) -> bool:
        """True when ``other`` is this polynomial times a non-zero number (a symbolic comparison)."""
        ratio = sp.cancel(sp.sympify(other) / self.expr)
        return bool(ratio.is_number and ratio != 0)


def _successive_resultants(polys: list[sp.Expr], eliminate: Sequence[sp.Symbol]) -> sp.Expr:
    current = [p for p in polys if p != 0]
    for v in eliminate:
        with_v = [p for p in current if p.has(v)]
        without = [p for p in current if not p.has(v)]
        if not with_v:
            continue
        if len(with_v) == 1:
            raise ValueError(f"cannot eliminate {v}: it appears in only one equation")
        # the equation of lowest degree in v as pivot
        pivot = min(with_v, key=lambda p: sp.degree(p, v))
        rest = [p for p in with_v if p is not pivot]
        new = [sp.expand(sp.resultant(pivot, p, v)) for p in rest]
        current = without + [p for p in new if p != 0]
    if not current:
        raise ValueError("elimination produced the zero polynomial: the equations are dependent")
    # several remaining polynomials in the unknown: their gcd carries the common solutions
    result = current[0]
    for p in current[1:]:
        result = sp.gcd(result, p)
    return result


def _groebner_eliminant(polys: list[sp.Expr], eliminate: Sequence[sp.Symbol], unknown: sp.Symbol,
                        parameters: Sequence[sp.Symbol]) -> sp.Expr:
    domain = sp.QQ.frac_field(*parameters) if parameters else sp.QQ
    basis = sp.groebner(polys, *eliminate, unknown, order="lex", domain=domain)
    candidates = [g for g in basis.exprs if not any(g.has(v) for v in eliminate) and g.has(unknown)]
    if not candidates:
        raise ValueError("the Groebner basis has no element free of the eliminated unknowns")
    g = min(candidates, key=lambda e: sp.degree(e, unknown))
    num, _ = sp.fraction(sp.together(g))
    return sp.expand(num)


def eliminate(equations: Iterable[Any], unknown: sp.Symbol, eliminate: Sequence[sp.Symbol], *,
              parameters: Sequence[sp.Symbol] | None = None, method: str = "resultant",
              check_point: Mapping[sp.Symbol, Any] | None = None,
              select: Callable[[list[sp.Expr]], sp.Expr] | None = None) -> EliminationResult:
    """Eliminate ``eliminate`` from polynomial ``equations``, leaving one polynomial in ``unknown``.

    Args:
        equations: sympy expressions (``== 0``) or ``sp.Eq`` objects; rational expressions are cleared of
            denominators.
        unknown: the symbol to keep.
        eliminate: the symbols to eliminate.
        parameters: the remaining symbols, in the order used by the numeric coefficient function (default: sorted by
            name).
        method: ``"resultant"`` (successive resultants, then gcd) or ``"groebner"`` (lex basis over the rational
            functions of the parameters).
        check_point: values of all symbols at a known solution; used to choose among several candidate factors.
        select: callable choosing one factor from the list of candidates.

    Returns:
        :class:`EliminationResult`.

    Raises:
        ValueError: unknown method, dependent equations, or an unknown that cannot be eliminated.
    """
    polys = [to_expr(e) for e in equations]
    eliminate = tuple(eliminate)
    all_symbols = set().union(*(p.free_symbols for p in polys))
    if parameters is None:
        parameters = tuple(sorted(all_symbols - {unknown, *eliminate}, key=str))
    else:
        parameters = tuple(parameters)
        extra = all_symbols - {unknown, *eliminate, *parameters}
        if extra:
            raise ValueError(f"symbols {sorted(map(str, extra))} are neither unknowns nor parameters")
    if method == "resultant":
        raw = _successive_resultants(polys, eliminate)
    elif method == "groebner":
        raw = _groebner_eliminant(polys, eliminate, unknown, parameters)
    else:
        raise ValueError(f"method must be 'resultant' or 'groebner', got {method!r}")

    _, factors = sp.factor_list(raw)
    candidates: list[sp.Expr] = []
    discarded: list[sp.Expr] = []
    for f, mult in factors:
        if not f.has(unknown):
            discarded.append(f**mult)
            continue
        poly_u = sp.Poly(f, unknown)
        if len(poly_u.terms()) == 1:  # c * unknown**k: the spurious root unknown = 0
            discarded.append(f**mult)
            continue
        candidates.append(f)
    if not candidates:
        raise ValueError("elimination left no factor involving the unknown")
    note = ""
    if len(candidates) == 1:
        chosen = candidates[0]
    elif select is not None:
        chosen = select(candidates)
    elif check_point is not None:
        def size(f: sp.Expr) -> float:
            val = complex(f.subs(check_point).evalf(30))
            scale = max(abs(complex(c.subs(check_point).evalf(30))) for c in sp.Poly(f, unknown).all_coeffs())
            return abs(val) / (scale or 1.0)

        chosen = min(candidates, key=size)
    else:
        chosen = sp.Mul(*candidates)
        note = f"{len(candidates)} candidate factors kept as a product (no check_point or select given)"
    discarded.extend(c for c in candidates if c is not chosen and note == "")
    expr = sp.expand(chosen)
    # primitive, with a positive leading coefficient in the unknown where the sign is decidable
    _, prim = sp.Poly(expr, unknown, *parameters).primitive()
    expr = prim.as_expr()
    lead = sp.Poly(expr, unknown).LC()
    if lead.could_extract_minus_sign():
        expr = -expr
    return EliminationResult(expr=sp.expand(expr), unknown=unknown, parameters=parameters, eliminated=eliminate,
                             discarded=tuple(discarded), method=method, note=note)

