"""Every search algorithm by its `search.algorithm` name, built through one call: `make_searcher`.

`reinforce` and `ppo` are the LSTM controller (`ControllerSearcher`); `random`, `evolution` and `tpe`
are `RandomSearcher`, `EvolutionSearcher` and `TPESearcher`. All share the record, reward, failure
and resume behaviour of `SpaceSearcher`. Each reads only its own settings: `policy`, `controller`
and `batch_size` for the controller, `evolution` (population, tournament) and `tpe`
(startup_trials) for the others; the rest are ignored, as unused config sections are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search.policy import PolicyConfig
from search.rewards import RewardFn
from search.searchers.evolution import EvolutionSearcher
from search.searchers.random_search import RandomSearcher
from search.searchers.tpe import TPESearcher
from search.tune_searcher import (
    BATCH_SIZE,
    ControllerSearcher,
    DiscreteSpace,
    LatencyModel,
    SpaceSearcher,
)

ALGORITHMS = ("reinforce", "ppo", "random", "evolution", "tpe")


def make_searcher(algorithm: str, space: DiscreteSpace, latency: LatencyModel, reward: RewardFn, num_samples: int,
                  *, seed: int = 0, budget: dict[str, Any] | None = None, metric: str = "accuracy",
                  on_failure: str = "skip", after_complete: Callable[[SpaceSearcher], None] | None = None,
                  policy: PolicyConfig | None = None, controller: dict[str, Any] | None = None,
                  batch_size: int = BATCH_SIZE, evolution: dict[str, Any] | None = None,
                  tpe: dict[str, Any] | None = None, skip_over_target: bool = True) -> SpaceSearcher:
    """The `algorithm` searcher over `space`; `policy` defaults to `PolicyConfig.default(algorithm)`;
    `skip_over_target`: the hard constraint of `search.tune_searcher` (its module doc)."""
    common: dict[str, Any] = {"seed": seed, "budget": budget, "metric": metric, "on_failure": on_failure,
                              "after_complete": after_complete, "skip_over_target": skip_over_target}
    if algorithm in ("reinforce", "ppo"):
        policy = policy or PolicyConfig.default(algorithm)
        if policy.algorithm != algorithm:
            raise ValueError(f"search algorithm {algorithm!r} was given policy settings for {policy.algorithm!r}")
        return ControllerSearcher(space, latency, reward, num_samples, policy=policy, batch_size=batch_size,
                                  controller=controller, **common)
    if algorithm == "random":
        return RandomSearcher(space, latency, reward, num_samples, **common)
    if algorithm == "evolution":
        return EvolutionSearcher(space, latency, reward, num_samples, **(evolution or {}), **common)
    if algorithm == "tpe":
        return TPESearcher(space, latency, reward, num_samples, **(tpe or {}), **common)
    raise ValueError(f"search algorithm {algorithm!r} is unknown; choose one of {', '.join(ALGORITHMS)}")
