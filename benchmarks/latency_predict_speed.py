"""Prediction speed of the lookup-table latency model: archs priced per second on one core.

Samples archs from the default search space, fills a table with synthetic entries for every key
the space can produce (speed does not depend on the values), then times three paths:
pre-encoded key ids (`predict_ids`, what a controller uses), key lists (`predict_keys`) and
ArchSpecs (`predict_batch`, which derives keys from each spec). Acceptance: >= 100,000 archs/s.
Takes about a minute (sampling the archs dominates).
Run: .venv/bin/python benchmarks/latency_predict_speed.py [--space mnv3-small] [--archs 100000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from experiments.config.spaces import resolve_space
from latency.keys import arch_keys, piece_key
from latency.measure import BenchSettings
from latency.pieces import variant_piece
from latency.predict import TableLatency
from latency.stats import BenchResult
from latency.table import LatencyTable

TARGET = 100_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--archs", type=int, default=100_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    space = resolve_space(args.space)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        table = LatencyTable.create(os.path.join(tmp, "t.json"), BenchSettings().fingerprint(), 1000, {})
        for size, cin, piece in space.layer_variants(args.resolution):
            ms = float(rng.uniform(0.01, 1.0))
            table.put(piece_key(variant_piece(size, cin, piece, 1000)), BenchResult(ms, ms, ms, ms, 0.0, 50),
                      args.resolution)
        table.calibration[str(args.resolution)] = {"scale": 1.1, "offset_ms": 0.05, "samples": 2,
                                                  "rmspe_before": 0.0, "rmspe_after": 0.0}
        model = TableLatency(table, args.resolution)
        specs = [space.decode(space.sample(rng)) for _ in range(args.archs)]
        t0 = time.perf_counter()
        key_lists = [arch_keys(s, args.resolution, 1000) for s in specs]
        keys_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ids = model.encode(key_lists)
        encode_s = time.perf_counter() - t0
        best = min(_timed(lambda: model.predict_ids(ids)) for _ in range(5))
        keys_path = min(_timed(lambda: model.predict_keys(key_lists)) for _ in range(2))
        spec_path = _timed(lambda: model.predict_batch(specs))
    load = os.getloadavg()
    print(f"space {args.space} @ {args.resolution}: {len(table)} keys, {args.archs} archs of up to {ids.shape[1]} keys; "
          f"one core; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"predict_ids   (pre-encoded ids, numpy gather-sum): {args.archs / best:>14,.0f} archs/s")
    print(f"predict_keys  (key lists -> ids -> sum):           {args.archs / keys_path:>14,.0f} archs/s")
    print(f"predict_batch (ArchSpec -> keys -> ids -> sum):    {args.archs / spec_path:>14,.0f} archs/s")
    print(f"  (of which deriving keys from specs: {args.archs / keys_s:,.0f} archs/s; encoding {args.archs / encode_s:,.0f}/s)")
    verdict = "PASS" if args.archs / best >= TARGET else "FAIL"
    print(f"acceptance: >= {TARGET:,} archs/s from a loaded table -> {verdict} ({args.archs / best:,.0f} archs/s, fast path)")


def _timed(call) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
