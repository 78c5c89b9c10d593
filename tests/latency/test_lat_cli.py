"""`hwnas bench|export|latency`: bad input exits 2 with a clear message and overwrites nothing;
help texts carry examples; `bench --json` holds the documented keys."""

from __future__ import annotations

import json

import pytest
from latency_helpers import FAST, TINY_ARCH

from experiments.cli import main
from handmade import int8_conv_chain
from latency.calibration import fit_calibration
from latency.keys import arch_keys
from latency.stats import BenchResult
from latency.table import LatencyTable


def _table(path, fingerprint, keys) -> bytes:
    table = LatencyTable.create(path, fingerprint, 1000, FAST.to_dict())
    for key in keys:
        table.put(key, BenchResult(0.1, 0.1, 0.09, 0.11, 0.01, 50), 32)
    table.save()
    return path.read_bytes()


@pytest.mark.parametrize("argv", [["bench", "--help"], ["export", "--help"], ["latency", "build", "--help"],
                                  ["latency", "validate", "--help"], ["latency", "show", "--help"],
                                  ["latency", "calibrate", "--help"]])
def test_help_has_examples(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_bench_json_on_handmade_quantized_file(tmp_path, capsys) -> None:
    model = tmp_path / "int8.tflite"
    model.write_bytes(int8_conv_chain(size=8, channels=8, layers=1))
    assert main(["bench", str(model), "--json", "--warmup-s", "0", "--min-time-s", "0"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert {"median_ms", "p10_ms", "p90_ms", "runs"} <= set(record) and record["runs"] >= 50


def test_bench_bad_files_exit_2(tmp_path, capsys) -> None:
    assert main(["bench", str(tmp_path / "missing.tflite")]) == 2
    assert "does not exist" in capsys.readouterr().err
    junk = tmp_path / "notes.tflite"
    junk.write_text("hello")
    assert main(["bench", str(junk)]) == 2
    assert "not a TFLite flatbuffer" in capsys.readouterr().err


def test_show_corrupt_table_exits_2_and_keeps_file(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    data = _table(path, device, arch_keys(TINY_ARCH, 32, 1000))[:100]
    path.write_bytes(data)
    assert main(["latency", "show", str(path)]) == 2
    assert "corrupt or truncated" in capsys.readouterr().err
    assert path.read_bytes() == data


def test_show_prints_metadata_and_entries(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    _table(path, device, arch_keys(TINY_ARCH, 32, 1000))
    assert main(["latency", "show", str(path), "--entries", "2"]) == 0
    out = capsys.readouterr().out
    assert "4 entries" in out and "fingerprint" in out and out.count("median") == 2 and "windows" in out


def test_validate_foreign_table_exits_2(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    before = _table(path, dict(device, cpu="Other CPU"), arch_keys(TINY_ARCH, 32, 1000))
    assert main(["latency", "validate", str(path), "--resolution", "32", "--samples", "1",
                 "--out", str(tmp_path / "v")]) == 2
    assert "another device" in capsys.readouterr().err
    assert path.read_bytes() == before and not (tmp_path / "v").exists()


def test_validate_needs_a_calibration_and_the_keys(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    before = _table(path, device, arch_keys(TINY_ARCH, 32, 1000))
    argv = ["latency", "validate", str(path), "--resolution", "32", "--samples", "0", "--out", str(tmp_path / "v")]
    assert main(argv) == 2
    assert "no calibration at 32 px" in capsys.readouterr().err and path.read_bytes() == before
    table = LatencyTable.load(path)
    table.calibration["32"] = fit_calibration([1.0, 2.0], [1.1, 2.2], ["a", "b"]).to_dict()
    table.save()
    before = path.read_bytes()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "not in latency table" in err and "hwnas latency build" in err
    assert path.read_bytes() == before


def test_build_refuses_a_table_of_another_class_count(tmp_path, capsys, device) -> None:
    path = tmp_path / "t.json"
    before = _table(path, device, arch_keys(TINY_ARCH, 32, 1000))
    assert main(["latency", "build", "--out", str(path), "--classes", "10", "--resolution", "32"]) == 2
    assert "holds 1000-class heads, this build --classes 10" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_export_bad_arch_exits_2(tmp_path, capsys) -> None:
    assert main(["export", "not-a-net", "--format", "tflite", "--out", str(tmp_path / "x.tflite")]) == 2
    assert not (tmp_path / "x.tflite").exists()


class _FakeLive:
    """Whole-model 'runs': 1.1 x the table's summed prediction of a shared fake table."""

    def __init__(self, model) -> None:
        self.model = model
        self.timed: list = []

    def measure_many(self, specs):
        self.timed += list(specs)
        return [BenchResult(*(1.1 * self.model.summed_ms(s),) * 5, 10) for s in specs]


def test_calibrate_then_validate_on_disjoint_archs_beside_macs(tmp_path, capsys, device, monkeypatch) -> None:
    import experiments.commands.latency as cli
    from latency_helpers import FakeMeasurer
    from latency.predict import TableLatency

    path = tmp_path / "t.json"
    _table(path, device, [])
    lives: list[_FakeLive] = []

    def fake_live(phone, resolution, settings, classes):
        lives.append(_FakeLive(TableLatency(LatencyTable.load(path), resolution, FakeMeasurer())))
        return lives[-1]

    monkeypatch.setattr(cli, "live_for", fake_live)
    monkeypatch.setattr(cli, "measurer_for", lambda phone, settings, classes: FakeMeasurer())
    assert main(["latency", "calibrate", str(path), "--resolution", "32", "--samples", "4", "--seed", "100"]) == 0
    assert "ms = 1.1000 * summed" in capsys.readouterr().out
    calibrated = LatencyTable.load(path).calibration["32"]
    assert calibrated["scale"] == pytest.approx(1.1) and len(calibrated["archs"]) == 4
    argv = ["latency", "validate", str(path), "--resolution", "32", "--samples", "6", "--seed", "100", "--lazy-fill",
            "--out", str(tmp_path / "v"), "--json"]
    assert main(argv) == 0  # the same seed: the 4 calibration archs are held out, the references and 2 others stay
    summary = json.loads(capsys.readouterr().out)["32"]
    validated = {s.to_str() for s in lives[-1].timed}
    assert not validated & set(calibrated["archs"]) and summary["table"]["archs"] == 4
    assert summary["calibration_archs"] == 4 and summary["neighbours"]["pairs"] >= 3
    assert summary["table"]["within_5pct"]["value"] == 1.0 and summary["table"]["kendall_tau"] == pytest.approx(1.0)
    assert summary["table_uncalibrated"]["within_5pct"]["value"] == 0.0  # 1.1x off before calibration
    assert summary["neighbours"]["table"]["value"] == 1.0 and "within_10pct" in summary["macs_only"]
    assert (tmp_path / "v" / "fidelity_32.csv").is_file() and (tmp_path / "v" / "fidelity_32.png").is_file()
