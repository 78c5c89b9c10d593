"""Run directories and atomic writes: fresh / existing / resumed directories, manifest contents,
no partial file left when a write fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exp_helpers import write_config

from experiments.config.errors import RunDirError
from experiments.config.schema import load_config
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from models import atomic


def test_create_writes_config_and_manifest(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path))
    run = RunDir.create(cfg, command=["hwnas", "test"])
    assert run.root == tmp_path / "runs" / "t"
    manifest = json.loads(run.path("manifest.json").read_text())
    assert manifest["versions"]["torch"] and manifest["seeds"] == {"seed": 0}
    assert manifest["device"]["cpu_cores"] >= 1 and manifest["device"]["cpu_model"]
    assert "commit" in manifest["git"] and manifest["latency_table"] is None
    reopened = RunDir.open(run.root)
    assert reopened.config() == cfg and reopened == run


def test_existing_dir_needs_resume_and_same_config(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    RunDir.create(load_config(path))
    with pytest.raises(RunDirError, match="--resume"):
        RunDir.create(load_config(path))
    run = RunDir.create(load_config(path), resume=True, command=["again"])
    manifest = json.loads(run.path("manifest.json").read_text())
    assert [r["command"] for r in manifest["resumes"]] == [["again"]]
    with pytest.raises(RunDirError, match="train.lr: 0.1 -> 0.2"):
        RunDir.create(load_config(path, ["train.lr=0.2"]), resume=True)


def test_manifest_hashes_latency_table(tmp_path: Path) -> None:
    table = tmp_path / "lut.json"
    table.write_text('{"metadata": {}, "entries": {}}')
    cfg = load_config(write_config(tmp_path), [f"latency.table={table}"])
    manifest = json.loads(RunDir.create(cfg).path("manifest.json").read_text())
    assert len(manifest["latency_table"]["sha256"]) == 64


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    atomic.write_json(target, {"a": 1})

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic.write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_path_removes_temp_on_error(tmp_path: Path) -> None:
    target = tmp_path / "weights.pt"
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash mid-write")
    assert list(tmp_path.iterdir()) == []
    atomic.save_torch(target, {"w": 1})
    assert target.is_file() and list(tmp_path.iterdir()) == [target]


def test_resume_checks_the_layout_version(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    run = RunDir.create(load_config(path))
    manifest = json.loads(run.path("manifest.json").read_text())
    assert manifest["layout_version"] == layout.LAYOUT_VERSION
    del manifest["layout_version"]  # a run written before layout versions were recorded: same file names
    atomic.write_json(run.path("manifest.json"), manifest)
    RunDir.create(load_config(path), resume=True)
    manifest = json.loads(run.path("manifest.json").read_text())
    assert manifest["layout_version"] == layout.LAYOUT_VERSION
    atomic.write_json(run.path("manifest.json"), {**manifest, "layout_version": layout.LAYOUT_VERSION + 1})
    with pytest.raises(RunDirError, match="start a new run name"):
        RunDir.create(load_config(path), resume=True)


def test_open_refuses_what_is_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="is not a run directory"):
        RunDir.open(tmp_path)
    (tmp_path / "config.yaml").write_text("- a list\n")
    with pytest.raises(RunDirError, match="holds no mapping"):
        RunDir.open(tmp_path)
