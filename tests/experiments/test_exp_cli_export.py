"""`hwnas export --weights`: a model trained by `hwnas train` exported as the pipeline's export phase
does (float .tflite and .onnx, an int8 .tflite calibrated on the config's training images), each file
checked against PyTorch on the test split and benchmarked live; plus the refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from cli_process import run_cli
from exp_helpers import BASE, TINY_ARCH, write_config
from PIL import Image

from experiments.cli import main
from experiments.rundir.manifest import file_sha256


def colour_folders(root: Path) -> Path:
    """Three classes of noisy single-colour images: a tiny net learns them in a few dozen steps."""
    rng = np.random.default_rng(0)
    for c, colour in enumerate(([255, 0, 0], [0, 255, 0], [0, 0, 255])):
        folder = root / f"c{c}"
        folder.mkdir(parents=True)
        for i in range(24):
            img = np.clip(np.array(colour) * 0.7 + rng.integers(0, 70, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(folder / f"{i}.png")
    return root


@pytest.mark.slow  # ~100 s on a busy 2-core machine (two conversions, an int8 calibration, four benchmarks)
def test_export_trained_weights_float_and_int8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(BASE)
    data["data"] = {"kind": "imagefolder", "path": str(colour_folders(tmp_path / "imgs")), "resolution": 32,
                    "val_fraction": 0.2, "test_fraction": 0.25}
    data["train"].update(batch_size=16, lr=0.5)
    data["latency"] = {"runs": 10}
    config = write_config(tmp_path, data)
    assert main(["train", str(config), "--arch", TINY_ARCH, "--steps", "60", "--no-progress", "name=trained"]) == 0
    run = tmp_path / "runs" / "trained"
    trained = json.loads((run / "metrics.json").read_text())
    assert trained["test_accuracy"] >= 0.6, "the model must have learned something to make the check meaningful"
    capsys.readouterr()

    out = tmp_path / "exported"
    code, printed = run_cli(["export", str(run / "arch.yaml"), "--weights", str(run / "weights.pt"), "--config",
                             str(config), "--int8", "--out", str(out)], tmp_path / "console.txt")
    assert code == 0, printed
    record = json.loads((out / "export.json").read_text())
    assert record["inputs"]["weights_sha256"] == file_sha256(run / "weights.pt")
    assert record["torch_test_accuracy"] == pytest.approx(trained["test_accuracy"])
    assert set(record["models"]) == {"tflite", "onnx", "tflite_int8"}
    for fmt in ("tflite", "onnx"):
        parity = record["models"][fmt]["parity"]
        assert parity["passed"] and parity["max_abs_diff"] <= 1e-4
        assert parity["accuracy"] == pytest.approx(trained["test_accuracy"])
    int8 = record["models"]["tflite_int8"]["parity"]
    assert int8["top1_agreement"] >= 0.9 and int8["accuracy"] >= trained["test_accuracy"] - 0.1
    assert all(entry["bench"]["median_ms"] > 0 for entry in record["models"].values())
    assert (out / "model_int8.tflite").is_file() and f"PyTorch test accuracy {trained['test_accuracy']:.4f}" in printed
    assert "model_int8.tflite: test accuracy" in printed and "live median" in printed
    noise = ("I0000", "Warning", "absl")  # the converter's and torchao's noise is kept in out/logs/ only
    assert not [n for n in noise if n in printed], printed
    log = "".join(path.read_text() for path in (out / "logs").iterdir())
    assert all(n in log for n in ("I0000", "absl"))  # the converter's native log; its Python warnings are silenced


def test_export_refuses_weights_without_a_config_and_mismatched_weights(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    assert main(["export", TINY_ARCH, "--int8", "--out", str(tmp_path / "x")]) == 2
    assert "--weights W and --config C go together" in capsys.readouterr().err
    assert main(["export", TINY_ARCH, "--format", "tflite", "--format", "onnx", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", str(config), "--arch", TINY_ARCH, "--no-progress", "name=w"]) == 0
    other = "stem_c8_hs-ir_k3_m16_c8_s2_re-head_c32_h64_hs"
    assert main(["export", other, "--weights", str(tmp_path / "runs" / "w" / "weights.pt"), "--config", str(config),
                 "--out", str(tmp_path / "x")]) == 2
    assert "does not hold a state_dict" in capsys.readouterr().err
    assert not (tmp_path / "x" / "export.json").exists()
