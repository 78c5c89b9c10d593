"""A search child: the Ray Tune function trainable that trains one sampled architecture briefly.

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

from experiments.config import TrainingConfig
from experiments.data.types import DataBundle
from experiments.training import EpochReport, TrainingDiverged, seed_everything, train
from models.builder import build_model
from models.spec import ArchSpec

WEIGHTS_FILE = "weights.pt"


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
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, Path(tmp) / WEIGHTS_FILE)
        tune.report({"accuracy": result.val_accuracy, "val_loss": result.val_loss, "train_loss": result.train_loss,
                     "steps": result.steps, "started_at": started_at, "train_s": train_s,
                     "final": True},
                    checkpoint=tune.Checkpoint.from_directory(tmp))
