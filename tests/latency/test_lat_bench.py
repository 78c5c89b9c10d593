"""Live benchmarks: result statistics, XNNPACK on/off, a hand-made quantized file, ONNX Runtime,
and clear errors for missing or non-TFLite files."""

from __future__ import annotations

import pytest

from latency.errors import LatencyError
from handmade import int8_conv_chain
from latency.litert_bench import benchmark_tflite, time_calls
from latency.onnx_bench import benchmark_onnx
from latency.stats import BenchResult


def test_time_calls_respects_min_runs_and_orders_statistics() -> None:
    result = time_calls(lambda: sum(range(100)), warmup_s=0.0, min_runs=60, min_time_s=0.0)
    assert result.runs >= 60
    assert result.p10_ms <= result.median_ms <= result.p90_ms
    assert result.stdev_ms >= 0


def test_benchmark_quantized_handmade_file_with_and_without_xnnpack(tmp_path) -> None:
    path = tmp_path / "int8.tflite"
    path.write_bytes(int8_conv_chain(size=8, channels=8, layers=2))
    for xnnpack in (True, False):
        result = benchmark_tflite(path, xnnpack=xnnpack, warmup_s=0.0, min_runs=50, min_time_s=0.0)
        assert isinstance(result, BenchResult) and result.runs >= 50 and result.median_ms > 0


def test_missing_and_non_tflite_files_are_clear_errors(tmp_path) -> None:
    with pytest.raises(LatencyError, match="does not exist"):
        benchmark_tflite(tmp_path / "nope.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_text("not a model at all")
    with pytest.raises(LatencyError, match="not a TFLite flatbuffer"):
        benchmark_tflite(junk)


def test_onnx_backend_same_interface(tmp_path) -> None:
    import torch

    from latency.export import export_onnx

    path = export_onnx(torch.nn.Conv2d(3, 4, 3), (1, 3, 16, 16), tmp_path / "conv.onnx")
    result = benchmark_onnx(path, warmup_s=0.0, min_runs=50, min_time_s=0.0)
    assert result.runs >= 50 and result.median_ms > 0
    with pytest.raises(LatencyError, match="does not exist"):
        benchmark_onnx(tmp_path / "missing.onnx")
