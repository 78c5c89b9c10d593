"""The import table of DESIGN.md, enforced by parsing every module's imports (ast): which rooms a room may
import, Ray's two homes, and each room's third-party allow-list."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("models", "latency", "search", "netadapt", "experiments")
ALLOWED = {
    "models": set(),
    "latency": {"models"},
    "search": {"models"},
    "netadapt": {"models"},
    "experiments": {"models", "latency", "search", "netadapt"},
}
RAY_HOMES = ("search/tune_searcher.py", "experiments/ray_jobs/")
# third-party packages each room may import (the standard library is always allowed)
THIRD_PARTY = {
    "models": {"torch", "numpy", "yaml"},
    "latency": {"torch", "numpy", "ai_edge_litert", "litert_torch", "torchao", "flatbuffers", "onnx", "onnxruntime",
                "tqdm"},
    "search": {"torch", "numpy", "yaml", "pandas", "ray", "optuna"},
    "netadapt": {"numpy", "pandas"},
    "experiments": {"torch", "numpy", "yaml", "pandas", "pydantic", "pydantic_core", "ray", "ai_edge_litert",
                    "litert_torch", "torchao", "onnx", "onnxruntime", "matplotlib", "PIL", "tqdm", "tensorboardX"},
}


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
            if "ray" in roots and not rel.startswith(RAY_HOMES):
                violations.append(f"{rel} imports ray outside its homes {RAY_HOMES}")
            foreign = roots - set(ROOMS) - set(sys.stdlib_module_names) - THIRD_PARTY[room]
            if foreign:
                violations.append(f"{rel} imports {sorted(foreign)}, not on {room}/'s third-party allow-list")
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
