"""NetAdapt's state as typed, immutable records (the loop replaces them, never mutates them).

`NetAdaptState` holds the settings, the seed, the kept model, every finished `Iteration` and the
pending one. An iteration records its one seed (every fine-tune of the iteration uses it, so all
see the same data order), the control (the unchanged network, fine-tuned like the proposals) and
each proposal with its `Trial`: accuracy, seconds, or why it failed. JSON forms live in
netadapt/state.py; the history tables (netadapt/history.py) are derived from these records.
"""

from __future__ import annotations

from dataclasses import dataclass

from netadapt.config import LoopConfig
from netadapt.proposals import Change

STATUSES = ("running", "met", "stuck", "max_iterations", "failed")


@dataclass(frozen=True)
class Kept:
    """A model the loop holds: the seed, or the proposal kept by the latest iteration."""

    arch: str
    weights: str
    latency_ms: float
    val_accuracy: float


@dataclass(frozen=True)
class Trial:
    """One fine-tune and its outcome: not yet run (`done` false), a validation accuracy, or a failure."""

    arch: str
    weights: str
    val_accuracy: float | None = None
    duration_s: float | None = None
    failure: str | None = None

    @property
    def done(self) -> bool:
        return self.val_accuracy is not None or self.failure is not None

    @property
    def ok(self) -> bool:
        return self.val_accuracy is not None


@dataclass(frozen=True)
class Proposed(Change):
    """A proposal of an iteration as recorded: the change, its predicted latency, its fine-tune."""

    latency_after: float
    trial: Trial


@dataclass(frozen=True)
class Iteration:
    """One NetAdapt iteration. `control` is None only in iterations recorded by state format 1,
    which fine-tuned no control; `seed` is None there too (format 1 seeded each proposal apart)."""

    iteration: int
    delta_ms: float
    seed: int | None
    latency_before: float
    control: Trial | None
    proposals: tuple[Proposed, ...]
    chosen: str | None = None  # the kept proposal's key, once the iteration is finished


@dataclass(frozen=True)
class SkipRecord:
    iteration: int
    kind: str
    index: int
    reason: str


@dataclass(frozen=True)
class NetAdaptState:
    """Everything a resumed run needs. `iteration` counts the finished iterations."""

    config: LoopConfig
    seed: Kept
    current: Kept
    iterations: tuple[Iteration, ...] = ()
    pending: Iteration | None = None
    skipped: tuple[SkipRecord, ...] = ()
    status: str = "running"  # one of STATUSES

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown NetAdapt status {self.status!r}; one of {list(STATUSES)}")

    @property
    def iteration(self) -> int:
        return len(self.iterations)
