"""Random search: every child a uniformly random choice vector (the baseline every other algorithm must beat)."""

from __future__ import annotations

from typing import Any

import numpy as np

from search.trial_record import TrialRecord
from search.tune_searcher import SpaceSearcher


def uniform_choices(rng: np.random.Generator, sizes: list[int]) -> list[int]:
    """One uniformly random index per decision."""
    return [int(rng.integers(n)) for n in sizes]


class RandomSearcher(SpaceSearcher):
    """Uniform sampling over the space; seeded, so a run is reproducible and resumes exactly."""

    algorithm = "random"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The arguments of `SpaceSearcher`."""
        super().__init__(*args, **kwargs)
        self.rng = np.random.default_rng(self.seed)
        self.sizes = [len(d.choices) for d in self.space.decisions]

    def _propose(self) -> tuple[list[int], dict[str, Any]]:
        return uniform_choices(self.rng, self.sizes), {}

    def _learn(self, record: TrialRecord) -> None:
        """Random search learns nothing."""

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"rng": self.rng.bit_generator.state}, {}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
