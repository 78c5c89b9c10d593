"""`hwnas demo [KEY=VALUE ...]`: the main job on the embedded default: `hwnas run` on the shipped
experiments/configs/demo-one-shot.yaml (the one-shot search, NetAdapt, export, report, latency timed
at 224 px on this machine), resuming its run directory if a previous demo was interrupted."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.commands.common import OVERRIDE_HELP, add_verbose
from experiments.commands.run import run_pipeline

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "demo-one-shot.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="run the whole pipeline on the embedded dataset (demo-one-shot.yaml)",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="examples:\n  hwnas demo\n  hwnas demo name=demo-2 search.one_shot.top_k=2\n")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*", help=OVERRIDE_HELP)
    add_verbose(parser)
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    return run_pipeline(argparse.Namespace(config=str(DEMO_CONFIG), overrides=args.overrides, resume=True,
                                           verbose=args.verbose))
