"""Atomic file writes: write to a temporary file in the target's directory, fsync, `os.replace`.

A crash (or kill -9) leaves either the old file or the new one, never a half-written one. Every
file hwnas writes goes through these helpers (run outputs, latency tables, NetAdapt state, exported
models); `atomic_path` serves writers that want a path (pandas `to_csv`, `torch.save`, exporters).
It lives in `models`, the one room every other may import, so that there is a single implementation.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import yaml


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_yaml(path: str | Path, obj: Any) -> None:
    write_text(path, yaml.safe_dump(obj, sort_keys=False))


def save_torch(path: str | Path, obj: Any) -> None:
    """`torch.save` atomically (use it for `state_dict`s, never for whole modules)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
