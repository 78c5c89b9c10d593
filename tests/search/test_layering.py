"""search/ imports only models, the stdlib, numpy, torch and yaml; ray only in its adapter module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SEARCH = Path(__file__).resolve().parents[2] / "search"
ALLOWED = {"models", "search", "numpy", "torch", "yaml"}
RAY_MODULE = "tune_searcher.py"


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_search_imports_stay_in_their_lane() -> None:
    files = sorted(SEARCH.glob("*.py"))
    assert files
    for path in files:
        allowed = ALLOWED | ({"ray"} if path.name == RAY_MODULE else set())
        foreign = imported_roots(path) - allowed - set(sys.stdlib_module_names) - {"__future__"}
        assert not foreign, f"{path.name} imports {sorted(foreign)}"
