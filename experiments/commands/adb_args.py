"""The phone options of `hwnas bench` and `hwnas latency build|calibrate|validate` (`--backend adb`):
--adb-serial, --benchmark-binary, --cores, and the `Phone` they connect to."""

from __future__ import annotations

import argparse

from latency.adb_measure import Phone
from latency.errors import LatencyError

ADB_FLAGS = {"adb_serial": "--adb-serial", "benchmark_binary": "--benchmark-binary", "cores": "--cores"}


def core_list(text: str) -> list[int]:
    """'4,5' -> [4, 5] (argparse type of --cores)."""
    try:
        cores = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected core numbers separated by commas (e.g. 7 or 4,5), got {text!r}")
    if any(c < 0 for c in cores):
        raise argparse.ArgumentTypeError(f"core numbers are not negative, got {text!r}")
    return cores


def add_adb_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Android phone over adb (--backend adb)")
    group.add_argument("--adb-serial", metavar="SERIAL", help="the phone's serial from 'adb devices' "
                       "(needed when several are connected)")
    group.add_argument("--benchmark-binary", metavar="PATH", help="a benchmark_model built for the phone's ABI, "
                       "pushed to /data/local/tmp/benchmark_model (default: use the one already there)")
    group.add_argument("--cores", type=core_list, metavar="N[,N...]", help="cores benchmark_model is pinned to "
                       "with taskset (default: the highest-numbered core, a big core on most phones)")


def phone_from_args(args: argparse.Namespace) -> Phone | None:
    """The connected phone for `--backend adb`, else None (and no phone option may be given)."""
    if args.backend != "adb":
        given = [flag for name, flag in ADB_FLAGS.items() if getattr(args, name) is not None]
        if given:
            raise LatencyError(f"{', '.join(given)} only apply to --backend adb; add --backend adb to time on the "
                               f"phone, or drop them")
        return None
    return Phone.connect(args.adb_serial, args.benchmark_binary, args.cores)
