"""The pipeline's own logic without training: seed picking, default references, and phase
bookkeeping (a completed phase whose outputs exist is skipped on resume, one whose outputs vanished
runs again, nothing is skipped without --resume)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from experiments.config.schema import validate_config
from experiments.phases.pipeline import PHASES, Pipeline
from experiments.phases.references import default_references
from experiments.phases.seed import SeedError, pick_searched
from experiments.rundir.run_dir import RunDir


def test_pick_seed_by_reward_or_accuracy_among_finished_children() -> None:
    trials = pd.DataFrame({"index": [0, 1, 2, 3], "status": ["ok", "ok", "failed", "ok"],
                           "reward": [0.50, 0.61, 0.99, 0.58], "accuracy": [0.70, 0.60, 0.99, 0.65],
                           "arch": ["a", "b", "c", "d"], "latency_ms": [1.0, 0.5, 0.1, 0.8]})
    assert pick_searched(trials, "best_reward")["arch"] == "b"
    assert pick_searched(trials, "best_accuracy")["arch"] == "a"
    with pytest.raises(SeedError, match="no searched child finished"):
        pick_searched(trials[trials["status"] == "failed"], "best_reward")


def test_the_seed_is_a_child_within_the_target_when_one_finished() -> None:
    """A child over the reward's target (latency ratio > 1) seeds NetAdapt only when none is within it."""
    trials = pd.DataFrame({"index": [0, 1, 2], "status": ["ok", "ok", "ok"], "reward": [0.50, 0.61, 0.58],
                           "accuracy": [0.50, 0.62, 0.58], "arch": ["a", "b", "c"],
                           "latency_ms": [0.9, 1.02, 0.97], "latency_ratio": [0.9, 1.02, 0.97]})
    assert pick_searched(trials, "best_reward")["arch"] == "c"
    assert pick_searched(trials, "best_accuracy")["arch"] == "c"
    over = trials.assign(latency_ratio=[1.1, 1.02, 1.05])
    assert pick_searched(over, "best_reward")["arch"] == "b"


def test_default_references_follow_the_space_family() -> None:
    assert default_references("mnv3-small") == ["mobilenetv3-small", "mobilenetv3-small-0.75"]
    assert default_references("configs/spaces/mnv3-large.yaml") == ["mobilenetv3-large", "mobilenetv3-large-0.75"]


class CountingPipeline(Pipeline):
    """Phases that write one file each and record their calls."""

    calls: list[str]

    def steps(self) -> dict[str, Callable[[], list[str]]]:
        def fake(phase: str) -> Callable[[], list[str]]:
            def run() -> list[str]:
                self.calls.append(phase)
                self.run.write_text(f"{phase}.out", phase)
                return [f"{phase}.out"]
            return run
        return {phase: fake(phase) for phase in PHASES}


def make(tmp_path: Path, resume: bool) -> CountingPipeline:
    cfg = validate_config({"name": "p", "output_dir": str(tmp_path)}, check_files=False)
    pipe = CountingPipeline(cfg, RunDir(tmp_path / "p"), data=None, latency=None, resume=resume,  # type: ignore[arg-type]
                            log=lambda m: None)
    pipe.calls = []
    return pipe


def test_completed_phases_are_skipped_on_resume_only(tmp_path: Path) -> None:
    first = make(tmp_path, resume=False)
    phases = first.execute()
    assert first.calls == list(PHASES) and list(phases) == list(PHASES)
    assert json.loads((tmp_path / "p" / "phases.json").read_text())["search"]["outputs"] == ["search.out"]

    resumed = make(tmp_path, resume=True)
    resumed.execute()
    assert resumed.calls == []

    (tmp_path / "p" / "seed.out").unlink()  # an output lost after the phase completed: redo that phase
    again = make(tmp_path, resume=True)
    again.execute()
    assert again.calls == ["seed"]

    fresh = make(tmp_path, resume=False)
    fresh.execute()
    assert fresh.calls == list(PHASES)
