"""Is the embedded dataset hard enough that architectures differ? A tiny network and MobileNetV3-Small
are trained with the same short recipe on the same embedded data; their test accuracies must differ
by at least 10 points (issue 4's acceptance).

    .venv/bin/python benchmarks/dataset_spread.py [--epochs 6] [--train-size 10000] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from experiments.config.schema import TrainingConfig
from experiments.data.embedded import embedded_bundle
from experiments.training.loop import evaluate, make_loader, train
from models import build_model, count_params, resolve_arch

TINY = "stem_c16_re-ir_k3_m32_c16_s2_re-head_c64_h1024_re"
SMALL = "mobilenetv3-small"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=6)
    parser.add_argument("--train-size", type=int, default=10_000)
    parser.add_argument("--eval-size", type=int, default=2_000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    data = embedded_bundle(args.seed, args.train_size, args.eval_size, args.eval_size, 32)
    print(f"embedded dataset: {data.summary()} generated in {time.perf_counter() - start:.1f} s")
    cfg = TrainingConfig(epochs=args.epochs, batch_size=128, lr=args.lr)
    accuracy = {}
    for name, arch in (("tiny", TINY), ("mobilenetv3-small", SMALL)):
        spec = resolve_arch(arch)
        torch.manual_seed(args.seed)
        model = build_model(spec, num_classes=data.num_classes, dropout=cfg.dropout)
        result = train(model, data, cfg, seed=args.seed)
        accuracy[name] = evaluate(model, make_loader(data, "test", cfg)).accuracy
        print(f"{name:>18}: test acc {accuracy[name]:.4f}, val acc {result.val_accuracy:.4f}, "
              f"{count_params(spec, 10) / 1e6:.3f} M params, {result.seconds:.0f} s  ({spec.to_str()})")
    spread = 100 * (accuracy["mobilenetv3-small"] - accuracy["tiny"])
    print(f"spread: {spread:.1f} accuracy points (goal >= 10)")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    return 0 if spread >= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
