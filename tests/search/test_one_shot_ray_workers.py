"""The one-shot stage on 2 Ray Train workers (`search.one_shot.workers: 2`, a real local Ray, gloo):
it records every sampled path, the checkpoint says 2 workers wrote it, and this process reads it
back for the uniform baseline and the top-k; an unfinished checkpoint of another worker count and a
workers value the batches cannot share are refused with the fix named."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from search_job import tiny_config

from experiments.cli import main
from experiments.config.errors import ConfigError, RunDirError
from experiments.config.schema import validate_config
from experiments.data import load_data
from experiments.phases.one_shot import one_shot_search
from experiments.phases.search import make_reward_of, run_search
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.predict import MaddsLatency
from search.one_shot import STATE_FILE, checkpoint_progress

LATENCY = MaddsLatency(32, num_classes=10)


def one_shot_config(tmp_path, workers: int) -> dict:
    data = tiny_config(tmp_path)
    data["data"]["val_size"] = 64
    data["search"].update(strategy="one_shot", one_shot={"steps": 8, "samples_per_step": 2, "warmup_fraction": 0.25,
                                                          "batch_size": 16, "val_batch_size": 16, "top_k": 2,
                                                          "checkpoint_every": 4, "uniform_samples": 3,
                                                          "workers": workers})
    return data


def fake_tune(cfg, run, data, searcher, attempt) -> None:  # Tune's part: every child reports an accuracy
    n = 0
    while (config := searcher.suggest(f"t{n}")) not in (None, "FINISHED"):
        searcher.on_trial_complete(f"t{n}", {"accuracy": 0.1 + 0.01 * n, "arch": config["arch"]})
        n += 1


@pytest.mark.ray
@pytest.mark.slow
def test_one_shot_stage_on_two_ray_train_workers(tmp_path, monkeypatch) -> None:
    cfg = validate_config(one_shot_config(tmp_path, workers=2))
    run = RunDir.create(cfg)
    data = load_data(cfg.data, cfg.seed)
    monkeypatch.setattr("experiments.phases.search.tune_children", fake_tune)
    reward = make_reward_of(cfg, 0.2)
    one_shot_search(cfg, run, data, LATENCY, reward, log=None).run(until=4)  # one process, checkpoint at step 4
    with pytest.raises(RunDirError, match="checkpointed by 1 worker.*search.one_shot.workers: 1"):
        run_search(cfg, run, data, LATENCY, log=lambda _: None)
    (run.path(layout.ONE_SHOT_DIR) / STATE_FILE).unlink()
    lines: list[str] = []
    with RayRuntime(cfg.ray, log=lambda _: None, log_to_driver=False):
        top = run_search(cfg, run, data, LATENCY, log=lines.append)
    assert any("data-parallel on 2 Ray Train workers" in line for line in lines)
    assert checkpoint_progress(run.path(layout.ONE_SHOT_DIR) / STATE_FILE) == (8, 2)
    table = pd.read_csv(run.path(layout.TRIALS))
    one_shot = table[table.stage == "one_shot"]
    assert len(one_shot) == 6 * 2  # 6 controller steps after 2 warm-up steps, 2 paths each
    assert one_shot.accuracy.between(0, 1).all() and one_shot.reward.notna().all()
    assert (table.stage == "standalone").sum() == 2 and top
    baseline = pd.read_csv(run.path(layout.ONE_SHOT_UNIFORM))  # this process read the workers' supernet
    assert list(baseline.arch[3:]) == list(one_shot.arch[-3:])


def test_a_bad_workers_value_is_a_config_error_with_exit_code_2(tmp_path, capsys) -> None:
    with pytest.raises(ConfigError, match="search.one_shot.workers"):
        validate_config(one_shot_config(tmp_path, workers=0))
    with pytest.raises(ConfigError, match="search.one_shot.workers.*at most min\\(batch_size, val_batch_size\\) = 16"):
        validate_config(one_shot_config(tmp_path, workers=17))
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(one_shot_config(tmp_path, workers="two")))
    assert main(["search", str(path)]) == 2
    assert "search.one_shot.workers" in capsys.readouterr().err
