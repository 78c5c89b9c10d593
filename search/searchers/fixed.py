"""A given list of choice vectors, each trained once in order: the stand-alone stage after a one-shot
search trains the supernet's top-k archs through the same Searcher seam (records, rewards, failures,
resume) as every algorithm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from search.trial_record import TrialRecord
from search.tune_searcher import SpaceSearcher


class FixedSearcher(SpaceSearcher):
    """Hands out `choices[0]`, `choices[1]`, ... and learns nothing."""

    algorithm = "fixed"
    reuse_trained = False  # train exactly the given list, one child per vector

    def __init__(self, *args: Any, choices: Sequence[Sequence[int]], **kwargs: Any) -> None:
        """The arguments of `SpaceSearcher` (`num_samples` must equal len(choices)), then the vectors."""
        super().__init__(*args, **{**kwargs, "skip_over_target": False})  # every given arch is trained
        if len(choices) != self.num_samples:
            raise ValueError(f"{len(choices)} choice vectors for {self.num_samples} samples; give one per sample")
        self.choices = [[int(c) for c in vector] for vector in choices]

    def _propose(self) -> tuple[list[int], dict[str, Any]]:
        return list(self.choices[self.proposals_made]), {}

    def _learn(self, record: TrialRecord) -> None:
        """A fixed list learns nothing."""

    def _upcoming(self) -> list[Any]:
        return [self.space.decode(c) for c in self.choices[self.proposals_made:]]

    def _state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return {"choices": self.choices}, {}

    def _load_state(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        if state["choices"] != self.choices:
            raise ValueError("the saved stand-alone stage trains other archs than this one-shot search picked; "
                             "resume with the same settings or start a new run name")
