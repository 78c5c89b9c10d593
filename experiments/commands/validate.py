"""`hwnas validate CONFIG [key=value ...]`: check a config without starting anything.

Checks the schema (every problem at once, with its YAML path), that the dataset is present and
readable, that the search space resolves, and that a given latency table matches the config.
"""

from __future__ import annotations

import argparse

from experiments.commands.common import add_config_args, load_from_args
from experiments.config.checks import preflight

EXAMPLES = """examples:
  hwnas validate experiments/configs/demo.yaml
  hwnas validate experiments/configs/search-small.yaml search.reward.w=-0.15 search.children=32
  hwnas validate my.yaml data.kind=imagefolder data.path=/data/images --print
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("validate", help="check a config, its data, space and latency table",
                            description=__doc__, epilog=EXAMPLES,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.add_argument("--print", action="store_true", help="print the resolved config (all defaults filled in)")
    parser.set_defaults(func=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    bundle = preflight(cfg, args.config)
    if args.print:
        print(cfg.to_yaml(), end="")
    summary = bundle.summary()
    print(f"{args.config}: valid. run '{cfg.name}' -> {cfg.output_dir / cfg.name}; data {cfg.data.kind}: "
          f"{summary['train']} train / {summary['val']} val / {summary['test']} test images, "
          f"{summary['classes']} classes at {summary['resolution']}x{summary['resolution']}; space {cfg.space}")
    return 0
