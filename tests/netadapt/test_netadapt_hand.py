"""NetAdapt decisions checked against values computed by hand: widths on a grid where latency is
not monotone in width, selection against the control when every proposal gains on the seed, a
proposal worse on both axes never kept, failed fine-tunes recorded and skipped."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
from netadapt_helpers import SPEC, hand_latency, scripted

from models.spec import ArchSpec
from netadapt.config import LoopConfig
from netadapt.history import history_rows
from netadapt.loop import CONTROL, JobFailed, NetAdaptError, NetAdaptLoop
from netadapt.proposals import generate, specs_to_price, with_mid
from netadapt.selection import Measured, dominated, select

# One block reading 8 channels and expanding to 64: its mid may go to 56, 48, ..., 16 (8 == in
# would drop the expansion conv). Latency by mid, not monotone (as on XNNPACK, where widths off a
# multiple of 16 cost more than their wider neighbours):
ONE = ArchSpec.from_str("stem_c8_hs-ir_k3_m64_c8_s2_re-head_c32_h64_hs")
BY_MID = {64: 100.0, 56: 97.0, 48: 90.0, 40: 95.0, 32: 85.0, 24: 93.0, 16: 80.0}


def by_mid(spec: ArchSpec) -> float:
    return BY_MID[spec.blocks[0].mid]


def test_non_monotone_latency_keeps_the_largest_width_that_cuts_delta() -> None:
    # delta 8, goal 92: 56 (97) no, 48 (90) yes -> 48, cut 10. Bisection, taking latency as
    # monotone, would price 16 (80, reaches), then 40 (95, not), then 32 (85) and keep 32 (cut 15).
    priced: list[int] = []

    def counting(spec: ArchSpec) -> float:
        priced.append(spec.blocks[0].mid)
        return by_mid(spec)

    proposals, skipped = generate(ONE, counting, 8.0)
    assert [(p.key, p.width_after, p.latency_after) for p in proposals] == [("mid0", 48, 90.0)]
    assert sorted(priced) == [16, 24, 32, 40, 48, 56, 64]  # every width on the grid, once
    assert [s.kind for s in skipped] == ["group"]  # block 0's out is 8: nothing below it
    # delta 25, goal 75: no width reaches it; the reason names the fastest (16: 80 ms)
    proposals, skipped = generate(ONE, by_mid, 25.0)
    assert proposals == [] and "the fastest width, 16, gives 80.0000 ms, above the goal 75.0000 ms" in [
        s.reason for s in skipped if s.kind == "mid"][0]
    # grid step 16: candidates 48, 32, 16 -> 48 (90) again; with delta 12 (goal 88): 32 (85)
    assert generate(ONE, by_mid, 8.0, divisor=16)[0][0].width_after == 48
    assert generate(ONE, by_mid, 12.0, divisor=16)[0][0].width_after == 32


def test_the_loop_prices_only_prefilled_specs_before_any_fine_tune(tmp_path: Path) -> None:
    events: list[str] = []
    listed: set[str] = set()

    def prefill(specs: list[ArchSpec]) -> None:
        events.append("prefill")
        listed.update(s.to_str() for s in specs)

    def latency(spec: ArchSpec) -> float:
        assert not events or spec.to_str() in listed, "a spec priced that prefill did not get"
        events.append("price")
        return by_mid(spec)

    def jobs(batch):
        events.append("jobs")
        return scripted({CONTROL: 0.5, "mid0": 0.5})(batch)

    cfg = LoopConfig(target_ms=91.0, delta_ms=8.0)
    loop = NetAdaptLoop(tmp_path, latency, jobs, lambda arch, weights: 0.3, cfg, prefill=prefill)
    state = loop.run(loop.start(ONE, tmp_path / "seed.pt"))
    assert state.status == "met" and state.current.arch == with_mid(ONE, 0, 48).to_str()
    assert listed == {s.to_str() for s in specs_to_price(ONE)} == {with_mid(ONE, 0, m).to_str() for m in BY_MID}
    first = events.index("prefill")
    assert events[first + 1:] == ["price"] * 7 + ["jobs"]  # current + 6 candidates, then the fine-tunes


def run_one(tmp_path: Path, results: dict, rule: str = "mobilenetv3", seed_accuracy: float = 0.30):
    cfg = LoopConfig(target_ms=1.0, delta_ms=8.0, selection=rule, max_iterations=1)
    loop = NetAdaptLoop(tmp_path, hand_latency, scripted(results), lambda arch, weights: seed_accuracy, cfg)
    return loop, loop.run(loop.start(SPEC, tmp_path / "seed.pt"))


def kept(state) -> str:
    return [f"{r.kind}{r.index}" for r in history_rows(state) if r.chosen][0]


@pytest.mark.parametrize(("rule", "expected"), [("mobilenetv3", "group1"), ("netadapt", "mid0")])
def test_rising_accuracy_is_judged_against_the_control(tmp_path: Path, rule: str, expected: str) -> None:
    # Every proposal gains on the seed before fine-tuning (0.30), and so does the control (0.64).
    # Against the control, dAcc/|dLat|: mid0 (0.60 - 0.64) / 8 = -0.005; mid1 (0.52 - 0.64) / 8 =
    # -0.015 (and dominated by mid0); group1 (0.58 - 0.64) / 16 = -0.00375 -> group1. Against the
    # seed's 0.30 the ratio would keep mid0 (0.30 / 8 = 0.0375 > 0.28 / 16 = 0.0175).
    results = {CONTROL: 0.64, "mid0": 0.60, "mid1": 0.52, "group1": 0.58}
    _, state = run_one(tmp_path, results, rule)
    assert kept(state) == expected
    rows = {f"{r.kind}{r.index}": r for r in history_rows(state)}
    expected_delta = {"mid0": -0.04, "mid1": -0.12, "group1": -0.06}
    assert {k: r.delta_accuracy for k, r in rows.items()} == pytest.approx(expected_delta)
    assert {r.control_val_accuracy for r in rows.values()} == {0.64}


def test_a_proposal_worse_on_both_axes_is_never_kept(tmp_path: Path) -> None:
    # The issue's case, by hand: control 0.50. mid0 0.55 at 88 ms: +0.05 / 8 = 0.00625; group1 0.59
    # at 80 ms: +0.09 / 16 = 0.005625. The ratio alone keeps mid0, worse than group1 on accuracy and
    # latency; dominated proposals are dropped first, so group1 is kept.
    results = {CONTROL: 0.50, "mid0": 0.55, "mid1": 0.52, "group1": 0.59}
    _, state = run_one(tmp_path, results)
    assert kept(state) == "group1"
    # the same with the issue's numbers: 0.50 -> 0.55 saving 0.015 ms vs 0.50 -> 0.60 saving 0.040 ms
    issue = [Measured(0.55, 1.0, 0.985), Measured(0.60, 1.0, 0.960)]
    assert dominated(issue) == {0} and select("mobilenetv3", 0.50, issue) == 1
    # equal on one axis, strictly worse on the other: dominated too; equal on both: neither is
    assert dominated([Measured(0.5, 1.0, 0.9), Measured(0.5, 1.0, 0.8)]) == {0}
    assert dominated([Measured(0.5, 1.0, 0.9), Measured(0.5, 1.0, 0.9)]) == set()


@pytest.mark.parametrize("rule", ["mobilenetv3", "netadapt"])
def test_no_rule_keeps_a_dominated_proposal_on_random_results(rule: str) -> None:
    rng = random.Random(7)
    for _ in range(300):
        results = [Measured(round(rng.uniform(0.3, 0.7), 2), 10.0, round(rng.uniform(8.0, 9.9), 1))
                   for _ in range(rng.randint(1, 6))]
        chosen = results[select(rule, rng.uniform(0.3, 0.7), results)]
        assert not any(q.val_accuracy >= chosen.val_accuracy and q.latency_after <= chosen.latency_after
                       and q != chosen for q in results)


def test_failed_proposals_are_recorded_and_the_iteration_goes_on(tmp_path: Path) -> None:
    # mid1 reports a diverged fine-tune, group1 a non-finite accuracy; of the rest only mid0 is left.
    results = {CONTROL: 0.80, "mid0": 0.79, "mid1": JobFailed("non-finite loss at step 3"),
               "group1": float("nan")}
    loop, state = run_one(tmp_path, results)
    assert state.status == "max_iterations" and kept(state) == "mid0"
    rows = {f"{r.kind}{r.index}": r for r in history_rows(state)}
    assert rows["mid1"].failure == "non-finite loss at step 3" and rows["mid1"].val_accuracy is None
    assert rows["group1"].failure == "non-finite validation accuracy nan" and rows["group1"].val_accuracy is None
    assert rows["mid0"].failure is None and rows["mid0"].delta_accuracy == pytest.approx(-0.01)
    assert "NaN" not in loop.state_path.read_text()  # the state stays strict JSON
    json.loads(loop.state_path.read_text(), parse_constant=lambda c: pytest.fail(f"non-standard {c}"))


@pytest.mark.parametrize(("results", "message"), [
    ({CONTROL: 0.8, "mid0": JobFailed("out of memory"), "mid1": float("inf"), "group1": JobFailed("loss nan")},
     "all 3 proposals failed: mid0: out of memory; mid1: non-finite validation accuracy inf; group1: loss nan"),
    ({CONTROL: JobFailed("loss nan"), "mid0": 0.7, "mid1": 0.7, "group1": 0.7},
     "the control (the unchanged network) failed its fine-tune: loss nan"),
])
def test_a_failed_iteration_stops_the_loop_with_a_clear_error(tmp_path: Path, results: dict, message: str) -> None:
    cfg = LoopConfig(target_ms=1.0, delta_ms=8.0, max_iterations=3)
    loop = NetAdaptLoop(tmp_path, hand_latency, scripted(results), lambda arch, weights: 0.3, cfg)
    with pytest.raises(NetAdaptError, match="iteration 0: ") as err:
        loop.run(loop.start(SPEC, tmp_path / "seed.pt"))
    assert message in str(err.value) and "start a new run name" in str(err.value)
    saved = loop.resume()
    assert saved.status == "failed" and saved.iteration == 0
    with pytest.raises(NetAdaptError, match="iteration 0: "):  # a resume says the same, computing nothing
        NetAdaptLoop(tmp_path, hand_latency, scripted({}), lambda arch, weights: 0.3, cfg).run(saved)


def test_when_no_layer_can_cut_delta_the_loop_halves_it_before_stopping(tmp_path: Path) -> None:
    """SPEC's layers cut at most 8, 8 and 16 (hand_latency): delta 32 is halved to 16, where group1 is
    proposed and kept (its step recorded at delta 16); with min_delta_ratio 1 the loop stops at once."""
    cfg = LoopConfig(target_ms=1.0, delta_ms=32.0, max_iterations=1)
    results = {CONTROL: 0.30, "group1": 0.29}
    loop = NetAdaptLoop(tmp_path / "halved", hand_latency, scripted(results), lambda arch, weights: 0.30, cfg)
    state = loop.run(loop.start(SPEC, tmp_path / "seed.pt"))
    assert kept(state) == "group1" and {r.delta_ms for r in history_rows(state)} == {16.0}
    assert state.current.latency_ms == 80.0 and state.status == "max_iterations"
    strict = dataclasses.replace(cfg, min_delta_ratio=1.0)
    loop = NetAdaptLoop(tmp_path / "strict", hand_latency, scripted(results), lambda arch, weights: 0.30, strict)
    assert loop.run(loop.start(SPEC, tmp_path / "seed.pt")).status == "stuck"
    quarter = dataclasses.replace(cfg, delta_ms=128.0, min_delta_ratio=0.25)  # 128 -> 64 -> 32: none, stuck
    loop = NetAdaptLoop(tmp_path / "quarter", hand_latency, scripted(results), lambda arch, weights: 0.30, quarter)
    assert loop.run(loop.start(SPEC, tmp_path / "seed.pt")).status == "stuck"
    with pytest.raises(ValueError, match="min_delta_ratio"):
        dataclasses.replace(cfg, min_delta_ratio=0.0)


def test_delta_decays_per_iteration() -> None:
    cfg = LoopConfig(target_ms=1.0, delta_ms=8.0, delta_decay=0.5)
    assert [cfg.delta_at(k) for k in range(4)] == [8.0, 4.0, 2.0, 1.0]
    assert dataclasses.replace(cfg, delta_decay=1.0).delta_at(10) == 8.0
    with pytest.raises(ValueError, match="delta_decay"):
        dataclasses.replace(cfg, delta_decay=1.5)
    with pytest.raises(ValueError, match="final phase"):
        dataclasses.replace(cfg, final="distill")
    assert dataclasses.replace(cfg, final="retrain").final == "retrain"
