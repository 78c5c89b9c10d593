"""Helpers for the pipeline tests: a tiny space and run config that exercise every phase in minutes
(real Ray, real LiteRT table filled lazily, real exports), and a runner for `hwnas run` that can
SIGKILL it when a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from cli_process import run_cli

SPACE = """\
stem: stem_c16_hs
head: head_c96_h128_hs
choices:
  kernel: [3, 5]
  expand: [4, 6]
  se: [false, true]
  depth: [0]
  width: [1.0]
stages:
  - {out: 16, depth: 1, stride: 2, act: re, kernel: 3, expand: 4, se: false}
  - {out: 32, depth: 2, stride: 2, act: hs, kernel: 3, expand: 6, se: false}
"""


def tiny_config(tmp_path: Path, **sections: Any) -> Path:
    """A run config over a 2-stage space with 4 children, 2 references and a short NetAdapt."""
    (tmp_path / "tiny-space.yaml").write_text(SPACE)
    cfg: dict[str, Any] = {
        "name": "pipe",
        "seed": 0,
        "output_dir": str(tmp_path / "runs"),
        "data": {"kind": "embedded", "resolution": 32, "train_size": 256, "val_size": 64, "test_size": 64},
        "space": str(tmp_path / "tiny-space.yaml"),
        "train": {"steps": 6, "batch_size": 32, "eval_batch_size": 64, "torch_threads": 1,
                  "bn_recalibration_batches": 2},
        "search": {"reward": {"target_ratio": 1.0, "w": -0.15}, "children": 4,
                   "controller": {"batch_size": 2},
                   "child_training": {"steps": 4, "batch_size": 32, "torch_threads": 1,
                                      "bn_recalibration_batches": 2}},
        "netadapt": {"target_ratio": 0.85, "delta_ratio": 0.05, "finetune_steps": 3, "final_steps": 4,
                     "max_iterations": 4},
        "latency": {"source": "auto", "table": str(tmp_path / "table.json"), "runs": 20, "live_span_s": 0,
                    "live_max_span_s": 0},
        "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False},
        "pipeline": {"references": ["mobilenetv3-small-0.35"]},
        "export": {"formats": ["tflite", "onnx"]},
    }
    for key, value in sections.items():
        cfg[key] = {**cfg[key], **value} if isinstance(value, dict) and key in cfg else value
    path = tmp_path / "pipe.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def hwnas_run(config: Path, *args: str, kill_when: Callable[[str], bool] | None = None,
              timeout_s: float = 600) -> tuple[int, str]:
    """`hwnas run CONFIG ARGS`, SIGKILLed when `kill_when(output so far)` holds (see cli_process)."""
    log = config.with_name(f"log-{time.monotonic_ns()}.txt")
    return run_cli(["run", str(config), *args], log, kill_when, timeout_s)
