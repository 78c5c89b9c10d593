"""Run independent jobs as Ray tasks with a cap on how many are in flight, yielding each result the
moment it finishes (so callers can persist it at once and a kill loses at most the running jobs).

Each job runs `fn(payload, *shared)` in a Ray worker with the given resources; `shared` objects (a
dataset, a recipe) go to the object store once, not once per job (an `ObjectRef` passes as is, for
objects shared across calls). On a cluster the tasks spread
over the nodes that have the resources.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import ray

P = TypeVar("P")
R = TypeVar("R")


def as_completed(fn: Callable[..., R], payloads: Sequence[P], *, shared: Sequence[Any] = (), num_cpus: float = 1.0,
                 num_gpus: float = 0.0, max_in_flight: int = 1) -> Iterator[tuple[P, R]]:
    """Yield `(payload, fn(payload, *shared))` for every payload, in completion order."""
    if not payloads:
        return
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(fn)
    refs = [obj if isinstance(obj, ray.ObjectRef) else ray.put(obj) for obj in shared]
    queue = list(payloads)
    running: dict[ray.ObjectRef, P] = {}
    try:
        while queue or running:
            while queue and len(running) < max(1, max_in_flight):
                payload = queue.pop(0)
                running[remote.remote(payload, *refs)] = payload
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                payload = running.pop(ref)
                yield payload, ray.get(ref)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
