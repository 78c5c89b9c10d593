"""The Ray Tune searcher adapter, driven by hand (no Ray running): configs, rewards, failures, resume."""

from __future__ import annotations

import json

import pytest
import torch

from experiments.config.spaces import resolve_space
from models.counting import count_madds
from models.spec import ArchSpec
from search.policy import PolicyConfig
from search.rewards import make_reward
from search.tune_searcher import ControllerSearcher

SPACE = resolve_space("mnv3-small")


def madds_ms(arch: ArchSpec) -> float:
    return count_madds(arch) / 30e6


def fake_accuracy(config: dict) -> float:
    return 0.5 + 0.05 * (config["decisions"]["s5_kernel"] == 7) + 0.01 * config["decisions"]["s4_depth"]


def make_searcher(**kwargs) -> ControllerSearcher:
    args = dict(space=SPACE, latency=madds_ms, reward=make_reward("mnasnet_soft", 2.0, w=-0.15), num_samples=6,
                batch_size=2, seed=3, budget={"epochs": 1}, controller={"hidden_size": 16})
    args.update(kwargs)
    return ControllerSearcher(**args)


def drive(searcher: ControllerSearcher, ids: list[str], fail: tuple[str, ...] = ()) -> list[dict]:
    configs = [searcher.suggest(i) for i in ids]
    for trial_id, config in zip(ids, configs):
        if trial_id in fail:
            searcher.on_trial_complete(trial_id, None, error=True)
        else:
            searcher.on_trial_complete(trial_id, {"accuracy": fake_accuracy(config), "time_total_s": 1.0})
    return configs


def test_suggest_gives_a_small_json_config_that_decodes_to_the_arch() -> None:
    searcher = make_searcher()
    config = searcher.suggest("t0")
    assert set(config) == {"arch", "decisions", "seed", "budget"}
    assert json.loads(json.dumps(config)) == config
    choices = [d.choices.index(config["decisions"][d.name]) for d in SPACE.decisions]
    assert SPACE.decode(choices).to_str() == config["arch"]
    assert config["budget"] == {"epochs": 1}
    assert make_searcher().suggest("x") == config  # seeded: the same first suggestion


def test_rewards_update_the_policy_per_batch_and_budget_finishes() -> None:
    searcher = make_searcher()
    before = {k: v.clone() for k, v in searcher.policy.controller.state_dict().items()}
    drive(searcher, ["t0", "t1", "t2"])
    assert searcher.policy.updates == 1 and len(searcher.batch) == 1
    row = searcher.trials[0]
    expected = make_reward("mnasnet_soft", 2.0, w=-0.15)(row["accuracy"], row["latency_ms"]).value
    assert row["status"] == "ok" and row["reward"] == pytest.approx(expected)
    assert row["reward_terms"]["exponent"] == -0.15
    after = searcher.policy.controller.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)
    drive(searcher, ["t3", "t4", "t5"])
    assert searcher.suggest("t6") == "FINISHED" and searcher.finished()
    assert [r["index"] for r in searcher.best(6)] != [] and len(searcher.update_log) == 3


def test_with_top_k_each_update_also_fits_the_best_children_trained_so_far(monkeypatch) -> None:
    searcher = make_searcher(policy=PolicyConfig(top_k=2))
    queues = []
    update = searcher.policy.update

    def spy(choices, rewards, old_log_probs=None, elite=()):
        queues.append([list(c) for c in elite])
        return update(choices, rewards, old_log_probs, elite)

    monkeypatch.setattr(searcher.policy, "update", spy)
    drive(searcher, ["t0", "t1", "t2"], fail=("t1",))
    drive(searcher, ["t3", "t4", "t5"])
    assert len(queues) == searcher.policy.updates >= 2
    for n, queue in enumerate(queues):
        seen = [t for t in searcher.trials if t["index"] <= searcher.update_log[n]["trials"] - 1 and t["status"] == "ok"]
        best = sorted(seen, key=lambda t: t["reward"], reverse=True)[:2]
        assert queue == [t["choices"] for t in best]


@pytest.mark.parametrize(("treatment", "reward"), [("skip", None), ("zero", 0.0)])
def test_failed_children_are_recorded_and_treated(treatment: str, reward: float | None) -> None:
    searcher = make_searcher(on_failure=treatment)
    drive(searcher, ["t0", "t1"], fail=("t0",))
    searcher.suggest("t2")
    searcher.on_trial_complete("t2", {"accuracy": float("nan")})
    searcher.suggest("t3")
    searcher.on_trial_complete("t3", {"accuracy": 0.1, "failure": "diverged: loss is nan at step 3"})
    failed = [searcher.trials[0], searcher.trials[2], searcher.trials[3]]
    assert [r["status"] for r in failed] == ["error", "invalid", "failed"]
    assert "nan" in failed[1]["reason"] and "error" in failed[0]["reason"] and "diverged" in failed[2]["reason"]
    assert all(r["reward"] == reward for r in failed)
    assert searcher.policy.updates == (2 if treatment == "zero" else 0)


def test_save_restore_resumes_exactly(tmp_path) -> None:
    path = tmp_path / "searcher-state.pkl"
    seen: list[int] = []
    first = make_searcher(after_complete=lambda s: seen.append(len(s.trials)))
    drive(first, ["t0", "t1", "t2"])
    first.suggest("t3")  # in flight when the driver dies
    inflight = dict(first.pending["t3"])
    assert seen == [1, 2, 3]
    first.save(str(path))
    torch.load(path, weights_only=True)  # loadable without unpickling arbitrary objects
    expected = drive(first, ["t4", "t5"])

    second = make_searcher()
    second.restore(str(path))
    assert len(second.trials) == 3 and set(second.pending) == {"t3"}
    assert first.timings["sample_s"] > 0 and first.timings["latency_s"] > 0 and first.timings["update_s"] > 0
    assert second.timings["after_complete_s"] > 0 and set(second.timings) == set(first.timings)
    assert second.policy.updates == 1 and second.suggested == 4
    assert drive(second, ["t4", "t5"]) == expected  # same controller, optimizer and RNG state

    third = make_searcher()
    third.restore(str(path))
    assert third.requeue_pending() == 1
    retried = third.suggest("t3-retry")
    assert (retried["arch"], retried["seed"]) == (inflight["arch"], inflight["seed"])


def test_restore_rejects_another_space(tmp_path) -> None:
    path = tmp_path / "state.pkl"
    make_searcher().save(str(path))
    other = make_searcher(space=resolve_space("mnv3-large"))
    with pytest.raises(ValueError, match="another search space"):
        other.restore(str(path))


def test_metric_and_settings_are_checked() -> None:
    searcher = make_searcher()
    assert searcher.set_search_properties("accuracy", "max", {}) is False
    with pytest.raises(ValueError, match="differs from the searcher's 'accuracy'"):
        searcher.set_search_properties("loss", "min", {})
    with pytest.raises(ValueError, match="on_failure 'retry' is unknown"):
        make_searcher(on_failure="retry")
    with pytest.raises(ValueError, match="unknown policy settings"):
        PolicyConfig.from_dict({"learning_rate": 0.1})  # the config's name is lr, and so is the code's
