"""The reference phase: MobileNetV3 nets of the space's family trained from scratch as Ray tasks with
the final model's recipe (the `train` section) for as many steps as NetAdapt spent on the final
model (`phases.netadapt.steps_spent`: seed training, every fine-tune, the final phase), so the
report compares them with the final model on equal compute. Each trained reference is kept in
`references/<name>.json` the moment it finishes (a resumed run trains only the missing ones); then
`references.csv` lists them all with their table latency, params, multiply-adds, training steps and
the recipe in words (`recipe_text`), which the report prints beside them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.config.schema import Config, TrainingConfig
from experiments.data import DataBundle
from experiments.phases.netadapt import finetune_recipe, steps_spent
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import train_arch
from latency.predict import LatencyModel
from models import atomic, resolve_arch
from models.spec import ArchSpec

REFERENCE_COLUMNS = ("name", "arch", "val_accuracy", "test_accuracy", "latency_ms", "params", "madds", "steps",
                     "recipe")


def default_references(space: str) -> list[str]:
    family = "large" if "large" in Path(space).stem else "small"
    return [f"mobilenetv3-{family}", f"mobilenetv3-{family}-0.75"]


def train_reference(payload: tuple[str, str], data: DataBundle, training: TrainingConfig, seed: int,
                    augment: bool) -> dict[str, Any]:
    """A Ray task: train one reference net from scratch with `training`; returns its metrics."""
    name, arch = payload
    _, metrics = train_arch(ArchSpec.from_str(arch), data, training, seed=seed, augment=augment, desc=name)
    return metrics


def reference_recipe(cfg: Config, total_steps: int) -> TrainingConfig:
    """The final model's recipe (`train`: optimizer, peak lr, batch, schedule; never the search's child
    recipe) with its budget set to the steps NetAdapt spent on the final model."""
    return finetune_recipe(cfg.train, total_steps)


def recipe_text(recipe: TrainingConfig) -> str:
    """A recipe in a few words, for `references.csv` and the report."""
    return (f"{recipe.optimizer} lr {recipe.lr:g} (warm-up {recipe.warmup_steps}, cosine), batch {recipe.batch_size}, "
            f"label smoothing {recipe.label_smoothing:g}, {recipe.steps} steps from scratch")


def slug(name: str) -> str:
    """A reference name as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]


def run_references(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel,
                   log: Callable[[str], None] = print) -> list[str]:
    """Train the missing references (after NetAdapt), then write `references.csv`; returns its
    run-relative path."""
    from experiments.ray_jobs.tasks import (
        as_completed,  # imports Ray: only when references train
    )

    p = cfg.pipeline
    names = default_references(cfg.space) if p.references is None else p.references
    todo = [(n, resolve_arch(n).to_str()) for n in names if not run.has(layout.reference_metrics(slug(n)))]
    spent = steps_spent(cfg, run, data)
    recipe = reference_recipe(cfg, spent["total"])
    if todo:
        log(f"[references] training {len(todo)} reference net(s) from scratch with the final model's recipe "
            f"for {spent['total']} steps (NetAdapt's: seed {spent['seed']} + fine-tunes {spent['finetunes']} + "
            f"final {spent['final']}): {', '.join(n for n, _ in todo)}")
    resources = cfg.ray.resources_per_trial
    for (name, _), metrics in as_completed(
            train_reference, todo, shared=(data, recipe, cfg.seed, cfg.data.augment),
            num_cpus=resources.cpu, num_gpus=resources.gpu, max_in_flight=cfg.ray.max_concurrent_trials):
        run.write_json(layout.reference_metrics(slug(name)), {"name": name, **metrics})
        log(f"[references] {name}: val accuracy {metrics['val_accuracy']:.4f}")
    rows = []
    for name in names:
        m = run.read_json(layout.reference_metrics(slug(name)))
        rows.append({"name": name, "arch": m["arch"], "val_accuracy": m["val_accuracy"],
                     "test_accuracy": m["test_accuracy"], "latency_ms": latency(ArchSpec.from_str(m["arch"])),
                     "params": m["params"], "madds": m["madds"], "steps": m["steps"],
                     "recipe": recipe_text(finetune_recipe(recipe, int(m["steps"])))})
    atomic.write_text(run.path(layout.REFERENCES),
                      pd.DataFrame(rows, columns=list(REFERENCE_COLUMNS)).to_csv(index=False))
    return [layout.REFERENCES]
