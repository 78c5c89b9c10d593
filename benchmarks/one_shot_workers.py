"""Claim: the one-shot supernet trains data-parallel on Ray Train workers (`search.one_shot.workers`)
and follows the 1-worker search; figure: sampled children per second, 1 worker vs 2.

On the demo's data and space (experiments/configs/demo.yaml: embedded data at 32x32, mnv3-small,
its reward; the multiply-add latency proxy stands in for the LiteRT table, latency plays no part in
the timing), the same one-shot search of `--steps` steps runs

- in this process (1 worker, `--threads` torch threads: the machine's cores by default), and
- on 2 Ray Train workers of 1 CPU each (a local Ray of 2 CPUs; gloo; `workers: 2`),

alternating, `--repeats` times each. Printed per run: the loop's children/s (the checkpoint's
`elapsed_s`, Ray's start-up excluded) and the wall time with start-up; then the medians, the ratio
(2 workers / 1; goal > 1: more children per second), and how far the 2-worker search followed the
1-worker one (share of identical sampled paths; largest |weight difference|). The workers differ
from one process by float rounding only (the order of sums; with the tiny test search: the same
paths, weights within 3e-7), but this search amplifies rounding: one process with 1 torch thread
against 2 already differs (measured on the demo config, 16 steps: rewards by ~1e-3 from the first
controller step, 9 of the last 12 sampled paths different), so expect the paths to part here too.
On a shared machine the times scale with the load; the load average is printed.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/one_shot_workers.py [--steps 40] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import torch

from experiments.config.schema import Config, load_config
from experiments.config.spaces import resolve_space
from experiments.data import load_data
from experiments.phases.one_shot import one_shot_search
from experiments.phases.search import make_reward_of, reward_target
from experiments.ray_jobs.one_shot_workers import train_on_workers
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.predict import MaddsLatency
from search.one_shot import STATE_FILE

DEMO = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "demo.yaml"


def config(root: Path, steps: int, workers: int) -> Config:
    return load_config(DEMO, [f"output_dir={root}", f"name=w{workers}", "search.strategy=one_shot",
                              f"search.one_shot.steps={steps}", f"search.one_shot.checkpoint_every={steps}",
                              f"search.one_shot.workers={workers}", "search.one_shot.uniform_samples=0"])


def one_run(root: Path, steps: int, workers: int, threads: int) -> dict[str, float | list]:
    cfg = config(root, steps, workers)
    run = RunDir.create(cfg)
    data = load_data(cfg.data, cfg.seed)
    latency = MaddsLatency(cfg.data.resolution, num_classes=data.num_classes)
    reward = make_reward_of(cfg, reward_target(cfg, resolve_space(cfg.space), latency, run, log=lambda _: None))
    build = partial(one_shot_search, cfg, run, data, latency, reward)
    start = time.perf_counter()
    if workers > 1:
        train_on_workers(build, workers, cfg.ray.resources_per_trial, run.path(layout.RAY_DIR), log=lambda _: None)
    else:
        torch.set_num_threads(threads)
    search = build(log=None)
    samples = search.run()
    wall = time.perf_counter() - start
    state = torch.load(run.path(layout.ONE_SHOT_DIR, STATE_FILE), weights_only=True)
    return {"children": len(samples), "loop_s": state["elapsed_s"], "wall_s": wall,
            "choices": [s["choices"] for s in samples], "weights": state["supernet"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    rates: dict[int, list[float]] = {1: [], 2: []}
    last: dict[int, dict] = {}
    cfg = config(Path(tempfile.gettempdir()), args.steps, 2)
    with tempfile.TemporaryDirectory() as tmp, RayRuntime(cfg.ray, log=print, log_to_driver=False):
        for r in range(args.repeats):
            for workers in (1, 2):
                res = one_run(Path(tmp) / f"r{r}", args.steps, workers, args.threads)
                rate = res["children"] / res["loop_s"]
                rates[workers].append(rate)
                last[workers] = res
                print(f"repeat {r} workers {workers}: {res['children']} children in {res['loop_s']:.1f} s loop "
                      f"({rate:.2f} children/s), {res['wall_s']:.1f} s wall with start-up")
    one, two = (statistics.median(rates[w]) for w in (1, 2))
    print(f"median children/s: 1 worker ({args.threads} threads) {one:.2f}, 2 workers (1 CPU each) {two:.2f}; "
          f"ratio {two / one:.2f} (goal > 1)")
    same = sum(a == b for a, b in zip(last[1]["choices"], last[2]["choices"])) / max(1, len(last[1]["choices"]))
    diff = max(float((last[1]["weights"][k].double() - last[2]["weights"][k].double()).abs().max())
               for k in last[1]["weights"] if last[1]["weights"][k].is_floating_point())
    print(f"2 workers vs 1: {same:.0%} identical sampled paths, largest |weight difference| {diff:.2e}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
