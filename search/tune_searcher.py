"""The controller as a Ray Tune `Searcher`: the only module of search/ that imports ray.

`suggest` samples a choice vector from the policy, decodes it and hands the child a small JSON
config (`arch` string, `decisions` by name, `seed`, `budget`); `on_trial_complete` turns the child's
accuracy and the arch's latency (from a `LatencyModel`, a callable `ArchSpec -> ms`) into a reward
and updates the controller once `batch_size` rewards are in. A failed child (exception, missing or
non-finite metric, or a `failure` string in its last result) is recorded with its reason and then
skipped or given reward 0, as configured.

Every child's record holds its choices, the log-probability and entropy of the policy that sampled
it, latency, reward terms, status and times: `suggested_at` / `completed_at` (driver clock),
`started_at` and `train_s` when the child reports them, `time_total_s` from Tune. `timings` sums the
seconds the searcher itself spends sampling, looking up latency, updating the policy and in
`after_complete` (the driver's checkpoints): the framework's share of the driver's time.

`save` / `restore` write one file with `torch.save` and read it with `torch.load(weights_only=True)`:
the bookkeeping is a JSON string inside it, the policy a plain state_dict; nothing is pickled.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ray.tune.search import Searcher

from models.spec import ArchSpec
from search.controller import Controller
from search.policy import PolicyConfig, PolicyGradient
from search.rewards import RewardFn
from search.space import SearchSpace

LatencyModel = Callable[[ArchSpec], float]
FAILURE_TREATMENTS = ("skip", "zero")
STATE_FORMAT = "hwnas-controller-searcher/2"
TIMINGS = ("sample_s", "latency_s", "update_s", "after_complete_s")
CHILD_TIMES = ("started_at", "train_s")  # copied from a child's last result when present


class ControllerSearcher(Searcher):
    """Policy-gradient search over a `SearchSpace`, driven by Ray Tune (or by hand in tests)."""

    def __init__(self, space: SearchSpace, latency: LatencyModel, reward: RewardFn, num_samples: int,
                 policy: PolicyConfig | None = None, batch_size: int = 8, seed: int = 0,
                 budget: dict[str, Any] | None = None, metric: str = "accuracy", on_failure: str = "skip",
                 controller: dict[str, Any] | None = None,
                 after_complete: Callable[[ControllerSearcher], None] | None = None) -> None:
        """`controller` holds Controller keyword arguments (hidden, embedding, temperature, tanh_constant);
        `after_complete` is called after every recorded child (e.g. to checkpoint the search)."""
        super().__init__(metric=metric, mode="max")
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if on_failure not in FAILURE_TREATMENTS:
            raise ValueError(f"on_failure {on_failure!r} is unknown; choose one of {', '.join(FAILURE_TREATMENTS)}")
        self.space = space
        self.latency = latency
        self.reward = reward
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.budget = dict(budget or {})
        self.on_failure = on_failure
        self.after_complete = after_complete
        model = Controller([(d.name, len(d.choices)) for d in space.decisions], seed=seed, **(controller or {}))
        self.policy = PolicyGradient(model, policy or PolicyConfig(), seed)
        self.suggested = 0
        self.pending: dict[str, dict[str, Any]] = {}
        self.retry: list[dict[str, Any]] = []
        self.trials: list[dict[str, Any]] = []
        self.batch: list[int] = []
        self.update_log: list[dict[str, float]] = []
        self.timings = dict.fromkeys(TIMINGS, 0.0)

    # ---- Ray Tune Searcher API ------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        """Checks Tune's metric/mode against ours; the search space comes from `space`, not `config`."""
        if metric is not None and metric != self.metric:
            raise ValueError(f"Tune metric {metric!r} differs from the searcher's {self.metric!r}; use one name")
        if mode is not None and mode != "max":
            raise ValueError(f"the searcher maximises {self.metric!r}; Tune mode must be 'max', got {mode!r}")
        return False

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.retry:
            record = self.retry.pop(0)
        elif self.suggested >= self.num_samples:
            return Searcher.FINISHED
        else:
            record = self._new_record()
        record["trial_id"] = trial_id
        record["suggested_at"] = time.time()
        self.pending[trial_id] = record
        return trial_config(record, self.budget)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        record = self.pending.pop(trial_id, None)
        if record is None:
            return  # not ours (e.g. a trial restored by Tune that this searcher already recorded)
        record["completed_at"] = time.time()
        for key in ("time_total_s", *CHILD_TIMES):
            record[key] = (result or {}).get(key)
        accuracy = (result or {}).get(self.metric)
        failure = (result or {}).get("failure")
        if error:
            self._fail(record, "error", "the trial raised an error (see its Ray log)")
        elif isinstance(failure, str) and failure:
            self._fail(record, "failed", failure)
        elif not isinstance(accuracy, (int, float)) or not math.isfinite(accuracy):
            self._fail(record, "invalid", f"metric {self.metric!r} is {accuracy!r}, not a finite number")
        else:
            terms = self.reward(float(accuracy), record["latency_ms"])
            record.update(status="ok", reason=None, accuracy=float(accuracy), reward=terms.value,
                          reward_terms=terms.as_dict())
        self.trials.append(record)
        if record["reward"] is not None:
            self.batch.append(len(self.trials) - 1)
        if len(self.batch) >= self.batch_size:
            start = time.perf_counter()
            self._update()
            self.timings["update_s"] += time.perf_counter() - start
        if self.after_complete is not None:
            start = time.perf_counter()
            self.after_complete(self)
            self.timings["after_complete_s"] += time.perf_counter() - start

    def save(self, checkpoint_path: str) -> None:
        meta = {
            "format": STATE_FORMAT,
            "decisions": [[d.name, len(d.choices)] for d in self.space.decisions],
            "num_samples": self.num_samples,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "suggested": self.suggested,
            "pending": self.pending,
            "retry": self.retry,
            "trials": self.trials,
            "batch": self.batch,
            "update_log": self.update_log,
            "timings": self.timings,
        }
        torch.save({"meta": json.dumps(meta, allow_nan=False), "policy": self.policy.state_dict()}, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Load a `save` file; pending trials stay pending (Tune may finish them), see `requeue_pending`."""
        state = torch.load(Path(checkpoint_path), weights_only=True)
        meta = json.loads(state["meta"])
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"{checkpoint_path}: not a controller searcher state (format {meta.get('format')!r})")
        decisions = [[d.name, len(d.choices)] for d in self.space.decisions]
        if meta["decisions"] != decisions:
            raise ValueError(f"{checkpoint_path}: saved for another search space (decisions differ); resume with "
                             f"the space the search started with")
        self.policy.load_state_dict(state["policy"])
        self.num_samples = max(self.num_samples, meta["num_samples"])
        for key in ("batch_size", "seed", "suggested", "pending", "retry", "trials", "batch", "update_log", "timings"):
            setattr(self, key, meta[key])

    # ---- helpers ---------------------------------------------------------------------------
    def requeue_pending(self) -> int:
        """After a driver restart with a fresh Tuner: re-issue unfinished children (same arch and seed)."""
        requeued = sorted(self.pending.values(), key=lambda r: r["index"])
        self.retry.extend(requeued)
        self.pending.clear()
        return len(requeued)

    def best(self, k: int = 1) -> list[dict[str, Any]]:
        """The k completed trials with the highest reward."""
        done = [t for t in self.trials if t["status"] == "ok"]
        return sorted(done, key=lambda t: t["reward"], reverse=True)[:k]

    def finished(self) -> bool:
        """Whether every sample was suggested and completed."""
        return self.suggested >= self.num_samples and not self.pending and not self.retry

    def _new_record(self) -> dict[str, Any]:
        start = time.perf_counter()
        sample = self.policy.sample(1)[0]
        arch = self.space.decode(sample.choices)
        looked_up = time.perf_counter()
        latency_ms = float(self.latency(arch))
        self.timings["sample_s"] += looked_up - start
        self.timings["latency_s"] += time.perf_counter() - looked_up
        index = self.suggested
        self.suggested += 1
        return {
            "index": index,
            "arch": arch.to_str(),
            "choices": sample.choices,
            "decisions": self.space.values(sample.choices),
            "seed": int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0]),
            "log_prob": sample.log_prob,
            "entropy": sample.entropy,
            "policy_updates": self.policy.updates,
            "latency_ms": latency_ms,
            "status": "pending", "reason": None, "accuracy": None, "reward": None, "reward_terms": None,
        }

    def _fail(self, record: dict[str, Any], status: str, reason: str) -> None:
        record.update(status=status, reason=reason, accuracy=None, reward_terms=None,
                      reward=0.0 if self.on_failure == "zero" else None)

    def _update(self) -> None:
        rows = [self.trials[i] for i in self.batch]
        stats = self.policy.update([r["choices"] for r in rows], [r["reward"] for r in rows],
                                   [r["log_prob"] for r in rows])
        self.update_log.append({"update": self.policy.updates, "trials": len(self.trials), **stats})
        self.batch = []


def trial_config(record: dict[str, Any], budget: dict[str, Any]) -> dict[str, Any]:
    """The small JSON config a child trial receives."""
    return {"arch": record["arch"], "decisions": record["decisions"], "seed": record["seed"], "budget": dict(budget)}
