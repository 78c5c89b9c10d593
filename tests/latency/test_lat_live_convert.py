"""Whole-model live latency converts a batch's archs before timing any; with `convert_workers` > 1 the
conversions run in worker processes and give the same graphs as in this process (the same ops; the
weights are random either way), and every arch of the batch is timed (interleaved) from them."""

from __future__ import annotations

import pytest
from latency_helpers import FAST, TINY_ARCH

from latency.export import tflite_ops
from latency.predict import LiveLatency
from models.spec import ArchSpec

OTHER = ArchSpec.from_str("stem_c8_hs-ir_k5_m16_c8_s2_re-head_c16_h32_hs")


@pytest.mark.slow  # four conversions and a process pool: about a minute
def test_worker_conversions_equal_in_process_ones_and_are_timed() -> None:
    here = LiveLatency(32, FAST, num_classes=10, min_time_s=0.03)
    pooled = LiveLatency(32, FAST, num_classes=10, min_time_s=0.03, convert_workers=2)
    files = pooled.convert([TINY_ARCH, OTHER])
    assert list(files) == [TINY_ARCH, OTHER]
    for spec, data in files.items():
        assert tflite_ops(data) == tflite_ops(here.tflite(spec)) and len(set(tflite_ops(data))) > 2
    results = pooled.measure_many([TINY_ARCH, OTHER])
    assert all(r.median_ms > 0 and r.runs >= FAST.min_runs for r in results)
    assert pooled.measure(OTHER) is results[1]  # cached per arch
