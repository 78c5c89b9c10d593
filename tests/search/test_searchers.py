"""Random search, regularized evolution and TPE through the Searcher seam, driven by hand (no Ray running):
seeded determinism, exact resume, failure handling, evolution's mutation and ageing, the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from search.nasbench201 import Cell, NasBench201Space
from search.rewards import make_reward
from search.searchers import ALGORITHMS, make_searcher
from search.searchers.evolution import EvolutionSearcher
from search.space import Decision
from search.searchers.fixed import FixedSearcher
from search.trial_record import CACHED, OVER_TARGET, UNTRAINED, TrialRecord
from search import tune_searcher
from search.tune_searcher import SpaceSearcher, best_by_reward, best_within_target

SPACE = NasBench201Space()
OTHERS = ("random", "evolution", "tpe")
SETTINGS = {"evolution": {"population": 4, "tournament": 2}, "tpe": {"startup_trials": 3}}


def latency(cell: Cell) -> float:
    return 1.0 + sum(op.startswith("nor_conv") for op in cell.ops)


def accuracy(config: dict) -> float:
    """Rewards nor_conv_3x3 on the first edges: a smooth signal every algorithm can climb."""
    return 0.3 + 0.1 * sum(edge.startswith("nor_conv_3x3") for edge in config["arch"].split("|")[1:4:2])


def build(algorithm: str, num_samples: int = 12, seed: int = 3, **kwargs) -> SpaceSearcher:
    args = {"seed": seed, "budget": {"epochs": 1}, "evolution": SETTINGS["evolution"], "tpe": SETTINGS["tpe"]}
    args.update(kwargs)
    return make_searcher(algorithm, SPACE, latency, make_reward("mnasnet_hard", 2.0), num_samples, **args)


def drive(searcher: SpaceSearcher, ids: list[str], fail: tuple[str, ...] = ()) -> list[dict]:
    configs = [searcher.suggest(i) for i in ids]
    for trial_id, config in zip(ids, configs):
        if trial_id in fail:
            searcher.on_trial_complete(trial_id, None, error=True)
        else:
            searcher.on_trial_complete(trial_id, {"accuracy": accuracy(config)})
    return configs


def trained(searcher: SpaceSearcher) -> int:
    """Children trained (records that are neither a proposal of an already trained arch nor ruled out)."""
    return sum(t["status"] not in UNTRAINED for t in searcher.trials)


def one_at_a_time(searcher: SpaceSearcher, n: int, start: int = 0) -> list[dict]:
    return [drive(searcher, [f"t{i}"])[0] for i in range(start, start + n)]


@pytest.mark.parametrize("algorithm", OTHERS)
def test_a_seed_fixes_the_search_and_another_seed_changes_it(algorithm: str) -> None:
    first = one_at_a_time(build(algorithm), 12)
    assert one_at_a_time(build(algorithm), 12) == first
    assert one_at_a_time(build(algorithm, seed=4), 12) != first
    assert {"arch", "decisions", "seed", "budget"} == set(first[0]) and first[0]["budget"] == {"epochs": 1}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_records_rewards_best_and_finish_are_the_same_for_every_algorithm(algorithm: str) -> None:
    searcher = build(algorithm, num_samples=10)
    one_at_a_time(searcher, 10)
    assert searcher.suggest("t10") == "FINISHED" and searcher.finished()
    row = searcher.trials[0]
    assert row["status"] == "ok" and row["reward"] == pytest.approx(make_reward("mnasnet_hard", 2.0)(
        row["accuracy"], row["latency_ms"]).value)
    keys = set(TrialRecord.__annotations__)  # every algorithm writes exactly the one trial record
    assert all(set(t) == keys for t in searcher.trials)
    within = [t for t in searcher.trials if t["latency_ms"] <= 2.0] or searcher.trials
    assert searcher.best()[0]["reward"] == max(t["reward"] for t in within)


def test_a_search_hands_on_children_within_the_target_first() -> None:
    """The absolute reward is symmetric: its best child may sit just over the target; what the search
    hands on (top-k, NetAdapt's seed) is the best within the target while one is."""
    reward = make_reward("tunas_abs", 1.0)
    trials = [{"index": i, "status": status, "arch": str(i), "reward": r.value, "reward_terms": r.as_dict()}
              for i, (status, r) in enumerate([("ok", reward(0.70, 1.01)), ("ok", reward(0.69, 0.98)),
                                               ("failed", reward(0.90, 0.90)), ("ok", reward(0.60, 0.80))])]
    assert best_by_reward(trials)[0]["index"] == 0  # the highest reward, 1% over the target
    assert [t["index"] for t in best_within_target(trials, 3)] == [1, 3, 0]
    assert [t["index"] for t in best_within_target([trials[0]], 2)] == [0]  # over it only when none is within


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_shorter_search_is_the_start_of_a_longer_one(algorithm: str) -> None:
    """No algorithm depends on its total budget: the benchmark scores every budget from one search."""
    short, long = build(algorithm, num_samples=8), build(algorithm, num_samples=16)
    one_at_a_time(short, 8)
    one_at_a_time(long, 16)
    assert [t["arch"] for t in short.trials] == [t["arch"] for t in long.trials[:len(short.trials)]]


@pytest.mark.parametrize("algorithm", OTHERS)
def test_save_restore_resumes_exactly(algorithm: str, tmp_path) -> None:
    path = tmp_path / "searcher-state.pkl"
    first = build(algorithm)
    one_at_a_time(first, 6)
    first.suggest("t6")  # in flight when the driver dies
    inflight = dict(first.pending["t6"])
    first.save(str(path))
    torch.load(path, weights_only=True)  # loadable without unpickling arbitrary objects
    first.on_trial_complete("t6", {"accuracy": 0.5})
    expected = one_at_a_time(first, 5, start=7)

    second = build(algorithm)
    second.restore(str(path))
    assert trained(second) == 6 and set(second.pending) == {"t6"} and second.suggested == 7
    second.on_trial_complete("t6", {"accuracy": 0.5})
    assert one_at_a_time(second, 5, start=7) == expected  # same RNG, population or Optuna study

    third = build(algorithm)
    third.restore(str(path))
    assert third.requeue_pending() == 1
    retried = third.suggest("t6-retry")
    assert (retried["arch"], retried["seed"]) == (inflight["arch"], inflight["seed"])


def test_restore_rejects_another_algorithm_or_other_settings(tmp_path) -> None:
    path = tmp_path / "state.pkl"
    build("evolution").save(str(path))
    with pytest.raises(ValueError, match="saved by the 'evolution' search, not 'random'"):
        build("random").restore(str(path))
    with pytest.raises(ValueError, match="evolution settings"):
        build("evolution", evolution={"population": 5, "tournament": 2}).restore(str(path))
    build("reinforce").save(str(path))
    with pytest.raises(ValueError, match="not 'ppo'"):
        build("ppo").restore(str(path))


@pytest.mark.parametrize("algorithm", OTHERS)
@pytest.mark.parametrize(("treatment", "reward"), [("skip", None), ("zero", 0.0)])
def test_failed_children_are_recorded_and_treated(algorithm: str, treatment: str, reward: float | None) -> None:
    searcher = build(algorithm, on_failure=treatment, skip_over_target=False)  # every record a trained child
    drive(searcher, ["t0", "t1"], fail=("t0",))
    searcher.suggest("t2")
    searcher.on_trial_complete("t2", {"accuracy": float("nan")})
    searcher.suggest("t3")
    searcher.on_trial_complete("t3", {"accuracy": 0.4, "failure": "diverged: loss is nan at step 3"})
    failed = [searcher.trials[0], searcher.trials[2], searcher.trials[3]]
    assert [r["status"] for r in failed] == ["error", "invalid", "failed"]
    assert all(r["reward"] == reward for r in failed)
    one_at_a_time(searcher, 8, start=4)  # the search goes on after failures
    assert trained(searcher) == 12 and searcher.best()[0]["status"] == "ok"
    if algorithm == "evolution":
        members = [searcher.trials[i]["reward"] for i in searcher.population]
        assert (None not in members) and (treatment == "skip" or len(members) == 4)
    if algorithm == "tpe":
        states = [t.state.name for t in searcher.optuna._ot_study.trials[:4]]
        assert states == (["FAIL", "COMPLETE", "FAIL", "FAIL"] if treatment == "skip" else ["COMPLETE"] * 4)


def test_evolution_mutates_one_decision_of_a_tournament_winner_and_ages_the_population() -> None:
    searcher = build("evolution", num_samples=60, evolution={"population": 6, "tournament": 3})
    one_at_a_time(searcher, 60)
    assert all(t["parent"] is None for t in searcher.trials[:6])
    by_index = {t["index"]: t for t in searcher.trials}
    for child in searcher.trials[6:]:
        parent = by_index[child["parent"]]
        assert sum(a != b for a, b in zip(child["choices"], parent["choices"])) == 1
        assert child["index"] - 6 <= child["parent"] < child["index"]  # from the last `population` children
    last = len(searcher.trials)  # every record joins, a repeat of a trained arch too (with that child's reward)
    assert searcher.population == list(range(last - 6, last))  # the oldest left, the newest six remain
    rewards = [t["reward"] for t in searcher.trials]
    assert np.mean(rewards[-20:]) > np.mean(rewards[:6])  # selection climbs the synthetic signal


def test_registry_builds_each_algorithm_and_rejects_mistakes() -> None:
    from search.policy import PolicyConfig

    assert {build(a).algorithm for a in ALGORITHMS} == set(ALGORITHMS)
    assert build("ppo").policy.config == PolicyConfig.default("ppo")
    with pytest.raises(ValueError, match="unknown; choose one of reinforce, ppo, random, evolution, tpe"):
        build("bayes")
    with pytest.raises(ValueError, match="was given policy settings for 'reinforce'"):
        build("ppo", policy=PolicyConfig())
    with pytest.raises(ValueError, match="1 <= tournament <= population"):
        EvolutionSearcher(SPACE, latency, make_reward("mnasnet_hard", 2.0), 4, population=2, tournament=3)


class TwoArchs:
    """A space of two archs: any search of more than two children must propose trained ones."""

    decisions = (Decision("op", ("a", "b")),)

    def decode(self, choices: list[int]) -> Cell:
        return Cell(("none", "skip_connect")[choices[0]:][:1] * 6)

    def values(self, choices: list[int]) -> dict[str, object]:
        return {"op": "ab"[choices[0]]}


def train_two_archs(algorithm: str) -> tuple[SpaceSearcher, list[dict]]:
    """A search of 5 children on `TwoArchs`: the configs it hands out, until it gives up."""
    searcher = make_searcher(algorithm, TwoArchs(), latency, make_reward("mnasnet_hard", 2.0), 5, seed=0,
                             batch_size=2)
    configs = []
    while isinstance(config := searcher.suggest(f"t{len(configs)}"), dict):
        configs.append(config)
        searcher.on_trial_complete(f"t{len(configs) - 1}", {"accuracy": 0.5 + 0.1 * (config["decisions"]["op"] == "b")})
    assert sorted(c["decisions"]["op"] for c in configs) == ["a", "b"]  # each arch trained once
    assert searcher.exhausted and searcher.finished() and searcher.suggested == 2
    return searcher, configs


def test_the_controller_samples_only_new_archs_and_gives_up_when_none_is_left(monkeypatch) -> None:
    monkeypatch.setattr(tune_searcher, "MAX_REPEATS", 50)  # give up sooner than a real search does
    searcher, _ = train_two_archs("reinforce")
    assert [t["status"] for t in searcher.trials] == ["ok", "ok"]  # no proposal of a trained arch is recorded
    assert searcher.policy.updates == 1 and searcher.policy.samples >= 2 + 50  # then 50 samples of trained archs


def test_a_batch_of_the_controller_holds_distinct_new_archs() -> None:
    searcher = build("reinforce", num_samples=200)
    one_at_a_time(searcher, 200)
    archs = [t["arch"] for t in searcher.trials]  # trained and ruled out (over the target): never drawn again
    assert len(set(archs)) == len(archs) and trained(searcher) == 200 and len(archs) > 200
    assert searcher.policy.updates == len(archs) // searcher.batch_size  # ruled-out children are learnt from


@pytest.mark.parametrize("algorithm", ["random", "evolution"])
def test_a_trained_arch_is_not_trained_again_but_learnt_from_and_costs_no_budget(algorithm: str, monkeypatch) -> None:
    monkeypatch.setattr(tune_searcher, "MAX_REPEATS", 50)  # give up sooner than a real search does
    searcher, _ = train_two_archs(algorithm)
    cached = [t for t in searcher.trials if t["status"] == CACHED]
    assert all(t["status"] == CACHED for t in searcher.trials[-50:])  # then it gave up
    assert searcher.best()[0]["status"] == "ok"
    first = {t["arch"]: t for t in searcher.trials if t["status"] == "ok"}
    assert all(t["reward"] == first[t["arch"]]["reward"] and str(first[t["arch"]]["index"]) in t["reason"]
               for t in cached)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_under_the_hard_reward_a_child_over_the_target_is_not_trained_and_costs_no_budget(algorithm: str) -> None:
    searcher = build(algorithm, num_samples=12)
    one_at_a_time(searcher, 12)
    ok = [t for t in searcher.trials if t["status"] == "ok"]
    over = [t for t in searcher.trials if t["status"] == OVER_TARGET]
    assert len(ok) == 12 and searcher.suggested == 12 and over  # target 2.0 ms: about a third of the space is over
    assert all(t["latency_ms"] <= 2.0 for t in ok[1:])  # the first child has no mean accuracy to price it with
    for t in over:
        before = [u["accuracy"] for u in searcher.trials if u["status"] == "ok" and u["index"] < t["index"]]
        assert t["accuracy"] is None and t["trial_id"] is None and t["latency_ms"] > 2.0
        assert t["reward"] == pytest.approx(np.mean(before) * 2.0 / t["latency_ms"])  # hard reward at the mean
    assert searcher.best()[0]["status"] == "ok"


def test_the_soft_reward_and_a_switched_off_constraint_train_every_child() -> None:
    soft = make_searcher("random", SPACE, latency, make_reward("mnasnet_soft", 2.0), 12, seed=3)
    off = build("random", skip_over_target=False)
    for searcher in (soft, off):
        one_at_a_time(searcher, 12)
        assert [t["status"] for t in searcher.trials] == ["ok"] * 12
        assert any(t["latency_ms"] > 2.0 for t in searcher.trials)


def test_a_fixed_list_is_trained_whole_even_over_the_target() -> None:
    choices = [[3] * 6, [1] * 6, [3, 1, 1, 1, 1, 1]]  # nor_conv_3x3 everywhere: 7 ms against the 2 ms target
    searcher = FixedSearcher(SPACE, latency, make_reward("mnasnet_hard", 2.0), 3, choices=choices)
    one_at_a_time(searcher, 3)
    assert [t["status"] for t in searcher.trials] == ["ok"] * 3 and searcher.trials[0]["latency_ms"] > 2.0
