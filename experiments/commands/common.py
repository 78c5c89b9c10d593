"""Arguments and loading shared by the subcommands that take a config: CONFIG [key=value ...]."""

from __future__ import annotations

import argparse

from experiments.config import Config, load_config

OVERRIDE_HELP = ("overrides as dotted key=value pairs, values in YAML (e.g. search.reward.w=-0.15 "
                 "data.resolution=64 ray.address=auto)")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="run config (YAML), e.g. experiments/configs/demo.yaml")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*", help=OVERRIDE_HELP)


def load_from_args(args: argparse.Namespace) -> Config:
    return load_config(args.config, args.overrides)
