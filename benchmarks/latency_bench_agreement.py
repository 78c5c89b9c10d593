"""`hwnas bench` against the benchmark tool shipped in the LiteRT wheel, on the same file in the
same run. The file is one this project's exporter did not produce: a hand-written int8-quantized
conv chain (latency/handmade.py). The wheel ships `ai_edge_litert.tools.benchmark_litert_model`
(Python, CompiledModel API, XNNPACK CPU); it has no warm-up-time or min-time option, so it gets a
run count that takes about a second. The two are alternated three times; medians compared.
Acceptance: within 5%.
Run: .venv/bin/python benchmarks/latency_bench_agreement.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from handmade import int8_conv_chain


def main() -> None:
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "int8_chain.tflite"
        model.write_bytes(int8_conv_chain(size=112, channels=32, layers=6))
        ours, theirs = [], []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-m", "experiments.cli", "bench", str(model), "--json"],
                                 capture_output=True, text=True, check=True).stdout
            ours.append(json.loads(out)["median_ms"])
            result = Path(tmp) / "tool.json"
            runs = max(50, int(1000 / max(ours[-1], 0.01)))
            subprocess.run([sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", f"--model={model}",
                            f"--num_runs={runs}", "--warmup_runs=20", "--num_threads=1", f"--result_json={result}"],
                           capture_output=True, text=True, check=True)
            theirs.append(json.loads(result.read_text())["latency"]["median_ms"])
            print(f"  hwnas bench median {ours[-1]:.3f} ms | benchmark_litert_model median {theirs[-1]:.3f} ms "
                  f"({runs} runs)")
    a, b = float(np.median(ours)), float(np.median(theirs))
    diff = (a - b) / b
    print(f"median of medians: hwnas bench {a:.3f} ms, wheel tool {b:.3f} ms, difference {diff:+.1%} -> "
          f"{'PASS' if abs(diff) <= 0.05 else 'FAIL'} (acceptance: within 5%)")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
