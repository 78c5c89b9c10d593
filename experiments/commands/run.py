"""`hwnas run CONFIG [--resume]`: the whole pipeline in one run directory: block-wise search -> reference
nets -> seed training -> NetAdapt to the latency target (ending with a long fine-tune or a retrain) ->
export (.tflite, .onnx; parity-checked, benchmarked live) -> report (report.md with plots).

Writes `<output_dir>/<name>/` (see the README's "What a run produces"). Kill it at any point and
rerun with --resume: completed phases are skipped, finished children and NetAdapt proposals are
kept. The console shows a header per phase, a line per child and per NetAdapt proposal with progress
bars; everything else (dependency warnings, converter logs, Ray Tune's tables) goes to the run's
logs/ only, unless -v. Exit code 0 when the run completed and met the latency target; 1 when it completed without
meeting it (every output is still written) or a phase failed; 2 for a bad config (no run
directory is created).
"""

from __future__ import annotations

import argparse
import sys

from experiments.commands.common import add_run_command, load_from_args
from experiments.config.checks import preflight
from experiments.console.monitor import Console, console_session
from experiments.rundir import layout
from experiments.rundir.latency_source import latency_model
from experiments.rundir.run_dir import RunDir
from models.references import resolve_arch

EXAMPLES = """examples:
  hwnas run experiments/configs/demo.yaml
  hwnas run experiments/configs/demo.yaml --resume
  hwnas run experiments/configs/demo.yaml search.children=24 netadapt.target_ratio=0.6 name=demo-24
  hwnas run my.yaml ray.address=auto            # on a running Ray cluster
"""

REQUIRED_SECTIONS = ("search", "netadapt")


def register(sub: argparse._SubParsersAction) -> None:
    parser = add_run_command(sub, "run", "the whole pipeline: search -> NetAdapt -> export -> report", __doc__,
                             EXAMPLES, "completed phases are skipped")
    parser.set_defaults(func=run_pipeline)


def run_pipeline(args: argparse.Namespace) -> int:
    with console_session(args.verbose) as console:
        return _run_pipeline(args, console)


def _run_pipeline(args: argparse.Namespace, console: Console) -> int:
    from experiments.phases.export import (  # imports Ray and the exporters: only when a run starts
        ParityError,
        QuantizationError,
    )
    from experiments.phases.pipeline import Pipeline, PipelineError, summary
    from experiments.ray_jobs.runtime import RayRuntime
    from netadapt.loop import NetAdaptError

    cfg = load_from_args(args, "run", needs=REQUIRED_SECTIONS)
    data = preflight(cfg, args.config)
    run = RunDir.create(cfg, resume=args.resume, command=["hwnas", "run", *sys.argv[2:]])
    console.attach(run, "run")
    around = resolve_arch(cfg.pipeline.seed_arch) if cfg.pipeline.seed_arch else None  # the arch NetAdapt shrinks
    latency = latency_model(cfg, run, data.num_classes, log=console.info, around=around)
    console.info(f"hwnas run: {cfg.name} on {data.summary()}, space {cfg.space} -> {run.root}")
    with RayRuntime(cfg.ray, log=console.info):
        try:
            Pipeline(cfg, run, data, latency, resume=args.resume, log=console.info).execute()
        except (PipelineError, ParityError, QuantizationError, NetAdaptError) as err:
            console.error(f"hwnas run: error: {err}")
            return 1
    console.info(summary(run))
    result = run.read_json(layout.RESULT)
    if not result["target_met"]:
        console.error(f"hwnas run: the latency target was not met: NetAdapt stopped with status {result['status']!r} "
                      f"at {result['table_ms']:.4f} ms by the table (target {result['target_ms']:.4f} ms); every "
                      f"output was written. Lower netadapt.delta_ratio, raise netadapt.max_iterations or set a "
                      f"reachable target")
        return 1
    return 0
