"""The import table of DESIGN.md, enforced by parsing every module's imports (ast)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("models", "latency", "search", "netadapt", "experiments")
ALLOWED = {
    "models": set(),
    "latency": {"models"},
    "search": {"models"},
    "netadapt": {"models", "latency"},
    "experiments": {"models", "latency", "search", "netadapt"},
}
# the Searcher seam, and the TPE adapter that wraps Ray Tune's OptunaSearch (search/searchers/tpe.py)
RAY_IN_SEARCH = {"search/tune_searcher.py", "search/searchers/tpe.py"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_rooms_import_only_what_the_design_allows() -> None:
    violations = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            roots = imported_roots(path)
            for other in (set(ROOMS) - {room}) & roots:
                if other not in ALLOWED[room]:
                    violations.append(f"{rel} imports {other}")
            if room == "search" and "ray" in roots and rel not in RAY_IN_SEARCH:
                violations.append(f"{rel} imports ray outside the Tune adapters {sorted(RAY_IN_SEARCH)}")
            if room in ("models", "latency", "netadapt") and "ray" in roots:
                violations.append(f"{rel} imports ray")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import experiments.cli\nfrom search.space import X\nfrom . import y\n")
    assert imported_roots(sample) == {"experiments", "search"}


def test_every_module_has_a_docstring() -> None:
    missing = []
    for room in ROOMS:
        for path in sorted((ROOT / room).rglob("*.py")):
            tree = ast.parse(path.read_text())
            if path.stat().st_size and ast.get_docstring(tree) is None:
                missing.append(path.relative_to(ROOT).as_posix())
    assert not missing, f"modules without a docstring: {missing}"
