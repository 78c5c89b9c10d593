"""Live benchmark of a `.onnx` file with ONNX Runtime (CPU), with the LiteRT backend's protocol
and result type. Threads sets both intra- and inter-op pools."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latency.errors import LatencyError
from latency.litert_bench import random_input, time_calls
from latency.stats import BenchResult

_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(int8)": np.int8,
              "tensor(uint8)": np.uint8, "tensor(int32)": np.int32, "tensor(int64)": np.int64}


def benchmark_onnx(model: str | Path, threads: int = 1, warmup_s: float = 0.5, min_runs: int = 50,
                   min_time_s: float = 1.0) -> BenchResult:
    import onnxruntime as ort

    path = Path(model)
    if not path.is_file():
        raise LatencyError(f"model file {str(path)!r} does not exist; export one with "
                           f"'hwnas export NAME --format onnx --out {path.name}'")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors for bad files
        raise LatencyError(f"ONNX Runtime cannot load {str(path)!r}: {err}") from err
    rng = np.random.default_rng(0)
    feeds = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        feeds[inp.name] = random_input(rng, shape, _ORT_TYPES.get(inp.type, np.float32))
    return time_calls(lambda: session.run(None, feeds), warmup_s=warmup_s, min_runs=min_runs,
                      min_time_s=min_time_s)


def runtime_version() -> str:
    import onnxruntime as ort

    return f"onnxruntime {ort.__version__}"
