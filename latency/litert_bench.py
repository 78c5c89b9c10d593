"""Live benchmark of a `.tflite` file with the LiteRT interpreter (ai-edge-litert).

The protocol follows LiteRT's benchmark_model: warm-up for at least `warmup_s`, then at least
`min_runs` timed invokes lasting at least `min_time_s` in all; XNNPACK is on unless
`xnnpack=False` (which selects the builtin kernels without default delegates). Inputs are random
data of each input's dtype, so quantized models this project did not produce work too.

`flush_mb > 0` selects the *in-context* protocol used for lookup-table pieces. A piece timed alone
in a loop keeps its weights in the core's L2 cache, whereas inside a whole model the other pieces'
weights evict them. Before each timed invoke the protocol (untimed) reads a buffer of `flush_mb`
MiB, which evicts the L2, and re-sets the inputs, which leaves the input hot as the previous
piece's output would be. (An earlier protocol also ran a twin interpreter of the piece before
each invoke; the twin holds its own copy of the weights, so it evicted the timed copy and doubled
memory-bound pieces such as a 1000-class head: it is gone.) Every invoke through the Python
interpreter also pays a fixed floor (here ~1.3 us in a warm loop, ~2.4 us after the flush has
evicted the runtime's own state) that a whole model pays once; `latency.windows` times a trivial model under
the same protocol and subtracts that floor from each piece. `LiteRTTimer` keeps one interpreter
so that a piece can be timed in several windows, interleaved with other pieces.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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


def time_calls(call, warmup_s: float = 0.5, min_runs: int = 50, min_time_s: float = 1.0,
               before: Callable[[], object] | None = None) -> BenchResult:
    """Run `call` for `warmup_s` (at least once), then time it at least `min_runs` times and
    at least `min_time_s` seconds in all; `before`, when given, runs untimed before each timed call."""
    start = time.perf_counter()
    call()
    while time.perf_counter() - start < warmup_s:
        call()
    times: list[float] = []
    clock = time.perf_counter_ns
    begin = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - begin < min_time_s:
        if before is not None:
            before()
        t0 = clock()
        call()
        times.append((clock() - t0) / 1e6)
    return BenchResult.from_times_ms(times)


def benchmark_tflite(model: str | Path | bytes, threads: int = 1, xnnpack: bool = True, warmup_s: float = 0.5,
                     min_runs: int = 50, min_time_s: float = 1.0, flush_mb: float = 0.0) -> BenchResult:
    """Median, mean, p10, p90 and stdev of `invoke()` wall time in ms; `flush_mb > 0` times each
    invoke in context (see the module docstring)."""
    return LiteRTTimer(model, threads, xnnpack, flush_mb, warmup_s, min_runs, min_time_s).window()


class LiteRTTimer:
    """One interpreter of `model`, ready to be timed in windows (`window()`), each a warm-up of
    `warmup_s` then at least `min_runs` invokes and `min_time_s` seconds, in context when `flush_mb > 0`."""

    def __init__(self, model: str | Path | bytes, threads: int = 1, xnnpack: bool = True, flush_mb: float = 0.0,
                 warmup_s: float = 0.5, min_runs: int = 50, min_time_s: float = 1.0) -> None:
        if flush_mb < 0:
            raise LatencyError(f"flush_mb must be 0 (warm loop) or a positive size in MiB, got {flush_mb}")
        self.interp = make_interpreter(model, threads=threads, xnnpack=xnnpack)
        self.before = _in_context(self.interp, flush_mb) if flush_mb > 0 else None
        self.warmup_s, self.min_runs, self.min_time_s = warmup_s, min_runs, min_time_s

    def window(self) -> BenchResult:
        return time_calls(self.interp.invoke, warmup_s=self.warmup_s, min_runs=self.min_runs,
                          min_time_s=self.min_time_s, before=self.before)


def _in_context(interp, flush_mb: float) -> Callable[[], None]:
    """The untimed step before each in-context invoke: evict the L2, re-set the inputs."""
    flush = np.ones(max(int(flush_mb * 2**20) // 4, 1), dtype=np.float32)
    inputs = [(d["index"], interp.get_tensor(d["index"]).copy()) for d in interp.get_input_details()]

    def before() -> None:
        flush.sum()
        for index, value in inputs:
            interp.set_tensor(index, value)

    return before


def default_flush_mb(fallback_mb: float = 3.0) -> float:
    """1.5x CPU 0's L2 cache, from Linux sysfs; `fallback_mb` where that cannot be read."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if level == "2" and size[:-1].isdigit() and size[-1] in "KM":
            return round(1.5 * int(size[:-1]) / (1024 if size[-1] == "K" else 1), 2)
    return fallback_mb


def runtime_version() -> str:
    from importlib.metadata import version

    return f"ai-edge-litert {version('ai-edge-litert')}"
