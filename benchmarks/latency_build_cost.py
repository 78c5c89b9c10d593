"""Build cost of the default space's lookup table: seconds per entry, total vs the 30-minute bar.

Builds (into a fresh temporary table, so nothing is reused) every key `mnv3-small` can produce at
224 and 32, plus the references' keys: block structures converted once each in 2 worker processes,
then every key made from its template and timed serially (`latency/build.py`).
Run: .venv/bin/python benchmarks/latency_build_cost.py [--space mnv3-small] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from experiments.commands.latency import REFERENCE_NAMES
from experiments.config.spaces import resolve_space
from latency.build import build_table
from latency.measure import BenchSettings, PieceMeasurer
from latency.pieces import Piece, arch_pieces
from latency.table import LatencyTable
from models.references import REFERENCES

LIMIT_S = 30 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[224, 32])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    space = resolve_space(args.space)
    pieces = [(r, Piece(s, c, p)) for r in args.resolutions for s, c, p in space.layer_variants(r)]
    pieces += [(r, p) for r in args.resolutions for n in REFERENCE_NAMES for p in arch_pieces(REFERENCES[n], r)]
    print(f"load average at start: {os.getloadavg()}")
    settings = BenchSettings()
    with tempfile.TemporaryDirectory() as tmp:
        table = LatencyTable.create(os.path.join(tmp, "t.json"), settings.fingerprint(), 1000, settings.to_dict())
        start = time.perf_counter()
        report = build_table(table, pieces, PieceMeasurer(settings), workers=args.workers)
        total = time.perf_counter() - start
    print(f"{report.measured} entries, {report.conversions} litert-torch conversions in {report.convert_s:.0f} s, "
          f"timing {report.bench_s:.0f} s; {report.seconds_per_entry:.2f} s per entry, {total / 60:.1f} min in all "
          f"-> {'PASS' if total <= LIMIT_S else 'FAIL'} (acceptance: under 30 min)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
