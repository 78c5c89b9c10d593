"""Deterministic, disjoint splits of one pool of examples into train / validation / test indices."""

from __future__ import annotations

import numpy as np

from experiments.config.errors import DataError


def split_indices(n: int, fractions: tuple[float, ...], seed: int, source: str) -> list[np.ndarray]:
    """Shuffle range(n) with `seed` and cut off one block per fraction; the rest comes first.

    Returns `len(fractions) + 1` disjoint sorted index arrays covering range(n): the remainder, then
    one per fraction. Every part must be non-empty.
    """
    order = np.random.default_rng(seed).permutation(n)
    sizes = [int(round(f * n)) for f in fractions]
    rest = n - sum(sizes)
    if rest < 1 or min(sizes, default=1) < 1:
        raise DataError(f"{source}: {n} examples cannot be split into a remainder and fractions {list(fractions)} "
                        f"with none empty; add data or change data.val_fraction / data.test_fraction")
    parts, start = [np.sort(order[:rest])], rest
    for size in sizes:
        parts.append(np.sort(order[start:start + size]))
        start += size
    return parts
