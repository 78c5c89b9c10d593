"""`hwnas demo`: the main job on the embedded default. The end-to-end pipeline (search, NetAdapt,
export, report) is not built yet; until it is, this says so and exits non-zero rather than pretend."""

from __future__ import annotations

import argparse
import sys

from experiments.commands.arch import run_show


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("demo", help="run the main job on the embedded default (work in progress)")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    print("hwnas demo: the seed architecture of the default search space (MobileNetV3-Small):\n")
    run_show(argparse.Namespace(arch="mobilenetv3-small", resolution=224, classes=1000, json=False))
    print(
        "\nhwnas demo: the end-to-end pipeline (search -> NetAdapt -> export -> report) is not "
        "implemented yet; see README.md 'Status'.",
        file=sys.stderr,
    )
    return 1
