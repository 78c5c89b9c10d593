"""A run is deterministic for its seed (issue 16): the same small config run twice, with real Ray
and a real LiteRT table shared by both runs (the second prices everything from the entries the first
measured), samples the same children in the same order and keeps the same NetAdapt proposals, whatever
order its trials and fine-tunes happened to finish in. Both runs are uncalibrated: a calibration is
timed live in each run, and on a noisy host two fits around NetAdapt's seed priced its cuts differently
(one run kept 2 steps, the other fitted a negative slope and stopped at once), which is measurement,
not the run's determinism."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pipeline_helpers import hwnas_run, tiny_config

ONE_SHOT = {"strategy": "one_shot", "one_shot": {"steps": 8, "samples_per_step": 2, "warmup_fraction": 0.25,
                                                 "batch_size": 16, "val_batch_size": 16, "top_k": 2,
                                                 "checkpoint_every": 4, "uniform_samples": 3}}


def _decisions(run: Path) -> tuple[list, list]:
    trials = pd.read_csv(run / "trials.csv")
    history = pd.read_csv(run / "netadapt" / "history.csv")
    kept = history[history.chosen]
    return (trials[["index", "stage", "status", "arch", "decisions"]].values.tolist(),
            kept[["iteration", "kind", "index", "width_after", "arch"]].values.tolist())


@pytest.mark.slow
@pytest.mark.ray
def test_the_same_config_twice_gives_the_same_children_and_netadapt_steps(tmp_path: Path) -> None:
    table = str(tmp_path / "table.json")
    runs = []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        config = tiny_config(folder, name=name, search=ONE_SHOT, latency={"table": table, "calibrate": False},
                             data={"val_size": 64}, netadapt={"target_ratio": 0.9}, pipeline={"references": []})
        code, out = hwnas_run(config)
        # 1: every output written, the target not met by the table (a tiny net's few steps can stall)
        assert code == 0 or (code == 1 and "the latency target was not met" in out), out[-3000:]
        runs.append(_decisions(folder / "runs" / name))
    (trials_a, kept_a), (trials_b, kept_b) = runs
    assert len(trials_a) > 12 and kept_a, "the run should sample paths and keep NetAdapt steps"
    assert trials_a == trials_b
    assert kept_a == kept_b
