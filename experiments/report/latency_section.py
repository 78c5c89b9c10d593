"""Report section (d): predicted (lookup table) vs measured (live) latency, from every pair the run
has: `netadapt/result.json` (`<prefix>table_ms` with `<prefix>live_ms`), the final model's
prediction against its exported file's live benchmark (`final/metrics.json` / `result.json` and
`final/export.json`), and `hwnas latency validate` output (`fidelity_*.csv`) saved in the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from experiments.report import plots
from experiments.report.markdown import image, not_run, num, source, table
from experiments.report.sources import require_columns
from experiments.rundir.layout import FINAL_EXPORT as EXPORT
from experiments.rundir.layout import FINAL_METRICS as METRICS
from experiments.rundir.layout import PLOTS_DIR, RESULT, join
from experiments.rundir.run_dir import RunDir

PLOT = join(PLOTS_DIR, "latency.png")
TITLE = "## Predicted vs measured latency"
BACKEND_FORMAT = {"litert": "tflite", "onnxruntime": "onnx"}


@dataclass(frozen=True)
class Pair:
    group: str
    model: str
    predicted_ms: float
    measured_ms: float
    sources: tuple[str, ...]

    @property
    def error_pct(self) -> float:
        return (self.predicted_ms - self.measured_ms) / self.measured_ms * 100


def result_pairs(result: dict[str, Any]) -> list[Pair]:
    """`table_ms` / `live_ms`, `seed_table_ms` / `seed_live_ms`, ...: every prefix holding both."""
    pairs = []
    for key, value in result.items():
        if key.endswith("table_ms") and f"{key[:-len('table_ms')]}live_ms" in result:
            prefix = key[:-len("table_ms")].rstrip("_")
            live = result[f"{key[:-len('table_ms')]}live_ms"]
            if isinstance(value, (int, float)) and isinstance(live, (int, float)):
                pairs.append(Pair("NetAdapt", prefix or "final", float(value), float(live), (RESULT,)))
    return pairs


def export_pair(run: RunDir, export: dict[str, Any], metrics: dict[str, Any] | None,
                result: dict[str, Any] | None) -> Pair | None:
    """The final model's prediction against the live benchmark of the file the latency model describes."""
    fmt = BACKEND_FORMAT.get(str(run.setting("latency", "backend", default="litert")))
    entry = (export.get("models") or {}).get(fmt) if fmt else None
    if entry is None:
        return None
    predicted, where = None, ""
    if metrics and isinstance(metrics.get("predicted_ms"), (int, float)):
        predicted, where = float(metrics["predicted_ms"]), METRICS
    elif result and isinstance(result.get("table_ms"), (int, float)):
        predicted, where = float(result["table_ms"]), RESULT
    if predicted is None:
        return None
    return Pair("export", entry["path"], predicted, float(entry["bench"]["median_ms"]), (where, EXPORT))


def fidelity_pairs(run: RunDir) -> list[Pair]:
    pairs = []
    for path in sorted([*run.root.glob("fidelity_*.csv"), *run.root.glob("*/fidelity_*.csv")]):
        rel = path.relative_to(run.root).as_posix()
        frame = run.csv(rel)
        require_columns(frame, rel, ("predicted_ms", "measured_ms"))
        names = frame["name"] if "name" in frame.columns else frame.index.astype(str)
        pairs += [Pair(f"validation {path.stem.removeprefix('fidelity_')}", str(n), float(p), float(m), (rel,))
                  for n, p, m in zip(names, frame["predicted_ms"], frame["measured_ms"])]
    return pairs


def latency_section(run: RunDir) -> str:
    result, metrics, export = run.json(RESULT), run.json(METRICS), run.json(EXPORT)
    pairs = result_pairs(result) if isinstance(result, dict) else []
    if isinstance(export, dict):
        pair = export_pair(run, export, metrics, result if isinstance(result, dict) else None)
        pairs += [pair] if pair else []
    pairs += fidelity_pairs(run)
    if not pairs:
        (run.root / PLOT).unlink(missing_ok=True)
        return "\n".join([TITLE, "", not_run("NetAdapt's final measurement, the export and latency validation",
                                             [RESULT, EXPORT, "fidelity_*.csv"])])
    plots.predicted_vs_measured([p.group for p in pairs], np.array([p.predicted_ms for p in pairs]),
                                np.array([p.measured_ms for p in pairs]), run.root / PLOT)
    errors = np.abs([p.error_pct for p in pairs])
    lines = [TITLE, "", image(PLOT, "predicted vs measured latency"), "",
             f"{len(pairs)} pair(s); |error| median {np.median(errors):.1f}%, max {np.max(errors):.1f}%, "
             f"{np.mean(errors <= 5) * 100:.0f}% within 5%.", "",
             table(("source", "model", "predicted (ms)", "measured (ms)", "error %"),
                   ((" + ".join(f"`{s}`" for s in p.sources), p.model, num(p.predicted_ms), num(p.measured_ms), num(p.error_pct, "+.1f"))
                    for p in pairs[:40])), ""]
    if len(pairs) > 40:
        lines += [f"({len(pairs) - 40} more rows in the source files.)", ""]
    lines.append(source(*sorted({s for p in pairs for s in p.sources})))
    return "\n".join(lines)
