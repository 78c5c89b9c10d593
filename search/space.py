"""MnasNet-style factorized hierarchical search space over MobileNetV3 blocks.

The space is a fixed stem and head and a table of stages (see `search.stages` for the YAML form and
the meaning of each decision). Every stage has five decisions, named ``s<i>_kernel``, ``s<i>_expand``,
``s<i>_se``, ``s<i>_depth`` and ``s<i>_width``; one block configuration is repeated through the
stage, as in MnasNet: the first block carries the stage's stride (and a residual add only if the
stride is 1 and its input width equals its output width), the following blocks have stride 1 and a
residual add. A choice vector holds one index per decision, in `decisions` order.

The controller sees only `(name, len(choices))`; `decode` turns a choice vector into an `ArchSpec`,
`encode` maps an architecture back and names the decision that rejects one outside the space, and
`layer_variants` lists every layer any architecture of the space can contain (the latency lookup
table is built from exactly that set).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from models.spec import (
    IN_CHANNELS,
    STEM_KERNEL,
    STEM_STRIDE,
    ArchSpec,
    BlockSpec,
    HeadSpec,
    StemSpec,
    conv_out,
)
from search.stages import DECISION_KINDS, SpaceError, Stage, mid_width, parse_space

__all__ = ["Decision", "SearchSpace", "SpaceError", "Stage"]


@dataclass(frozen=True)
class Decision:
    """One categorical decision: a stable name and its choice values (indices are positions)."""

    name: str
    choices: tuple

    @property
    def kind(self) -> str:
        """What the decision sets (kernel, expand, se, depth, width): its name's last part, `<stage>_<kind>`."""
        return self.name.rsplit("_", 1)[-1]


@dataclass(frozen=True)
class _StageChoice:
    kernel: int
    expand: float
    se: bool
    depth: int
    out: int


class SearchSpace:
    """A fixed stem and head around a table of searchable stages."""

    def __init__(self, stem: StemSpec, head: HeadSpec, stages: Sequence[Stage]) -> None:
        self.stem = stem
        self.head = head
        self.stages = tuple(stages)
        self.decisions = tuple(
            Decision(f"{stage.name}_{kind}", stage.choices[kind]) for stage in self.stages for kind in DECISION_KINDS
        )

    # ---- construction ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any) -> SearchSpace:
        return cls(*parse_space(data))

    @classmethod
    def from_yaml(cls, path: str | Path) -> SearchSpace:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as err:
            raise SpaceError(f"cannot read search space file {str(path)!r}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise SpaceError(f"search space file {str(path)!r} is not valid YAML: {err}") from err
        try:
            return cls.from_dict(data)
        except SpaceError as err:
            raise SpaceError(f"{path}: {err}") from err

    # ---- choice vectors --------------------------------------------------------------------
    def size(self) -> int:
        """Number of distinct architectures: the product of the choice counts."""
        return math.prod(len(d.choices) for d in self.decisions)

    def sample(self, rng: np.random.Generator) -> list[int]:
        """A uniformly random choice vector."""
        return [int(rng.integers(len(d.choices))) for d in self.decisions]

    def seed_choices(self) -> list[int]:
        """The choice vector of the seed: each stage's seed kernel, ratio and SE, depth delta 0, width 1.0."""
        seeds = []
        for stage in self.stages:
            values = {"kernel": stage.kernel, "expand": stage.expand, "se": stage.se, "depth": 0, "width": 1.0}
            seeds.extend(stage.choices[kind].index(values[kind]) for kind in DECISION_KINDS)
        return seeds

    def values(self, choices: Sequence[int]) -> dict[str, object]:
        """Decision name -> chosen value (JSON-friendly), for logs and trial configs."""
        self._check(choices)
        return {d.name: d.choices[int(c)] for d, c in zip(self.decisions, choices)}

    def _check(self, choices: Sequence[int]) -> None:
        if len(choices) != len(self.decisions):
            raise SpaceError(f"a choice vector needs {len(self.decisions)} entries (one per decision), "
                             f"got {len(choices)}")
        for decision, c in zip(self.decisions, choices):
            try:
                index = operator.index(c)
            except TypeError:
                raise SpaceError(f"{decision.name}: choice {c!r} must be an integer index") from None
            if not 0 <= index < len(decision.choices):
                raise SpaceError(f"{decision.name}: index {index} is out of range; choose 0..{len(decision.choices) - 1} "
                                 f"for {list(decision.choices)}")

    def _stage_choices(self, choices: Sequence[int]) -> list[_StageChoice]:
        self._check(choices)
        result = []
        per = len(DECISION_KINDS)
        for i, stage in enumerate(self.stages):
            k, e, s, d, w = (int(c) for c in choices[i * per:(i + 1) * per])
            result.append(_StageChoice(stage.choices["kernel"][k], stage.choices["expand"][e],
                                       stage.choices["se"][s], stage.depths()[d], stage.out_widths()[w]))
        return result

    # ---- decode / encode -------------------------------------------------------------------
    def decode(self, choices: Sequence[int]) -> ArchSpec:
        """The architecture of a choice vector."""
        blocks = []
        cin = self.stem.out
        for stage, pick in zip(self.stages, self._stage_choices(choices)):
            blocks.append(_first_block(stage, pick.kernel, pick.expand, pick.se, cin, pick.out))
            blocks.extend([_repeat_block(stage, pick.kernel, pick.expand, pick.se, pick.out)] * (pick.depth - 1))
            cin = pick.out
        return ArchSpec(self.stem, tuple(blocks), self.head)

    def encode(self, arch: ArchSpec) -> list[int]:
        """The choice vector of `arch`; a SpaceError names the decision (or fixed part) that rejects it."""
        if arch.stem != self.stem:
            raise SpaceError(f"stem {arch.stem.to_str()!r} differs from the space's fixed stem {self.stem.to_str()!r}")
        if arch.head != self.head:
            raise SpaceError(f"head {arch.head.to_str()!r} differs from the space's fixed head {self.head.to_str()!r}")
        blocks = arch.blocks
        pos = 0
        cin = self.stem.out
        result: list[int] = []
        for stage in self.stages:
            if pos >= len(blocks):
                raise SpaceError(f"{stage.name}_depth: the architecture has only {len(blocks)} blocks, none left "
                                 f"for stage {stage.name}")
            first = blocks[pos]
            where = f"block {pos} {first.to_str()!r}"
            if first.stride != stage.stride or first.act != stage.act:
                raise SpaceError(f"{where}: stage {stage.name} starts with fixed stride {stage.stride} and "
                                 f"activation {stage.act!r}; got stride {first.stride}, activation {first.act!r}")
            width = _index(stage, "width", stage.out_widths(), first.out, where, "out width")
            kernel = _index(stage, "kernel", stage.choices["kernel"], first.kernel, where, "kernel")
            se = _index(stage, "se", stage.choices["se"], first.se, where, "SE")
            mids = tuple(mid_width(r, cin) for r in stage.choices["expand"])
            expand = _index(stage, "expand", mids, first.mid, where, "mid",
                            f" (ratios {list(stage.choices['expand'])} of input width {cin})")
            template = _first_block(stage, first.kernel, stage.choices["expand"][expand], first.se, cin, first.out)
            if first != template:
                raise SpaceError(f"{where}: the first block of stage {stage.name} must be {template.to_str()!r} "
                                 f"(residual add exactly when stride 1 and input width == output width)")
            repeat = _repeat_block(stage, first.kernel, stage.choices["expand"][expand], first.se, first.out)
            end = pos + 1
            while end < len(blocks) and _continues(blocks[end], stage, first.out):
                if blocks[end] != repeat:
                    raise SpaceError(_repeat_mismatch(stage, end, blocks[end], repeat))
                end += 1
            depth = _index(stage, "depth", stage.depths(), end - pos, f"stage {stage.name}", "number of blocks")
            result.extend([kernel, expand, se, depth, width])
            pos, cin = end, first.out
        if pos != len(blocks):
            last = self.stages[-1].name
            raise SpaceError(f"{last}_depth: {len(blocks) - pos} block(s) from block {pos} "
                             f"({blocks[pos].to_str()!r}) do not fit any stage of the space")
        return result

    # ---- latency lookup table coverage -----------------------------------------------------
    def layer_variants(self, resolution: int) -> set[tuple[int, int, object]]:
        """Every (input spatial size, input channels, piece) any architecture of the space contains.

        The piece is the StemSpec (input channels 3), a BlockSpec, or the HeadSpec. Sizes do not
        depend on the kernel ('same' padding), so each stage has a fixed input size.
        """
        size = conv_out(resolution, STEM_KERNEL, STEM_STRIDE)
        variants: set[tuple[int, int, object]] = {(resolution, IN_CHANNELS, self.stem)}
        in_widths: tuple[int, ...] = (self.stem.out,)
        for stage in self.stages:
            out_size = conv_out(size, 3, stage.stride)
            for kernel in stage.choices["kernel"]:
                for ratio in stage.choices["expand"]:
                    for se in stage.choices["se"]:
                        for out in stage.out_widths():
                            for cin in in_widths:
                                variants.add((size, cin, _first_block(stage, kernel, ratio, se, cin, out)))
                            if max(stage.depths()) > 1:
                                variants.add((out_size, out, _repeat_block(stage, kernel, ratio, se, out)))
            size, in_widths = out_size, stage.out_widths()
        variants.update((size, cin, self.head) for cin in in_widths)
        return variants


def _first_block(stage: Stage, kernel: int, ratio: float, se: bool, cin: int, out: int) -> BlockSpec:
    residual = stage.stride == 1 and cin == out
    return BlockSpec(kernel, mid_width(ratio, cin), out, stage.stride, se, stage.act, residual)


def _repeat_block(stage: Stage, kernel: int, ratio: float, se: bool, out: int) -> BlockSpec:
    return BlockSpec(kernel, mid_width(ratio, out), out, 1, se, stage.act, True)


def _continues(block: BlockSpec, stage: Stage, width: int) -> bool:
    """Whether a block can only be a repeat of `stage` (the space forbids a next stage that looks so)."""
    return block.stride == 1 and block.out == width and block.act == stage.act


def _index(stage: Stage, kind: str, allowed: tuple, value: object, where: str, what: str, hint: str = "") -> int:
    for i, candidate in enumerate(allowed):
        if candidate == value:
            return i
    raise SpaceError(f"{stage.name}_{kind}: {where} has {what} {value!r}; stage {stage.name} allows "
                     f"{list(allowed)}{hint}")


def _repeat_mismatch(stage: Stage, pos: int, block: BlockSpec, repeat: BlockSpec) -> str:
    fields = (("kernel", "kernel"), ("mid", "expand"), ("se", "se"))
    for field, kind in fields:
        if getattr(block, field) != getattr(repeat, field):
            return (f"{stage.name}_{kind}: block {pos} {block.to_str()!r} repeats stage {stage.name} but its {field} "
                    f"is {getattr(block, field)!r}; one configuration is repeated through a stage, so it must be "
                    f"{repeat.to_str()!r}")
    return (f"stage {stage.name}: block {pos} {block.to_str()!r} repeats the stage, so it must be "
            f"{repeat.to_str()!r} (stride 1 with a residual add)")
