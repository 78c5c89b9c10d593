"""NetAdapt state on disk: `NetAdaptState` as one JSON file with a format version, written
atomically (temp file, then rename), so a kill at any moment leaves either the previous state or
the new one, never half of either.

Format 2 is `dataclasses.asdict` of the records plus `"version": 2`, read back strictly (an
unknown or missing field is named). Format 1 (the raw dict of earlier versions) still loads:
its finished iterations become records without a control (format 1 fine-tuned none), and its
pending iteration, if any, is dropped, so that the iteration is proposed again under the current
rules (grid-priced widths, a control); a warning says so. Any other version is refused.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import types
import typing
from pathlib import Path
from typing import Any

from models import atomic
from netadapt.config import LoopConfig
from netadapt.records import Iteration, Kept, NetAdaptState, Proposed, SkipRecord, Trial

FORMAT_VERSION = 2
STATE_FILE = "state.json"  # inside the loop's work directory
log = logging.getLogger(__name__)


class StateError(ValueError):
    """The state file is missing or unreadable; the message says which file and what to do."""


def to_dict(state: NetAdaptState) -> dict[str, Any]:
    return {"version": FORMAT_VERSION, **_encode(state)}


def from_dict(data: Any, workdir: Path | None = None) -> NetAdaptState:
    """The state of a format 2 or 1 dict (format 1 needs `workdir`, the state file's folder, to
    name its proposals' weights); StateError for anything else."""
    if not isinstance(data, dict):
        raise StateError(f"a NetAdapt state is a JSON object, not {type(data).__name__}")
    version = data.get("version")
    if type(version) is not int or version not in (1, FORMAT_VERSION):
        raise StateError(f"NetAdapt state format version {version!r} is not one this hwnas reads (1 or "
                         f"{FORMAT_VERSION}): resume it with the hwnas that wrote it, or start a new run name")
    if version == 1:
        return _from_v1(data, workdir or Path("."))
    body = {k: v for k, v in data.items() if k != "version"}
    try:
        return _decode(NetAdaptState, body, "state")
    except ValueError as err:  # a record's own check (LoopConfig, status)
        raise StateError(str(err)) from None


def save_state(path: Path, state: NetAdaptState) -> None:
    """One line of compact JSON: the loop saves after every fine-tune, and the state grows with
    every iteration, so the C encoder (unavailable with `indent`) keeps saving cheap."""
    atomic.write_text(path, json.dumps(to_dict(state)) + "\n")


def load_state(path: Path) -> NetAdaptState:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as err:
        raise StateError(f"no NetAdapt state at {path}: start a run without --resume first") from err
    except (OSError, json.JSONDecodeError) as err:
        raise StateError(f"NetAdapt state {path} is unreadable ({err}); start a new run") from err
    try:
        return from_dict(data, Path(path).parent)
    except StateError as err:
        raise StateError(f"NetAdapt state {path}: {err}") from None


def _encode(value: Any) -> Any:
    """Records as JSON-ready dicts and lists (`dataclasses.asdict` without its deep copies)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _decode(hint: Any, value: Any, where: str) -> Any:
    """`value` (parsed JSON) as an instance of the type `hint`, strictly; StateError names `where`."""
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise StateError(f"{where}: expected an object, got {value!r}")
        hints = typing.get_type_hints(hint)
        fields = {f.name: f for f in dataclasses.fields(hint)}
        unknown = sorted(set(value) - set(fields))
        missing = [name for name, f in fields.items() if name not in value
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if unknown or missing:
            raise StateError(f"{where}: unknown fields {unknown}, missing fields {missing}")
        return hint(**{k: _decode(hints[k], v, f"{where}.{k}") for k, v in value.items()})
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise StateError(f"{where}: expected a list, got {value!r}")
        inner = typing.get_args(hint)[0]
        return tuple(_decode(inner, v, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and type(value) is hint:
        return value
    raise StateError(f"{where}: expected {getattr(hint, '__name__', hint)}, got {value!r}")


def _from_v1(data: dict[str, Any], workdir: Path) -> NetAdaptState:
    """A format 1 dict as a NetAdaptState (see the module docstring)."""
    try:
        c = data["config"]
        config = LoopConfig(target_ms=c["target_ms"], delta_ms=c["delta_ms"], delta_decay=c["decay"],
                            channel_divisor=c["divisor"], selection=c["rule"], max_iterations=c["max_iterations"],
                            seed=c["seed"], head_proposals=c["head"])
        rows = data["history"]
        cur = data["current"]
        seed_acc = rows[0]["acc_before"] if rows else cur["acc"]
        seed = Kept(data["seed"]["arch"], data["seed"]["weights"], data["seed"]["latency_ms"], seed_acc)
        current = Kept(cur["arch"], cur["weights"], cur["latency_ms"], cur["acc"])
        iterations = tuple(_iteration_v1(k, [r for r in rows if r["iteration"] == k], config, workdir)
                           for k in sorted({r["iteration"] for r in rows}))
        skipped = tuple(SkipRecord(s["iteration"], s["kind"], s["index"], s["reason"])
                        for s in data["skipped"] if s["iteration"] < len(iterations))
        state = NetAdaptState(config, seed, current, iterations, None, skipped, data["status"])
    except (KeyError, TypeError, ValueError) as err:
        raise StateError(f"format 1 state is incomplete or malformed ({type(err).__name__}: {err}); "
                         f"start a new run name") from None
    if data.get("pending") is not None:
        log.warning("NetAdapt state format 1: iteration %d was unfinished; it restarts under the current rules "
                    "(grid-priced widths and a control), its finished proposals are computed again", len(iterations))
    return state


def _iteration_v1(k: int, rows: list[dict[str, Any]], config: LoopConfig, workdir: Path) -> Iteration:
    proposals = tuple(
        Proposed(r["kind"], r["index"], r["width_before"], r["width_after"], r["latency_after"],
                 Trial(r["arch"], str(workdir / f"iter{k:03d}" / f"{r['kind']}{r['index']}.pt"), r["acc_after"],
                       r["duration_s"]))
        for r in rows)
    chosen = [f"{r['kind']}{r['index']}" for r in rows if r["chosen"]]
    return Iteration(k, config.delta_at(k), None, rows[0]["latency_before"], None, proposals,
                     chosen[0] if chosen else None)
