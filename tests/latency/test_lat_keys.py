"""Keys are derived from the spec: one per stem, block and head, the head's carrying its class
count; they parse back to the piece."""

from __future__ import annotations

import pytest

from latency.errors import LatencyError
from latency.keys import arch_keys, parse_key, piece_key
from latency.pieces import Piece, arch_pieces
from models.references import REFERENCES
from models.spec import HeadSpec


def test_large_keys_hold_size_channels_token_and_classes() -> None:
    keys = arch_keys(REFERENCES["mobilenetv3-large"], 224, 1000)
    assert len(keys) == 15 + 2
    assert keys[0] == "s|224|3|stem_c16_hs"
    assert keys[1] == "b|112|16|ir_k3_m16_c16_s1_re_res"
    assert keys[2] == "b|112|16|ir_k3_m64_c24_s2_re"
    assert keys[-1] == "h|7|160|head_c960_h1280_hs|1000"


def test_the_class_count_changes_only_the_head_key() -> None:
    small = REFERENCES["mobilenetv3-small"]
    ten, thousand = arch_keys(small, 32, 10), arch_keys(small, 32, 1000)
    assert ten[:-1] == thousand[:-1] and ten[-1] != thousand[-1]
    assert parse_key(ten[-1]).classes == 10 and parse_key(thousand[-1]).module().classifier.out_features == 1000


def test_keys_parse_back_to_their_pieces(random_archs) -> None:
    for spec in random_archs:
        assert arch_keys(spec, 64, 10) == [piece_key(p) for p in arch_pieces(spec, 64, 10)]
        for piece in arch_pieces(spec, 64, 10):
            assert parse_key(piece_key(piece)) == piece


@pytest.mark.parametrize("bad", ["", "x|1|2|stem_c16_hs", "b|a|16|ir_k3_m16_c16_s2_re", "b|112|16",
                                 "b|112|16|ir_k3_m16_c16_s2_zz", "s|224|3|stem_c16_hs|extra",
                                 "h|7|96|head_c576_h1024_hs", "h|7|96|head_c576_h1024_hs|ten",
                                 "h|7|96|head_c576_h1024_hs|0"])
def test_malformed_keys_are_named(bad: str) -> None:
    with pytest.raises(LatencyError, match="latency key|head piece needs"):
        parse_key(bad)


def test_a_head_piece_needs_its_classes() -> None:
    with pytest.raises(LatencyError, match="head piece needs"):
        Piece(7, 96, HeadSpec(576, 1024, "hs"))
