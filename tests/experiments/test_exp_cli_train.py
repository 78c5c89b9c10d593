"""`hwnas train` end to end: on the embedded data and on an image-folder tree made here."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from exp_helpers import BASE, TINY_ARCH, write_config
from PIL import Image

from experiments.cli import main
from models import ArchSpec, build_model


def _check_outputs(run: Path, classes: int) -> dict[str, object]:
    for name in ("config.yaml", "manifest.json", "arch.yaml", "weights.pt", "metrics.json"):
        assert (run / name).is_file(), name
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    spec = ArchSpec.load(run / "arch.yaml")
    model = build_model(spec, num_classes=classes)
    model.load_state_dict(torch.load(run / "weights.pt", weights_only=True))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["arch"] == spec.to_str() == TINY_ARCH
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["steps"] == 3
    return metrics


def test_train_embedded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path)
    assert main(["train", str(path), "--arch", TINY_ARCH, "--no-progress", "name=emb"]) == 0
    metrics = _check_outputs(tmp_path / "runs" / "emb", classes=10)
    assert metrics["data"] == {"classes": 10, "resolution": 32, "train": 200, "val": 50, "test": 50}
    assert "test acc" in capsys.readouterr().out
    assert main(["train", str(path), "--arch", TINY_ARCH, "name=emb"]) == 2  # exists, no --resume
    assert main(["train", str(path), "--arch", TINY_ARCH, "name=emb", "--resume"]) == 0


def test_train_imagefolder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for c, colour in enumerate(([255, 0, 0], [0, 255, 0], [0, 0, 255])):
        folder = tmp_path / "imgs" / f"c{c}"
        folder.mkdir(parents=True)
        for i in range(12):
            img = np.clip(np.array(colour) * 0.7 + rng.integers(0, 70, (24, 24, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(folder / f"{i}.png")
    data = copy.deepcopy(BASE)
    data["data"] = {"kind": "imagefolder", "path": str(tmp_path / "imgs"), "resolution": 32,
                    "val_fraction": 0.2, "test_fraction": 0.2}
    data["train"]["batch_size"] = 8
    path = write_config(tmp_path, data)
    assert main(["train", str(path), "--arch", TINY_ARCH, "--steps", "3", "--no-progress"]) == 0
    metrics = _check_outputs(tmp_path / "runs" / "t", classes=3)
    assert metrics["data"] == {"classes": 3, "resolution": 32, "train": 22, "val": 7, "test": 7}


def test_train_bad_arch_exits_2_without_run_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(write_config(tmp_path)), "--arch", "stem_c16_hs-ir_k4_m16_c16_s2_re-head_c8_h8_hs"]) == 2
    assert "kernel" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_train_subprocess(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "experiments.cli", "train", str(path), "--arch", TINY_ARCH,
                           "train.steps=3", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _check_outputs(tmp_path / "runs" / "t", classes=10)
