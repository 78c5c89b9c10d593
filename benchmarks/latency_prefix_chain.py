"""Where does a whole model cost more than the sum of its pieces? (issue 12, item 2)

Converts an arch's pieces (stem, blocks, head) one by one, prefix chains of them (stem..piece k, as
one graph) and the whole model, at `--resolution` with `--classes` classes, and times all of them
interleaved in one sitting: each figure is the median of the 3 fastest of `--rounds` windows. Pieces
are timed warm and in context (`flush_mb`: the table's protocol), each net of the invoke floor of the
same protocol; chains and the whole model in a warm loop, as whole models are timed live. Prints each
piece, each chain's increment beside its pieces' sum, and whole / sum for the table's flush and for
each `--flush-mb` size. Run alone (V3-Small at 224 px: ~100 s of conversions on 2 cores, ~3 min timing):
    .venv/bin/python benchmarks/latency_prefix_chain.py [--arch mobilenetv3-small] [--resolution 224]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import numpy as np
from torch import nn

from latency.export import arch_module, tflite_bytes
from latency.floor import floor_model
from latency.litert_bench import LiteRTTimer, default_flush_mb
from latency.pieces import arch_pieces
from models.references import resolve_arch

Job = tuple[str, int]  # ("piece" | "prefix" | "whole", index)


def convert(arch: str, resolution: int, classes: int, job: Job) -> tuple[Job, bytes]:
    spec = resolve_arch(arch)
    pieces = arch_pieces(spec, resolution, classes)
    kind, k = job
    if kind == "whole":
        return job, tflite_bytes(arch_module(spec, classes), pieces[0].input_shape())
    if kind == "prefix":
        return job, tflite_bytes(nn.Sequential(*(p.module() for p in pieces[:k + 1])).eval(), pieces[0].input_shape())
    return job, tflite_bytes(pieces[k].module(), pieces[k].input_shape())


def fastest(windows: list[float]) -> float:
    return float(np.median(sorted(windows)[:3]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="mobilenetv3-small", help="reference name or arch string")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--flush-mb", type=float, nargs="*", default=[4.0, 16.0], help="other in-context flush sizes")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    spec = resolve_arch(args.arch)
    pieces = arch_pieces(spec, args.resolution, args.classes)
    n = len(pieces)
    prefixes = sorted({0, 1, 2, 3, 4, 6, 8, n - 2, n - 1} & set(range(n)))
    jobs: list[Job] = [("prefix", k) for k in prefixes] + [("whole", 0)] + [("piece", k) for k in range(n)]
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        files = dict(pool.starmap(convert, [(spec.to_str(), args.resolution, args.classes, j) for j in jobs]))
    print(f"{len(jobs)} conversions in {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.2f}")
    table_flush = default_flush_mb()
    flushes = [table_flush, *args.flush_mb]
    timers: dict[tuple, LiteRTTimer] = {}
    for job, data in files.items():
        timers[(job, 0.0)] = LiteRTTimer(data, 1, True, 0.0, 0.2, 20, 0.3)
        if job[0] == "piece":
            for mb in flushes:
                timers[(job, mb)] = LiteRTTimer(data, 1, True, mb, 0.2, 20, 0.3)
    for mb in [0.0, *flushes]:
        timers[(("floor", 0), mb)] = LiteRTTimer(floor_model(), 1, True, mb, 0.2, 20, 0.3)
    windows: dict[tuple, list[float]] = {k: [] for k in timers}
    keys = list(timers)
    for r in range(args.rounds):  # round robin, the order rotated and reversed every other round
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        for key in reversed(order) if r % 2 else order:
            windows[key].append(timers[key].window().median_ms)
    fig = {k: fastest(v) for k, v in windows.items()}

    def piece_ms(k: int, mb: float) -> float:
        return fig[(("piece", k), mb)] - fig[(("floor", 0), mb)]

    for k, p in enumerate(pieces):
        print(f"piece {k:2d} {p.spec.to_str():34s} in {p.in_size:3d} px: warm {piece_ms(k, 0.0):.4f} ms, "
              f"in context {piece_ms(k, table_flush):.4f} ms")
    before, last = 0.0, -1
    for k in prefixes:
        chain = fig[(("prefix", k), 0.0)]
        print(f"chain 0..{k:2d}: {chain:.4f} ms; increment {chain - before:.4f} vs its pieces in context "
              f"{sum(piece_ms(i, table_flush) for i in range(last + 1, k + 1)):.4f} ms")
        before, last = chain, k
    whole = fig[(("whole", 0), 0.0)]
    for mb in [0.0, *flushes]:
        summed = sum(piece_ms(k, mb) for k in range(n)) + fig[(("floor", 0), mb)]
        label = "warm loop" if mb == 0 else f"flush {mb} MB" + (" (the table's)" if mb == table_flush else "")
        print(f"whole {whole:.4f} ms vs pieces summed, {label}: {summed:.4f} ms -> whole / sum {whole / summed:.3f} "
              f"(goal 0.95-1.05)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
