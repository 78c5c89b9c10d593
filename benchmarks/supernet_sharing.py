"""Claim (issue 14): which weight-sharing decisions keep the one-shot supernet from learning at the demo's
budget. The demo's supernet scores its paths at 0.17-0.21 accuracy, its largest path included, where the
same archs trained stand-alone for as many images reach 0.30-0.40 (docs/one_shot.md); this script asks
which decision kind is responsible.

For each variant it trains the demo's supernet (`experiments.phases.one_shot.one_shot_search` on
`--config`, default experiments/configs/demo-one-shot.yaml, with its recipe: SGD, cosine lr, batch 64) for
`--steps` weight steps with no controller steps, every step on a path the variant draws:

- `largest`: the all-on path every step (the comparison: what the recipe reaches without sharing);
- `uniform`: every decision drawn uniformly every step;
- a kind of decision (`kernel`, `expand`, `se`, `depth`, `width`), or several joined by `+`: those drawn
  uniformly, every other decision at its all-on choice; a `no-se` token turns SE off in every path (its
  scored largest path then runs SE weights it never trained: read its random paths);
- `progressive`: the search's own draw with `search.one_shot.warmup_schedule: progressive` (OFA's progressive
  shrinking, `search.one_shot.released_kinds`): the largest path, then SE and depth, then kernels, then
  expansions and widths drawn from the (untrained, near uniform) controller, each for a quarter of the steps.

It then scores, by the final shared weights on the validation split (`proxy_check.path_scores`, batch
statistics, as the search scores paths), the largest path, the smallest and `--paths` uniform random paths
(the same for every variant), and prints their accuracies beside the `largest` variant's and chance.
A variant's checkpoints are kept in `<out>/<variant>/one_shot/` and a rerun resumes from them.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/supernet_sharing.py [--steps 600] \\
        [--variant largest --variant uniform --variant kernel ...] [--out runs/bench/supernet-sharing]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from experiments.config.schema import load_config
from experiments.data import load_data
from experiments.phases.one_shot import one_shot_search
from experiments.phases.proxy_check import path_scores
from experiments.phases.search import make_reward_of
from experiments.rundir.run_dir import RunDir
from latency.predict import MaddsLatency
from search.one_shot import FILTER_KINDS, OP_KINDS, OneShotSearch
from search.space import SearchSpace
from search.supernet import largest_choices

DEMO = Path(__file__).resolve().parents[1] / "experiments" / "configs" / "demo-one-shot.yaml"  # `make demo`
KINDS = OP_KINDS + FILTER_KINDS
VARIANTS = ("largest", "uniform", *OP_KINDS, "expand", "expand+no-se", "progressive")


def smallest_choices(space: SearchSpace) -> list[int]:
    """Each decision's smallest value (SE: off)."""
    return [min(range(len(d.choices)), key=lambda i, d=d: d.choices[i]) for d in space.decisions]


def path_rule(variant: str, space: SearchSpace, rng: np.random.Generator) -> Callable[[], list[int]]:
    """The training path draw of `variant` (see the module docstring)."""
    tokens = set(variant.split("+"))
    unknown = tokens - {"largest", "uniform", "no-se", *KINDS}
    if unknown:
        raise SystemExit(f"--variant {variant}: unknown {sorted(unknown)}; use largest, uniform, no-se or kinds "
                         f"{', '.join(KINDS)} joined by '+'")
    big = largest_choices(space)

    def draw() -> list[int]:
        path = []
        for d, b in zip(space.decisions, big):
            choice = int(rng.integers(len(d.choices))) if "uniform" in tokens or d.kind in tokens else b
            if d.kind == "se" and "no-se" in tokens:
                choice = d.choices.index(False)
            path.append(choice)
        return path
    return draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEMO)
    parser.add_argument("--steps", type=int, default=600, help="weight steps per variant")
    parser.add_argument("--variant", action="append", default=None, help=f"default: {' '.join(VARIANTS)}")
    parser.add_argument("--paths", type=int, default=8, help="uniform random paths scored")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the supernet training")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/supernet-sharing"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # warm-up 0.99 and training only up to it: no controller step runs, the lr follows the recipe's cosine
    overrides = [f"search.one_shot.steps={args.steps}", "search.one_shot.warmup_fraction=0.99"]
    cfg = load_config(args.config, overrides)
    assert cfg.search is not None
    data = load_data(cfg.data, cfg.seed)
    latency = MaddsLatency(cfg.latency.resolution)  # never called: no controller step prices a path
    print(f"{args.config.name}: {cfg.space}, {len(data.train.labels)} training / {len(data.val.labels)} validation "
          f"images, chance {1 / data.num_classes:.3f}; per variant the largest path, the smallest and "
          f"{args.paths} uniform random paths scored by the shared weights")
    largest_accuracy: float | None = None
    for variant in args.variant or list(VARIANTS):
        run = RunDir(args.out / variant)
        run.root.mkdir(parents=True, exist_ok=True)
        progressive = variant == "progressive"
        setting = load_config(args.config, [*overrides, "search.one_shot.warmup_schedule=progressive"]) \
            if progressive else cfg
        search: OneShotSearch = one_shot_search(setting, run, data, latency, make_reward_of(cfg, 1.0), log=None,
                                                device=torch.device("cpu"))
        space = search.space
        if not progressive:
            search.train_path = path_rule(variant, space, np.random.default_rng(cfg.seed + 7))  # type: ignore
        clock = time.perf_counter()
        search.run(until=search.warmup_steps)
        seconds = time.perf_counter() - clock
        rng = np.random.default_rng(cfg.seed + 11)
        paths = [largest_choices(space), smallest_choices(space)] + [space.sample(rng) for _ in range(args.paths)]
        accuracy = [a for a, _ in path_scores(search, data, cfg.search.one_shot.val_batch_size, paths)]
        largest, smallest, random = accuracy[0], accuracy[1], np.array(accuracy[2:])
        largest_accuracy = largest if variant == "largest" else largest_accuracy
        beside = f" ({largest - largest_accuracy:+.3f} vs trained alone)" if largest_accuracy is not None \
            and variant != "largest" else ""
        print(f"{variant:>18}: {search.step} steps, {seconds:.0f} s this call; largest path {largest:.3f}{beside}, "
              f"smallest {smallest:.3f}, random paths mean {random.mean():.3f} ({random.min():.3f}-{random.max():.3f})",
              flush=True)


if __name__ == "__main__":
    main()
