"""`hwnas search` as a user runs it: SIGKILL the CLI process group after at least 3 completed
children, resume with --resume, and every child is in the final trials table exactly once; a third
run with --resume on the finished search trains nothing.

The children are real (Ray Tune trials training on the embedded data) and latency is the real
LiteRT lookup table filled lazily (latency.source auto) and calibrated at the first start (the
resumed run keeps that calibration); a two-stage space keeps the number of table entries to measure
small. On a loaded 2-core machine the first start took over 420 s (calibration, quiet pricing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from cli_process import run_cli

from models.spec import ArchSpec

CHILDREN = 8
TINY_SPACE = {
    "stem": "stem_c16_hs",
    "head": "head_c96_h128_hs",
    "choices": {"kernel": [3, 5], "expand": [3, 6], "se": [False, True], "depth": [0, 1], "width": [1.0]},
    "stages": [
        {"out": 16, "depth": 1, "stride": 2, "act": "re", "kernel": 3, "expand": 3, "se": False},
        {"out": 32, "depth": 1, "stride": 2, "act": "hs", "kernel": 3, "expand": 3, "se": False},
    ],
}


def write_config(tmp_path: Path) -> Path:
    space = tmp_path / "tiny-space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    config = {
        "name": "cli-search", "seed": 0, "output_dir": str(tmp_path / "runs"), "space": str(space),
        "data": {"kind": "embedded", "resolution": 32, "train_size": 64, "val_size": 32, "test_size": 16},
        "search": {
            "children": CHILDREN,
            "controller": {"batch_size": 2},
            "reward": {"kind": "mnasnet_soft", "target_ratio": 1.0, "w": -0.15},
            "child_training": {"steps": 2, "batch_size": 32, "eval_batch_size": 32, "bn_recalibration_batches": 1,
                               "device": "cpu", "torch_threads": 1},
        },
        "latency": {"source": "auto", "runs": 5, "live_span_s": 0, "live_max_span_s": 0},
        "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False},
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def hwnas_search(config: Path, *flags: str, kill_after: int | None = None, timeout: float = 900) -> tuple[int, str]:
    """Run `hwnas search CONFIG FLAGS`; with `kill_after`, SIGKILL it once trials.csv holds that many
    completed children. Returns (exit code or -9, output)."""
    log = config.parent / f"search-{len(list(config.parent.glob('search-*.log')))}.log"
    trials = config.parent / "runs" / "cli-search" / "trials.csv"

    def enough(_: str) -> bool:
        return kill_after is not None and trials.is_file() and len(pd.read_csv(trials)) >= kill_after

    return run_cli(["search", str(config), *flags], log, enough if kill_after is not None else None, timeout)


@pytest.mark.ray
@pytest.mark.slow
def test_cli_search_survives_sigkill_and_resumes(tmp_path) -> None:
    config = write_config(tmp_path)
    run_dir = tmp_path / "runs" / "cli-search"
    code, output = hwnas_search(config, kill_after=3)
    assert code == -9, f"the search finished before it could be killed:\n{output[-3000:]}"
    before = pd.read_csv(run_dir / "trials.csv")
    assert 3 <= len(before) < CHILDREN
    target = json.loads((run_dir / "reward_target.json").read_text())

    code, output = hwnas_search(config, "--resume")
    assert code == 0, output[-3000:]
    assert f"search: resumed with {len(before)} children done" in output
    after = pd.read_csv(run_dir / "trials.csv")
    assert sorted(after["index"]) == list(range(CHILDREN))  # every child exactly once
    assert after["trial_id"].is_unique and set(after["status"]) == {"ok"}
    kept = after.set_index("index").loc[before["index"]]
    for column in ("arch", "reward", "accuracy", "seed", "completed_at"):
        assert list(kept[column]) == list(before[column]), column
    assert set(after["target_ms"]) == {target["target_ms"]}  # the saved target, not a re-measured one
    assert after["entropy"].gt(0).all() and after["train_s"].gt(0).all()
    best = ArchSpec.load(run_dir / "best" / "arch.yaml")
    assert best.to_str() == after.sort_values("reward").iloc[-1]["arch"]
    assert sorted(p.name for p in (run_dir / "ray").glob("search-*")) == ["search-0", "search-1"]

    finished = (run_dir / "trials.csv").read_text()
    code, output = hwnas_search(config, "--resume", timeout=120)
    assert code == 0, output[-3000:]
    assert "nothing to train" in output
    assert (run_dir / "trials.csv").read_text() == finished
    assert not (run_dir / "ray" / "search-2").exists()
