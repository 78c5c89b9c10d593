"""The table file: round trip, corrupt/foreign/unknown files refused without being overwritten,
lazy filling, batch prediction and calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from latency_helpers import FAST, TINY_ARCH, FakeMeasurer

from latency.calibration import fit_calibration
from latency.errors import LatencyError
from latency.keys import arch_keys
from latency.predict import MaddsLatency, TableLatency
from latency.stats import BenchResult
from latency.table import LatencyTable
from models.references import REFERENCES


def _table(path, device, keys=()) -> LatencyTable:
    table = LatencyTable.create(path, device, 1000, FAST.to_dict())
    for i, key in enumerate(keys):
        table.put(key, BenchResult(0.1 * (i + 1), 0.1, 0.09, 0.11, 0.01, 50), 32)
    table.save()
    return table


def test_round_trip_keeps_entries_metadata_and_calibration(tmp_path, device) -> None:
    table = _table(tmp_path / "t.json", device, arch_keys(TINY_ARCH, 32))
    table.calibration["32"] = fit_calibration([1, 2, 3], [1.2, 2.3, 3.4]).to_dict()
    table.save()
    loaded = LatencyTable.load(tmp_path / "t.json", device=device)
    assert loaded.entries == table.entries
    assert loaded.metadata["resolutions"] == [32]
    assert loaded.calibration == table.calibration
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "not_json", "wrong_format", "bad_entry"])
def test_damaged_tables_are_refused(tmp_path, device, damage) -> None:
    path = tmp_path / "t.json"
    _table(path, device, arch_keys(TINY_ARCH, 32))
    text = path.read_text()
    if damage == "truncate":
        text = text[: len(text) // 2]
    elif damage == "not_json":
        text = "\x00\x01binary"
    elif damage == "wrong_format":
        text = json.dumps({"hello": 1})
    else:
        data = json.loads(text)
        data["entries"][next(iter(data["entries"]))]["median_ms"] = "fast"
        text = json.dumps(data)
    path.write_text(text)
    with pytest.raises(LatencyError, match="latency table"):
        LatencyTable.load(path)
    assert path.read_text() == text


def test_foreign_table_refused_unless_overridden(tmp_path, device) -> None:
    other = dict(device, cpu="Some Phone SoC", threads=4)
    _table(tmp_path / "t.json", other)
    with pytest.raises(LatencyError, match="another device.*cpu.*threads.*allow-foreign-table"):
        LatencyTable.load(tmp_path / "t.json", device=device)
    assert LatencyTable.load(tmp_path / "t.json", device=device, allow_foreign=True).metadata["fingerprint"] == other


def test_missing_file_names_the_build_command(tmp_path) -> None:
    with pytest.raises(LatencyError, match="hwnas latency build"):
        LatencyTable.load(tmp_path / "none.json")


def test_missing_key_without_lazy_fill_names_the_command(tmp_path, device) -> None:
    path = tmp_path / "t.json"
    _table(path, device, arch_keys(TINY_ARCH, 32)[:2])
    before = path.read_bytes()
    with pytest.raises(LatencyError, match="hwnas latency build .*--resolution 32"):
        TableLatency(LatencyTable.load(path), 32)(TINY_ARCH)
    assert path.read_bytes() == before


def test_lazy_fill_measures_once_and_persists(tmp_path, device) -> None:
    path = tmp_path / "t.json"
    _table(path, device, arch_keys(TINY_ARCH, 32)[:2])
    measurer = FakeMeasurer()
    model = TableLatency(LatencyTable.load(path), 32, measurer)
    first = model(TINY_ARCH)
    assert len(measurer.calls) == len(arch_keys(TINY_ARCH, 32)) - 2
    assert model(TINY_ARCH) == first and len(measurer.calls) == 2
    assert set(arch_keys(TINY_ARCH, 32)) <= set(LatencyTable.load(path).entries)


def test_batch_prediction_equals_per_arch_prediction(tmp_path, device, random_archs) -> None:
    keys = sorted({k for a in random_archs for k in arch_keys(a, 64)})
    table = _table(tmp_path / "t.json", device, keys)
    table.calibration["64"] = {"scale": 1.2, "offset_ms": 0.3, "samples": 3, "rmspe_before": 1, "rmspe_after": 0}
    model = TableLatency(table, 64)
    single = np.array([model(a) for a in random_archs])
    np.testing.assert_allclose(model.predict_batch(random_archs), single, rtol=1e-12)
    ids = model.encode([arch_keys(a, 64) for a in random_archs])
    np.testing.assert_allclose(model.predict_ids(ids), single, rtol=1e-12)
    summed = sum(table.entries[k].median_ms for k in arch_keys(random_archs[0], 64))
    assert single[0] == pytest.approx(1.2 * summed + 0.3)


def test_calibration_recovers_a_linear_relation() -> None:
    summed = np.array([1.0, 2.0, 4.0, 8.0])
    calib = fit_calibration(summed, 1.2 * summed + 0.5)
    assert calib.scale == pytest.approx(1.2) and calib.offset_ms == pytest.approx(0.5)
    assert calib.rmspe_after < 1e-9 < calib.rmspe_before
    with pytest.raises(LatencyError, match="at least 2"):
        fit_calibration([1.0], [1.0])


def test_madds_proxy_orders_references() -> None:
    proxy = MaddsLatency(224)
    assert proxy(REFERENCES["mobilenetv3-small"]) < proxy(REFERENCES["mobilenetv3-large"])
