"""Helpers of the latency tests: tiny pieces and archs (conversions cost ~2 s each), a fake
measurer that times nothing, and fast benchmark settings."""

from __future__ import annotations

from latency.measure import BenchSettings
from latency.stats import BenchResult
from models.spec import ArchSpec

TINY_ARCH = ArchSpec.from_str("stem_c8_hs-ir_k3_m16_c8_s2_se_re-ir_k5_m24_c8_s1_hs_res-head_c16_h32_hs")
FAST = BenchSettings(warmup_s=0.0, min_runs=5, min_time_s=0.0)


class FakeMeasurer:
    """Stands in for `PieceMeasurer`: each key costs 0.01 ms per input channel; counts calls and
    can fail after `fail_after` measurements (to simulate an interrupted build)."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.settings = FAST
        self.num_classes = 1000
        self.calls: list = []
        self.fail_after = fail_after

    def pending_jobs(self, pieces):
        return []

    def measure(self, piece) -> BenchResult:
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls.append(piece)
        ms = 0.01 * piece.in_channels
        return BenchResult(ms, ms, ms * 0.9, ms * 1.1, ms * 0.05, 7)
