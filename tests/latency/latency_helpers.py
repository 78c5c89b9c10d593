"""Helpers of the latency tests: tiny pieces and archs (conversions cost ~2 s each), a fake
measurer and a fake whole-model live source that time nothing, fast benchmark settings, and a
reader of a TFLite graph's layout."""

from __future__ import annotations

from latency.build import CANARY_KEY
from latency.keys import parse_key
from latency.measure import BenchSettings
from latency.stats import BenchResult
from latency.windows import WindowPolicy
from models.spec import ArchSpec

TINY_ARCH = ArchSpec.from_str("stem_c8_hs-ir_k3_m16_c8_s2_se_re-ir_k5_m24_c8_s1_hs_res-head_c16_h32_hs")
FAST = BenchSettings(warmup_s=0.0, min_runs=5, min_time_s=0.0)
FLOOR_MS = 0.001


class FakeTimer:
    """Windows of `ms` each."""

    def __init__(self, ms: float) -> None:
        self.ms = ms

    def window(self) -> BenchResult:
        ms = self.ms
        return BenchResult(ms, ms, ms * 0.9, ms * 1.1, ms * 0.05, 7)


class FakeMeasurer:
    """Stands in for `PieceMeasurer`: each key's windows take 0.01 ms per input channel, the invoke
    floor FLOOR_MS; records the pieces it times (`calls`, the drift canary left out) and can fail
    when asked for a timer after `fail_after` pieces (to simulate an interrupted build)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.settings = FAST
        self.calls: list = []
        self.fail_after = fail_after

    def pending_jobs(self, pieces):
        return []

    def tflite(self, piece):
        return piece

    def timer(self, piece) -> FakeTimer:
        if piece != parse_key(CANARY_KEY):
            if self.fail_after is not None and len(self.calls) >= self.fail_after:
                raise KeyboardInterrupt("simulated interruption")
            self.calls.append(piece)
        return FakeTimer(0.01 * piece.in_channels)

    def floor_timer(self) -> FakeTimer:
        return FakeTimer(FLOOR_MS)

class FakeLive:
    """Stands in for `LiveLatency`: whole model `spec` takes `ms(spec)` a window; every window of a
    timer it hands out is logged as ("whole", spec) in `log` (shared with a measurer's, to see the
    interleaving), and `measure_many` counts the archs it had to time itself."""

    def __init__(self, ms, log: list | None = None) -> None:
        self.ms, self.log = ms, log if log is not None else []
        self.policy = WindowPolicy()
        self.results: dict = {}
        self.timed_here: list = []

    def timers(self, specs):
        return {s: LoggedTimer(self.ms(s), self.log, ("whole", s))
                for s in dict.fromkeys(specs) if s not in self.results}

    def record(self, spec, windows, runs):
        self.results[spec] = BenchResult(float(min(windows)), *(float(min(windows)),) * 3, 0.0, runs)
        return self.results[spec]

    def measure_many(self, specs):
        for spec in specs:
            if spec not in self.results:
                self.timed_here.append(spec)
                self.record(spec, [self.ms(spec)], 1)
        return [self.results[s] for s in specs]


class LoggedTimer(FakeTimer):
    def __init__(self, ms: float, log: list, name) -> None:
        super().__init__(ms)
        self.log, self.name = log, name

    def window(self) -> BenchResult:
        self.log.append(self.name)
        return super().window()


def conv_layout(data: bytes) -> list[tuple[str, int | None, tuple[int, ...]]]:
    """Each op of the main subgraph as (name, padding of a (depthwise) conv or None, output shape):
    what a template must reproduce of the converter's own graph."""
    from ai_edge_litert import schema_py_generated as schema

    from latency.export import tflite_ops

    model = schema.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    rows = []
    for i, name in enumerate(tflite_ops(data)):
        op = graph.Operators(i)
        padding = None
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            table = op.BuiltinOptions()
            options = schema.Conv2DOptions() if name == "CONV_2D" else schema.DepthwiseConv2DOptions()
            options.Init(table.Bytes, table.Pos)
            padding = options.Padding()
        shape = tuple(int(d) for d in graph.Tensors(op.Outputs(0)).ShapeAsNumpy())
        rows.append((name, padding, shape))
    return rows
