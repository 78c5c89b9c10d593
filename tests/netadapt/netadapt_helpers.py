"""Helpers for the NetAdapt tests: a tiny config and seed arch for the runner; a two-block spec,
its hand-made latency and scripted fine-tune results for hand-computed loop tests."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from models.spec import ArchSpec
from netadapt.history import history_rows
from netadapt.loop import Job, JobFailed
from netadapt.state import load_state

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
    "latency": {"runs": 20, "live_span_s": 0, "live_max_span_s": 0},  # tiny models; spans: test_lat_build
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


def comparable_history(state_path: Path) -> list[dict]:
    """The history rows of a saved state, without their wall-clock durations."""
    return [{k: v for k, v in dataclasses.asdict(row).items() if k != "duration_s"}
            for row in history_rows(load_state(state_path))]


# Two blocks, both with an expansion conv (each reads 8 channels and expands to 24).
SPEC = ArchSpec.from_str("stem_c8_hs-ir_k3_m24_c8_s2_re-ir_k3_m24_c16_s2_se_hs-head_c32_h64_hs")


def hand_latency(spec: ArchSpec) -> float:
    """sum(mid) + 2 x sum(out) "ms": SPEC costs 48 + 2 x 24 = 96. With delta 8, by hand (mid 8 would
    equal the input width and remove the expansion conv, so it is never proposed):
      mid0   24 -> 16: 16 + 24 + 2 x 24 = 88 (cut 8)
      mid1   24 -> 16: 24 + 16 + 2 x 24 = 88 (cut 8)
      group0 (block 0 out 8): nothing below 8 -> skipped
      group1 16 -> 8 : 48 + 2 x (8 + 8) = 80 (cut 16)"""
    return float(sum(b.mid for b in spec.blocks) + 2 * sum(b.out for b in spec.blocks))


def scripted(results: dict[str, float | JobFailed]):
    """A `run_jobs` that reports `results[job.key]` for each job (weights written for successes)."""
    def run_jobs(jobs: list[Job]):
        for job in jobs:
            if not isinstance(results[job.key], JobFailed):
                Path(job.weights_out).parent.mkdir(parents=True, exist_ok=True)
                Path(job.weights_out).write_text(job.arch)
            yield job, results[job.key]
    return run_jobs
