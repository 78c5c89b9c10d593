"""`hwnas bench` against the benchmark tool shipped in the LiteRT wheel, on V3-Small at 224 px,
float32, 1 thread, XNNPACK, the same .tflite file, in the same run (issue 12's acceptance: medians
within 3%). The wheel ships `ai_edge_litert.tools.benchmark_litert_model` (Python, CompiledModel
API, XNNPACK CPU; no C++ benchmark_model binary); it has no warm-up-time or min-time option, so it
gets 20 warm-up runs and a run count that takes about a second. The two are interleaved 5 times
(A B, B A, ...) and the medians of their medians compared; the paired ratios are printed beside.

Takes about 1.5 minutes (one conversion, then 10 one-second benchmarks, each in a fresh process).
Run it alone: .venv/bin/python benchmarks/latency_bench_agreement.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from latency.export import export_arch_tflite
from models.references import REFERENCES

GOAL = 0.03


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--resolution", type=int, default=224)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        model = export_arch_tflite(REFERENCES["mobilenetv3-small"], args.resolution, Path(tmp) / "v3s.tflite")
        ours, theirs = [], []
        for round_ in range(args.rounds):  # A B, then B A: a drift within a round hits both alike
            for tool in ("ours", "theirs") if round_ % 2 == 0 else ("theirs", "ours"):
                if tool == "ours":
                    ours.append(hwnas_bench(model))
                else:
                    theirs.append(wheel_tool(model, Path(tmp) / "tool.json", ours[-1] if ours else None))
            print(f"  hwnas bench median {ours[-1]:.3f} ms | benchmark_litert_model median {theirs[-1]:.3f} ms")
    a, b = float(np.median(ours)), float(np.median(theirs))
    diff = (a - b) / b
    print(f"V3-Small {args.resolution} px float32, median of {args.rounds} medians: hwnas bench {a:.3f} ms, wheel tool "
          f"{b:.3f} ms, difference {diff:+.1%} -> {'PASS' if abs(diff) <= GOAL else 'FAIL'} (acceptance: within 3%)")
    ratios = np.array(ours) / np.array(theirs)
    print(f"context: median of the {args.rounds} paired ratios {np.median(ratios) - 1:+.1%} (range "
          f"{ratios.min() - 1:+.1%} .. {ratios.max() - 1:+.1%}): the spread is the machine's drift between windows")
    print(f"load average at end: {os.getloadavg()}")


def hwnas_bench(model: Path) -> float:
    out = subprocess.run([sys.executable, "-m", "experiments.cli", "bench", str(model), "--json"],
                         capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)["median_ms"])


def wheel_tool(model: Path, result: Path, guess_ms: float | None) -> float:
    """The wheel's tool with a run count that takes about a second (from `guess_ms`, else 3 ms)."""
    runs = max(50, int(1000 / max(guess_ms or 3.0, 0.01)))
    subprocess.run([sys.executable, "-m", "ai_edge_litert.tools.benchmark_litert_model", f"--model={model}",
                    f"--num_runs={runs}", "--warmup_runs=20", "--num_threads=1", f"--result_json={result}"],
                   capture_output=True, text=True, check=True)
    return float(json.loads(result.read_text())["latency"]["median_ms"])


if __name__ == "__main__":
    main()
