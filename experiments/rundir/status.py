"""Where a run stands, from the files it writes atomically (`hwnas status`): works while the run goes
on and after it was killed, since every file it reads is complete at any instant.

Read: manifest.json (starts), config.yaml (children planned, targets), phases.json (phases done),
trials.csv (children done, best so far, the search's pace), netadapt/state.json (iteration, status,
proposals of the iteration in flight) and netadapt/result.json. `netadapt_progress` is the one place
that knows the NetAdapt state's keys.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir, SourceError
from netadapt.history import history_rows
from netadapt.records import Iteration, NetAdaptState, Proposed
from netadapt.state import StateError, load_state
from search.trial_record import UNTRAINED

WATCHED = (layout.PHASES, layout.TRIALS, layout.CONTROLLER, layout.NETADAPT_STATE_FILE, layout.RESULT,
           layout.FINAL_EXPORT, layout.REPORT)


@dataclass(frozen=True)
class NetAdaptProgress:
    """NetAdapt's loop as the console and `hwnas status` report it."""

    iteration: int
    status: str
    latency_ms: float | None
    accuracy: float | None
    pending_iteration: int | None = None
    proposals: list[dict[str, Any]] = field(default_factory=list)  # of the iteration in flight
    control_acc: float | None = None
    target_ms: float | None = None
    kept: list[dict[str, Any]] = field(default_factory=list)  # the chosen proposal of every finished iteration

    @property
    def proposals_done(self) -> int:
        return sum(bool(p["done"]) for p in self.proposals)


def _proposal(iteration: Iteration, p: Proposed) -> dict[str, Any]:
    return {"key": p.key, "kind": p.kind, "index": p.index, "width_before": p.width_before,
            "width_after": p.width_after, "latency_before": iteration.latency_before, "latency_after": p.latency_after,
            "val_accuracy": p.trial.val_accuracy, "failure": p.trial.failure, "duration_s": p.trial.duration_s,
            "done": p.trial.done}


def netadapt_progress(state: NetAdaptState) -> NetAdaptProgress:
    """The progress in a NetAdapt state: the kept model, the iteration in flight, every kept step."""
    pending = state.pending
    control = pending.control if pending is not None else None
    return NetAdaptProgress(
        iteration=state.iteration, status=state.status, latency_ms=state.current.latency_ms,
        accuracy=state.current.val_accuracy, pending_iteration=pending.iteration if pending is not None else None,
        proposals=[_proposal(pending, p) for p in pending.proposals] if pending is not None else [],
        control_acc=control.val_accuracy if control is not None else None, target_ms=state.config.target_ms,
        kept=[asdict(row) for row in history_rows(state) if row.chosen])


def read_netadapt_progress(path: Path) -> NetAdaptProgress | None:
    """The progress in the state file at `path`, None while there is none (or it cannot be read)."""
    if not path.is_file():
        return None
    try:
        return netadapt_progress(load_state(path))
    except StateError:
        return None


def _timestamp(text: str | None) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))) if text else None
    except ValueError:
        return None


def _search_status(run: RunDir, now: float) -> dict[str, Any] | None:
    planned = run.setting("search", "children")
    try:
        trials = run.csv(layout.TRIALS)
    except SourceError:
        trials = None
    if planned is None and trials is None:
        return None
    trials = trials[~trials["status"].isin(UNTRAINED)] if trials is not None else pd.DataFrame()  # trained children
    done = len(trials)
    out: dict[str, Any] = {"children_done": done, "children_planned": planned,
                           "children_ok": int((trials["status"] == "ok").sum()) if done else 0, "best": None,
                           "eta_s": None}
    if out["children_ok"]:
        ok = trials[trials["status"] == "ok"]
        best = ok.loc[ok["reward"].idxmax()]
        out["best"] = {"index": int(best["index"]), "arch": best["arch"], "reward": float(best["reward"]),
                       "accuracy": float(best["accuracy"]), "latency_ms": float(best["latency_ms"])}
    completed = sorted(trials["completed_at"].dropna()) if done and "completed_at" in trials else []
    if planned and len(completed) >= 2 and done < planned:
        pace = (completed[-1] - completed[0]) / (len(completed) - 1)  # seconds per child, concurrency included
        out["eta_s"] = max(0.0, pace * (planned - done) - (now - completed[-1]))
    return out


def _netadapt_status(run: RunDir) -> dict[str, Any] | None:
    progress = read_netadapt_progress(run.path(layout.NETADAPT_STATE_FILE))
    if progress is None:
        return None
    out = asdict(progress)
    out.pop("kept")
    out["proposals_done"] = progress.proposals_done
    out["proposals"] = len(progress.proposals)
    out["iterations_kept"] = len(progress.kept)
    durations = [p["duration_s"] for p in progress.proposals if p.get("duration_s")]
    remaining = len(progress.proposals) - progress.proposals_done
    out["iteration_eta_s"] = sum(durations) / len(durations) * remaining if durations and remaining else None
    try:
        result = run.json(layout.RESULT)
    except SourceError:
        result = None
    if result:
        out.update(target_ms=result.get("target_ms"), live_ms=result.get("live_ms"),
                   test_accuracy=result.get("test_accuracy"), target_met=result.get("target_met"))
    return out


def _phases(run: RunDir, command: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Every phase of the pipeline (done or not, seconds) and the one in progress; for a run of
    `hwnas search` / `hwnas netadapt` (no phases.json) that command is the phase."""
    try:
        recorded = run.json(layout.PHASES) or {}
    except SourceError:
        recorded = {}
    phases = [{"name": name, "done": name in recorded, "seconds": (recorded.get(name) or {}).get("seconds")}
              for name in layout.PHASE_NAMES]
    if recorded or command in ("run", "demo"):
        return phases, next((p["name"] for p in phases if not p["done"]), None)
    return [], command if command in ("search", "netadapt") else None


def run_status(root: str | Path, now: float | None = None) -> dict[str, Any]:
    """Everything `hwnas status` prints, as a JSON-ready mapping."""
    run = RunDir.open(root)
    now = time.time() if now is None else now
    try:
        manifest = run.json(layout.MANIFEST) or {}
    except SourceError:
        manifest = {}
    starts = [manifest.get("created"), *[r.get("created") for r in manifest.get("resumes", [])]]
    first, last = _timestamp(starts[0]), _timestamp(starts[-1])
    written = [run.path(rel).stat().st_mtime for rel in WATCHED if run.path(rel).is_file()]
    command = manifest.get("command") or []
    phases, current = _phases(run, command[1] if len(command) > 1 else None)
    search, netadapt = _search_status(run, now), _netadapt_status(run)
    if not phases and (current == "netadapt" and run.has(layout.RESULT) or current == "search" and search
                       and search["children_done"] >= (search["children_planned"] or 0)):
        current = None  # `hwnas search` / `hwnas netadapt` alone, finished
    eta = search["eta_s"] if current == "search" and search else (
        netadapt["iteration_eta_s"] if current == "netadapt" and netadapt else None)
    end = max(written) if current is None and written else now  # a finished run: elapsed until its last write
    return {
        "run": str(run.root), "name": run.setting("name"), "command": manifest.get("command"),
        "attempts": len([s for s in starts if s]), "started_at": starts[0], "last_started_at": starts[-1],
        "elapsed_s": end - first if first else None, "since_last_start_s": now - last if last else None,
        "last_write_s_ago": now - max(written) if written else None,
        "phases": phases, "phases_done": [p["name"] for p in phases if p["done"]], "current_phase": current,
        "search": search, "netadapt": netadapt, "eta_s": eta,
    }
