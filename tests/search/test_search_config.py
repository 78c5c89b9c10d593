"""The search driver without Ray: config -> searcher, the latency target, the trials table, and
resuming a finished search (which must train nothing)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml
from search_job import tiny_config

from experiments.cli import main
from experiments.config.errors import ConfigError
from experiments.config.schema import validate_config
from experiments.config.spaces import resolve_space
from experiments.data import load_data
from experiments.phases.search import (
    build_searcher,
    checkpoint,
    reward_target,
    run_search,
    trials_frame,
)
from experiments.rundir.layout import REWARD_TARGET as TARGET_FILE
from experiments.rundir.layout import TRIALS as TRIALS_FILE
from experiments.rundir.run_dir import RunDir
from latency.predict import MaddsLatency
from search.controller import HIDDEN_SIZE, TANH_CLIP, TEMPERATURE
from search.policy import DEFAULT_ENTROPY_WEIGHT, PolicyConfig
from search.trial_record import TRIAL_COLUMNS
from search.tune_searcher import BATCH_SIZE

LATENCY = MaddsLatency(32, num_classes=10)


def no_latency(arch: object) -> float:
    raise AssertionError("the latency model must not be called here")


def test_config_settings_reach_the_searcher_and_the_table_has_one_row_per_child(tmp_path) -> None:
    data = tiny_config(tmp_path)
    data["search"]["algorithm"] = "ppo"
    data["search"]["controller"].update(lr=0.02, ppo_epochs=2, tanh_clip=None, entropy_weight=0.07)
    data["search"]["failed_child"] = "zero"
    cfg = validate_config(data)
    searcher = build_searcher(cfg, LATENCY, 0.2)
    policy = searcher.policy
    assert (policy.config.algorithm, policy.config.lr, policy.config.ppo_epochs) == ("ppo", 0.02, 2)
    assert policy.config.entropy_weight == 0.07 and policy.controller.tanh_clip is None
    assert (policy.controller.hidden_size, searcher.batch_size, searcher.num_samples) == (16, 2, 6)
    assert searcher.on_failure == "zero" and searcher.budget == {"epochs": None, "steps": 3}
    config = searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"accuracy": 0.25, "time_total_s": 3.0, "started_at": 100.0, "train_s": 2.5})
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", None, error=True)
    table = trials_frame(searcher)
    assert list(table.columns) == list(TRIAL_COLUMNS)
    assert list(table["status"]) == ["ok", "error"] and list(table["reward"])[1] == 0.0
    ok = table.iloc[0]
    assert ok["arch"] == config["arch"] and json.loads(ok["decisions"]) == config["decisions"]
    expected = (0.25 * (ok["latency_ms"] / 0.2) ** -0.15)
    assert ok["reward"] == pytest.approx(expected) and ok["reward_kind"] == "mnasnet_soft"
    assert ok["target_ms"] == 0.2 and ok["latency_ratio"] == pytest.approx(ok["latency_ms"] / 0.2)
    assert ok["reward_penalty"] == pytest.approx((ok["latency_ms"] / 0.2) ** -0.15) and ok["reward_exponent"] == -0.15
    assert (ok["started_at"], ok["train_s"], ok["time_total_s"]) == (100.0, 2.5, 3.0)
    assert ok["suggested_at"] <= ok["completed_at"] and ok["wall_s"] == ok["completed_at"] - ok["suggested_at"]
    # the policy's entropy when it sampled this child: positive, below the uniform policy's
    uniform = sum(math.log(len(d.choices)) for d in resolve_space("mnv3-small").decisions)
    assert 0 < ok["entropy"] <= uniform and ok["log_prob"] < 0
    assert table.iloc[1]["reason"].startswith("the trial raised an error")


def test_shipped_defaults_depend_on_the_algorithm_only_for_the_entropy_weight(tmp_path) -> None:
    data = tiny_config(tmp_path)
    data["search"]["controller"] = {}
    searchers = {}
    for algorithm in ("reinforce", "ppo"):
        data["search"]["algorithm"] = algorithm
        searchers[algorithm] = build_searcher(validate_config(data), LATENCY, 0.2)
    assert searchers["reinforce"].policy.config.entropy_weight == DEFAULT_ENTROPY_WEIGHT["reinforce"]
    assert searchers["ppo"].policy.config.entropy_weight == DEFAULT_ENTROPY_WEIGHT["ppo"]
    ctrl = searchers["ppo"].policy.controller
    assert (ctrl.hidden_size, ctrl.tanh_clip, ctrl.temperature, searchers["ppo"].batch_size) == (
        HIDDEN_SIZE, TANH_CLIP, TEMPERATURE, BATCH_SIZE)
    assert searchers["reinforce"].policy.config == PolicyConfig.default("reinforce")  # one default per setting


@pytest.mark.parametrize("algorithm", ["random", "evolution", "tpe"])
def test_every_algorithm_is_built_from_the_config(tmp_path, algorithm: str) -> None:
    data = tiny_config(tmp_path)
    data["search"].update(algorithm=algorithm, evolution={"population": 4, "tournament": 2})
    searcher = build_searcher(validate_config(data), LATENCY, 0.2)
    config = searcher.suggest("t0")
    assert type(searcher).__name__.lower().startswith(algorithm[:4]) and config["arch"]
    if algorithm == "evolution":
        assert (searcher.population_size, searcher.tournament) == (4, 2)


@pytest.mark.parametrize("reward", [{"kind": "mnasnet_soft"}, {"target_ms": 1.0, "target_ratio": 0.9}])
def test_exactly_one_latency_target_is_required(tmp_path, reward: dict, capsys) -> None:
    data = tiny_config(tmp_path)
    data["search"]["reward"] = reward
    with pytest.raises(ConfigError, match="search.reward.target_ms.*set exactly one latency target"):
        validate_config(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["search", str(path)]) == 2
    assert "target_ratio" in capsys.readouterr().err
    assert not (tmp_path / "tiny-search").exists()


def test_the_hard_constraint_reaches_the_searcher_and_is_refused_for_a_soft_reward(tmp_path, capsys) -> None:
    data = tiny_config(tmp_path)
    data["search"]["reward"] = {"kind": "mnasnet_hard", "target_ms": 1.0, "skip_over_target": False}
    assert build_searcher(validate_config(data), LATENCY, 0.2).skip_over_target is False
    data["search"]["reward"] = {"kind": "mnasnet_soft", "target_ms": 1.0, "skip_over_target": True}
    with pytest.raises(ConfigError, match="search.reward.skip_over_target.*hard reward only"):
        validate_config(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["search", str(path)]) == 2 and "drop the setting" in capsys.readouterr().err


def test_target_ratio_is_resolved_against_the_space_seed_once_and_reused(tmp_path) -> None:
    data = tiny_config(tmp_path)
    data["search"]["reward"] = {"kind": "mnasnet_hard", "target_ratio": 0.8}
    cfg = validate_config(data)
    run = RunDir.create(cfg)
    space = resolve_space(cfg.space)
    seed_ms = LATENCY(space.decode(space.seed_choices()))
    lines: list[str] = []
    assert reward_target(cfg, space, LATENCY, run, lines.append) == pytest.approx(0.8 * seed_ms)
    saved = json.loads(run.path(TARGET_FILE).read_text())
    assert saved["seed_ms"] == pytest.approx(seed_ms) and saved["target_ratio"] == 0.8
    assert "0.8" in lines[0] and f"{0.8 * seed_ms:.4f} ms" in lines[0]
    assert reward_target(cfg, space, no_latency, run, lines.append) == pytest.approx(0.8 * seed_ms)  # reused
    searcher = build_searcher(cfg, LATENCY, saved["target_ms"])
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"accuracy": 0.5})
    assert trials_frame(searcher)["target_ms"][0] == pytest.approx(0.8 * seed_ms)


def test_resuming_a_finished_search_trains_nothing_and_returns_the_top_rows(tmp_path, monkeypatch) -> None:
    cfg = validate_config(tiny_config(tmp_path, children=4))
    run = RunDir.create(cfg)
    searcher = build_searcher(cfg, LATENCY, reward_target(cfg, resolve_space(cfg.space), LATENCY, run),
                              after_complete=lambda s: checkpoint(run, s))
    for i in range(4):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"accuracy": 0.1 * (i + 1)})
    before = run.path(TRIALS_FILE).read_text()

    def no_tune(*args: object) -> None:
        raise AssertionError("a finished search must not start Tune")

    monkeypatch.setattr("experiments.phases.search.tune_children", no_tune)
    lines: list[str] = []
    top = run_search(cfg, run, None, no_latency, resume=True, log=lines.append)  # type: ignore[arg-type]
    assert [row["index"] for row in top] == [t["index"] for t in searcher.best(5)]
    assert any("nothing to train" in line for line in lines)
    after = pd.read_csv(run.path(TRIALS_FILE))
    assert run.path(TRIALS_FILE).read_text() == before and len(after) == 4
    assert yaml.safe_load(run.path("topk.yaml").read_text())[0]["index"] == top[0]["index"]


def test_one_shot_strategy_scores_paths_then_trains_its_top_k_stand_alone(tmp_path, monkeypatch) -> None:
    data = tiny_config(tmp_path)
    data["data"]["val_size"] = 64
    data["search"].update(strategy="one_shot", one_shot={"steps": 8, "samples_per_step": 2, "warmup_fraction": 0.25,
                                                          "batch_size": 16, "val_batch_size": 16, "top_k": 2,
                                                          "checkpoint_every": 4, "uniform_samples": 3})
    cfg = validate_config(data)
    run = RunDir.create(cfg)
    trained: list[str] = []

    def fake_tune(cfg, run, data, searcher, attempt) -> None:  # Tune's part: every child reports an accuracy
        while (config := searcher.suggest(f"t{len(trained)}")) not in (None, "FINISHED"):
            trained.append(config["arch"])
            searcher.on_trial_complete(f"t{len(trained) - 1}", {"accuracy": 0.1 * len(trained)})

    monkeypatch.setattr("experiments.phases.search.tune_children", fake_tune)
    top = run_search(cfg, run, load_data(cfg.data, cfg.seed), LATENCY, log=lambda _: None)
    table = pd.read_csv(run.path(TRIALS_FILE))
    one_shot, standalone = table[table.stage == "one_shot"], table[table.stage == "standalone"]
    assert len(one_shot) == 6 * 2  # 6 controller steps after 2 warm-up steps, 2 paths each
    assert len(standalone) == 2 and len(set(trained)) == 2 and list(standalone.arch) == trained
    assert top[0]["arch"] == trained[1]  # the best stand-alone reward (accuracy 0.2) seeds NetAdapt
    assert (run.path("one_shot") / "one_shot.pt").is_file()
    baseline = pd.read_csv(run.path("one_shot_uniform.csv"))  # the final supernet's uniform and late paths
    assert list(baseline["sample"]) == ["uniform"] * 3 + ["last"] * 3
    assert list(baseline.arch[3:]) == list(one_shot.arch[-3:])
    scored = pd.read_csv(run.path("one_shot_topk.csv"))  # the top_k by the final supernet: the proxy's side
    assert list(scored["rank"]) == [1, 2] and set(scored.arch) == set(trained)
    assert scored.supernet_accuracy.between(0, 1).all() and scored["images"].nunique() == 1  # the same images
    assert 0 < scored["images"].iloc[0] <= 16 * 16 and scored["images"].iloc[0] % 16 == 0  # whole batches, <= 16
    with pytest.raises(ConfigError, match="search.algorithm.*one-shot strategy learns with the controller"):
        validate_config({**data, "search": {**data["search"], "algorithm": "random"}})
