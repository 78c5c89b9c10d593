"""`hwnas status` on run directories built by hand: one killed mid-NetAdapt (the phase, the iteration
and its proposals, the best child), one killed mid-search (children done and planned, an ETA from
their pace), one of `hwnas search` alone, and a folder that is no run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from exp_helpers import netadapt_state

from experiments.cli import main
from experiments.console.lines import short_name
from experiments.rundir import layout
from experiments.rundir.status import run_status
from netadapt.records import NetAdaptState
from netadapt.state import save_state

ARCH = "stem_c8_hs-ir_k3_m16_c8_s2_re-head_c32_h64_hs"


def make_run(root: Path, command: str, phases: list[str], children: int, planned: int = 4,
             netadapt: NetAdaptState | None = None) -> Path:
    root.mkdir(parents=True)
    (root / layout.CONFIG).write_text(yaml.safe_dump({"name": root.name, "search": {"children": planned},
                                                      "netadapt": {"target_ratio": 0.7}}))
    (root / layout.MANIFEST).write_text(json.dumps({"created": "2026-01-01T10:00:00Z",
                                                    "command": ["hwnas", command, "cfg.yaml"],
                                                    "resumes": [{"created": "2026-01-01T11:00:00Z"}]}))
    if phases:
        (root / layout.PHASES).write_text(json.dumps({p: {"seconds": 10.0, "outputs": []} for p in phases}))
    now = time.time()
    rows = [{"index": i, "status": "ok", "arch": ARCH, "accuracy": 0.5 + 0.1 * i,
             "latency_ms": 0.3, "reward": 0.4 + 0.1 * i, "completed_at": now - 60 * (children - i)}
            for i in range(children)]
    pd.DataFrame(rows).to_csv(root / layout.TRIALS, index=False)
    if netadapt is not None:
        (root / layout.NETADAPT_DIR).mkdir()
        save_state(root / layout.NETADAPT_STATE_FILE, netadapt)
    return root


NETADAPT_STATE = netadapt_state(
    ARCH, target_ms=0.21, current=(0.25, 0.61),
    kept=[("mid", 0, 64, 56, 0.3, 0.27, 0.63), ("mid", 1, 72, 64, 0.27, 0.25, 0.61)],
    pending=[("mid", 0, 56, 48, 0.24, 0.6, 30.0), ("mid", 1, 64, 56, 0.24, None, None),
             ("last", 0, 128, 96, 0.22, None, None)])


def test_a_run_killed_mid_netadapt_says_the_phase_and_iteration(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "killed", "run", ["search", "seed"], children=4, netadapt=NETADAPT_STATE)
    assert main(["status", str(run)]) == 0
    out = capsys.readouterr().out
    assert "now: netadapt, eta 1:00" in out
    assert "netadapt: iteration 2 (running), iteration 2 in flight: 1 of 3 proposals done" in out
    assert "target 0.2100 ms" in out and "search: 4 of 4 children done" in out
    assert f"best so far: child 3 {short_name(3, ARCH)}: reward 0.7000" in out
    assert "phases: search done, seed done, netadapt in progress, references -, export -, report -" in out
    assert "2 attempt(s)" in out

    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current_phase"] == "netadapt" and status["phases_done"] == ["search", "seed"]
    assert status["netadapt"]["iteration"] == 2 and status["netadapt"]["proposals_done"] == 1
    assert status["netadapt"]["iteration_eta_s"] == pytest.approx(60.0)
    assert status["search"]["best"]["index"] == 3 and status["attempts"] == 2


def test_a_run_killed_mid_search_has_an_eta_from_the_childrens_pace(tmp_path: Path) -> None:
    run = make_run(tmp_path / "searching", "run", [], children=3, planned=9)
    status = run_status(run)
    assert status["current_phase"] == "search" and status["search"]["children_done"] == 3
    assert status["search"]["children_planned"] == 9
    assert status["eta_s"] == pytest.approx(60 * 6 - 60, abs=5)  # 6 to go at 60 s each, 60 s into the next
    assert status["netadapt"] is None and status["elapsed_s"] > 0


def test_a_search_run_and_a_folder_that_is_no_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = make_run(tmp_path / "s", "search", [], children=2, planned=3)
    status = run_status(run)
    assert status["phases"] == [] and status["current_phase"] == "search"
    pd.DataFrame([{"index": 2, "status": "failed", "arch": ARCH}]).to_csv(run / layout.TRIALS, mode="a",
                                                                            header=False, index=False)
    assert main(["status", str(run)]) == 0
    assert "now: finished" in capsys.readouterr().out
    assert main(["status", str(tmp_path / "nothing")]) == 2
    assert "is not a run directory" in capsys.readouterr().err
