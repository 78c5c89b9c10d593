"""The cost of a lookup table: seconds per entry, the time to fill a whole space's table, and the
time to fill the demo's table.

Builds (into a fresh temporary table, so nothing is reused) every key the space can produce at
each resolution with --classes classes, plus the references' keys: block structures converted once
each in --workers processes, then every key made from its template and timed in round-robin
windows (>= 3 per entry, more while they disagree by > 10%), with the invoke floor and the drift
canary (`latency.build`). Defaults are the demo's: mnv3-small at 32 px, 10 classes; the demo fills
its table lazily with the children it prices (161 entries in the issue's run), so the demo's fill
time printed is that many entries at the measured rate plus the conversions they need.

Takes about 15 minutes on a quiet 2-core machine with the defaults (~600 entries); with
--resolutions 224 32 --classes 1000 about 30.
Run it alone: .venv/bin/python benchmarks/latency_build_cost.py [--space mnv3-small] [--resolutions 32]
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
from latency.pieces import arch_pieces, variant_piece
from latency.table import LatencyTable
from models.references import REFERENCES

LIMIT_S = 30 * 60
DEMO_ENTRIES = 161


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32])
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    space = resolve_space(args.space)
    pieces = [(r, variant_piece(s, c, p, args.classes)) for r in args.resolutions for s, c, p in space.layer_variants(r)]
    pieces += [(r, p) for r in args.resolutions for n in REFERENCE_NAMES
               for p in arch_pieces(REFERENCES[n], r, args.classes)]
    print(f"load average at start: {os.getloadavg()}")
    settings = BenchSettings()
    with tempfile.TemporaryDirectory() as tmp:
        table = LatencyTable.create(os.path.join(tmp, "t.json"), settings.fingerprint(), args.classes,
                                    settings.to_dict())
        start = time.perf_counter()
        report = build_table(table, pieces, PieceMeasurer(settings, args.classes), workers=args.workers)
        total = time.perf_counter() - start
        spread = sorted(e.spread for e in table.entries.values())
    timing_per_entry = report.bench_s / max(report.measured, 1)
    convert_per_graph = report.convert_s / max(report.conversions, 1)
    print(f"{report.measured} entries, {report.conversions} litert-torch conversions in {report.convert_s:.0f} s "
          f"({convert_per_graph:.1f} s each), timing {report.bench_s:.0f} s ({timing_per_entry:.2f} s per entry, "
          f"{report.windows / max(report.measured, 1):.2f} windows per entry, canary drift {report.canary_drift:.1%}); "
          f"{report.seconds_per_entry:.2f} s per entry in all, {total / 60:.1f} min -> "
          f"{'PASS' if total <= LIMIT_S else 'FAIL'} (bar: under 30 min)")
    print(f"window spread (max/min - 1) over entries: median {spread[len(spread) // 2]:.1%}, "
          f"90th percentile {spread[int(len(spread) * 0.9)]:.1%}")
    print(f"demo's lazily filled table ({DEMO_ENTRIES} entries): ~{DEMO_ENTRIES * timing_per_entry:.0f} s of timing "
          f"plus its conversions (at most {report.conversions} x {convert_per_graph:.1f} s)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
