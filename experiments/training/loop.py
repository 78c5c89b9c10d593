"""The training loop: plain PyTorch, used by `hwnas train`, search children and NetAdapt fine-tunes.

`train(model, data, cfg, seed=..., steps=..., on_epoch=...)` runs SGD (Nesterov) or RMSProp with a
linear warm-up and a cosine schedule, label smoothing and weight decay on conv / linear weights,
for a budget in epochs or steps, evaluating on the validation split after every pass. `on_epoch`
receives an `EpochReport` (Ray trials report through it). A non-finite loss raises
`TrainingDiverged` so a caller can record the failure. `evaluate(model, loader)` gives accuracy and
loss on any split.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from experiments.config.schema import TrainingConfig
from experiments.data.loader import BatchLoader
from experiments.data.types import DataBundle, Split


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; lower the learning rate or check the data."""


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    loss: float
    count: int


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    step: int
    train_loss: float
    val_accuracy: float
    val_loss: float
    seconds: float


@dataclass
class TrainResult:
    steps: int
    train_loss: float
    val_accuracy: float
    val_loss: float
    seconds: float
    images_per_second: float  # training images per second, evaluation time excluded
    history: list[EpochReport] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch; make cuDNN deterministic."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def make_loader(data: DataBundle, split: str, cfg: TrainingConfig, *, train: bool = False, augment: bool = False,
                seed: int = 0, device: torch.device | None = None) -> BatchLoader:
    """A loader over `data.<split>`: shuffled, augmented and dropping the last partial batch when `train`."""
    device = device or pick_device(cfg.device)
    part: Split = getattr(data, split)
    return BatchLoader(part, data.mean, data.std, cfg.batch_size if train else cfg.eval_batch_size,
                       shuffle=train, augment=augment and train, drop_last=train, seed=seed, device=device,
                       channels_last=cfg.channels_last)


def make_optimizer(model: nn.Module, cfg: TrainingConfig) -> torch.optim.Optimizer:
    """Weight decay on conv / linear weights only, not on BN parameters or biases."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0)
    return torch.optim.RMSprop(groups, lr=cfg.lr, alpha=0.9, eps=1e-3, momentum=cfg.momentum)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to zero at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def budget_steps(cfg: TrainingConfig, steps_per_epoch: int, steps: int | None, epochs: float | None) -> int:
    """Explicit `steps`, else explicit `epochs`, else the config's budget, in optimizer steps."""
    if steps is not None:
        return steps
    if epochs is None and cfg.steps is not None:
        return cfg.steps
    chosen = epochs if epochs is not None else cfg.epochs
    assert chosen is not None  # TrainingConfig guarantees one budget
    return max(1, math.ceil(chosen * steps_per_epoch))


@torch.no_grad()
def recalibrate_bn(model: nn.Module, loader: BatchLoader, batches: int) -> None:
    """Recompute BatchNorm running statistics as an exact average over `batches` training batches.

    The builder uses torchvision's BN momentum of 0.01, so after a short training (a search child, a
    NetAdapt fine-tune) the running statistics still lag far behind the weights and eval-mode accuracy
    collapses; NAS practice (e.g. TuNAS, OFA) recomputes them before evaluating.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or batches == 0:
        return
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
        m.train()
    for i, (x, _) in enumerate(loader):
        if i >= batches:
            break
        model(x)
    for m, (momentum, training) in zip(norms, saved):
        m.momentum = momentum
        m.train(training)


@torch.no_grad()
def evaluate(model: nn.Module, loader: BatchLoader) -> Evaluation:
    """Top-1 accuracy and mean cross-entropy over every example of `loader` (eval mode, no smoothing)."""
    was_training = model.training
    model.eval()
    correct, loss_sum, count = 0, 0.0, 0
    for x, y in loader:
        logits = model(x)
        loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
        count += len(y)
    model.train(was_training)
    return Evaluation(correct / max(count, 1), loss_sum / max(count, 1), count)


def train(model: nn.Module, data: DataBundle, cfg: TrainingConfig, *, seed: int = 0, steps: int | None = None,
          epochs: float | None = None, augment: bool = True, on_epoch: Callable[[EpochReport], None] | None = None,
          progress: bool = False, desc: str = "train") -> TrainResult:
    """Train `model` in place on `data.train`, evaluating on `data.val` after every pass and at the end.

    The budget is `steps` or `epochs` when given, else the config's. `cfg.torch_threads`, when set,
    sets torch's thread count for the whole process. Returns the final validation accuracy,
    throughput and per-epoch history.
    """
    seed_everything(seed)
    if cfg.torch_threads is not None:
        torch.set_num_threads(cfg.torch_threads)
    device = pick_device(cfg.device)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    loader = make_loader(data, "train", cfg, train=True, augment=augment, seed=seed, device=device)
    if len(loader) == 0:
        raise ValueError(f"the train split has {len(data.train)} images, fewer than one batch of "
                         f"{cfg.batch_size}; lower the batch size")
    val_loader = make_loader(data, "val", cfg, device=device)
    calib_loader = make_loader(data, "train", cfg, train=True, seed=seed, device=device)
    total = budget_steps(cfg, len(loader), steps, epochs)
    optimizer = make_optimizer(model, cfg)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, cfg.warmup_steps))
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    history: list[EpochReport] = []
    start = time.perf_counter()
    step, epoch, loss_sum, loss_count, eval_seconds = 0, 0, 0.0, 0, 0.0
    model.train()
    bar = tqdm(total=total, desc=desc, unit="step", disable=not progress, dynamic_ncols=True, leave=False)
    try:
        while step < total:
            for x, y in loader:
                loss = criterion(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainingDiverged(f"loss is {value} at step {step}; lower the learning rate "
                                           f"(lr={cfg.lr}) or check the data")
                loss_sum, loss_count, step = loss_sum + value, loss_count + 1, step + 1
                bar.update(1)
                if step % 10 == 0:
                    bar.set_postfix(loss=f"{loss_sum / loss_count:.3f}", lr=f"{schedule.get_last_lr()[0]:.4f}")
                if step >= total:
                    break
            epoch += 1
            eval_start = time.perf_counter()
            recalibrate_bn(model, calib_loader, cfg.bn_recalibration_batches)
            val = evaluate(model, val_loader)
            eval_seconds += time.perf_counter() - eval_start
            report = EpochReport(epoch, step, loss_sum / max(loss_count, 1), val.accuracy, val.loss,
                                 time.perf_counter() - start)
            history.append(report)
            loss_sum, loss_count = 0.0, 0
            if on_epoch is not None:
                on_epoch(report)
    finally:
        bar.close()
    seconds = time.perf_counter() - start
    last = history[-1]
    return TrainResult(step, last.train_loss, last.val_accuracy, last.val_loss, seconds,
                       step * cfg.batch_size / max(seconds - eval_seconds, 1e-9), history)
