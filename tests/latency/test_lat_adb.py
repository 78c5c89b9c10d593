"""The adb backend against the fake `adb` of adb_fake_helpers (on PATH; it records its calls and
checks the protocol as a phone would)."""

from __future__ import annotations

import hashlib
import shlex

import pytest

from adb_fake_helpers import calls, install_fake_adb, preinstall_binary
from latency.adb import AdbDevice, core_mask, online_cores, parse_benchmark_output
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

@pytest.fixture
def fake_adb(tmp_path, monkeypatch):
    root = install_fake_adb(tmp_path, monkeypatch, serials="PHONE1,PHONE2", cores="0-3")
    preinstall_binary(root)
    (root / "out.txt").write_text(BENCH_OUTPUT)
    monkeypatch.setenv("FAKE_BENCH_OUTPUT", str(root / "out.txt"))
    return root


def _model(root, name: str = "m.tflite"):
    model = root / name
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + b"\x00" * 32)
    return model


def test_benchmark_pushes_pins_and_parses(fake_adb) -> None:
    model = _model(fake_adb)
    result = AdbDevice(serial="PHONE1").benchmark(model, cores=(2, 3), threads=2, xnnpack=False)
    assert result.median_ms == pytest.approx(5.130) and result.mean_ms == pytest.approx(5.1495)
    assert result.runs == 195 and result.p10_ms == pytest.approx(5.088) and result.p90_ms == pytest.approx(5.250)
    push, run = calls(fake_adb)
    assert push == ["-s", "PHONE1", "push", str(model), "/data/local/tmp/m.tflite"]
    assert (fake_adb / "phone/data/local/tmp/m.tflite").read_bytes() == model.read_bytes()
    assert run[:3] == ["-s", "PHONE1", "shell"] and shlex.split(run[3]) == [
        "taskset", "c", "/data/local/tmp/benchmark_model", "--graph=/data/local/tmp/m.tflite", "--num_threads=2",
        "--use_xnnpack=false", "--warmup_runs=1", "--warmup_min_secs=0.5", "--num_runs=50", "--min_secs=1.0"]


def test_several_phones_need_a_serial(fake_adb) -> None:
    with pytest.raises(LatencyError, match="more than one device.*adb devices"):
        AdbDevice().fingerprint()
    with pytest.raises(LatencyError, match="'PHONE9' not found"):
        AdbDevice(serial="PHONE9").fingerprint()


def test_fingerprint_from_getprop(fake_adb) -> None:
    fp = AdbDevice(serial="PHONE2").fingerprint()
    assert fp["cpu"] == "MSM8996" and fp["device"] == "Google Pixel 1" and fp["cores"] == "0-3"
    assert fp["online"] == "0-3"
    assert fp["abi"] == "arm64-v8a" and fp["android"] == "10"
    assert all(call[2] == "shell" for call in calls(fake_adb))


def test_push_binary_and_runtime(fake_adb, tmp_path) -> None:
    device = AdbDevice(serial="PHONE1", benchmark_binary="/data/local/tmp/bm2")
    with pytest.raises(LatencyError, match="no executable /data/local/tmp/bm2.*--benchmark-binary"):
        device.runtime()
    with pytest.raises(LatencyError, match="does not exist on this machine.*--benchmark-binary"):
        device.push_binary(tmp_path / "nope")
    local = tmp_path / "benchmark_model"
    local.write_bytes(b"binary v2")
    device.push_binary(local)
    assert device.runtime() == f"benchmark_model md5:{hashlib.md5(b'binary v2').hexdigest()[:12]}"
    assert calls(fake_adb)[-2][-1] == "chmod 755 /data/local/tmp/bm2"  # pushed files are not executable


def test_errors_are_clear(fake_adb, tmp_path) -> None:
    (fake_adb / "out.txt").write_text("ERROR: model failed to load\n")
    model = _model(fake_adb)
    with pytest.raises(LatencyError, match="no timing line"):
        AdbDevice(serial="PHONE1").benchmark(model)
    with pytest.raises(LatencyError, match="not found"):
        AdbDevice(adb=str(tmp_path / "no-adb")).fingerprint()
    with pytest.raises(LatencyError, match="does not exist"):
        AdbDevice(serial="PHONE1").benchmark(tmp_path / "missing.tflite")
    with pytest.raises(LatencyError, match="cores"):
        core_mask([])
    with pytest.raises(LatencyError, match="Invalid argument"):  # the phone has cores 0-3 only
        AdbDevice(serial="PHONE1").benchmark(model, cores=(5,))


def test_old_format_without_percentiles() -> None:
    text = "Timings (microseconds): count=50 first=100 curr=90 min=80 max=120 avg=95.5 std=9\n"
    result = parse_benchmark_output(text)
    assert result.median_ms == pytest.approx(0.0955) and result.p10_ms == pytest.approx(0.080)
    assert core_mask([7]) == "80" and core_mask([4, 5]) == "30"
    assert online_cores("0-3,6") == [0, 1, 2, 3, 6] and online_cores("0") == [0]


def test_all_same_line_is_parsed() -> None:
    text = ("INFO: count=1 curr=6012(all same)\n"
            "INFO: Running benchmark for at least 50 iterations\n"
            "INFO: count=50 curr=5120(all same)\n"
            "INFO: Inference timings in us: Init: 3050, First inference: 6012, Inference (avg): 5120\n")
    result = parse_benchmark_output(text)
    assert result.median_ms == result.p10_ms == result.p90_ms == pytest.approx(5.120)
    assert result.runs == 50 and result.stdev_ms == 0.0
    mixed = "INFO: count=3 curr=900(all same)\nINFO: count=60 first=5 curr=4 min=3 max=9 avg=4.5 std=1\n"
    assert parse_benchmark_output(mixed).runs == 60  # the last timing line is the timed pass


def test_default_core_is_the_highest_online_one(tmp_path, monkeypatch) -> None:
    from latency.adb_measure import Phone

    root = install_fake_adb(tmp_path, monkeypatch, cores="0-7", online="0-5")  # cores 6 and 7 switched off
    preinstall_binary(root)
    phone = Phone.connect()
    assert phone.cores == [5] and "online" not in phone.fingerprint(1, True)
    with pytest.raises(LatencyError, match=r"cores \[7\] are not online.*online cores are 0-5"):
        Phone.connect(cores=[7])
