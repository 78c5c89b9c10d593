"""`LatencyModel` implementations: callables ArchSpec -> milliseconds.

- `TableLatency`: sum of the table entries of the arch's keys plus the invoke floor once (the
  entries are net of it), then the table's calibration for the resolution. Missing keys are
  measured together (`fill` / `fill_archs`, one quiet batch; lazily on first use when a measurer
  is given) or are an error naming the command that fills them. `predict_ids` prices a batch of
  pre-encoded archs with one numpy gather-sum (the fast path for a controller).
- `LiveLatency`: export the whole arch and benchmark it with the LiteRT interpreter; several
  archs are timed together in interleaved windows (`measure_many`); model files (a trained final
  model beside its seed) until each figure repeats within its span (`measure_models`).
- `MaddsLatency`: analytic multiply-adds times a constant (a MACs-only predictor).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from latency.build import BuildReport, fill_table
from latency.calibration import Calibration, fit_calibration
from latency.errors import LatencyError
from latency.export import arch_input_shape, arch_module, tflite_bytes
from latency.keys import arch_keys
from latency.litert_bench import LiteRTTimer
from latency.measure import BenchSettings, PieceMeasurer
from latency.stats import BenchResult
from latency.table import LatencyTable
from latency.windows import (
    Timer,
    WindowPolicy,
    halves_spread,
    quiet_median,
    repeated,
    round_robin,
    settled_round_robin,
)
from models.counting import count_madds
from models.spec import ArchSpec

LIVE_SPAN_S = 30.0  # a run's calibration and final live check: windows spread over this long (latency_live_span.py)
LIVE_MAX_SPAN_S = 120.0  # the final live check goes on up to this long while a figure does not repeat within its span
LIVE_REPEAT = 0.05  # ... within this: the live check's own goal (the final model within 5% of the table)


class LatencyModel(Protocol):
    def __call__(self, spec: ArchSpec) -> float: ...


class TableLatency:
    """Predicts from a `LatencyTable`. `measurer` enables filling (None: missing is an error)."""

    def __init__(self, table: LatencyTable, resolution: int, measurer: PieceMeasurer | None = None,
                 calibrated: bool = True, quiet_workers: int = 1) -> None:
        """`quiet_workers`: conversion processes of a quiet batch (`time_quietly`): nothing else of
        the run computes then, so a run gives it every core it has."""
        self.table = table
        self.quiet_workers = max(1, quiet_workers)
        self.resolution = resolution
        self.num_classes = table.num_classes
        self.measurer = measurer
        self.calibration: Calibration | None = None
        if calibrated and str(resolution) in table.calibration:
            self.calibration = Calibration.from_dict(table.calibration[str(resolution)])
        self._ids: dict[str, int] = {}
        self._costs = np.zeros(1, dtype=np.float64)  # id 0 is padding, costs nothing
        self._refresh()

    @property
    def floor_ms(self) -> float:
        return float(self.table.metadata.get("floor_ms", 0.0))

    def _refresh(self) -> None:
        keys = list(self.table.entries)
        self._ids = {k: i + 1 for i, k in enumerate(keys)}
        self._costs = np.array([0.0] + [self.table.entries[k].median_ms for k in keys])

    def keys(self, spec: ArchSpec) -> list[str]:
        return arch_keys(spec, self.resolution, self.num_classes)

    def fill(self, keys: Iterable[str], progress: bool = False, workers: int = 1) -> BuildReport:
        """Measure every missing key of `keys` in one quiet batch (call it while nothing else of the run
        computes); `workers` processes convert first, then this process times."""
        keys = list(keys)
        missing = self.table.missing(keys)
        if missing and self.measurer is None:
            raise LatencyError(
                f"{len(missing)} key(s) are not in latency table {str(self.table.path)!r}, e.g. {missing[0]!r}; "
                f"fill it with 'hwnas latency build --space SPACE --resolution {self.resolution} --classes "
                f"{self.num_classes} --out {self.table.path}', or enable lazy filling (--lazy-fill)")
        report = fill_table(self.table, missing, self.measurer, workers=workers, progress=progress,
                            resolutions=[self.resolution]) \
            if missing else BuildReport(0, len(keys), 0, 0.0, 0.0)
        if missing:
            self._refresh()
        return report

    def fill_archs(self, specs: Iterable[ArchSpec], progress: bool = False, workers: int = 1) -> BuildReport:
        """`fill` with every key of `specs` (a search's batch of children, NetAdapt's proposals)."""
        return self.fill([k for spec in specs for k in self.keys(spec)], progress, workers)

    def needs_timing(self, spec: ArchSpec) -> bool:
        """Whether predicting `spec` would time missing entries (a search then prices it quietly)."""
        return self.measurer is not None and bool(self.table.missing(self.keys(spec)))

    def time_quietly(self, specs: Sequence[ArchSpec]) -> None:
        """Time every missing entry of `specs` in one batch (the caller ensures nothing else computes),
        converting with `quiet_workers` processes first."""
        self.fill_archs(specs, workers=self.quiet_workers)

    def calibrate(self, specs: Sequence[ArchSpec], live: LiveLatency, refit: bool = False) -> Calibration:
        """The table's calibration at this resolution, fitted from whole-model live runs of `specs`
        (timed together) unless the table has one and not `refit`; stored with the archs and used
        from now on. Fidelity must then skip `calibration.archs`. When `specs` have missing entries
        (and a measurer), the whole models are timed in the same round robin as those entries, so
        that both are measured in the same minutes: this machine's slow modes last minutes, and a
        fit of pieces timed in one against whole models timed in another carried the difference
        into every prediction (seen: live / summed 1.15-1.84 in one demo run, 0.90-1.25 in another)."""
        if self.calibration is None or refit:
            self.calibration = self.fit(specs, live)
            self.table.calibration[str(self.resolution)] = self.calibration.to_dict()
            self.table.save()
        return self.calibration

    def fit(self, specs: Sequence[ArchSpec], live: LiveLatency) -> Calibration:
        """A calibration fitted from whole-model live runs of `specs`, timed with their missing entries
        (see `calibrate`), and not stored in the table: `with_calibration` uses it."""
        specs = list(dict.fromkeys(specs))
        self._time_with_pieces(specs, live)
        summed = [self.summed_ms(s) for s in specs]
        return fit_calibration(summed, [r.median_ms for r in live.measure_many(specs)], [s.to_str() for s in specs])

    def with_calibration(self, calibration: Calibration) -> TableLatency:
        """This table (shared, filled alike) predicting through `calibration` instead of the table's:
        NetAdapt's calibration around the arch it shrinks."""
        view = TableLatency(self.table, self.resolution, self.measurer, calibrated=False,
                            quiet_workers=self.quiet_workers)
        view.calibration = calibration
        return view

    def _time_with_pieces(self, specs: list[ArchSpec], live: LiveLatency) -> None:
        """Fill the missing entries of `specs` with their whole models timed alongside (kept in `live`)."""
        missing = self.table.missing([k for spec in specs for k in self.keys(spec)])
        if not missing or self.measurer is None:
            return
        wholes = {f"whole:{spec.to_str()}": (spec, timer) for spec, timer in live.timers(specs).items()}
        report = fill_table(self.table, missing, self.measurer, workers=self.quiet_workers,
                            resolutions=[self.resolution], alongside={n: t for n, (_, t) in wholes.items()},
                            span_s=live.policy.min_seconds)
        self._refresh()
        for name, (spec, _) in wholes.items():
            if name in report.alongside:  # else the table was filled meanwhile: `live` times it alone
                live.record(spec, *report.alongside[name])

    def summed_ms(self, spec: ArchSpec) -> float:
        """The uncalibrated prediction: the pieces' entries plus the invoke floor once."""
        keys = self.keys(spec)
        self.fill(keys)
        return float(sum(self.table.entries[k].median_ms for k in keys)) + self.floor_ms

    def __call__(self, spec: ArchSpec) -> float:
        summed = self.summed_ms(spec)
        return float(self.calibration.apply(summed)) if self.calibration else summed

    def encode(self, key_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """Key lists -> a padded int matrix of key ids for `predict_ids` (missing keys filled first)."""
        self.fill([k for keys in key_lists for k in keys])
        if len(self._ids) != len(self.table.entries):  # another model of this table filled it
            self._refresh()
        width = max((len(keys) for keys in key_lists), default=0)
        ids = np.zeros((len(key_lists), width), dtype=np.int32)
        for row, keys in enumerate(key_lists):
            ids[row, :len(keys)] = [self._ids[k] for k in keys]
        return ids

    def predict_ids(self, ids: np.ndarray) -> np.ndarray:
        """Calibrated ms for each row of key ids (0 = padding): one gather and one sum."""
        summed = self._costs[ids].sum(axis=1) + self.floor_ms
        return self.calibration.apply(summed) if self.calibration else summed

    def predict_keys(self, key_lists: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_ids(self.encode(key_lists))

    def predict_batch(self, specs: Sequence[ArchSpec]) -> np.ndarray:
        return self.predict_keys([self.keys(s) for s in specs])


@dataclass(frozen=True)
class LiveFigures:
    """Whole model files timed together (`LiveLatency.measure_models`): each one's figure, how far it
    repeats within its span (`halves_spread`: None with too few windows), the batch's seconds, and
    whether every figure repeated within the tolerance (`settled`: otherwise the machine moved more
    than the check can resolve)."""

    results: dict[str, BenchResult]
    repeat: dict[str, float | None]
    seconds: float
    settled: bool


class LiveLatency:
    """Exports whole archs to .tflite and benchmarks them (warm loop, as LiteRT's benchmark_model),
    each the median of its `windows` fastest windows (more windows, up to 2 * windows + 1, while
    those disagree), interleaved across the archs timed together (`chunk` at a time, each holding an
    interpreter); cached per arch.
    `dtype` int8 times the post-training-quantised model (`latency.quantize`)."""

    def __init__(self, resolution: int, settings: BenchSettings | None = None, num_classes: int = 1000,
                 warmup_s: float = 0.5, min_time_s: float = 1.0, windows: int = 3, convert_workers: int = 1,
                 span_s: float = 0.0) -> None:
        """`convert_workers`: processes converting the archs of a `measure_many` call before any is
        timed (conversions are not timed; give it the cores when nothing else computes). `span_s`:
        the windows of a `measure_many` call are spread over at least this many seconds (see
        `latency.windows`; this machine's slow modes outlast a few seconds)."""
        self.resolution = resolution
        self.settings = settings or BenchSettings()
        self.num_classes = num_classes
        self.warmup_s, self.min_time_s, self.windows = warmup_s, min_time_s, windows
        self.convert_workers = max(1, convert_workers)
        self.chunk, self.max_windows = 8, 2 * windows + 1
        self.policy = WindowPolicy(windows, self.max_windows, self.settings.tolerance, span_s)
        self.results: dict[ArchSpec, BenchResult] = {}

    def tflite(self, spec: ArchSpec) -> bytes:
        return arch_tflite(spec.to_str(), self.resolution, self.num_classes, self.settings.dtype)

    def convert(self, specs: Sequence[ArchSpec]) -> dict[ArchSpec, bytes]:
        """Each arch's .tflite, converted in `convert_workers` processes when more than one."""
        workers = min(self.convert_workers, len(specs))
        if workers <= 1:
            return {s: self.tflite(s) for s in specs}
        with mp.get_context("spawn").Pool(workers) as pool:
            jobs = {s: pool.apply_async(arch_tflite, (s.to_str(), self.resolution, self.num_classes,
                                                      self.settings.dtype)) for s in specs}
            return {s: job.get() for s, job in jobs.items()}

    def timer(self, data: bytes) -> Timer:
        s = self.settings
        return LiteRTTimer(data, s.threads, s.xnnpack, 0.0, self.warmup_s, s.min_runs, self.min_time_s / self.windows)

    def timers(self, specs: Sequence[ArchSpec]) -> dict[ArchSpec, Timer]:
        """A timer of each arch of `specs` that has no result yet (converted first), to be timed here
        (`measure_many`) or in another round robin (a table fill's, `TableLatency.calibrate`)."""
        todo = [s for s in dict.fromkeys(specs) if s not in self.results]
        return {s: self.timer(data) for s, data in self.convert(todo).items()}

    def record(self, spec: ArchSpec, windows: Sequence[float], runs: int) -> BenchResult:
        """Keep `spec`'s result from its windows (`result`)."""
        self.results[spec] = self.result(windows, runs)
        return self.results[spec]

    def result(self, windows: Sequence[float], runs: int) -> BenchResult:
        """A whole model's figure from its windows: the median of its `windows` fastest."""
        return BenchResult.from_windows(list(windows), quiet_median(windows, self.windows), runs)

    def measure_models(self, files: dict[str, bytes], max_span_s: float = 0.0,
                       tolerance: float = LIVE_REPEAT) -> LiveFigures:
        """Model files (a trained final model's .tflite, ...) timed together as `measure_many` times
        archs: interleaved windows over at least `span_s`, each figure the median of its fastest; then
        more spans, up to `max_span_s` in all, while a figure from the first half of its windows and
        one from the second differ by more than `tolerance` (`latency.windows.settled_round_robin`)."""
        timers = {name: self.timer(data) for name, data in files.items()}
        batch = settled_round_robin(timers, self.policy, max_span_s, tolerance)
        repeat = {name: halves_spread(w, self.windows) for name, w in batch.windows.items()}
        return LiveFigures({name: self.result(w, batch.runs[name]) for name, w in batch.windows.items()}, repeat,
                           batch.seconds, all(repeated(r, tolerance) for r in repeat.values()))

    def measure_many(self, specs: Sequence[ArchSpec]) -> list[BenchResult]:
        """Every arch of `specs` (conversions first, then interleaved windows, `chunk` archs at a
        time, each chunk over at least `span_s`), cached."""
        todo = [s for s in dict.fromkeys(specs) if s not in self.results]
        for start in range(0, len(todo), self.chunk):
            part = todo[start:start + self.chunk]
            timers = {s.to_str(): t for s, t in self.timers(part).items()}
            batch = round_robin(timers, self.policy)
            for spec in part:
                self.record(spec, batch.windows[spec.to_str()], batch.runs[spec.to_str()])
        return [self.results[s] for s in specs]

    def measure(self, spec: ArchSpec) -> BenchResult:
        return self.measure_many([spec])[0]

    def needs_timing(self, spec: ArchSpec) -> bool:
        return spec not in self.results

    def time_quietly(self, specs: Sequence[ArchSpec]) -> None:
        self.measure_many(specs)

    def __call__(self, spec: ArchSpec) -> float:
        return self.measure(spec).median_ms


def arch_tflite(arch: str, resolution: int, num_classes: int, dtype: str = "float32") -> bytes:
    """The whole arch (its compact string) as a .tflite: float32, or post-training-quantised int8."""
    spec = ArchSpec.from_str(arch)
    if dtype == "int8":
        from latency.quantize import int8_arch_bytes

        return int8_arch_bytes(spec, resolution, num_classes)
    return tflite_bytes(arch_module(spec, num_classes), arch_input_shape(resolution))


class MaddsLatency:
    """Analytic proxy: `ms_per_mmadd` milliseconds per million multiply-adds."""

    def __init__(self, resolution: int, ms_per_mmadd: float = 0.025, num_classes: int = 1000) -> None:
        self.resolution, self.ms_per_mmadd, self.num_classes = resolution, ms_per_mmadd, num_classes

    def __call__(self, spec: ArchSpec) -> float:
        return count_madds(spec, self.resolution, self.num_classes) / 1e6 * self.ms_per_mmadd
