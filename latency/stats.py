"""A benchmark result: summary statistics of a list of per-run timings, frozen and JSON-able."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, replace

import numpy as np


@dataclass(frozen=True)
class BenchResult:
    """Per-run wall times summarised in milliseconds; `runs` is the number of timed runs."""

    median_ms: float
    mean_ms: float
    p10_ms: float
    p90_ms: float
    stdev_ms: float
    runs: int

    @classmethod
    def from_times_ms(cls, times_ms: list[float] | np.ndarray) -> BenchResult:
        values = np.asarray(times_ms, dtype=np.float64)
        if values.size == 0:
            raise ValueError("a benchmark result needs at least one timed run")
        return cls(
            median_ms=float(np.median(values)),
            mean_ms=float(values.mean()),
            p10_ms=float(np.percentile(values, 10)),
            p90_ms=float(np.percentile(values, 90)),
            stdev_ms=float(statistics.stdev(values.tolist())) if values.size > 1 else 0.0,
            runs=int(values.size),
        )

    @classmethod
    def from_windows(cls, windows_ms: list[float], median_ms: float, runs: int) -> BenchResult:
        """Summary over window medians: `median_ms` (see latency.windows.quiet_median), the windows'
        spread as p10/p90, `runs` invokes in all."""
        return replace(cls.from_times_ms(windows_ms), median_ms=float(median_ms), runs=int(runs))

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)
