"""The record of one searched child: the one set of names the searchers write, the search phase
saves (`controller.pt`, `trials.csv`), the console prints and the report reads.

A `TrialRecord` is a plain JSON-able mapping (it travels in the searcher's checkpoint) with these
keys; `trial_row` turns one into a `trials.csv` row (`TRIAL_COLUMNS`): the reward's terms spread into
their own columns, the decisions as JSON text, and `wall_s` from suggestion to completion. `stage`
says whether the child was trained stand-alone (`standalone`) or scored on the one-shot supernet's
shared weights (`one_shot`). A record with status `cached` was not trained: its arch had been
trained before and its accuracy and reward are that child's (`reason` names it). A record with status
`over_target` was not trained either: under the hard reward its arch was priced over the latency
target, so it could never be handed on; its reward is the hard reward at the mean accuracy of the
children trained before it (`search.tune_searcher`, "The hard constraint"), and its accuracy None.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict


class TrialRecord(TypedDict, total=False):
    index: int
    trial_id: str | None
    stage: str
    status: str  # pending, ok, cached (an already trained arch, not trained again), over_target (ruled out by
    # the hard reward, not trained), failed, error or invalid
    reason: str | None
    arch: str
    choices: list[int]
    decisions: dict[str, Any]
    seed: int
    accuracy: float | None
    latency_ms: float
    reward: float | None
    reward_terms: dict[str, Any] | None  # `search.rewards.Reward.as_dict()`
    log_prob: float | None  # algorithm-specific fields: None where an algorithm has no such thing
    entropy: float | None
    policy_updates: int | None
    parent: int | None
    suggested_at: float | None  # Unix seconds (driver clock)
    started_at: float | None
    completed_at: float | None
    time_total_s: float | None
    train_s: float | None


STAGES = ("standalone", "one_shot")
CACHED = "cached"  # the status of a proposal of an already trained arch, completed from that child's record
OVER_TARGET = "over_target"  # a child priced over the hard reward's target: completed untrained (module doc)
UNTRAINED = (CACHED, OVER_TARGET)  # records completed without training a child: they cost no search budget
ALGORITHM_FIELDS = ("log_prob", "entropy", "policy_updates", "parent")
# column of trials.csv -> key of the child's reward terms (`search.rewards.Reward`)
REWARD_TERM_COLUMNS = {"reward_kind": "kind", "target_ms": "target_ms", "latency_ratio": "ratio",
                       "reward_penalty": "penalty", "reward_exponent": "exponent"}
TRIAL_COLUMNS = ("index", "trial_id", "stage", "status", "reason", "arch", "accuracy", "latency_ms", "reward",
                 *REWARD_TERM_COLUMNS, "decisions", "seed", *ALGORITHM_FIELDS, "suggested_at", "started_at",
                 "completed_at", "wall_s", "time_total_s", "train_s")


def trial_row(record: TrialRecord) -> dict[str, Any]:
    """One `trials.csv` row (columns `TRIAL_COLUMNS`)."""
    row = {k: record.get(k) for k in TRIAL_COLUMNS}
    terms = record.get("reward_terms") or {}
    row.update({column: terms.get(key) for column, key in REWARD_TERM_COLUMNS.items()})
    row["stage"] = record.get("stage", "standalone")
    row["decisions"] = json.dumps(record.get("decisions"))
    suggested, completed = record.get("suggested_at"), record.get("completed_at")
    row["wall_s"] = completed - suggested if completed is not None and suggested is not None else None
    return row
