"""The `hwnas` command line: parses arguments, dispatches to a subcommand module, and turns
user errors into a clear message on stderr with exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from experiments.commands import (
    arch,
    bench,
    demo,
    export,
    latency,
    netadapt,
    proxy_check,
    report,
    run,
    search,
    status,
    train,
    validate,
)
from experiments.config.errors import ConfigError, DataError, RunDirError
from latency.errors import LatencyError
from models.spec import SpecError
from search.space import SpaceError

USER_ERRORS: tuple[type[Exception], ...] = (SpecError, SpaceError, ConfigError, DataError, RunDirError, LatencyError)
COMMANDS = (arch, demo, validate, train, run, status, bench, export, latency, search, proxy_check, report, netadapt)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwnas",
        description="Hardware-aware neural architecture search (MnasNet search + NetAdapt, measured latency).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  hwnas arch show mobilenetv3-small --resolution 224\n"
        "  hwnas validate experiments/configs/demo.yaml\n"
        "  hwnas train experiments/configs/demo.yaml --arch mobilenetv3-small\n"
        "  hwnas run experiments/configs/demo.yaml\n",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # key=value overrides may sit between options (CONFIG --arch X a=1); argparse leaves them over.
        if not hasattr(args, "overrides") or any(e.startswith("-") or "=" not in e for e in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        print(f"hwnas {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hwnas {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
