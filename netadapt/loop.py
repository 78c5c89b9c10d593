"""The NetAdapt loop as a resumable state machine over `NetAdaptState` records.

Each iteration lists every spec it will price (`specs_to_price`; `prefill` may fill a lookup
table with them in one quiet batch), chooses each layer's width on the grid, then hands the
unfinished fine-tunes to `run_jobs`: the control (the unchanged network) and every proposal,
all with the iteration's one seed, so they see the same initialisation of random state and the
same data order. `run_jobs` narrows, fine-tunes and evaluates them (possibly concurrently as Ray
tasks) and reports each as a validation accuracy or a `JobFailed`; the loop records each result
the moment it arrives, so a run killed mid-iteration resumes without recomputing a finished
fine-tune. The seed derives from (run seed, iteration), never from the order jobs finish in, so a
resumed run equals an uninterrupted one. A failed or non-finite proposal is recorded with its
reason and the others go on; when the control or every proposal fails, the loop stops with
`NetAdaptError`. The loop knows no datasets: fine-tuning and evaluation are callables passed in.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from models.spec import ArchSpec
from netadapt.config import LoopConfig
from netadapt.proposals import LatencyFn, generate, specs_to_price
from netadapt.records import Iteration, Kept, NetAdaptState, Proposed, SkipRecord, Trial
from netadapt.selection import Measured, select, within_step
from netadapt.state import STATE_FILE, load_state, save_state

log = logging.getLogger(__name__)

CONTROL = "control"  # the job key of an iteration's control


@dataclass(frozen=True)
class Job:
    """One fine-tune: a proposal narrowed from its parent, or the control (`arch` == `parent_arch`)."""

    iteration: int
    key: str
    parent_arch: str
    parent_weights: str
    arch: str
    weights_out: str
    seed: int


@dataclass(frozen=True)
class JobFailed:
    """What a job reports instead of an accuracy when its fine-tune failed (loss not finite, an error)."""

    reason: str


RunJobs = Callable[[list[Job]], Iterable[tuple[Job, float | JobFailed]]]
Evaluate = Callable[[str, str], float]  # (arch string, weights path) -> validation accuracy
Prefill = Callable[[list[ArchSpec]], None]  # fill the latency source for these specs before pricing them


class NetAdaptError(RuntimeError):
    """The loop cannot go on: the control, or every proposal, of an iteration failed."""


def iteration_seed(seed: int, iteration: int) -> int:
    """The one seed of every fine-tune of `iteration` (control and proposals alike)."""
    return zlib.crc32(f"{seed}/{iteration}".encode()) & 0x7FFFFFFF


class NetAdaptLoop:
    """Shrinks `seed_arch` until `latency` says the target is met. State lives in `workdir`."""

    def __init__(self, workdir: Path, latency: LatencyFn, run_jobs: RunJobs, evaluate: Evaluate,
                 config: LoopConfig, prefill: Prefill | None = None) -> None:
        self.workdir = Path(workdir)
        self.state_path = self.workdir / STATE_FILE
        self.latency = latency
        self.run_jobs = run_jobs
        self.evaluate = evaluate
        self.config = config
        self.prefill = prefill

    def start(self, seed_arch: ArchSpec, seed_weights: Path) -> NetAdaptState:
        """A fresh state for `seed_arch`, evaluated once; refuses to overwrite an existing run."""
        if self.state_path.exists():
            raise FileExistsError(f"{self.state_path} exists: resume it, or choose another directory")
        arch = seed_arch.to_str()
        seed = Kept(arch, str(seed_weights), self.latency(seed_arch), self.evaluate(arch, str(seed_weights)))
        state = NetAdaptState(self.config, seed, seed)
        save_state(self.state_path, state)
        return state

    def resume(self) -> NetAdaptState:
        state = load_state(self.state_path)
        if state.config != self.config:
            raise ValueError(f"{self.state_path} was started with {state.config}, not {self.config}; "
                             "resume with the same settings or start a new run")
        return state

    def run(self, state: NetAdaptState) -> NetAdaptState:
        """Iterate until the target is met (status 'met'), no proposal can cut delta, halved down to
        `min_delta_ratio` of it ('stuck'), or max_iterations ('max_iterations'); NetAdaptError when an
        iteration failed ('failed')."""
        cfg = self.config
        while state.status == "running":
            if state.current.latency_ms <= cfg.target_ms:
                state = dataclasses.replace(state, status="met")
            elif state.iteration >= cfg.max_iterations:
                state = dataclasses.replace(state, status="max_iterations")
            elif state.pending is None:
                state = self._propose(state)
            else:
                state = self._finish_iteration(state)
            save_state(self.state_path, state)
        if state.status == "failed":
            assert state.pending is not None
            raise NetAdaptError(_failure(state.pending))
        return state

    def _propose(self, state: NetAdaptState) -> NetAdaptState:
        cfg = self.config
        k = state.iteration
        delta = cfg.delta_at(k)
        current = ArchSpec.from_str(state.current.arch)
        if self.prefill is not None:
            self.prefill(specs_to_price(current, cfg.channel_divisor, cfg.head_proposals))
        proposals, skipped = generate(current, self.latency, delta, cfg.channel_divisor, cfg.head_proposals)
        while not proposals and delta / 2 >= cfg.delta_at(k) * cfg.min_delta_ratio * (1 - 1e-9):
            log.info("iteration %d: no layer can cut %.4f ms; proposing cuts of at least %.4f ms", k, delta, delta / 2)
            delta /= 2  # far from the target with every layer near its narrowest: smaller steps, not a stop
            proposals, skipped = generate(current, self.latency, delta, cfg.channel_divisor, cfg.head_proposals)
        for s in skipped:
            log.info("iteration %d: skipped %s%d: %s", k, s.kind, s.index, s.reason)
        skips = state.skipped + tuple(SkipRecord(k, s.kind, s.index, s.reason) for s in skipped)
        if not proposals:
            return dataclasses.replace(state, skipped=skips, status="stuck")
        out_dir = self.workdir / f"iter{k:03d}"
        pending = Iteration(
            iteration=k, delta_ms=delta, seed=iteration_seed(cfg.seed, k), latency_before=proposals[0].latency_before,
            control=Trial(state.current.arch, str(out_dir / f"{CONTROL}.pt")),
            proposals=tuple(Proposed(p.kind, p.index, p.width_before, p.width_after, p.latency_after,
                                     Trial(p.spec.to_str(), str(out_dir / f"{p.key}.pt"))) for p in proposals))
        return dataclasses.replace(state, skipped=skips, pending=pending)

    def _finish_iteration(self, state: NetAdaptState) -> NetAdaptState:
        it = state.pending
        assert it is not None and it.control is not None and it.seed is not None
        trials = {CONTROL: it.control, **{p.key: p.trial for p in it.proposals}}
        todo = [Job(it.iteration, key, state.current.arch, state.current.weights, t.arch, t.weights, it.seed)
                for key, t in trials.items() if not t.done]
        for job, result, seconds in _timed(self.run_jobs(todo), time.monotonic()):
            trials[job.key] = _outcome(trials[job.key], result, seconds)
            if trials[job.key].failure is not None:
                log.warning("iteration %d: %s failed: %s", it.iteration, job.key, trials[job.key].failure)
            state = dataclasses.replace(state, pending=_with_trials(it, trials))
            save_state(self.state_path, state)
        it = _with_trials(it, trials)
        missing = [key for key, t in trials.items() if not t.done]
        if missing:
            raise RuntimeError(f"run_jobs returned no result for {missing}")
        control = trials[CONTROL]
        ok = [p for p in it.proposals if p.trial.ok]
        if control.val_accuracy is None or not ok:
            return dataclasses.replace(state, pending=it, status="failed")
        ok = [ok[i] for i in within_step([it.latency_before - p.latency_after for p in ok],
                                         it.delta_ms, self.config.max_step_ratio)]
        best = ok[select(self.config.selection, control.val_accuracy,
                         [Measured(p.trial.val_accuracy, it.latency_before, p.latency_after) for p in ok])]
        log.info("iteration %d: kept %s (%d -> %d), %.4f -> %.4f ms, val accuracy %.4f (control %.4f)", it.iteration,
                 best.key, best.width_before, best.width_after, it.latency_before, best.latency_after,
                 best.trial.val_accuracy, control.val_accuracy)
        for key, trial in trials.items():
            if key != best.key:
                Path(trial.weights).unlink(missing_ok=True)
        assert best.trial.val_accuracy is not None
        current = Kept(best.trial.arch, best.trial.weights, best.latency_after, best.trial.val_accuracy)
        done = dataclasses.replace(it, chosen=best.key)
        return dataclasses.replace(state, current=current, iterations=state.iterations + (done,), pending=None)


def _outcome(trial: Trial, result: float | JobFailed, seconds: float) -> Trial:
    """`trial` with the job's result: an accuracy, or a failure (reported, or a non-finite accuracy)."""
    if isinstance(result, JobFailed):
        return dataclasses.replace(trial, failure=result.reason, duration_s=seconds)
    if not math.isfinite(result):
        return dataclasses.replace(trial, failure=f"non-finite validation accuracy {result}", duration_s=seconds)
    return dataclasses.replace(trial, val_accuracy=float(result), duration_s=seconds)


def _with_trials(it: Iteration, trials: dict[str, Trial]) -> Iteration:
    return dataclasses.replace(it, control=trials[CONTROL],
                               proposals=tuple(dataclasses.replace(p, trial=trials[p.key]) for p in it.proposals))


def _failure(it: Iteration) -> str:
    """Why iteration `it` could not keep a proposal, and what to do."""
    if it.control is not None and it.control.failure is not None:
        what = f"the control (the unchanged network) failed its fine-tune: {it.control.failure}"
    else:
        what = f"all {len(it.proposals)} proposals failed: " + "; ".join(
            f"{p.key}: {p.trial.failure}" for p in it.proposals)
    return (f"NetAdapt iteration {it.iteration}: {what}. The short fine-tune diverges or errs: check its "
            "recipe (a lower learning rate), then start a new run name")


def _timed(results: Iterable[tuple[Job, float | JobFailed]], started: float
           ) -> Iterator[tuple[Job, float | JobFailed, float]]:
    """Attach to each result the seconds since the previous one arrived (per-job duration)."""
    last = started
    for job, result in results:
        now = time.monotonic()
        yield job, result, now - last
        last = now
