"""`hwnas run` killed with SIGKILL during each phase in turn (search, references, seed, NetAdapt,
export), each time rerun with --resume: the run completes with every output in place, completed
phases are skipped, and no finished child, reference or NetAdapt proposal is computed twice.
Real Ray, a real LiteRT table filled lazily, real exports."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from pipeline_helpers import hwnas_run, tiny_config


PROPOSAL = r"^proposal \d+/\d+ it (\d+ \w+) "  # the console's line of a finished NetAdapt proposal


def ok_children(run: Path) -> dict[int, str]:
    path = run / "trials.csv"
    if not path.is_file():
        return {}
    trials = pd.read_csv(path)
    return {int(r["index"]): str(r["trial_id"]) for _, r in trials[trials["status"] == "ok"].iterrows()}


@pytest.mark.slow
@pytest.mark.ray
def test_kill_in_every_phase_then_resume(tmp_path: Path) -> None:
    config = tiny_config(tmp_path)
    run = tmp_path / "runs" / "pipe"
    logs: list[str] = []
    kills = {
        "search": lambda out: len(ok_children(run)) >= 1,
        "seed": lambda out: "── seed (" in out,
        "netadapt": lambda out: re.search(PROPOSAL, out, re.M) is not None,
        "references": lambda out: "── references (" in out,
        "export": lambda out: "── export (" in out,
    }
    children_before: dict[int, str] = {}
    for attempt, (phase, when) in enumerate(kills.items()):
        code, out = hwnas_run(config, *(["--resume"] if attempt else []), kill_when=when)
        logs.append(out)
        assert code == -9, f"the run ended before it could be killed in {phase}:\n{out[-3000:]}"
        if phase == "search":
            children_before = ok_children(run)
        if attempt:
            done = list(kills)[:attempt - 1]
            for earlier in done:
                assert f"[{earlier}] complete" in out, f"{earlier} was not skipped on resume:\n{out[-3000:]}"
    code, out = hwnas_run(config, "--resume")
    logs.append(out)
    assert code == 0, out[-3000:]

    for name in ("config.yaml", "manifest.json", "trials.csv", "references.csv", "seed/weights.pt",
                 "netadapt/history.csv", "netadapt/result.json", "final/arch.yaml", "final/weights.pt",
                 "final/model.tflite", "final/model.onnx", "final/export.json", "report.md", "plots/pareto.png"):
        assert (run / name).is_file(), name
    phases = json.loads((run / "phases.json").read_text())
    assert list(phases) == ["search", "seed", "netadapt", "references", "export", "report"]

    children = ok_children(run)
    trials = pd.read_csv(run / "trials.csv")
    assert sorted(trials["index"]) == list(range(4)), "every child exactly once"
    assert all(children[i] == t for i, t in children_before.items()), "a finished child was trained again"

    everything = "\n".join(logs)
    proposals = Counter(re.findall(PROPOSAL, everything, re.M))
    assert proposals and max(proposals.values()) == 1, f"a NetAdapt proposal ran twice: {proposals}"
    references = Counter(re.findall(r"\[references\] (\S+): val acc", everything))
    assert references == Counter({"mobilenetv3-small-0.35": 1})
    result = json.loads((run / "netadapt" / "result.json").read_text())
    assert result["status"] == "met" and result["table_ms"] <= result["target_ms"]
    calibrated = json.loads((tmp_path / "table.json").read_text())["calibration"]["32"]
    assert len(calibrated["archs"]) >= 3  # the run's calibration of its table
    around = json.loads((run / "netadapt" / "calibration.json").read_text())  # NetAdapt's, around its seed
    assert around["archs"][0] == result["seed_arch"] and result["calibration_archs"] == len(around["archs"])
    assert result["latency_calibrated"] is True and result["calibration_scale"] == around["scale"]
