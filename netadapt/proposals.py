"""NetAdapt proposals, pure functions on specs (MobileNetV3 section 4.2).

Two kinds: (a) `mid`: reduce one block's expansion (mid) channels; (b) `group`: reduce the shared
width of every block in a residual group (and the stem when the group holds it; a following block
without an expansion conv keeps mid == in, so its mid follows). With `head=True` two more, as the
original NetAdapt shrinks every layer: (c) `last`: the head's last 1x1 conv, (d) `hidden`: the
head's hidden 1x1 conv; at small resolutions the head is most of the latency.

For each, the largest width (a multiple of `divisor`) whose latency is at least `delta` below the
current model's is proposed; a layer whose narrowest width cannot reach `delta` is skipped with
its reason. The narrowest width is priced first, so a layer that cannot reach `delta` costs one
latency look-up; otherwise the width is found by bisection, taking latency as non-increasing as the
width shrinks: about log2(width / divisor) look-ups instead of one per width (a look-up may be a live
measurement when a table fills lazily: a 720-wide layer costs ~7 measurements, not ~90). Where
latency is not monotone in width (kernel tiling steps), the width found still reaches the goal, and
is the largest one on the bisection's path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from models.spec import ArchSpec, ResidualGroup, SpecError

LatencyFn = Callable[[ArchSpec], float]


@dataclass(frozen=True)
class Proposal:
    """A narrower spec and what it changes. `key` names it uniquely inside an iteration."""

    kind: str  # "mid", "group", "last" or "hidden"
    index: int  # block index (mid), first block of the group (group), 0 (last, hidden)
    width_before: int
    width_after: int
    spec: ArchSpec
    latency_before: float
    latency_after: float

    @property
    def key(self) -> str:
        return f"{self.kind}{self.index}"


@dataclass(frozen=True)
class Skipped:
    kind: str
    index: int
    reason: str


def with_mid(spec: ArchSpec, index: int, mid: int) -> ArchSpec:
    blocks = list(spec.blocks)
    blocks[index] = dataclasses.replace(blocks[index], mid=mid)
    return ArchSpec(spec.stem, tuple(blocks), spec.head)


def with_group_width(spec: ArchSpec, group: ResidualGroup, width: int) -> ArchSpec:
    """Every output in `group` narrowed to `width`; blocks without an expansion conv that read the
    group keep mid == in."""
    had_expand = spec.expands()
    blocks = list(spec.blocks)
    for i in group.blocks:
        blocks[i] = dataclasses.replace(blocks[i], out=width)
    stem = dataclasses.replace(spec.stem, out=width) if group.stem else spec.stem
    readers = [i + 1 for i in group.blocks] + ([0] if group.stem else [])
    for i in readers:
        if i < len(blocks) and not had_expand[i]:
            blocks[i] = dataclasses.replace(blocks[i], mid=width)
    return ArchSpec(stem, tuple(blocks), spec.head)


def with_head(spec: ArchSpec, field: str, width: int) -> ArchSpec:
    """The head's `last` or `hidden` width set to `width`."""
    return ArchSpec(spec.stem, spec.blocks, dataclasses.replace(spec.head, **{field: width}))


def _keeps_topology(before: ArchSpec, after: ArchSpec) -> bool:
    """Surgery carries weights only when no expansion conv appears or vanishes."""
    return before.expands() == after.expands()


def _largest_reaching(spec: ArchSpec, current: int, make: Callable[[int], ArchSpec], latency: LatencyFn,
                      goal_ms: float, divisor: int) -> tuple[int, ArchSpec, float] | str:
    """(width, spec, ms) of the largest narrower width that reaches `goal_ms` (by bisection over the
    widths that keep the block structure, -1 standing for the current width), else why none does."""
    candidates: list[tuple[int, ArchSpec]] = []
    for width in range((current - 1) // divisor * divisor, 0, -divisor):
        try:
            candidate = make(width)
        except SpecError:
            continue
        if _keeps_topology(spec, candidate):
            candidates.append((width, candidate))
    if not candidates:
        return f"no multiple of {divisor} below {current} keeps the block structure"
    narrowest, narrow_spec = candidates[-1]
    narrow_ms = latency(narrow_spec)
    if narrow_ms > goal_ms:
        return f"even width {narrowest} gives {narrow_ms:.4f} ms, above the goal {goal_ms:.4f} ms"
    found = (narrowest, narrow_spec, narrow_ms)
    wide, narrow = -1, len(candidates) - 1  # candidates[narrow] reaches the goal, candidates[wide] does not
    while narrow - wide > 1:
        middle = (wide + narrow) // 2
        width, candidate = candidates[middle]
        ms = latency(candidate)
        if ms <= goal_ms:
            narrow, found = middle, (width, candidate, ms)
        else:
            wide = middle
    return found


def generate(spec: ArchSpec, latency: LatencyFn, delta_ms: float, divisor: int = 8, head: bool = False
             ) -> tuple[list[Proposal], list[Skipped]]:
    """All proposals for one NetAdapt iteration, each cutting latency by at least `delta_ms`."""
    if delta_ms <= 0:
        raise ValueError(f"delta must be positive, got {delta_ms}")
    now = latency(spec)
    goal = now - delta_ms
    proposals: list[Proposal] = []
    skipped: list[Skipped] = []

    def consider(kind: str, index: int, width: int, make: Callable[[int], ArchSpec]) -> None:
        found = _largest_reaching(spec, width, make, latency, goal, divisor)
        if isinstance(found, str):
            skipped.append(Skipped(kind, index, f"cannot cut {delta_ms:.4f} ms: {found}"))
        else:
            width_after, candidate, ms = found
            proposals.append(Proposal(kind, index, width, width_after, candidate, now, ms))

    for i, (block, has_expand) in enumerate(zip(spec.blocks, spec.expands())):
        if not has_expand:
            skipped.append(Skipped("mid", i, "no expansion layer (mid == in)"))
            continue
        consider("mid", i, block.mid, lambda w, i=i: with_mid(spec, i, w))
    for group in spec.residual_groups():
        consider("group", group.blocks[0], group.width, lambda w, g=group: with_group_width(spec, g, w))
    if head:
        consider("last", 0, spec.head.last, lambda w: with_head(spec, "last", w))
        consider("hidden", 0, spec.head.hidden, lambda w: with_head(spec, "hidden", w))
    return proposals, skipped
