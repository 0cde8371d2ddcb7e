"""montecarlo is the independent check of theory: it must never import it (layering of docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "montecarlo"


def test_montecarlo_never_imports_theory_or_figures():
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [(path.name, n) for n in names if n.split(".")[0] in ("theory", "figures")]
    assert len(list(PACKAGE.glob("*.py"))) >= 9
    assert offenders == []
