"""NetAdapt state on disk: one JSON file, written atomically (temp file, then rename), so a kill
at any moment leaves either the previous state or the new one, never half of either."""

from __future__ import annotations

import json
from pathlib import Path

from models import atomic


class StateError(ValueError):
    """The state file is missing or unreadable; the message says which file and what to do."""


def save_state(path: Path, state: dict) -> None:
    atomic.write_json(path, state)


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
