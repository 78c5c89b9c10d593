"""The search driver end to end through a local Ray: outputs, and resume after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from models.spec import ArchSpec

JOB = Path(__file__).with_name("search_job.py")


def run_job(root: Path, *flags: str, kill_after: int | None = None) -> int:
    """Run the driver; with `kill_after`, kill -9 its process group once that many children are recorded."""
    proc = subprocess.Popen([sys.executable, str(JOB), str(root), *flags], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    trials = root / "tiny-search" / "trials.csv"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if kill_after is not None and trials.is_file() and len(pd.read_csv(trials)) >= kill_after:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return -9
        time.sleep(0.5)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the search driver did not finish in 240 s")
    assert proc.returncode == 0, proc.stderr.read()[-3000:]
    return proc.returncode


@pytest.mark.ray
@pytest.mark.slow
def test_search_survives_kill_9_and_resumes(tmp_path) -> None:
    assert run_job(tmp_path, kill_after=3) == -9
    run_dir = tmp_path / "tiny-search"
    before = pd.read_csv(run_dir / "trials.csv")
    assert len(before) >= 3
    assert run_job(tmp_path, "--resume") == 0
    after = pd.read_csv(run_dir / "trials.csv")
    assert sorted(after["index"]) == list(range(6))  # every child exactly once
    kept = after.set_index("index").loc[before["index"]]
    assert list(kept["arch"]) == list(before["arch"]) and list(kept["reward"]) == list(before["reward"])
    assert set(after["status"]) == {"ok"}
    best = ArchSpec.load(run_dir / "best" / "arch.yaml")
    assert best.to_str() == after.sort_values("reward").iloc[-1]["arch"]
    assert (run_dir / "topk.yaml").is_file() and (run_dir / "controller.pt").is_file()
