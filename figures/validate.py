"""``rmt validate``: theory against simulation on a stratified grid, with a report.

Each model contributes :class:`ValidationCase` objects (see :func:`register_model`): a theory callable and a
simulation callable returning the same quantities, the simulation with standard errors. A quantity passes when

    |simulation - theory| <= 4 * stderr + allowance * |theory| + floor

where ``allowance`` is the case's stated relative finite-size allowance (O(1/n0) effects at the simulated size) and
``floor`` a small absolute tolerance for quantities that vanish in the limit. The z-score is
``(simulation - theory) / stderr``.

The report (``--out DIR``, default ``out/validate``): ``report.md`` (summary, worst cases, full table), ``report.csv``
(every quantity), ``zscores.png`` (z-scores by quantity with the +-4 band), and ``summary.json``. Exit code 1 when any
quantity fails.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

__all__ = ["ValidationCase", "ValidationRow", "ValidationReport", "register_model", "models", "run_validation",
           "write_report"]

Values = Mapping[str, float]


@dataclass(frozen=True)
class ValidationCase:
    """One parameter point of one model.

    Attributes:
        model: model name (``rf``, ``linear``, ``eigen``, ``ntk``, ``shift``).
        label: short human-readable description of the point.
        theory: returns ``{quantity: value}``.
        simulate: returns ``({quantity: mean}, {quantity: stderr})`` for (at least) the keys of ``theory``.
        allowance: relative finite-size allowance (e.g. 0.05 for 5 %).
        floor: absolute tolerance added to every comparison (for quantities whose limit is zero).
        keys: the quantities to compare (default: every key of the theory result).
        params: the parameters, recorded in the report.
    """

    model: str
    label: str
    theory: Callable[[], Values]
    simulate: Callable[[], tuple[Values, Values]]
    allowance: float = 0.05
    floor: float = 1e-3
    keys: tuple[str, ...] | None = None
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationRow:
    model: str
    case: str
    quantity: str
    theory: float
    simulation: float
    stderr: float
    z: float
    tolerance: float
    ok: bool


@dataclass(frozen=True)
class ValidationReport:
    rows: tuple[ValidationRow, ...]
    seconds: float
    quick: bool

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def worst(self) -> list[ValidationRow]:
        """Rows sorted by how close they come to (or how far they exceed) their tolerance."""
        def ratio(r: ValidationRow) -> float:
            return abs(r.simulation - r.theory) / r.tolerance if r.tolerance > 0 else math.inf

        return sorted(self.rows, key=ratio, reverse=True)

    @property
    def max_abs_z(self) -> float:
        zs = [abs(r.z) for r in self.rows if math.isfinite(r.z)]
        return max(zs) if zs else float("nan")

    def summary(self) -> dict[str, object]:
        failed = [r for r in self.rows if not r.ok]
        cases = {(r.model, r.case) for r in self.rows}
        return {"ok": self.ok, "quick": self.quick, "cases": len(cases), "quantities": len(self.rows),
                "failed": len(failed), "max_abs_z": self.max_abs_z, "seconds": round(self.seconds, 1),
                "models": sorted({r.model for r in self.rows})}


_REGISTRY: dict[str, Callable[[bool], list[ValidationCase]]] = {}


def register_model(name: str, cases: Callable[[bool], list[ValidationCase]]) -> None:
    """Register a model's case generator ``cases(quick) -> [ValidationCase, ...]``."""
    _REGISTRY[name] = cases


def models() -> list[str]:
    _load_models()
    return sorted(_REGISTRY)


def _load_models() -> None:
    """Register the case generators named in the model table (:func:`rmt.figures.models.validation_groups`)."""
    from rmt.figures.models import entry_point, validation_groups

    for name, path in validation_groups().items():
        if name not in _REGISTRY:
            register_model(name, entry_point(path))


# float64 resolves the compared quantities (errors of order one) to about this: a smaller standard error is rounding
# (an exactly-zero limit such as a ridgeless training error simulated as 1e-29 +- 1e-31), not sampling, and the
# z-score divides by this instead
NUMERICAL_RESOLUTION = 1e-12


def compare(case: ValidationCase, theory: Values, sim: Values, err: Values) -> list[ValidationRow]:
    """``ok`` when ``|sim - theory| <= 4 stderr + allowance |theory| + floor`` (both finite);
    ``z = (sim - theory) / max(stderr, NUMERICAL_RESOLUTION)``."""
    keys = case.keys or tuple(theory)
    rows = []
    for k in keys:
        t, s, e = float(theory[k]), float(sim[k]), float(err[k])
        tol = 4.0 * e + case.allowance * abs(t) + case.floor
        z = (s - t) / max(e, NUMERICAL_RESOLUTION) if s != t else 0.0
        ok = math.isfinite(t) and math.isfinite(s) and abs(s - t) <= tol
        rows.append(ValidationRow(case.model, case.label, k, t, s, e, z, tol, ok))
    return rows


def run_validation(model_names: Sequence[str] | None = None, *, quick: bool = False,
                   progress: Callable[[str], None] | None = None) -> ValidationReport:
    """Run every registered case of the chosen models and compare."""
    _load_models()
    names = list(model_names) if model_names else sorted(_REGISTRY)
    unknown = [n for n in names if n not in _REGISTRY]
    if unknown:
        raise ValueError(f"--model must be one of {', '.join(sorted(_REGISTRY))}; got {', '.join(unknown)}")
    start = time.perf_counter()
    rows: list[ValidationRow] = []
    for name in names:
        for case in _REGISTRY[name](quick):
            if progress:
                progress(f"{case.model}: {case.label}")
            theory = case.theory()
            sim, err = case.simulate()
            rows.extend(compare(case, theory, sim, err))
    if not rows:
        raise ValueError("no validation cases to run (no model registered a case for this grid)")
    return ValidationReport(rows=tuple(rows), seconds=time.perf_counter() - start, quick=quick)


def _fmt(x: float) -> str:
    return f"{x:.5g}" if math.isfinite(x) else str(x)


def write_report(report: ValidationReport, out: Path) -> dict[str, Path]:
    """Write ``report.md``, ``report.csv``, ``summary.json`` and ``zscores.png`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "report.csv", "md": out / "report.md", "json": out / "summary.json",
             "png": out / "zscores.png"}
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(ValidationRow.__dataclass_fields__))
        writer.writeheader()
        for r in report.rows:
            writer.writerow(asdict(r))
    summary = report.summary()
    paths["json"].write_text(json.dumps(summary, indent=2) + "\n")
    header = "| model | case | quantity | theory | simulation | stderr | z | tolerance | ok |\n|---|---|---|---|---|---|---|---|---|\n"

    def line(r: ValidationRow) -> str:
        return (f"| {r.model} | {r.case} | {r.quantity} | {_fmt(r.theory)} | {_fmt(r.simulation)} | {_fmt(r.stderr)} "
                f"| {_fmt(r.z)} | {_fmt(r.tolerance)} | {'yes' if r.ok else '**NO**'} |\n")

    with paths["md"].open("w") as fh:
        fh.write("# rmt validate: theory against simulation\n\n")
        fh.write(f"{summary['cases']} parameter points, {summary['quantities']} quantities, "
                 f"{summary['failed']} outside tolerance; largest |z| = {_fmt(float(summary['max_abs_z']))}; "
                 f"{summary['seconds']} s{' (quick grid)' if report.quick else ''}.\n\n")
        fh.write("A quantity passes when |simulation - theory| <= 4 stderr + allowance |theory| + floor "
                 "(allowance: the stated finite-size allowance of its case).\n\n## Worst cases\n\n" + header)
        for r in report.worst[:10]:
            fh.write(line(r))
        fh.write("\n## All quantities\n\n" + header)
        for r in report.rows:
            fh.write(line(r))
    _plot(report, paths["png"])
    return paths


def _plot(report: ValidationReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in report.rows if math.isfinite(r.z)]
    labels = sorted({f"{r.model}:{r.quantity}" for r in rows})
    pos = {lab: i for i, lab in enumerate(labels)}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(labels) + 2), 4.2))
    for r in rows:
        x = pos[f"{r.model}:{r.quantity}"]
        ax.plot(x, max(min(r.z, 10), -10), "o", ms=4, alpha=0.7, color="tab:blue" if r.ok else "tab:red")
    ax.axhspan(-4, 4, color="0.9", zorder=0, label="|z| <= 4")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("z = (simulation - theory) / stderr  (clipped to +-10)")
    ok = sum(r.ok for r in report.rows)
    ax.set_title(f"rmt validate: {ok}/{len(report.rows)} quantities within tolerance "
                 f"(red: outside 4 stderr + finite-size allowance)", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)

