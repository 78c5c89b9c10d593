"""The stage table of a search space and its strict parser (the YAML / dict form).

A space is a fixed stem and head plus a table of stages. Each stage row holds its base out width,
base depth, stride and activation (fixed), the seed's kernel, expansion ratio and SE (the values
the all-"seed" choice decodes to), and the choice lists of its five decisions:

    kernel  {3, 5, 7}           depthwise kernel of every block of the stage
    expand  {3, 4, 6}           expansion ratio, relative to each block's INPUT width (MnasNet):
                                mid = make_divisible(ratio * cin, 8); ratio 1 gives mid == cin,
                                i.e. no 1x1 expand conv. Add 1 to the list where the seed has it.
    se      {false, true}       squeeze-and-excite after the depthwise conv
    depth   {-1, 0, +1}         delta added to the base depth (the result must stay >= 1)
    width   {0.75, 1.0, 1.25}   multiplier of the base width, rounded with make_divisible(., 8)

Defaults for the lists sit under the top-level `choices`; a stage may override any of them.
Parsing is strict and reports every problem at once, each naming the key, the value and the fix.
Beyond types, it checks that every choice vector decodes to a different architecture (so that
`encode(decode(c)) == c`): multipliers that round to the same width, ratios that give the same
mid width, depth deltas that empty a stage, and adjacent stride-1 stages with the same activation
whose widths overlap (their blocks could not be told apart) are all rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.spec import (
    ACTIVATIONS,
    KERNELS,
    STRIDES,
    HeadSpec,
    SpecError,
    StemSpec,
    make_divisible,
)

DECISION_KINDS = ("kernel", "expand", "se", "depth", "width")
DEFAULT_CHOICES: dict[str, tuple] = {
    "kernel": (3, 5, 7),
    "expand": (3, 4, 6),
    "se": (False, True),
    "depth": (-1, 0, 1),
    "width": (0.75, 1.0, 1.25),
}
STAGE_KEYS = ("out", "depth", "stride", "act", "kernel", "expand", "se", "choices")
TOP_KEYS = ("stem", "head", "choices", "stages")
STAGE_EXAMPLE = "{out: 24, depth: 2, stride: 2, act: re, kernel: 3, expand: 4, se: false}"


class SpaceError(ValueError):
    """A search space that is malformed, or an architecture or choice vector outside it."""


@dataclass(frozen=True)
class Stage:
    """One row of the stage table: fixed frame, seed values, and the choice list of each decision."""

    name: str
    out: int
    depth: int
    stride: int
    act: str
    kernel: int
    expand: float
    se: bool
    choices: dict[str, tuple]

    def out_widths(self) -> tuple[int, ...]:
        """Out width for each width multiplier, in choice order."""
        return tuple(make_divisible(self.out * w, 8) for w in self.choices["width"])

    def depths(self) -> tuple[int, ...]:
        """Number of blocks for each depth delta, in choice order."""
        return tuple(self.depth + d for d in self.choices["depth"])


def mid_width(ratio: float, cin: int) -> int:
    """Expansion width of a block: make_divisible(ratio * cin, 8); ratio 1 keeps cin (no expand conv)."""
    return cin if ratio == 1 else make_divisible(ratio * cin, 8)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_CHOICE_CHECKS: dict[str, tuple] = {
    # kind: (predicate on one value, description of what is allowed)
    "kernel": (lambda v: _is_int(v) and v in KERNELS, f"kernels from {list(KERNELS)}"),
    "expand": (lambda v: _is_number(v) and v >= 1, "expansion ratios >= 1 (e.g. [3, 4, 6])"),
    "se": (lambda v: isinstance(v, bool), "booleans ([false, true])"),
    "depth": (lambda v: _is_int(v), "integer depth deltas (e.g. [-1, 0, 1])"),
    "width": (lambda v: _is_number(v) and v > 0, "positive width multipliers (e.g. [0.75, 1.0, 1.25])"),
}


def _parse_choices(where: str, data: Any, errors: list[str]) -> dict[str, tuple]:
    if not isinstance(data, dict):
        errors.append(f"{where}: must be a mapping of decision -> list, e.g. {{kernel: [3, 5, 7]}}; got {data!r}")
        return {}
    result: dict[str, tuple] = {}
    for key, values in data.items():
        if key not in DECISION_KINDS:
            errors.append(f"{where}: unknown decision {key!r}; allowed: {', '.join(DECISION_KINDS)}")
            continue
        check, allowed = _CHOICE_CHECKS[key]
        if not isinstance(values, list) or not values:
            errors.append(f"{where}.{key}: must be a non-empty list of {allowed}; got {values!r}")
            continue
        bad = [v for v in values if not check(v)]
        if bad:
            errors.append(f"{where}.{key}: {bad!r} not allowed; use {allowed}")
            continue
        if len(set(values)) != len(values):
            errors.append(f"{where}.{key}: {values!r} has duplicates; list each choice once")
            continue
        result[key] = tuple(float(v) for v in values) if key == "width" else tuple(values)
    return result


def _parse_stage(index: int, data: Any, defaults: dict[str, tuple], errors: list[str]) -> Stage | None:
    where = f"stages[{index}] (s{index + 1})"
    if not isinstance(data, dict):
        errors.append(f"{where}: must be a mapping like {STAGE_EXAMPLE}; got {data!r}")
        return None
    unknown = [k for k in data if k not in STAGE_KEYS]
    missing = [k for k in STAGE_KEYS if k != "choices" and k not in data]
    if unknown:
        errors.append(f"{where}: unknown keys {unknown}; allowed: {', '.join(STAGE_KEYS)}")
    if missing:
        errors.append(f"{where}: missing keys {missing}; e.g. {STAGE_EXAMPLE}")
    before = len(errors)
    fixed = {
        "out": (lambda v: _is_int(v) and v > 0, "a positive integer width"),
        "depth": (lambda v: _is_int(v) and v > 0, "a positive integer number of blocks"),
        "stride": (lambda v: _is_int(v) and v in STRIDES, f"one of {list(STRIDES)}"),
        "act": (lambda v: v in ACTIVATIONS, f"one of {list(ACTIVATIONS)}"),
        "kernel": _CHOICE_CHECKS["kernel"],
        "expand": _CHOICE_CHECKS["expand"],
        "se": _CHOICE_CHECKS["se"],
    }
    for key, (check, allowed) in fixed.items():
        if key in data and not check(data[key]):
            errors.append(f"{where}.{key}: {data[key]!r} is not allowed; use {allowed}")
    choices = dict(defaults)
    choices.update(_parse_choices(f"{where}.choices", data.get("choices", {}), errors))
    if unknown or missing or len(errors) > before:
        return None
    stage = Stage(f"s{index + 1}", data["out"], data["depth"], data["stride"], data["act"], data["kernel"],
                  data["expand"], data["se"], choices)
    for kind in ("kernel", "expand", "se"):
        if getattr(stage, kind) not in choices[kind]:
            errors.append(f"{where}.{kind}: seed value {getattr(stage, kind)!r} is not among its choices "
                          f"{list(choices[kind])}; add it to {where}.choices.{kind}")
    if 0 not in choices["depth"] or 1.0 not in choices["width"]:
        errors.append(f"{where}.choices: depth must include 0 and width must include 1.0 so the seed is in "
                      f"the space; got depth {list(choices['depth'])}, width {list(choices['width'])}")
    if min(stage.depths()) < 1:
        allowed = [d for d in choices["depth"] if stage.depth + d >= 1]
        errors.append(f"{where}.choices.depth: {list(choices['depth'])} with base depth {stage.depth} can empty "
                      f"the stage; use {allowed}")
    widths = stage.out_widths()
    for i, j in _duplicate_pairs(widths):
        errors.append(f"{where}.choices.width: multipliers {choices['width'][i]} and {choices['width'][j]} both "
                      f"give {widths[i]} channels from out {stage.out} (make_divisible 8); keep one of them")
    return stage


def _duplicate_pairs(values: tuple) -> list[tuple[int, int]]:
    first: dict[object, int] = {}
    pairs = []
    for j, v in enumerate(values):
        if v in first:
            pairs.append((first[v], j))
        else:
            first[v] = j
    return pairs


def _check_neighbours(stem: StemSpec, stages: list[Stage], errors: list[str]) -> None:
    """Mid widths must differ per ratio for every input width; stride-1 boundaries must be visible."""
    in_widths: tuple[int, ...] = (stem.out,)
    for index, stage in enumerate(stages):
        where = f"stages[{index}] ({stage.name}).choices.expand"
        cins = set(in_widths) | (set(stage.out_widths()) if max(stage.depths()) > 1 else set())
        for cin in sorted(cins):
            mids = tuple(mid_width(r, cin) for r in stage.choices["expand"])
            for i, j in _duplicate_pairs(mids):
                errors.append(f"{where}: ratios {stage.choices['expand'][i]} and {stage.choices['expand'][j]} both "
                              f"give mid {mids[i]} for input width {cin}; keep one of them")
        if index > 0:
            prev = stages[index - 1]
            overlap = sorted(set(prev.out_widths()) & set(stage.out_widths()))
            if stage.stride == 1 and stage.act == prev.act and overlap:
                errors.append(
                    f"stages[{index}] ({stage.name}).choices.width: widths {overlap} are reachable by both "
                    f"{prev.name} and {stage.name}, which meet at stride 1 with the same activation, so their "
                    f"blocks could not be told apart; narrow the width lists so they do not overlap"
                )
        in_widths = stage.out_widths()


def parse_space(data: Any) -> tuple[StemSpec, HeadSpec, tuple[Stage, ...]]:
    """Validate a space mapping; raise one SpaceError listing every problem."""
    if not isinstance(data, dict):
        raise SpaceError(f"a search space must be a mapping with keys {', '.join(TOP_KEYS)}; got {data!r}")
    errors: list[str] = []
    unknown = [k for k in data if k not in TOP_KEYS]
    missing = [k for k in ("stem", "head", "stages") if k not in data]
    if unknown:
        errors.append(f"unknown keys {unknown}; allowed: {', '.join(TOP_KEYS)}")
    if missing:
        errors.append(f"missing keys {missing}; e.g. stem: stem_c16_hs, head: head_c576_h1024_hs, stages: [...]")
    stem = head = None
    for key, cls in (("stem", StemSpec), ("head", HeadSpec)):
        if key in data:
            try:
                parsed = cls.from_str(data[key])
            except SpecError as err:
                errors.append(f"{key}: {err}")
                continue
            if key == "stem":
                stem = parsed
            else:
                head = parsed
    defaults = dict(DEFAULT_CHOICES)
    defaults.update(_parse_choices("choices", data.get("choices", {}), errors))
    raw_stages = data.get("stages", [])
    stages: list[Stage | None] = []
    if not isinstance(raw_stages, list) or not raw_stages:
        errors.append(f"stages: must be a non-empty list of stage rows like {STAGE_EXAMPLE}; got {raw_stages!r}")
    else:
        stages = [_parse_stage(i, row, defaults, errors) for i, row in enumerate(raw_stages)]
    if not errors and stem is not None:
        _check_neighbours(stem, [s for s in stages if s is not None], errors)
    if errors:
        raise SpaceError("invalid search space:\n  - " + "\n  - ".join(errors))
    assert stem is not None and head is not None
    return stem, head, tuple(s for s in stages if s is not None)
