"""Fidelity of the calibrated lookup table against live whole-model runs (the acceptance figure).

For each resolution (224 and the demo's 32): fit the table's calibration on a first sample of
random archs of the space (`hwnas latency calibrate`, seed 100, no references), then validate on a
different sample (`hwnas latency validate`, seed 1: N random archs plus the two references),
LiteRT interpreter, 1 thread, XNNPACK. Prints the summary before and after calibration and the
acceptance verdict: >= 95% within +/-10%, >= 80% within +/-5%, Kendall tau >= 0.9.
Needs a table of the space: pass --build to (re)build or resume it first, or --lazy to measure
only the keys the sampled archs need (new or resumed table).
Pieces are timed in context (latency.litert_bench: L2 flushed, code warmed by a twin interpreter).
Run: .venv/bin/python benchmarks/latency_fidelity.py --table runs/latency/table.json [--build | --lazy]
Under load, run it alone: flock -x /tmp/hwnas-cpu.lock .venv/bin/python benchmarks/latency_fidelity.py ...
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from experiments.cli import main as hwnas
from experiments.commands.latency import sampled_archs
from latency.build import build_table
from latency.measure import BenchSettings, PieceMeasurer
from latency.pieces import arch_pieces
from latency.table import LatencyTable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="runs/latency/table.json")
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[224, 32])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--calib-samples", type=int, default=10)
    parser.add_argument("--out", default="runs/latency/fidelity")
    parser.add_argument("--build", action="store_true", help="build or resume the table first")
    parser.add_argument("--lazy", action="store_true", help="measure only the keys the sampled archs need "
                        "(conversions first, in 2 processes; then timing), into a new or resumed table")
    parser.add_argument("--skip-calibrate", action="store_true", help="keep the table's stored calibration")
    args = parser.parse_args()
    res = [str(r) for r in args.resolutions]
    res_args = [a for r in res for a in ("--resolution", r)]
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
    if args.lazy:
        _fill_sampled(args)
    if args.build:
        _check(hwnas(["latency", "build", "--space", args.space, *res_args, "--out", args.table]))
    if not args.skip_calibrate:
        _check(hwnas(["latency", "calibrate", args.table, "--space", args.space, *res_args,
                      "--samples", str(args.calib_samples), "--seed", "100"]))
    _check(hwnas(["latency", "validate", args.table, "--space", args.space, *res_args, "--samples",
                  str(args.samples), "--seed", "1", "--out", args.out, "--lazy-fill"]))
    summaries = json.loads((Path(args.out) / "summary.json").read_text())
    print(f"\nload average at end: {os.getloadavg()}; {time.perf_counter() - start:.0f} s in all")
    for r, s in summaries.items():
        raw = s["summed_only"]
        ok = s["within_10pct"] >= 0.95 and s["within_5pct"] >= 0.80 and s["kendall_tau"] >= 0.9
        print(f"{r}px, {s['archs']} archs | uncalibrated sum: within 5% {raw['within_5pct']:.0%}, within 10% "
              f"{raw['within_10pct']:.0%}, RMSPE {raw['rmspe_pct']:.2f}%, mean error {raw['mean_error_pct']:+.1f}%, "
              f"tau {raw['kendall_tau']:.3f}")
        print(f"{'':>{len(r) + 15}}| calibrated:       within 5% {s['within_5pct']:.0%}, within 10% "
              f"{s['within_10pct']:.0%}, RMSPE {s['rmspe_pct']:.2f}%, mean error {s['mean_error_pct']:+.1f}%, "
              f"tau {s['kendall_tau']:.3f} -> {'PASS' if ok else 'FAIL'} (>=95% in 10%, >=80% in 5%, tau >= 0.9)")


def _fill_sampled(args: argparse.Namespace) -> None:
    """Measure the keys of the calibration and validation archs (what `--lazy-fill` would measure
    one arch at a time, but with the conversions done up front in parallel)."""
    settings = BenchSettings()
    path = Path(args.table)
    if path.exists():
        table = LatencyTable.load(path, device=settings.fingerprint())
        settings = BenchSettings.of_table(table.metadata["bench"], settings.threads, settings.xnnpack)
    else:
        table = LatencyTable.create(path, settings.fingerprint(), 1000, settings.to_dict())
    calib = argparse.Namespace(space=args.space, seed=100, samples=args.calib_samples)
    val = argparse.Namespace(space=args.space, seed=1, samples=args.samples)
    archs = [spec for _, spec in sampled_archs(calib, references=False) + sampled_archs(val)]
    pieces = [(r, p) for r in args.resolutions for spec in archs for p in arch_pieces(spec, r)]
    report = build_table(table, pieces, PieceMeasurer(settings, 1000), workers=2, progress=False)
    print(f"{path}: {report.measured} keys measured ({report.skipped} present), conversions {report.convert_s:.0f} s, "
          f"timing {report.bench_s:.0f} s (flush {settings.flush_mb} MiB)")


def _check(code: int) -> None:
    if code != 0:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
