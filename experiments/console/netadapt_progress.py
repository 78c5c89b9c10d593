"""NetAdapt's console lines and trajectory scalars: `ReportingJobs` wraps the loop's job runner, and
for every finished proposal reads what the loop saved about it (netadapt/state.json, written before
the proposals run) to report its kind, widths, predicted latency cut and dAcc. A proposal that finishes before its
iteration's control is reported when the control is, so every dAcc of an iteration is against the control."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from experiments.console.lines import ProposalFacts
from experiments.console.monitor import Console
from experiments.rundir.status import NetAdaptProgress, read_netadapt_progress
from netadapt.loop import CONTROL, Job, JobFailed, RunJobs


def proposal_facts(progress: NetAdaptProgress, key: str, acc: float | JobFailed) -> ProposalFacts | None:
    """The proposal `key` of the iteration in flight, finished with validation accuracy `acc` (or failed);
    the control's accuracy is set when the line is reported."""
    found = next((p for p in progress.proposals if p["key"] == key), None)
    if found is None or progress.accuracy is None:
        return None
    return ProposalFacts(iteration=int(progress.pending_iteration or progress.iteration), kind=str(found["kind"]),
                         index=int(found["index"]), width_before=int(found["width_before"]),
                         width_after=int(found["width_after"]), latency_before=float(found["latency_before"]),
                         latency_after=float(found["latency_after"]),
                         acc=None if isinstance(acc, JobFailed) else float(acc), acc_before=float(progress.accuracy),
                         failure=acc.reason if isinstance(acc, JobFailed) else None)


class ReportingJobs:
    """`run_jobs` of the loop, reporting each iteration's start and each finished proposal."""

    def __init__(self, run_jobs: RunJobs, state_path: Path, console: Console, target_ms: float | None) -> None:
        self.run_jobs, self.state_path, self.console, self.target_ms = run_jobs, state_path, console, target_ms

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float | JobFailed]]:
        progress = read_netadapt_progress(self.state_path)
        if progress is not None:
            self.console.iteration_started(progress, self.target_ms)
        control = progress.control_acc if progress is not None else None
        control_due = control is None and any(job.key == CONTROL for job in jobs)
        held: list[ProposalFacts] = []  # finished before the control: their dAcc waits for it
        for job, acc in self.run_jobs(jobs):
            if job.key == CONTROL:
                control_due = False
                control = None if isinstance(acc, JobFailed) else float(acc)
            facts = proposal_facts(progress, job.key, acc) if progress is not None else None
            yield job, acc  # the loop saves the result before it asks for the next one:
            if facts is not None:  # a line on the console is a result on disk (a kill after it loses nothing)
                held.append(facts)
            if not control_due:
                self._report(held, control)
        self._report(held, control)

    def _report(self, held: list[ProposalFacts], control: float | None) -> None:
        """Print the held proposals' lines, their dAcc against `control` (None: against the accuracy before)."""
        for facts in held:
            self.console.proposal_done(replace(facts, control_acc=control))
        held.clear()

    def finished(self) -> None:
        """The loop ended: close the bar, record the last trajectory point."""
        self.console.netadapt_finished(read_netadapt_progress(self.state_path))
