"""An endless, resumable stream of (images, labels) batches over a re-iterable data source.

The one-shot search draws training and validation batches one at a time, pass after pass. Its
checkpoint records where each stream stands (passes started, batches drawn in the current pass);
`restore` replays the source up to that point, so a resumed search sees exactly the batches an
uninterrupted one would. That needs a source whose n-th iteration yields the same batches in every
process, as `experiments.data.BatchLoader` does (its order and augmentation are seeded from
(seed, pass)); a list of batches qualifies too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

Batch = tuple[torch.Tensor, torch.Tensor]


class BatchStream:
    """`next()` gives the source's batches in order, starting a new pass when one ends."""

    def __init__(self, source: Iterable[Batch]) -> None:
        self.source = source
        self.passes = 0
        self.offset = 0
        self._iter: Iterator[Batch] | None = None

    def next(self) -> Batch:
        for _ in range(2):
            if self._iter is None:
                self._iter = iter(self.source)
                self.passes += 1
                self.offset = 0
            try:
                batch = next(self._iter)
            except StopIteration:
                self._iter = None
                continue
            self.offset += 1
            return batch
        raise ValueError("the data source yielded no batch in a whole pass; give it at least one batch")

    def state(self) -> dict[str, int]:
        return {"passes": self.passes, "offset": self.offset}

    def restore(self, state: dict[str, int]) -> None:
        """Replay the source to `state` (earlier passes in full: a pass may draw its order lazily)."""
        self._iter = None
        for p in range(1, state["passes"] + 1):
            self._iter, self.passes, self.offset = iter(self.source), p, 0
            want = state["offset"] if p == state["passes"] else None
            while want is None or self.offset < want:
                if next(self._iter, None) is None:
                    break
                self.offset += 1
        if (self.passes, self.offset) != (state["passes"], state["offset"]):
            raise ValueError(f"the data source gave {self.offset} batches in pass {self.passes}; the checkpoint "
                             f"was taken after {state['offset']} in pass {state['passes']}; resume with the same data")
