"""The console of a run: what a person sees while `hwnas run` / `search` / `netadapt` works, plus the
TensorBoard scalars of the same events.

One `Console` is installed per command (`installed`); phases reach it through `current()` (a plain
console that prints, without TensorBoard, when none is installed, e.g. in library use). It shows
`info` lines always and `detail` lines only with `--verbose` (both always reach the attempt's log,
see `capture`), a progress bar with ETA for the search's children and for each NetAdapt iteration's
proposals (on a terminal; the lines carry the ETA as well), one line per finished child or proposal,
and writes `search/*` per child and `netadapt/*` per iteration to `tb/` (`scalars`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from experiments.console.capture import OutputCapture
from experiments.console.lines import (
    ProposalFacts,
    child_line,
    kept_line,
    proposal_line,
)
from experiments.console.scalars import ScalarLog
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.rundir.status import NetAdaptProgress

REWARD_WINDOW = 10  # the reward's moving average: mean over the last this many finished children


class _Pace:
    """Finished items against time since `start`, for an ETA of the remaining ones."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.done, self.first = total, done, done
        self.start = time.monotonic()

    def eta_s(self) -> float | None:
        finished = self.done - self.first
        return None if finished <= 0 else (time.monotonic() - self.start) / finished * (self.total - self.done)


class Console:
    """Lines, progress bars and scalars of one command; `attach` names the run directory."""

    def __init__(self, capture: OutputCapture | None = None, verbose: bool = False) -> None:
        self.capture, self.verbose = capture, verbose
        self.scalar_log: ScalarLog | None = None
        self._bar: tqdm | None = None
        self._pace: _Pace | None = None

    # ---- lines ---------------------------------------------------------------------------------
    def info(self, message: str) -> None:
        """A line a person should see."""
        if self.capture is not None:
            self.capture.say(message)
        else:
            tqdm.write(message, file=sys.stdout)
            sys.stdout.flush()

    def detail(self, message: str) -> None:
        """A line for the log; on the terminal only with --verbose."""
        if self.verbose or self.capture is None:
            self.info(message)
        else:
            self.capture.keep(message)

    def error(self, message: str) -> None:
        """A line on stderr (and in the log)."""
        if self.capture is not None:
            self.capture.say(message, error=True)
        else:
            print(message, file=sys.stderr, flush=True)

    def attach(self, run: RunDir, command: str) -> None:
        """Keep this attempt's full log in `run`'s logs/ and its scalars in tb/."""
        if self.capture is not None:
            self.capture.attach(run.path(layout.attempt_log(command, time.strftime("%Y%m%d-%H%M%S"))))
            self.info(f"full log: {self.capture.log_path}" + ("" if self.verbose else " (-v shows it here)"))
        self.scalar_log = ScalarLog(run.root)

    def scalars(self, group: str, step: int, values: Mapping[str, float | None]) -> None:
        """TensorBoard scalars `group/name` at `step` (e.g. a one-shot supernet's loss per step)."""
        if self.scalar_log is not None:
            self.scalar_log.add(group, step, values)

    # ---- progress bars -------------------------------------------------------------------------
    def _open_bar(self, desc: str, unit: str, total: int, done: int) -> None:
        self._close_bar()
        self._pace = _Pace(total, done)
        terminal = self.capture.terminal if self.capture is not None else sys.stderr
        self._bar = tqdm(total=total, initial=done, desc=desc, unit=unit, file=terminal, disable=None,
                         dynamic_ncols=True, leave=False)

    def _advance(self) -> tuple[int, int, float | None]:
        assert self._pace is not None
        self._pace.done += 1
        if self._bar is not None:
            self._bar.update(1)
        return self._pace.done, self._pace.total, self._pace.eta_s()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = self._pace = None

    # ---- search --------------------------------------------------------------------------------
    def search_started(self, total: int, done: int) -> None:
        self._open_bar("search", "child", total, done)

    def child_done(self, record: Mapping[str, Any], trials: Sequence[Mapping[str, Any]]) -> None:
        """A finished child (a record of `ControllerSearcher.trials`): its line and scalars."""
        if self._pace is None:
            self.search_started(len(trials), len(trials) - 1)
        done, total, eta = self._advance()
        self.info(child_line(dict(record), done, total, eta))
        rewards = [t["reward"] for t in trials if t.get("status") == "ok" and t.get("reward") is not None]
        if record.get("status") == "ok":
            self.scalars("search", int(record["index"]), {
                "reward": record.get("reward"), "reward_moving_average": sum(rewards[-REWARD_WINDOW:]) / len(
                    rewards[-REWARD_WINDOW:]) if rewards else None, "entropy": record.get("entropy"),
                "accuracy": record.get("accuracy"), "latency_ms": record.get("latency_ms")})
        else:
            self.scalars("search", int(record["index"]), {"entropy": record.get("entropy")})

    def search_finished(self) -> None:
        self._close_bar()

    # ---- NetAdapt ------------------------------------------------------------------------------
    def iteration_started(self, progress: NetAdaptProgress, target_ms: float | None) -> None:
        """An iteration begins (or resumes): the last kept step, a header, the proposals' bar."""
        self._iteration_kept(progress)
        target = f" (target {target_ms:.4f} ms)" if target_ms is not None else ""
        self.info(f"netadapt: iteration {progress.pending_iteration}: {len(progress.proposals)} proposals from "
                  f"{progress.latency_ms:.4f} ms{target}, {progress.proposals_done} done earlier")
        self._open_bar(f"iteration {progress.pending_iteration}", "proposal", len(progress.proposals),
                       progress.proposals_done)

    def proposal_done(self, facts: ProposalFacts) -> None:
        done, total, _ = self._advance()
        self.info(proposal_line(facts, done, total))

    def _iteration_kept(self, progress: NetAdaptProgress) -> None:
        """The line of the step kept by the iteration that just ended, and the trajectory point after it."""
        self._close_bar()
        self.netadapt_point(progress)
        if progress.kept and progress.kept[-1].get("iteration") == progress.iteration - 1:
            self.info(kept_line(progress.kept[-1]))

    def netadapt_point(self, progress: NetAdaptProgress) -> None:
        """The trajectory: latency and accuracy after `progress.iteration` kept steps."""
        self.scalars("netadapt", progress.iteration, {"latency_ms": progress.latency_ms,
                                                      "val_accuracy": progress.accuracy})

    def netadapt_finished(self, progress: NetAdaptProgress | None) -> None:
        self._close_bar()
        if progress is not None:
            self._iteration_kept(progress)

    def close(self) -> None:
        self._close_bar()
        if self.scalar_log is not None:
            self.scalar_log.close()


_current: list[Console] = []


def current() -> Console:
    """The installed console, or a plain one."""
    return _current[-1] if _current else Console()


@contextmanager
def installed(console: Console) -> Iterator[Console]:
    _current.append(console)
    try:
        yield console
    finally:
        _current.remove(console)
        console.close()


@contextmanager
def console_session(verbose: bool) -> Iterator[Console]:
    """For one run command: capture every output of the process (see `capture`) and install a console."""
    with OutputCapture(verbose) as capture, installed(Console(capture, verbose)) as console:
        yield console
