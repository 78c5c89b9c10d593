"""Keys are derived from the spec: one per stem, block and head, and parse back to the piece."""

from __future__ import annotations

import pytest

from latency.errors import LatencyError
from latency.keys import arch_keys, parse_key, piece_key
from latency.pieces import arch_pieces
from models.references import REFERENCES


def test_large_keys_hold_size_channels_and_token() -> None:
    keys = arch_keys(REFERENCES["mobilenetv3-large"], 224)
    assert len(keys) == 15 + 2
    assert keys[0] == "s|224|3|stem_c16_hs"
    assert keys[1] == "b|112|16|ir_k3_m16_c16_s1_re_res"
    assert keys[2] == "b|112|16|ir_k3_m64_c24_s2_re"
    assert keys[-1] == "h|7|160|head_c960_h1280_hs"


def test_keys_parse_back_to_their_pieces(random_archs) -> None:
    for spec in random_archs:
        assert arch_keys(spec, 64) == [piece_key(p) for p in arch_pieces(spec, 64)]
        for piece in arch_pieces(spec, 64):
            assert parse_key(piece_key(piece)) == piece


@pytest.mark.parametrize("bad", ["", "x|1|2|stem_c16_hs", "b|a|16|ir_k3_m16_c16_s2_re", "b|112|16",
                                 "b|112|16|ir_k3_m16_c16_s2_zz", "s|224|3|stem_c16_hs|extra"])
def test_malformed_keys_are_named(bad: str) -> None:
    with pytest.raises(LatencyError, match="latency key"):
        parse_key(bad)
