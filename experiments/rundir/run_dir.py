"""The run directory, `<output_dir>/<name>/`: the one class every phase, command and the report use.

`RunDir.create(cfg)` makes a fresh directory and refuses an existing one unless `resume=True`; a
resumed run must have the same resolved config (so finished work stays valid) and the same layout
version (`layout.LAYOUT_VERSION`, recorded in the manifest), and its manifest keeps the first start
and lists every resume (command, git revision, device, latency-table hash). `RunDir.open(root)`
opens an existing one, for the report and for commands that read a run.

Every write is atomic (see `models.atomic`). The optional readers (`json`, `csv`, `arch`) return
None for a missing file and raise `SourceError`, naming the file, for one that cannot be parsed;
nothing is unpickled (JSON, CSV, `yaml.safe_load`, `ArchSpec.load`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.config.errors import RunDirError
from experiments.config.schema import Config, validate_config
from experiments.rundir import layout
from experiments.rundir.manifest import build_manifest
from models import atomic
from models.spec import ArchSpec, SpecError


class SourceError(ValueError):
    """A file of the run directory exists but cannot be parsed."""


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def _check_layout(root: Path, manifest: dict[str, Any]) -> None:
    """A run written before layout versions were recorded has layout 1 (the file names are unchanged)."""
    version = manifest.get("layout_version", 1)
    if version != layout.LAYOUT_VERSION:
        raise RunDirError(f"cannot resume {root}: it was written with run-directory layout {version}, this hwnas "
                          f"writes layout {layout.LAYOUT_VERSION}; start a new run name (or resume it with the "
                          f"hwnas version that started it)")


@dataclass(frozen=True)
class RunDir:
    """A run directory; `path(...)` names files inside it, the write helpers are atomic."""

    root: Path

    @classmethod
    def create(cls, cfg: Config, resume: bool = False, command: list[str] | None = None) -> RunDir:
        """Create `<output_dir>/<name>/` (or reopen it with `resume`), writing config and manifest."""
        root = cfg.output_dir / cfg.name
        config_path = root / layout.CONFIG
        if root.exists() and not resume:
            raise RunDirError(f"run directory {root} already exists; pass --resume to continue it, or pick "
                              f"another name (e.g. name={cfg.name}-2) or output_dir")
        if resume and config_path.is_file():
            saved = yaml.safe_load(config_path.read_text())
            diff = _differences(saved, cfg.model_dump(mode="json"))
            if diff:
                raise RunDirError(f"cannot resume {root}: the config differs from the saved {config_path}:\n  "
                                  + "\n  ".join(diff) + "\nresume with the same config, or start a new run name")
        manifest_path = root / layout.MANIFEST
        first = json.loads(manifest_path.read_text()) if resume and manifest_path.is_file() else None
        if first is not None:
            _check_layout(root, first)
        run = cls(root)
        root.mkdir(parents=True, exist_ok=True)
        run.write_text(layout.CONFIG, cfg.to_yaml())
        manifest = {**build_manifest(cfg, command), "layout_version": layout.LAYOUT_VERSION}
        if first is not None:
            first.setdefault("resumes", []).append(
                {k: manifest[k] for k in ("created", "command", "git", "device", "latency_table")})
            first.setdefault("layout_version", layout.LAYOUT_VERSION)
            manifest = first
        run.write_json(layout.MANIFEST, manifest)
        return run

    @classmethod
    def open(cls, root: str | Path) -> RunDir:
        """An existing run directory; refused (naming what to pass) when it holds no saved config."""
        root = Path(root)
        path = root / layout.CONFIG
        if not root.is_dir() or not path.is_file():
            raise RunDirError(f"{root} is not a run directory ({path} is missing); pass the folder that "
                              f"`hwnas run CONFIG` created, e.g. runs/demo")
        run = cls(root)
        run.saved_config  # noqa: B018 - parse now, so a broken config.yaml is refused here
        return run

    @cached_property
    def saved_config(self) -> dict[str, Any]:
        """The saved config as a mapping (not checked against today's schema: the report reads old runs)."""
        path = self.path(layout.CONFIG)
        try:
            config = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise RunDirError(f"{path} is not valid YAML ({err}); it is not a run directory's saved config") from None
        if not isinstance(config, dict):
            raise RunDirError(f"{path} holds no mapping; it is not a run directory's saved config")
        return config

    def config(self) -> Config:
        """The saved config validated by the schema (files are not re-checked)."""
        return validate_config(self.saved_config, str(self.path(layout.CONFIG)), check_files=False)

    def setting(self, *keys: str, default: Any = None) -> Any:
        """A value of the saved config by its path, e.g. setting('data', 'resolution')."""
        node: Any = self.saved_config
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node

    # ---- paths and atomic writes -----------------------------------------------------------
    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def plots(self) -> Path:
        return self.path(layout.PLOTS_DIR)

    def write_text(self, name: str, text: str) -> Path:
        atomic.write_text(self.path(name), text)
        return self.path(name)

    def write_json(self, name: str, obj: Any) -> Path:
        atomic.write_json(self.path(name), obj)
        return self.path(name)

    def write_yaml(self, name: str, obj: Any) -> Path:
        atomic.write_yaml(self.path(name), obj)
        return self.path(name)

    def save_torch(self, name: str, obj: Any) -> Path:
        atomic.save_torch(self.path(name), obj)
        return self.path(name)

    # ---- readers -----------------------------------------------------------------------------
    def read_json(self, *parts: str) -> Any:
        """A JSON file that must exist (the caller knows it was written)."""
        return json.loads(self.path(*parts).read_text())

    def has(self, rel: str) -> bool:
        return self.path(rel).is_file()

    def json(self, rel: str) -> Any | None:
        path = self.path(rel)
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise SourceError(f"`{rel}` cannot be read as JSON: {err}") from None

    def csv(self, rel: str) -> pd.DataFrame | None:
        path = self.path(rel)
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (OSError, ValueError) as err:
            raise SourceError(f"`{rel}` cannot be read as CSV: {err}") from None

    def arch(self, rel: str) -> ArchSpec | None:
        path = self.path(rel)
        if not path.is_file():
            return None
        try:
            return ArchSpec.load(path)
        except (OSError, SpecError, yaml.YAMLError) as err:
            raise SourceError(f"`{rel}` is not a valid architecture: {err}") from None

    def is_complete(self, prefix: str) -> bool:
        """Whether the trained-model folder `prefix` holds arch, weights and (written last) metrics."""
        return all(self.has(layout.join(prefix, name)) for name in (layout.ARCH, layout.WEIGHTS, layout.METRICS))
