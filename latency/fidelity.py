"""Fidelity of a latency predictor against live measurements: per-arch rows and a summary
(share within +/-5% and +/-10%, RMSPE, Kendall tau). Plots and files are the caller's business."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from latency.calibration import rmspe
from latency.stats import BenchResult
from models.spec import ArchSpec


@dataclass(frozen=True)
class FidelityRow:
    name: str
    arch: str
    predicted_ms: float
    summed_ms: float
    measured_ms: float
    measured_p10_ms: float
    measured_p90_ms: float
    error_pct: float


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b of two equally long sequences (O(n^2), fine for hundreds of archs)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(len(x), 1)
    dx, dy = dx[upper], dy[upper]
    denom = np.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float((dx * dy).sum() / denom) if denom else float("nan")


def summarize(predicted: Sequence[float], measured: Sequence[float]) -> dict[str, float | int]:
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    err = np.abs(p - m) / m
    return {"archs": int(p.size), "within_5pct": float(np.mean(err <= 0.05)),
            "within_10pct": float(np.mean(err <= 0.10)), "rmspe_pct": rmspe(p, m),
            "kendall_tau": kendall_tau(p, m), "mean_error_pct": float(np.mean((p - m) / m) * 100)}


def fidelity_rows(archs: Sequence[tuple[str, ArchSpec]], predict: Callable[[ArchSpec], float],
                  summed: Callable[[ArchSpec], float], measure: Callable[[ArchSpec], BenchResult],
                  progress: Callable[[int, int], None] | None = None) -> list[FidelityRow]:
    rows = []
    for i, (name, spec) in enumerate(archs):
        pred = predict(spec)  # first: a missing table entry fails before the slow live run
        live = measure(spec)
        rows.append(FidelityRow(name, spec.to_str(), pred, summed(spec), live.median_ms, live.p10_ms, live.p90_ms,
                                (pred - live.median_ms) / live.median_ms * 100))
        if progress:
            progress(i + 1, len(archs))
    return rows


def rows_as_dicts(rows: Sequence[FidelityRow]) -> list[dict]:
    return [asdict(r) for r in rows]
