"""The run directory's layout lives in one module: every run-relative file name is written out as a
string in `experiments/rundir/layout.py` only, and every module of experiments/ sits in its room."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from experiments.rundir import layout

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("models", "latency", "search", "netadapt", "experiments", "benchmarks")
NAMES = sorted({layout.CONFIG, layout.MANIFEST, layout.PHASES, layout.LATENCY_TABLE, layout.REPORT, layout.ARCH,
                layout.WEIGHTS, layout.METRICS, layout.TRIALS, layout.CONTROLLER, layout.TOPK, layout.REWARD_TARGET,
                layout.REFERENCES, layout.NETADAPT_HISTORY, layout.NETADAPT_TRAJECTORY, layout.NETADAPT_RESULT,
                layout.EXPORT, layout.ONE_SHOT_UNIFORM, layout.ONE_SHOT_TOPK, layout.PROXY_CHECK, layout.PROXY_CHECK_STATE})
# the NetAdapt loop names its own state file inside its work directory (the netadapt room cannot import experiments)
OWNERS = {**dict.fromkeys(NAMES, "experiments/rundir/layout.py"), "state.json": "netadapt/state.py"}
TOP_LEVEL_LIMIT = 6


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def path_strings(path: Path) -> list[str]:
    """String constants of a module that look like paths (no spaces), docstrings left out."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree)
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in skip and node.value and not re.search(r"\s", node.value)]


def test_every_run_file_name_is_spelled_in_the_layout_only() -> None:
    where: dict[str, set[str]] = {name: set() for name in OWNERS}
    for room in SOURCES:
        for path in sorted((ROOT / room).rglob("*.py")):
            for text in path_strings(path):
                for name in OWNERS:
                    if re.search(rf"(^|/){re.escape(name)}$", text):
                        where[name].add(path.relative_to(ROOT).as_posix())
    elsewhere = {name: sorted(files - {OWNERS[name]}) for name, files in where.items() if files - {OWNERS[name]}}
    assert not elsewhere, f"run-directory file names written outside their one home: {elsewhere}"
    assert all(OWNERS[name] in files for name, files in where.items())


def test_the_checker_sees_paths_in_fstrings(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text('"""Mentions trials.csv in a docstring."""\nx = f"{run}/trials.csv"\ny = "see the trials"\n')
    assert path_strings(sample) == ["/trials.csv"]


def test_experiments_top_level_is_a_few_modules_and_rooms() -> None:
    modules = sorted(p.name for p in (ROOT / "experiments").glob("*.py"))
    assert len(modules) <= TOP_LEVEL_LIMIT, modules
    for folder in ("config", "training", "rundir", "phases", "ray_jobs", "commands", "data", "report"):
        init = ROOT / "experiments" / folder / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), f"{folder}/ needs a docstring"
