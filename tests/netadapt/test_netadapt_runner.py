"""The NetAdapt runner end to end on a tiny seed, tiny embedded data and a deterministic latency
(multiply-adds): outputs, honest status, resume of the final phase, and the same history from
real Ray tasks as from in-process jobs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from netadapt_helpers import TINY_SEED, comparable_history, config_dict

from experiments.config.schema import validate_config
from experiments.data import load_data
from experiments.phases.netadapt import finetune_recipe, run_netadapt, steps_spent
from experiments.phases.seed import prepare_seed
from experiments.rundir.run_dir import RunDir
from experiments.training.finetune import LocalJobs
from latency.predict import LIVE_REPEAT, MaddsLatency
from models import ArchSpec
from netadapt.loop import CONTROL

SEED = ArchSpec.from_str(TINY_SEED)


def setup(tmp_path: Path, **sections):
    cfg = validate_config(config_dict(tmp_path, **sections))
    run = RunDir.create(cfg)
    data = load_data(cfg.data, cfg.seed)
    weights = prepare_seed(cfg, run, data, SEED, None, log=lambda _: None)
    return cfg, run, data, MaddsLatency(32, num_classes=data.num_classes), weights


def local(cfg, data, lines: list[str]) -> LocalJobs:
    return LocalJobs(data, finetune_recipe(cfg.train, cfg.netadapt.finetune_steps, cfg.netadapt.finetune_lr_scale), cfg.data.augment, lines.append)


def never(jobs):
    raise AssertionError(f"no proposal should run, got {jobs}")


def test_runner_end_to_end_and_resume_of_the_final_phase(tmp_path: Path) -> None:
    # at 0.6x two iterations are needed: the first proposal kept (mid0 32 -> 8) cuts 30%
    cfg, run, data, latency, weights = setup(tmp_path, netadapt={"target_ratio": 0.6})
    lines: list[str] = []
    result = run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lines.append,
                          run_jobs=local(cfg, data, lines))
    seed_ms = latency(SEED)
    assert result["status"] == "met" and result["target_met"]
    assert result["latency_calibrated"] is False and result["calibration_archs"] == 0  # a MACs proxy: no table
    assert result["target_ms"] == pytest.approx(0.6 * seed_ms)
    assert result["table_ms"] <= result["target_ms"]
    assert result["table_ms"] == pytest.approx(latency(ArchSpec.from_str(result["final_arch"])))
    assert result["live_ms"] > 0 and result["live"]["runs"] >= cfg.latency.runs
    assert result["rel_error"] == pytest.approx((result["live_ms"] - result["table_ms"]) / result["table_ms"])
    assert result["cut_table"] == pytest.approx(result["table_ms"] / result["seed_table_ms"] - 1)
    assert result["cut_live"] == pytest.approx(result["live_ms"] / result["seed_live_ms"] - 1)  # seed timed beside
    # no span and no extension: 3 windows each while they agree (too few to compare two halves of 3: never
    # settled), up to 7 while they do not (then the halves are compared once, not extended)
    assert result["live"]["max_span_s"] == 0
    repeat = result["live_repeat"]
    assert result["live_settled"] is (repeat is not None and repeat <= LIVE_REPEAT)
    assert any(("(settled)" if result["live_settled"] else "NOT settled") in line for line in lines)
    history = pd.read_csv(run.path("netadapt", "history.csv"))
    chosen = history[history.chosen]
    assert len(chosen) == result["iterations"] >= 2
    for _, row in chosen.iterrows():  # every kept step cuts at least delta (constant: decay 1)
        assert row.latency_cut >= result["delta_ms"] - 1e-12
        ArchSpec.from_str(row.arch)
    # one line per fine-tune: every proposal, and the control of each iteration
    assert sum(line.startswith("netadapt: iteration") for line in lines) == len(history) + result["iterations"]
    trajectory = pd.read_csv(run.path("netadapt", "trajectory.csv"))
    assert list(trajectory.latency_ms)[-1] == pytest.approx(result["table_ms"])
    metrics = json.loads(run.path("final", "metrics.json").read_text())
    assert {"test_accuracy", "val_accuracy", "predicted_ms", "params", "madds"} <= set(metrics)
    assert metrics["steps"] == cfg.netadapt.final_steps and metrics["val_accuracy"] == result["val_accuracy"]
    assert ArchSpec.load(run.path("final", "arch.yaml")).to_str() == result["final_arch"]
    state = json.loads(run.path("netadapt", "state.json").read_text())
    assert Path(state["current"]["weights"]).is_file()
    # compute behind the final model: seed training + (proposals + control) per iteration + final phase
    seed_steps = json.loads(run.path("seed", "metrics.json").read_text())["steps"]
    fine = cfg.netadapt.finetune_steps * (len(history) + result["iterations"])
    assert steps_spent(cfg, run, data) == {"seed": seed_steps, "finetunes": fine, "final": cfg.netadapt.final_steps,
                                           "total": seed_steps + fine + cfg.netadapt.final_steps}

    # complete: a resume does nothing at all
    assert run_netadapt(cfg, run, data, latency, SEED, weights, resume=True, run_jobs=never,
                        log=lambda _: None) == result
    # result.json lost after final/ was written: the final training is skipped, the bench redone
    before = run.path("final", "weights.pt").stat().st_mtime_ns
    run.path("netadapt", "result.json").unlink()
    lines.clear()
    again = run_netadapt(cfg, run, data, latency, SEED, weights, resume=True, run_jobs=never, log=lines.append)
    assert run.path("final", "weights.pt").stat().st_mtime_ns == before
    assert any("final training skipped" in line for line in lines)
    assert again["final_arch"] == result["final_arch"] and again["test_accuracy"] == result["test_accuracy"]


@pytest.mark.slow  # 15 s: one more whole NetAdapt run
def test_a_loop_that_stops_short_is_reported_as_such(tmp_path: Path) -> None:
    cfg, run, data, latency, weights = setup(
        tmp_path, netadapt={"target_ratio": None, "target_ms": 1e-6, "max_iterations": 1, "final": "retrain"})
    result = run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lambda _: None,
                          run_jobs=local(cfg, data, []))
    assert result["status"] == "max_iterations" and not result["target_met"]
    assert result["iterations"] == 1 and result["table_ms"] > result["target_ms"]
    assert run.is_complete("final") and result["final"] == "retrain"


@pytest.mark.slow  # 15 s: one more whole NetAdapt run
def test_resume_refuses_another_seed(tmp_path: Path) -> None:
    from experiments.config.errors import RunDirError

    cfg, run, data, latency, weights = setup(tmp_path, netadapt={"max_iterations": 1})
    run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lambda _: None,
                 run_jobs=local(cfg, data, []))
    run.path("netadapt", "result.json").unlink()
    other = ArchSpec.from_str(TINY_SEED.replace("head_c64", "head_c72"))
    with pytest.raises(RunDirError, match="resume with the same seed"):
        run_netadapt(cfg, run, data, latency, other, weights, resume=True, log=lambda _: None, run_jobs=never)
    with pytest.raises(RunDirError, match="pass --resume"):
        run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lambda _: None, run_jobs=never)


def test_a_really_diverging_proposal_is_recorded_failed_and_the_loop_goes_on(tmp_path: Path) -> None:
    # iteration 0's first proposal is fine-tuned at lr 1e12 (a real TrainingDiverged, not a scripted
    # failure); the control and the other proposals use the configured recipe
    cfg, run, data, latency, weights = setup(tmp_path, netadapt={"target_ratio": 0.6})
    short = finetune_recipe(cfg.train, cfg.netadapt.finetune_steps, cfg.netadapt.finetune_lr_scale)
    sane = LocalJobs(data, short, cfg.data.augment, lambda _: None)
    wild = LocalJobs(data, short.model_copy(update={"lr": 1e12}), cfg.data.augment, lambda _: None)
    diverged: list[str] = []

    def run_jobs(jobs):
        for job in jobs:
            if job.iteration == 0 and job.key != CONTROL and not diverged:
                diverged.append(job.key)
                yield from wild([job])
            else:
                yield from sane([job])

    result = run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lambda _: None,
                          run_jobs=run_jobs)
    history = pd.read_csv(run.path("netadapt", "history.csv"))
    bad = history[(history.iteration == 0) & (history.kind + history["index"].astype(str) == diverged[0])].iloc[0]
    assert bad.failure.startswith("TrainingDiverged: loss is") and "lower the learning rate" in bad.failure
    assert pd.isna(bad.val_accuracy) and not bad.chosen
    first = history[history.iteration == 0]
    assert first.chosen.sum() == 1 and (first.failure.isna()).sum() == len(first) - 1
    assert result["status"] == "met" and result["iterations"] >= 2  # the loop went on past iteration 0


@pytest.mark.slow  # ~45 s: keeps `make test` within its ~10 minutes
@pytest.mark.ray
def test_ray_tasks_give_the_same_history_as_in_process_jobs(tmp_path: Path) -> None:
    from experiments.ray_jobs.runtime import RayRuntime

    cfg, run, data, latency, weights = setup(tmp_path / "local", netadapt={"max_iterations": 2})
    expected = run_netadapt(cfg, run, data, latency, SEED, weights, resume=False, log=lambda _: None,
                            run_jobs=local(cfg, data, []))
    cfg2, run2, data2, latency2, weights2 = setup(tmp_path / "ray", netadapt={"max_iterations": 2})
    lines: list[str] = []
    with RayRuntime(cfg2.ray, log=lines.append, log_to_driver=False):
        got = run_netadapt(cfg2, run2, data2, latency2, SEED, weights2, resume=False, log=lines.append)
    assert any(line.startswith("ray: local Ray with 2 CPUs") for line in lines)
    state_path, state_path2 = run.path("netadapt", "state.json"), run2.path("netadapt", "state.json")
    assert comparable_history(state_path2) == comparable_history(state_path)
    state2 = json.loads(state_path2.read_text())
    assert got["final_arch"] == expected["final_arch"] and got["test_accuracy"] == expected["test_accuracy"]
    assert Path(state2["current"]["weights"]).is_file() and str(tmp_path / "ray") in state2["current"]["weights"]


def test_finetune_recipe_continues_a_trained_net() -> None:
    cfg = validate_config(config_dict(Path("/tmp")), "t.yaml", check_files=False)
    short = finetune_recipe(cfg.train, 40, 0.1)
    assert short.steps == 40 and short.epochs is None and short.warmup_steps == 0
    assert short.lr == 0.1 * cfg.train.lr
    long = finetune_recipe(cfg.train, 500)
    assert long.lr == cfg.train.lr and long.warmup_steps == cfg.train.warmup_steps and long.steps == 500
