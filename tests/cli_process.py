"""Test helper: run an `hwnas` command in its own process group and SIGKILL the whole group the
moment a condition holds (the kill-and-resume tests of search, NetAdapt and the pipeline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], log: Path, kill_when: Callable[[str], bool] | None = None,
            timeout_s: float = 600) -> tuple[int, str]:
    """`python -m experiments.cli ARGS` with output in `log`; with `kill_when(output so far)`, SIGKILL
    its process group once it returns True. Returns (exit code, or -9 when killed; the output)."""
    with log.open("w") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", *args], cwd=ROOT, start_new_session=True,
                                stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    try:
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"hwnas {args[0]} did not finish in {timeout_s} s:\n" + log.read_text()[-3000:])
            if kill_when is not None and kill_when(log.read_text()):
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return -9, log.read_text()
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, log.read_text()
