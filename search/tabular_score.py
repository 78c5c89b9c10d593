"""Scoring a search algorithm against a tabular benchmark's ground truth (NAS-Bench-201).

`drive` runs any `SpaceSearcher` in-process, without Ray Tune trials: each suggested child is
"trained" by looking up its validation accuracy, and completed at once. `GroundTruth` holds, for a
dataset, a device column and a latency target, what the best answer would have been: the best
validation (and test) accuracy among the feasible cells (latency <= target) and the top-1% of the
feasible cells by validation accuracy. `returned` gives the arch a search of each budget returns
(its best by reward among the children within the target, as `hwnas search` hands to NetAdapt); no
algorithm here depends on its total budget, so a search of B children is exactly the first B trained
children of a longer one (with the proposals of already trained archs, and those the hard constraint
rules out, between them: they are not trained and cost no budget).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from search.nasbench201 import Cell, NasBench201Table
from search.rewards import RewardFn
from search.searchers import make_searcher
from search.trial_record import UNTRAINED
from search.tune_searcher import SpaceSearcher, best_within_target

HIT_BAND = (0.95, 1.0)  # a returned arch "hits" the target when its latency is within -5%..0% of it


@dataclass(frozen=True)
class Outcome:
    """How good one returned arch is: regrets in accuracy points (pp), feasibility, top-1%, target hit."""

    code: int
    regret_val: float
    regret_test: float
    feasible: bool
    top1: bool
    hit: bool


class GroundTruth:
    """The best possible answers for one dataset, device column and latency target."""

    def __init__(self, table: NasBench201Table, dataset: str, device: str, target_ms: float | None = None) -> None:
        """`target_ms` defaults to the median latency of the device column."""
        self.val = table.column(dataset, "val")
        self.test = table.column(dataset, "test")
        self.latency = table.latencies(device)
        self.target_ms = float(np.median(self.latency)) if target_ms is None else target_ms
        feasible = self.latency <= self.target_ms
        if not feasible.any():
            raise ValueError(f"no cell of {device!r} is within the target {self.target_ms} ms")
        self.best_val = float(self.val[feasible].max())
        self.best_test = float(self.test[feasible].max())
        top = math.ceil(0.01 * int(feasible.sum()))
        self.top1_val = float(np.sort(self.val[feasible])[-top])  # the lowest val accuracy inside the top 1%

    def score(self, code: int) -> Outcome:
        latency = self.latency[code]
        feasible = bool(latency <= self.target_ms)
        low, high = HIT_BAND
        return Outcome(code, 100 * (self.best_val - self.val[code]), 100 * (self.best_test - self.test[code]),
                       feasible, feasible and bool(self.val[code] >= self.top1_val),
                       bool(low * self.target_ms <= latency <= high * self.target_ms))


def lookup_child(table: NasBench201Table, dataset: str) -> Any:
    """The "training" of a child config: its validation accuracy (a fraction) from the table."""
    val = table.column(dataset, "val")
    return lambda config: {"accuracy": float(val[Cell.from_str(config["arch"]).code])}


def drive(searcher: SpaceSearcher, child: Any) -> SpaceSearcher:
    """Suggest and complete children one at a time until the searcher is finished."""
    trial = 0
    while True:
        config = searcher.suggest(f"t{trial}")
        if not isinstance(config, dict):
            return searcher
        searcher.on_trial_complete(f"t{trial}", child(config))
        trial += 1


def search_table(algorithm: str, table: NasBench201Table, dataset: str, device: str, reward: RewardFn, seed: int,
                 num_samples: int, **settings: Any) -> SpaceSearcher:
    """One finished search of `num_samples` children on the table (settings go to `make_searcher`)."""
    latency = table.latencies(device)
    searcher = make_searcher(algorithm, table.space, lambda cell: float(latency[cell.code]), reward, num_samples,
                             seed=seed, **settings)
    return drive(searcher, lookup_child(table, dataset))


def returned(trials: Sequence[dict[str, Any]], budgets: Sequence[int]) -> list[int | None]:
    """The code of the arch a search of each budget returns (None if no child of it completed)."""
    trained = [position for position, t in enumerate(trials) if t["status"] not in UNTRAINED]
    codes = []
    for budget in budgets:
        end = trained[budget - 1] + 1 if budget <= len(trained) else len(trials)
        best = best_within_target(trials[:end])
        codes.append(Cell.from_str(best[0]["arch"]).code if best else None)
    return codes
