"""Fidelity of the calibrated lookup table against live whole-model runs (the acceptance figure).

For each resolution (224 and the demo's 32): fit the table's calibration on a first sample of the
space plus V3-Large and V3-Small (`hwnas latency calibrate`, seed 100), then validate on a
different sample (`hwnas latency validate`, seed 1: N random archs plus the two references),
LiteRT interpreter, 1 thread, XNNPACK. Prints the summary before and after calibration and the
acceptance verdict: >= 95% within +/-10%, >= 80% within +/-5%, Kendall tau >= 0.9.
Needs a table of the space: pass --build to (re)build or resume it first.
Run: .venv/bin/python benchmarks/latency_fidelity.py --table runs/latency/table.json [--build]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from experiments.cli import main as hwnas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="runs/latency/table.json")
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[224, 32])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--calib-samples", type=int, default=10)
    parser.add_argument("--out", default="runs/latency/fidelity")
    parser.add_argument("--build", action="store_true", help="build or resume the table first")
    parser.add_argument("--skip-calibrate", action="store_true", help="keep the table's stored calibration")
    args = parser.parse_args()
    res = [str(r) for r in args.resolutions]
    res_args = [a for r in res for a in ("--resolution", r)]
    print(f"load average at start: {os.getloadavg()}")
    start = time.perf_counter()
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


def _check(code: int) -> None:
    if code != 0:
        raise SystemExit(code)


if __name__ == "__main__":
    main()
