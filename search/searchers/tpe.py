"""Optuna's TPE (Bergstra et al. 2011; Optuna's `TPESampler`) through Ray Tune's `OptunaSearch`.

`TPESearcher` keeps the records, rewards and failure handling of every `SpaceSearcher` and asks an
inner `OptunaSearch` (one categorical parameter per decision, maximising the reward) for each choice
vector: a child's reward is what Optuna learns from; a failed child is told as FAIL (skipped) or,
with `on_failure: zero`, as reward 0.

OptunaSearch saves by pickling its study, which this project never loads. Instead the searcher logs
every ask and tell and `restore` replays the log on a fresh, identically seeded OptunaSearch: TPE is
deterministic given its seed and history, so the replayed study is the saved one (each replayed ask
is checked against the recorded choice vector).
"""

from __future__ import annotations

from typing import Any

import optuna

from search.trial_record import TrialRecord
from search.tune_searcher import Searcher, SpaceSearcher, optuna_search

STARTUP_TRIALS = 10  # Optuna's default: random children before TPE models the history
METRIC = "reward"


class TPESearcher(SpaceSearcher):
    """TPE over the decisions' indices; `startup_trials` random children first."""

    algorithm = "tpe"

    def __init__(self, *args: Any, startup_trials: int = STARTUP_TRIALS, **kwargs: Any) -> None:
        """The arguments of `SpaceSearcher`, then the number of random children before TPE starts."""
        super().__init__(*args, **kwargs)
        if not isinstance(startup_trials, int) or startup_trials < 1:
            raise ValueError(f"tpe startup_trials must be a positive integer, got {startup_trials!r}")
        slashed = [d.name for d in self.space.decisions if "/" in d.name]
        if slashed:
            raise ValueError(f"decision names {slashed} contain '/', which Ray Tune's OptunaSearch reads as nesting")
        self.startup_trials = startup_trials
        self.events: list[list[Any]] = []  # ["ask", key] and ["tell", key, reward or None], in order
        self.optuna = self._fresh_study()

    def _fresh_study(self) -> Searcher:
        space = {d.name: optuna.distributions.CategoricalDistribution(list(range(len(d.choices))))
                 for d in self.space.decisions}
        sampler = optuna.samplers.TPESampler(n_startup_trials=self.startup_trials, seed=self.seed)
        return optuna_search(space, METRIC, sampler)

    def _ask(self, key: str) -> list[int]:
        params = self.optuna.suggest(key)
        return [int(params[d.name]) for d in self.space.decisions]

    def _tell(self, key: str, reward: float | None) -> None:
        if reward is None:
            self.optuna.on_trial_complete(key, None, error=True)
        else:
            self.optuna.on_trial_complete(key, {METRIC: reward})

    def _propose(self) -> tuple[list[int], dict[str, Any]]:
        key = str(self.proposals_made)  # the record's index: a re-issued child keeps its Optuna trial
        self.events.append(["ask", key])
        return self._ask(key), {}

    def _learn(self, record: TrialRecord) -> None:
        key = str(record["index"])
        self.events.append(["tell", key, record["reward"]])
        self._tell(key, record["reward"])

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"startup_trials": self.startup_trials, "events": self.events}, {}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        if state["startup_trials"] != self.startup_trials:
            raise ValueError(f"checkpoint tpe startup_trials {state['startup_trials']} differs from the configured "
                             f"{self.startup_trials}; resume with the settings the search started with")
        recorded = {str(r["index"]): r["choices"] for r in [*self.trials, *self.pending.values(), *self.retry]}
        recorded.update({str(self.proposed + i): q["choices"] for i, q in enumerate(self.queued)})
        self.optuna = self._fresh_study()
        for event in state["events"]:
            if event[0] == "ask":
                if self._ask(event[1]) != recorded[event[1]]:
                    raise ValueError(f"replaying the TPE history gave another choice vector for child {event[1]} "
                                     f"than recorded (was Optuna upgraded since the search started?)")
            else:
                self._tell(event[1], event[2])
        self.events = state["events"]
