"""`hwnas proxy-check CONFIG [--archs N] [--long-steps S] [--long-seeds K]`: how well the search's proxy ranks archs.

N random archs of the configured space (seeded by the config) are scored by the configured proxy
(a stand-alone training with the search's child budget, or with `search.strategy: one_shot` the
trained supernet's shared weights in the run directory) and by a longer stand-alone training (4x the
child budget, or S steps; K times with K seeds, their mean the reference, and the first two
seeds' tau against each other printed as the reference's own repeatability). Prints Kendall's tau
with a bootstrap 95% interval and writes
`proxy_check.csv` and `plots/proxy_check.png` into the config's run directory (created when missing,
reopened when present, as `--resume` does); `hwnas report` then shows a proxy-fidelity section.
The trainings run as Ray tasks like search children; a killed check started again retrains none of
its finished trainings.
"""

from __future__ import annotations

import argparse
import sys

from experiments.commands.common import add_config_args, add_verbose, load_from_args
from experiments.config.checks import preflight
from experiments.console.monitor import console_session
from experiments.ray_jobs.runtime import RayRuntime
from experiments.rundir import layout
from experiments.rundir.latency_source import latency_model
from experiments.rundir.run_dir import RunDir

EXAMPLES = """examples:
  hwnas proxy-check experiments/configs/demo.yaml
  hwnas proxy-check experiments/configs/demo.yaml --archs 16 --long-steps 600
  hwnas proxy-check experiments/configs/demo-one-shot.yaml --archs 24 --long-seeds 2
  hwnas proxy-check experiments/configs/demo.yaml search.child_training.epochs=2
"""
DEFAULT_ARCHS = 12


def at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}")
        return value

    return parse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("proxy-check", help="rank correlation of the search's proxy with longer training",
                            description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.add_argument("--archs", type=at_least(2), default=DEFAULT_ARCHS, metavar="N",
                        help=f"random archs of the space to score (default {DEFAULT_ARCHS}; at least 2)")
    parser.add_argument("--long-steps", type=at_least(1), default=None, metavar="S",
                        help="optimizer steps of the longer training (default: 4x the child budget)")
    parser.add_argument("--long-seeds", type=at_least(1), default=1, metavar="K",
                        help="long trainings per arch, seeds from the config's on; the reference is their mean, and "
                             "with K >= 2 the first two seeds' tau against each other is printed (default 1)")
    add_verbose(parser)
    parser.set_defaults(func=run_proxy_check_command)


def run_proxy_check_command(args: argparse.Namespace) -> int:
    from experiments.phases.proxy_check import (
        run_proxy_check,  # imports Ray: only when a check runs
    )
    from experiments.report.proxy_section import tau_text

    with console_session(args.verbose) as console:
        cfg = load_from_args(args, "proxy-check", needs=("search",))
        data = preflight(cfg, args.config)
        run = RunDir.create(cfg, resume=True, command=["hwnas", "proxy-check", *sys.argv[2:]])
        console.attach(run, "proxy-check")
        latency = latency_model(cfg, run, data.num_classes)
        with RayRuntime(cfg.ray, log=console.info):
            result = run_proxy_check(cfg, run, data, latency, archs=args.archs, long_steps=args.long_steps,
                                     long_seeds=args.long_seeds, log=console.info)
        console.info(f"proxy-check: Kendall tau {tau_text(result)}")
        if result.get("likelihood") is not None:
            console.info(f"proxy-check: by shared-weight likelihood exp(-loss), the quality the search's reward "
                         f"takes by default: Kendall tau {tau_text(result['likelihood'])}")
        if result.get("reference") is not None:
            console.info(f"proxy-check: the reference against itself (long training, seed {cfg.seed} vs "
                         f"{cfg.seed + 1}): Kendall tau {tau_text(result['reference'])}; a proxy is not expected "
                         f"to rank the archs much better than the reference repeats itself")
        console.info(f"proxy-check: wrote {run.path(layout.PROXY_CHECK)} and {run.path(layout.PROXY_CHECK_PLOT)}; "
                     f"`hwnas report {run.root}` adds the proxy-fidelity section")
    return 0
