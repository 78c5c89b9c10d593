"""The pure Pareto-front function on hand-made points and against a brute-force check."""

from __future__ import annotations

import math
import random

import pytest

from experiments.report.pareto import pareto_front


def test_hand_made_points() -> None:
    latency = [1.0, 2.0, 3.0, 2.0, 4.0, 1.5, math.nan, 0.5]
    accuracy = [0.5, 0.7, 0.6, 0.7, 0.9, 0.4, 0.99, 0.1]
    # 7 (fastest), 0, 1 (its duplicate 3 dropped), 4; 2 is beaten by 1, 5 by 0, 6 has no latency.
    assert pareto_front(latency, accuracy) == [7, 0, 1, 4]


def test_equal_latency_keeps_only_the_most_accurate() -> None:
    assert pareto_front([2.0, 2.0, 2.0], [0.3, 0.8, 0.5]) == [1]


def test_a_faster_more_accurate_point_dominates_everything() -> None:
    assert pareto_front([5.0, 1.0, 3.0], [0.5, 0.9, 0.7]) == [1]


def test_empty_and_mismatched() -> None:
    assert pareto_front([], []) == []
    with pytest.raises(ValueError, match="pair up"):
        pareto_front([1.0], [0.5, 0.6])


def test_matches_brute_force_on_random_points() -> None:
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 30)
        lat = [round(rng.uniform(1, 5), 1) for _ in range(n)]
        acc = [round(rng.uniform(0, 1), 1) for _ in range(n)]
        front = pareto_front(lat, acc)
        dominated = {i for i in range(n) for j in range(n)
                     if lat[j] <= lat[i] and acc[j] >= acc[i] and (lat[j] < lat[i] or acc[j] > acc[i])}
        distinct = {(lat[i], acc[i]) for i in range(n) if i not in dominated}
        assert {(lat[i], acc[i]) for i in front} == distinct
        assert len(front) == len(distinct)
        assert [lat[i] for i in front] == sorted(lat[i] for i in front)
