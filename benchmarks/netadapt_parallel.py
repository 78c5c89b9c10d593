"""NetAdapt parallelism: one iteration's proposals fine-tuned serially (1 Ray worker) vs 2 at a time.

The iteration is real: V3-Small at the demo resolution (32) on the embedded data, the first
`--proposals` proposals (multiply-add latency proxy picks the widths; latency plays no part in the
timing), each narrowed from the same parent and fine-tuned `--steps` steps with one torch thread,
as Ray tasks of 1 CPU in a local Ray of 2 CPUs. Both settings run in the same Ray session,
alternating, `--repeats` times each. Prints each wall time, the medians and spread, and the ratio
(2 workers / serial; goal <= 0.65).
Run: flock -x /tmp/hwnas-cpu.lock .venv/bin/python benchmarks/netadapt_parallel.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from experiments.config.schema import DataConfig, RayConfig, TrainingConfig
from experiments.data import load_data
from experiments.ray_jobs.netadapt_tasks import RayJobs
from experiments.ray_jobs.runtime import RayRuntime
from latency.predict import MaddsLatency
from models import REFERENCES, build_model
from netadapt.loop import Job, iteration_seed
from netadapt.proposals import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proposals", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40, help="fine-tune steps per proposal (batch 128)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    data = load_data(DataConfig(), seed=0)
    seed = REFERENCES["mobilenetv3-small"]
    latency = MaddsLatency(32, num_classes=data.num_classes)
    proposals, _ = generate(seed, latency, 0.01 * latency(seed))
    proposals = proposals[:args.proposals]
    if len(proposals) < args.proposals:
        raise SystemExit(f"only {len(proposals)} proposals")
    training = TrainingConfig(steps=args.steps, batch_size=128, eval_batch_size=512, torch_threads=1, device="cpu")
    with tempfile.TemporaryDirectory() as tmp, RayRuntime(RayConfig(num_cpus=2, include_dashboard=False),
                                                         log_to_driver=False):
        parent = Path(tmp) / "parent.pt"
        torch.save(build_model(seed, num_classes=data.num_classes).state_dict(), parent)
        jobs = [Job(0, p.key, seed.to_str(), str(parent), p.spec.to_str(), str(Path(tmp) / f"{p.key}.pt"),
                    iteration_seed(0, 0)) for p in proposals]
        print(f"{len(jobs)} proposals: {', '.join(j.key for j in jobs)}; {args.steps} steps each")
        runners = {w: RayJobs(data, training, True, {"cpu": 1.0}, w, log=lambda _: None) for w in (1, 2)}
        list(runners[2](jobs[:2]))  # warm the workers (imports) before timing
        times: dict[int, list[float]] = {1: [], 2: []}
        for r in range(args.repeats):
            for workers in (1, 2):
                start = time.perf_counter()
                accs = [acc for _, acc in runners[workers](jobs)]
                times[workers].append(time.perf_counter() - start)
                rounded = [round(a, 3) for a in accs]
                print(f"repeat {r}: {workers} worker(s): {times[workers][-1]:.1f} s (val accs {rounded})")
    med = {w: statistics.median(t) for w, t in times.items()}
    for w, t in times.items():
        print(f"{w} worker(s): median {med[w]:.1f} s, min {min(t):.1f}, max {max(t):.1f} over {len(t)} runs")
    ratio = med[2] / med[1]
    print(f"2 workers / serial = {ratio:.3f} (goal <= 0.65): {'PASS' if ratio <= 0.65 else 'FAIL'}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
