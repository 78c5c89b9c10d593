"""Timing on an Android phone over adb: `Phone` (a connected phone, the cores `benchmark_model` is
pinned to and its fingerprint), `AdbPieceMeasurer` (table entries: pieces converted on this host, as
`PieceMeasurer` does, timed on the phone) and `AdbLiveLatency` (whole models timed on the phone).

The phone's `benchmark_model` times each model in a warm loop, so its table settings carry
`flush_mb = 0` (no in-context eviction is possible there); each window is one `benchmark_model`
run, interleaved with the other keys' as on this host (`latency.windows`), and the invoke floor is
a trivial model timed on the phone the same way. `hwnas latency calibrate --backend adb` fits the
whole-model correction on the phone as it does here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from latency.adb import AdbDevice, online_cores
from latency.errors import LatencyError
from latency.measure import BenchSettings, PieceMeasurer
from latency.predict import LiveLatency
from latency.windows import Timer
from latency.stats import BenchResult

MODEL_NAME = "hwnas_model.tflite"


def phone_settings(threads: int = 1, xnnpack: bool = True, warmup_s: float = 0.05, min_runs: int = 20,
                   min_time_s: float = 0.15, dtype: str = "float32") -> BenchSettings:
    """Table settings for the phone: benchmark_model's warm loop (flush_mb 0); per window."""
    return BenchSettings(threads, xnnpack, warmup_s, min_runs, min_time_s, flush_mb=0.0, dtype=dtype)


class Phone:
    """A phone reached over adb, ready to time models pinned to `cores`."""

    def __init__(self, device: AdbDevice, cores: Sequence[int], props: dict, runtime: str) -> None:
        self.device, self.cores, self.props, self.runtime = device, list(cores), props, runtime

    @classmethod
    def connect(cls, serial: str | None = None, benchmark_binary: str | Path | None = None,
                cores: Sequence[int] | None = None, adb: str = "adb") -> Phone:
        """Push `benchmark_binary` when given (else it must already be on the phone), read the
        phone's properties and check `cores` (default: the highest-numbered online core, a big
        core on most phones; a core the phone has switched off cannot be pinned)."""
        device = AdbDevice(serial=serial, adb=adb)
        if benchmark_binary is not None:
            device.push_binary(benchmark_binary)
        runtime = device.runtime()
        props = device.fingerprint()
        online = online_cores(props["online"])
        chosen = list(cores) if cores else [max(online)]
        unknown = sorted(set(chosen) - set(online))
        if unknown:
            raise LatencyError(f"cores {unknown} are not online on {props['device'] or 'the phone'} (its online cores "
                               f"are {props['online']}, present {props['cores']}); pass --cores (config: "
                               f"latency.adb_cores) from the online ones")
        return cls(device, sorted(set(chosen)), props, runtime)

    def fingerprint(self, threads: int, xnnpack: bool, dtype: str = "float32") -> dict:
        """The phone's table fingerprint (see latency.fingerprint.MATCH_FIELDS)."""
        props = {k: v for k, v in self.props.items() if k != "online"}  # online cores change at run time
        return {**props, "machine": self.props["abi"], "runtime": self.runtime, "threads": threads,
                "xnnpack": xnnpack, "dtype": dtype, "pinned_cores": self.cores}

    def time(self, model: bytes | str | Path, threads: int = 1, xnnpack: bool = True, warmup_s: float = 0.5,
             min_runs: int = 50, min_time_s: float = 1.0) -> BenchResult:
        """Time a `.tflite` file or its bytes on the phone."""
        kwargs = {"cores": self.cores, "threads": threads, "xnnpack": xnnpack, "warmup_s": warmup_s,
                  "min_runs": min_runs, "min_time_s": min_time_s}
        if not isinstance(model, bytes):
            return self.device.benchmark(model, **kwargs)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / MODEL_NAME
            path.write_bytes(model)
            return self.device.benchmark(path, **kwargs)


class AdbTimer:
    """Windows of one model on the phone: each `window()` is one benchmark_model run."""

    def __init__(self, phone: Phone, data: bytes, threads: int, xnnpack: bool, warmup_s: float, min_runs: int,
                 min_time_s: float) -> None:
        self.phone, self.data = phone, data
        self.kwargs = {"threads": threads, "xnnpack": xnnpack, "warmup_s": warmup_s, "min_runs": min_runs,
                       "min_time_s": min_time_s}

    def window(self) -> BenchResult:
        return self.phone.time(self.data, **self.kwargs)


class AdbPieceMeasurer(PieceMeasurer):
    """`PieceMeasurer` whose timing runs on the phone (conversion stays on this host)."""

    def __init__(self, settings: BenchSettings, phone: Phone, num_classes: int | None = None) -> None:
        if settings.flush_mb:
            raise LatencyError(f"the phone's benchmark_model times in a warm loop; its table settings need "
                               f"flush_mb 0, got {settings.flush_mb} (use latency.adb_measure.phone_settings)")
        super().__init__(settings, num_classes)
        self.phone = phone

    def timer(self, data: bytes) -> Timer:
        s = self.settings
        return AdbTimer(self.phone, data, s.threads, s.xnnpack, s.warmup_s, s.min_runs, s.min_time_s)


class AdbLiveLatency(LiveLatency):
    """`LiveLatency` whose whole-model benchmark runs on the phone."""

    def __init__(self, resolution: int, settings: BenchSettings, phone: Phone, num_classes: int = 1000,
                 warmup_s: float = 0.5, min_time_s: float = 1.0, windows: int = 3, convert_workers: int = 1,
                 span_s: float = 0.0) -> None:
        super().__init__(resolution, settings, num_classes, warmup_s, min_time_s, windows, convert_workers, span_s)
        self.phone = phone

    def timer(self, data: bytes) -> Timer:
        s = self.settings
        return AdbTimer(self.phone, data, s.threads, s.xnnpack, self.warmup_s, s.min_runs,
                        self.min_time_s / self.windows)


def fingerprint_for(phone: Phone | None, settings: BenchSettings) -> dict:
    """The fingerprint of the device that times with `settings`: the phone's, or this host's."""
    return phone.fingerprint(settings.threads, settings.xnnpack, settings.dtype) if phone else settings.fingerprint()


def measurer_for(phone: Phone | None, settings: BenchSettings, num_classes: int | None = None) -> PieceMeasurer:
    """A piece measurer timing on the phone, or on this host with the LiteRT interpreter."""
    return AdbPieceMeasurer(settings, phone, num_classes) if phone else PieceMeasurer(settings, num_classes)


def live_for(phone: Phone | None, resolution: int, settings: BenchSettings, num_classes: int,
             convert_workers: int = 1, span_s: float = 0.0) -> LiveLatency:
    """Whole-model live latency on the phone, or on this host with the LiteRT interpreter; the archs of
    a batch are converted in `convert_workers` processes on this host first, and timed in windows
    spread over at least `span_s` seconds."""
    options = {"convert_workers": convert_workers, "span_s": span_s}
    return AdbLiveLatency(resolution, settings, phone, num_classes, **options) if phone else \
        LiveLatency(resolution, settings, num_classes, **options)
