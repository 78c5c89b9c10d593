"""Search children as Ray Tune trials: `tune_children` runs a Tuner driven by the searcher, and
`run_child` is the function trainable that trains one sampled architecture briefly.

Its config is the searcher's small JSON dict (`arch`, `decisions`, `seed`, `budget`); the data and
the child training recipe arrive through `tune.with_parameters`. It reports validation accuracy
after every epoch and, at the end, the final accuracy with a checkpoint of the weights (a
`state_dict`). Every report carries `started_at` (wall clock when the child began) and the final
one `train_s` (seconds spent building and training the model, before the checkpoint is written),
for the trials table. A diverged loss or an out-of-memory error is reported as a `failure` string, which
the searcher records as the child's reason; any other exception fails the trial.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from ray import tune
from ray.tune.search import Searcher

from experiments.config.schema import Config, TrainingConfig
from experiments.console.lines import short_name
from experiments.data.types import DataBundle
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.loop import (
    EpochReport,
    TrainingDiverged,
    seed_everything,
    train,
)
from experiments.training.weights import state_dict_cpu
from models.builder import build_model
from models.spec import ArchSpec


def run_child(config: dict[str, Any], *, data: DataBundle, training: TrainingConfig, augment: bool) -> None:
    """Train `config["arch"]` for `config["budget"]` (epochs or steps) and report to Tune."""
    started_at, start = time.time(), time.perf_counter()
    spec = ArchSpec.from_str(config["arch"])
    budget = config["budget"]
    seed_everything(int(config["seed"]))  # the initial weights too: a child is reproducible from its seed
    model = build_model(spec, num_classes=data.num_classes, dropout=training.dropout)

    def report(r: EpochReport) -> None:
        tune.report({"accuracy": r.val_accuracy, "val_loss": r.val_loss, "train_loss": r.train_loss,
                     "epoch": r.epoch, "step": r.step, "started_at": started_at})

    try:
        result = train(model, data, training, seed=int(config["seed"]), steps=budget.get("steps"),
                       epochs=budget.get("epochs"), augment=augment, on_epoch=report)
    except TrainingDiverged as err:
        tune.report({"accuracy": float("nan"), "failure": f"training diverged: {err}", "started_at": started_at})
        return
    except torch.OutOfMemoryError as err:
        tune.report({"accuracy": float("nan"), "failure": f"out of memory: {err}", "started_at": started_at})
        return
    train_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(state_dict_cpu(model), Path(tmp) / layout.WEIGHTS)
        tune.report({"accuracy": result.val_accuracy, "val_loss": result.val_loss, "train_loss": result.train_loss,
                     "steps": result.steps, "started_at": started_at, "train_s": train_s,
                     "final": True},
                    checkpoint=tune.Checkpoint.from_directory(tmp))


def trial_name(searcher: Searcher, trial_id: str, arch: str) -> str:
    """The child's short name (index and arch hash, as on the console); the full arch is in trials.csv.
    Tune names a trial right after the searcher suggested it, so the searcher's record is pending."""
    record = getattr(searcher, "pending", {}).get(trial_id) or {}
    return short_name(record.get("index"), arch)


def tune_children(cfg: Config, run: RunDir, data: DataBundle, searcher: Searcher, attempt: int) -> None:
    """One Tune run (`ray/search-<attempt>/`) of the children the searcher still has to give out."""
    assert cfg.search is not None
    training = cfg.search.child_training
    trainable = tune.with_resources(
        tune.with_parameters(run_child, data=data, training=training, augment=cfg.data.augment),
        {"cpu": cfg.ray.resources_per_trial.cpu, "gpu": cfg.ray.resources_per_trial.gpu},
    )
    tuner = tune.Tuner(
        trainable,
        # reuse_actors: a finished child's worker process runs the next child, instead of a new process
        # importing torch for every child (~4 s per child on this machine, see benchmarks/search_overhead.py)
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, reuse_actors=True,
                                    max_concurrent_trials=cfg.ray.max_concurrent_trials,
                                    trial_name_creator=lambda t: trial_name(searcher, t.trial_id, t.config["arch"]),
                                    trial_dirname_creator=lambda t: f"child-{t.trial_id}"),
        run_config=tune.RunConfig(storage_path=str(Path(run.path(layout.RAY_DIR)).resolve()), name=f"search-{attempt}",
                                  verbose=1),
    )
    tuner.fit()
