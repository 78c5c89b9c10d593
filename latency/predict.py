"""`LatencyModel` implementations: callables ArchSpec -> milliseconds.

- `TableLatency`: sum of the table entries of the arch's keys, then the table's calibration for
  the resolution; a missing key is measured and persisted (lazy fill) or is an error naming the
  command that fills it. `predict_ids` prices a batch of pre-encoded archs with one numpy
  gather-sum (the fast path for a controller), `predict_keys` a batch of key lists.
- `LiveLatency`: export the whole arch and benchmark it with the LiteRT interpreter.
- `MaddsLatency`: analytic multiply-adds times a constant; for tests and ablations only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from latency.calibration import Calibration
from latency.errors import LatencyError
from latency.export import arch_input_shape, arch_module, tflite_bytes
from latency.keys import arch_keys, parse_key
from latency.litert_bench import benchmark_tflite
from latency.measure import BenchSettings, PieceMeasurer
from latency.stats import BenchResult
from latency.table import LatencyTable
from models.counting import count_madds
from models.spec import ArchSpec


class LatencyModel(Protocol):
    def __call__(self, spec: ArchSpec) -> float: ...


class TableLatency:
    """Predicts from a `LatencyTable`. `measurer` enables lazy filling (None: missing is an error)."""

    def __init__(self, table: LatencyTable, resolution: int, measurer: PieceMeasurer | None = None,
                 calibrated: bool = True) -> None:
        self.table = table
        self.resolution = resolution
        self.measurer = measurer
        self.calibration: Calibration | None = None
        if calibrated and str(resolution) in table.calibration:
            self.calibration = Calibration.from_dict(table.calibration[str(resolution)])
        self._ids: dict[str, int] = {}
        self._costs = np.zeros(1, dtype=np.float64)  # id 0 is padding, costs nothing
        self._refresh()

    def _refresh(self) -> None:
        keys = list(self.table.entries)
        self._ids = {k: i + 1 for i, k in enumerate(keys)}
        self._costs = np.array([0.0] + [self.table.entries[k].median_ms for k in keys])

    def _ensure(self, keys: Sequence[str]) -> None:
        missing = self.table.missing(keys)
        if not missing:
            return
        if self.measurer is None:
            raise LatencyError(
                f"{len(missing)} key(s) are not in latency table {str(self.table.path)!r}, e.g. {missing[0]!r}; "
                f"fill it with 'hwnas latency build --space SPACE --resolution {self.resolution} "
                f"--out {self.table.path}', or enable lazy filling (--lazy-fill)")
        for key in missing:
            self.table.put(key, self.measurer.measure(parse_key(key)), self.resolution)
        self.table.save()
        self._refresh()

    def summed_ms(self, spec: ArchSpec) -> float:
        keys = arch_keys(spec, self.resolution)
        self._ensure(keys)
        return float(sum(self.table.entries[k].median_ms for k in keys))

    def __call__(self, spec: ArchSpec) -> float:
        summed = self.summed_ms(spec)
        return float(self.calibration.apply(summed)) if self.calibration else summed

    def encode(self, key_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Key lists -> a padded int matrix of key ids for `predict_ids` (missing keys filled first)."""
        self._ensure([k for keys in key_lists for k in keys])
        width = max((len(keys) for keys in key_lists), default=0)
        ids = np.zeros((len(key_lists), width), dtype=np.int32)
        for row, keys in enumerate(key_lists):
            ids[row, :len(keys)] = [self._ids[k] for k in keys]
        return ids

    def key_id(self, key: str) -> int:
        self._ensure([key])
        return self._ids[key]

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        """Calibrated ms for each row of key ids (0 = padding): one gather and one sum."""
        summed = self._costs[ids].sum(axis=1)
        return self.calibration.apply(summed) if self.calibration else summed

    def predict_keys(self, key_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_ids(self.encode(key_lists))

    def predict_batch(self, specs: Sequence[ArchSpec]) -> np.ndarray:
        return self.predict_keys([arch_keys(s, self.resolution) for s in specs])


class LiveLatency:
    """Exports the whole arch to .tflite and benchmarks it; results are cached per arch."""

    def __init__(self, resolution: int, settings: BenchSettings | None = None, num_classes: int = 1000,
                 warmup_s: float = 0.5, min_time_s: float = 1.0) -> None:
        self.resolution = resolution
        self.settings = settings or BenchSettings()
        self.num_classes = num_classes
        self.warmup_s, self.min_time_s = warmup_s, min_time_s
        self.results: dict[ArchSpec, BenchResult] = {}

    def measure(self, spec: ArchSpec) -> BenchResult:
        if spec not in self.results:
            data = tflite_bytes(arch_module(spec, self.num_classes), arch_input_shape(self.resolution))
            self.results[spec] = self.bench(data)
        return self.results[spec]

    def bench(self, data: bytes) -> BenchResult:
        s = self.settings
        return benchmark_tflite(data, threads=s.threads, xnnpack=s.xnnpack, warmup_s=self.warmup_s,
                                min_runs=s.min_runs, min_time_s=self.min_time_s)

    def __call__(self, spec: ArchSpec) -> float:
        return self.measure(spec).median_ms


class MaddsLatency:
    """Analytic proxy: `ms_per_mmadd` milliseconds per million multiply-adds. Tests only."""

    def __init__(self, resolution: int, ms_per_mmadd: float = 0.025, num_classes: int = 1000) -> None:
        self.resolution, self.ms_per_mmadd, self.num_classes = resolution, ms_per_mmadd, num_classes

    def __call__(self, spec: ArchSpec) -> float:
        return count_madds(spec, self.resolution, self.num_classes) / 1e6 * self.ms_per_mmadd
