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


def netadapt_state(arch: str, *, target_ms: float, current: tuple[float, float], kept: list[tuple],
                   pending: list[tuple], control: float | None = None, latency_before: float | None = None):
    """A typed NetAdapt state: `kept` holds (kind, index, width_before, width_after, latency_before,
    latency_after, val_accuracy) per finished iteration; `pending` (kind, index, width_before, width_after,
    latency_after, val_accuracy or None, duration_s or None) for the iteration in flight."""
    from netadapt.config import LoopConfig
    from netadapt.records import Iteration, Kept, NetAdaptState, Proposed, Trial

    def trial(acc: float | None, seconds: float | None = None) -> Trial:
        return Trial(arch, "w.pt", acc, seconds)

    iterations = tuple(
        Iteration(k, 0.01, k, before, trial(acc + 0.01), (Proposed(kind, index, wb, wa, after, trial(acc)),),
                  chosen=f"{kind}{index}")
        for k, (kind, index, wb, wa, before, after, acc) in enumerate(kept))
    in_flight = Iteration(len(kept), 0.01, len(kept), current[0] if latency_before is None else latency_before,
                          trial(control), tuple(Proposed(kind, index, wb, wa, after, trial(acc, seconds))
                                                for kind, index, wb, wa, after, acc, seconds in pending))
    return NetAdaptState(LoopConfig(target_ms=target_ms, delta_ms=0.01), Kept(arch, "s.pt", 2.0, 0.8),
                         Kept(arch, "c.pt", *current), iterations, in_flight)
