"""The NetAdapt loop as a resumable state machine.

Each iteration generates proposals (pure, on specs), hands the unfinished ones to `run_jobs`
(which narrows, fine-tunes and evaluates them, possibly concurrently as Ray tasks) and records
each result the moment it arrives, so a run killed mid-iteration resumes without recomputing a
finished proposal. Every proposal's seed derives from (run seed, iteration, proposal key), never
from the order proposals finish in, so a resumed run equals an uninterrupted one. The loop knows
no datasets: fine-tuning and evaluation are callables passed in.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from models.spec import ArchSpec
from netadapt.proposals import LatencyFn, generate
from netadapt.selection import RULES, select
from netadapt.state import load_state, save_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    target_ms: float
    delta_ms: float  # the first iteration's minimum cut (paper: 0.01 x seed latency)
    decay: float = 1.0  # delta shrinks by this factor per iteration (official code: 0.96)
    divisor: int = 8
    rule: str = "mobilenetv3"
    max_iterations: int = 100
    seed: int = 0
    head: bool = False  # also propose the head's last / hidden widths

    def __post_init__(self) -> None:
        if self.target_ms <= 0 or self.delta_ms <= 0:
            raise ValueError("target_ms and delta_ms must be positive")
        if not 0 < self.decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {self.decay}")
        if self.rule not in RULES:
            raise ValueError(f"unknown selection rule {self.rule!r}; choose one of {list(RULES)}")


@dataclass(frozen=True)
class Job:
    """One proposal to narrow from its parent, fine-tune and evaluate."""

    iteration: int
    key: str
    parent_arch: str
    parent_weights: str
    arch: str
    weights_out: str
    seed: int


RunJobs = Callable[[list[Job]], Iterable[tuple[Job, float]]]
Evaluate = Callable[[str, str], float]  # (arch string, weights path) -> accuracy


def job_seed(seed: int, iteration: int, key: str) -> int:
    return zlib.crc32(f"{seed}/{iteration}/{key}".encode()) & 0x7FFFFFFF


class NetAdaptLoop:
    """Shrinks `seed_arch` until `latency` says the target is met. State lives in `workdir`."""

    def __init__(self, workdir: Path, latency: LatencyFn, run_jobs: RunJobs, evaluate: Evaluate,
                 config: LoopConfig) -> None:
        self.workdir = Path(workdir)
        self.state_path = self.workdir / "state.json"
        self.latency = latency
        self.run_jobs = run_jobs
        self.evaluate = evaluate
        self.config = config

    def start(self, seed_arch: ArchSpec, seed_weights: Path) -> dict:
        """A fresh state for `seed_arch`, evaluated once; refuses to overwrite an existing run."""
        if self.state_path.exists():
            raise FileExistsError(f"{self.state_path} exists: resume it, or choose another directory")
        arch = seed_arch.to_str()
        latency = self.latency(seed_arch)
        state = {
            "version": 1,
            "config": asdict(self.config),
            "seed": {"arch": arch, "weights": str(seed_weights), "latency_ms": latency},
            "current": {"arch": arch, "weights": str(seed_weights), "latency_ms": latency,
                        "acc": self.evaluate(arch, str(seed_weights))},
            "iteration": 0,
            "pending": None,
            "history": [],
            "skipped": [],
            "status": "running",
        }
        save_state(self.state_path, state)
        return state

    def resume(self) -> dict:
        state = load_state(self.state_path)
        if state["config"] != asdict(self.config):
            raise ValueError(
                f"{self.state_path} was started with {state['config']}, not {asdict(self.config)}; "
                "resume with the same settings or start a new run"
            )
        return state

    def run(self, state: dict) -> dict:
        """Iterate until the target is met (status 'met'), no proposal can cut delta ('stuck'),
        or max_iterations ('max_iterations')."""
        cfg = self.config
        while state["status"] == "running":
            if state["current"]["latency_ms"] <= cfg.target_ms:
                state["status"] = "met"
            elif state["iteration"] >= cfg.max_iterations:
                state["status"] = "max_iterations"
            elif state["pending"] is None and not self._propose(state):
                state["status"] = "stuck"
            else:
                self._finish_iteration(state)
            save_state(self.state_path, state)
        return state

    def _propose(self, state: dict) -> bool:
        cfg = self.config
        k = state["iteration"]
        delta = cfg.delta_ms * cfg.decay ** k
        current = ArchSpec.from_str(state["current"]["arch"])
        proposals, skipped = generate(current, self.latency, delta, cfg.divisor, cfg.head)
        for s in skipped:
            log.info("iteration %d: skipped %s%d: %s", k, s.kind, s.index, s.reason)
            state["skipped"].append({"iteration": k, "kind": s.kind, "index": s.index, "reason": s.reason})
        if not proposals:
            return False
        out_dir = self.workdir / f"iter{k:03d}"
        state["pending"] = {
            "iteration": k,
            "delta_ms": delta,
            "proposals": [
                {"key": p.key, "kind": p.kind, "index": p.index, "width_before": p.width_before,
                 "width_after": p.width_after, "arch": p.spec.to_str(), "latency_before": p.latency_before,
                 "latency_after": p.latency_after, "weights": str(out_dir / f"{p.key}.pt"),
                 "seed": job_seed(cfg.seed, k, p.key), "acc": None, "duration_s": None}
                for p in proposals
            ],
        }
        save_state(self.state_path, state)
        return True

    def _finish_iteration(self, state: dict) -> None:
        pending = state["pending"]
        k = pending["iteration"]
        by_key = {p["key"]: p for p in pending["proposals"]}
        todo = [Job(k, p["key"], state["current"]["arch"], state["current"]["weights"], p["arch"], p["weights"],
                    p["seed"]) for p in pending["proposals"] if p["acc"] is None]
        started = time.monotonic()
        for job, acc, seconds in _timed(self.run_jobs(todo), started):
            by_key[job.key]["acc"], by_key[job.key]["duration_s"] = acc, seconds
            save_state(self.state_path, state)
        proposals = pending["proposals"]
        missing = [p["key"] for p in proposals if p["acc"] is None]
        if missing:
            raise RuntimeError(f"run_jobs returned no result for proposals {missing}")
        acc_before = state["current"]["acc"]
        chosen = select(self.config.rule, acc_before,
                        [(p["acc"], p["latency_before"], p["latency_after"]) for p in proposals])
        for i, p in enumerate(proposals):
            state["history"].append({
                "iteration": k, "kind": p["kind"], "index": p["index"], "width_before": p["width_before"],
                "width_after": p["width_after"], "latency_before": p["latency_before"],
                "latency_after": p["latency_after"], "acc_before": acc_before, "acc_after": p["acc"],
                "chosen": i == chosen, "duration_s": p["duration_s"], "arch": p["arch"],
            })
        best = proposals[chosen]
        log.info("iteration %d: kept %s (%d -> %d), %.4f -> %.4f ms, acc %.4f -> %.4f", k, best["key"],
                 best["width_before"], best["width_after"], best["latency_before"], best["latency_after"],
                 acc_before, best["acc"])
        for p in proposals:
            if p is not best:
                Path(p["weights"]).unlink(missing_ok=True)
        state["current"] = {"arch": best["arch"], "weights": best["weights"], "latency_ms": best["latency_after"],
                            "acc": best["acc"]}
        state["iteration"] = k + 1
        state["pending"] = None


def _timed(results: Iterable[tuple[Job, float]], started: float) -> Iterator[tuple[Job, float, float]]:
    """Attach to each result the seconds since the previous one arrived (per-proposal duration)."""
    last = started
    for job, acc in results:
        now = time.monotonic()
        yield job, float(acc), now - last
        last = now
