"""The pipeline's final model against MobileNetV3-Small at the width that meets the same target,
trained with the same recipe and budget on the same data: test accuracy and measured latency side
by side.

Reads a finished run (default runs/demo, made by `hwnas run experiments/configs/demo.yaml`): its
final arch and weights, its NetAdapt target and its config. The reference width is the largest
multiplier on a 0.05 grid whose live LiteRT latency (1 thread, this machine, same resolution) is at
most the target; it is then trained from scratch with the run's `train` recipe for as many steps as the pipeline's model got
from scratch to the end (seed training + one fine-tune per kept NetAdapt step + the final
fine-tune), and both models are timed live in this process, alternating, so they share the same
machine state.

    .venv/bin/python benchmarks/pipeline_vs_reference.py [--run runs/demo]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from experiments.data import load_data
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import train_arch
from experiments.training.loop import evaluate, make_loader
from experiments.training.weights import load_trained
from latency.export import arch_input_shape, tflite_bytes
from latency.litert_bench import benchmark_tflite
from models import build_model
from models.references import mobilenetv3
from models.spec import ArchSpec

WIDTHS = [round(0.2 + 0.05 * i, 2) for i in range(17)]  # 0.2 .. 1.0


def live_ms(model: torch.nn.Module, resolution: int, threads: int) -> float:
    data = tflite_bytes(model.eval(), arch_input_shape(resolution))
    return benchmark_tflite(data, threads=threads, warmup_s=0.5, min_runs=50, min_time_s=1.0).median_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/demo", help="a finished run directory (default runs/demo)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating live timing rounds (default 5)")
    args = parser.parse_args()
    run = RunDir.open(args.run)
    cfg = run.config()
    if not run.has(layout.FINAL_METRICS) or not run.has(layout.RESULT):
        print(f"{args.run} is not a finished run ({layout.FINAL_METRICS}, {layout.RESULT}); run "
              f"`hwnas run experiments/configs/demo.yaml` first", file=sys.stderr)
        return 2
    result = run.read_json(layout.RESULT)
    final_metrics = run.read_json(layout.FINAL_METRICS)
    seed_metrics = run.read_json(layout.SEED_METRICS)
    data = load_data(cfg.data, cfg.seed)
    resolution, threads = cfg.latency.resolution or cfg.data.resolution, cfg.latency.threads
    target = result["target_ms"]

    final_spec = ArchSpec.load(run.path(layout.FINAL_ARCH))
    final_model = load_trained(final_spec, run.path(layout.FINAL_WEIGHTS), data.num_classes)
    final_test = evaluate(final_model, make_loader(data, "test", cfg.train)).accuracy

    print(f"target {target:.4f} ms (NetAdapt, {resolution}x{resolution}, {threads} thread(s)); "
          f"choosing the MobileNetV3-Small width on a 0.05 grid by live latency:")
    chosen = WIDTHS[0]
    for width in WIDTHS:
        ms = live_ms(build_model(mobilenetv3("small", width), num_classes=data.num_classes), resolution, threads)
        print(f"  width {width:.2f}: {ms:.4f} ms")
        if ms <= target:
            chosen = width
    reference = mobilenetv3("small", chosen)
    steps = int(seed_metrics["steps"]) + int(result["iterations"]) * cfg.netadapt.finetune_steps \
        + int(final_metrics["steps"])
    print(f"training mobilenetv3-small-{chosen} for {steps} steps (the pipeline model's steps from scratch) "
          f"with the run's train recipe ...", flush=True)
    start = time.perf_counter()
    ref_model, ref_metrics = train_arch(reference, data, cfg.train, seed=cfg.seed, augment=cfg.data.augment,
                                        steps=steps)
    print(f"  trained in {time.perf_counter() - start:.0f} s")

    times: dict[str, list[float]] = {"pipeline": [], "reference": []}
    for _ in range(args.rounds):
        times["pipeline"].append(live_ms(final_model, resolution, threads))
        times["reference"].append(live_ms(ref_model, resolution, threads))

    def spread(xs: list[float]) -> str:
        return f"{statistics.median(xs):.4f} ms (min {min(xs):.4f}, max {max(xs):.4f}, {len(xs)} rounds)"

    print()
    print(f"{'model':<32} {'test acc':>9}  live latency (median of round medians)")
    print(f"{'pipeline final':<32} {final_test:>9.4f}  {spread(times['pipeline'])}")
    print(f"{f'mobilenetv3-small-{chosen}':<32} {ref_metrics['test_accuracy']:>9.4f}  {spread(times['reference'])}")
    print(f"target {target:.4f} ms; accuracy difference (pipeline - reference): "
          f"{100 * (final_test - ref_metrics['test_accuracy']):+.1f} points")
    print(f"reproduce: hwnas run experiments/configs/demo.yaml && .venv/bin/python "
          f"benchmarks/pipeline_vs_reference.py --run {args.run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
