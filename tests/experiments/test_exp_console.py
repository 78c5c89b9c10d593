"""The console without a run: its lines, the output capture (what reaches the terminal and what only
the log), TensorBoard scalars read back, and NetAdapt's proposal lines from a state file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from exp_helpers import netadapt_state
from tb_events import read_scalars

from experiments.console.lines import (
    ProposalFacts,
    child_line,
    duration,
    phase_header,
    proposal_line,
    short_name,
)
from experiments.console.monitor import Console
from experiments.console.netadapt_progress import ReportingJobs
from experiments.console.scalars import ScalarLog
from netadapt.loop import CONTROL, Job, JobFailed
from netadapt.records import NetAdaptState
from netadapt.state import save_state

ROOT = Path(__file__).resolve().parents[2]
ARCH = "stem_c8_hs-ir_k3_m16_c8_s2_re-head_c32_h64_hs"


def test_lines_name_the_child_briefly_and_carry_every_figure() -> None:
    assert short_name(7, ARCH) == short_name(7, ARCH) != short_name(7, ARCH + "x")
    assert short_name(7, ARCH).startswith("c007-") and len(short_name(7, ARCH)) == 11
    line = child_line({"index": 7, "arch": ARCH, "status": "ok", "accuracy": 0.5, "latency_ms": 0.25,
                       "reward": 0.48, "entropy": 3.2}, done=8, total=20, eta_s=125)
    assert line == f"child  8/20 {short_name(7, ARCH)}  acc 0.5000  lat 0.2500 ms  reward 0.4800  entropy 3.200  eta 2:05"
    failed = child_line({"index": 1, "arch": ARCH, "status": "failed", "reason": "training diverged"}, 2, 4, None)
    assert "failed: training diverged" in failed and "eta ?" in failed
    assert phase_header("search", 1, 6).startswith("── search (1/6) ──")
    assert duration(3725) == "1:02:05" and duration(None) == "?"


def test_proposal_line_measures_dacc_against_the_control_when_there_is_one() -> None:
    facts = ProposalFacts(iteration=2, kind="mid", index=3, width_before=72, width_after=56, latency_before=1.0,
                          latency_after=0.9, acc=0.60, acc_before=0.65)
    line = proposal_line(facts, 1, 5)
    assert line.startswith("proposal 1/5 it 2 mid3 72->56") and "cut 0.1000 ms" in line
    assert "dAcc -0.0500 vs before" in line
    with_control = ProposalFacts(**{**facts.__dict__, "control_acc": 0.58})
    assert "dAcc +0.0200 vs control" in proposal_line(with_control, 1, 5)


CAPTURE_SCRIPT = """
import os, subprocess, sys, warnings
from pathlib import Path
from experiments.console.capture import OutputCapture
with OutputCapture(verbose=sys.argv[2] == "1") as cap:
    print("early python line")
    cap.attach(Path(sys.argv[1]))
    warnings.warn("a dependency FutureWarning", FutureWarning)
    os.write(2, b"I0000 00:00:1.0 flatbuffer_export.cc] a C++ INFO line\\n")
    subprocess.run(["echo", "a child process line"], check=True)
    cap.say("child 1/2 c000-abcdef  acc 0.5000")
    cap.say("hwnas run: error: a message", error=True)
print("after the capture")
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_capture_keeps_everything_in_the_log_and_shows_it_only_when_verbose(tmp_path: Path, verbose: bool) -> None:
    log = tmp_path / "logs" / "run.log"
    out = subprocess.run([sys.executable, "-c", CAPTURE_SCRIPT, str(log), "1" if verbose else "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    terminal = out.stdout + out.stderr
    noise = ("early python line", "FutureWarning", "I0000", "a child process line")
    kept = log.read_text()
    assert all(n in kept for n in noise) and "child 1/2 c000-abcdef" in kept
    assert "child 1/2 c000-abcdef" in out.stdout and "after the capture" in out.stdout
    assert "hwnas run: error: a message" in out.stderr and "hwnas run: error: a message" in kept
    assert all((n in terminal) == verbose for n in noise), terminal


def test_scalars_are_written_and_read_back(tmp_path: Path) -> None:
    scalars = ScalarLog(tmp_path)
    scalars.add("supernet", 0, {"loss": 2.5})
    scalars.add("supernet", 1, {"loss": 2.0, "skipped": float("nan")})
    scalars.close()
    assert read_scalars(tmp_path / "tb") == {"supernet/loss": [(0, 2.5), (1, 2.0)]}


def test_children_give_lines_and_search_scalars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    console = Console()
    console.scalar_log = ScalarLog(tmp_path)
    trials: list[dict] = []
    console.search_started(total=3, done=0)
    for i, (reward, status) in enumerate([(0.4, "ok"), (None, "failed"), (0.6, "ok")]):
        trials.append({"index": i, "arch": ARCH, "status": status, "accuracy": 0.5 if reward else float("nan"),
                       "latency_ms": 0.3, "reward": reward, "entropy": 3.0 - i, "reason": "diverged"})
        console.child_done(trials[-1], trials)
    console.close()
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("child")] == ["1/3", "2/3", "3/3"]
    tb = read_scalars(tmp_path / "tb")
    assert tb["search/reward"] == [(0, pytest.approx(0.4)), (2, pytest.approx(0.6))]
    assert tb["search/reward_moving_average"][-1] == (2, pytest.approx(0.5))
    assert [step for step, _ in tb["search/entropy"]] == [0, 1, 2]
    assert {"search/accuracy", "search/latency_ms"} <= set(tb)


def _state(control: float | None) -> NetAdaptState:
    return netadapt_state(ARCH, target_ms=0.8, current=(1.0, 0.7), kept=[("head", 0, 128, 96, 1.2, 1.0, 0.7)],
                          pending=[("mid", i, 64, 48, 0.9 - 0.01 * i, None, None) for i in range(2)],
                          control=control)


@pytest.mark.parametrize("control", [None, 0.68])
def test_netadapt_proposals_are_reported_from_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        control: float | None) -> None:
    state_path = tmp_path / "state.json"
    save_state(state_path, _state(control))
    console = Console()
    console.scalar_log = ScalarLog(tmp_path)
    jobs = [Job(1, f"mid{i}", ARCH, "p.pt", ARCH, f"mid{i}.pt", i) for i in range(2)]
    reporting = ReportingJobs(lambda todo: ((job, 0.66) for job in todo), state_path, console, target_ms=0.8)
    assert [job.key for job, _ in reporting(jobs)] == ["mid0", "mid1"]
    reporting.finished()
    console.close()
    out = capsys.readouterr().out
    assert "netadapt: iteration 0 kept head0 128->96: 1.2000 -> 1.0000 ms" in out
    lines = [line for line in out.splitlines() if line.startswith("proposal")]
    assert len(lines) == 2 and lines[0].startswith("proposal 1/2 it 1 mid0 64->48  cut 0.1000 ms")
    assert all(line.endswith("dAcc -0.0200 vs control" if control else "dAcc -0.0400 vs before") for line in lines)
    assert read_scalars(tmp_path / "tb")["netadapt/latency_ms"][0] == (1, 1.0)


@pytest.mark.parametrize("control_result", [0.68, JobFailed("loss not finite")])
def test_a_proposal_done_before_the_control_is_reported_against_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], control_result: float | JobFailed) -> None:
    # the control and the proposals run side by side; one that finishes first waits for the control's
    # accuracy, so every line of an iteration states its dAcc against the same reference
    state_path = tmp_path / "state.json"
    save_state(state_path, _state(None))
    console = Console()
    jobs = [Job(1, "mid0", ARCH, "p.pt", ARCH, "mid0.pt", 1), Job(1, CONTROL, ARCH, "p.pt", ARCH, "c.pt", 1),
            Job(1, "mid1", ARCH, "p.pt", ARCH, "mid1.pt", 1)]
    results = {"mid0": 0.66, CONTROL: control_result, "mid1": 0.71}
    reporting = ReportingJobs(lambda todo: ((job, results[job.key]) for job in todo), state_path, console, 0.8)
    lines: list[str] = []
    counts = []
    for _job, _ in reporting(jobs):
        lines += [line for line in capsys.readouterr().out.splitlines() if line.startswith("proposal")]
        counts.append(len(lines))
    console.close()
    lines += [line for line in capsys.readouterr().out.splitlines() if line.startswith("proposal")]
    assert counts == [0, 0, 1] and len(lines) == 2  # mid0's line came with the control's result
    assert lines[0].startswith("proposal 1/2 it 1 mid0") and lines[1].startswith("proposal 2/2 it 1 mid1")
    if isinstance(control_result, float):  # 0.66 - 0.68 and 0.71 - 0.68
        assert lines[0].endswith("dAcc -0.0200 vs control") and lines[1].endswith("dAcc +0.0300 vs control")
    else:  # no control accuracy: against the accuracy before the iteration (0.7)
        assert lines[0].endswith("dAcc -0.0400 vs before")


def test_a_proposal_line_is_printed_only_after_the_loop_took_its_result(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # the loop saves each result before asking for the next one; a kill right after a line must lose nothing
    state_path = tmp_path / "state.json"
    save_state(state_path, _state(0.68))
    console = Console()
    jobs = [Job(1, f"mid{i}", ARCH, "p.pt", ARCH, f"mid{i}.pt", i) for i in range(2)]
    results = ReportingJobs(lambda todo: ((job, 0.66) for job in todo), state_path, console, target_ms=0.8)(jobs)
    seen = []
    for job, _ in results:
        printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("proposal")]
        seen.append((job.key, len(printed)))
    console.close()
    assert seen == [("mid0", 0), ("mid1", 1)]  # mid0's line came only when mid1 was asked for
    assert any(line.startswith("proposal 2/2 it 1 mid1") for line in capsys.readouterr().out.splitlines())
