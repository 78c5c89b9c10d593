"""Config schema: malformed configs exit 2 from `hwnas validate` and `hwnas run`, naming the YAML path,
with no run directory made; overrides; shipped configs validate; the resolved config round-trips."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from exp_helpers import BASE, write_config

from experiments.cli import main
from experiments.config.errors import ConfigError
from experiments.config.overrides import apply_overrides, parse_override
from experiments.config.schema import Config, load_config, validate_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "experiments" / "configs"
Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = cfg
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return mutate


def _drop(path: str) -> Mutation:
    def mutate(cfg: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = cfg
        for key in parents:
            node = node[key]
        del node[last]
    return mutate


MALFORMED: list[tuple[str, Mutation, str]] = [
    ("typo top-level key", _set("sed", 1), "sed"),
    ("typo nested key", _set("search.reward.wt", -0.1), "search.reward.wt"),
    ("wrong type", _set("seed", "abc"), "seed"),
    ("negative target latency", _set("search.reward.target_ms", -3.0), "search.reward.target_ms"),
    ("positive w", _set("search.reward.w", 0.07), "search.reward.w"),
    ("missing dataset path", lambda c: c["data"].update(kind="imagefolder", path="/nonexistent/images"),
     "data.path"),
    ("dataset path not given", _set("data.kind", "cifar10"), "data.path"),
    ("unknown space name", _set("space", "mnv9-tiny"), "space"),
    ("unknown backend", _set("latency.backend", "tpu"), "latency.backend"),
    ("backend a run cannot time with", _set("latency.backend", "onnxruntime"), "latency.backend"),
    ("zero budget", _set("search.children", 0), "search.children"),
    ("unknown data kind", _set("data.kind", "imagenet"), "data.kind"),
    ("resolution not an int", _set("data.resolution", "big"), "data.resolution"),
    ("two training budgets", _set("train.epochs", 3), "train.steps"),
    ("netadapt target ratio above 1", _set("netadapt.target_ratio", 1.5), "netadapt.target_ratio"),
    ("zero delta", _set("netadapt.delta_ratio", 0.0), "netadapt.delta_ratio"),
    ("bad ray address", _set("ray.address", "not an address"), "ray.address"),
    ("zero concurrency", _set("ray.max_concurrent_trials", 0), "ray.max_concurrent_trials"),
    ("unknown export format", _set("export.formats", ["pdf"]), "export.formats[0]"),
    ("zero threads", _set("latency.threads", 0), "latency.threads"),
    ("unknown optimizer", _set("train.optimizer", "adam"), "train.optimizer"),
    ("run name with a slash", _set("name", "a/b"), "name"),
    ("missing latency target", _drop("search.reward.target_ms"), "search.reward.target_ms"),
    ("unknown search algorithm", _set("search.algorithm", "a3c"), "search.algorithm"),
    ("unknown selection rule", _set("netadapt.selection", "greedy"), "netadapt.selection"),
    ("table source without table", _set("latency.source", "table"), "latency.table"),
    ("unknown failed-child treatment", _set("search.failed_child", "retry"), "search.failed_child"),
]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("label,mutate,yaml_path", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, label: str,
                                  mutate: Mutation, yaml_path: str) -> None:
    data = copy.deepcopy(BASE)
    mutate(data)
    path = write_config(tmp_path, data)
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert f"  {yaml_path}:" in err, err
    assert not (tmp_path / "runs").exists()


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["search"]["reward"]["w"] = 0.5
    data["latency"] = {"backend": "tpu", "thread": 2}
    data["space"] = "nope"
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, data))
    text = str(info.value)
    assert "4 problems" in text
    for where in ("search.reward.w: got 0.5", "latency.backend: got 'tpu'", "latency.thread: unknown key",
                  "did you mean 'threads'", "space: got 'nope'"):
        assert where in text


def test_subprocess_validate_and_run_exit_2(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["search"]["reward"]["w"] = 0.07
    path = write_config(tmp_path, data)
    for command in ("validate", "run"):
        done = subprocess.run([sys.executable, "-m", "experiments.cli", command, str(path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "search.reward.w: got 0.07" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_validate_valid_config_with_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write_config(tmp_path)), "data.train_size=120", "--print"]) == 0
    out = capsys.readouterr().out
    assert "120 train / 50 val / 50 test" in out
    assert yaml.safe_load(out.split("\n" + str(tmp_path / "config.yaml"))[0])["data"]["train_size"] == 120


def test_bad_override_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(write_config(tmp_path)), "search.reward=3"]) == 2
    assert "search.reward" in capsys.readouterr().err
    assert main(["validate", str(write_config(tmp_path)), "noequals"]) == 2


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "absent.yaml")]) == 2
    assert "absent.yaml" in capsys.readouterr().err


def test_parse_override_types() -> None:
    assert parse_override("search.reward.w=-0.15") == (["search", "reward", "w"], -0.15)
    assert parse_override("ray.address=null") == (["ray", "address"], None)
    assert parse_override("export.formats=[onnx]") == (["export", "formats"], ["onnx"])
    assert parse_override("data.augment=false") == (["data", "augment"], False)
    assert parse_override("name=run-2") == (["name"], "run-2")
    with pytest.raises(ValueError, match="key=value"):
        parse_override("search..w=1")


def test_apply_overrides_reports_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides({"seed": 1}, ["seed.x=1", "bad", "a.b=[unclosed"], "cfg")
    assert len(info.value.problems) == 3


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.search is not None, "every shipped config holds a search section"


def test_shipped_configs_exist() -> None:
    names = {p.name for p in CONFIG_DIR.glob("*.yaml")}
    assert {"demo.yaml", "search-small.yaml"} <= names


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path))
    again = validate_config(yaml.safe_load(cfg.to_yaml()))
    assert again == cfg
    assert again.latency.resolution == cfg.data.resolution == 32


def test_defaults_are_the_published_values() -> None:
    cfg = Config.model_validate({"name": "x", "search": {"reward": {"target_ms": 2.0}}})
    assert cfg.search is not None
    assert cfg.search.reward.w == -0.07 and cfg.search.reward.beta == -0.10
    assert cfg.ray.dashboard_host == "127.0.0.1" and cfg.latency.threads == 1
    assert cfg.netadapt is None
    na = Config.model_validate({"name": "x", "netadapt": {"target_ms": 3.0}}).netadapt
    assert na is not None and na.delta_ratio == 0.01 and na.channel_divisor == 8


def _table(path: Path, threads: int, runtime: str, resolutions: list[int], classes: int = 10) -> Path:
    from latency.table import LatencyTable

    table = LatencyTable.create(path, {"cpu": "x", "cores": 2, "runtime": runtime, "threads": threads,
                                       "xnnpack": True, "dtype": "float32"}, classes, {})
    table.metadata["resolutions"] = resolutions
    table.save()
    return path


def test_validate_checks_latency_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _table(tmp_path / "good.json", 1, "ai-edge-litert 2.3.0", [32])
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={good}"]) == 0
    bad = _table(tmp_path / "bad.json", 2, "onnxruntime 1.20", [224])
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={bad}", "latency.lazy_fill=false"]) == 2
    err = capsys.readouterr().err
    for where in ("latency.threads: got 1", "latency.backend: got 'litert'", "latency.resolution: got 32"):
        assert where in err
    imagenet = _table(tmp_path / "imagenet.json", 1, "ai-edge-litert 2.3.0", [32], classes=1000)
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={imagenet}"]) == 2
    err = capsys.readouterr().err
    assert "classes: table 1000, run 10" in err and "hwnas latency build" in err and "--classes 10" in err
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={good}", "latency.dtype=int8"]) == 2
    assert "dtype: table 'float32', run 'int8'" in capsys.readouterr().err
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={junk}"]) == 2
    assert "latency.table:" in capsys.readouterr().err


def test_latency_table_check_is_a_seam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.config import checks

    good = _table(tmp_path / "good.json", 1, "ai-edge-litert 2.3.0", [32])
    monkeypatch.setattr(checks, "LATENCY_TABLE_CHECKS",
                        [*checks.LATENCY_TABLE_CHECKS, lambda path, cfg: [f"latency.table: {path.name} vetoed"]])
    assert main(["validate", str(write_config(tmp_path)), f"latency.table={good}"]) == 2
    assert "good.json vetoed" in capsys.readouterr().err


def test_run_needs_search_and_netadapt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(BASE)
    del data["netadapt"]
    assert main(["run", str(write_config(tmp_path, data))]) == 2
    assert "  netadapt: missing" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cuda_without_gpu_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is visible")
    assert main(["validate", str(write_config(tmp_path)), "train.device=cuda"]) == 2
    assert "train.device: got 'cuda'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "netadapt"])
def test_a_command_refuses_a_config_without_its_section(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "experiments/configs/search-small.yaml"]) == 2
    assert f"netadapt: missing; `hwnas {command}` needs a netadapt section" in capsys.readouterr().err
