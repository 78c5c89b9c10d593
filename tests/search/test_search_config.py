"""The search driver's mapping from a run config to the searcher, and its trials table (no Ray)."""

from __future__ import annotations

import json

import pytest

from experiments.config import validate_config
from experiments.search_driver import TRIAL_COLUMNS, build_searcher, trials_frame
from latency.predict import MaddsLatency
from search_job import tiny_config


def test_config_settings_reach_the_searcher_and_the_table_has_one_row_per_child(tmp_path) -> None:
    data = tiny_config(tmp_path)
    data["search"]["algorithm"] = "ppo"
    data["search"]["controller"].update(lr=0.02, ppo_epochs=2, tanh_clip=None, entropy_weight=0.05)
    data["search"]["failed_child"] = "zero"
    cfg = validate_config(data)
    searcher = build_searcher(cfg, MaddsLatency(32, num_classes=10))
    policy = searcher.policy
    assert (policy.config.algorithm, policy.config.learning_rate, policy.config.epochs) == ("ppo", 0.02, 2)
    assert policy.config.entropy_weight == 0.05 and policy.controller.tanh_constant is None
    assert (policy.controller.hidden, searcher.batch_size, searcher.num_samples) == (16, 2, 6)
    assert searcher.on_failure == "zero" and searcher.budget == {"epochs": None, "steps": 3}
    config = searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"accuracy": 0.25})
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", None, error=True)
    table = trials_frame(searcher)
    assert list(table.columns) == list(TRIAL_COLUMNS)
    assert list(table["status"]) == ["ok", "error"] and list(table["reward"])[1] == 0.0
    assert table["arch"][0] == config["arch"]
    assert json.loads(table["decisions"][0]) == config["decisions"]
    assert json.loads(table["reward_terms"][0])["accuracy"] == pytest.approx(0.25)
