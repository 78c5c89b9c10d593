"""Run directories: `<output_dir>/<name>/` with the resolved config and a manifest; every file in
it is written atomically (see `models.atomic`).

`RunDir.create(cfg)` makes a fresh directory and refuses an existing one unless `resume=True`; a
resumed run must have the same resolved config, so finished work stays valid, and its manifest keeps
the first start and lists every resume (command, git revision, device, latency-table hash).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from experiments.config import Config, validate_config
from experiments.errors import RunDirError
from experiments.manifest import build_manifest
from models import atomic

CONFIG_FILE = "config.yaml"
MANIFEST_FILE = "manifest.json"


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


@dataclass(frozen=True)
class RunDir:
    """A run directory; `path(...)` names files inside it, the write helpers are atomic."""

    root: Path

    @classmethod
    def create(cls, cfg: Config, resume: bool = False, command: list[str] | None = None) -> RunDir:
        """Create `<output_dir>/<name>/` (or reopen it with `resume`), writing config and manifest."""
        root = cfg.output_dir / cfg.name
        config_path = root / CONFIG_FILE
        if root.exists() and not resume:
            raise RunDirError(f"run directory {root} already exists; pass --resume to continue it, or pick "
                              f"another name (e.g. name={cfg.name}-2) or output_dir")
        if resume and config_path.is_file():
            saved = yaml.safe_load(config_path.read_text())
            diff = _differences(saved, cfg.model_dump(mode="json"))
            if diff:
                raise RunDirError(f"cannot resume {root}: the config differs from the saved {config_path}:\n  "
                                  + "\n  ".join(diff) + "\nresume with the same config, or start a new run name")
        run = cls(root)
        root.mkdir(parents=True, exist_ok=True)
        run.write_text(CONFIG_FILE, cfg.to_yaml())
        manifest = build_manifest(cfg, command)
        manifest_path = run.path(MANIFEST_FILE)
        if resume and manifest_path.is_file():
            first = json.loads(manifest_path.read_text())
            first.setdefault("resumes", []).append(
                {k: manifest[k] for k in ("created", "command", "git", "device", "latency_table")})
            manifest = first
        run.write_json(MANIFEST_FILE, manifest)
        return run

    @classmethod
    def open(cls, root: str | Path) -> tuple[RunDir, Config]:
        """An existing run directory and its saved config (not re-checked against the filesystem)."""
        root = Path(root)
        path = root / CONFIG_FILE
        if not path.is_file():
            raise RunDirError(f"{root} is not a run directory: {path} is missing")
        return cls(root), validate_config(yaml.safe_load(path.read_text()), str(path), check_files=False)

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def write_text(self, name: str, text: str) -> Path:
        atomic.write_text(self.path(name), text)
        return self.path(name)

    def read_json(self, *parts: str) -> Any:
        return json.loads(self.path(*parts).read_text())

    def write_json(self, name: str, obj: Any) -> Path:
        atomic.write_json(self.path(name), obj)
        return self.path(name)

    def write_yaml(self, name: str, obj: Any) -> Path:
        atomic.write_yaml(self.path(name), obj)
        return self.path(name)

    def save_torch(self, name: str, obj: Any) -> Path:
        atomic.save_torch(self.path(name), obj)
        return self.path(name)
