"""Building a table: every missing key measured once, saved as it goes, resumable after an
interruption; and one real end-to-end build of a tiny arch's keys."""

from __future__ import annotations

import pytest
from latency_helpers import FAST, TINY_ARCH, FakeMeasurer

from latency.build import build_table
from latency.keys import arch_keys
from latency.measure import PieceMeasurer
from latency.pieces import arch_pieces
from latency.table import LatencyTable


def test_interrupted_build_keeps_finished_entries_and_resumes(tmp_path, device, random_archs) -> None:
    pieces = [(64, p) for a in random_archs[:5] for p in arch_pieces(a, 64)]
    keys = {k for a in random_archs[:5] for k in arch_keys(a, 64)}
    path = tmp_path / "t.json"
    table = LatencyTable.create(path, device, 1000, FAST.to_dict())
    with pytest.raises(KeyboardInterrupt):
        build_table(table, pieces, FakeMeasurer(fail_after=7), save_every=3, progress=False)
    kept = LatencyTable.load(path, device=device)
    assert len(kept) == 6  # saved after entries 3 and 6
    measurer = FakeMeasurer()
    report = build_table(kept, pieces, measurer, save_every=3, progress=False)
    assert report.measured == len(keys) - 6 == len(measurer.calls)
    assert set(LatencyTable.load(path).entries) == keys


def test_real_build_of_tiny_arch_with_template_conversions(tmp_path, device) -> None:
    table = LatencyTable.create(tmp_path / "t.json", device, 10, FAST.to_dict())
    report = build_table(table, [(32, p) for p in arch_pieces(TINY_ARCH, 32)], PieceMeasurer(FAST, 10),
                         workers=1, progress=False)
    assert report.measured == 4 and report.conversions == 4  # 2 block templates + stem + head
    assert all(e.median_ms > 0 and e.runs >= 5 for e in LatencyTable.load(tmp_path / "t.json").entries.values())
