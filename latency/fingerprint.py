"""The device fingerprint a lookup table is tied to: CPU model, cores, runtime and its version,
threads, XNNPACK, dtype; a phone's (latency.adb_measure) adds its model, ABI, Android release and the
cores benchmark_model is pinned to. Two fingerprints match when all of these fields are equal (a field
neither side has is equal)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

MATCH_FIELDS = ("cpu", "cores", "runtime", "threads", "xnnpack", "dtype", "device", "abi", "android", "pinned_cores")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def local_fingerprint(runtime: str, threads: int, xnnpack: bool, dtype: str = "float32") -> dict:
    return {"cpu": cpu_model(), "cores": os.cpu_count() or 1, "machine": platform.machine(),
            "runtime": runtime, "threads": threads, "xnnpack": xnnpack, "dtype": dtype}


def mismatches(expected: dict, actual: dict) -> list[str]:
    """'field: table X, device Y' for every matching field that differs."""
    return [f"{f}: table {expected.get(f)!r}, device {actual.get(f)!r}" for f in MATCH_FIELDS
            if expected.get(f) != actual.get(f)]
