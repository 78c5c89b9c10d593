"""The in-context piece protocol: untimed work before each timed call, the flushed benchmark, the
invoke floor, the flush default, and tables that refuse entries timed with another protocol."""

from __future__ import annotations

import argparse
import time

import pytest
from latency_helpers import FAST, TINY_ARCH

from experiments.cli import main
from experiments.commands.latency import REFERENCE_NAMES, sampled_archs
from latency.errors import LatencyError
from handmade import int8_conv_chain
from latency.floor import floor_model
from latency.keys import arch_keys
from latency.litert_bench import LiteRTTimer, benchmark_tflite, default_flush_mb, time_calls
from latency.measure import BenchSettings
from latency.stats import BenchResult
from latency.table import LatencyTable


def test_before_runs_untimed_before_every_timed_call() -> None:
    calls: list[str] = []
    result = time_calls(lambda: calls.append("call"), warmup_s=0.0, min_runs=20, min_time_s=0.0,
                        before=lambda: (calls.append("before"), time.sleep(0.002)))
    timed = calls[1:]  # the first call is the warm-up
    assert timed == ["before", "call"] * result.runs and result.runs >= 20
    assert result.median_ms < 1.0  # the 2 ms sleeps in `before` are not timed


def test_in_context_benchmark_runs_and_rejects_negative_flush(tmp_path) -> None:
    path = tmp_path / "int8.tflite"
    path.write_bytes(int8_conv_chain(size=8, channels=8, layers=2))
    result = benchmark_tflite(path, warmup_s=0.0, min_runs=10, min_time_s=0.0, flush_mb=0.5)
    assert result.runs >= 10 and result.median_ms > 0
    with pytest.raises(LatencyError, match="flush_mb"):
        benchmark_tflite(path, flush_mb=-1)


def test_the_invoke_floor_is_a_trivial_model_cheaper_than_any_piece(tmp_path) -> None:
    floor = LiteRTTimer(floor_model(), flush_mb=0.5, warmup_s=0.0, min_runs=50, min_time_s=0.0)
    chain = LiteRTTimer(int8_conv_chain(size=16, channels=16, layers=2), flush_mb=0.5, warmup_s=0.0, min_runs=50,
                        min_time_s=0.0)
    windows = [(floor.window().median_ms, chain.window().median_ms) for _ in range(3)]
    assert all(0 < f < c for f, c in windows)


def test_default_flush_is_larger_than_a_cache_and_stored_with_the_settings() -> None:
    assert 0.1 < default_flush_mb() < 1024
    assert BenchSettings().to_dict()["flush_mb"] == default_flush_mb()


def test_settings_of_a_table_keep_its_protocol() -> None:
    stored = BenchSettings(warmup_s=0.2, min_runs=50, min_time_s=0.5, flush_mb=4.5, windows=5).to_dict()
    assert BenchSettings.of_table(stored, 2, False) == BenchSettings(2, False, 0.2, 50, 0.5, 4.5, windows=5)
    with pytest.raises(LatencyError, match="flush_mb=0.0"):
        BenchSettings(flush_mb=3.0).check_same_protocol({**stored, "flush_mb": 0.0}, "table 't.json'")
    with pytest.raises(LatencyError, match="dtype must be one of float32, int8"):
        BenchSettings(dtype="float16")


def test_build_refuses_to_mix_protocols_and_keeps_the_table(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    table = LatencyTable.create(path, device, 1000, {**FAST.to_dict(), "flush_mb": 0.0})
    for key in arch_keys(TINY_ARCH, 32, 1000):
        table.put(key, BenchResult(0.1, 0.1, 0.09, 0.11, 0.01, 50), 32)
    table.save()
    before = path.read_bytes()
    assert main(["latency", "build", "--out", str(path), "--classes", "1000", "--resolution", "32",
                 "--flush-mb", "3"]) == 2
    assert "would not sum alike" in capsys.readouterr().err
    assert path.read_bytes() == before
    assert main(["latency", "build", "--out", str(tmp_path / "u.json"), "--classes", "10", "--flush-mb", "-2"]) == 2
    assert "--flush-mb" in capsys.readouterr().err


def test_calibration_archs_exclude_the_validated_references() -> None:
    args = argparse.Namespace(space="mnv3-small", seed=100, samples=4)
    names = [name for name, _ in sampled_archs(args, references=False)]
    assert len(names) == 4 and not set(names) & set(REFERENCE_NAMES)
    assert [name for name, _ in sampled_archs(args)][:2] == list(REFERENCE_NAMES)
