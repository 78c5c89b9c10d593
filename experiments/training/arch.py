"""Train one architecture from scratch and describe the result: the piece shared by `hwnas train`, the
pipeline's seed and reference phases, and anything else that trains a whole spec.

`train_arch` returns the trained module and a metrics mapping (validation and test accuracy,
params, multiply-adds, throughput, per-epoch history); `save_trained` writes `arch.yaml`,
`weights.pt` (a `state_dict`) and `metrics.json` under a prefix of a run directory (`rundir.layout`),
metrics last, so a present `metrics.json` means the other two are complete (`RunDir.is_complete`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from experiments.config.schema import TrainingConfig
from experiments.data import DataBundle
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.loop import (
    EpochReport,
    evaluate,
    make_loader,
    seed_everything,
    train,
)
from experiments.training.weights import state_dict_cpu
from models import build_model, count_madds, count_params
from models.spec import ArchSpec


def train_arch(spec: ArchSpec, data: DataBundle, training: TrainingConfig, *, seed: int, augment: bool,
               steps: int | None = None, epochs: float | None = None, progress: bool = False, desc: str = "train",
               on_epoch: Callable[[EpochReport], None] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """Build `spec` (initial weights drawn from `seed`), train it with `training` (budget overridable),
    evaluate on validation and test."""
    seed_everything(seed)
    model = build_model(spec, num_classes=data.num_classes, dropout=training.dropout)
    result = train(model, data, training, seed=seed, steps=steps, epochs=epochs, augment=augment,
                   on_epoch=on_epoch, progress=progress, desc=desc)
    test = evaluate(model, make_loader(data, "test", training))
    metrics = {
        "arch": spec.to_str(),
        "params": count_params(spec, data.num_classes),
        "madds": count_madds(spec, data.resolution, data.num_classes),
        "data": data.summary(),
        "normalisation": {"mean": data.mean, "std": data.std},
        "seed": seed,
        "val_accuracy": result.val_accuracy,
        "val_loss": result.val_loss,
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "steps": result.steps,
        "seconds": result.seconds,
        "images_per_second": result.images_per_second,
        "torch_threads": torch.get_num_threads(),
        "history": [vars(h) for h in result.history],
    }
    return model, metrics


def save_trained(run: RunDir, prefix: str, spec: ArchSpec, model: nn.Module, metrics: dict[str, Any]) -> None:
    """Write `<prefix>/arch.yaml`, `<prefix>/weights.pt`, then `<prefix>/metrics.json` (the completion mark)."""
    run.write_text(layout.join(prefix, layout.ARCH), spec.to_yaml())
    run.save_torch(layout.join(prefix, layout.WEIGHTS), state_dict_cpu(model))
    run.write_json(layout.join(prefix, layout.METRICS), metrics)
