"""Reference networks as data: MobileNetV3-Large and -Small, written like the paper's Tables 1-2.

Rows are (kernel, expansion channels, out channels, SE, activation, stride). A width multiplier
scales every width with make_divisible(., 8); the residual add is where the stride is 1 and the
widths match, as in the paper. The 1x1 conv before the classifier (1280 / 1024) is not narrowed
below 1.0, as in the reference TensorFlow code, which is what reproduces the paper's parameter
counts for the 0.75 models.
"""

from __future__ import annotations

import re
from pathlib import Path

from models.spec import ArchSpec, BlockSpec, HeadSpec, SpecError, StemSpec, make_divisible

Row = tuple[int, int, int, bool, str, int]

LARGE_ROWS: tuple[Row, ...] = (
    (3, 16, 16, False, "re", 1),
    (3, 64, 24, False, "re", 2),
    (3, 72, 24, False, "re", 1),
    (5, 72, 40, True, "re", 2),
    (5, 120, 40, True, "re", 1),
    (5, 120, 40, True, "re", 1),
    (3, 240, 80, False, "hs", 2),
    (3, 200, 80, False, "hs", 1),
    (3, 184, 80, False, "hs", 1),
    (3, 184, 80, False, "hs", 1),
    (3, 480, 112, True, "hs", 1),
    (3, 672, 112, True, "hs", 1),
    (5, 672, 160, True, "hs", 2),
    (5, 960, 160, True, "hs", 1),
    (5, 960, 160, True, "hs", 1),
)

SMALL_ROWS: tuple[Row, ...] = (
    (3, 16, 16, True, "re", 2),
    (3, 72, 24, False, "re", 2),
    (3, 88, 24, False, "re", 1),
    (5, 96, 40, True, "hs", 2),
    (5, 240, 40, True, "hs", 1),
    (5, 240, 40, True, "hs", 1),
    (5, 120, 48, True, "hs", 1),
    (5, 144, 48, True, "hs", 1),
    (5, 288, 96, True, "hs", 2),
    (5, 576, 96, True, "hs", 1),
    (5, 576, 96, True, "hs", 1),
)


def from_rows(rows: tuple[Row, ...], hidden: int, width: float = 1.0, stem: int = 16, scale_hidden: bool = False,
              divisor: int = 8) -> ArchSpec:
    """Build a spec from paper-style rows; the head's last conv is 6x the last block's width. The
    hidden layer is scaled above width 1.0 only, as in the reference code, or always (`scale_hidden`)."""

    def scale(channels: int) -> int:
        return make_divisible(channels * width, divisor)

    stem_spec = StemSpec(out=scale(stem), act="hs")
    blocks = []
    cin = stem_spec.out
    for kernel, mid, out, se, act, stride in rows:
        mid_c, out_c = scale(mid), scale(out)
        blocks.append(BlockSpec(kernel, mid_c, out_c, stride, se, act, residual=stride == 1 and cin == out_c))
        cin = out_c
    head = HeadSpec(last=6 * cin, hidden=scale(hidden) if width > 1.0 or scale_hidden else hidden, act="hs")
    return ArchSpec(stem=stem_spec, blocks=tuple(blocks), head=head)


REFERENCES: dict[str, ArchSpec] = {
    "mobilenetv3-large": from_rows(LARGE_ROWS, 1280),
    "mobilenetv3-small": from_rows(SMALL_ROWS, 1024),
    "mobilenetv3-large-0.75": from_rows(LARGE_ROWS, 1280, 0.75),
    "mobilenetv3-small-0.75": from_rows(SMALL_ROWS, 1024, 0.75),
}


WIDTH_NAME = re.compile(r"mobilenetv3-(?P<family>large|small)-(?P<width>\d+(?:\.\d+)?)")


def mobilenetv3(family: str, width: float = 1.0) -> ArchSpec:
    """MobileNetV3-Large or -Small at any width multiplier in (0, 4] (e.g. 0.35, 0.5, 1.25)."""
    if family not in ("large", "small"):
        raise SpecError(f"MobileNetV3 family {family!r} unknown; allowed: large, small")
    if not 0 < width <= 4:
        raise SpecError(f"width multiplier {width} outside (0, 4]; e.g. mobilenetv3-small-0.5")
    return from_rows(LARGE_ROWS, 1280, width) if family == "large" else from_rows(SMALL_ROWS, 1024, width)


def width_multiplier(family: str, width: float, divisor: int = 8) -> ArchSpec:
    """MobileNetV3 with every layer scaled by `width`, the head's hidden layer included (the plain
    multiplier NetAdapt is compared with), each width rounded to the channel grid of `divisor`."""
    mobilenetv3(family, width)  # the same checks of family and width
    rows = LARGE_ROWS if family == "large" else SMALL_ROWS
    return from_rows(rows, 1280 if family == "large" else 1024, width, scale_hidden=True, divisor=divisor)


def resolve_arch(name_or_spec: str) -> ArchSpec:
    """A reference name, a compact arch string, or a path to an arch YAML file."""
    text = name_or_spec.strip()
    if text in REFERENCES:
        return REFERENCES[text]
    scaled = WIDTH_NAME.fullmatch(text)
    if scaled:
        return mobilenetv3(scaled["family"], float(scaled["width"]))
    if text.startswith("stem_"):
        return ArchSpec.from_str(text)
    path = Path(text)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        if not path.is_file():
            raise SpecError(f"architecture file {text!r} does not exist")
        return ArchSpec.load(path)
    raise SpecError(
        f"{text!r} is neither a reference name ({', '.join(REFERENCES)}, or any width such as "
        f"mobilenetv3-small-0.5), a compact arch string "
        f"(starting 'stem_', e.g. 'stem_c16_hs-ir_k3_m16_c16_s2_se_re-head_c576_h1024_hs'), "
        f"nor an existing arch YAML file"
    )
