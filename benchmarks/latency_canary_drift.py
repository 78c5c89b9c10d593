"""Does the drift canary track the machine's slow modes well enough to correct table entries by it?
(issue 12, item 4)

Times `--keys` block entries of a latency table (every third block key, so the sizes vary) and the
drift canary in `--batches` round-robin batches, as `latency.build.fill_table` times a chunk (same
settings, windows, floor and canary). Each key's figure per batch (median of its fastest windows)
relative to its median over the batches shows how far an entry moves between batches; the same
divided by the canary's relative figure shows whether a canary correction would remove that. Prints
both spreads and the correlation of the canary with the keys' batch median. Run alone (~5 min):
    .venv/bin/python benchmarks/latency_canary_drift.py runs/demo-one-shot/latency_table.json
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from latency.build import CANARY_KEY
from latency.keys import parse_key
from latency.measure import BenchSettings, PieceMeasurer
from latency.table import LatencyTable
from latency.windows import quiet_median, round_robin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("table", type=Path, help="a latency table whose block keys are timed again")
    parser.add_argument("--keys", type=int, default=30)
    parser.add_argument("--batches", type=int, default=8)
    args = parser.parse_args()
    table = LatencyTable.load(args.table)
    keys = sorted(k for k in table.entries if k.startswith("b|"))[::3][:args.keys]
    settings = BenchSettings()
    measurer = PieceMeasurer(settings, table.num_classes)
    timers = {k: measurer.timer(measurer.tflite(parse_key(k))) for k in keys}
    canary, floor = measurer.timer(measurer.tflite(parse_key(CANARY_KEY))), measurer.floor_timer()
    figures = np.zeros((len(keys), args.batches))
    canaries = np.zeros(args.batches)
    for b in range(args.batches):
        start = time.perf_counter()
        batch = round_robin(timers, settings.policy, floor=floor, canary=canary)
        figures[:, b] = [quiet_median(batch.windows[k], settings.windows) for k in keys]
        canaries[b] = quiet_median(batch.canary_ms, settings.windows)
        print(f"batch {b}: {time.perf_counter() - start:.0f} s, canary {canaries[b] * 1000:.1f} us, "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
    rel = figures / np.median(figures, axis=1, keepdims=True)
    canary_rel = canaries / np.median(canaries)
    corrected = rel / canary_rel[None, :]
    print(f"canary per batch (relative): {np.round(canary_rel, 3).tolist()}")
    print(f"keys' median per batch (relative): {np.round(np.median(rel, axis=0), 3).tolist()}")
    for name, values in (("raw", rel), ("divided by the canary", corrected)):
        dev, spread = np.abs(values - 1), np.median(values.max(1) / values.min(1))
        print(f"{name}: a key's figure vs its median over batches: |diff| median {np.median(dev):.1%}, "
              f"p90 {np.percentile(dev, 90):.1%}; max/min over batches median {spread:.3f}")
    corr = np.corrcoef(canary_rel, np.median(rel, axis=0))[0, 1]
    print(f"correlation of the canary with the keys' batch median: {corr:.2f} (a correction helps only if the "
          f"corrected |diff| is clearly below the raw one)")


if __name__ == "__main__":
    main()
