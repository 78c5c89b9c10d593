"""`export_final` on a tiny real model: .onnx and float .tflite written, parity checked against
PyTorch on the test split, each file benchmarked live, export.json recorded and reused on resume,
redone when the weights or a file change; then the report's model card built from that export.
The int8 file is tested in test_deploy_int8.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from report_helpers import CLASSES, TINY, make_run, tiny_weights

from experiments.config.errors import DataError, RunDirError
from experiments.config.schema import DataConfig, TrainingConfig
from experiments.data import load_data
from experiments.data.types import DataBundle
from experiments.phases import export as deploy
from experiments.report import build_report
from experiments.rundir.manifest import file_sha256
from experiments.training.loop import evaluate, make_loader
from latency.measure import BenchSettings

QUICK = BenchSettings(threads=1, warmup_s=0.05, min_runs=10, min_time_s=0.05)


@pytest.fixture(scope="module")
def data() -> DataBundle:
    return load_data(DataConfig(kind="embedded", resolution=32, train_size=300, val_size=40, test_size=120), 0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, data: DataBundle) -> tuple[Path, dict, list[str]]:
    run = make_run(tmp_path_factory.mktemp("deploy") / "run", export=False)
    logs: list[str] = []
    record = deploy.export_final(TINY, run / "final/weights.pt", run / "final", data, 32, CLASSES, ["tflite", "onnx"],
                                 False, QUICK, log=logs.append)
    return run, record, logs


def test_files_are_written_and_recorded(exported: tuple[Path, dict, list[str]]) -> None:
    run, record, _ = exported
    assert set(record["models"]) == {"tflite", "onnx"}
    assert not (run / "final/model_int8.tflite").exists() and record["inputs"]["calibration"] is None
    for fmt, name in (("tflite", "model.tflite"), ("onnx", "model.onnx")):
        entry = record["models"][fmt]
        path = run / "final" / name
        assert entry["path"] == name and entry["sha256"] == file_sha256(path)
        assert entry["size_bytes"] == path.stat().st_size
        bench = entry["bench"]
        assert bench["runs"] >= QUICK.min_runs and 0 < bench["p10_ms"] <= bench["median_ms"] <= bench["p90_ms"]
        assert bench["command"].startswith(f"hwnas bench {path}")
        assert "bench_builtin_kernels" not in entry
    assert (run / "final/model.tflite").read_bytes()[4:8] == b"TFL3"
    assert json.loads((run / "final/export.json").read_text()) == record


def test_float_parity_and_torch_accuracy(exported: tuple[Path, dict, list[str]], data: DataBundle) -> None:
    run, record, logs = exported
    model = deploy.load_model(TINY, run / "final/weights.pt", CLASSES)
    expected = evaluate(model, make_loader(data, "test", TrainingConfig(steps=1, channels_last=False, device="cpu")))
    assert record["torch_test_accuracy"] == pytest.approx(expected.accuracy)
    for fmt in ("tflite", "onnx"):
        parity = record["models"][fmt]["parity"]
        assert parity["passed"] is True and parity["images"] == len(data.test)
        assert parity["max_abs_diff"] <= deploy.FLOAT_TOLERANCE
        assert parity["top1_agreement"] == 1.0
        assert parity["accuracy"] == pytest.approx(expected.accuracy)
    assert any("model.tflite: max |diff|" in line for line in logs)


def test_second_call_reuses_the_record(exported: tuple[Path, dict, list[str]], data: DataBundle) -> None:
    run, record, _ = exported
    stamps = {p.name: p.stat().st_mtime_ns for p in (run / "final").iterdir()}
    logs: list[str] = []
    again = deploy.export_final(TINY, run / "final/weights.pt", run / "final", data, 32, CLASSES, ["tflite", "onnx"],
                                False, QUICK, log=logs.append)
    assert again == record and any("up to date; skipped" in line for line in logs)
    assert {p.name: p.stat().st_mtime_ns for p in (run / "final").iterdir()} == stamps


def test_report_model_card_from_the_real_export(exported: tuple[Path, dict, list[str]]) -> None:
    run, record, _ = exported
    text = build_report(run).read_text()
    card = text[text.index("## Final model card"):]
    for name in ("model.tflite", "model.onnx"):
        assert f"`{name}`" in card and f"`final/{name}`" in card
    median = record["models"]["tflite"]["bench"]["median_ms"]
    assert f"| measured latency, model.tflite (ms) | {median:.4f} |" in card
    assert card.count("(ok)") == 2 and "FAILED" not in card


def test_changed_weights_or_files_redo_the_export(tmp_path: Path, data: DataBundle) -> None:
    weights = tiny_weights(tmp_path / "weights.pt", seed=1)
    (tmp_path / "model_int8.tflite").write_bytes(b"left by an export with int8 on")
    first = deploy.export_final(TINY, weights, tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK, log=lambda _: None)
    assert not (tmp_path / "model_int8.tflite").exists()
    tiny_weights(weights, seed=2)
    second = deploy.export_final(TINY, weights, tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK, log=lambda _: None)
    assert second["inputs"]["weights_sha256"] != first["inputs"]["weights_sha256"]
    assert second["models"]["onnx"]["sha256"] != first["models"]["onnx"]["sha256"]
    (tmp_path / "model.onnx").write_bytes(b"tampered")
    logs: list[str] = []
    third = deploy.export_final(TINY, weights, tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK, log=logs.append)
    assert not any("skipped" in line for line in logs)
    assert third["models"]["onnx"]["sha256"] == file_sha256(tmp_path / "model.onnx") == second["models"]["onnx"]["sha256"]


def test_parity_failure_raises_and_is_recorded(tmp_path: Path, data: DataBundle,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tiny_weights(tmp_path / "weights.pt")
    monkeypatch.setattr(deploy, "FLOAT_TOLERANCE", -1.0)
    with pytest.raises(deploy.ParityError, match="model.onnx differ"):
        deploy.export_final(TINY, weights, tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK, log=lambda _: None)
    assert json.loads((tmp_path / "export.json").read_text())["models"]["onnx"]["parity"]["passed"] is False
    with pytest.raises(deploy.ParityError):  # a resume does not accept the failed export either
        deploy.export_final(TINY, weights, tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK, log=lambda _: None)


def test_bad_inputs_are_named(tmp_path: Path, data: DataBundle) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        deploy.export_final(TINY, tmp_path / "none.pt", tmp_path, data, 32, CLASSES, ["onnx"], False, QUICK)
    weights = tiny_weights(tmp_path / "weights.pt")
    with pytest.raises(DataError, match="exported with 7 classes"):
        deploy.export_final(TINY, weights, tmp_path, data, 32, 7, ["onnx"], False, QUICK)
    torch.save({"not": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(RunDirError, match="does not hold a state_dict"):
        deploy.load_model(TINY, tmp_path / "other.pt", CLASSES)


def test_export_at_the_latency_resolution_checks_on_resized_images(tmp_path: Path, data: DataBundle) -> None:
    """A model trained at 32 px, exported at 64 px (the resolution its latency is timed at): the file
    takes 64 px inputs, parity is checked on the test images resized to 64 px, and the record says so."""
    weights = tiny_weights(tmp_path / "weights.pt")
    record = deploy.export_final(TINY, weights, tmp_path, data, 64, CLASSES, ["tflite"], False, QUICK,
                                 log=lambda _: None)
    assert record["inputs"]["resolution"] == 64 and record["inputs"]["data_resolution"] == 32
    parity = record["models"]["tflite"]["parity"]
    assert parity["passed"] and parity["images"] == len(data.test)
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(tmp_path / "model.tflite"))
    assert tuple(interpreter.get_input_details()[0]["shape"]) == (1, 64, 64, 3)
