"""Arguments and loading shared by the subcommands that take a config: CONFIG [key=value ...]."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from experiments.config.errors import ConfigError
from experiments.config.schema import Config, load_config

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


def add_run_command(sub: argparse._SubParsersAction, name: str, help: str, description: str, examples: str,
                    kept_on_resume: str) -> argparse.ArgumentParser:
    """The parser of a command that writes a run directory: CONFIG [key=value ...] [--resume]."""
    parser = sub.add_parser(name, help=help, description=description, epilog=examples,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.add_argument("--resume", action="store_true",
                        help=f"continue the run directory of the same config: {kept_on_resume}")
    add_verbose(parser)
    return parser


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show everything the run prints (dependency warnings, converter INFO lines, Ray Tune's "
                             "tables); without it they go only to the run's logs/")
