"""Which proposal an iteration keeps.

- `mobilenetv3` (default, MobileNetV3 section 4.2): the largest dAcc / |dLatency|, i.e. the
  smallest accuracy loss per millisecond saved.
- `netadapt` (original NetAdapt): the highest accuracy after the short fine-tune, i.e. the
  smallest accuracy drop.

Ties go to the earlier proposal, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

RULES = ("mobilenetv3", "netadapt")


def score(rule: str, acc_before: float, acc_after: float, lat_before: float, lat_after: float) -> float:
    if rule == "mobilenetv3":
        saved = abs(lat_before - lat_after)
        if saved == 0:
            raise ValueError("a proposal that saves no latency cannot be scored by dAcc/|dLatency|")
        return (acc_after - acc_before) / saved
    if rule == "netadapt":
        return acc_after
    raise ValueError(f"unknown selection rule {rule!r}; choose one of {list(RULES)}")


def select(rule: str, acc_before: float, results: Sequence[tuple[float, float, float]]) -> int:
    """Index of the chosen proposal; `results` holds (acc_after, lat_before, lat_after) each."""
    if not results:
        raise ValueError("no proposal to select from")
    scores = [score(rule, acc_before, acc, lb, la) for acc, lb, la in results]
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
