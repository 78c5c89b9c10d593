"""`manifest.json`: what produced a run (package versions, git revision, seeds, device fingerprint,
latency-table hash), so a result can be traced and a timing compared only with its own device."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from experiments.config.schema import Config
from latency.fingerprint import cpu_model

PACKAGES = ("hwnas", "torch", "numpy", "pydantic", "ray", "ai-edge-litert", "litert-torch", "onnx",
            "onnxruntime", "pandas", "pillow", "pyyaml")
REPO_ROOT = Path(__file__).resolve().parents[2]


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(root: Path = REPO_ROOT) -> dict[str, Any]:
    """HEAD commit and whether tracked files differ from it; nulls outside a git checkout."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def device_fingerprint() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "hostname": platform.node(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(cfg: Config, command: list[str] | None = None) -> dict[str, Any]:
    table = cfg.latency.table
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": command if command is not None else sys.argv,
        "versions": package_versions(),
        "git": git_revision(),
        "seeds": {"seed": cfg.seed},
        "device": device_fingerprint(),
        "latency_table": ({"path": str(table), "sha256": file_sha256(table)}
                          if table is not None and table.is_file() else None),
    }
