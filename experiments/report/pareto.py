"""The accuracy-latency Pareto front: the points no other point beats on both axes."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pareto_front(latency: Sequence[float], accuracy: Sequence[float]) -> list[int]:
    """Indices of the non-dominated points, ordered by latency.

    A point is dominated when another has latency <= and accuracy >= with at least one strict;
    of identical points only the first is kept. Points with a NaN coordinate are ignored.
    """
    if len(latency) != len(accuracy):
        raise ValueError(f"latency has {len(latency)} values, accuracy {len(accuracy)}; they must pair up")
    valid = [i for i in range(len(latency)) if not (math.isnan(latency[i]) or math.isnan(accuracy[i]))]
    order = sorted(valid, key=lambda i: (latency[i], -accuracy[i], i))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return front
