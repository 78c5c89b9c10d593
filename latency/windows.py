"""Repeated, interleaved timing: every figure is the median of several windows taken at different
moments, round robin across the things compared, so that a slow mode of the machine (seconds long
on a shared host) lands on all of them alike instead of biasing one.

`round_robin` times each timer once per round (the order rotates every round), for `windows`
rounds; a key whose `windows` fastest windows do not agree within `tolerance` gets more rounds, up
to `max_windows`. A figure is the median of its `windows` fastest windows (`quiet_median`): a slow
mode of the machine only ever adds time (on this shared host pieces fall into 1.4-1.7x slow modes
for seconds), so the fastest agreeing windows are the quiet machine's figure, and taking them for
every key keeps two keys timed in different modes from swapping order (the median of all windows
picks whichever mode holds the majority). A policy's `min_seconds` keeps every key in the rounds
until the batch has lasted that long, so that its windows are spread over that span: whole models
are timed so, since this machine's modes last longer than a few seconds. Each round also times the
invoke `floor` (a trivial model, its per-invoke cost is paid once by a whole model but by every
piece) and the drift `canary` (a fixed reference piece); both are kept with the batch so drift shows
in the table.

`settled_round_robin` times whole models until each one's figure repeats within its own span: the
figure from the first half of its windows (in time order) against the second half's (`halves_spread`)
within a tolerance, extending the batch by further spans up to a cap (one such host moved a 30 s
span's figure of one model by up to 38% within six minutes; benchmarks/latency_live_span.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from latency.stats import BenchResult


class Timer(Protocol):
    def window(self) -> BenchResult: ...


@dataclass(frozen=True)
class WindowPolicy:
    """How many windows per key and when they agree."""

    windows: int = 3
    max_windows: int = 7
    tolerance: float = 0.10
    min_seconds: float = 0.0  # every key stays in the rounds until the batch has lasted this long


@dataclass
class Batch:
    """The windows of one round-robin batch: per key, the floor's and the canary's per round."""

    windows: dict[str, list[float]] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    floor_ms: list[float] = field(default_factory=list)
    canary_ms: list[float] = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def floor(self) -> float:
        return float(np.median(self.floor_ms)) if self.floor_ms else 0.0

    @property
    def canary_drift(self) -> float:
        """max / min - 1 of the canary over the batch's rounds (0 without a canary)."""
        return max(self.canary_ms) / min(self.canary_ms) - 1 if len(self.canary_ms) > 1 else 0.0


def agree(windows: Sequence[float], count: int, tolerance: float) -> bool:
    """Whether the `count` fastest of `windows` lie within `tolerance` (relative to their median) of each other."""
    if len(windows) < count:
        return False
    fastest = sorted(windows)[:count]
    return fastest[-1] - fastest[0] <= tolerance * float(np.median(fastest))


def quiet_median(windows: Sequence[float], count: int) -> float:
    """The median of the `count` fastest windows (all of them when fewer)."""
    return float(np.median(sorted(windows)[:count]))


def round_robin(timers: dict[str, Timer], policy: WindowPolicy = WindowPolicy(), floor: Timer | None = None,
                canary: Timer | None = None) -> Batch:
    """Windows of every timer, interleaved round robin (see the module docstring)."""
    batch = Batch(windows={k: [] for k in timers}, runs={k: 0 for k in timers})
    keys = list(timers)
    start = time.perf_counter()
    pending = keys
    while pending:
        shift = batch.rounds % max(len(pending), 1)
        order = pending[shift:] + pending[:shift]
        if batch.rounds % 2:
            order.reverse()
        if floor is not None:
            batch.floor_ms.append(floor.window().median_ms)
        if canary is not None:
            batch.canary_ms.append(canary.window().median_ms)
        for key in order:
            result = timers[key].window()
            batch.windows[key].append(result.median_ms)
            batch.runs[key] += result.runs
        batch.rounds += 1
        if time.perf_counter() - start < policy.min_seconds:
            continue
        pending = [k for k in keys if len(batch.windows[k]) < policy.windows or (
            len(batch.windows[k]) < policy.max_windows
            and not agree(batch.windows[k], policy.windows, policy.tolerance))]
    batch.seconds = time.perf_counter() - start
    return batch


def halves_spread(windows: Sequence[float], count: int) -> float | None:
    """How well a figure repeats within its own span: `quiet_median` of the first half of `windows` (in
    time order) against that of the second half, max / min - 1; None while a half has fewer than `count`."""
    half = len(windows) // 2
    if half < count:
        return None
    first, second = quiet_median(windows[:half], count), quiet_median(windows[half:], count)
    return max(first, second) / min(first, second) - 1


def repeated(spread: float | None, tolerance: float) -> bool:
    """Whether a `halves_spread` shows the figure repeating within `tolerance` (None: not yet comparable)."""
    return spread is not None and spread <= tolerance


def unsettled(batch: Batch, count: int, tolerance: float) -> list[str]:
    """The keys of `batch` whose halves do not (yet) agree within `tolerance` (`halves_spread`)."""
    return [k for k, w in batch.windows.items() if not repeated(halves_spread(w, count), tolerance)]


def settled_round_robin(timers: dict[str, Timer], policy: WindowPolicy, max_seconds: float,
                        tolerance: float) -> Batch:
    """`round_robin` over at least `policy.min_seconds`, then extended by further spans as long (every
    key one window a round; one round without a span) while some key is `unsettled`, until the batch
    has lasted `max_seconds`. A slow mode that holds through the whole batch is not seen: it settles."""
    batch = round_robin(timers, policy)
    span = policy.min_seconds
    while unsettled(batch, policy.windows, tolerance) and batch.seconds < max_seconds:
        more = round_robin(timers, replace(policy, windows=1, max_windows=1,
                                           min_seconds=min(span, max_seconds - batch.seconds)))
        for key, windows in more.windows.items():
            batch.windows[key] += windows
            batch.runs[key] += more.runs[key]
        batch.rounds += more.rounds
        batch.seconds += more.seconds
    return batch
