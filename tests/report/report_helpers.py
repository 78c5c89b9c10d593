"""Helpers of the report and export tests: a synthetic run directory written file by file (small
hand-made CSV / JSON tables), a tiny architecture and weights with logits of a useful size."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch
import yaml
from torch import nn

from models.builder import build_model
from models.spec import ArchSpec

TINY = ArchSpec.from_str("stem_c8_hs-ir_k3_m16_c8_s2_se_re-ir_k5_m24_c8_s1_hs_res-head_c16_h32_hs")
CLASSES = 10
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# (latency_ms, accuracy) of the finished children; index 3 failed. Front by hand: 0, 1, 5 (see test).
CHILDREN = [(1.0, 0.50), (2.0, 0.70), (3.0, 0.60), (None, None), (2.5, 0.65), (4.0, 0.90), (1.5, 0.40), (2.0, 0.70)]
FRONT = [0, 1, 5]


def tiny_weights(path: Path, seed: int = 0) -> Path:
    """A state_dict of TINY whose logits are O(1) (the default init gives ~1e-4, too small to test parity)."""
    model = build_model(TINY, num_classes=CLASSES)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def trials_rows(entropy: bool = True) -> list[dict]:
    rows = []
    for i, (lat, acc) in enumerate(CHILDREN):
        ok = lat is not None
        row = {"index": i, "trial_id": f"t{i}", "status": "ok" if ok else "failed",
               "reason": None if ok else "loss is nan at step 3", "arch": f"arch-{i}", "accuracy": acc,
               "latency_ms": lat, "reward": acc * (lat / 2.0) ** -0.07 if ok else None, "seed": i,
               "log_prob": -3.0 + 0.1 * i, "suggested_at": 1000.0 + 10 * i, "completed_at": 1030.0 + 10 * i}
        if entropy:
            row["entropy"] = 3.2 - 0.1 * i
        rows.append(row)
    return rows


def make_run(root: Path, *, search: bool = True, entropy: bool = True, references: bool = True,
             netadapt: bool = True, final: bool = True, export: bool = True, fidelity: bool = True) -> Path:
    """A run directory with the chosen phases' outputs (hand-made numbers)."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"name": "synthetic", "data": {"kind": "embedded", "resolution": 32},
              "latency": {"source": "table", "backend": "litert", "threads": 1, "resolution": 32}}
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    write_json(root / "manifest.json", {"created": "2026-01-01T00:00:00Z", "git": {"commit": "abc123"},
                                        "device": {"cpu_model": "Test CPU"}})
    if search:
        write_csv(root / "trials.csv", trials_rows(entropy))
    if references:
        write_csv(root / "references.csv", [
            {"name": "mobilenetv3-small", "arch": "a", "val_accuracy": 0.72, "test_accuracy": 0.71, "latency_ms": 3.5,
             "params": 1_000_000, "madds": 5_000_000, "steps": 5000},
            {"name": "mobilenetv3-small-0.75", "arch": "b", "val_accuracy": 0.66, "test_accuracy": 0.65, "latency_ms": 2.8,
             "params": 700_000, "madds": 3_000_000, "steps": 5000,
             "recipe": "sgd lr 0.1 (warm-up 0, cosine), batch 128, label smoothing 0.1, 5000 steps from scratch"}])
    if netadapt:
        write_json(root / "seed/metrics.json", {"arch": "s", "val_accuracy": 0.7, "latency_ms": 3.0})
        write_csv(root / "netadapt/trajectory.csv", [
            {"iteration": -1, "latency_ms": 3.0, "val_accuracy": 0.70, "arch": "s"},
            {"iteration": 0, "latency_ms": 2.6, "val_accuracy": 0.68, "arch": "s0"},
            {"iteration": 1, "latency_ms": 2.2, "val_accuracy": 0.66, "arch": "s1"}])
        hist = []
        for it, (lat_before, control) in enumerate([(3.0, 0.70), (2.6, 0.68)]):
            for k in range(3):
                chosen = k == 1
                acc = control - 0.02 - 0.01 * abs(k - 1)
                hist.append({"iteration": it, "kind": "block", "index": k, "width_before": 24, "width_after": 16,
                             "latency_before": lat_before, "latency_after": lat_before - 0.4 + 0.05 * (k - 1),
                             "latency_cut": 0.4 - 0.05 * (k - 1), "delta_ms": 0.3, "failure": "" if k else "diverged",
                             "control_val_accuracy": control, "val_accuracy": acc, "delta_accuracy": acc - control,
                             "chosen": chosen, "duration_s": 4.0 + k, "arch": f"p{it}{k}"})
        write_csv(root / "netadapt/history.csv", hist)
        write_json(root / "netadapt/result.json", {"status": "met", "iterations": 2, "target_ms": 2.3,
                                                   "table_ms": 2.2, "live_ms": 2.3, "seed_table_ms": 3.0,
                                                   "seed_live_ms": 3.3, "final_arch": TINY.to_str()})
    if final:
        (root / "final").mkdir(parents=True, exist_ok=True)
        (root / "final/arch.yaml").write_text(TINY.to_yaml())
        tiny_weights(root / "final/weights.pt")
        write_json(root / "final/metrics.json", {"arch": TINY.to_str(), "test_accuracy": 0.655,
                                                 "val_accuracy": 0.66, "predicted_ms": 2.2, "data": {"classes": CLASSES}})
    if export:
        (root / "final/model.tflite").write_bytes(b"\0\0\0\0TFL3" + b"\0" * 100)
        write_json(root / "final/export.json", {
            "inputs": {"resolution": 32, "num_classes": CLASSES, "bench": {"threads": 1}},
            "torch_test_accuracy": 0.655,
            "models": {"tflite": {"path": "model.tflite", "sha256": "0" * 64, "size_bytes": 108, "dtype": "float32",
                                  "parity": {"max_abs_diff": 2e-6, "passed": True, "top1_agreement": 1.0,
                                             "accuracy": 0.655},
                                  "bench": {"median_ms": 2.5, "p10_ms": 2.4, "p90_ms": 2.7, "runs": 50,
                                            "runtime": "ai-edge-litert", "command": "hwnas bench final/model.tflite"}}}})
    if fidelity:
        write_csv(root / "latency/fidelity_32.csv", [
            {"name": "v3-small", "predicted_ms": 3.4, "measured_ms": 3.5},
            {"name": "rand-0", "predicted_ms": 1.0, "measured_ms": 1.2}])
    return root
