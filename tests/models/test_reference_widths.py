"""Reference names at any width multiplier resolve to the paper's rows scaled by make_divisible(., 8)."""

from __future__ import annotations

import pytest

from models.references import REFERENCES, resolve_arch
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


@pytest.mark.parametrize("bad", ["mobilenetv3-small-9", "mobilenetv3-small-0", "mobilenetv3-medium-0.5"])
def test_bad_width_names_are_rejected(bad: str) -> None:
    with pytest.raises(SpecError, match="mobilenetv3-small-0.5"):
        resolve_arch(bad)
