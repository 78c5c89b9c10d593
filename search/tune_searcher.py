"""The Ray Tune `Searcher` seam of every search algorithm: the only place search/ meets ray (with
search/searchers/tpe.py, which wraps Ray Tune's own OptunaSearch).

`SpaceSearcher` is the shared adapter. It works on any space of named decisions (`decisions`,
`decode(choices)` giving an object with `to_str()`, `values(choices)`): the MnasNet block spaces of
`search.space` and tabular spaces such as `search.nasbench201`. An algorithm subclass only proposes
choice vectors (`_propose`) and learns from finished records (`_learn`); everything else is here and
the same for all: `suggest` decodes the proposal and hands the child a small JSON config (`arch`
string, `decisions` by name, `seed`, `budget`); `on_trial_complete` turns the child's accuracy and the
arch's latency (from a `LatencyModel`, a callable `decoded arch -> ms`) into a reward. A failed child
(exception, missing or non-finite metric, or a `failure` string in its last result) is recorded with
its reason and then skipped or given reward 0, as configured. `best()` is the best by reward.

A proposal of an arch already trained with success is not trained again (a real search would
re-train the same child for nothing): it is completed at once from that child's record (status
`cached`, the same accuracy and reward, `reason` naming the child) and the algorithm learns from it
like from any other (the controller draws new archs only: see below). `num_samples` counts trained
children only, for every algorithm alike; after `MAX_REPEATS` proposals in a row of trained (or
ruled-out, below) archs (a collapsed policy, a space smaller than the budget) the search ends early
(`exhausted`).

The hard constraint (`skip_over_target`, on by default): under the hard reward (`mnasnet_hard`) a
child over the latency target can never be handed on (`best_within_target`), so training it buys
nothing but a learning signal. Once a child has been trained, a proposal the latency model prices
over the target is completed untrained (status `over_target`, like `cached` it costs no budget) with
the reward the hard constraint would give it at the mean accuracy of the children trained so far:
ACC_mean x TAR / LAT, a penalty that grows with the overshoot, which the algorithm learns from like
from any other reward. The soft and absolute rewards trade latency for accuracy, so under them every
child is trained. On NAS-Bench-201 about 30% of a 200-child REINFORCE search was over the target
(docs/controller_tuning.md, "The hard constraint trains only children within the target").

Every child's record holds its choices, latency, reward terms, status, times and the algorithm's
fields (`search.trial_record.ALGORITHM_FIELDS`: the controller's log-probability, entropy and update count; evolution's
parent), None where an algorithm has none: `suggested_at` / `completed_at` (driver clock),
`started_at` and `train_s` when the child reports them, `time_total_s` from Tune. `timings` sums the
seconds the searcher itself spends proposing, looking up latency, learning and in `after_complete`
(the driver's checkpoints): the framework's share of the driver's time.

Quiet pricing (`set_pricer`): when the latency model would have to time something for a proposal
(a lookup table's missing entries, a live model not yet benchmarked), `suggest` holds the proposal
back (returns None, so Tune asks again later) until no child of this search runs, then times the
held proposals together with the algorithm's `_upcoming` ones (the controller's sampled batch) in
one batch, and only then launches them: no latency is timed while a child trains. While it waits,
up to `price_batch` proposals are held, so the batch covers the next children to run.

`save` / `restore` write one file with `torch.save` and read it with `torch.load(weights_only=True)`:
the bookkeeping and any JSON-able algorithm state are a JSON string inside it, tensors (the policy's
state_dict) plain; nothing is pickled.

`ControllerSearcher` is the LSTM controller with REINFORCE or PPO (`search.policy`). It samples a
whole batch of `batch_size` children at once from the current policy (one LSTM pass instead of
`batch_size`) and drops what is left of it when the policy updates, so every child still comes
from the policy in force when it was suggested. With `policy.top_k` > 0 each update also fits
the policy to the `top_k` best children trained so far by reward (priority-queue training,
`search.policy`); they are read from the records, so resuming needs no extra state.

The controller proposes only new archs: a batch is drawn from the policy conditioned on archs not
trained, not running, not held for pricing and not already in the batch (sampling without
replacement, by rejection: samples of such archs are dropped and more are drawn, up to
`DRAW_CHUNK_MAX` at a time), so it never re-proposes a trained arch and every policy update is
made from `batch_size` children, trained or ruled out by the hard constraint. (Before, a converging
controller re-proposed trained archs thousands of times per search, each completed from its record
and learnt from, which cost a policy update every `batch_size` of them; docs/controller_tuning.md.)
After `MAX_REPEATS` samples in a row of such archs the search ends early (`exhausted`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from ray.tune.search import Searcher

from search.controller import Controller
from search.policy import PolicyConfig, PolicyGradient, Sample
from search.rewards import RewardFn
from search.space import Decision
from search.trial_record import ALGORITHM_FIELDS, CACHED, OVER_TARGET, TrialRecord

LatencyModel = Callable[[Any], float]

FAILURE_TREATMENTS = ("skip", "zero")
STATE_FORMAT = "hwnas-searcher/4"
TIMINGS = ("sample_s", "latency_s", "update_s", "after_complete_s")
CHILD_TIMES = ("started_at", "train_s")  # copied from a child's last result when present
BATCH_SIZE = 10  # children per policy update (docs/controller_tuning.md)
MAX_REPEATS = 1000  # proposals (the controller: policy samples) in a row of trained or ruled-out archs before a search gives up
DRAW_CHUNK_MAX = 1024  # the most policy samples the controller draws at once while looking for new archs


class QuietPricer(Protocol):
    """The timing side of a latency model: whether pricing an arch would time something, and the
    batch timing itself (called only while no child of the search runs)."""

    def needs_timing(self, arch: Any) -> bool: ...

    def time_quietly(self, archs: Sequence[Any]) -> None: ...


class DiscreteSpace(Protocol):
    """What a searcher needs of a space: named decisions, and choice vectors -> arch and -> values."""

    decisions: tuple[Decision, ...]

    def decode(self, choices: Sequence[int]) -> Any: ...

    def values(self, choices: Sequence[int]) -> dict[str, object]: ...


def best_by_reward(trials: Sequence[TrialRecord], k: int = 1) -> list[TrialRecord]:
    """The k completed trials with the highest reward (the earliest first among equals)."""
    done = [t for t in trials if t["status"] == "ok"]
    return sorted(done, key=lambda t: t["reward"], reverse=True)[:k]


def within_target(trial: TrialRecord) -> bool:
    """Whether a child's latency is at or under its reward's target (ratio <= 1; True without a ratio)."""
    ratio = (trial.get("reward_terms") or {}).get("ratio")
    return ratio is None or ratio <= 1.0


def best_within_target(trials: Sequence[TrialRecord], k: int = 1) -> list[TrialRecord]:
    """What a search hands on (its top-k, the seed of NetAdapt): the k completed trials with the highest
    reward, those within the latency target first. A reward only trades latency against accuracy (the
    absolute one is symmetric, so its best child sits just over the target as often as under); a user
    with a latency budget wants a child that meets it, and one over it only when none does."""
    done = [t for t in trials if t["status"] == "ok"]
    return sorted(done, key=lambda t: (within_target(t), t["reward"]), reverse=True)[:k]


class SpaceSearcher(Searcher):
    """Records, rewards, failure handling and resume, shared by every algorithm (see the module doc)."""

    algorithm: str  # the `search.algorithm` name; set by each subclass
    reuse_trained = True  # complete proposals of already trained archs from their record (module doc)

    def __init__(self, space: DiscreteSpace, latency: LatencyModel, reward: RewardFn, num_samples: int,
                 seed: int = 0, budget: dict[str, Any] | None = None, metric: str = "accuracy",
                 on_failure: str = "skip", after_complete: Callable[[SpaceSearcher], None] | None = None,
                 skip_over_target: bool = True) -> None:
        """`after_complete` is called after every recorded child (e.g. to checkpoint the search);
        `skip_over_target`: the hard constraint of the module doc (no effect under the other rewards)."""
        super().__init__(metric=metric, mode="max")
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
        if on_failure not in FAILURE_TREATMENTS:
            raise ValueError(f"on_failure {on_failure!r} is unknown; choose one of {', '.join(FAILURE_TREATMENTS)}")
        self.space = space
        self.latency = latency
        self.reward = reward
        self.num_samples = num_samples
        self.seed = seed
        self.budget = dict(budget or {})
        self.on_failure = on_failure
        self.after_complete = after_complete
        self.skip_over_target = skip_over_target
        self.ruled_out: set[str] = set()  # archs completed `over_target`
        self.proposed = 0  # records made, cached ones included: the next record's index
        self.suggested = 0  # children handed out to train: what `num_samples` bounds
        self.exhausted = False
        self.trained: dict[str, int] = {}  # arch -> position in `trials` of its successfully trained child
        self.pending: dict[str, TrialRecord] = {}
        self.retry: list[TrialRecord] = []
        self.trials: list[TrialRecord] = []
        self.timings = dict.fromkeys(TIMINGS, 0.0)
        self.queued: list[dict[str, Any]] = []  # proposals held back until their latency is timed quietly
        self.pricer: QuietPricer | None = None
        self.price_batch = 1

    def set_pricer(self, pricer: QuietPricer | None, price_batch: int = 1) -> None:
        """Time what `pricer` lacks only while no child runs, `price_batch` proposals at a time at least."""
        self.pricer, self.price_batch = pricer, max(1, int(price_batch))

    @property
    def proposals_made(self) -> int:
        """Proposals drawn from the algorithm so far: the records made and those held back for quiet
        pricing (the next proposal's record index)."""
        return self.proposed + len(self.queued)

    # ---- what an algorithm provides ---------------------------------------------------------
    def _propose(self) -> tuple[list[int], dict[str, Any]] | None:
        """The next choice vector and the algorithm's record fields (a subset of `ALGORITHM_FIELDS`); None
        when the algorithm has nothing left to propose (the search then ends early, `exhausted`)."""
        raise NotImplementedError

    def _learn(self, record: TrialRecord) -> None:
        """Take in a finished record (status set; reward None for a skipped failure)."""
        raise NotImplementedError

    def _upcoming(self) -> list[Any]:
        """Archs the algorithm will propose next whatever the results (priced in the same quiet batch)."""
        return []

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The algorithm's state for `save`: (JSON-able part, tensors part)."""
        return {}, {}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        """Restore what `_state` returned."""

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
        else:
            record = self._next_child()
            if record is None or isinstance(record, str):
                return record  # None: its latency is timed once no child runs, Tune asks again; or FINISHED
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
            self.trained.setdefault(record["arch"], len(self.trials))
        self._record(record)

    def _record(self, record: TrialRecord) -> None:
        """Append a finished record, let the algorithm learn from it, call `after_complete`."""
        self.trials.append(record)
        start = time.perf_counter()
        self._learn(record)
        self.timings["update_s"] += time.perf_counter() - start
        if self.after_complete is not None:
            start = time.perf_counter()
            self.after_complete(self)
            self.timings["after_complete_s"] += time.perf_counter() - start

    def save(self, checkpoint_path: str) -> None:
        state, tensors = self._state()
        meta = {
            "format": STATE_FORMAT,
            "algorithm": self.algorithm,
            "decisions": [[d.name, len(d.choices)] for d in self.space.decisions],
            "num_samples": self.num_samples,
            "seed": self.seed,
            "proposed": self.proposed,
            "suggested": self.suggested,
            "exhausted": self.exhausted,
            "pending": self.pending,
            "retry": self.retry,
            "trials": self.trials,
            "timings": self.timings,
            "queued": self.queued,
            "state": state,
        }
        torch.save({"meta": json.dumps(meta, allow_nan=False), "tensors": tensors}, checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        """Load a `save` file; pending trials stay pending (Tune may finish them), see `requeue_pending`."""
        saved = torch.load(Path(checkpoint_path), weights_only=True)
        meta = json.loads(saved["meta"])
        if meta.get("format") != STATE_FORMAT:
            raise ValueError(f"{checkpoint_path}: not a searcher state of this version (format {meta.get('format')!r},"
                             f" expected {STATE_FORMAT!r})")
        if meta["algorithm"] != self.algorithm:
            raise ValueError(f"{checkpoint_path}: saved by the {meta['algorithm']!r} search, not {self.algorithm!r}; "
                             f"resume with the algorithm the search started with")
        decisions = [[d.name, len(d.choices)] for d in self.space.decisions]
        if meta["decisions"] != decisions:
            raise ValueError(f"{checkpoint_path}: saved for another search space (decisions differ); resume with "
                             f"the space the search started with")
        self.num_samples = max(self.num_samples, meta["num_samples"])
        for key in ("seed", "proposed", "suggested", "exhausted", "pending", "retry", "trials", "timings"):
            setattr(self, key, meta[key])
        self.trained = {}
        for position, t in enumerate(self.trials):
            if t["status"] == "ok":
                self.trained.setdefault(t["arch"], position)
        self.ruled_out = {t["arch"] for t in self.trials if t["status"] == OVER_TARGET}
        self.queued = meta["queued"]
        self._load_state(meta["state"], saved["tensors"])

    # ---- helpers ---------------------------------------------------------------------------
    def requeue_pending(self) -> int:
        """After a driver restart with a fresh Tuner: re-issue unfinished children (same arch and seed)."""
        requeued = sorted(self.pending.values(), key=lambda r: r["index"])
        self.retry.extend(requeued)
        self.pending.clear()
        return len(requeued)

    def best(self, k: int = 1) -> list[TrialRecord]:
        """The k completed trials the search hands on (`best_within_target`)."""
        return best_within_target(self.trials, k)

    def finished(self) -> bool:
        """Whether every sample (or, if `exhausted`, every one proposed) was suggested and completed."""
        return (self.suggested >= self.num_samples or self.exhausted) and not self.pending and not self.retry

    def _next_child(self) -> TrialRecord | str | None:
        """The next child to train; proposals of trained archs are completed from their record on the
        way (module doc). None while the next child's latency needs timing and a child runs (quiet
        pricing); `Searcher.FINISHED` when the budget is spent or the algorithm keeps proposing
        trained archs."""
        for _ in range(MAX_REPEATS + 1):
            if self.suggested >= self.num_samples or self.exhausted:
                return Searcher.FINISHED
            if not self.queued and not self._queue_proposal():
                self.exhausted = True
                return Searcher.FINISHED
            arch = self.space.decode(self.queued[0]["choices"])
            position = self.trained.get(arch.to_str()) if self.reuse_trained else None
            if position is None and self.pricer is not None and self.pricer.needs_timing(arch):
                if self.pending:
                    if len(self.queued) < min(self.price_batch, self.num_samples - self.suggested):
                        self._queue_proposal()
                    return None
                start = time.perf_counter()
                self.pricer.time_quietly([self.space.decode(q["choices"]) for q in self.queued] + self._upcoming())
                self.timings["latency_s"] += time.perf_counter() - start
            proposal = self.queued.pop(0)
            record = self._new_record(proposal["choices"], proposal["fields"])
            if position is None and self._rule_out(record):
                continue
            if position is None:
                self.suggested += 1
                return record
            done = self.trials[position]
            now = time.time()
            record.update(status=CACHED, reason=f"same arch as child {done['index']}: not trained again",
                          accuracy=done["accuracy"], reward=done["reward"], reward_terms=done["reward_terms"],
                          trial_id=None, suggested_at=now, completed_at=now,
                          **dict.fromkeys(("time_total_s", *CHILD_TIMES)))
            self._record(record)
        self.exhausted = True
        return Searcher.FINISHED

    def _rule_out(self, record: TrialRecord) -> bool:
        """Complete `record` untrained if the hard constraint rules it out (module doc); whether it did."""
        if not self.skip_over_target or not self.trained:
            return False
        accuracies = [self.trials[p]["accuracy"] for p in self.trained.values()]
        mean = sum(accuracies) / len(accuracies)
        terms = self.reward(mean, record["latency_ms"])
        if terms.kind != "mnasnet_hard" or terms.ratio <= 1.0:
            return False
        now = time.time()
        record.update(status=OVER_TARGET, accuracy=None, reward=terms.value, reward_terms=terms.as_dict(),
                      reason=f"{record['latency_ms']:.4g} ms is over the target {terms.target_ms:.4g} ms: not trained, "
                             f"rewarded at the mean accuracy {mean:.4f} of {len(accuracies)} trained children",
                      trial_id=None, suggested_at=now, completed_at=now, **dict.fromkeys(("time_total_s", *CHILD_TIMES)))
        self.ruled_out.add(record["arch"])
        self._record(record)
        return True

    def _queue_proposal(self) -> bool:
        """Hold the algorithm's next proposal; False if it has none."""
        start = time.perf_counter()
        proposal = self._propose()
        if proposal is not None:
            choices, fields = proposal
            self.queued.append({"choices": [int(c) for c in choices], "fields": fields})
        self.timings["sample_s"] += time.perf_counter() - start
        return proposal is not None

    def _new_record(self, choices: list[int], fields: dict[str, Any]) -> TrialRecord:
        start = time.perf_counter()
        arch = self.space.decode(choices)
        latency_ms = float(self.latency(arch))
        self.timings["latency_s"] += time.perf_counter() - start
        index = self.proposed
        self.proposed += 1
        return {
            "index": index,
            "stage": "standalone",
            "arch": arch.to_str(),
            "choices": [int(c) for c in choices],
            "decisions": self.space.values(choices),
            "seed": int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0]),
            **dict.fromkeys(ALGORITHM_FIELDS), **fields,
            "latency_ms": latency_ms,
            "status": "pending", "reason": None, "accuracy": None, "reward": None, "reward_terms": None,
        }

    def _fail(self, record: TrialRecord, status: str, reason: str) -> None:
        record.update(status=status, reason=reason, accuracy=None, reward_terms=None,
                      reward=0.0 if self.on_failure == "zero" else None)


class ControllerSearcher(SpaceSearcher):
    """Policy-gradient search (REINFORCE or PPO, per `policy.algorithm`) with the LSTM controller."""

    def __init__(self, space: DiscreteSpace, latency: LatencyModel, reward: RewardFn, num_samples: int,
                 policy: PolicyConfig | None = None, batch_size: int = BATCH_SIZE, seed: int = 0,
                 budget: dict[str, Any] | None = None, metric: str = "accuracy", on_failure: str = "skip",
                 controller: dict[str, Any] | None = None,
                 after_complete: Callable[[SpaceSearcher], None] | None = None, skip_over_target: bool = True) -> None:
        """`controller` holds Controller keyword arguments (hidden_size, embedding_size, temperature, tanh_clip);
        the policy is updated once `batch_size` rewards are in."""
        super().__init__(space, latency, reward, num_samples, seed, budget, metric, on_failure, after_complete,
                         skip_over_target)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        model = Controller([(d.name, len(d.choices)) for d in space.decisions], seed=seed, **(controller or {}))
        self.policy = PolicyGradient(model, policy or PolicyConfig(), seed)
        self.algorithm = self.policy.config.algorithm
        self.batch: list[int] = []
        self.drawn: list[dict[str, Any]] = []  # sampled from the current policy, not yet suggested
        self.update_log: list[dict[str, float]] = []

    def _propose(self) -> tuple[list[int], dict[str, Any]] | None:
        if not self.drawn:
            self.drawn = [{"choices": s.choices, "log_prob": s.log_prob, "entropy": s.entropy}
                          for s in self._draw_untrained(self.batch_size)]
            if not self.drawn:
                return None
        sample = self.drawn.pop(0)
        return sample["choices"], {"log_prob": sample["log_prob"], "entropy": sample["entropy"],
                                   "policy_updates": self.policy.updates}

    def _draw_untrained(self, n: int) -> list[Sample]:
        """Up to `n` samples of the policy, each of an arch neither trained, nor running, nor held, nor drawn
        before it: the policy conditioned on new archs, by rejection (class doc). Fewer (none) only after
        `MAX_REPEATS` samples in a row of such archs."""
        taken = set(self.trained) | self.ruled_out | {r["arch"] for r in (*self.pending.values(), *self.retry)}
        taken |= {self.space.decode(q["choices"]).to_str() for q in self.queued}
        new: list[Sample] = []
        seen: set[tuple[int, ...]] = set()  # choice vectors already judged taken (a converged policy repeats a few)
        rejected, size = 0, n
        while len(new) < n and rejected < MAX_REPEATS:
            for sample in self.policy.sample(size):
                key = tuple(sample.choices)
                arch = None if key in seen else self.space.decode(sample.choices).to_str()
                seen.add(key)
                if arch is None or arch in taken:
                    rejected += 1
                    if rejected >= MAX_REPEATS:
                        break
                    continue
                rejected = 0
                taken.add(arch)
                new.append(sample)
                if len(new) == n:
                    break
            size = min(DRAW_CHUNK_MAX, 4 * size)  # a policy sure of trained archs: draw more at a time
        return new

    def _upcoming(self) -> list[Any]:
        return [self.space.decode(d["choices"]) for d in self.drawn]

    def _learn(self, record: TrialRecord) -> None:
        if record["reward"] is not None:
            self.batch.append(len(self.trials) - 1)
        if len(self.batch) < self.batch_size:
            return
        rows = [self.trials[i] for i in self.batch]
        elite = [t["choices"] for t in best_by_reward(self.trials, self.policy.config.top_k)]
        stats = self.policy.update([r["choices"] for r in rows], [r["reward"] for r in rows],
                                   [r["log_prob"] for r in rows], elite)
        self.update_log.append({"update": self.policy.updates, "trials": len(self.trials), **stats})
        self.batch = []
        self.drawn = []  # from the policy before this update
        self.queued = []  # held back for pricing: also from the policy before this update

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        state = {"batch_size": self.batch_size, "batch": self.batch, "drawn": self.drawn,
                 "update_log": self.update_log}
        return state, {"policy": self.policy.state_dict()}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.policy.load_state_dict(tensors["policy"])
        for key in ("batch_size", "batch", "drawn", "update_log"):
            setattr(self, key, state[key])


def trial_config(record: TrialRecord, budget: dict[str, Any]) -> dict[str, Any]:
    """The small JSON config a child trial receives."""
    return {"arch": record["arch"], "decisions": record["decisions"], "seed": record["seed"], "budget": dict(budget)}


def optuna_search(space: dict[str, Any], metric: str, sampler: Any) -> Searcher:
    """Ray Tune's `OptunaSearch` maximising `metric` over `space` with `sampler` (built here, in the one
    module of search/ that imports Ray; `search.searchers.tpe` wraps it)."""
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(space=space, metric=metric, mode="max", sampler=sampler)
