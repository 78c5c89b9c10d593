"""Reading a run directory for the report: every file is optional and parsed safely (JSON, CSV,
`yaml.safe_load`); a file that exists but cannot be parsed raises `SourceError` naming it, which
the report turns into a note in that section instead of failing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from experiments.errors import RunDirError
from models.spec import ArchSpec, SpecError

CONFIG_FILE = "config.yaml"


class SourceError(ValueError):
    """A file of the run directory exists but cannot be parsed."""


@dataclass(frozen=True)
class Run:
    """A run directory opened for reporting: its root, plots folder and saved config (a mapping)."""

    root: Path
    config: dict[str, Any]

    @classmethod
    def open(cls, root: str | Path) -> Run:
        root = Path(root)
        path = root / CONFIG_FILE
        if not root.is_dir() or not path.is_file():
            raise RunDirError(f"{root} is not a run directory ({path} is missing); pass the folder that "
                              f"`hwnas run CONFIG` created, e.g. runs/demo")
        try:
            config = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise RunDirError(f"{path} is not valid YAML ({err}); it is not a run directory's saved config") from None
        if not isinstance(config, dict):
            raise RunDirError(f"{path} holds no mapping; it is not a run directory's saved config")
        return cls(root, config)

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    def has(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def json(self, rel: str) -> Any | None:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise SourceError(f"`{rel}` cannot be read as JSON: {err}") from None

    def csv(self, rel: str) -> pd.DataFrame | None:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (OSError, ValueError) as err:
            raise SourceError(f"`{rel}` cannot be read as CSV: {err}") from None

    def arch(self, rel: str) -> ArchSpec | None:
        path = self.root / rel
        if not path.is_file():
            return None
        try:
            return ArchSpec.load(path)
        except (OSError, SpecError, yaml.YAMLError) as err:
            raise SourceError(f"`{rel}` is not a valid architecture: {err}") from None

    def setting(self, *keys: str, default: Any = None) -> Any:
        """A value of the saved config by its path, e.g. setting('data', 'resolution')."""
        node: Any = self.config
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node


def require_columns(frame: pd.DataFrame, rel: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SourceError(f"`{rel}` has no column(s) {', '.join(missing)} (it has: {', '.join(map(str, frame.columns))})")
