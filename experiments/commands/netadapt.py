"""`hwnas netadapt CONFIG [--resume] [--seed-arch NAME_OR_SPEC] [--seed-weights PATH]`: shrink a
trained seed to the latency target with NetAdapt (MobileNetV3 section 4.2), then fine-tune it
longer (or retrain it) and benchmark it live.

The seed arch is --seed-arch, else `pipeline.seed_arch`, else the child `pipeline.seed_rule` picks from a
search in the same run directory (run `hwnas search` first, then this with --resume), else
MobileNetV3-Small: the same rule `hwnas run` uses.
Without --seed-weights the seed is first trained with the `train` recipe. Each iteration's
proposals are fine-tuned as Ray tasks (`ray.resources_per_trial`, at most
`ray.max_concurrent_trials` at a time; on a cluster they spread over its nodes).

Writes into `<output_dir>/<name>/`: seed/{arch.yaml,weights.pt,metrics.json}, netadapt/state.json
(resumable after any proposal), netadapt/history.csv (one row per proposal per iteration),
netadapt/trajectory.csv, netadapt/result.json (target, table and live ms, status, accuracies) and
final/{arch.yaml,weights.pt,metrics.json}. Exit code 0 when the target is met, 1 when the loop
stopped short (status stuck or max_iterations, reported in result.json), 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.commands.common import add_run_command, load_from_args
from experiments.config.checks import preflight
from experiments.console.monitor import Console, console_session
from experiments.phases.seed import (
    SeedError,
    choose_seed_arch,
    load_seed_model,
    prepare_seed,
)
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir import layout
from experiments.rundir.latency_source import latency_model
from experiments.rundir.run_dir import RunDir
from models.references import REFERENCES
from netadapt.loop import NetAdaptError

EXAMPLES = f"""examples:
  hwnas netadapt experiments/configs/demo.yaml
  hwnas netadapt experiments/configs/demo.yaml --resume
  hwnas netadapt experiments/configs/demo.yaml --seed-arch mobilenetv3-small-0.75 netadapt.target_ratio=0.5
  hwnas netadapt experiments/configs/demo.yaml --seed-arch runs/demo/seed/arch.yaml \\
      --seed-weights runs/demo/seed/weights.pt name=demo-netadapt
  hwnas search experiments/configs/demo.yaml && hwnas netadapt experiments/configs/demo.yaml --resume

NAME_OR_SPEC: a reference name ({', '.join(REFERENCES)}), a compact arch string, or an arch YAML file.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_run_command(sub, "netadapt", "shrink a trained seed to the latency target (NetAdapt)", __doc__,
                             EXAMPLES, "finished proposals are kept")
    parser.add_argument("--seed-arch", metavar="NAME_OR_SPEC", help="the arch to shrink (see below)")
    parser.add_argument("--seed-weights", metavar="PATH", type=Path,
                        help="trained weights (state_dict .pt) of the seed arch; default: train the seed first")
    parser.set_defaults(func=run_netadapt_command)


def run_netadapt_command(args: argparse.Namespace) -> int:
    with console_session(args.verbose) as console:
        return _run_netadapt(args, console)


def _run_netadapt(args: argparse.Namespace, console: Console) -> int:
    from experiments.phases.netadapt import run_netadapt

    cfg = load_from_args(args, "netadapt", needs=("netadapt",))
    try:
        spec, origin = choose_seed_arch(cfg, cfg.output_dir / cfg.name, args.seed_arch)
    except SeedError as err:
        console.error(f"hwnas netadapt: error: {err}")
        return 1
    data = preflight(cfg, args.config)
    given = load_seed_model(spec, args.seed_weights, data.num_classes, args.config) if args.seed_weights else None
    run = RunDir.create(cfg, resume=args.resume, command=["hwnas", "netadapt", *sys.argv[2:]])
    console.attach(run, "netadapt")
    console.info(f"hwnas netadapt: seed {spec.to_str()} ({origin}) on {data.summary()} -> {run.root}")
    seed_weights = prepare_seed(cfg, run, data, spec, given, log=console.info)
    latency = latency_model(cfg, run, data.num_classes, log=console.info, around=spec)
    with RayRuntime(cfg.ray, log=console.info):
        try:
            result = run_netadapt(cfg, run, data, latency, spec, seed_weights, resume=args.resume, log=console.info)
        except NetAdaptError as err:
            console.error(f"hwnas netadapt: error: {err}")
            return 1
    if not result["target_met"]:
        console.error(f"hwnas netadapt: the loop stopped with status {result['status']!r} at "
                      f"{result['table_ms']:.4f} ms, above the target {result['target_ms']:.4f} ms (see "
                      f"{run.path(layout.HISTORY)})")
        return 1
    return 0
