"""The adb backend against a fake `adb` on PATH that records its calls and answers like a phone."""

from __future__ import annotations

import json
import os
import stat
import sys

import pytest

from latency.adb import AdbDevice, core_mask, parse_benchmark_output
from latency.errors import LatencyError

BENCH_OUTPUT = """INFO: STARTING!
INFO: Graph: [/data/local/tmp/m.tflite]
INFO: Num threads: [1]
INFO: Running benchmark for at least 1 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=98 first=6012 curr=5120 min=5087 max=6012 avg=5160.1 std=88 p5=5090 median=5141 p95=5290

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=195 first=5133 curr=5121 min=5080 max=5702 avg=5149.5 std=61 p5=5088 median=5130 p95=5250

INFO: Inference timings in us: Init: 3050, First inference: 6012, Warmup (avg): 5160.1, Inference (avg): 5149.5
"""

FAKE_ADB = r'''#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:2] == ["-s", "PHONE1"]:
    args = args[2:]
if args[0] == "push":
    sys.exit(0)
command = args[1]
props = {{"ro.product.manufacturer": "Google", "ro.product.model": "Pixel 1", "ro.soc.model": "MSM8996",
          "ro.board.platform": "msm8996", "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "10",
          "ro.build.fingerprint": "google/sailfish/sailfish:10/QP1A/123:user/release-keys"}}
if command.startswith("getprop "):
    print(props.get(command.split()[1], ""))
elif command.startswith("cat /sys/devices/system/cpu/present"):
    print("0-3")
elif command.startswith("taskset "):
    print(open(os.environ["FAKE_BENCH_OUTPUT"]).read())
elif command.startswith("chmod "):
    pass
else:
    print("unknown command", command, file=sys.stderr)
    sys.exit(1)
'''


@pytest.fixture
def fake_adb(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    adb = bindir / "adb"
    adb.write_text(FAKE_ADB.format(python=sys.executable))
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "out.txt").write_text(BENCH_OUTPUT)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("FAKE_BENCH_OUTPUT", str(tmp_path / "out.txt"))
    return tmp_path


def _calls(root) -> list[list[str]]:
    return [json.loads(line) for line in (root / "calls.log").read_text().splitlines()]


def test_benchmark_pushes_pins_and_parses(fake_adb) -> None:
    model = fake_adb / "m.tflite"
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32)
    result = AdbDevice(serial="PHONE1").benchmark(model, cores=(2, 3), threads=2, xnnpack=False)
    assert result.median_ms == pytest.approx(5.130) and result.mean_ms == pytest.approx(5.1495)
    assert result.runs == 195 and result.p10_ms == pytest.approx(5.088) and result.p90_ms == pytest.approx(5.250)
    push, run = _calls(fake_adb)
    assert push == ["-s", "PHONE1", "push", str(model), "/data/local/tmp/m.tflite"]
    command = run[3]
    assert command.startswith("taskset c /data/local/tmp/benchmark_model --graph=/data/local/tmp/m.tflite")
    assert "--num_threads=2" in command and "--use_xnnpack=false" in command and "--min_secs=1.0" in command


def test_fingerprint_from_getprop(fake_adb) -> None:
    fp = AdbDevice().fingerprint()
    assert fp["cpu"] == "MSM8996" and fp["device"] == "Google Pixel 1" and fp["cores"] == "0-3"
    assert all(call[0] == "shell" for call in _calls(fake_adb))


def test_errors_are_clear(fake_adb, tmp_path) -> None:
    (fake_adb / "out.txt").write_text("ERROR: model failed to load\n")
    model = fake_adb / "m.tflite"
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32)
    with pytest.raises(LatencyError, match="no timing line"):
        AdbDevice().benchmark(model)
    with pytest.raises(LatencyError, match="not found"):
        AdbDevice(adb=str(tmp_path / "no-adb")).fingerprint()
    with pytest.raises(LatencyError, match="does not exist"):
        AdbDevice().benchmark(tmp_path / "missing.tflite")
    with pytest.raises(LatencyError, match="cores"):
        core_mask([])


def test_old_format_without_percentiles() -> None:
    text = "Timings (microseconds): count=50 first=100 curr=90 min=80 max=120 avg=95.5 std=9\n"
    result = parse_benchmark_output(text)
    assert result.median_ms == pytest.approx(0.0955) and result.p10_ms == pytest.approx(0.080)
    assert core_mask([7]) == "80"
