"""Children are priced quietly: a latency model that would time something is asked only while no
child of the search runs, a batch at a time (`SpaceSearcher.set_pricer`). Checked on the searcher
with a recording pricer (every algorithm, and save/restore of a held-back proposal), and through a
real `hwnas search` (Ray Tune children, a LiteRT table filled lazily) whose timing windows never
overlap a child's time from suggestion to completion (before this change the table was filled
inside `suggest` while the other child trained)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_search_cli_resume import TINY_SPACE

from search.rewards import make_reward
from search.searchers.registry import ALGORITHMS, make_searcher
from search.space import SearchSpace

SPACE = Path(__file__).resolve().parents[2] / "experiments" / "configs" / "spaces" / "mnv3-small.yaml"


class RecordingPricer:
    """Prices an arch once (as a table fills its keys); records how many children ran at each timing."""

    def __init__(self) -> None:
        self.priced: set[str] = set()
        self.batches: list[tuple[int, list[str]]] = []
        self.searcher = None

    def needs_timing(self, arch) -> bool:
        return arch.to_str() not in self.priced

    def time_quietly(self, archs) -> None:
        self.batches.append((len(self.searcher.pending), [a.to_str() for a in archs]))
        self.priced |= {a.to_str() for a in archs}

    def __call__(self, arch) -> float:
        assert arch.to_str() in self.priced, "a child was priced outside a quiet batch"
        return 1.0


def _searcher(algorithm: str, pricer: RecordingPricer, children: int = 8):
    searcher = make_searcher(algorithm, SearchSpace.from_yaml(SPACE), pricer, make_reward("mnasnet_soft", 1.0),
                             children, seed=3, batch_size=4, tpe={"startup_trials": 2},
                             evolution={"population": 3, "tournament": 2})
    searcher.set_pricer(pricer, price_batch=2)
    pricer.searcher = searcher
    return searcher


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_prices_its_children_only_while_none_runs(algorithm, one_torch_thread) -> None:
    pricer = RecordingPricer()
    searcher = _searcher(algorithm, pricer)
    running: list[str] = []
    waits = 0
    while not searcher.finished():
        config = searcher.suggest(f"t{len(searcher.trials) + len(running)}-{waits}")
        if config is None or len(running) == 2:  # held back for pricing, or both slots busy: a child finishes
            waits += config is None
            if config is not None:
                running.append(list(searcher.pending)[-1])
            trial = running.pop(0)
            searcher.on_trial_complete(trial, {"accuracy": 0.5})
            continue
        running.append(list(searcher.pending)[-1])
    assert len(searcher.trials) == 8 and {t["status"] for t in searcher.trials} == {"ok"}
    assert pricer.batches and all(running_then == 0 for running_then, _ in pricer.batches)
    assert waits > 0  # some proposals waited for the running children
    assert any(len(archs) > 1 for _, archs in pricer.batches)  # priced in batches, not one by one


def test_a_held_back_proposal_survives_save_and_restore(tmp_path, one_torch_thread) -> None:
    searcher = _searcher("tpe", RecordingPricer())
    first = searcher.suggest("a")
    assert first is not None and searcher.suggest("b") is None and searcher.suggest("c") is None
    held = [q["choices"] for q in searcher.queued]
    assert len(held) == 2  # price_batch proposals held while child "a" runs
    searcher.save(str(tmp_path / "state.pt"))
    pricer = RecordingPricer()
    again = _searcher("tpe", pricer)
    again.restore(str(tmp_path / "state.pt"))  # TPE replays its asks: the held ones must match
    assert [q["choices"] for q in again.queued] == held and again.requeue_pending() == 1
    assert again.suggest("r0")["arch"] == first["arch"]  # the re-issued child, already priced
    assert again.suggest("r1") is None  # r0 runs: the held proposals wait
    again.on_trial_complete("r0", {"accuracy": 0.5})
    assert again.suggest("r2")["arch"] == again.space.decode(held[0]).to_str()
    assert pricer.batches[-1] == (0, [again.space.decode(h).to_str() for h in held])


@pytest.mark.ray
@pytest.mark.slow
def test_hwnas_search_times_no_window_while_a_child_trains(tmp_path) -> None:
    space = tmp_path / "tiny-space.yaml"
    space.write_text(yaml.safe_dump(TINY_SPACE))
    config = {
        "name": "quiet", "seed": 0, "output_dir": str(tmp_path / "runs"), "space": str(space),
        "data": {"kind": "embedded", "resolution": 32, "train_size": 64, "val_size": 32, "test_size": 16},
        "search": {"children": 6, "controller": {"batch_size": 2},
                   "reward": {"kind": "mnasnet_soft", "target_ratio": 1.0, "w": -0.15},
                   "child_training": {"steps": 2, "batch_size": 32, "eval_batch_size": 32,
                                      "bn_recalibration_batches": 1, "device": "cpu", "torch_threads": 1}},
        "latency": {"source": "auto", "runs": 5, "live_span_s": 0, "live_max_span_s": 0},
        "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False},
    }
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    windows_log = tmp_path / "windows.jsonl"
    job = Path(__file__).with_name("quiet_search_job.py")
    done = subprocess.run([sys.executable, str(job), str(path), str(windows_log)], check=False,
                          capture_output=True, text=True, timeout=1800)  # minutes on a loaded 2-core machine
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    run = tmp_path / "runs" / "quiet"
    trials = pd.read_csv(run / "trials.csv")
    assert len(trials) == 6 and set(trials["status"]) == {"ok"}
    windows = [json.loads(line) for line in windows_log.read_text().splitlines()]
    children = list(zip(trials["suggested_at"], trials["completed_at"]))  # from suggestion (actor start) on
    during = [w for w in windows if w[0] > min(start for start, _ in children)]
    assert during, "every entry was timed before the first child: the test shows nothing"
    overlapping = [(w, c) for w in windows for c in children if w[0] < c[1] and c[0] < w[1]]
    assert not overlapping, f"{len(overlapping)} windows timed while a child trained, e.g. {overlapping[0]}"
    result = json.loads((run / "search_result.json").read_text())
    assert result["latency_calibrated"] is True and result["calibration_archs"] >= 3
