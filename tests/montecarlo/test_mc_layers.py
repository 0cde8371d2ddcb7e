"""The layers of docs/architecture.md, read from the source: ``rmt.montecarlo`` is the independent check of
``rmt.theory`` and never imports it (nor the application layer ``rmt.figures``); ``rmt.theory`` never imports
``rmt.montecarlo`` or ``rmt.figures``; the core ``rmt`` imports none of the three (``rmt/__main__.py``, the command
line's entry, excepted). Relative imports and the pre-``rmt`` top-level names count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# folder -> the packages its modules must not import (as rmt.X, as a bare top-level X, or relatively)
FORBIDDEN = {
    "montecarlo": ("theory", "figures"),
    "theory": ("montecarlo", "figures"),
    "rmt": ("theory", "montecarlo", "figures"),
}


def imported_packages(path: Path) -> set[str]:
    """The first package level below ``rmt`` of every import of ``path`` (``"theory"`` for ``rmt.theory.ntk``,
    for ``theory.ntk`` and for ``from .. import theory``), plus bare top-level names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: the names themselves may be packages (from .. import theory)
                modules = [node.module or ""] + [a.name for a in node.names]
            elif node.module:
                modules = [node.module] + ([f"{node.module}.{a.name}" for a in node.names]
                                           if node.module == "rmt" else [])
        for mod in modules:
            parts = [p for p in mod.split(".") if p]
            if parts and parts[0] == "rmt":
                parts = parts[1:]
            if parts:
                found.add(parts[0])
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layers(folder):
    files = sorted((ROOT / folder).glob("*.py"))
    assert len(files) >= 8, folder
    offenders = [(p.name, pkg) for p in files if p.name != "__main__.py"
                 for pkg in sorted(imported_packages(p) & set(FORBIDDEN[folder]))]
    assert offenders == []


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from rmt.theory.ntk import quadratic_scaling\nimport figures.cli\nfrom rmt import montecarlo\n")
    assert {"theory", "figures", "montecarlo"} <= imported_packages(bad)
