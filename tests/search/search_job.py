"""A search driver process for the resume test: `python search_job.py RUN_ROOT [--resume]`.

Runs a tiny search (embedded data, 6 children of 3 steps, 2 at a time, multiply-add latency proxy)
in `RUN_ROOT/tiny-search`, so a test can kill -9 it mid-search and run it again with --resume.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from experiments.config.schema import validate_config  # noqa: E402
from experiments.data import load_data  # noqa: E402
from experiments.phases.search import run_search  # noqa: E402
from experiments.ray_jobs.runtime import RayRuntime  # noqa: E402
from experiments.rundir.run_dir import RunDir  # noqa: E402
from latency.predict import MaddsLatency  # noqa: E402


def tiny_config(output_dir: Path, children: int = 6) -> dict:
    return {
        "name": "tiny-search", "seed": 0, "output_dir": str(output_dir), "space": "mnv3-small",
        "data": {"kind": "embedded", "resolution": 32, "train_size": 64, "val_size": 32, "test_size": 16},
        "search": {
            "algorithm": "reinforce", "children": children,
            "controller": {"hidden_size": 16, "embedding_size": 8, "batch_size": 2},
            "reward": {"kind": "mnasnet_soft", "target_ms": 0.2, "w": -0.15},
            "child_training": {"steps": 3, "epochs": None, "batch_size": 32, "eval_batch_size": 32,
                               "bn_recalibration_batches": 1, "device": "cpu"},
        },
        "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False},
    }


def main(root: Path, resume: bool) -> int:
    cfg = validate_config(tiny_config(root))
    run = RunDir.create(cfg, resume=resume)
    data = load_data(cfg.data, cfg.seed)
    with RayRuntime(cfg.ray, log_to_driver=False):
        top = run_search(cfg, run, data, MaddsLatency(cfg.data.resolution, num_classes=data.num_classes),
                         resume=resume)
    return 0 if top else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), "--resume" in sys.argv[2:]))
