"""Template rewriting: a block made from its structure's template has the converter's ops and
the real block's shapes."""

from __future__ import annotations

import pytest

from latency.export import tflite_bytes, tflite_ops
from latency.litert_bench import make_interpreter
from latency.pieces import Piece
from latency.template import block_structure, dim_map, probe_piece, rewrite
from models.spec import BlockSpec


@pytest.mark.parametrize("piece", [
    Piece(16, 8, BlockSpec(5, 24, 16, 2, True, "hs")),
    Piece(8, 16, BlockSpec(3, 16, 16, 1, False, "re", residual=True)),
])
def test_rewritten_block_matches_converted_block(piece: Piece) -> None:
    probe = probe_piece(block_structure(piece))
    template = tflite_bytes(probe.module(), probe.input_shape())
    made = rewrite(template, dim_map(probe, piece))
    direct = tflite_bytes(piece.module(), piece.input_shape())
    assert tflite_ops(made) == tflite_ops(direct)
    got, want = make_interpreter(made), make_interpreter(direct)
    for details in ("get_input_details", "get_output_details"):
        assert [list(d["shape"]) for d in getattr(got, details)()] == [list(d["shape"]) for d in getattr(want, details)()]
    got.invoke()
    assert len(made) == pytest.approx(len(direct), rel=0.1)


def test_probe_dimensions_are_distinct() -> None:
    structure = (5, 2, True, "hs", False, True)
    probe = probe_piece(structure)
    mapping = dim_map(probe, Piece(56, 24, BlockSpec(5, 72, 40, 2, True, "hs")))
    assert len(mapping) == 7
    assert mapping[probe.in_size] == 56 and mapping[probe.in_channels] == 24


def test_blocks_with_1x1_output_are_converted_directly() -> None:
    from latency.template import templatable

    assert not templatable(Piece(2, 64, BlockSpec(5, 256, 96, 2, True, "hs")))
    assert templatable(Piece(4, 64, BlockSpec(5, 256, 96, 2, True, "hs")))
