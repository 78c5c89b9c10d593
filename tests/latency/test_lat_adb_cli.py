"""`hwnas bench --backend adb` and `hwnas latency build --backend adb` against the fake phone of
adb_fake_helpers: what is pushed where, the taskset mask, benchmark_model's flags, the fingerprint,
resuming, and the errors (no binary on the phone, another phone's table) that exit 2."""

from __future__ import annotations

import json
import shlex

import pytest
from adb_fake_helpers import (
    bench_calls,
    calls,
    fake_median_ms,
    host_binary,
    install_fake_adb,
    preinstall_binary,
)
from latency_helpers import TINY_ARCH

from experiments.cli import main
from latency.adb_measure import Phone, phone_settings
from handmade import int8_conv_chain
from latency.keys import piece_key
from latency.pieces import arch_pieces
from latency.stats import BenchResult
from latency.table import LatencyTable
from models.references import REFERENCES

TINY_SPACE = """\
stem: stem_c8_hs
head: head_c16_h32_hs
choices: {kernel: [3], expand: [1], se: [false], depth: [0], width: [1.0]}
stages:
  - {out: 8, depth: 1, stride: 2, act: re, kernel: 3, expand: 1, se: false}
"""
TINY_SPACE_KEYS = {"s|32|3|stem_c8_hs", "b|16|8|ir_k3_m8_c8_s2_re", "h|8|8|head_c16_h32_hs|1000"}


@pytest.fixture
def phone(tmp_path, monkeypatch):
    return install_fake_adb(tmp_path, monkeypatch)  # one phone, cores 0-7, no benchmark_model yet


def _model(root):
    path = root / "int8.tflite"
    path.write_bytes(int8_conv_chain(size=8, channels=8, layers=1))
    return path


def test_bench_pushes_binary_and_model_pins_and_prints_json(phone, capsys) -> None:
    model = _model(phone)
    argv = ["bench", str(model), "--backend", "adb", "--benchmark-binary", str(host_binary(phone)),
            "--cores", "4,5", "--threads", "2", "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["median_ms"] == pytest.approx(fake_median_ms(model.stat().st_size), abs=1e-4)
    assert record["p10_ms"] < record["median_ms"] < record["p90_ms"] and record["runs"] == 50
    fp = record["fingerprint"]
    assert fp["device"] == "Google Pixel 1" and fp["cpu"] == "MSM8996" and fp["android"] == "10"
    assert fp["pinned_cores"] == [4, 5] and fp["threads"] == 2 and fp["runtime"].startswith("benchmark_model md5:")
    assert record["runtime"] == fp["runtime"]
    pushes = [c[1:] for c in calls(phone) if c[0] == "push"]
    assert pushes == [[str(phone / "benchmark_model"), "/data/local/tmp/benchmark_model"],
                      [str(model), "/data/local/tmp/int8.tflite"]]
    [command] = bench_calls(phone)
    assert shlex.split(command)[:5] == ["taskset", "30", "/data/local/tmp/benchmark_model",
                                         "--graph=/data/local/tmp/int8.tflite", "--num_threads=2"]
    assert "--use_xnnpack=true" in command and "--num_runs=50" in command and "--warmup_min_secs=0.5" in command


def test_bench_an_arch_on_the_highest_core_with_the_binary_already_there(phone, capsys) -> None:
    preinstall_binary(phone)
    assert main(["bench", TINY_ARCH.to_str(), "--resolution", "32", "--backend", "adb", "--no-xnnpack"]) == 0
    out = capsys.readouterr().out
    assert "on Google Pixel 1 (MSM8996), cores [7]" in out and "median" in out
    [command] = bench_calls(phone)
    assert command.startswith("taskset 80 /data/local/tmp/benchmark_model --graph=/data/local/tmp/hwnas_model.tflite")
    assert "--use_xnnpack=false" in command
    assert not any(c[0] == "push" and c[-1].endswith("benchmark_model") for c in calls(phone))


def test_bench_errors_exit_2(phone, capsys) -> None:
    model = _model(phone)
    assert main(["bench", str(model), "--backend", "adb"]) == 2
    err = capsys.readouterr().err
    assert "no executable /data/local/tmp/benchmark_model" in err and "--benchmark-binary" in err
    assert main(["bench", str(model), "--backend", "adb", "--benchmark-binary", str(phone / "missing")]) == 2
    assert "does not exist on this machine" in capsys.readouterr().err
    preinstall_binary(phone)
    assert main(["bench", str(model), "--backend", "adb", "--cores", "9"]) == 2
    assert "cores [9] are not online on Google Pixel 1 (its online cores are 0-7" in capsys.readouterr().err
    assert main(["bench", str(phone / "m.onnx"), "--backend", "adb"]) == 2
    assert "is ONNX" in capsys.readouterr().err
    assert main(["bench", str(model), "--cores", "4"]) == 2
    assert "--cores only apply to --backend adb" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", str(model), "--backend", "adb", "--cores", "big"])
    assert exit_info.value.code == 2 and "core numbers separated by commas" in capsys.readouterr().err
    assert bench_calls(phone) == []


def _reference_entries(path, fingerprint) -> None:
    """A phone table holding the references' keys at 32 px (the part an interrupted build left)."""
    table = LatencyTable.create(path, fingerprint, 1000, phone_settings().to_dict())
    for name in ("mobilenetv3-large", "mobilenetv3-small"):
        for piece in arch_pieces(REFERENCES[name], 32, 1000):
            table.put(piece_key(piece), BenchResult(0.5, 0.5, 0.4, 0.6, 0.05, 50), 32)
    table.save()


def test_table_build_on_the_phone_resumes_and_refuses_another_setting(phone, tmp_path, capsys) -> None:
    space, out = tmp_path / "tiny.yaml", tmp_path / "phone.json"
    space.write_text(TINY_SPACE)
    fingerprint = Phone.connect(benchmark_binary=host_binary(phone)).fingerprint(threads=1, xnnpack=True)
    _reference_entries(out, fingerprint)
    before = len(LatencyTable.load(out))
    argv = ["latency", "build", "--space", str(space), "--resolution", "32", "--out", str(out), "--workers", "1",
            "--backend", "adb", "--classes", "1000"]
    assert main(argv) == 0
    assert "3 entries measured" in capsys.readouterr().out
    table = LatencyTable.load(out, device=fingerprint)
    assert set(table.entries) - {k for k in table.entries if table.entries[k].median_ms == 0.5} == TINY_SPACE_KEYS
    assert len(table) == before + 3 and table.metadata["fingerprint"] == fingerprint
    assert table.metadata["bench"]["flush_mb"] == 0.0
    for key in TINY_SPACE_KEYS:  # the fake phone's median follows the file size: equal windows, 20 runs each
        entry = table.entries[key]
        assert len(set(entry.windows_ms)) == 1 and len(entry.windows_ms) == 3 and entry.runs == 60
        assert entry.median_ms == pytest.approx(entry.windows_ms[0] - table.metadata["floor_ms"])
    commands = bench_calls(phone)  # 3 rounds of: floor, canary, the 3 keys
    assert len(commands) == 15 and all(c.startswith("taskset 80 ") and "--min_secs=0.15" in c for c in commands)

    assert main(argv) == 0  # resumed: nothing left to measure
    assert "0 entries measured" in capsys.readouterr().out and len(bench_calls(phone)) == 15

    saved = out.read_bytes()
    assert main([*argv, "--cores", "4"]) == 2
    err = capsys.readouterr().err
    assert "another device or setting" in err and "pinned_cores: table [7], device [4]" in err
    assert main([*argv, "--pin-core", "1"]) == 2
    assert "on the phone pass --cores" in capsys.readouterr().err
    assert main([*argv, "--flush-mb", "3"]) == 2
    assert "warm loop" in capsys.readouterr().err
    assert out.read_bytes() == saved and len(bench_calls(phone)) == 15
