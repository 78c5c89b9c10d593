"""Which short fine-tune recipe NetAdapt's proposals (and the control) should use (issue 15).

A V3-Small trained on the embedded data at 32 px (the demo's data and resolution) is the parent;
real NetAdapt proposals of it (`netadapt.proposals.generate`, widths on the grid of 8, head
included, priced by multiply-adds so no latency table is needed, delta 5% of the parent's) and the
unchanged control are fine-tuned for the short budget with each candidate recipe, on the same
seeds and data order as the loop gives them.

Part A, fresh optimizer: learning-rate scale (x the training recipe's 0.1) x schedule (constant,
cosine to 0, linear warm-up over a fifth of the steps then cosine). Scale 1.0 with cosine and no
warm-up is what proposals used before issue 15 (the from-scratch recipe).

Part B, optimizer state carried: one proposal is "kept" after part A's best recipe; its proposals
are fine-tuned once with a fresh SGD and once starting from the kept fine-tune's momentum
buffers, narrowed with the same channel plan as the weights (`models.narrow(..., keep=plan)`).

Printed per recipe: mean validation accuracy of control and proposals, the spread across seeds
(standard deviation of the per-seed mean), the mean accuracy change against the control and the
parent's accuracy before any fine-tune. Rows also go to <out>/recipes.csv.
Run: nice -n 10 .venv/bin/python benchmarks/netadapt_finetune_recipe.py [--seed-weights W] [--seeds 3]
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from experiments.config.schema import TrainingConfig
from experiments.data.embedded import embedded_bundle
from experiments.data.types import DataBundle
from experiments.training.loop import (
    TrainingDiverged,
    evaluate,
    lr_factor,
    make_loader,
    make_optimizer,
    recalibrate_bn,
    seed_everything,
    train,
)
from experiments.training.weights import load_trained, state_dict_cpu
from models import REFERENCES, ArchSpec, atomic, build_model, count_madds, narrow
from models.builder import MobileNet
from models.surgery import plan_channels
from netadapt.proposals import generate

RESOLUTION = 32
Buffers = dict[str, torch.Tensor]
SCHEDULES: dict[str, Callable[[int, int], float]] = {
    "constant": lambda step, total: 1.0,
    "cosine": lambda step, total: lr_factor(step, total, 0),
    "warmup-cosine": lambda step, total: lr_factor(step, total, max(1, total // 5)),
}


@dataclass(frozen=True)
class Recipe:
    lr_scale: float
    schedule: str

    @property
    def name(self) -> str:
        return f"lr x{self.lr_scale:g} {self.schedule}"


def finetune(model: MobileNet, data: DataBundle, cfg: TrainingConfig, schedule: str, steps: int, seed: int,
             momentum: Buffers | None = None) -> tuple[float, Buffers]:
    """The loop's fine-tune (`experiments.training.loop.train`: same loaders, optimizer, BN
    recalibration) with a chosen schedule and optionally initial momentum buffers; returns
    (validation accuracy, momentum buffers by parameter name). NaN accuracy when it diverged."""
    seed_everything(seed)
    model.to(memory_format=torch.channels_last).train()
    loader = make_loader(data, "train", cfg, train=True, augment=True, seed=seed)
    optimizer = make_optimizer(model, cfg)
    named = dict(model.named_parameters())
    if momentum is not None:
        for name, p in named.items():
            optimizer.state[p]["momentum_buffer"] = torch.empty_like(p).copy_(momentum[name])
    factor = SCHEDULES[schedule]
    base = [g["lr"] for g in optimizer.param_groups]
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    step = 0
    try:
        while step < steps:
            for x, y in loader:
                for g, lr in zip(optimizer.param_groups, base):
                    g["lr"] = lr * factor(step, steps)
                loss = criterion(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if not math.isfinite(value := float(loss.detach())):
                    raise TrainingDiverged(f"loss {value} at step {step}")
                step += 1
                if step >= steps:
                    break
    except TrainingDiverged:
        return math.nan, {}
    recalibrate_bn(model, make_loader(data, "train", cfg, train=True, seed=seed), cfg.bn_recalibration_batches)
    accuracy = evaluate(model, make_loader(data, "val", cfg)).accuracy
    return accuracy, {name: optimizer.state[p]["momentum_buffer"].detach().clone() for name, p in named.items()}


def narrowed(parent: MobileNet, spec: ArchSpec, momentum: Buffers | None) -> tuple[MobileNet, Buffers | None]:
    """`parent` narrowed to `spec`, and its momentum buffers narrowed by the same channel plan."""
    keep = plan_channels(parent, spec)
    child = narrow(parent, spec, keep)
    if momentum is None:
        return child, None
    holder = copy.deepcopy(parent)
    with torch.no_grad():
        for name, p in holder.named_parameters():
            p.copy_(momentum[name])
    return child, {name: p.detach().clone() for name, p in narrow(holder, spec, keep).named_parameters()}


def proposals_of(spec: ArchSpec, count: int) -> list[tuple[str, ArchSpec]]:
    """`count` real NetAdapt proposals of `spec` (one per layer kind first), priced by multiply-adds."""
    def madds(s: ArchSpec) -> float:
        return count_madds(s, RESOLUTION, 10) / 1e6
    found, _ = generate(spec, madds, 0.05 * madds(spec), divisor=8, head=True)
    ordered = sorted(found, key=lambda p: sum(q.kind == p.kind for q in found[:found.index(p)]))  # kinds alternate
    return [(f"{p.key} {p.width_before}->{p.width_after}", p.spec) for p in ordered[:count]]


def seed_model(data: DataBundle, cfg: TrainingConfig, weights: Path | None, out: Path, steps: int
               ) -> tuple[MobileNet, float]:
    """The trained V3-Small parent: loaded from `weights`, or trained `steps` steps and saved in `out`."""
    spec = REFERENCES["mobilenetv3-small"]
    path = weights or out / "seed.pt"
    if path.is_file():
        model = load_trained(spec, path, data.num_classes, cfg.dropout)
    else:
        model = build_model(spec, num_classes=data.num_classes, dropout=cfg.dropout)
        started = time.perf_counter()
        train(model, data, cfg.model_copy(update={"steps": steps}), seed=0)
        atomic.save_torch(path, state_dict_cpu(model))
        print(f"seed trained {steps} steps in {time.perf_counter() - started:.0f} s -> {path}")
    accuracy = evaluate(model, make_loader(data, "val", cfg)).accuracy
    return model, accuracy


def run_recipe(parent: MobileNet, nets: list[tuple[str, ArchSpec]], data: DataBundle, cfg: TrainingConfig,
               recipe: Recipe, steps: int, seeds: list[int], momentum: dict[int, Buffers] | None, part: str
               ) -> list[dict[str, object]]:
    """One row per (seed, net): the net narrowed from `parent` and fine-tuned with `recipe`."""
    short = cfg.model_copy(update={"lr": cfg.lr * recipe.lr_scale})
    rows: list[dict[str, object]] = []
    for seed in seeds:
        for key, spec in nets:
            model, buffers = narrowed(copy.deepcopy(parent), spec, momentum[seed] if momentum else None)
            accuracy, _ = finetune(model, data, short, recipe.schedule, steps, seed, buffers)
            rows.append({"part": part, "recipe": recipe.name, "carried": momentum is not None, "seed": seed,
                         "net": key, "val_accuracy": accuracy})
    return rows


def summary(rows: list[dict[str, object]], before: float) -> pd.DataFrame:
    """Per (part, recipe, carried): control and proposal means, spread over seeds, dAcc vs control."""
    frame = pd.DataFrame(rows)
    out = []
    for (part, recipe, carried), group in frame.groupby(["part", "recipe", "carried"], sort=False):
        control = group[group.net == "control"].set_index("seed").val_accuracy
        props = group[group.net != "control"]
        per_seed = props.groupby("seed").val_accuracy.mean()
        deltas = props.val_accuracy.to_numpy() - control.loc[props.seed].to_numpy()
        out.append({"part": part, "recipe": recipe, "carried": carried, "control": control.mean(),
                    "proposals": per_seed.mean(), "spread": statistics.pstdev(per_seed) if len(per_seed) > 1 else 0.0,
                    "dacc_vs_control": float(pd.Series(deltas).mean()), "failed": int(props.val_accuracy.isna().sum()),
                    "vs_before": per_seed.mean() - before})
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/finetune-recipe"))
    parser.add_argument("--seed-weights", type=Path, help="a trained mobilenetv3-small state_dict (10 classes)")
    parser.add_argument("--train-steps", type=int, default=600, help="the parent's training when not given")
    parser.add_argument("--steps", type=int, default=40, help="the short fine-tune (the demo's finetune_steps)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--proposals", type=int, default=2)
    parser.add_argument("--scales", default="0.03,0.1,0.3,1.0", help="lr scales tried with the cosine schedule")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    data = embedded_bundle(0, 10000, 2000, 2000, RESOLUTION)
    cfg = TrainingConfig(steps=args.steps, batch_size=128, lr=0.1, device="cpu", torch_threads=1)
    parent, before = seed_model(data, cfg, args.seed_weights, args.out, args.train_steps)
    print(f"parent {parent.spec.to_str()}: val accuracy {before:.4f} before any fine-tune")
    seeds = list(range(args.seeds))
    nets = [("control", parent.spec), *proposals_of(parent.spec, args.proposals)]
    print("proposals:", ", ".join(k for k, _ in nets[1:]))
    recipes = [Recipe(float(s), "cosine") for s in args.scales.split(",")]
    recipes += [Recipe(0.1, "constant"), Recipe(0.1, "warmup-cosine")]
    rows: list[dict[str, object]] = []
    started = time.perf_counter()
    for recipe in recipes:
        rows += run_recipe(parent, nets, data, cfg, recipe, args.steps, seeds, None, "A")
        atomic.write_text(args.out / "recipes.csv", pd.DataFrame(rows).to_csv(index=False))  # kept if stopped
        mean = statistics.mean(float(r["val_accuracy"]) for r in rows if r["recipe"] == recipe.name)
        print(f"  {recipe.name}: mean val accuracy {mean:.4f} ({time.perf_counter() - started:.0f} s)", flush=True)
    table = summary(rows, before)
    best = recipes[int(table[table.part == "A"].proposals.to_numpy().argmax())]
    # part B: keep the first proposal fine-tuned with the best recipe; fine-tune its proposals fresh vs carried
    kept_key, kept_spec = nets[1]
    kept: dict[int, tuple[MobileNet, Buffers]] = {}
    short = cfg.model_copy(update={"lr": cfg.lr * best.lr_scale})
    for seed in seeds:
        model, _ = narrowed(copy.deepcopy(parent), kept_spec, None)
        _, buffers = finetune(model, data, short, best.schedule, args.steps, seed)
        kept[seed] = (model, buffers)
    child_nets = [("control", kept_spec), *proposals_of(kept_spec, args.proposals)]
    print(f"part B: kept {kept_key} after {best.name}; its proposals:", ", ".join(k for k, _ in child_nets[1:]))
    b_rows: list[dict[str, object]] = []
    for carried in (False, True):
        for seed in seeds:  # each seed's kept model is its own parent
            b_rows += run_recipe(kept[seed][0], child_nets, data, cfg, best, args.steps, [seed],
                                 {seed: kept[seed][1]} if carried else None, "B")
    kept_before = statistics.mean(evaluate(m, make_loader(data, "val", cfg)).accuracy for m, _ in kept.values())
    table = pd.concat([table, summary(b_rows, kept_before)], ignore_index=True)
    atomic.write_text(args.out / "recipes.csv", pd.DataFrame(rows + b_rows).to_csv(index=False))
    atomic.write_text(args.out / "summary.csv", table.to_csv(index=False))
    pd.set_option("display.width", 200)
    print(f"\n{args.steps} fine-tune steps, {args.seeds} seeds, {len(nets) - 1} proposals + control; "
          f"'vs_before': proposals' mean minus the parent's accuracy before fine-tuning ({before:.4f} part A, "
          f"{kept_before:.4f} part B); {time.perf_counter() - started:.0f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
