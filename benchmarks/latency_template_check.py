"""Do blocks and heads made by template rewriting time like pieces converted by litert-torch?

For N blocks and M heads (10 classes) drawn from the default space's layer variants (both
resolutions; blocks with a 1x1 output included, they have templates of their own),
converts each piece directly and makes it from its structure's template, then times both in the same run,
interleaved (A B B A) to cancel drift. Prints each pair, the median ratio and the share within
+/-5%. Also reports the conversion cost per block of both routes. Op lists and padding are
asserted equal (tests/latency/test_lat_template.py sweeps them at every resolution).
Takes about 4 minutes with 16 blocks and 6 heads (two conversions and four 1-second timings each).
Run: .venv/bin/python benchmarks/latency_template_check.py [--blocks 16] [--heads 6]
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np

from experiments.config.spaces import resolve_space
from latency.export import tflite_bytes, tflite_ops
from latency.litert_bench import benchmark_tflite
from latency.pieces import variant_piece
from latency.template import dim_map, piece_structure, probe_piece, rewrite
from models.spec import BlockSpec, HeadSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="mnv3-small")
    parser.add_argument("--blocks", type=int, default=16)
    parser.add_argument("--heads", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    space = resolve_space(args.space)
    variants = [variant_piece(s, c, p, 10) for r in (224, 32) for s, c, p in space.layer_variants(r)]
    blocks = sorted((v for v in variants if isinstance(v.spec, BlockSpec)), key=str)
    heads = sorted((v for v in variants if isinstance(v.spec, HeadSpec)), key=str)
    rng = random.Random(args.seed)
    pieces = rng.sample(blocks, args.blocks) + rng.sample(heads, min(args.heads, len(heads)))
    print(f"load average at start: {os.getloadavg()}")
    templates: dict = {}
    ratios, direct_s, rewrite_s = [], [], []
    for piece in pieces:
        structure = piece_structure(piece)
        if structure not in templates:
            probe = probe_piece(structure)
            templates[structure] = tflite_bytes(probe.module(), probe.input_shape())
        t0 = time.perf_counter()
        direct = tflite_bytes(piece.module(), piece.input_shape())
        direct_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        made = rewrite(templates[structure], dim_map(probe_piece(structure), piece))
        rewrite_s.append(time.perf_counter() - t0)
        assert tflite_ops(made) == tflite_ops(direct)
        runs = {"direct": [], "template": []}
        for name in ("direct", "template", "template", "direct"):
            data = direct if name == "direct" else made
            runs[name].append(benchmark_tflite(data, warmup_s=0.3, min_time_s=0.7).median_ms)
        d, t = float(np.mean(runs["direct"])), float(np.mean(runs["template"]))
        ratios.append(t / d)
        print(f"{piece.in_size:>4} {piece.in_channels:>4} {piece.spec.to_str():<32} direct {d:8.4f} ms  "
              f"template {t:8.4f} ms  ratio {t / d:.3f}")
    ratios_a = np.array(ratios)
    print(f"\n{len(ratios)} pieces: median ratio template/direct {np.median(ratios_a):.3f}, "
          f"within +/-5%: {np.mean(np.abs(ratios_a - 1) <= 0.05):.0%}, within +/-10%: "
          f"{np.mean(np.abs(ratios_a - 1) <= 0.10):.0%}")
    print(f"conversion per piece: litert-torch {np.median(direct_s):.2f} s, template rewrite "
          f"{1000 * np.median(rewrite_s):.1f} ms (plus one conversion per structure: {len(templates)} here)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
