"""Runs with `latency.backend: adb`: the config's phone fields, a phone table filled lazily on the
phone through experiments.rundir.latency_source, live whole-model timing on the phone (also of NetAdapt's
final model), and another phone's table refused."""

from __future__ import annotations

import pytest
import torch
from adb_fake_helpers import (
    bench_calls,
    calls,
    host_binary,
    install_fake_adb,
    preinstall_binary,
)
from latency_helpers import TINY_ARCH

from experiments.config.errors import ConfigError
from experiments.config.schema import load_config
from experiments.rundir.latency_source import (
    calibration_facts,
    calibration_set,
    latency_model,
)
from latency.adb_measure import AdbLiveLatency, Phone, phone_settings
from latency.errors import LatencyError
from latency.keys import arch_keys
from latency.predict import TableLatency
from latency.stats import BenchResult
from latency.table import LatencyTable
from models import build_model
from models.spec import ArchSpec

DEMO = "experiments/configs/demo.yaml"
TINY_CALIBRATION = ("stem_c8_hs-ir_k3_m16_c8_s2_re-head_c16_h32_hs", "stem_c8_hs-ir_k5_m24_c16_s2_hs-head_c16_h32_hs")


@pytest.fixture
def phone(tmp_path, monkeypatch):
    return install_fake_adb(tmp_path, monkeypatch)


def _config(root, *overrides: str):
    return load_config(DEMO, ["latency.backend=adb", f"latency.adb_benchmark_binary={host_binary(root)}",
                              "latency.adb_cores=[6]", *overrides])



@pytest.mark.parametrize(("overrides", "message"), [
    (["latency.adb_cores=[4]"], "latency.adb_cores: got [4]; applies to backend adb only"),
    (["latency.adb_serial=X"], "latency.adb_serial: got 'X'; applies to backend adb only"),
    (["latency.backend=adb", "latency.adb_cores=[]"], "latency.adb_cores: got []; must list distinct core numbers"),
    (["latency.backend=adb", "latency.adb_cores=[1, 1]"], "must list distinct core numbers"),
    (["latency.backend=adb", "latency.adb_benchmark_binary=/no/benchmark_model"],
     "latency.adb_benchmark_binary: got '/no/benchmark_model'; does not exist on this machine"),
])
def test_config_checks_the_phone_fields(overrides, message) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(DEMO, overrides)
    assert message in str(err.value)


def _fingerprint(root) -> dict:
    """The fake phone's fingerprint with the same benchmark_model as --benchmark-binary pushes."""
    preinstall_binary(root)
    return Phone.connect(cores=[6]).fingerprint(threads=1, xnnpack=True)


def _phone_table(path, fingerprint, keys) -> None:
    table = LatencyTable.create(path, fingerprint, 10, phone_settings().to_dict())
    for key in keys:
        table.put(key, BenchResult(0.5, 0.5, 0.4, 0.6, 0.05, 50), 32)
    table.save()


def test_table_source_fills_missing_keys_on_the_phone(phone, tmp_path) -> None:
    path = tmp_path / "phone.json"
    cfg = _config(phone, "latency.source=table", f"latency.table={path}", "latency.lazy_fill=true",
                  "latency.calibrate=false")
    fingerprint = _fingerprint(phone)
    keys = arch_keys(TINY_ARCH, 32, 10)
    _phone_table(path, fingerprint, keys[:-1])
    model = latency_model(cfg, None, 10)
    assert isinstance(model, TableLatency)
    ms = model(TINY_ARCH)
    commands = bench_calls(phone)  # 3 rounds of: the invoke floor, the drift canary, the missing key
    assert len(commands) == 9
    assert all(c.startswith("taskset 40 /data/local/tmp/benchmark_model --graph=/data/local/tmp/hwnas_model.tflite")
               for c in commands)
    saved = LatencyTable.load(path, device=fingerprint)
    entry = saved.entries[keys[-1]]
    assert len(entry.windows_ms) == 3 and entry.median_ms == pytest.approx(entry.windows_ms[0] - entry.floor_ms)
    assert ms == pytest.approx(0.5 * (len(keys) - 1) + entry.median_ms + saved.metadata["floor_ms"])
    assert ["push", str(phone / "benchmark_model"), "/data/local/tmp/benchmark_model"] in calls(phone)


def test_a_run_calibrates_its_phone_table_on_whole_models_timed_on_the_phone(phone, tmp_path, monkeypatch) -> None:
    import experiments.rundir.latency_source as source

    path = tmp_path / "phone.json"
    cfg = _config(phone, "latency.source=table", f"latency.table={path}", "latency.runs=7",
                  "latency.live_span_s=0", "latency.live_max_span_s=0")  # the fewest windows, to count them
    assert len(calibration_set(cfg.space, cfg.seed, 32, 10)) == 5  # the seed arch, narrowed, 3 random ones near it
    specs = [TINY_ARCH, *(ArchSpec.from_str(a) for a in TINY_CALIBRATION)]  # tiny: whole-model conversions are slow
    monkeypatch.setattr(source, "calibration_set", lambda *args: specs)
    _phone_table(path, _fingerprint(phone), {k for s in specs for k in arch_keys(s, 32, 10)})
    model = latency_model(cfg, None, 10, log=lambda line: None)
    assert isinstance(model, TableLatency) and model.calibration is not None
    assert model.quiet_workers == cfg.ray.num_cpus == 2  # quiet batches convert on every core of the run
    commands = bench_calls(phone)  # every piece was in the table: only whole models, 3 windows each, on the phone
    assert len(commands) == 3 * len(specs) and all(c.startswith("taskset 40 ") and "--num_runs=7" in c
                                                   for c in commands)
    saved = LatencyTable.load(path).calibration["32"]
    assert saved["archs"] == [s.to_str() for s in specs] and len(saved["measured_ms"]) == len(specs) >= 3
    facts = calibration_facts(model)
    assert facts["latency_calibrated"] is True and facts["calibration_archs"] == len(specs)
    assert facts["calibration_scale"] == model.calibration.scale
    assert model(specs[0]) == pytest.approx(model.calibration.apply(model.summed_ms(specs[0])))

    again = latency_model(cfg, None, 10, log=lambda line: None)  # the table's own calibration: reused
    assert len(bench_calls(phone)) == len(commands) and again.calibration == model.calibration
    trusted = latency_model(_config(phone, "latency.source=table", f"latency.table={path}", "latency.calibrate=false"),
                            None, 10, log=lambda line: None)
    assert trusted.calibration is None and calibration_facts(trusted)["latency_calibrated"] is False
    assert trusted(specs[0]) == pytest.approx(model.summed_ms(specs[0]))


def test_the_calibration_set_lies_where_the_run_decides() -> None:
    from models.counting import count_madds
    from netadapt.proposals import narrowed

    archs = calibration_set("mnv3-small-blocks", 0, 224, 10)
    seed = archs[0]
    assert len(set(archs)) == len(archs) == 5 and archs[1] == narrowed(seed, 0.75)
    ratios = [count_madds(a, 224, 10) / count_madds(seed, 224, 10) for a in archs[2:]]
    assert all(0.6 < r < 1.6 for r in ratios), ratios  # random archs of this space run 2-9x the seed's latency
    assert calibration_set("mnv3-small-blocks", 0, 224, 10) == archs  # the same set for the same seed
    from models.references import REFERENCES

    shrunk = REFERENCES["mobilenetv3-small"]  # a run that knows the arch NetAdapt shrinks centres on it
    around = calibration_set("mnv3-small-blocks", 0, 224, 10, around=shrunk)
    assert around[:2] == [shrunk, narrowed(shrunk, 0.75)] and around[2:] != archs[2:]


def test_another_phones_table_is_refused(phone, tmp_path) -> None:
    path = tmp_path / "phone.json"
    cfg = _config(phone, "latency.source=table", f"latency.table={path}")
    other = dict(_fingerprint(phone), device="Samsung SM-G991B")
    _phone_table(path, other, arch_keys(TINY_ARCH, 32, 10))
    before = path.read_bytes()
    with pytest.raises(LatencyError, match="another device or setting.*device: table 'Samsung SM-G991B', "
                                           "device 'Google Pixel 1'"):
        latency_model(cfg, None, 10)
    assert path.read_bytes() == before and bench_calls(phone) == []


def test_live_source_times_whole_models_on_the_phone(phone) -> None:
    cfg = _config(phone, "latency.source=live", "latency.runs=60", "latency.threads=2")
    model = latency_model(cfg, None, 10)
    assert isinstance(model, AdbLiveLatency)
    assert model(TINY_ARCH) > 0
    commands = bench_calls(phone)  # three windows
    assert len(commands) == 3
    assert all(c.startswith("taskset 40 ") and "--num_runs=60" in c and "--num_threads=2" in c for c in commands)


def test_final_models_live_latency_is_timed_on_the_phone(phone, tmp_path) -> None:
    from experiments.phases.netadapt import _live_bench
    from experiments.rundir.layout import FINAL_WEIGHTS
    from experiments.rundir.run_dir import RunDir

    weights = tmp_path / FINAL_WEIGHTS
    weights.parent.mkdir()
    torch.save(build_model(TINY_ARCH, num_classes=10).state_dict(), weights)
    cfg = _config(phone, "latency.source=live", "latency.live_span_s=2", "latency.live_max_span_s=0")
    record = _live_bench(cfg, RunDir(tmp_path), 10, TINY_ARCH, ArchSpec.from_str(TINY_CALIBRATION[0]))
    assert record["backend"] == "adb" and record["resolution"] == 32 and record["median_ms"] > 0
    assert record["span_s"] == 2 and record["runs"] > 0 and record["seed_median_ms"] > 0
    assert record["max_span_s"] == 0 and record["seconds"] >= 2 and isinstance(record["settled"], bool)
    commands = bench_calls(phone)  # the final model and the seed, windows spread over the span
    assert len(commands) >= 6 and all(c.startswith("taskset 40 ") and "--min_secs=0.333" in c for c in commands)
