"""One NetAdapt iteration with a hand-made latency and evaluator: the two selection rules keep
different proposals, as computed by hand below; plus the head proposals and a skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from netadapt_helpers import SPEC, hand_latency, scripted

from models.spec import ArchSpec
from netadapt.config import LoopConfig
from netadapt.history import history_rows
from netadapt.loop import NetAdaptLoop
from netadapt.proposals import generate

# delta 8 ms: proposals as computed by hand in `hand_latency`.
# Control (the unchanged net, fine-tuned alike) 0.80; fine-tuned accuracies, and dAcc/|dLat|:
#   mid0 0.790 -> -0.010 / 8  = -0.00125
#   mid1 0.700 -> -0.100 / 8  = -0.0125
#   group1 0.785 -> -0.015 / 16 = -0.0009375
# MobileNetV3 rule (largest dAcc/|dLat|): group1. NetAdapt rule (highest accuracy): mid0.
# The seed's accuracy before any fine-tune (0.30 below) plays no part: against it, mid0 would win.
ACC = {"control": 0.80, "mid0": 0.790, "mid1": 0.700, "group1": 0.785}
EXPECTED = {"mid0": (24, 16, 88.0), "mid1": (24, 16, 88.0), "group1": (16, 8, 80.0)}


@pytest.mark.parametrize(("rule", "kept"), [("mobilenetv3", "group1"), ("netadapt", "mid0")])
def test_the_two_rules_keep_the_hand_computed_proposal(tmp_path: Path, rule: str, kept: str) -> None:
    cfg = LoopConfig(target_ms=1.0, delta_ms=8.0, selection=rule, max_iterations=1)
    loop = NetAdaptLoop(tmp_path, hand_latency, scripted(ACC), lambda arch, weights: 0.30, cfg)
    state = loop.run(loop.start(SPEC, tmp_path / "seed.pt"))
    assert state.status == "max_iterations"
    rows = {f"{r.kind}{r.index}": r for r in history_rows(state)}
    assert {k: (r.width_before, r.width_after, r.latency_after) for k, r in rows.items()} == EXPECTED
    assert [k for k, r in rows.items() if r.chosen] == [kept]
    assert {k: r.delta_accuracy for k, r in rows.items()} == pytest.approx({k: ACC[k] - 0.80 for k in EXPECTED})
    assert state.current.latency_ms == EXPECTED[kept][2]
    assert any(s.kind == "group" and s.index == 0 for s in state.skipped)


def test_head_proposals_and_a_skip_with_its_reason() -> None:
    calls: list[ArchSpec] = []

    def counting(spec: ArchSpec) -> float:
        calls.append(spec)
        return hand_latency(spec) + spec.head.last + spec.head.hidden / 2  # seed: 96 + 32 + 32 = 160

    proposals, skipped = generate(SPEC, counting, 16.0, head=True)
    by_key = {p.key: p for p in proposals}
    # last 32 -> 16 cuts 16 (160 - 16 = 144); hidden 64 -> 32 cuts 16
    assert (by_key["last0"].width_after, by_key["last0"].latency_after) == (16, 144.0)
    assert (by_key["hidden0"].width_after, by_key["hidden0"].latency_after) == (32, 144.0)
    assert by_key["last0"].spec.head.last == 16 and by_key["hidden0"].spec.head.hidden == 32
    # mid0 24 -> 16 (its only width keeping the expansion) cuts only 8 < 16: priced once, skipped
    assert [s.reason for s in skipped if s.kind == "mid" and s.index == 0] == [
        "cannot cut 16.0000 ms: the fastest width, 16, gives 152.0000 ms, above the goal 144.0000 ms"]
    assert sum(1 for c in calls if c.blocks[0].mid == 16 and c.blocks[1:] == SPEC.blocks[1:]
               and c.head == SPEC.head) == 1
    assert {p.kind for p in generate(SPEC, counting, 16.0)[0]} <= {"mid", "group"}
