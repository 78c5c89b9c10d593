"""The device fingerprint a lookup table is tied to.

This host's: the CPU model name, the instruction-set flags that select kernels (x86 SSE4/AVX/AVX2/
FMA/AVX-512/VNNI/AMX, Arm NEON/ASIMD dot product/I8MM/SVE), the cache sizes, the logical core
count, the machine, the runtime (ai-edge-litert) and converter (litert-torch, torch) versions,
and the run's threads, XNNPACK and dtype. A phone's (latency.adb_measure) has its SoC, model, ABI,
Android release, the `benchmark_model` binary's md5 as runtime, and the cores it is pinned to.
Two fingerprints match when every field of `MATCH_FIELDS` is equal (a field neither side has is equal).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

MATCH_FIELDS = ("cpu", "isa", "caches", "cores", "machine", "runtime", "converter", "threads", "xnnpack", "dtype",
                "device", "abi", "android", "pinned_cores")
ISA_PREFIXES = ("sse4", "avx", "fma", "f16c", "amx", "vnni", "asimd", "neon", "sve", "i8mm", "bf16", "dotprod", "fp16")
CPU_SYSFS = Path("/sys/devices/system/cpu")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where it cannot be read)."""
    fields: dict[str, str] = {}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return fields
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    return fields


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or info.get("Hardware") or platform.processor() or platform.machine()


def isa_flags() -> list[str]:
    """The kernel-selecting instruction-set flags of this CPU, sorted."""
    info = _cpuinfo()
    flags = (info.get("flags") or info.get("Features") or "").split()
    return sorted({f for f in flags if f.startswith(ISA_PREFIXES)})


def cache_sizes() -> dict[str, str]:
    """CPU 0's caches from sysfs, e.g. {'L1d': '32K', 'L1i': '32K', 'L2': '1024K', 'L3': '32768K'}."""
    caches: dict[str, str] = {}
    for index in sorted((CPU_SYSFS / "cpu0" / "cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        caches[f"L{level}{suffix}"] = size
    return caches


def converter_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"litert-torch {version('litert-torch')}, torch {version('torch')}"
    except PackageNotFoundError:
        return "unknown"


def local_fingerprint(runtime: str, threads: int, xnnpack: bool, dtype: str = "float32") -> dict:
    return {"cpu": cpu_model(), "isa": isa_flags(), "caches": cache_sizes(), "cores": os.cpu_count() or 1,
            "machine": platform.machine(), "runtime": runtime, "converter": converter_version(),
            "threads": threads, "xnnpack": xnnpack, "dtype": dtype}


def mismatches(expected: dict, actual: dict) -> list[str]:
    """'field: table X, device Y' for every matching field that differs."""
    return [f"{f}: table {expected.get(f)!r}, device {actual.get(f)!r}" for f in MATCH_FIELDS
            if expected.get(f) != actual.get(f)]
