"""Framework overhead of the block-wise search: the share of wall time NOT spent training children.

Runs a whole search in this process as `hwnas search` does (data, latency model, local Ray, the
controller as a Tune searcher, children as Tune trials), by default experiments/configs/search-small.yaml:
16 children of ~20 s proxy training, 2 at a time. Then, from trials.csv and the searcher's own timings:

    ideal    = sum over children of train_s / concurrency     (train_s: the child's build + train time)
    overhead = 1 - ideal / wall                                (goal: at most 10%)

`wall` runs from loading the data to the end of `run_search` (what a user waits for). The breakdown
gives the driver's serial costs (data and latency-model setup, Ray start, controller sampling and
updates, latency lookups, controller/trials checkpoints) and the slot view: each of the
`concurrency` slots over `wall` is either training, a child's non-training time (scheduling, actor
start, the weight checkpoint, reporting: wall_s - train_s) or idle (no child in the slot, e.g.
while the driver starts Ray, or at the tail when one child still runs). Per-child figures are
medians with p10 / p90 spread.

`--table PATH` copies a filled latency table into the run, so lookups are table reads rather than
first-time LiteRT measurements. Measurements of entries the table lacks (lazy fill, a one-off cost of
a new table) are timed apart, and the share is also printed with them subtracted from the wall time.
`--keep` keeps the run directory, whose latency_table.json can serve as the next `--table`.

    flock -x /tmp/hwnas-cpu.lock .venv/bin/python benchmarks/search_overhead.py \\
        [--config experiments/configs/search-small.yaml] [--table runs/search-small/latency_table.json] \\
        [key=value overrides, e.g. search.child_training.epochs=1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from experiments.config.schema import load_config
from experiments.data import load_data
from experiments.phases.search import run_search
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir.latency_source import latency_model
from experiments.rundir.layout import CONTROLLER, LATENCY_TABLE, TRIALS
from experiments.rundir.run_dir import RunDir
from latency.predict import LatencyModel
from models.spec import ArchSpec

GOAL = 0.10


class TimedLatency:
    """Wraps a LatencyModel and sums the seconds spent in it, split into plain table lookups and calls
    that had to measure new table entries first (lazy fill: a one-off cost of a new table)."""

    def __init__(self, model: LatencyModel) -> None:
        self.model = model
        self.lookup_s = self.measure_s = 0.0
        self.calls = self.measured_entries = 0

    def entries(self) -> int:
        table = getattr(self.model, "table", None)
        return len(table.entries) if table is not None else 0

    def __call__(self, spec: ArchSpec) -> float:
        before, start = self.entries(), time.perf_counter()
        try:
            return self.model(spec)
        finally:
            seconds, new = time.perf_counter() - start, self.entries() - before
            self.calls += 1
            self.measured_entries += new
            if new:
                self.measure_s += seconds
            else:
                self.lookup_s += seconds


def spread(values: pd.Series) -> str:
    v = values.dropna().to_numpy(dtype=float)
    return f"median {np.median(v):6.2f} s  (p10 {np.percentile(v, 10):6.2f}, p90 {np.percentile(v, 90):6.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="experiments/configs/search-small.yaml")
    parser.add_argument("--table", type=Path, help="a filled latency table to start from (copied into the run)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (printed) instead of deleting it")
    parser.add_argument("overrides", nargs="*", help="config overrides key=value")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hwnas-search-overhead-"))
    cfg = load_config(args.config, [*args.overrides, f"output_dir={work}", "ray.include_dashboard=false"])
    assert cfg.search is not None, "the config needs a search section"
    run = RunDir.create(cfg, command=["benchmarks/search_overhead.py", *args.overrides])
    if args.table is not None:
        shutil.copy(args.table, run.path(LATENCY_TABLE))
    concurrency = cfg.ray.max_concurrent_trials
    cpu_start = time.process_time()

    t0 = time.perf_counter()
    data = load_data(cfg.data, cfg.seed)
    latency = TimedLatency(latency_model(cfg, run, data.num_classes))
    t_setup = time.perf_counter()
    with RayRuntime(cfg.ray, log=lambda line: None, log_to_driver=False):
        t_ray = time.perf_counter()
        run_search(cfg, run, data, latency, log=lambda line: print(line, flush=True))
    t_end = time.perf_counter()
    driver_cpu = time.process_time() - cpu_start

    trials = pd.read_csv(run.path(TRIALS))
    meta = json.loads(torch.load(run.path(CONTROLLER), weights_only=True)["meta"])
    timings = meta["timings"]
    ok = trials[trials["status"] == "ok"]
    wall = t_end - t0
    train_sum = float(trials["train_s"].fillna(0).sum())
    ideal = train_sum / concurrency
    share = 1 - ideal / wall
    slots = concurrency * wall
    in_child = float((trials["wall_s"] - trials["train_s"].fillna(0)).sum())
    idle = slots - float(trials["wall_s"].sum())
    start_delay = trials["started_at"] - trials["suggested_at"]
    after = trials["completed_at"] - trials["started_at"] - trials["train_s"]

    print()
    print(f"search overhead: {len(trials)} children ({len(ok)} ok), concurrency {concurrency}, "
          f"child budget {cfg.search.child_training.epochs or cfg.search.child_training.steps} "
          f"{'epochs' if cfg.search.child_training.epochs else 'steps'}, table "
          f"{'given' if args.table else 'filled during the search'}")
    print(f"  child train_s per child        {spread(trials['train_s'])}")
    print(f"  wall (data load .. search end) {wall:8.1f} s")
    print(f"  ideal = sum(train_s) / {concurrency}      {ideal:8.1f} s   (sum {train_sum:.1f} s)")
    print(f"  OVERHEAD SHARE                 {share:8.1%}   goal <= {GOAL:.0%}: {'MET' if share <= GOAL else 'NOT MET'}")
    if latency.measured_entries:
        rest = 1 - ideal / (wall - latency.measure_s)
        print(f"  ... without the {latency.measured_entries} first-time table measurements ({latency.measure_s:.1f} s in "
              f"the driver, subtracted from wall): {rest:.1%}  (rerun with --table of a table that has them)")
    print("  driver, serial (s and share of wall):")
    serial = {
        "setup: data + latency model": t_setup - t0,
        "Ray start": t_ray - t_setup,
        "controller: sampling": timings["sample_s"],
        "controller: policy updates": timings["update_s"],
        f"latency: table lookups ({latency.calls} calls, incl. target)": latency.lookup_s,
        f"latency: measuring {latency.measured_entries} new table entries": latency.measure_s,
        "checkpoints: controller.pt + trials.csv": timings["after_complete_s"],
        "Tune start / stop, reward target, final outputs": t_end - t_ray - (trials["completed_at"].max() - trials["suggested_at"].min()),
    }
    for name, seconds in serial.items():
        print(f"    {name:48s} {seconds:7.2f} s  {seconds / wall:6.1%}")
    print(f"  slots ({concurrency} x wall = {slots:.1f} slot-s):")
    print(f"    training (train_s)                               {train_sum:7.1f}    {train_sum / slots:6.1%}")
    print(f"    in a child, not training (wall_s - train_s)      {in_child:7.1f}    {in_child / slots:6.1%}")
    print(f"    idle (no child in the slot)                      {idle:7.1f}    {idle / slots:6.1%}")
    print(f"  per child: suggest -> child starts  {spread(start_delay)}")
    print(f"  per child: training end -> driver records it  {spread(after)}")
    print(f"  driver process CPU time {driver_cpu:.1f} s ({driver_cpu / wall:.1%} of one core over the wall)")
    best = ok.sort_values("reward").iloc[-1] if len(ok) else None
    if best is not None:
        print(f"  best child: reward {best['reward']:.4f}, accuracy {best['accuracy']:.3f}, "
              f"{best['latency_ms']:.3f} ms: {best['arch']}")
    if args.keep:
        print(f"  run directory kept: {run.root} (its {LATENCY_TABLE} can be the next --table)")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
