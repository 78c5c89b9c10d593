"""Do uncalibrated piece sums match whole models? (issue 12, item 2)

For V3-Small, V3-Large and --archs random archs of the space, at each resolution: the table's
uncalibrated prediction (the pieces' entries, each the median of >= 3 in-context windows net of the
invoke floor, plus the floor once; `latency.build.fill_table`) against the whole model's live
median (3 windows interleaved across the archs; `latency.predict.LiveLatency`), both on this
machine in the same run. Prints each arch's ratio sum/whole, then per resolution the share within
+/-5% beside the goal (every arch, 100%), the median ratio, the invoke floor and the canary drift.
Pass several --flush-mb values to compare in-context protocols (0 = warm loop) in one run.

Takes about 20 minutes on a quiet 2-core machine with the defaults (12 archs x 4 resolutions:
~150 conversions, ~500 table entries, 48 whole models); about 2 minutes per extra flush value.
Run it alone: .venv/bin/python benchmarks/latency_piece_sum.py [--archs 10] [--resolutions 32 64 96 224]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from experiments.commands.latency import sampled_archs
from latency.build import fill_table
from latency.measure import BenchSettings, PieceMeasurer
from latency.predict import LiveLatency, TableLatency
from latency.table import LatencyTable

GOAL = 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--archs", type=int, default=10, help="random archs besides V3-S and V3-L (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64, 96, 224])
    parser.add_argument("--flush-mb", type=float, nargs="+", default=[BenchSettings().flush_mb],
                        help="in-context flush sizes to compare (default: the table default, 1.5x L2)")
    parser.add_argument("--workers", type=int, default=2, help="conversion processes (default 2)")
    args = parser.parse_args()
    archs = sampled_archs(argparse.Namespace(space=args.space, seed=args.seed, samples=args.archs))
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    shares: dict[tuple[float, int], float] = {}
    for resolution in args.resolutions:
        live = LiveLatency(resolution, BenchSettings(), args.classes)
        whole = dict(zip([s for _, s in archs], live.measure_many([s for _, s in archs])))
        for flush in args.flush_mb:
            settings = BenchSettings(flush_mb=flush)
            with tempfile.TemporaryDirectory() as tmp:
                table = LatencyTable.create(Path(tmp) / "t.json", settings.fingerprint(), args.classes,
                                            settings.to_dict())
                model = TableLatency(table, resolution, PieceMeasurer(settings, args.classes))
                keys = [k for _, s in archs for k in model.keys(s)]
                report = fill_table(table, keys, model.measurer, workers=args.workers, resolutions=[resolution])
                model = TableLatency(table, resolution)
                ratios = []
                print(f"\n{resolution} px, flush {flush} MiB: {report.measured} entries, {report.seconds_per_entry:.2f} s "
                      f"per entry, invoke floor {table.metadata['floor_ms'] * 1000:.2f} us, canary drift "
                      f"{report.canary_drift:.1%}")
                for name, spec in archs:
                    summed, measured = model.summed_ms(spec), whole[spec].median_ms
                    ratios.append(summed / measured)
                    print(f"  {name:<20} sum {summed:8.4f} ms  whole {measured:8.4f} ms (windows p10-p90 "
                          f"{whole[spec].p10_ms:.4f}-{whole[spec].p90_ms:.4f})  ratio {ratios[-1]:.3f}")
                r = np.array(ratios)
                share = float(np.mean(np.abs(r - 1) <= GOAL))
                shares[(flush, resolution)] = share
                print(f"  -> {resolution} px: within 5% {share:.0%} of {r.size} (goal 100%: "
                      f"{'PASS' if share == 1 else 'FAIL'}), median ratio {np.median(r):.3f}, "
                      f"range {r.min():.3f}-{r.max():.3f}")
    print("\nsummary (uncalibrated sum within 5% of the whole model; goal: every arch at every resolution):")
    for (flush, resolution), share in sorted(shares.items()):
        print(f"  flush {flush:>5} MiB  {resolution:>4} px: {share:.0%}")
    print(f"load average at end: {os.getloadavg()}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
