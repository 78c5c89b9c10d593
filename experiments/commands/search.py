"""`hwnas search CONFIG [--resume]`: the block-wise search alone (controller + Ray Tune children).

Writes into `<output_dir>/<name>/`: config.yaml, manifest.json, reward_target.json (the latency
target in ms, resolved from search.reward.target_ratio against the space's seed architecture when
that is set), controller.pt (controller, optimizer, baseline and RNG state plus every child's
record), trials.csv (one row per child: arch, decisions, accuracy, latency, reward and its terms,
status and reason, the controller's log-probability and entropy, timestamps and durations),
topk.yaml, best/arch.yaml, and the Ray Tune logs under ray/. With --resume a killed search keeps
every finished child and continues; a finished one trains nothing. Latency comes from `latency.source`: a lookup table (`table`, or `auto`,
which creates `<run>/latency_table.json` when no table is named and measures missing entries), or
`live` benchmarks of each child.
"""

from __future__ import annotations

import argparse
import sys

from experiments.commands.common import add_run_command, load_from_args
from experiments.config.checks import preflight
from experiments.console.monitor import Console, console_session
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir.latency_source import latency_model
from experiments.rundir.run_dir import RunDir

EXAMPLES = """examples:
  hwnas search experiments/configs/search-small.yaml
  hwnas search experiments/configs/search-small.yaml --resume
  hwnas search experiments/configs/search-small.yaml search.children=32 search.algorithm=ppo name=ppo-32
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_run_command(sub, "search", "block-wise architecture search (LSTM controller, Ray Tune children)",
                             __doc__, EXAMPLES, "finished children are kept")
    parser.set_defaults(func=run_search_command)


def run_search_command(args: argparse.Namespace) -> int:
    with console_session(args.verbose) as console:
        return _run_search(args, console)


def _run_search(args: argparse.Namespace, console: Console) -> int:
    from experiments.phases.search import (
        run_search,  # imports Ray: only when a search runs
    )

    cfg = load_from_args(args, "search", needs=("search",), example="experiments/configs/search-small.yaml")
    data = preflight(cfg, args.config)
    run = RunDir.create(cfg, resume=args.resume, command=["hwnas", "search", *sys.argv[2:]])
    console.attach(run, "search")
    latency = latency_model(cfg, run, data.num_classes, log=console.info)
    console.info(f"hwnas search: {cfg.search.children} children over space {cfg.space} on {data.summary()} -> "
                 f"{run.root}")
    with RayRuntime(cfg.ray, log=console.info):
        top = run_search(cfg, run, data, latency, resume=args.resume, log=console.info)
    return 0 if top else 1
