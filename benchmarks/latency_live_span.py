"""How long must a whole model be timed for its figure to repeat minutes later? (issues 12 and 16:
the demo's live check and its calibration's whole-model runs)

Times two whole models (`--arch`, and it narrowed to 0.75x its widths, as a calibration set holds)
round robin in windows of `--window-s` seconds, as `LiveLatency` times them, for `--minutes`. Then it
scores estimators of each model's figure over consecutive, non-overlapping stretches of the stream:
- a sitting: the median of one model's `--sitting` consecutive windows (as one `benchmark_tflite`
  call of ~3 s, the live check the demo had);
- a span of S seconds: the median of the 3 fastest windows within S seconds of the stream (as
  `latency.windows.quiet_median`, with windows spread over S seconds).
For each it prints the figures' spread (max/min - 1, and the p90 of |figure / median - 1|) and the
spread of the two models' ratio (what a calibration fitted in one sitting carries into another).
The goal is the demo's live check: figures of one model minutes apart within +-5% of each other. Run alone (~10 min):
    .venv/bin/python benchmarks/latency_live_span.py [--arch mobilenetv3-small] [--minutes 10]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from latency.litert_bench import LiteRTTimer
from latency.predict import arch_tflite
from latency.windows import quiet_median
from models.references import resolve_arch
from netadapt.proposals import narrowed

SPANS_S = (10, 30, 60, 120)
GOAL = 0.05


def stretches(times: np.ndarray, values: np.ndarray, span_s: float) -> list[np.ndarray]:
    """`values` cut into consecutive, non-overlapping stretches of `span_s` seconds of `times`."""
    edges = np.arange(times[0], times[-1] + 1e-9, span_s)
    masks = [(times >= a) & (times < a + span_s) for a in edges[:-1]]
    return [values[m] for m in masks if np.any(m)]


def spread(figures: np.ndarray) -> tuple[float, float]:
    """(max/min - 1, p90 of |figure / median - 1|)."""
    return float(figures.max() / figures.min() - 1), float(np.percentile(np.abs(figures / np.median(figures) - 1), 90))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="mobilenetv3-small", help="reference name or arch string")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--window-s", type=float, default=1 / 3, help="LiveLatency's window (min_time_s / windows)")
    parser.add_argument("--sitting", type=int, default=9, help="consecutive windows of one sitting (~3 s)")
    args = parser.parse_args()
    big = resolve_arch(args.arch)
    archs = {"whole": big, "narrowed 0.75x": narrowed(big, 0.75)}
    timers = {name: LiteRTTimer(arch_tflite(spec.to_str(), args.resolution, args.classes), 1, True, 0.0, 0.5, 20,
                                args.window_s) for name, spec in archs.items()}
    stream: dict[str, list[tuple[float, float]]] = {name: [] for name in timers}
    start = time.perf_counter()
    while time.perf_counter() - start < args.minutes * 60:
        for name, timer in timers.items():
            stream[name].append((time.perf_counter() - start, timer.window().median_ms))
    print(f"{args.arch} at {args.resolution} px, {args.classes} classes: {len(stream['whole'])} windows per model "
          f"over {args.minutes:.0f} min, load {os.getloadavg()[0]:.2f} at the end")
    t = {n: np.array([w[0] for w in s]) for n, s in stream.items()}
    v = {n: np.array([w[1] for w in s]) for n, s in stream.items()}
    rows = []
    for name in timers:
        values = v[name]
        sittings = np.array([np.median(values[i:i + args.sitting])
                             for i in range(0, len(values) - args.sitting + 1, args.sitting)])
        rows.append((name, f"sitting of {args.sitting} windows", sittings))
        for span in SPANS_S:
            rows.append((name, f"3 fastest in {span} s", np.array([quiet_median(s, 3) for s in
                                                                   stretches(t[name], values, span)])))
    ratio_rows = []
    for span in SPANS_S:
        whole = [quiet_median(s, 3) for s in stretches(t["whole"], v["whole"], span)]
        small = [quiet_median(s, 3) for s in stretches(t["narrowed 0.75x"], v["narrowed 0.75x"], span)]
        n = min(len(whole), len(small))
        ratio_rows.append((f"3 fastest in {span} s", np.array(whole[:n]) / np.array(small[:n])))
    print(f"{'model':16s} {'estimator':26s} {'n':>4s} {'median ms':>10s} {'max/min-1':>10s} {'p90 |dev|':>10s}")
    for name, label, figures in rows:
        if len(figures) >= 2:
            hi, p90 = spread(figures)
            print(f"{name:16s} {label:26s} {len(figures):4d} {np.median(figures):10.3f} {hi:10.1%} {p90:10.1%}")
    print("ratio whole / narrowed, timed in the same stretch:")
    for label, ratios in ratio_rows:
        if len(ratios) >= 2:
            hi, p90 = spread(ratios)
            print(f"  {label:26s} {len(ratios):4d} {np.median(ratios):10.3f} {hi:10.1%} {p90:10.1%}")
    print(f"goal: figures of one model minutes apart within +-{GOAL:.0%} of each other (max/min - 1 <= "
          f"{2 * GOAL:.0%}, both models); the shortest estimator meeting it: " + next(
              (label for name, label, f in rows if name == "whole" and all(
                  spread(g)[0] <= 2 * GOAL for _, lab, g in rows if lab == label and len(g) >= 2)), "none"))


if __name__ == "__main__":
    main()
