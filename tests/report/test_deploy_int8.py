"""The int8 option of `export_final`: litert-torch PT2E post-training quantization calibrated on
training images gives a fully integer .tflite whose top-1 agreement with PyTorch is reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from report_helpers import CLASSES, TINY, make_run

from experiments.config.schema import DataConfig
from experiments.data import load_data
from experiments.phases import export as deploy
from experiments.report import build_report
from latency.export import tflite_ops
from latency.measure import BenchSettings


def test_int8_export_is_quantized_and_its_agreement_reported(tmp_path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    data = load_data(DataConfig(kind="embedded", resolution=32, train_size=300, val_size=40, test_size=120), 0)
    run = make_run(tmp_path / "run", export=False)
    settings = BenchSettings(threads=1, warmup_s=0.05, min_runs=10, min_time_s=0.05)
    record = deploy.export_final(TINY, run / "final/weights.pt", run / "final", data, 32, CLASSES, [], True,
                                 settings, seed=3, log=lambda _: None)
    assert set(record["models"]) == {"tflite_int8"}
    entry = record["models"]["tflite_int8"]
    path = run / "final/model_int8.tflite"
    interp = Interpreter(model_path=str(path))
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    assert "CONV_2D" in tflite_ops(path) and "DEPTHWISE_CONV_2D" in tflite_ops(path)
    parity = entry["parity"]
    assert entry["dtype"] == "int8" and "passed" not in parity and parity["images"] == len(data.test)
    assert 0.5 < parity["top1_agreement"] <= 1.0
    assert parity["max_abs_diff"] > deploy.FLOAT_TOLERANCE  # quantized logits really differ from float ones
    assert record["inputs"]["calibration"] == {"split": "train", "images": deploy.CALIBRATION_IMAGES, "seed": 3}
    assert entry["bench"]["median_ms"] > 0 and entry["bench"]["xnnpack"] is True
    assert entry["bench_builtin_kernels"]["xnnpack"] is False and entry["bench_builtin_kernels"]["median_ms"] > 0
    assert "--no-xnnpack" in entry["bench_builtin_kernels"]["command"]
    card = build_report(run).read_text().split("## Final model card")[1]
    assert "`model_int8.tflite`" in card and f"top-1 agreement {parity['top1_agreement']:.4f}" in card
    assert "XNNPACK |" in card and "builtin kernels |" in card
