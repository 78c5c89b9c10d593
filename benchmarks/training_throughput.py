"""Throughput of `experiments.training.loop.train` against a bare hand-written loop, same model and data.

MobileNetV3-Small at 32x32 on the embedded dataset, batch 128, SGD + label smoothing + cosine
schedule, channels_last, no augmentation (so both loops do the same work). The two loops alternate
`--repeats` times in one process; the median images/s of each and their ratio are printed (goal:
framework / bare >= 0.9). `train` reports training throughput without its per-epoch evaluation.

    .venv/bin/python benchmarks/training_throughput.py [--steps 20] [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

import torch
from torch import nn

from experiments.config.schema import TrainingConfig
from experiments.data.embedded import embedded_bundle
from experiments.data.types import DataBundle
from experiments.training.loop import make_loader, train
from models import build_model, resolve_arch

ARCH = "mobilenetv3-small"


def bare_loop(data: DataBundle, cfg: TrainingConfig, steps: int) -> float:
    """The reference: pre-built batches, the same optimizer and loss, nothing else. Returns images/s."""
    torch.manual_seed(0)
    model = build_model(resolve_arch(ARCH), num_classes=10, dropout=cfg.dropout).to(memory_format=torch.channels_last)
    batches = list(make_loader(data, "train", cfg, train=True))
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True,
                          weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        x, y = batches[step % len(batches)]
        loss = criterion(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        float(loss.detach())
    return steps * cfg.batch_size / (time.perf_counter() - start)


def framework_loop(data: DataBundle, cfg: TrainingConfig, steps: int) -> float:
    torch.manual_seed(0)
    model = build_model(resolve_arch(ARCH), num_classes=10, dropout=cfg.dropout)
    return train(model, data, cfg, seed=0, steps=steps, augment=False).images_per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = TrainingConfig(steps=args.steps, batch_size=128, channels_last=True, bn_recalibration_batches=0)
    data = embedded_bundle(0, args.steps * cfg.batch_size, 128, 128, 32)
    bare_loop(data, cfg, 3)  # warm-up: allocator, kernels
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(data, cfg, args.steps))
        ours.append(framework_loop(data, cfg, args.steps))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"model {ARCH} at 32x32, batch {cfg.batch_size}, {args.steps} steps x {args.repeats} repeats, "
          f"{args.threads} thread(s)")
    print(f"bare loop : median {b:7.1f} images/s  (runs: {', '.join(f'{v:.0f}' for v in bare)})")
    print(f"train()   : median {o:7.1f} images/s  (runs: {', '.join(f'{v:.0f}' for v in ours)})")
    print(f"ratio train()/bare = {o / b:.3f}  (goal >= 0.9)")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
