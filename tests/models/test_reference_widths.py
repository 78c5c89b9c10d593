"""Reference names at any width multiplier resolve to the paper's rows scaled by make_divisible(., 8)."""

from __future__ import annotations

import pytest

from models.references import REFERENCES, resolve_arch, width_multiplier
from models.spec import SpecError


def test_named_widths_match_the_table_entries() -> None:
    for name in ("mobilenetv3-large-0.75", "mobilenetv3-small-0.75"):
        assert resolve_arch(name) == REFERENCES[name]
    assert resolve_arch("mobilenetv3-small-1.0") == REFERENCES["mobilenetv3-small"]


def test_half_width_small_halves_the_blocks() -> None:
    half, full = resolve_arch("mobilenetv3-small-0.5"), REFERENCES["mobilenetv3-small"]
    assert [b.out for b in half.blocks] == [8, 16, 16, 24, 24, 24, 24, 24, 48, 48, 48]
    assert all(h.out <= f.out for h, f in zip(half.blocks, full.blocks))
    assert half.head.hidden == full.head.hidden  # the 1024 conv is not narrowed below width 1.0


def test_the_plain_multiplier_scales_every_layer_head_included() -> None:
    half = width_multiplier("small", 0.5)
    assert half.head.hidden == 512 and half.head.last == 6 * 48  # 1024 x 0.5; 6 x the last block (96 x 0.5)
    assert half.blocks == resolve_arch("mobilenetv3-small-0.5").blocks and half.stem.out == 8
    # 0.35: 1024 x 0.35 = 358.4 -> 360 on the grid of 8, 352 on the grid of 16
    assert width_multiplier("small", 0.35).head.hidden == 360
    coarse = width_multiplier("small", 0.35, divisor=16)
    assert coarse.head.hidden == 352 and all(b.mid % 16 == 0 and b.out % 16 == 0 for b in coarse.blocks)
    assert width_multiplier("small", 1.0) == REFERENCES["mobilenetv3-small"]
    with pytest.raises(SpecError, match="outside"):
        width_multiplier("small", 0.0)


@pytest.mark.parametrize("bad", ["mobilenetv3-small-9", "mobilenetv3-small-0", "mobilenetv3-medium-0.5"])
def test_bad_width_names_are_rejected(bad: str) -> None:
    with pytest.raises(SpecError, match="mobilenetv3-small-0.5"):
        resolve_arch(bad)
