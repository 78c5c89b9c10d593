"""benchmarks/method_vs_baselines.py on tiny settings: the CSV's columns and rows, one row per
(method, seed), and a rerun that retrains nothing it finished. The fast test runs the multiplier
alone priced by MaddsLatency; the slow one runs two searched methods through the real hwnas commands
(Ray, a LiteRT table filled lazily at 32 px) and the live measure phase."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
import yaml
from benchmark_script import load_benchmark

from latency.predict import MaddsLatency

SPACE = """\
stem: stem_c16_hs
head: head_c96_h128_hs
choices:
  kernel: [3, 5]
  expand: [4, 6]
  se: [false, true]
  depth: [0]
  width: [1.0]
stages:
  - {out: 16, depth: 1, stride: 2, act: re, kernel: 3, expand: 4, se: false}
  - {out: 32, depth: 2, stride: 2, act: hs, kernel: 3, expand: 6, se: false}
"""


def tiny_config(tmp_path: Path, target_ratio: float = 0.7) -> Path:
    (tmp_path / "space.yaml").write_text(SPACE)
    doc: dict[str, Any] = {
        "benchmark": {"target_ratio": target_ratio, "search_slack": 1.3, "retrain_steps": 3, "seeds": 1,
                      "images_per_second": 100, "proposals_per_iteration": 4},
        "run": {"seed": 0,
                "data": {"kind": "embedded", "resolution": 32, "train_size": 128, "val_size": 32, "test_size": 32},
                "space": str(tmp_path / "space.yaml"),
                "train": {"steps": 3, "batch_size": 32, "eval_batch_size": 64, "torch_threads": 1,
                          "bn_recalibration_batches": 1},
                "search": {"reward": {"w": -0.15}, "children": 2, "controller": {"batch_size": 2},
                           "child_training": {"steps": 2, "batch_size": 32, "torch_threads": 1,
                                              "bn_recalibration_batches": 1}},
                "netadapt": {"delta_ratio": 0.1, "finetune_steps": 2, "final_steps": 2, "max_iterations": 2},
                "latency": {"source": "auto", "resolution": 32, "runs": 10, "live_span_s": 0, "live_max_span_s": 0},
                "ray": {"num_cpus": 2, "max_concurrent_trials": 2, "include_dashboard": False}},
    }
    path = tmp_path / "bench.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def counting(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every retraining the script starts."""
    calls: list[str] = []
    real = module.train_arch

    def train_arch(spec: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["desc"])
        return real(spec, *args, **kwargs)
    monkeypatch.setattr(module, "train_arch", train_arch)
    return calls


def test_multiplier_rows_columns_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmark("method_vs_baselines")
    calls = counting(module, monkeypatch)
    out, results = tmp_path / "out", tmp_path / "results"

    def bench(seeds: int) -> Any:
        b = module.load_bench("embedded", tiny_config(tmp_path), out, results, seeds, ["multiplier"])
        b.latency = MaddsLatency(224, num_classes=10)
        return b

    first = bench(1)
    first.find()
    first.train()
    frame = first.report("cmd")
    csv = pd.read_csv(results / "method_vs_baselines_embedded.csv")
    assert list(csv.columns) == list(module.COLUMNS)
    assert list(zip(csv.method, csv.seed)) == [("multiplier", 0)]
    assert (results / "method_vs_baselines_embedded.png").is_file()
    target = json.loads((out / "target.json").read_text())
    assert target["target_ms"] == pytest.approx(0.7 * target["v3small_table_ms"])
    row = frame.iloc[0]
    assert abs(row.table_latency_ms - row.target_ms) / row.target_ms < 0.1  # width matched on a 0.01 grid
    assert row.core_hours == pytest.approx(row.retrain_core_hours) and row.core_hours > 0
    assert row.search_core_hours == 0 and pd.isna(row.latency_ms)  # no search; not measured live yet
    assert calls == ["multiplier s0"]
    assert not first.measured()  # `all` times the finals found unless measure.json holds exactly them
    (out / "measure.json").write_text(json.dumps({"methods": {"multiplier": {"arch": "another", "median_ms": 1.0}}}))
    assert not first.measured()
    (out / "measure.json").write_text(json.dumps({"methods": {"multiplier": {"arch": row.arch, "median_ms": 1.0}}}))
    assert first.measured()

    again = bench(2)  # a rerun with one more seed trains only that seed
    again.find()
    again.train()
    again.report("cmd")
    assert calls == ["multiplier s0", "multiplier s1"]
    assert sorted(pd.read_csv(results / "method_vs_baselines_embedded.csv").seed) == [0, 1]
    bench(1).report("cmd")  # the report keeps every finished seed, whatever --seeds says now
    assert sorted(pd.read_csv(results / "method_vs_baselines_embedded.csv").seed) == [0, 1]


def test_stand_alone_searches_buy_the_images_of_the_one_shot_search(tmp_path: Path) -> None:
    """Random and TPE get the children whose training images match the one-shot search's (supernet
    steps x batch + its top_k stand-alone), rounded up; the controller's run keeps the one-shot strategy."""
    module = load_benchmark("method_vs_baselines")
    doc = yaml.safe_load(tiny_config(tmp_path).read_text())
    doc["run"]["search"] |= {"strategy": "one_shot", "one_shot": {"steps": 10, "batch_size": 16, "top_k": 2}}
    path = tmp_path / "one_shot.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    bench = module.load_bench("embedded", path, tmp_path / "out", tmp_path / "results", None)
    assert bench.child_images() == 2 * 32  # child_training: 2 steps of 32
    assert bench.standalone_children() == 5  # (10 x 16 + 2 x 64) / 64 = 4.5, rounded up
    random = bench.run_config("random_netadapt", "random", 1.0, 1.0)["search"]
    assert (random["strategy"], random["children"]) == ("standalone", 5)
    assert bench.run_config("pipeline", "reinforce", 1.0, 1.0)["search"]["strategy"] == "one_shot"


def test_unknown_method_exits_2(tmp_path: Path) -> None:
    module = load_benchmark("method_vs_baselines")
    with pytest.raises(SystemExit) as err:
        module.main(["--dataset", "embedded", "--config", str(tiny_config(tmp_path)), "--methods", "nope"])
    assert err.value.code == 2


@pytest.mark.slow
@pytest.mark.ray
def test_searched_methods_end_to_end_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmark("method_vs_baselines")
    calls = counting(module, monkeypatch)
    args = ["--dataset", "embedded", "--config", str(tiny_config(tmp_path, target_ratio=0.3)),
            "--out", str(tmp_path / "out"), "--results-dir", str(tmp_path / "results"),
            "--methods", "pipeline,search_only", "--min-time-s", "0.3", "--windows", "1", "--span-s", "0"]
    assert module.main(args) == 0  # one command: find, train, measure, report
    csv = pd.read_csv(tmp_path / "results" / "method_vs_baselines_embedded.csv")
    assert list(zip(csv.method, csv.seed)) == [("pipeline", 0), ("search_only", 0)]
    assert csv.latency_ms.notna().all() and (csv.search_core_hours > 0).all()
    assert csv.set_index("method").netadapt_core_hours["pipeline"] > 0
    assert csv.set_index("method").netadapt_core_hours["search_only"] == 0
    assert len(calls) == 2
    assert module.main(args) == 0  # resumed: nothing searched, retrained or timed again
    assert len(calls) == 2
    assert pd.read_csv(tmp_path / "results" / "method_vs_baselines_embedded.csv").equals(csv)
    assert module.main([*args, "--phase", "measure"]) == 0  # timed again on request
    assert pd.read_csv(tmp_path / "results" / "method_vs_baselines_embedded.csv").latency_ms.notna().all()
