"""NetAdapt proposals, pure functions on specs (MobileNetV3 section 4.2).

Two kinds: (a) `mid`: reduce one block's expansion (mid) channels; (b) `group`: reduce the shared
width of every block in a residual group (and the stem when the group holds it; a following block
without an expansion conv keeps mid == in, so its mid follows). With `head=True` two more, as the
original NetAdapt shrinks every layer: (c) `last`: the head's last 1x1 conv, (d) `hidden`: the
head's hidden 1x1 conv; at small resolutions the head is most of the latency.

Widths lie on a grid: every multiple of `divisor` below the current width that keeps the block
structure (no expansion conv appears or vanishes) is a candidate. An iteration works in two steps:
`specs_to_price` lists every spec the iteration will price (the current one and every candidate of
every layer), so a lookup table can be filled in one quiet batch before any fine-tune starts; then
`choose` takes, per layer, NetAdapt's choice: the largest width whose latency cut is at least
`delta`. Every candidate is priced, so latency need not fall monotonically as the width falls (on
XNNPACK a width that is not a multiple of 16 can cost more than a wider one); a layer where no
width cuts `delta` is skipped with its reason. `generate` does both steps with one latency callable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from models.spec import ArchSpec, ResidualGroup, SpecError

LatencyFn = Callable[[ArchSpec], float]


@dataclass(frozen=True)
class Change:
    """Which layer a proposal narrows, from which width to which. `key` names it uniquely inside
    an iteration."""

    kind: str  # "mid", "group", "last" or "hidden"
    index: int  # block index (mid), first block of the group (group), 0 (last, hidden)
    width_before: int
    width_after: int

    @property
    def key(self) -> str:
        return f"{self.kind}{self.index}"


@dataclass(frozen=True)
class Proposal(Change):
    """A narrower spec, what it changes and its latency before and after."""

    spec: ArchSpec
    latency_before: float
    latency_after: float


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


@dataclass(frozen=True)
class Layer:
    """One layer NetAdapt may narrow, with its candidate specs on the grid, widest first."""

    kind: str
    index: int
    width: int
    options: tuple[tuple[int, ArchSpec], ...]


def _options(spec: ArchSpec, current: int, make: Callable[[int], ArchSpec], divisor: int
             ) -> tuple[tuple[int, ArchSpec], ...]:
    """(width, spec) for every multiple of `divisor` below `current` that keeps the block structure."""
    options = []
    for width in range((current - 1) // divisor * divisor, 0, -divisor):
        try:
            candidate = make(width)
        except SpecError:
            continue
        if _keeps_topology(spec, candidate):
            options.append((width, candidate))
    return tuple(options)


def layers(spec: ArchSpec, divisor: int = 8, head: bool = False) -> tuple[list[Layer], list[Skipped]]:
    """Every layer that has a narrower width on the grid, and why each other layer has none."""
    if divisor < 1:
        raise ValueError(f"the grid step (divisor) must be at least 1, got {divisor}")
    found: list[Layer] = []
    skipped: list[Skipped] = []

    def consider(kind: str, index: int, width: int, make: Callable[[int], ArchSpec]) -> None:
        options = _options(spec, width, make, divisor)
        if options:
            found.append(Layer(kind, index, width, options))
        else:
            skipped.append(Skipped(kind, index, f"no multiple of {divisor} below {width} keeps the block structure"))

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
    return found, skipped


def specs_to_price(spec: ArchSpec, divisor: int = 8, head: bool = False) -> list[ArchSpec]:
    """Every spec one iteration prices: `spec` first, then each candidate of each layer, once each."""
    unique = {spec.to_str(): spec}
    for layer in layers(spec, divisor, head)[0]:
        for _, candidate in layer.options:
            unique.setdefault(candidate.to_str(), candidate)
    return list(unique.values())


def narrowed(spec: ArchSpec, factor: float, divisor: int = 8) -> ArchSpec:
    """`spec` with every layer NetAdapt may narrow (residual groups first, then expansions) set to
    its candidate width nearest `factor` times its own, where one keeps the block structure: a
    stand-in for where NetAdapt's steps lead from `spec` (a run calibrates its latency there)."""
    if not 0 < factor <= 1:
        raise ValueError(f"the narrowing factor must be in (0, 1], got {factor}")
    current = spec
    found, _ = layers(spec, divisor)
    for kind in ("group", "mid"):
        for start in (layer for layer in found if layer.kind == kind):
            goal = factor * start.width
            now = next((l for l in layers(current, divisor)[0] if (l.kind, l.index) == (kind, start.index)), None)
            if now is None:
                continue
            width, candidate = min(now.options, key=lambda option: abs(option[0] - goal))
            if abs(width - goal) < abs(now.width - goal):
                current = candidate
    return current


def choose(spec: ArchSpec, found: list[Layer], latency: LatencyFn, delta_ms: float
           ) -> tuple[list[Proposal], list[Skipped]]:
    """Per layer, the largest width whose latency is at least `delta_ms` below `spec`'s (every
    candidate priced, so a non-monotone latency is handled); layers that cannot cut it are skipped."""
    if delta_ms <= 0:
        raise ValueError(f"delta must be positive, got {delta_ms}")
    now = latency(spec)
    goal = now - delta_ms
    proposals: list[Proposal] = []
    skipped: list[Skipped] = []
    for layer in found:
        priced = [(width, candidate, latency(candidate)) for width, candidate in layer.options]
        reaching = [p for p in priced if p[2] <= goal]
        if reaching:
            width, candidate, ms = reaching[0]  # options are widest first
            proposals.append(Proposal(layer.kind, layer.index, layer.width, width, candidate, now, ms))
        else:
            width, _, ms = min(priced, key=lambda p: p[2])
            skipped.append(Skipped(layer.kind, layer.index, f"cannot cut {delta_ms:.4f} ms: the fastest width, "
                                   f"{width}, gives {ms:.4f} ms, above the goal {goal:.4f} ms"))
    return proposals, skipped


def generate(spec: ArchSpec, latency: LatencyFn, delta_ms: float, divisor: int = 8, head: bool = False
             ) -> tuple[list[Proposal], list[Skipped]]:
    """All proposals for one NetAdapt iteration, each cutting latency by at least `delta_ms`."""
    found, skipped = layers(spec, divisor, head)
    proposals, cannot = choose(spec, found, latency, delta_ms)
    return proposals, skipped + cannot
