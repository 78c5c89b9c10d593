"""Helpers for the NetAdapt runner tests: a tiny config, a tiny seed arch, a deterministic latency."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

TINY_SEED = "stem_c16_hs-ir_k3_m32_c16_s2_re-ir_k3_m48_c24_s2_se_hs-ir_k3_m64_c24_s1_hs_res-head_c64_h96_hs"

CONFIG: dict[str, Any] = {
    "name": "na",
    "seed": 0,
    "data": {"kind": "embedded", "resolution": 32, "train_size": 128, "val_size": 64, "test_size": 64,
             "augment": True},
    "space": "mnv3-small",
    "train": {"steps": 4, "batch_size": 32, "eval_batch_size": 64, "torch_threads": 1, "device": "cpu",
              "bn_recalibration_batches": 2},
    "netadapt": {"target_ratio": 0.75, "delta_ratio": 0.1, "finetune_steps": 3, "final_steps": 4},
    "latency": {"runs": 20},
    "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False},
}


def config_dict(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    """CONFIG with output_dir in `tmp_path`; keyword arguments update whole top-level sections."""
    data = copy.deepcopy(CONFIG)
    data["output_dir"] = str(tmp_path / "runs")
    for key, value in sections.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and key in data else value
    return data


def write_config(tmp_path: Path, **sections: Any) -> Path:
    path = tmp_path / "netadapt.yaml"
    path.write_text(yaml.safe_dump(config_dict(tmp_path, **sections), sort_keys=False))
    return path


def comparable_history(rows: list[dict]) -> list[dict]:
    """History rows without their wall-clock durations."""
    return [{k: v for k, v in row.items() if k != "duration_s"} for row in rows]
