"""Which proposal an iteration keeps, on equal footing with a control.

Every proposal of an iteration and the control (the unchanged network) are fine-tuned for the
same steps with the same seed and data order; dAcc is a proposal's validation accuracy minus the
control's, dLat its predicted latency minus the current model's (negative: a cut). The choice:

1. Drop every dominated proposal: p is dominated when another proposal q has accuracy >= p's and
   latency <= p's, and is strictly better on at least one of the two.
2. Among those left, keep the one with the largest score, ties going to the earlier proposal:
   - `mobilenetv3` (default, MobileNetV3 section 4.2): score = dAcc / |dLat|, the accuracy gained
     (or, negative, lost) per millisecond saved;
   - `netadapt` (original NetAdapt): score = accuracy, i.e. the smallest drop against the control.

Before both, `within_step` sets aside the proposals that cut more than `max_step_ratio` x delta when
others cut less (a coarse width grid can make a layer's smallest step several deltas): when
proposals lose accuracy against the control, dAcc / |dLat| favours the biggest cut, and one such
step (2.1x delta, -4 points against the control's accuracy, in a NetAdapt run from the demo's
searched seed) is the giant step NetAdapt's schedule is meant to avoid. When every proposal cuts
more, only those within one delta of the smallest cut compete (seen from the searched seed at 224 px:
two expansions at 2.02x and 2.08x delta, and the first group 16 -> 8 at 3.84x, which the ratio kept,
at -7 points against the control).

Step 1 matters for `mobilenetv3` when proposals gain against the control: then the ratio favours
the smallest cut, and without step 1 a proposal worse on both axes could win (0.55 at -0.015 ms
beats 0.60 at -0.040 ms against a control at 0.50). For `netadapt` step 1 only breaks ties of
accuracy toward the lower latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

RULES = ("mobilenetv3", "netadapt")


class Measured(NamedTuple):
    """A fine-tuned proposal: its validation accuracy, and the latency before and after it."""

    val_accuracy: float
    latency_before: float
    latency_after: float


def score(rule: str, control_accuracy: float, result: Measured) -> float:
    if rule == "mobilenetv3":
        saved = abs(result.latency_before - result.latency_after)
        if saved == 0:
            raise ValueError("a proposal that saves no latency cannot be scored by dAcc/|dLatency|")
        return (result.val_accuracy - control_accuracy) / saved
    if rule == "netadapt":
        return result.val_accuracy
    raise ValueError(f"unknown selection rule {rule!r}; choose one of {list(RULES)}")


def dominated(results: Sequence[Measured]) -> set[int]:
    """Indices of the proposals another one beats on accuracy or latency while no worse on the other."""
    def beats(q: Measured, p: Measured) -> bool:
        no_worse = q.val_accuracy >= p.val_accuracy and q.latency_after <= p.latency_after
        return no_worse and (q.val_accuracy > p.val_accuracy or q.latency_after < p.latency_after)
    return {i for i, p in enumerate(results) if any(beats(q, p) for q in results)}


def within_step(cuts: Sequence[float], delta: float, max_step_ratio: float | None) -> list[int]:
    """Indices of the proposals (by their latency cuts) that compete: those cutting at most
    `max_step_ratio` x `delta`; when none does, those cutting at most one delta more than the smallest
    cut; all when no ratio is set."""
    if max_step_ratio is None or not cuts:
        return list(range(len(cuts)))
    bound = max(max_step_ratio * delta, min(cuts) + delta)
    return [i for i, cut in enumerate(cuts) if cut <= bound]


def select(rule: str, control_accuracy: float, results: Sequence[Measured]) -> int:
    """Index in `results` of the kept proposal (see the module docstring for the exact rule)."""
    if not results:
        raise ValueError("no proposal to select from")
    out = dominated(results)
    scores = {i: score(rule, control_accuracy, r) for i, r in enumerate(results) if i not in out}
    return max(scores, key=lambda i: (scores[i], -i))
