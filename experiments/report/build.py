"""`build_report(run_dir)`: every section in order into `report.md` (written atomically) with its
plots in `plots/`. A section whose phase did not run says "not run" (an optional one, such as proxy
fidelity, is left out); a section whose file exists but cannot be read says which file and why;
neither stops the others."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from experiments.report.latency_section import latency_section
from experiments.report.model_card import model_card
from experiments.report.netadapt_section import netadapt_section
from experiments.report.overview import overview
from experiments.report.pareto_section import pareto_section
from experiments.report.proxy_section import proxy_section
from experiments.report.search_section import search_section
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir, SourceError
from models import atomic

SECTIONS: tuple[tuple[str, Callable[[RunDir], str]], ...] = (
    ("Run", overview),
    ("Search: reward and controller entropy over time", search_section),
    ("Proxy fidelity", proxy_section),
    ("Accuracy vs latency", pareto_section),
    ("NetAdapt trajectory", netadapt_section),
    ("Predicted vs measured latency", latency_section),
    ("Final model card", model_card),
)


def build_report(run_dir: str | Path) -> Path:
    """Write `<run_dir>/report.md` and `<run_dir>/plots/*.png`; returns the report's path.
    Raises `RunDirError` when `run_dir` is not a run directory (no `config.yaml`)."""
    run = RunDir.open(run_dir)
    run.plots.mkdir(exist_ok=True)
    parts = []
    for title, section in SECTIONS:
        try:
            text = section(run)
            if text:
                parts.append(text)
        except SourceError as err:
            parts.append(f"## {title}\n\n**could not be built**: {err}")
    path = run.root / layout.REPORT
    atomic.write_text(path, "\n\n".join(parts) + "\n")
    return path
