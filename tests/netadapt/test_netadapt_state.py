"""NetAdaptState on disk: a JSON round trip of every record, strict reading, the format version
(unknown versions refused with what to do), and format 1 files (the raw dict) still resumed."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from netadapt_helpers import SPEC, hand_latency, scripted

from netadapt.config import LoopConfig
from netadapt.history import (
    HISTORY_COLUMNS,
    history_frame,
    history_rows,
    trajectory_frame,
)
from netadapt.loop import CONTROL, JobFailed, NetAdaptLoop
from netadapt.proposals import with_group_width, with_mid
from netadapt.state import (
    FORMAT_VERSION,
    StateError,
    from_dict,
    load_state,
    save_state,
    to_dict,
)

CFG = LoopConfig(target_ms=70.0, delta_ms=8.0, max_iterations=3, seed=5)
RESULTS = {CONTROL: 0.80, "mid0": 0.79, "mid1": JobFailed("non-finite loss"), "group1": 0.785}


def one_iteration(tmp_path: Path) -> NetAdaptLoop:
    loop = NetAdaptLoop(tmp_path, hand_latency, scripted(RESULTS), lambda arch, weights: 0.5,
                        dataclasses.replace(CFG, max_iterations=1))
    loop.run(loop.start(SPEC, tmp_path / "seed.pt"))
    return loop


def test_json_round_trip_of_every_record(tmp_path: Path) -> None:
    state = load_state(one_iteration(tmp_path).state_path)
    assert state.iteration == 1 and state.pending is None
    # a pending iteration with a finished, a failed and an unstarted trial, next to the finished one
    it = state.iterations[0]
    pending = dataclasses.replace(it, iteration=1, chosen=None, proposals=(
        it.proposals[0], it.proposals[1],
        dataclasses.replace(it.proposals[2], trial=dataclasses.replace(it.proposals[2].trial, val_accuracy=None,
                                                                          duration_s=None))))
    state = dataclasses.replace(state, pending=pending)
    data = json.loads(json.dumps(to_dict(state)))
    assert data["version"] == FORMAT_VERSION == 2
    assert from_dict(data) == state
    save_state(tmp_path / "again.json", state)
    assert load_state(tmp_path / "again.json") == state
    assert [p.trial.done for p in pending.proposals] == [True, True, False]


@pytest.mark.parametrize(("version", "shown"), [(3, "3"), (None, "None"), ("2", "'2'"), (True, "True"), (2.0, "2.0")])
def test_an_unknown_format_version_is_refused_with_what_to_do(tmp_path: Path, version, shown: str) -> None:
    path = one_iteration(tmp_path).state_path
    data = json.loads(path.read_text())
    data["version"] = version
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match=rf"format version {shown} is not one this hwnas reads \(1 or 2\): "
                                         r"resume it with the hwnas that wrote it, or start a new run name"):
        load_state(path)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["current"].update(acc=0.5), r"state.current: unknown fields \['acc'\]"),
    (lambda d: d["seed"].pop("val_accuracy"), r"state.seed: .*missing fields \['val_accuracy'\]"),
    (lambda d: d["iterations"][0].update(seed="5"), r"state.iterations\[0\].seed: expected int, got '5'"),
    (lambda d: d.update(status="paused"), "unknown NetAdapt status 'paused'"),
    (lambda d: d["config"].update(selection="greedy"), "unknown selection rule 'greedy'"),
])
def test_a_malformed_state_names_the_field(tmp_path: Path, edit, message: str) -> None:
    path = one_iteration(tmp_path).state_path
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match=message):
        load_state(path)


def v1_state(workdir: Path) -> dict:
    """A state as format 1 wrote it: iteration 0 finished (group1 kept), iteration 1 pending."""
    kept = with_group_width(SPEC, SPEC.residual_groups()[1], 8).to_str()
    row = {"iteration": 0, "latency_before": 96.0, "acc_before": 0.5, "chosen": False}
    return {
        "version": 1,
        "config": {"target_ms": 70.0, "delta_ms": 8.0, "decay": 1.0, "divisor": 8, "rule": "mobilenetv3",
                   "max_iterations": 3, "seed": 5, "head": False},
        "seed": {"arch": SPEC.to_str(), "weights": "seed.pt", "latency_ms": 96.0},
        "current": {"arch": kept, "weights": str(workdir / "iter000" / "group1.pt"), "latency_ms": 80.0, "acc": 0.785},
        "iteration": 1,
        "pending": {"iteration": 1, "delta_ms": 8.0, "proposals": [
            {"key": "mid0", "kind": "mid", "index": 0, "width_before": 24, "width_after": 16, "arch": "x",
             "latency_before": 80.0, "latency_after": 72.0, "weights": "w", "seed": 1, "acc": 0.7, "duration_s": 1.0}]},
        "history": [
            {**row, "kind": "mid", "index": 0, "width_before": 24, "width_after": 16, "latency_after": 88.0,
             "acc_after": 0.79, "duration_s": 2.0, "arch": with_mid(SPEC, 0, 16).to_str()},
            {**row, "kind": "group", "index": 1, "width_before": 16, "width_after": 8, "latency_after": 80.0,
             "acc_after": 0.785, "duration_s": 3.0, "arch": kept, "chosen": True}],
        "skipped": [{"iteration": 0, "kind": "group", "index": 0, "reason": "r0"},
                    {"iteration": 1, "kind": "group", "index": 0, "reason": "r1"}],
        "status": "running",
    }


def test_a_format_1_state_loads_and_resumes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(v1_state(tmp_path)))
    state = load_state(path)
    assert "iteration 1 was unfinished; it restarts under the current rules" in caplog.text
    assert state.config == CFG and state.iteration == 1 and state.pending is None and state.status == "running"
    assert (state.seed.latency_ms, state.seed.val_accuracy) == (96.0, 0.5)
    assert state.current.val_accuracy == 0.785 and state.current.arch == v1_state(tmp_path)["current"]["arch"]
    assert [s.reason for s in state.skipped] == ["r0"]  # the dropped iteration's skips go with it
    it = state.iterations[0]
    assert (it.control, it.seed, it.chosen, it.delta_ms) == (None, None, "group1", 8.0)
    rows = history_frame(state)
    assert list(rows.columns) == list(HISTORY_COLUMNS)
    assert rows[["kind", "index", "width_after", "latency_cut", "val_accuracy", "chosen"]].values.tolist() == [
        ["mid", 0, 16, 8.0, 0.79, False], ["group", 1, 8, 16.0, 0.785, True]]
    assert rows.control_val_accuracy.isna().all()
    assert trajectory_frame(state).val_accuracy.tolist() == [0.5, 0.785]
    assert state.iterations[0].proposals[1].trial.weights == str(tmp_path / "iter000" / "group1.pt")

    # resumed: iteration 1 (delta 8, goal 72) from blocks (mid 24, out 8), (mid 24, out 8) at 80 ms:
    # mid0 and mid1 24 -> 16 both give 72 (the control is fine-tuned too): mid0 0.77 beats mid1 0.76
    # at equal latency; iteration 2 from 72: mid1 24 -> 16 gives 64 <= 70: met
    results = {CONTROL: 0.78, "mid0": 0.77, "mid1": 0.76}
    loop = NetAdaptLoop(tmp_path, hand_latency, scripted(results), lambda arch, weights: 0.5, CFG)
    done = loop.run(loop.resume())
    assert done.status == "met" and done.iteration == 3 and done.current.latency_ms == 64.0
    assert [(r.iteration, r.kind, r.index, r.chosen) for r in history_rows(done)] == [
        (0, "mid", 0, False), (0, "group", 1, True), (1, "mid", 0, True), (1, "mid", 1, False), (2, "mid", 1, True)]
    assert history_rows(done)[2].control_val_accuracy == 0.78
    assert load_state(path) == done  # saved as format 2
    assert json.loads(path.read_text())["version"] == 2


def test_a_malformed_format_1_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    data = v1_state(tmp_path)
    del data["config"]["decay"]
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match="format 1 state is incomplete or malformed .*start a new run name"):
        load_state(path)
