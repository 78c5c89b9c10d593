"""Helpers shared by the experiments tests: a small valid config written into a temporary directory."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

BASE: dict[str, Any] = {
    "name": "t",
    "seed": 0,
    "data": {"kind": "embedded", "resolution": 32, "train_size": 200, "val_size": 50, "test_size": 50},
    "space": "mnv3-small",
    "train": {"steps": 3, "batch_size": 32, "eval_batch_size": 64, "torch_threads": 1},
    "search": {"reward": {"kind": "mnasnet_soft", "target_ms": 1.0, "w": -0.15}, "children": 4,
               "child_training": {"steps": 2, "batch_size": 32}},
    "netadapt": {"target_ratio": 0.7, "finetune_steps": 2, "final_steps": 2},
    "ray": {"num_cpus": 1, "max_concurrent_trials": 1},
}

TINY_ARCH = "stem_c8_hs-ir_k3_m16_c8_s2_re-ir_k3_m24_c16_s2_se_hs-head_c32_h64_hs"


def write_config(tmp_path: Path, data: dict[str, Any] | None = None, name: str = "config.yaml") -> Path:
    """Write `data` (default: BASE) with output_dir inside tmp_path; returns the YAML path."""
    data = copy.deepcopy(BASE if data is None else data)
    data.setdefault("output_dir", str(tmp_path / "runs"))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
