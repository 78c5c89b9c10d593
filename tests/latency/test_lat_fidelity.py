"""Fidelity figures: bootstrap intervals, near-tie and neighbour order accuracy, a NetAdapt
neighbour is one channel step narrower in one block; int8 pieces take the quantised route."""

from __future__ import annotations

import numpy as np
import pytest

from latency_helpers import FAST, TINY_ARCH
from latency.fidelity import bootstrap_share, narrower_neighbour, near_tie_pairs, order_accuracy, summarize
from latency.measure import BenchSettings, PieceMeasurer
from latency.pieces import arch_pieces
from latency.predict import MaddsLatency
from models.references import REFERENCES


def test_bootstrap_interval_brackets_the_share_and_narrows_with_n() -> None:
    small = bootstrap_share([True] * 26 + [False] * 6)
    assert small["value"] == pytest.approx(26 / 32) and small["n"] == 32
    lo, hi = small["ci95"]
    assert 0.6 < lo < 26 / 32 < hi <= 0.95  # the 26/32: roughly 64-91%
    big = bootstrap_share([True] * 260 + [False] * 60)
    assert big["ci95"][1] - big["ci95"][0] < (hi - lo) / 2
    assert bootstrap_share([])["n"] == 0


def test_near_ties_and_order_accuracy() -> None:
    measured = [1.00, 1.03, 1.20, 1.21, 2.0]
    assert near_tie_pairs(measured) == [(0, 1), (2, 3)]
    right = order_accuracy([1.0, 1.1, 1.3, 1.4, 2.0], measured, near_tie_pairs(measured))
    wrong = order_accuracy([1.1, 1.0, 1.3, 1.3, 2.0], measured, near_tie_pairs(measured))
    assert right["value"] == 1.0 and wrong["value"] == 0.0  # a predicted tie counts as wrong


def test_summary_figures() -> None:
    measured = np.array([1.0, 2.0, 3.0, 4.0])
    s = summarize(measured * np.array([1.01, 0.97, 1.08, 1.2]), measured)
    assert s["within_5pct"]["value"] == 0.5 and s["within_10pct"]["value"] == 0.75
    assert s["kendall_tau"] == pytest.approx(1.0) and s["archs"] == 4 and "ci95" in s["near_ties"]


def test_neighbour_is_one_channel_step_narrower_in_one_block() -> None:
    rng = np.random.default_rng(0)
    for spec in (REFERENCES["mobilenetv3-small"], REFERENCES["mobilenetv3-large"]):
        other = narrower_neighbour(spec, rng)
        changed = [(a, b) for a, b in zip(spec.blocks, other.blocks) if a != b]
        assert len(changed) == 1 and changed[0][1].mid == changed[0][0].mid - 8
        assert other.expands() == spec.expands() and MaddsLatency(224)(other) < MaddsLatency(224)(spec)
    assert narrower_neighbour(TINY_ARCH, rng) is not None


def test_int8_pieces_are_all_converted_directly() -> None:
    pieces = list(arch_pieces(TINY_ARCH, 32, 10))
    float_jobs = PieceMeasurer(FAST).pending_jobs(pieces)
    int8_jobs = PieceMeasurer(BenchSettings(dtype="int8")).pending_jobs(pieces)
    assert sum(kind == "template" for kind, _ in float_jobs) == 3  # two block structures and the head
    assert [kind for kind, _ in int8_jobs] == ["piece"] * 4


@pytest.mark.slow
def test_an_int8_table_entry_is_quantised_and_timed(tmp_path) -> None:
    from latency.build import fill_table
    from latency.export import tflite_ops
    from latency.table import LatencyTable

    settings = BenchSettings(dtype="int8", warmup_s=0.0, min_runs=5, min_time_s=0.0)
    measurer = PieceMeasurer(settings, 10)
    table = LatencyTable.create(tmp_path / "int8.json", settings.fingerprint(), 10, settings.to_dict())
    key = "b|16|8|ir_k3_m16_c8_s2_se_re"
    report = fill_table(table, [key], measurer)
    assert report.measured == 1 and table.entries[key].median_ms > 0
    assert "DEQUANTIZE" in tflite_ops(measurer.direct[key]) and table.fingerprint["dtype"] == "int8"
