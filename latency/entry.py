"""One lookup-table entry: the median of several timing windows of a piece, net of the invoke
floor, with the windows themselves and the machine's load when they were taken."""

from __future__ import annotations

import os
from dataclasses import dataclass

from latency.stats import BenchResult
from latency.windows import quiet_median

FIELDS = ("median_ms", "windows_ms", "floor_ms", "runs", "load")


@dataclass(frozen=True)
class Entry:
    """`median_ms`: the median of the fastest `count` of `windows_ms` (`latency.windows.quiet_median`)
    minus `floor_ms` (what the piece adds to a whole model);
    `windows_ms`: each window's median invoke time as timed; `runs`: timed invokes over all windows;
    `load`: the 1-minute load average when the last window was taken."""

    median_ms: float
    windows_ms: tuple[float, ...]
    floor_ms: float
    runs: int
    load: float

    @classmethod
    def from_windows(cls, windows_ms: list[float] | tuple[float, ...], floor_ms: float, runs: int,
                     count: int = 3) -> Entry:
        median = quiet_median(windows_ms, count)
        return cls(max(median - floor_ms, 0.0), tuple(float(w) for w in windows_ms), float(floor_ms), int(runs),
                   os.getloadavg()[0])

    @classmethod
    def from_result(cls, result: BenchResult) -> Entry:
        """An entry of one window (a single benchmark, nothing subtracted)."""
        return cls.from_windows([result.median_ms], 0.0, result.runs)

    @property
    def spread(self) -> float:
        """max / min - 1 of the windows (0 for one window)."""
        return max(self.windows_ms) / min(self.windows_ms) - 1 if min(self.windows_ms) > 0 else 0.0

    def to_dict(self) -> dict:
        return {"median_ms": self.median_ms, "windows_ms": list(self.windows_ms), "floor_ms": self.floor_ms,
                "runs": self.runs, "load": self.load}

    @classmethod
    def from_dict(cls, data: dict) -> Entry:
        """Raises TypeError / ValueError / KeyError on a malformed entry (the table names it)."""
        windows = data["windows_ms"]
        if not isinstance(windows, list) or not windows or not all(isinstance(w, (int, float)) for w in windows):
            raise ValueError("windows_ms must be a non-empty list of numbers")
        numbers = [data[f] for f in ("median_ms", "floor_ms", "runs", "load")]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
            raise TypeError("median_ms, floor_ms, runs and load must be numbers")
        return cls(float(data["median_ms"]), tuple(float(w) for w in windows), float(data["floor_ms"]),
                   int(data["runs"]), float(data["load"]))
