"""Timing on an Android phone over adb: `Phone` (a connected phone, the cores `benchmark_model` is
pinned to and its fingerprint), `AdbPieceMeasurer` (table entries: pieces converted on this host, as
`PieceMeasurer` does, timed on the phone) and `AdbLiveLatency` (whole models timed on the phone).

The phone's `benchmark_model` times each model in a warm loop, so its table settings carry
`flush_mb = 0` (no in-context eviction is possible there); `hwnas latency calibrate --backend adb`
fits the whole-model correction on the phone as it does here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from latency.adb import AdbDevice, present_cores
from latency.errors import LatencyError
from latency.measure import BenchSettings, PieceMeasurer
from latency.predict import LiveLatency
from latency.stats import BenchResult

MODEL_NAME = "hwnas_model.tflite"


def phone_settings(threads: int = 1, xnnpack: bool = True, warmup_s: float = 0.2, min_runs: int = 50,
                   min_time_s: float = 0.5) -> BenchSettings:
    """Table settings for the phone: benchmark_model's warm loop (flush_mb 0)."""
    return BenchSettings(threads, xnnpack, warmup_s, min_runs, min_time_s, flush_mb=0.0)


class Phone:
    """A phone reached over adb, ready to time models pinned to `cores`."""

    def __init__(self, device: AdbDevice, cores: Sequence[int], props: dict, runtime: str) -> None:
        self.device, self.cores, self.props, self.runtime = device, list(cores), props, runtime

    @classmethod
    def connect(cls, serial: str | None = None, benchmark_binary: str | Path | None = None,
                cores: Sequence[int] | None = None, adb: str = "adb") -> Phone:
        """Push `benchmark_binary` when given (else it must already be on the phone), read the
        phone's properties and check `cores` (default: the highest-numbered core, a big core on
        most phones)."""
        device = AdbDevice(serial=serial, adb=adb)
        if benchmark_binary is not None:
            device.push_binary(benchmark_binary)
        runtime = device.runtime()
        props = device.fingerprint()
        present = present_cores(props["cores"])
        chosen = list(cores) if cores else [max(present)]
        unknown = sorted(set(chosen) - set(present))
        if unknown:
            raise LatencyError(f"cores {unknown} do not exist on {props['device'] or 'the phone'} (its cores are "
                               f"{props['cores']}); pass --cores (config: latency.adb_cores) from that list")
        return cls(device, sorted(set(chosen)), props, runtime)

    def fingerprint(self, threads: int, xnnpack: bool) -> dict:
        """The phone's table fingerprint (see latency.fingerprint.MATCH_FIELDS)."""
        return {**self.props, "machine": self.props["abi"], "runtime": self.runtime, "threads": threads,
                "xnnpack": xnnpack, "dtype": "float32", "pinned_cores": self.cores}

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


class AdbPieceMeasurer(PieceMeasurer):
    """`PieceMeasurer` whose timing runs on the phone (conversion stays on this host)."""

    def __init__(self, settings: BenchSettings, phone: Phone, num_classes: int = 1000) -> None:
        if settings.flush_mb:
            raise LatencyError(f"the phone's benchmark_model times in a warm loop; its table settings need "
                               f"flush_mb 0, got {settings.flush_mb} (use latency.adb_measure.phone_settings)")
        super().__init__(settings, num_classes)
        self.phone = phone

    def time(self, data: bytes) -> BenchResult:
        s = self.settings
        return self.phone.time(data, s.threads, s.xnnpack, s.warmup_s, s.min_runs, s.min_time_s)


class AdbLiveLatency(LiveLatency):
    """`LiveLatency` whose whole-model benchmark runs on the phone."""

    def __init__(self, resolution: int, settings: BenchSettings, phone: Phone, num_classes: int = 1000,
                 warmup_s: float = 0.5, min_time_s: float = 1.0) -> None:
        super().__init__(resolution, settings, num_classes, warmup_s, min_time_s)
        self.phone = phone

    def bench(self, data: bytes) -> BenchResult:
        s = self.settings
        return self.phone.time(data, s.threads, s.xnnpack, self.warmup_s, s.min_runs, self.min_time_s)


def fingerprint_for(phone: Phone | None, settings: BenchSettings) -> dict:
    """The fingerprint of the device that times with `settings`: the phone's, or this host's."""
    return phone.fingerprint(settings.threads, settings.xnnpack) if phone else settings.fingerprint()


def measurer_for(phone: Phone | None, settings: BenchSettings, num_classes: int) -> PieceMeasurer:
    """A piece measurer timing on the phone, or on this host with the LiteRT interpreter."""
    return AdbPieceMeasurer(settings, phone, num_classes) if phone else PieceMeasurer(settings, num_classes)


def live_for(phone: Phone | None, resolution: int, settings: BenchSettings, num_classes: int) -> LiveLatency:
    """Whole-model live latency on the phone, or on this host with the LiteRT interpreter."""
    return AdbLiveLatency(resolution, settings, phone, num_classes) if phone else \
        LiveLatency(resolution, settings, num_classes)
