"""The architecture spec: the one immutable truth every other room builds from.

An `ArchSpec` is a stem, a tuple of inverted-residual `BlockSpec`s and an efficient last stage
(`HeadSpec`). Channel counts are explicit integers (not ratios), so a NetAdapt result is
representable. Three interchangeable forms are parsed strictly and round-trip exactly:

- compact string: ``stem_c16_hs-ir_k3_m16_c16_s2_se_re-...-head_c576_h1024_hs``
- dict (for JSON / YAML): ``{"stem": ..., "blocks": [...], "head": ...}`` of compact tokens
- YAML file holding that dict.

A block's residual add is written in its token (``_res``): it is a topology choice, so an
arch whose residual block has unequal input and output widths is rejected instead of silently
losing its skip connection. Derived facts (input widths, feature sizes, residual groups) are
computed, never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ACTIVATIONS = ("re", "hs")
KERNELS = (3, 5, 7)
STRIDES = (1, 2)
IN_CHANNELS = 3
STEM_KERNEL = 3  # the stem is a 3x3 conv with stride 2 (MobileNetV3 section 5)
STEM_STRIDE = 2

BLOCK_EXAMPLE = "ir_k5_m72_c40_s2_se_re"
STEM_EXAMPLE = "stem_c16_hs"
HEAD_EXAMPLE = "head_c576_h1024_hs"
ARCH_EXAMPLE = f"{STEM_EXAMPLE}-ir_k3_m16_c16_s2_se_re-ir_k3_m72_c24_s2_re-{HEAD_EXAMPLE}"

# Grammar of each piece: its parts in order, each (name, pattern, optional, what is expected).
_ACT = ("act", r"(re|hs)", False, "the activation, one of ['re', 'hs']")
_BLOCK_FIELDS = (("ir", r"ir", False, "'ir'"), ("kernel", r"k(\d+)", False, "the kernel as k<3|5|7>"),
                 ("mid", r"m(\d+)", False, "the mid channels as m<int>"),
                 ("out", r"c(\d+)", False, "the out channels as c<int>"),
                 ("stride", r"s(\d+)", False, "the stride as s<1|2>"), ("se", r"se", True, "'se'"), _ACT,
                 ("res", r"res", True, "'res'"))
_STEM_FIELDS = (("stem", r"stem", False, "'stem'"), ("out", r"c(\d+)", False, "the out channels as c<int>"), _ACT)
_HEAD_FIELDS = (("head", r"head", False, "'head'"), ("last", r"c(\d+)", False, "the last conv as c<int>"),
                ("hidden", r"h(\d+)", False, "the hidden width as h<int>"), _ACT)


class SpecError(ValueError):
    """An architecture that is malformed or inconsistent; the message names the fix."""


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round to a multiple of `divisor`, never below it nor more than 10% under `value`.

    The rule of the MobileNet reference code: max(d, int(v + d/2) // d * d), plus d if that fell
    below 0.9 * v.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def _check_choice(where: str, field: str, value: object, allowed: tuple, example: str) -> None:
    if value not in allowed:
        raise SpecError(
            f"{where}: {field} {value!r} is not allowed; choose one of {list(allowed)} "
            f"(e.g. {example!r})"
        )


def _check_positive(where: str, field: str, value: int, example: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(f"{where}: {field} must be a positive integer, got {value!r} (e.g. {example!r})")


def _parse(token: object, fields: tuple, what: str, example: str) -> dict[str, str | None]:
    """Match `token`'s '_'-separated parts against `fields` in order; name the first bad part."""
    if not isinstance(token, str):
        raise SpecError(f"{what} must be a string like {example!r}, got {type(token).__name__} {token!r}")
    parts = token.split("_")
    values: dict[str, str | None] = {}
    pos = 0
    for name, pattern, optional, expected in fields:
        part = parts[pos] if pos < len(parts) else None
        match = re.fullmatch(pattern, part) if part is not None else None
        if match is None:
            if optional:
                values[name] = None
                continue
            found = f"unknown token {part!r}" if part is not None else "it ends early"
            raise SpecError(f"{what} {token!r}: {found} where {expected} was expected; a valid one is {example!r}")
        values[name] = match.group(match.lastindex) if match.lastindex else part
        pos += 1
    if pos < len(parts):
        junk = "_" + "_".join(parts[pos:])
        raise SpecError(f"{what} {token!r} has unexpected trailing text {junk!r}; a valid one is {example!r}")
    return values


@dataclass(frozen=True)
class StemSpec:
    """3x3 stride-2 convolution with batch norm and activation."""

    out: int
    act: str = "hs"

    def __post_init__(self) -> None:
        _check_positive("stem", "out channels", self.out, STEM_EXAMPLE)
        _check_choice("stem", "activation", self.act, ACTIVATIONS, STEM_EXAMPLE)

    def to_str(self) -> str:
        return f"stem_c{self.out}_{self.act}"

    @classmethod
    def from_str(cls, token: str) -> StemSpec:
        m = _parse(token, _STEM_FIELDS, "stem token", STEM_EXAMPLE)
        return cls(out=int(m["out"]), act=m["act"])


@dataclass(frozen=True)
class BlockSpec:
    """Inverted residual: optional 1x1 expand (when mid != in), depthwise kxk, optional SE,
    1x1 project, and a residual add when `residual` (which needs stride 1 and in == out)."""

    kernel: int
    mid: int
    out: int
    stride: int
    se: bool
    act: str
    residual: bool = False

    def __post_init__(self) -> None:
        where = f"block {self.to_str()!r}" if _printable(self) else "block"
        _check_choice(where, "kernel", self.kernel, KERNELS, BLOCK_EXAMPLE)
        _check_choice(where, "stride", self.stride, STRIDES, BLOCK_EXAMPLE)
        _check_choice(where, "activation", self.act, ACTIVATIONS, BLOCK_EXAMPLE)
        _check_positive(where, "mid (expansion) channels", self.mid, BLOCK_EXAMPLE)
        _check_positive(where, "out channels", self.out, BLOCK_EXAMPLE)
        if not isinstance(self.se, bool) or not isinstance(self.residual, bool):
            raise SpecError(f"{where}: se and residual must be booleans")
        if self.residual and self.stride != 1:
            raise SpecError(
                f"{where}: a residual add needs stride 1, got stride {self.stride}; "
                f"drop '_res' or use s1 (e.g. 'ir_k3_m72_c24_s1_re_res')"
            )

    def expands_from(self, cin: int) -> bool:
        """Whether the block has a 1x1 expansion conv when its input is `cin` wide (mid != in)."""
        return self.mid != cin

    def to_str(self) -> str:
        se = "_se" if self.se else ""
        res = "_res" if self.residual else ""
        return f"ir_k{self.kernel}_m{self.mid}_c{self.out}_s{self.stride}{se}_{self.act}{res}"

    @classmethod
    def from_str(cls, token: str) -> BlockSpec:
        m = _parse(token, _BLOCK_FIELDS, "block token", BLOCK_EXAMPLE)
        return cls(
            kernel=int(m["kernel"]),
            mid=int(m["mid"]),
            out=int(m["out"]),
            stride=int(m["stride"]),
            se=m["se"] is not None,
            act=m["act"],
            residual=m["res"] is not None,
        )


def _printable(block: BlockSpec) -> bool:
    return all(isinstance(getattr(block, f), int) for f in ("kernel", "mid", "out", "stride"))


@dataclass(frozen=True)
class HeadSpec:
    """Efficient last stage: 1x1 conv to `last` (BN, act), global pool, 1x1 conv to `hidden`
    without BN, act, dropout, classifier."""

    last: int
    hidden: int
    act: str = "hs"

    def __post_init__(self) -> None:
        _check_positive("head", "last conv channels", self.last, HEAD_EXAMPLE)
        _check_positive("head", "hidden channels", self.hidden, HEAD_EXAMPLE)
        _check_choice("head", "activation", self.act, ACTIVATIONS, HEAD_EXAMPLE)

    def to_str(self) -> str:
        return f"head_c{self.last}_h{self.hidden}_{self.act}"

    @classmethod
    def from_str(cls, token: str) -> HeadSpec:
        m = _parse(token, _HEAD_FIELDS, "head token", HEAD_EXAMPLE)
        return cls(last=int(m["last"]), hidden=int(m["hidden"]), act=m["act"])


@dataclass(frozen=True)
class ResidualGroup:
    """Layers whose output widths must move together because residual adds join them.

    `stem` says whether the stem's output belongs to the group; `blocks` are block indices.
    """

    stem: bool
    blocks: tuple[int, ...]
    width: int


@dataclass(frozen=True)
class ArchSpec:
    stem: StemSpec
    blocks: tuple[BlockSpec, ...]
    head: HeadSpec

    def __post_init__(self) -> None:
        if not isinstance(self.blocks, tuple):
            object.__setattr__(self, "blocks", tuple(self.blocks))
        if not self.blocks:
            raise SpecError(f"an architecture needs at least one block (e.g. {ARCH_EXAMPLE!r})")
        for i, (block, cin) in enumerate(zip(self.blocks, self.in_channels())):
            if block.residual and cin != block.out:
                raise SpecError(
                    f"block {i} {block.to_str()!r} has a residual add but its input has {cin} channels "
                    f"and its output {block.out}: widths in a residual group must be equal; narrow the "
                    f"whole group together, or drop '_res' from the block"
                )

    # ---- derived facts -------------------------------------------------------------------
    def in_channels(self) -> tuple[int, ...]:
        """Input width of each block."""
        widths = [self.stem.out] + [b.out for b in self.blocks[:-1]]
        return tuple(widths)

    def expands(self) -> tuple[bool, ...]:
        """Whether each block has a 1x1 expansion conv: it has one exactly when mid != its input width."""
        return tuple(b.expands_from(cin) for b, cin in zip(self.blocks, self.in_channels()))

    def feature_sizes(self, resolution: int) -> tuple[int, ...]:
        """Spatial size after the stem, then after each block (square inputs)."""
        size = conv_out(resolution, STEM_KERNEL, STEM_STRIDE)
        sizes = [size]
        for block in self.blocks:
            size = conv_out(size, block.kernel, block.stride)
            sizes.append(size)
        return tuple(sizes)

    def residual_groups(self) -> tuple[ResidualGroup, ...]:
        """Blocks (and possibly the stem) whose out-channels must change together."""
        groups: list[list[int]] = [[-1]]  # -1 stands for the stem
        for i, block in enumerate(self.blocks):
            if block.residual:
                groups[-1].append(i)
            else:
                groups.append([i])
        result = []
        for members in groups:
            stem = members[0] == -1
            blocks = tuple(m for m in members if m >= 0)
            if stem and not blocks:
                continue  # the stem alone is no group: its width follows nothing else
            width = self.stem.out if stem else self.blocks[blocks[0]].out
            result.append(ResidualGroup(stem=stem, blocks=blocks, width=width))
        return tuple(result)

    # ---- forms ---------------------------------------------------------------------------
    def to_str(self) -> str:
        return "-".join([self.stem.to_str(), *(b.to_str() for b in self.blocks), self.head.to_str()])

    @classmethod
    def from_str(cls, text: str) -> ArchSpec:
        if not isinstance(text, str) or not text.strip():
            raise SpecError(f"an architecture string is empty; a valid one is {ARCH_EXAMPLE!r}")
        tokens = text.strip().split("-")
        if len(tokens) < 3:
            raise SpecError(
                f"architecture {text!r} needs a stem, at least one block and a head joined by '-'; "
                f"a valid one is {ARCH_EXAMPLE!r}"
            )
        return cls(
            stem=StemSpec.from_str(tokens[0]),
            blocks=tuple(BlockSpec.from_str(t) for t in tokens[1:-1]),
            head=HeadSpec.from_str(tokens[-1]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem.to_str(),
            "blocks": [b.to_str() for b in self.blocks],
            "head": self.head.to_str(),
        }

    @classmethod
    def from_dict(cls, data: Any) -> ArchSpec:
        if not isinstance(data, dict):
            raise SpecError(
                f"an architecture mapping must be a dict with keys stem, blocks, head; got {type(data).__name__}"
            )
        unknown = sorted(set(data) - {"stem", "blocks", "head"})
        missing = sorted({"stem", "blocks", "head"} - set(data))
        if unknown or missing:
            raise SpecError(
                f"architecture mapping: unknown keys {unknown}, missing keys {missing}; expected exactly "
                f"stem, blocks, head (e.g. stem: {STEM_EXAMPLE}, blocks: [{BLOCK_EXAMPLE}], head: {HEAD_EXAMPLE})"
            )
        if not isinstance(data["blocks"], list):
            raise SpecError(f"architecture mapping: blocks must be a list of tokens like {BLOCK_EXAMPLE!r}")
        return cls(
            stem=StemSpec.from_str(data["stem"]),
            blocks=tuple(BlockSpec.from_str(t) for t in data["blocks"]),
            head=HeadSpec.from_str(data["head"]),
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ArchSpec:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise SpecError(f"architecture YAML does not parse: {err}") from err
        if isinstance(data, dict) and set(data) == {"arch"}:
            data = data["arch"]
        if isinstance(data, str):
            return cls.from_str(data)
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> ArchSpec:
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise SpecError(f"cannot read architecture file {str(path)!r}: {err.strerror}") from err
        try:
            return cls.from_yaml(text)
        except SpecError as err:
            raise SpecError(f"{path}: {err}") from err


def conv_out(size: int, kernel: int, stride: int) -> int:
    """Output size of a 'same'-padded convolution (padding (k-1)//2)."""
    pad = (kernel - 1) // 2
    return (size + 2 * pad - kernel) // stride + 1
