"""The table file: round trip with windows, corrupt/foreign/unknown files refused without being
overwritten, metadata checked against the run, concurrent writers merged, filling in one batch,
batch prediction and calibration."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest
from latency_helpers import FAST, FLOOR_MS, TINY_ARCH, FakeLive, FakeMeasurer, LoggedTimer

from latency.calibration import calibrate_from_runs, calibration_archs, fit_calibration
from latency.entry import Entry
from latency.errors import LatencyError
from latency.keys import arch_keys
from latency.metadata import RunSetting, check_table, table_problems
from latency.pieces import arch_pieces
from latency.predict import MaddsLatency, TableLatency
from latency.stats import BenchResult
from latency.table import LatencyTable
from models.references import REFERENCES

TINY_KEYS = arch_keys(TINY_ARCH, 32, 1000)


def _table(path, device, keys=(), classes: int = 1000) -> LatencyTable:
    table = LatencyTable.create(path, device, classes, FAST.to_dict())
    for i, key in enumerate(keys):
        table.put(key, Entry.from_windows([0.1 * (i + 1)] * 3, 0.0, 30), 32)
    table.save()
    return table


def test_round_trip_keeps_entries_windows_metadata_and_calibration(tmp_path, device) -> None:
    table = _table(tmp_path / "t.json", device, TINY_KEYS)
    table.put(TINY_KEYS[0], Entry.from_windows([0.30, 0.20, 0.25], 0.01, 60))
    table.calibration["32"] = fit_calibration([1, 2, 3], [1.2, 2.3, 3.4], ["a", "b", "c"]).to_dict()
    table.save()
    loaded = LatencyTable.load(tmp_path / "t.json", device=device)
    assert loaded.entries == table.entries
    entry = loaded.entries[TINY_KEYS[0]]
    assert entry.windows_ms == (0.30, 0.20, 0.25) and entry.median_ms == pytest.approx(0.24) and entry.load >= 0
    assert loaded.metadata["resolutions"] == [32] and loaded.calibration == table.calibration
    assert calibration_archs(loaded, 32) == {"a", "b", "c"} and calibration_archs(loaded, 64) == set()
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("damage", ["truncate", "not_json", "wrong_format", "bad_entry", "old_version"])
def test_damaged_tables_are_refused(tmp_path, device, damage) -> None:
    path = tmp_path / "t.json"
    _table(path, device, TINY_KEYS)
    text = path.read_text()
    data = json.loads(text)
    if damage == "truncate":
        text = text[: len(text) // 2]
    elif damage == "not_json":
        text = "\x00\x01binary"
    elif damage == "wrong_format":
        text = json.dumps({"hello": 1})
    elif damage == "bad_entry":
        data["entries"][next(iter(data["entries"]))]["windows_ms"] = "fast"
        text = json.dumps(data)
    else:
        data["version"] = 1
        text = json.dumps(data)
    path.write_text(text)
    with pytest.raises(LatencyError, match="latency table"):
        LatencyTable.load(path)
    assert path.read_text() == text


def test_foreign_table_is_refused_and_never_written_into(tmp_path, device) -> None:
    other = dict(device, cpu="Some Phone SoC", threads=4)
    path = tmp_path / "t.json"
    _table(path, other, TINY_KEYS[:1])
    before = path.read_bytes()
    with pytest.raises(LatencyError, match="another device.*cpu.*threads.*hwnas latency build --out NEW_TABLE"):
        LatencyTable.load(path, device=device)
    mine = LatencyTable.create(path, device, 1000, FAST.to_dict())  # a writer that did not load it first
    mine.put(TINY_KEYS[1], BenchResult(0.1, 0.1, 0.1, 0.1, 0.0, 5))
    with pytest.raises(LatencyError, match="on disk was measured on another device.*not writing into it"):
        mine.save()
    assert path.read_bytes() == before


def test_a_1000_class_table_is_refused_by_a_10_class_run(tmp_path, device) -> None:
    table = _table(tmp_path / "t.json", device, TINY_KEYS, classes=1000)
    with pytest.raises(LatencyError) as err:
        check_table(table, RunSetting(10, 32), device=device, space="mnv3-small")
    message = str(err.value)
    assert "classes: table 1000, run 10" in message
    assert "hwnas latency build --space mnv3-small --classes 10 --resolution 32 --threads 1 --dtype float32" in message
    check_table(table, RunSetting(1000, 32), device=device)  # the right run accepts it


def test_every_metadata_mismatch_is_named(tmp_path, device) -> None:
    table = _table(tmp_path / "t.json", device, TINY_KEYS)
    run = RunSetting(1000, 224, threads=2, dtype="int8", backend="adb")
    problems = " | ".join(table_problems(table, run, device=dict(device, converter="litert-torch 9")))
    for part in ("resolution: table has [32], run 224", "threads: table 1, run 2", "dtype: table 'float32', run "
                 "'int8'", "backend: table timed with", "converter: table"):
        assert part in problems
    assert table_problems(table, RunSetting(1000, 224), lazy_fill=True) == []


def _writer(path: str, fingerprint: dict, keys: list[str], value: float) -> None:
    for key in keys:
        table = LatencyTable.load(path) if Path(path).exists() else LatencyTable.create(path, fingerprint, 1000, {})
        table.put(key, Entry.from_windows([value] * 3, 0.0, 30), 32)
        table.save()


def test_two_writer_processes_lose_nothing(tmp_path, device) -> None:
    path = str(tmp_path / "t.json")
    keys = [f"b|{s}|8|ir_k3_m16_c8_s1_re" for s in range(3, 43)]
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, device, keys[i::2], 0.1 * (i + 1))) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    table = LatencyTable.load(path, device=device)
    assert set(table.entries) == set(keys)
    assert {round(table.entries[k].median_ms, 3) for k in keys[::2]} == {0.1}


def test_missing_file_names_the_build_command(tmp_path) -> None:
    with pytest.raises(LatencyError, match="hwnas latency build"):
        LatencyTable.load(tmp_path / "none.json")


def test_missing_key_without_a_measurer_names_the_command(tmp_path, device) -> None:
    path = tmp_path / "t.json"
    _table(path, device, TINY_KEYS[:2])
    before = path.read_bytes()
    with pytest.raises(LatencyError, match="hwnas latency build .*--resolution 32 --classes 1000"):
        TableLatency(LatencyTable.load(path), 32)(TINY_ARCH)
    assert path.read_bytes() == before


def test_fill_measures_a_batch_once_net_of_the_floor_and_records_it(tmp_path, device, random_archs) -> None:
    path = tmp_path / "t.json"
    _table(path, device, TINY_KEYS[:2])
    measurer = FakeMeasurer()
    model = TableLatency(LatencyTable.load(path), 32, measurer)
    report = model.fill_archs([TINY_ARCH, *random_archs[:3]])
    wanted = {k for a in [TINY_ARCH, *random_archs[:3]] for k in arch_keys(a, 32, 1000)}
    assert report.measured == len(wanted) - 2 == len(measurer.calls) and report.windows == 3 * report.measured
    first = model(TINY_ARCH)
    assert model(TINY_ARCH) == first and len(measurer.calls) == report.measured  # nothing timed twice
    saved = LatencyTable.load(path)
    entry = saved.entries[TINY_KEYS[2]]
    assert entry.windows_ms == (0.08,) * 3 and entry.median_ms == pytest.approx(0.08 - FLOOR_MS)  # 8 channels in
    assert saved.metadata["floor_ms"] == FLOOR_MS
    [batch] = saved.metadata["batches"]
    assert batch["keys"] == report.measured and len(batch["canary_ms"]) == 3 and batch["load"] >= 0
    summed = sum(saved.entries[k].median_ms for k in TINY_KEYS) + FLOOR_MS  # the floor once per model
    assert first == pytest.approx(summed)


def test_fill_refuses_heads_of_another_class_count(tmp_path, device) -> None:
    model = TableLatency(_table(tmp_path / "t.json", device), 32, FakeMeasurer())
    with pytest.raises(LatencyError, match="10 classes.*1000-class heads.*--classes 10"):
        model.fill(arch_keys(TINY_ARCH, 32, 10))


def test_batch_prediction_equals_per_arch_prediction(tmp_path, device, random_archs) -> None:
    keys = sorted({k for a in random_archs for k in arch_keys(a, 64, 1000)})
    table = _table(tmp_path / "t.json", device, keys)
    table.metadata["floor_ms"] = 0.002
    table.calibration["64"] = {"scale": 1.2, "offset_ms": 0.3, "samples": 3, "rmspe_before": 1, "rmspe_after": 0}
    model = TableLatency(table, 64)
    single = np.array([model(a) for a in random_archs])
    np.testing.assert_allclose(model.predict_batch(random_archs), single, rtol=1e-12)
    ids = model.encode([arch_keys(a, 64, 1000) for a in random_archs])
    np.testing.assert_allclose(model.predict_ids(ids), single, rtol=1e-12)
    summed = sum(table.entries[k].median_ms for k in arch_keys(random_archs[0], 64, 1000)) + 0.002
    assert single[0] == pytest.approx(1.2 * summed + 0.3)


def test_calibration_recovers_a_linear_relation() -> None:
    summed = np.array([1.0, 2.0, 4.0, 8.0])
    calib = fit_calibration(summed, 1.2 * summed + 0.5)
    assert calib.scale == pytest.approx(1.2) and calib.offset_ms == pytest.approx(0.5)
    assert calib.rmspe_after < 1e-9 < calib.rmspe_before
    assert fit_calibration([2.0], [3.0]).scale == pytest.approx(1.5)  # one arch: a scale only
    # the live runs of a demo (noisy): affine would be 2.17 x summed - 1.53, 0.3 ms for a 0.85 ms sum
    steep = fit_calibration([2.697, 1.616, 5.25, 6.396, 3.354], [4.6, 2.0, 9.9, 12.4, 5.6])
    assert steep.offset_ms == 0.0 and 1.5 < steep.scale < 2.1 and steep.apply(0.85) > 1.2
    # a seed and its x0.9 / x0.75 narrowings timed on a noisy host, the narrowest slowest: affine would be
    # -0.15 x summed + 0.033 ms (a narrower model priced slower); a scale only keeps the table's order
    summed = np.array([0.0467, 0.0362, 0.0330])
    flat = fit_calibration(summed, [0.026503, 0.026526, 0.028838])
    assert flat.offset_ms == 0.0 and 0.6 < flat.scale < 0.8
    assert np.all(np.diff(flat.apply(summed)) < 0)
    with pytest.raises(LatencyError, match="at least 1"):
        fit_calibration([], [])


def test_calibrate_from_runs_stores_the_archs_it_was_fitted_on(tmp_path, device, random_archs) -> None:
    table = _table(tmp_path / "t.json", device)
    model = TableLatency(table, 32, FakeMeasurer())
    specs = random_archs[:4]
    calib = calibrate_from_runs(table, 32, specs, model.summed_ms, lambda s: [1.1 * model.summed_ms(a) for a in s])
    assert calib.scale == pytest.approx(1.1) and calib.samples == 4
    saved = LatencyTable.load(tmp_path / "t.json")
    assert calibration_archs(saved, 32) == {s.to_str() for s in specs}
    assert TableLatency(saved, 32)(specs[0]) == pytest.approx(1.1 * model.summed_ms(specs[0]))


def test_madds_proxy_orders_references() -> None:
    proxy = MaddsLatency(224)
    assert proxy(REFERENCES["mobilenetv3-small"]) < proxy(REFERENCES["mobilenetv3-large"])


def test_a_run_calibrates_once_and_reuses_the_tables_calibration(tmp_path, device, random_archs) -> None:
    table = _table(tmp_path / "t.json", device)
    model = TableLatency(table, 32, FakeMeasurer())
    lives: list[FakeLive] = []

    def live() -> FakeLive:
        lives.append(FakeLive(lambda s: 0.9 * model.summed_ms(s)))
        return lives[-1]

    calib = model.calibrate(random_archs[:3], live())
    assert calib.scale == pytest.approx(0.9) and model(random_archs[5]) == pytest.approx(0.9 * model.summed_ms(
        random_archs[5]))
    reloaded = TableLatency(LatencyTable.load(tmp_path / "t.json"), 32, FakeMeasurer())
    assert reloaded.calibrate(random_archs[3:6], live()).archs == calib.archs and not lives[-1].log  # reused
    assert reloaded.calibrate(random_archs[3:6], live(), refit=True).archs != calib.archs and lives[-1].results


def test_calibration_times_whole_models_in_the_rounds_of_their_pieces(tmp_path, device, random_archs) -> None:
    """Pieces and whole models are measured in the same minutes, so a slow mode of the machine lands
    on both sides of the fit alike."""
    table = _table(tmp_path / "t.json", device)
    measurer = FakeMeasurer()
    log: list = []
    live = FakeLive(lambda s: 1.2 * sum(0.01 * p.in_channels for p in arch_pieces(s, 32, 1000)), log)
    original = measurer.timer
    measurer.timer = lambda piece: LoggedTimer(original(piece).ms, log, ("piece", piece))
    model = TableLatency(table, 32, measurer)
    specs = random_archs[:3]
    calib = model.calibrate(specs, live)
    assert not live.timed_here  # every whole model was timed in the pieces' round robin
    for spec in specs:
        at = [i for i, entry in enumerate(log) if entry == ("whole", spec)]
        assert len(at) >= FAST.windows
        assert all(any(k == "piece" for k, _ in log[a:b]) for a, b in zip(at, at[1:]))  # pieces between its windows
    assert calib.archs == tuple(s.to_str() for s in specs) and len(calib.measured_ms) == 3
    assert not table.missing([k for s in specs for k in model.keys(s)])

