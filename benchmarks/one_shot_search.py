"""Claim: the one-shot search learns on the demo's data and space, on this machine, in minutes.

Runs `search.one_shot.OneShotSearch` on the data and space of experiments/configs/demo.yaml (the
embedded dataset, mnv3-small, the demo's reward: mnasnet_soft, w = -0.15, target 0.9 x the seed
arch's latency) once per seed, and prints per seed, each beside its goal (issue 14):

- sampled children (goal >= 500);
- the controller's mean path entropy at the start and the end (goal: down >= 25%);
- the mean shared-weight reward of the last 100 recorded children, against 100 uniform samples of
  the space scored by the final supernet (goal: above). As the recorded rewards were scored while
  the supernet was still training, the last 100 archs are also re-scored by the final supernet on
  the same validation batches as the uniform ones (a paired comparison), with the accuracy, quality
  and latency of both sets, which show where the reward's difference comes from;
- the wall time of the search (goal: a few minutes, inside the demo's <= 15 min total).

Latency: the demo fills a LiteRT lookup table on first use, minutes of measurements this script
does not repeat; by default the multiply-add proxy `latency.predict.MaddsLatency` stands in, or
`--table PATH` reads a filled table. The reward target is 0.9 x the seed arch under the same model.
On a shared machine the wall time is noisy (it scales with the load); the learning figures are not.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/one_shot_search.py [--seeds 0 1 2] [--steps 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from experiments.config.schema import load_config
from experiments.data import BatchLoader, DataBundle, load_data
from experiments.config.spaces import resolve_space
from latency.predict import LatencyModel, MaddsLatency, TableLatency
from latency.table import LatencyTable
from search.one_shot import OneShotConfig, OneShotSearch
from search.rewards import make_reward

DEMO = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "demo.yaml"
LAST = 100
GOALS = {"children": 500, "entropy_drop": 0.25, "minutes": 5.0}


def latency_for(table: Path | None, resolution: int, classes: int) -> tuple[LatencyModel, str]:
    if table is None:
        return MaddsLatency(resolution, num_classes=classes), "multiply-add proxy (MaddsLatency)"
    return TableLatency(LatencyTable.load(table), resolution), f"lookup table {table}"


def one_seed(seed: int, data: DataBundle, args: argparse.Namespace) -> dict[str, float]:
    cfg = load_config(DEMO)
    assert cfg.search is not None
    space = resolve_space(cfg.space)
    latency, _ = latency_for(args.table, data.resolution, data.num_classes)
    target = cfg.search.reward.target_ratio * latency(space.decode(space.seed_choices()))
    reward = make_reward(cfg.search.reward.kind, target, w=cfg.search.reward.w, beta=cfg.search.reward.beta)
    train = BatchLoader(data.train, data.mean, data.std, args.batch, shuffle=True, augment=cfg.data.augment,
                        drop_last=True, seed=seed)
    val = BatchLoader(data.val, data.mean, data.std, args.val_batch, shuffle=True, drop_last=True, seed=seed + 1000)
    config = OneShotConfig(steps=args.steps, samples_per_step=args.samples_per_step, quality=args.quality, lr=args.lr)
    with tempfile.TemporaryDirectory() as directory:
        search = OneShotSearch(space, data.num_classes, train, val, latency, reward, config, seed=seed,
                               directory=directory, device="cpu", log=print if args.verbose else None)
        start_entropy = search.policy_entropy()
        clock = time.perf_counter()
        samples = search.run()
        wall = time.perf_counter() - clock
    end_entropy = search.policy_entropy()
    last = samples[-LAST:]
    # paired comparison on the final supernet: uniform sample i and last child i share batch i
    rng = np.random.default_rng(seed)
    fresh = BatchLoader(data.val, data.mean, data.std, args.val_batch, shuffle=True, seed=seed + 2000)
    batches = [b for b, _ in zip(fresh, range(LAST))]
    while len(batches) < LAST:
        batches += batches[:LAST - len(batches)]
    uniform = [search.score(space.sample(rng), *batches[i]) for i in range(LAST)]
    rescored = [search.score(s["choices"], *batches[i]) for i, s in enumerate(last)]

    def mean(rows: list[dict], key: str) -> float:
        return statistics.mean(r[key] for r in rows)

    return {
        "children": len(samples), "distinct": len({s["arch"] for s in samples}),
        "entropy_start": start_entropy, "entropy_end": end_entropy,
        "entropy_drop": 1 - end_entropy / start_entropy,
        "last_recorded": mean(last, "reward"), "last_rescored": mean(rescored, "reward"),
        "uniform": mean(uniform, "reward"), "last_accuracy": mean(rescored, "accuracy"),
        "uniform_accuracy": mean(uniform, "accuracy"), "last_quality": mean(rescored, "quality"),
        "uniform_quality": mean(uniform, "quality"), "last_latency": mean(rescored, "latency_ms"),
        "uniform_latency": mean(uniform, "latency_ms"), "target_ms": target,
        "wall_s": wall, "top": search.top_k(1)[0]["arch"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=300, help="weight steps (training batches)")
    parser.add_argument("--samples-per-step", type=int, default=3, help="children scored per controller step")
    parser.add_argument("--batch", type=int, default=64, help="training batch")
    parser.add_argument("--val-batch", type=int, default=64, help="validation batch scoring the children")
    parser.add_argument("--quality", default="likelihood", choices=("accuracy", "likelihood"))
    parser.add_argument("--lr", type=float, default=OneShotConfig.lr, help="supernet learning rate (cosine decay)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: best on a loaded machine)")
    parser.add_argument("--table", type=Path, default=None, help="a filled latency table instead of the proxy")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = load_config(DEMO)
    clock = time.perf_counter()
    data = load_data(cfg.data, cfg.seed)
    print(f"data: {data.summary()} in {time.perf_counter() - clock:.1f} s; space {cfg.space}; reward "
          f"{cfg.search.reward.kind if cfg.search else '?'}; latency: "
          f"{latency_for(args.table, data.resolution, data.num_classes)[1]}; {args.steps} weight steps of "
          f"{args.batch}, {args.samples_per_step} children per controller step on {args.val_batch} images, "
          f"quality {args.quality}, lr {args.lr}, {args.threads} thread(s)")
    wins = 0
    for seed in args.seeds:
        r = one_seed(seed, data, args)
        win = r["last_recorded"] > r["uniform"] and r["last_rescored"] > r["uniform"]
        wins += win
        print(f"seed {seed}: {r['children']} children ({r['distinct']} distinct; goal >= {GOALS['children']}); "
              f"entropy {r['entropy_start']:.2f} -> {r['entropy_end']:.2f} (down {r['entropy_drop']:.0%}, goal >= "
              f"{GOALS['entropy_drop']:.0%}); reward of the last {LAST}: recorded {r['last_recorded']:.4f}, "
              f"re-scored {r['last_rescored']:.4f} vs uniform {r['uniform']:.4f} ({'above' if win else 'NOT above'}); "
              f"re-scored last {LAST} vs uniform: accuracy {r['last_accuracy']:.3f} vs {r['uniform_accuracy']:.3f}, "
              f"quality {r['last_quality']:.4f} vs {r['uniform_quality']:.4f}, latency {r['last_latency']:.4f} vs "
              f"{r['uniform_latency']:.4f} ms (target {r['target_ms']:.4f}); search {r['wall_s'] / 60:.1f} min "
              f"(goal <= {GOALS['minutes']:.0f}); top arch {r['top']}")
    print(f"last {LAST} above uniform in {wins} of {len(args.seeds)} seeds (goal: all)")


if __name__ == "__main__":
    main()
