"""`hwnas run CONFIG`: the whole pipeline (search -> NetAdapt -> final training -> export ->
report). Today it validates the config and its data exactly as `hwnas validate` does, then stops
with exit code 1: the pipeline phases are not implemented yet. A bad config exits 2 and creates
no run directory.
"""

from __future__ import annotations

import argparse
import sys

from experiments.checks import preflight
from experiments.commands.common import add_config_args, load_from_args
from experiments.errors import ConfigError

EXAMPLES = """examples:
  hwnas run experiments/configs/demo.yaml
  hwnas run experiments/configs/search-small.yaml ray.address=auto name=cluster-run
"""

REQUIRED_SECTIONS = ("search", "netadapt")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="the whole pipeline from a config (not implemented yet: validates only)",
                            description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.set_defaults(func=run_pipeline)


def run_pipeline(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    missing = [name for name in REQUIRED_SECTIONS if getattr(cfg, name) is None]
    if missing:
        raise ConfigError(args.config, [f"{name}: missing; `hwnas run` needs a {name} section "
                                        f"(see experiments/configs/demo.yaml)" for name in missing])
    preflight(cfg, args.config)
    print(f"hwnas run: {args.config} is valid, but the pipeline (search -> NetAdapt -> export -> report) is not "
          f"implemented yet; nothing was started and no run directory was created", file=sys.stderr)
    return 1
