"""NetAdapt state on disk: one JSON file, written atomically (temp file, then rename), so a kill
at any moment leaves either the previous state or the new one, never half of either."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class StateError(ValueError):
    """The state file is missing or unreadable; the message says which file and what to do."""


def save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(path: Path) -> dict:
    try:
        state = json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise StateError(f"no NetAdapt state at {path}: start a run without --resume first") from err
    except (OSError, json.JSONDecodeError) as err:
        raise StateError(f"NetAdapt state {path} is unreadable ({err}); start a new run") from err
    if not isinstance(state, dict) or state.get("version") != 1:
        raise StateError(f"NetAdapt state {path} has an unknown format; start a new run")
    return state
