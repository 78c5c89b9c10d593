"""Claim: the one-shot search learns on the demo's data and space, on this machine, in minutes.

Runs the one-shot search exactly as `search.strategy: one_shot` runs it in the demo
(`experiments.phases.one_shot.one_shot_search`: the supernet, controller, policy and loop settings of
the `search` section of `--config`, by default experiments/configs/demo-one-shot.yaml, the config
`make demo` runs, with any `key=value` overrides) once per seed (the config's `seed` set to it; the
data stay those of the demo's seed), and prints per seed, each beside its goal (issue 14):

- sampled children (goal >= 500);
- the controller's mean path entropy at the start and the end (goal: down >= 25%);
- the mean shared-weight reward of the last 100 recorded children against 100 uniform samples of the
  space scored by the final supernet (goal: above). As the recorded rewards were scored while the
  supernet was still training, the last 100 archs are also re-scored by the final supernet on the same
  validation batches as the uniform ones (`experiments.phases.one_shot.uniform_baseline`, the demo
  report's baseline: a paired comparison), with the accuracy, quality and latency of both sets, which
  show where the reward's difference comes from;
- the wall and CPU time of the search (goal: a few minutes, inside the demo's <= 15 min total; on a
  shared machine the CPU time, one thread, is the figure to read) and the CPU time of the uniform baseline;
- the learning curve: mean recorded accuracy and latency per 100 children.

Latency: the demo fills a LiteRT lookup table on first use, minutes of measurements this script
does not repeat; by default the multiply-add proxy `latency.predict.MaddsLatency` stands in, or
`--table PATH` reads a filled table (at the config's `latency.resolution`, as the run prices paths).
The reward target is the demo's ratio x the seed arch under the same model. On a shared machine the
wall time is noisy (it scales with the load); the learning figures are not.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/one_shot_search.py [--seeds 0 1 2] [search.one_shot.steps=300 ...]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from experiments.config.schema import Config, load_config
from experiments.config.spaces import resolve_space
from experiments.data import DataBundle, load_data
from experiments.phases.one_shot import one_shot_search, uniform_baseline
from experiments.phases.search import make_reward_of, reward_target
from experiments.rundir.run_dir import RunDir
from latency.predict import LatencyModel, MaddsLatency, TableLatency
from latency.table import LatencyTable

DEMO = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "demo-one-shot.yaml"  # `make demo`
GOALS = {"children": 500, "entropy_drop": 0.25, "minutes": 5.0}


def latency_for(table: Path | None, resolution: int, classes: int) -> tuple[LatencyModel, str]:
    if table is None:
        return MaddsLatency(resolution, num_classes=classes), "multiply-add proxy (MaddsLatency)"
    return TableLatency(LatencyTable.load(table), resolution), f"lookup table {table}"


def one_seed(cfg: Config, data: DataBundle, latency: LatencyModel, verbose: bool) -> dict[str, float | str]:
    assert cfg.search is not None
    o = cfg.search.one_shot
    with tempfile.TemporaryDirectory() as directory:
        run = RunDir(Path(directory))
        target = reward_target(cfg, resolve_space(cfg.space), latency, run, log=lambda _: None)
        search = one_shot_search(cfg, run, data, latency, make_reward_of(cfg, target),
                                 log=print if verbose else None, device=torch.device("cpu"))
        start_entropy = search.policy_entropy()
        clock, cpu = time.perf_counter(), time.process_time()
        samples = search.run()
        wall, search_cpu = time.perf_counter() - clock, time.process_time() - cpu
        end_entropy = search.policy_entropy()
        last = o.uniform_samples or 100
        cpu = time.process_time()
        frame = uniform_baseline(search, data, o.val_batch_size, cfg.seed, last)
        baseline_cpu = time.process_time() - cpu
        top = search.top_k(1, by=o.rank_by)[0]["arch"]
    means = frame.groupby("sample")[["reward", "accuracy", "quality", "latency_ms"]].mean()
    recorded = sum(s["reward"] for s in samples[-last:]) / len(samples[-last:])
    return {
        "last": last, "children": len(samples), "distinct": len({s["arch"] for s in samples}),
        "entropy_start": start_entropy, "entropy_end": end_entropy, "entropy_drop": 1 - end_entropy / start_entropy,
        "last_recorded": recorded, **{f"{sample}_{key}": float(means.loc[sample, key]) for sample in ("last", "uniform")
                                      for key in means.columns},
        "target_ms": target, "wall_s": wall, "search_cpu_s": search_cpu, "baseline_cpu_s": baseline_cpu, "top": top,
        "curve": learning_curve(samples),
    }


def learning_curve(samples: list[dict]) -> str:
    """Mean recorded accuracy and latency per 100 children, in order (is the supernet past chance, and when)."""
    chunks = [samples[i:i + 100] for i in range(0, len(samples), 100)]
    return " ".join(f"{sum(s['accuracy'] for s in c) / len(c):.3f}/{sum(s['latency_ms'] for s in c) / len(c):.3f}"
                    for c in chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="overrides of the config "
                        "(e.g. search.one_shot.steps=300 search.controller.lr=0.05)")
    parser.add_argument("--config", type=Path, default=DEMO, help="run config (default: the demo's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: best on a loaded machine)")
    parser.add_argument("--table", type=Path, default=None, help="a filled latency table instead of the proxy")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.overrides)
    assert cfg.search is not None
    clock = time.perf_counter()
    data = load_data(cfg.data, cfg.seed)
    latency, latency_name = latency_for(args.table, cfg.latency.resolution, data.num_classes)
    s = cfg.search
    print(f"data: {data.summary()} in {time.perf_counter() - clock:.1f} s; space {cfg.space}; reward {s.reward.kind} "
          f"w {s.reward.w}; latency: {latency_name}; {args.threads} thread(s); load average "
          f"{os.getloadavg()[0]:.2f}; overrides {args.overrides or 'none'}")
    print(f"search.one_shot: {s.one_shot.model_dump()}")
    print(f"search.controller: {s.controller.model_dump()} (algorithm {s.algorithm})")
    wins = 0
    for seed in args.seeds:
        r = one_seed(cfg.model_copy(update={"seed": seed}), data, latency, args.verbose)
        win = r["last_recorded"] > r["uniform_reward"] and r["last_reward"] > r["uniform_reward"]
        wins += win
        last = r["last"]
        print(f"seed {seed}: {r['children']} children ({r['distinct']} distinct; goal >= {GOALS['children']}); "
              f"entropy {r['entropy_start']:.2f} -> {r['entropy_end']:.2f} (down {r['entropy_drop']:.0%}, goal >= "
              f"{GOALS['entropy_drop']:.0%}); reward of the last {last}: recorded {r['last_recorded']:.4f}, "
              f"re-scored {r['last_reward']:.4f} vs uniform {r['uniform_reward']:.4f} "
              f"({'above' if win else 'NOT above'}); re-scored last {last} vs uniform: accuracy "
              f"{r['last_accuracy']:.3f} vs {r['uniform_accuracy']:.3f}, quality {r['last_quality']:.4f} vs "
              f"{r['uniform_quality']:.4f}, latency {r['last_latency_ms']:.4f} vs {r['uniform_latency_ms']:.4f} ms "
              f"(target {r['target_ms']:.4f}); search {r['wall_s'] / 60:.1f} min wall, CPU {r['search_cpu_s'] / 60:.1f} min "
              f"(goal <= {GOALS['minutes']:.0f}) + uniform baseline CPU {r['baseline_cpu_s']:.0f} s; load average "
              f"{os.getloadavg()[0]:.2f}; top arch {r['top']}; accuracy/latency ms per 100 children {r['curve']}",
              flush=True)
    print(f"last samples above uniform in {wins} of {len(args.seeds)} seeds (goal: all)")


if __name__ == "__main__":
    main()
