"""Building a table: every missing key measured once in round-robin windows, saved chunk by chunk,
resumable after an interruption; the window protocol itself; one real end-to-end build."""

from __future__ import annotations

import numpy as np
import pytest
from latency_helpers import FAST, FLOOR_MS, TINY_ARCH, FakeMeasurer, FakeTimer

from latency.build import CANARY_KEY, build_table
from latency.keys import arch_keys, parse_key
from latency.measure import PieceMeasurer
from latency.pieces import arch_pieces
from latency.stats import BenchResult
from latency.table import LatencyTable
from latency.windows import (
    WindowPolicy,
    agree,
    halves_spread,
    quiet_median,
    round_robin,
    settled_round_robin,
    unsettled,
)


def test_interrupted_build_keeps_finished_chunks_and_resumes(tmp_path, device, random_archs) -> None:
    pieces = [(64, p) for a in random_archs[:5] for p in arch_pieces(a, 64, 1000)]
    keys = {k for a in random_archs[:5] for k in arch_keys(a, 64, 1000)}
    path = tmp_path / "t.json"
    table = LatencyTable.create(path, device, 1000, FAST.to_dict())
    with pytest.raises(KeyboardInterrupt):
        build_table(table, pieces, FakeMeasurer(fail_after=7), chunk=3, progress=False)
    kept = LatencyTable.load(path, device=device)
    assert len(kept) == 6 and kept.metadata["resolutions"] == []  # two chunks saved; 64 px not complete
    measurer = FakeMeasurer()
    report = build_table(kept, pieces, measurer, chunk=3, progress=False)
    assert report.measured == len(keys) - 6 == len(measurer.calls)
    saved = LatencyTable.load(path)
    assert set(saved.entries) == keys and saved.metadata["resolutions"] == [64]


class Scripted:
    """A timer whose windows follow `values` (then repeat the last), logging each call in `log`."""

    def __init__(self, name: str, values: list[float], log: list[str]) -> None:
        self.name, self.values, self.log = name, values, log

    def window(self) -> BenchResult:
        self.log.append(self.name)
        ms = self.values[min(sum(n == self.name for n in self.log) - 1, len(self.values) - 1)]
        return BenchResult(ms, ms, ms, ms, 0.0, 10)


def test_round_robin_interleaves_and_retimes_disagreeing_keys() -> None:
    log: list[str] = []
    timers = {"a": Scripted("a", [1.0, 1.0, 1.0], log), "b": Scripted("b", [1.0, 1.5, 1.0, 1.02, 2.0], log),
              "c": Scripted("c", [2.0, 2.0, 2.1], log)}
    batch = round_robin(timers, WindowPolicy(3, 7, 0.10), floor=FakeTimer(0.001), canary=FakeTimer(0.5))
    first_rounds = [n for n in log if n in "abc"][:9]
    assert sorted(first_rounds[:3]) == sorted(first_rounds[3:6]) == ["a", "b", "c"]  # each key once per round
    assert first_rounds[:3] != first_rounds[3:6]  # the order rotates
    assert len(batch.windows["a"]) == len(batch.windows["c"]) == 3
    assert batch.windows["b"] == [1.0, 1.5, 1.0, 1.02]  # a 4th window, then 3 agree within 10%
    assert batch.rounds == 4 and len(batch.floor_ms) == len(batch.canary_ms) == 4 and batch.runs["a"] == 30


def test_agreement_and_the_window_cap() -> None:
    assert agree([1.0, 1.05, 1.08], 3, 0.10) and not agree([1.0, 1.2, 1.5], 3, 0.10)
    assert not agree([1.5, 1.5, 1.5, 1.0], 3, 0.10)  # three slow windows agree, the fastest three do not
    assert not agree([1.0, 1.0], 3, 0.10)
    log: list[str] = []
    batch = round_robin({"x": Scripted("x", [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0], log)},
                        WindowPolicy(3, 5, 0.10))
    assert len(batch.windows["x"]) == 5  # never agrees: stops at max_windows


def test_a_minimum_span_keeps_every_key_in_the_rounds_until_it_has_passed() -> None:
    log: list[str] = []
    timers = {k: Scripted(k, [1.0], log) for k in "ab"}
    batch = round_robin(timers, WindowPolicy(3, 5, 0.10, min_seconds=0.05))
    assert batch.seconds >= 0.05 and len(batch.windows["a"]) == len(batch.windows["b"]) > 5  # past max_windows
    assert len(round_robin(timers, WindowPolicy(3, 5, 0.10)).windows["a"]) == 3  # without: as few as agree


def test_halves_spread_compares_the_first_half_of_the_windows_with_the_second() -> None:
    assert halves_spread([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], 3) == pytest.approx(1.0)  # a slow mode in the second half
    assert halves_spread([1.3, 1.0, 1.0, 1.0, 1.02, 1.5, 1.01, 1.6], 3) == pytest.approx(0.02)  # fastest 3 of each half
    assert halves_spread([1.0, 1.0, 1.0, 1.0, 1.0], 3) is None  # a half of 2 windows cannot give a figure of 3


def test_a_settled_round_robin_goes_on_until_both_halves_agree_or_the_cap() -> None:
    log: list[str] = []
    timers = {"a": Scripted("a", [1.0, 1.0, 1.0, 1.5, 1.5, 1.5, 1.0], log), "b": Scripted("b", [2.0], log)}
    batch = settled_round_robin(timers, WindowPolicy(3, 7, 0.10), max_seconds=10.0, tolerance=0.05)
    # 3 quiet windows, 3 in a slow mode, then quiet ones: one more round a time until the second half
    # holds 3 quiet windows too (8 windows: 1.0 | 1.0 from the fastest 3 of each half of 4)
    assert len(batch.windows["a"]) == len(batch.windows["b"]) == 8 and unsettled(batch, 3, 0.05) == []
    batch = round_robin(timers, WindowPolicy(3, 7, 0.10))
    assert unsettled(batch, 3, 0.05) == ["a", "b"]  # 3 windows: no halves of 3 yet
    capped = settled_round_robin({"x": Scripted("x", [1.0, 1.0, 1.0] + [2.0] * 1000, [])},
                                 WindowPolicy(3, 7, 0.10, min_seconds=0.01), max_seconds=0.05, tolerance=0.05)
    assert capped.seconds >= 0.05 and unsettled(capped, 3, 0.05) == ["x"]  # never agrees: stops at the cap


def test_real_build_of_tiny_arch_with_template_conversions(tmp_path, device) -> None:
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    report = build_table(table, [(32, p) for p in arch_pieces(TINY_ARCH, 32, 10)], PieceMeasurer(FAST, 10),
                         workers=1, progress=False)
    assert report.measured == 4 and report.conversions == 5  # 2 block templates + stem + head + the canary's
    saved = LatencyTable.load(tmp_path / "t.json")
    assert all(len(e.windows_ms) >= 3 and e.floor_ms > 0 and e.runs >= 15 for e in saved.entries.values())
    # the floor is timed (> 0); no comparison with the tiny pieces' few-microsecond entries, which a noisy
    # host reorders (seen: floor 0.0074 ms above every entry's, at most 0.0060 ms)
    assert 0 < saved.metadata["floor_ms"] < 1.0


def test_the_fast_mode_decides_so_keys_in_different_slow_modes_keep_their_order() -> None:
    log: list[str] = []
    # the wider key is truly slower (13 us vs 12.6 us) but caught the machine's 1.5x slow mode more often
    timers = {"wide": Scripted("wide", [18.8, 13.1, 18.9, 13.7, 13.3], log),
              "narrow": Scripted("narrow", [12.6, 19.7, 19.3, 18.8, 12.8, 12.7], log)}
    batch = round_robin(timers, WindowPolicy(3, 7, 0.10))
    assert batch.windows["wide"] == [18.8, 13.1, 18.9, 13.7, 13.3]  # stopped once its 3 fastest agreed
    assert quiet_median(batch.windows["wide"], 3) == 13.3 and quiet_median(batch.windows["narrow"], 3) == 12.7
    assert float(np.median(batch.windows["narrow"])) > float(np.median(batch.windows["wide"]))  # what a median did


class DriftingFloor(FakeMeasurer):
    """A FakeMeasurer whose invoke floor is slower on every batch (a machine drifting)."""

    def __init__(self) -> None:
        super().__init__()
        self.floors = 0

    def floor_timer(self) -> FakeTimer:
        self.floors += 1
        return FakeTimer(FLOOR_MS * self.floors)


def test_a_later_fill_never_moves_an_earlier_prediction(tmp_path, device, random_archs) -> None:
    from latency.predict import TableLatency

    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    measurer = DriftingFloor()
    first, second = random_archs[0], random_archs[1]
    build_table(table, [(64, p) for p in arch_pieces(first, 64, 10)], measurer, progress=False)
    before = TableLatency(LatencyTable.load(tmp_path / "t.json"), 64)(first)
    build_table(table, [(64, p) for p in arch_pieces(second, 64, 10)], measurer, progress=False)
    reloaded = LatencyTable.load(tmp_path / "t.json")
    assert measurer.floors == 2 and reloaded.metadata["floor_ms"] == pytest.approx(FLOOR_MS)
    assert TableLatency(reloaded, 64)(first) == before


class SlowCanary(FakeMeasurer):
    """The drift canary's windows take `canary_ms` (set by the test), the pieces as FakeMeasurer's;
    counts the canary timings."""

    def __init__(self) -> None:
        super().__init__()
        self.canary_ms, self.canary_windows = 0.2, 0

    def timer(self, piece) -> FakeTimer:
        if piece != parse_key(CANARY_KEY):
            return super().timer(piece)
        outer = self

        class Canary(FakeTimer):
            def window(self) -> BenchResult:
                outer.canary_windows += 1
                return FakeTimer(outer.canary_ms).window()

        return Canary(self.canary_ms)


def test_a_batch_whose_canary_drifted_is_flagged_not_retimed(tmp_path, device, random_archs, capsys) -> None:
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    measurer = SlowCanary()
    build_table(table, [(64, p) for p in arch_pieces(random_archs[0], 64, 10)], measurer, progress=False, chunk=500)
    first = measurer.canary_windows
    measurer.canary_ms = 0.21  # 5%: within the limit, timed once
    build_table(table, [(64, p) for p in arch_pieces(random_archs[1], 64, 10)], measurer, progress=False, chunk=500)
    steady = measurer.canary_windows - first
    assert "warning" not in capsys.readouterr().err
    measurer.canary_ms = 0.3  # 46% off the earlier batches' median (0.205): flagged
    build_table(table, [(64, p) for p in arch_pieces(random_archs[2], 64, 10)], measurer, progress=False, chunk=500)
    batches = LatencyTable.load(tmp_path / "t.json").metadata["batches"]
    assert [b["drifted"] for b in batches] == [False, False, True]
    assert batches[1]["canary_shift"] == pytest.approx(0.05) and batches[2]["canary_shift"] == pytest.approx(0.3 / 0.205 - 1)
    assert measurer.canary_windows - first - steady == steady  # timed once: a retime does not escape a slow mode
    assert "drift canary of a batch" in capsys.readouterr().err


def test_a_slow_first_batch_does_not_flag_every_later_batch(tmp_path, device, random_archs, capsys) -> None:
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    measurer = SlowCanary()
    measurer.canary_ms = 0.24  # the first batch in a slow mode (+20% of the steady 0.2)
    build_table(table, [(64, p) for p in arch_pieces(random_archs[0], 64, 10)], measurer, progress=False, chunk=500)
    measurer.canary_ms = 0.2
    for arch in random_archs[1:4]:
        build_table(table, [(64, p) for p in arch_pieces(arch, 64, 10)], measurer, progress=False, chunk=500)
    batches = LatencyTable.load(tmp_path / "t.json").metadata["batches"]
    # the second is measured against the slow first alone (-17%: flagged); the third against the median of
    # 0.24 and 0.2 (-9%), the fourth against steady's: neither is flagged, as they were against the first
    assert [b["drifted"] for b in batches] == [False, True, False, False]
    assert batches[2]["canary_shift"] == pytest.approx(0.2 / 0.22 - 1) and batches[3]["canary_shift"] == 0.0


def test_a_quiet_batch_converts_with_the_quiet_workers(tmp_path, device, random_archs, monkeypatch) -> None:
    import latency.predict as predict

    seen: list[int] = []
    real = predict.fill_table

    def spy(*args, workers: int = 1, **kwargs):
        seen.append(workers)
        return real(*args, workers=1, **kwargs)  # the fake measurer converts nothing

    monkeypatch.setattr(predict, "fill_table", spy)
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    model = predict.TableLatency(table, 64, FakeMeasurer(), quiet_workers=3)
    model.time_quietly(random_archs[:2])
    assert seen == [3] and not table.missing(k for a in random_archs[:2] for k in model.keys(a))


def test_the_canary_is_compared_on_its_fastest_windows_as_entries_are(tmp_path, device) -> None:
    from latency.build import canary_shift

    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    table.metadata["batches"].append({"canary_ms": [0.2, 0.21, 0.2, 0.26, 0.2, 0.27, 0.2]})
    slow_mostly = [0.28, 0.28, 0.2, 0.29, 0.28, 0.2, 0.2]  # 4 of 7 windows in a slow mode: all-window median +40%
    assert canary_shift(table, slow_mostly, 3) == pytest.approx(0.0)
    assert canary_shift(table, [0.3, 0.31, 0.3], 3) == pytest.approx(0.5)  # every window slow: a real shift
