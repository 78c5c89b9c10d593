"""The interleaved one-shot loop: warm-up, recorded children, resume equivalence, learning, CUDA."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from one_shot_fixtures import CLASSES, SEARCH_CONFIG, one_thread, size_latency, tiny_search, tiny_space  # noqa: F401

from search.batch_stream import BatchStream
from search.one_shot import (
    SAMPLES_FILE,
    SHRINK_STAGES,
    STATE_FILE,
    OneShotConfig,
    progressive_choices,
    released_kinds,
    warmup_choices,
    warmup_probability,
)
from search.policy import PolicyConfig
from search.rewards import make_reward
from search.supernet import largest_choices

JOB = Path(__file__).with_name("one_shot_job.py")


def without_clock(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "time_s"} for s in samples]


def test_samples_are_recorded_after_the_warm_up_with_every_column() -> None:
    lines: list[str] = []
    s = tiny_search(None, log=lines.append)
    samples = s.run()
    # progress: during the warm-up it says so (no reward yet), then the children and their mean reward
    assert lines[0].startswith("one-shot: step 4/12, warm-up: the controller samples from step 6,")
    assert lines[-1].startswith("one-shot: step 12/12, 12 children, reward (last 12) ") and "nan" not in lines[-1]
    assert s.warmup_steps == 6
    assert len(samples) == (12 - 6) * 2
    assert {r["step"] for r in samples} == set(range(6, 12))
    first = samples[0]
    for key in ("arch", "choices", "decisions", "accuracy", "loss", "quality", "latency_ms", "reward", "entropy",
                "stage", "step", "log_prob", "reward_terms"):
        assert key in first, key
    assert all(r["stage"] == "one_shot" for r in samples)
    assert all(s.space.decode(r["choices"]).to_str() == r["arch"] for r in samples)
    assert all(r["latency_ms"] == pytest.approx(size_latency(s.space.decode(r["choices"]))) for r in samples)
    assert s.policy.updates == 12 - 6


def test_warm_up_switches_decisions_to_all_on_with_a_linearly_decaying_probability() -> None:
    space = tiny_space()
    gen = torch.Generator().manual_seed(0)
    low = [0] * len(space.decisions)
    assert warmup_choices(space, low, 1.0, gen) == largest_choices(space)
    assert warmup_choices(space, low, 0.0, gen) == low
    switched = sum(c != 0 for _ in range(200) for c in warmup_choices(space, low, 0.5, gen))
    assert 0.4 < switched / (200 * len(low)) < 0.6
    assert [warmup_probability(s, 100, 0.25) for s in (0, 10, 25, 60)] == [1.0, 0.6, 0.0, 0.0]
    assert warmup_probability(0, 100, 0.0) == 0.0


def test_the_progressive_warm_up_releases_decision_kinds_in_equal_stages() -> None:
    # 400 warm-up steps, 4 stages of 100: the largest path, then SE and depth, then kernels, then the rest
    assert [released_kinds(s, 400) for s in (0, 99)] == [set(), set()]
    assert released_kinds(100, 400) == {"se", "depth"}
    assert released_kinds(250, 400) == {"se", "depth", "kernel"}
    assert released_kinds(399, 400) == released_kinds(400, 400) == {"se", "depth", "kernel", "expand", "width"}
    assert released_kinds(0, 0) == {kind for group in SHRINK_STAGES for kind in group}  # no warm-up
    space = tiny_space()
    low = [0] * len(space.decisions)
    kinds = [d.kind for d in space.decisions]
    assert progressive_choices(space, low, set()) == largest_choices(space)
    mixed = progressive_choices(space, low, {"kernel"})
    assert [c for c, k in zip(mixed, kinds) if k == "kernel"] == [0] * kinds.count("kernel")
    assert [c for c, k, big in zip(mixed, kinds, largest_choices(space)) if k != "kernel"] == \
        [big for k, big in zip(kinds, largest_choices(space)) if k != "kernel"]
    search = tiny_search(None, config=replace(SEARCH_CONFIG, warmup_schedule="progressive"))
    assert search.train_path() == largest_choices(space)  # step 0: the largest path alone
    with pytest.raises(ValueError, match="warmup_schedule='shrink'"):
        OneShotConfig(warmup_schedule="shrink")


@pytest.mark.parametrize("killed_at", [7, 10])
def test_a_search_killed_between_checkpoints_resumes_to_the_uninterrupted_result(tmp_path: Path,
                                                                                   killed_at: int) -> None:
    """Killed at step 7 (last checkpoint 4, inside the warm-up) or 10 (checkpoint 8, controller learning):
    the steps after the checkpoint die with the process and are redone."""
    whole = tiny_search(tmp_path / "whole")
    whole.run()
    killed = tiny_search(tmp_path / "killed")
    killed.run(until=killed_at)
    assert torch.load(tmp_path / "killed" / STATE_FILE, weights_only=True)["step"] == killed_at // 4 * 4
    resumed = tiny_search(tmp_path / "killed")
    resumed.run()
    assert resumed.step == whole.step == 12
    assert without_clock(resumed.samples) == without_clock(whole.samples)
    for mine, theirs in ((resumed.net, whole.net), (resumed.controller, whole.controller)):
        a, b = mine.state_dict(), theirs.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.top_k(3) == whole.top_k(3)


@pytest.mark.slow
def test_a_search_process_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    """A real kill -9 of a search process after a checkpoint with samples, then a resume here."""
    config = OneShotConfig(steps=20, samples_per_step=2, checkpoint_every=2, lr=0.05)
    directory = tmp_path / "killed"
    job = subprocess.Popen([sys.executable, str(JOB), str(directory), str(config.steps)])
    try:
        deadline = time.monotonic() + 120
        while not (directory / SAMPLES_FILE).is_file() or len(json.loads((directory / SAMPLES_FILE).read_text())) < 4:
            assert job.poll() is None, "the search process ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint with samples within 120 s"
            time.sleep(0.05)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    done = torch.load(directory / STATE_FILE, weights_only=True)["step"]
    assert 0 < done < config.steps
    resumed = tiny_search(directory, config)
    resumed.run()
    whole = tiny_search(None, config)
    whole.run()
    assert without_clock(resumed.samples) == without_clock(whole.samples)
    a, b = resumed.net.state_dict(), whole.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resuming_with_other_settings_is_refused(tmp_path: Path) -> None:
    tiny_search(tmp_path).run(until=4)
    other = tiny_search(tmp_path, OneShotConfig(steps=12, samples_per_step=2, warmup_fraction=0.5, checkpoint_every=4))
    with pytest.raises(ValueError, match="resume with the settings"):
        other.run()


def test_a_checkpoint_written_before_a_setting_existed_resumes_as_its_default(tmp_path: Path) -> None:
    tiny_search(tmp_path).run(until=4)
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    del state["config"]["warmup_schedule"]  # as written before the setting existed
    torch.save(state, tmp_path / STATE_FILE)
    assert tiny_search(tmp_path).run()  # the default ("decay") is what that search ran
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    del state["config"]["warmup_schedule"]
    torch.save(state, tmp_path / STATE_FILE)
    with pytest.raises(ValueError, match="resume with the settings"):
        tiny_search(tmp_path, replace(SEARCH_CONFIG, warmup_schedule="progressive")).run()


def test_the_supernet_learns_and_the_controller_entropy_falls_when_the_reward_is_informative() -> None:
    """Latency dominates the absolute reward here (target far below every child), so the smallest
    choices win and the controller must concentrate on them; meanwhile the shared weights learn
    the tiny data (chance: 1 / CLASSES)."""
    config = OneShotConfig(steps=80, samples_per_step=4, warmup_fraction=0.1, checkpoint_every=80, lr=0.2)
    s = tiny_search(None, config, reward=make_reward("tunas_abs", target_ms=0.05, beta=-0.5),
                    policy=PolicyConfig(lr=0.05))
    start = s.policy_entropy()
    s.run()
    end = s.policy_entropy()
    assert end < 0.6 * start, (start, end)
    rewards = [r["reward"] for r in s.samples]
    assert sum(rewards[-40:]) / 40 > sum(rewards[:40]) / 40
    accuracy = [r["accuracy"] for r in s.samples]
    half = len(accuracy) // 2
    assert sum(accuracy[half:]) / (len(accuracy) - half) > 1.6 / CLASSES > sum(accuracy[:40]) / 40


def test_top_k_gives_distinct_archs_ranked_by_probability_or_reward() -> None:
    s = tiny_search(None)
    s.run()
    top = s.top_k(4)
    assert len({r["arch"] for r in top}) == len(top) == 4
    assert [r["probability"] for r in top] == sorted((r["probability"] for r in top), reverse=True)
    assert top[0]["arch"] == s.space.decode(s.controller.most_likely()).to_str() or top[0]["probability"] >= \
        s.controller.probability(s.controller.most_likely())
    by_reward = s.top_k(3, by="reward")
    assert [r["mean_reward"] for r in by_reward] == sorted((r["mean_reward"] for r in by_reward), reverse=True)


def test_batch_stream_restores_a_pass_dependent_source() -> None:
    class Source:
        """Each pass yields a different order (like a loader seeded by its epoch)."""

        def __init__(self) -> None:
            self.passes = 0

        def __iter__(self):  # type: ignore[no-untyped-def]
            self.passes += 1
            for i in range(3):
                yield torch.tensor([self.passes]), torch.tensor([i])

    stream = BatchStream(Source())
    drawn = [stream.next() for _ in range(7)]
    state = stream.state()
    ahead = [stream.next() for _ in range(4)]
    again = BatchStream(Source())
    again.restore(state)
    assert [(int(x), int(y)) for x, y in (again.next() for _ in range(4))] == [(int(x), int(y)) for x, y in ahead]
    assert state == {"passes": 3, "offset": 1} and len(drawn) == 7
    with pytest.raises(ValueError, match="no batch"):
        BatchStream([]).next()


def test_invalid_settings_are_named() -> None:
    with pytest.raises(ValueError, match="quality='top5'"):
        OneShotConfig(quality="top5")
    with pytest.raises(ValueError, match="unknown one-shot settings"):
        OneShotConfig.from_dict({"stepz": 3})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_search_runs_on_cuda_with_mixed_precision() -> None:
    s = tiny_search(None, OneShotConfig(steps=8, samples_per_step=2), device="cuda")
    assert s.amp
    s.run()
    assert next(s.net.parameters()).is_cuda
    assert len(s.samples) == (8 - 2) * 2
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["loss"] == r["loss"] for r in s.samples)
