"""NetAdapt proposals, pure functions on specs (MobileNetV3 section 4.2).

Two kinds: (a) `mid`: reduce one block's expansion (mid) channels; (b) `group`: reduce the shared
width of every block in a residual group (and the stem when the group holds it; a following block
without an expansion conv keeps mid == in, so its mid follows). For each, the largest width (a
multiple of `divisor`) whose latency is at least `delta` below the current model's is proposed; a
layer that cannot reach `delta` is skipped with its reason.
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

    kind: str  # "mid" or "group"
    index: int  # block index (mid) or first block of the group (group)
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


def expands(spec: ArchSpec) -> tuple[bool, ...]:
    """Whether each block has a 1x1 expansion conv (mid != in)."""
    return tuple(b.mid != cin for b, cin in zip(spec.blocks, spec.in_channels()))


def with_mid(spec: ArchSpec, index: int, mid: int) -> ArchSpec:
    blocks = list(spec.blocks)
    blocks[index] = dataclasses.replace(blocks[index], mid=mid)
    return ArchSpec(spec.stem, tuple(blocks), spec.head)


def with_group_width(spec: ArchSpec, group: ResidualGroup, width: int) -> ArchSpec:
    """Every output in `group` narrowed to `width`; blocks without an expansion conv that read the
    group keep mid == in."""
    had_expand = expands(spec)
    blocks = list(spec.blocks)
    for i in group.blocks:
        blocks[i] = dataclasses.replace(blocks[i], out=width)
    stem = dataclasses.replace(spec.stem, out=width) if group.stem else spec.stem
    readers = [i + 1 for i in group.blocks] + ([0] if group.stem else [])
    for i in readers:
        if i < len(blocks) and not had_expand[i]:
            blocks[i] = dataclasses.replace(blocks[i], mid=width)
    return ArchSpec(stem, tuple(blocks), spec.head)


def _keeps_topology(before: ArchSpec, after: ArchSpec) -> bool:
    """Surgery carries weights only when no expansion conv appears or vanishes."""
    return expands(before) == expands(after)


def _largest_reaching(spec: ArchSpec, current: int, make: Callable[[int], ArchSpec], latency: LatencyFn,
                      goal_ms: float, divisor: int) -> tuple[int, ArchSpec, float] | None:
    width = (current - 1) // divisor * divisor
    while width >= divisor:
        try:
            candidate = make(width)
        except SpecError:
            candidate = None
        if candidate is not None and _keeps_topology(spec, candidate):
            ms = latency(candidate)
            if ms <= goal_ms:
                return width, candidate, ms
        width -= divisor
    return None


def generate(spec: ArchSpec, latency: LatencyFn, delta_ms: float, divisor: int = 8
             ) -> tuple[list[Proposal], list[Skipped]]:
    """All proposals for one NetAdapt iteration, each cutting latency by at least `delta_ms`."""
    if delta_ms <= 0:
        raise ValueError(f"delta must be positive, got {delta_ms}")
    now = latency(spec)
    goal = now - delta_ms
    proposals: list[Proposal] = []
    skipped: list[Skipped] = []
    for i, (block, has_expand) in enumerate(zip(spec.blocks, expands(spec))):
        if not has_expand:
            skipped.append(Skipped("mid", i, "no expansion layer (mid == in)"))
            continue
        found = _largest_reaching(spec, block.mid, lambda w, i=i: with_mid(spec, i, w), latency, goal, divisor)
        if found is None:
            skipped.append(Skipped("mid", i, f"no width below {block.mid} cuts {delta_ms:.4f} ms"))
        else:
            width, candidate, ms = found
            proposals.append(Proposal("mid", i, block.mid, width, candidate, now, ms))
    for group in spec.residual_groups():
        first = group.blocks[0]
        found = _largest_reaching(spec, group.width, lambda w, g=group: with_group_width(spec, g, w),
                                  latency, goal, divisor)
        if found is None:
            skipped.append(Skipped("group", first, f"no width below {group.width} cuts {delta_ms:.4f} ms"))
        else:
            width, candidate, ms = found
            proposals.append(Proposal("group", first, group.width, width, candidate, now, ms))
    return proposals, skipped
