"""Fidelity of a latency predictor against live measurements, in the figures a search decides on:
the share of archs within +/-5% and +/-10% with bootstrap 95% intervals, RMSPE, Kendall tau, and
pairwise order accuracy on near ties (pairs whose live latencies are within 5% of each other) and
on NetAdapt neighbours (an arch against itself with one block's expansion one channel step
narrower). Plots and files are the caller's business. `kendall_tau_interval` (tau with its bootstrap
interval) also serves other rank checks, such as a search proxy's against longer training."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from latency.calibration import rmspe
from latency.stats import BenchResult
from models.spec import ArchSpec

NEAR_TIE = 0.05
CHANNEL_STEP = 8


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


def kendall_tau_interval(a: Sequence[float], b: Sequence[float], resamples: int = 2000,
                         seed: int = 0) -> dict[str, float | list[float]]:
    """Kendall's tau-b of paired values with its percentile-bootstrap 95% interval (pairs resampled with
    replacement; resamples whose tau is undefined, all ties, are left out)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.size < 2:
        return {"value": float("nan"), "ci95": [float("nan"), float("nan")], "n": int(x.size)}
    draws = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    taus = np.array([kendall_tau(x[d], y[d]) for d in draws])
    taus = taus[~np.isnan(taus)]
    ci = [float(np.percentile(taus, 2.5)), float(np.percentile(taus, 97.5))] if taus.size else [float("nan")] * 2
    return {"value": kendall_tau(x, y), "ci95": ci, "n": int(x.size)}


def bootstrap_share(hits: Sequence[bool], resamples: int = 4000, seed: int = 0) -> dict[str, float | list[float]]:
    """The share of true `hits` with its percentile-bootstrap 95% interval."""
    h = np.asarray(hits, float)
    if h.size == 0:
        return {"value": float("nan"), "ci95": [float("nan"), float("nan")], "n": 0}
    draws = np.random.default_rng(seed).integers(0, h.size, size=(resamples, h.size))
    shares = h[draws].mean(axis=1)
    return {"value": float(h.mean()), "ci95": [float(np.percentile(shares, 2.5)), float(np.percentile(shares, 97.5))],
            "n": int(h.size)}


def near_tie_pairs(measured: Sequence[float], within: float = NEAR_TIE) -> list[tuple[int, int]]:
    """Index pairs whose measured values differ by at most `within` (relative to the smaller)."""
    m = np.asarray(measured, float)
    return [(i, j) for i in range(m.size) for j in range(i + 1, m.size)
            if m[i] != m[j] and abs(m[i] - m[j]) <= within * min(m[i], m[j])]


def order_accuracy(predicted: Sequence[float], measured: Sequence[float],
                   pairs: Sequence[tuple[int, int]]) -> dict[str, float | list[float]]:
    """Share of `pairs` the predictor orders as the live runs do (a predicted tie counts as wrong)."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    hits = [np.sign(p[i] - p[j]) == np.sign(m[i] - m[j]) for i, j in pairs]
    return bootstrap_share(hits)


def summarize(predicted: Sequence[float], measured: Sequence[float]) -> dict:
    """The accuracy and ranking figures of one predictor against live medians."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    err = np.abs(p - m) / m
    return {"archs": int(p.size), "within_5pct": bootstrap_share(err <= 0.05),
            "within_10pct": bootstrap_share(err <= 0.10), "rmspe_pct": rmspe(p, m),
            "kendall_tau": kendall_tau(p, m), "mean_error_pct": float(np.mean((p - m) / m) * 100),
            "near_ties": order_accuracy(p, m, near_tie_pairs(m))}


def narrower_neighbour(spec: ArchSpec, rng: np.random.Generator, step: int = CHANNEL_STEP) -> ArchSpec | None:
    """`spec` with one block's expansion (mid) channels one `step` narrower, as a NetAdapt proposal
    makes it; a block is chosen at random among those that keep an expansion conv (None if none can)."""
    ins = spec.in_channels()
    candidates = [i for i, b in enumerate(spec.blocks) if b.mid - step >= step and b.expands_from(ins[i])
                  and b.mid - step != ins[i]]
    if not candidates:
        return None
    i = int(rng.choice(candidates))
    blocks = list(spec.blocks)
    blocks[i] = replace(blocks[i], mid=blocks[i].mid - step)
    return ArchSpec(spec.stem, tuple(blocks), spec.head)


def fidelity_rows(archs: Sequence[tuple[str, ArchSpec]], predict: Callable[[ArchSpec], float],
                  summed: Callable[[ArchSpec], float], measured: Sequence[BenchResult]) -> list[FidelityRow]:
    rows = []
    for (name, spec), live in zip(archs, measured, strict=True):
        pred = predict(spec)
        rows.append(FidelityRow(name, spec.to_str(), pred, summed(spec), live.median_ms, live.p10_ms, live.p90_ms,
                                (pred - live.median_ms) / live.median_ms * 100))
    return rows


def rows_as_dicts(rows: Sequence[FidelityRow]) -> list[dict]:
    return [asdict(r) for r in rows]
