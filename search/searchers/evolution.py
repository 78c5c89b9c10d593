"""Regularized evolution (Real et al., AAAI 2019, "aging evolution", Algorithm 1) over named decisions.

The first `population` children are uniformly random. Every later child copies a parent and mutates
it: `tournament` members are drawn from the population without replacement, the one with the highest
reward is the parent, one decision (uniformly among those with more than one choice) is changed to a
different choice (uniformly). Each finished child joins the population and the oldest member leaves
it once it holds more than `population` (ageing: a member's reward is never re-used forever).

Under Ray Tune children finish asynchronously: a child joins when it completes, and a child
suggested while the population is still empty is random. A failed child never joins (with
`on_failure: zero` it joins with reward 0, like any other reward).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from search.searchers.random_search import uniform_choices
from search.trial_record import TrialRecord
from search.tune_searcher import SpaceSearcher

POPULATION = 20
TOURNAMENT = 5


class EvolutionSearcher(SpaceSearcher):
    """Aging evolution; `population` and `tournament` as in the module doc."""

    algorithm = "evolution"

    def __init__(self, *args: Any, population: int = POPULATION, tournament: int = TOURNAMENT, **kwargs: Any) -> None:
        """The arguments of `SpaceSearcher`, then the population size and the tournament sample size."""
        super().__init__(*args, **kwargs)
        if not (isinstance(population, int) and isinstance(tournament, int) and 1 <= tournament <= population):
            raise ValueError(f"evolution needs integers 1 <= tournament <= population; got tournament={tournament!r}, "
                             f"population={population!r}")
        self.population_size = population
        self.tournament = tournament
        self.rng = np.random.default_rng(self.seed)
        self.sizes = [len(d.choices) for d in self.space.decisions]
        self.mutable = [i for i, n in enumerate(self.sizes) if n > 1]
        self.population: list[int] = []  # positions in `trials`, oldest first

    def _propose(self) -> tuple[list[int], dict[str, Any]]:
        if self.proposals_made < self.population_size or not self.population:
            return uniform_choices(self.rng, self.sizes), {}
        drawn = self.rng.choice(len(self.population), size=min(self.tournament, len(self.population)), replace=False)
        members = [self.trials[self.population[int(i)]] for i in sorted(drawn)]
        parent = max(members, key=lambda t: t["reward"])
        child = list(parent["choices"])
        if self.mutable:
            decision = self.mutable[int(self.rng.integers(len(self.mutable)))]
            shift = 1 + int(self.rng.integers(self.sizes[decision] - 1))  # any other choice, uniformly
            child[decision] = (child[decision] + shift) % self.sizes[decision]
        return child, {"parent": parent["index"]}

    def _learn(self, record: TrialRecord) -> None:
        if record["reward"] is None:
            return
        self.population.append(len(self.trials) - 1)
        if len(self.population) > self.population_size:
            self.population.pop(0)

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        settings = {"population": self.population_size, "tournament": self.tournament}
        return {"rng": self.rng.bit_generator.state, "members": self.population, "settings": settings}, {}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        settings = {"population": self.population_size, "tournament": self.tournament}
        if state["settings"] != settings:
            raise ValueError(f"checkpoint evolution settings {state['settings']} differ from the configured {settings}; "
                             f"resume with the settings the search started with")
        self.rng.bit_generator.state = state["rng"]
        self.population = state["members"]
