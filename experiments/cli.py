"""The `hwnas` command line: parses arguments, dispatches to a subcommand module, and turns
user errors into a clear message on stderr with exit code 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from experiments.commands import arch, demo
from models.spec import SpecError
from search.space import SpaceError

USER_ERRORS: tuple[type[Exception], ...] = (SpecError, SpaceError)
COMMANDS = (arch, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hwnas",
        description="Hardware-aware neural architecture search (MnasNet search + NetAdapt, measured latency).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  hwnas arch show mobilenetv3-small --resolution 224\n",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
