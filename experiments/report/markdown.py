"""Small Markdown writers for the report: tables, numbers, the note for a phase that did not run."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def num(value: Any, spec: str = ".4f") -> str:
    """`value` formatted with `spec`; '-' for None / NaN / text that is not a number."""
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "-"
    return format(int(number), spec) if spec.endswith("d") or spec == "," else format(number, spec)


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def not_run(phase: str, missing: Sequence[str]) -> str:
    return f"**not run**: {phase} has no output in this run directory (missing: {', '.join(f'`{m}`' for m in missing)})."


def source(*files: str) -> str:
    return "_Source: " + ", ".join(f"`{f}`" for f in files) + "._"


def image(rel_path: str, alt: str) -> str:
    return f"![{alt}]({rel_path})"


def size(n_bytes: int) -> str:
    if n_bytes < 1024:
        return f"{n_bytes:,} B"
    value = n_bytes / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
