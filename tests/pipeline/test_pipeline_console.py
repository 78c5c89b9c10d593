"""What a person sees of `hwnas run` on a tiny config: a header per phase, one line per child and per
NetAdapt proposal, and none of the dependencies' noise (warnings, absl / converter INFO lines, Ray
Tune's tables), which the run keeps in logs/ and shows with -v; TensorBoard scalars in tb/; and
`hwnas status` on the finished run and on one killed mid-NetAdapt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_process import run_cli
from pipeline_helpers import hwnas_run, tiny_config
from tb_events import read_scalars

NOISE = ("Warning", "absl", "I0000", "╭", "Trial status")  # the last two: Ray Tune's boxed tables


def quick_config(tmp_path: Path, **sections: dict) -> Path:
    return tiny_config(tmp_path, search={"children": 2}, netadapt={"max_iterations": 2},
                       pipeline={"references": []}, **sections)


@pytest.mark.slow
@pytest.mark.ray
def test_run_console_shows_children_and_proposals_and_hides_the_noise(tmp_path: Path) -> None:
    config = quick_config(tmp_path)
    run = tmp_path / "runs" / "pipe"
    code, out = hwnas_run(config)
    assert code in (0, 1), out[-3000:]  # 1: the tiny NetAdapt may stop short of its target
    assert [m.group(1) for m in re.finditer(r"^── (\w+) \(\d/6\) ─", out, re.M)] == [
        "search", "seed", "netadapt", "references", "export", "report"]
    children = re.findall(r"^child (\d)/2 (c\d{3}-[0-9a-f]{6})  acc \S+  lat \S+ ms  reward \S+  entropy \S+  eta",
                          out, re.M)
    assert [c[0] for c in children] == ["1", "2"], out
    assert re.search(r"^proposal \d+/\d+ it 0 \w+\d+ \d+->\d+  cut \S+ ms \(predicted\)  acc \S+  dAcc \S+ vs control",
                     out, re.M), out
    assert not [n for n in NOISE if n in out], out
    assert not [line for line in out.splitlines() if line.startswith(("child", "proposal")) and "stem_" in line]

    logs = list((run / "logs").iterdir())
    assert len(logs) == 1
    kept = logs[0].read_text()
    # the noise the console hides is kept in the log (its Python warnings were fixed at their source)
    assert all(n in kept for n in ("I0000", "Trial status")) and "child 2/2" in kept

    tb = read_scalars(run / "tb")
    for tag in ("search/reward", "search/reward_moving_average", "search/entropy", "search/accuracy",
                "search/latency_ms"):
        assert sorted(step for step, _ in tb[tag]) == [0, 1], tag
    assert [step for step, _ in tb["netadapt/latency_ms"]][0] == 0 and "netadapt/val_accuracy" in tb

    code, status = run_cli(["status", str(run), "--json"], tmp_path / "status.txt")
    status = json.loads(status)
    assert status["current_phase"] is None and status["phases_done"][-1] == "report"
    assert status["search"]["children_done"] == status["search"]["children_planned"] == 2

    code, verbose = run_cli(["search", str(config), "-v", "name=verbose",  # a new table: conversions again
                             f"latency.table={tmp_path / 'table-2.json'}"], tmp_path / "verbose.txt")
    assert code == 0, verbose[-3000:]
    assert all(n in verbose for n in ("I0000", "Trial status")), verbose[-3000:]  # -v shows the hidden noise
    assert re.search(r"^child 2/2 c00[01]-", verbose, re.M)


@pytest.mark.slow
@pytest.mark.ray
def test_status_of_a_run_killed_mid_netadapt(tmp_path: Path) -> None:
    config = quick_config(tmp_path)
    run = tmp_path / "runs" / "pipe"
    code, out = hwnas_run(config, kill_when=lambda text: re.search(r"^proposal 1/", text, re.M) is not None)
    assert code == -9, out[-3000:]
    code, text = run_cli(["status", str(run)], tmp_path / "status.txt")
    assert code == 0, text
    assert "now: netadapt" in text and re.search(r"netadapt: iteration 0 \(running\), iteration 0 in flight: \d+ "
                                                 r"of \d+ proposals done", text), text
    assert "phases: search done, seed done, netadapt in progress, references -, export -, report -" in text
