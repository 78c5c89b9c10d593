"""Live benchmark of a `.tflite` file with the LiteRT interpreter (ai-edge-litert).

The protocol follows LiteRT's benchmark_model: warm-up for at least `warmup_s`, then at least
`min_runs` timed invokes lasting at least `min_time_s` in all; XNNPACK is on unless
`xnnpack=False` (which selects the builtin kernels without default delegates). Inputs are random
data of each input's dtype, so quantized models this project did not produce work too.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from latency.errors import LatencyError
from latency.export import read_tflite
from latency.stats import BenchResult


def make_interpreter(model: str | Path | bytes, threads: int = 1, xnnpack: bool = True):
    """An allocated interpreter with every input filled with random data of its dtype."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if threads < 1:
        raise LatencyError(f"threads must be at least 1, got {threads}")
    data = model if isinstance(model, bytes) else read_tflite(model)
    resolver = OpResolverType.AUTO if xnnpack else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        interp = Interpreter(model_content=data, num_threads=threads, experimental_op_resolver_type=resolver)
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        raise LatencyError(f"LiteRT cannot load this model: {err}") from err
    rng = np.random.default_rng(0)
    for detail in interp.get_input_details():
        interp.set_tensor(detail["index"], random_input(rng, detail["shape"], detail["dtype"]))
    return interp


def random_input(rng: np.random.Generator, shape, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -128), min(info.max, 127) + 1, size=shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def time_calls(call, warmup_s: float = 0.5, min_runs: int = 50, min_time_s: float = 1.0) -> BenchResult:
    """Run `call` for `warmup_s` (at least once), then time it at least `min_runs` times and
    at least `min_time_s` seconds in all."""
    start = time.perf_counter()
    call()
    while time.perf_counter() - start < warmup_s:
        call()
    times: list[float] = []
    clock = time.perf_counter_ns
    begin = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - begin < min_time_s:
        t0 = clock()
        call()
        times.append((clock() - t0) / 1e6)
    return BenchResult.from_times_ms(times)


def benchmark_tflite(model: str | Path | bytes, threads: int = 1, xnnpack: bool = True, warmup_s: float = 0.5,
                     min_runs: int = 50, min_time_s: float = 1.0) -> BenchResult:
    """Median, mean, p10, p90 and stdev of `invoke()` wall time in ms."""
    interp = make_interpreter(model, threads=threads, xnnpack=xnnpack)
    return time_calls(interp.invoke, warmup_s=warmup_s, min_runs=min_runs, min_time_s=min_time_s)


def runtime_version() -> str:
    from importlib.metadata import version

    return f"ai-edge-litert {version('ai-edge-litert')}"
