"""Arguments and loading shared by the subcommands that take a config: CONFIG [key=value ...]."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from experiments.config import Config, load_config
from experiments.errors import ConfigError

OVERRIDE_HELP = ("overrides as dotted key=value pairs, values in YAML (e.g. search.reward.w=-0.15 "
                 "data.resolution=64 ray.address=auto)")


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="run config (YAML), e.g. experiments/configs/demo.yaml")
    parser.add_argument("overrides", metavar="KEY=VALUE", nargs="*", help=OVERRIDE_HELP)


def load_from_args(args: argparse.Namespace, command: str | None = None, needs: Sequence[str] = (),
                   example: str = "experiments/configs/demo.yaml") -> Config:
    """The config of CONFIG and its overrides; `hwnas COMMAND` refuses one that lacks a section it `needs`."""
    cfg = load_config(args.config, args.overrides)
    missing = [name for name in needs if getattr(cfg, name) is None]
    if missing:
        raise ConfigError(args.config, [f"{name}: missing; `hwnas {command}` needs a {name} section (see {example})"
                                        for name in missing])
    return cfg
