"""A search child: the Ray Tune function trainable that trains one sampled architecture briefly.

Its config is the searcher's small JSON dict (`arch`, `decisions`, `seed`, `budget`); the data and
the child training recipe arrive through `tune.with_parameters`. It reports validation accuracy
after every epoch and, at the end, the final accuracy with a checkpoint of the weights (a
`state_dict`). A diverged loss or an out-of-memory error is reported as a `failure` string, which
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
from experiments.training import EpochReport, TrainingDiverged, train
from models.builder import build_model
from models.spec import ArchSpec

WEIGHTS_FILE = "weights.pt"


def run_child(config: dict[str, Any], *, data: DataBundle, training: TrainingConfig, augment: bool) -> None:
    """Train `config["arch"]` for `config["budget"]` (epochs or steps) and report to Tune."""
    spec = ArchSpec.from_str(config["arch"])
    budget = config["budget"]
    model = build_model(spec, num_classes=data.num_classes, dropout=training.dropout)
    start = time.perf_counter()

    def report(r: EpochReport) -> None:
        tune.report({"accuracy": r.val_accuracy, "val_loss": r.val_loss, "train_loss": r.train_loss,
                     "epoch": r.epoch, "step": r.step})

    try:
        result = train(model, data, training, seed=int(config["seed"]), steps=budget.get("steps"),
                       epochs=budget.get("epochs"), augment=augment, on_epoch=report)
    except TrainingDiverged as err:
        tune.report({"accuracy": float("nan"), "failure": f"training diverged: {err}"})
        return
    except torch.OutOfMemoryError as err:
        tune.report({"accuracy": float("nan"), "failure": f"out of memory: {err}"})
        return
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, Path(tmp) / WEIGHTS_FILE)
        tune.report({"accuracy": result.val_accuracy, "val_loss": result.val_loss, "train_loss": result.train_loss,
                     "steps": result.steps, "train_seconds": time.perf_counter() - start, "final": True},
                    checkpoint=tune.Checkpoint.from_directory(tmp))
