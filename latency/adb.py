"""Android phone backend over adb: push a `.tflite`, run LiteRT's `benchmark_model` pinned with
taskset to chosen cores, parse its timings, fingerprint the phone from getprop.

What a real phone needs:
- USB debugging enabled and the phone listed by `adb devices` (pass `serial` when several are).
- A `benchmark_model` binary for the phone's ABI (e.g. the prebuilt
  `android_aarch64_benchmark_model` from the TFLite/LiteRT releases, or
  `bazel build -c opt --config=android_arm64 //tflite/tools/benchmark:benchmark_model`), pushed
  once with `AdbDevice.push_binary(local_path)` (copied to /data/local/tmp/benchmark_model and made
  executable; `hwnas bench|latency build --benchmark-binary PATH` does this). Its md5 is the
  `runtime` of the phone's fingerprint, so a table is tied to the binary that timed it.
- `taskset` on the phone (toybox provides it on Android 7+). Pick a big core: on most phones the
  highest-numbered cores are the big ones (see /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq);
  the MobileNetV3 paper measured single-threaded on one big core.
- A quiet phone: screen on at a fixed brightness or off with `svc power stayon usb`, no thermal
  throttling (let it cool between long runs), battery above ~50%.

`benchmark_model` prints, after the warm-up pass, a line such as
``count=50 first=5211 curr=5120 min=5087 max=5390 avg=5153.2 std=61 p5=5092 median=5140 p95=5302``
(microseconds; older builds omit the percentiles and may prefix ``Timings (microseconds):``) and a
summary ``Inference timings in us: Init: ..., Inference (avg): 5153.2``. When every run took the
same time it prints ``count=N curr=X(all same)`` instead (X is then every statistic). The result's
median is the reported median (avg when absent); p10/p90 carry the tool's p5/p95 (min/max when
absent), so the spread is, if anything, wider than the interpreter backend's; stdev is the tool's std.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from latency.errors import LatencyError
from latency.export import read_tflite
from latency.stats import BenchResult

REMOTE_DIR = "/data/local/tmp"
PROPS = ("ro.product.manufacturer", "ro.product.model", "ro.soc.model", "ro.board.platform",
         "ro.product.cpu.abi", "ro.build.version.release", "ro.build.fingerprint")
MISSING = "HWNAS_NO_BINARY"
_COUNT_LINE = re.compile(r"count=(?P<count>\d+)\b(?P<rest>.*\bavg=.*)")
_ALL_SAME = re.compile(r"count=(?P<count>\d+)\s+curr=(?P<curr>[-+0-9.eE]+)\s*\(all same\)")
_FIELD = re.compile(r"(\w+)=([-+0-9.eE]+)")


def core_mask(cores: Sequence[int]) -> str:
    """taskset's hex mask for `cores`, e.g. (4, 7) -> '90'."""
    if not cores or any(c < 0 for c in cores):
        raise LatencyError(f"cores must be a non-empty list of core numbers (e.g. [7]), got {list(cores)!r}")
    return format(sum(1 << c for c in set(cores)), "x")


def online_cores(text: str) -> list[int]:
    """The core numbers of a sysfs cpu list such as '0-7' or '0-3,6' (/sys/devices/system/cpu/online)."""
    cores: set[int] = set()
    try:
        for part in text.strip().split(","):
            lo, _, hi = part.partition("-")
            cores.update(range(int(lo), int(hi or lo) + 1))
    except ValueError as err:
        raise LatencyError(f"cannot read the phone's core list {text!r} (/sys/devices/system/cpu/online)") from err
    return sorted(cores)


def parse_benchmark_output(text: str) -> BenchResult:
    """The timed pass of a benchmark_model log: its last 'count=... avg=...' or 'count=N curr=X(all same)' line."""
    matches = [m for m in (_COUNT_LINE.search(line) or _ALL_SAME.search(line) for line in text.splitlines()) if m]
    if matches and "curr" in matches[-1].groupdict():
        same = float(matches[-1].group("curr")) * 1e-3
        return BenchResult(same, same, same, same, 0.0, int(matches[-1].group("count")))
    if not matches:
        tail = "\n".join(text.strip().splitlines()[-5:])
        raise LatencyError(f"benchmark_model printed no timing line ('count=... avg=...' or 'count=N curr=X(all "
                           f"same)'); its output ended:\n{tail}")
    fields = {k: float(v) for k, v in _FIELD.findall(matches[-1].group(0))}
    for need in ("avg", "min", "max"):
        if need not in fields:
            raise LatencyError(f"benchmark_model timing line lacks {need}=: {matches[-1].group(0)!r}")
    ms = 1e-3
    return BenchResult(
        median_ms=fields.get("median", fields["avg"]) * ms,
        mean_ms=fields["avg"] * ms,
        p10_ms=fields.get("p5", fields["min"]) * ms,
        p90_ms=fields.get("p95", fields["max"]) * ms,
        stdev_ms=fields.get("std", 0.0) * ms,
        runs=int(fields["count"]),
    )


class AdbDevice:
    """One phone reached through `adb` (the executable is looked up on PATH unless given)."""

    def __init__(self, serial: str | None = None, adb: str = "adb",
                 benchmark_binary: str = f"{REMOTE_DIR}/benchmark_model", timeout_s: float = 600) -> None:
        self.serial, self.adb, self.binary, self.timeout_s = serial, adb, benchmark_binary, timeout_s

    def _run(self, *args: str) -> str:
        command = [self.adb, *(["-s", self.serial] if self.serial else []), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=self.timeout_s)
        except FileNotFoundError as err:
            raise LatencyError(f"adb executable {self.adb!r} not found; install Android platform-tools "
                               f"and put adb on PATH") from err
        except subprocess.TimeoutExpired as err:
            raise LatencyError(f"'{' '.join(command)}' did not finish in {self.timeout_s:.0f} s") from err
        if done.returncode != 0:
            raise LatencyError(f"'{' '.join(command)}' failed (exit {done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-500:]}; check 'adb devices'")
        return done.stdout

    def shell(self, command: str) -> str:
        return self._run("shell", command)

    def push(self, local: str | Path, remote: str) -> None:
        self._run("push", str(local), remote)

    def push_binary(self, local: str | Path) -> None:
        if not Path(local).is_file():
            raise LatencyError(f"benchmark binary {str(local)!r} does not exist on this machine; pass the path of a "
                               f"benchmark_model built for the phone's ABI (--benchmark-binary)")
        self.push(local, self.binary)
        self.shell(f"chmod 755 {shlex.quote(self.binary)}")

    def runtime(self) -> str:
        """'benchmark_model md5:<12 hex>' of the binary on the phone; a clear error when it is absent."""
        binary = shlex.quote(self.binary)
        out = self.shell(f"if [ -x {binary} ]; then md5sum {binary}; else echo {MISSING}; fi").strip()
        if out == MISSING:
            raise LatencyError(f"the phone has no executable {self.binary}; pass --benchmark-binary PATH (config: "
                               f"latency.adb_benchmark_binary), a benchmark_model built for the phone's ABI, to "
                               f"push it (see the docstring of latency/adb.py)")
        digest = out.split()[0] if out else ""
        return f"benchmark_model md5:{digest[:12]}" if re.fullmatch(r"[0-9a-f]{32}", digest) else "benchmark_model"

    def fingerprint(self) -> dict:
        props = {p: self.shell(f"getprop {p}").strip() for p in PROPS}
        cores = self.shell("cat /sys/devices/system/cpu/present").strip()
        online = self.shell("cat /sys/devices/system/cpu/online").strip()
        return {"cpu": props["ro.soc.model"] or props["ro.board.platform"],
                "device": f"{props['ro.product.manufacturer']} {props['ro.product.model']}".strip(),
                "cores": cores, "online": online, "abi": props["ro.product.cpu.abi"],
                "android": props["ro.build.version.release"],
                "build": props["ro.build.fingerprint"]}

    def benchmark(self, model: str | Path, cores: Sequence[int] = (0,), threads: int = 1, xnnpack: bool = True,
                  warmup_s: float = 0.5, min_runs: int = 50, min_time_s: float = 1.0,
                  warmup_runs: int = 1) -> BenchResult:
        """Push `model` and time it with benchmark_model pinned to `cores` (taskset)."""
        read_tflite(model)  # a clear error for a missing or non-TFLite file before touching the phone
        remote = f"{REMOTE_DIR}/{Path(model).name}"
        self.push(model, remote)
        args = [self.binary, f"--graph={remote}", f"--num_threads={threads}",
                f"--use_xnnpack={'true' if xnnpack else 'false'}", f"--warmup_runs={warmup_runs}",
                f"--warmup_min_secs={warmup_s}", f"--num_runs={min_runs}", f"--min_secs={min_time_s}"]
        output = self.shell(f"taskset {core_mask(cores)} " + " ".join(shlex.quote(a) for a in args))
        return parse_benchmark_output(output)
