"""Template rewriting: a block or head made from its structure's template has the converter's own
graph (ops, each convolution's padding, every output shape) at every size, odd stride-2 inputs
included (SAME padding there, no PAD op), 1x1 head inputs included (pooled by SUM there, not MEAN);
1x1 block outputs included (their own templates); the full sweep over the resolutions a search
uses is `slow`."""

from __future__ import annotations

import pytest

from latency_helpers import conv_layout
from latency.export import tflite_bytes
from latency.litert_bench import make_interpreter
from latency.pieces import Piece
from latency.template import piece_structure, dim_map, probe_piece, rewrite, templatable
from models.spec import STEM_KERNEL, STEM_STRIDE, BlockSpec, HeadSpec, StemSpec, conv_out

RESOLUTIONS = (32, 48, 64, 96, 112, 160, 176, 224)
KINDS = [(k, se, act, expand) for k in (3, 5) for se in (False, True) for act in ("re", "hs")
         for expand in (False, True)]
_TEMPLATES: dict = {}

SLOW = pytest.mark.slow  # each case is two litert-torch conversions; make test keeps one of each kind


def _block(size: int, kernel: int, se: bool, act: str, expand: bool) -> Piece:
    return Piece(size, 16, BlockSpec(kernel, 48 if expand else 16, 24, 2, se, act))


def _made(piece: Piece) -> bytes:
    structure = piece_structure(piece)
    probe = probe_piece(structure)
    if structure not in _TEMPLATES:
        _TEMPLATES[structure] = tflite_bytes(probe.module(), probe.input_shape())
    return rewrite(_TEMPLATES[structure], dim_map(probe, piece))


def _assert_like_converter(piece: Piece) -> None:
    made, direct = _made(piece), tflite_bytes(piece.module(), piece.input_shape())
    assert conv_layout(made) == conv_layout(direct), piece
    if piece.in_size % 2:
        assert "PAD" not in [op for op, _, _ in conv_layout(made)]


def stride2_sizes(resolution: int) -> list[int]:
    """The input sizes a stride-2 block can see at `resolution` whose output is larger than 1x1."""
    sizes, size = [], conv_out(resolution, STEM_KERNEL, STEM_STRIDE)
    while size > 2:
        sizes.append(size)
        size = conv_out(size, 3, 2)
    return sizes


@pytest.mark.parametrize("piece", [pytest.param(_block(7, 5, True, "hs", True), marks=SLOW), _block(14, 5, True, "hs", True),
                                   _block(11, 3, False, "re", False)], ids=str)
def test_stride2_template_matches_the_converter_at_odd_and_even_sizes(piece: Piece) -> None:
    _assert_like_converter(piece)


@pytest.mark.slow
@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_every_stride2_size_of_a_resolution_matches_the_converter(resolution: int) -> None:
    for size in stride2_sizes(resolution):
        for kernel in (3, 5):
            _assert_like_converter(_block(size, kernel, True, "hs", True))


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_every_stride2_kind_matches_the_converter(kind) -> None:
    for size in (7, 14):
        _assert_like_converter(_block(size, *kind))




@pytest.mark.parametrize("piece", [Piece(1, 96, HeadSpec(576, 1024, "hs"), 10),
                                   pytest.param(Piece(2, 48, HeadSpec(280, 520, "hs"), 10), marks=SLOW),
                                   Piece(7, 160, HeadSpec(960, 1280, "re"), 1000),
                                   pytest.param(Piece(1, 40, HeadSpec(40, 40, "re"), 40), marks=SLOW)], ids=str)
def test_head_template_matches_the_converter_at_1x1_and_larger_inputs(piece: Piece) -> None:
    _assert_like_converter(piece)
    ops = [op for op, _, _ in conv_layout(_made(piece))]
    assert ("SUM" in ops) == (piece.in_size == 1) and ("MEAN" in ops) == (piece.in_size > 1)


@pytest.mark.parametrize("piece", [
    Piece(16, 8, BlockSpec(5, 24, 16, 2, True, "hs")),
    Piece(8, 16, BlockSpec(3, 16, 16, 1, False, "re", residual=True)),
    Piece(1, 96, HeadSpec(200, 328, "hs"), 10),
])
def test_rewritten_block_runs_with_the_real_shapes(piece: Piece) -> None:
    made, direct = _made(piece), tflite_bytes(piece.module(), piece.input_shape())
    assert conv_layout(made) == conv_layout(direct)
    got, want = make_interpreter(made), make_interpreter(direct)
    for details in ("get_input_details", "get_output_details"):
        assert [list(d["shape"]) for d in getattr(got, details)()] == [list(d["shape"]) for d in getattr(want, details)()]
    got.invoke()
    assert len(made) == pytest.approx(len(direct), rel=0.1)


def test_probe_dimensions_are_distinct_and_parity_selects_the_template() -> None:
    piece = Piece(56, 24, BlockSpec(5, 72, 40, 2, True, "hs"))
    probe = probe_piece(piece_structure(piece))
    mapping = dim_map(probe, piece)
    assert len(mapping) == 7
    assert mapping[probe.in_size] == 56 and mapping[probe.in_channels] == 24
    odd = Piece(7, 24, BlockSpec(5, 72, 40, 2, True, "hs"))
    assert piece_structure(odd) != piece_structure(piece) and probe_piece(piece_structure(odd)).in_size % 2 == 1
    stride1 = Piece(7, 24, BlockSpec(5, 72, 24, 1, True, "hs"))
    assert piece_structure(stride1) == piece_structure(Piece(8, 24, BlockSpec(5, 72, 24, 1, True, "hs")))
    assert stride2_sizes(176) == [88, 44, 22, 11, 6, 3]


@pytest.mark.parametrize("piece", [
    Piece(1, 96, BlockSpec(5, 576, 96, 1, True, "hs", residual=True)),  # V3-Small's last blocks at 32 px
    pytest.param(Piece(1, 96, BlockSpec(7, 288, 96, 1, True, "hs", residual=True)), marks=SLOW),
    Piece(2, 48, BlockSpec(5, 288, 96, 2, True, "hs")),  # even stride-2 input: PAD + VALID
    pytest.param(Piece(1, 48, BlockSpec(7, 288, 96, 2, True, "hs")), marks=SLOW),  # odd stride-2 input: SAME
    pytest.param(Piece(1, 40, BlockSpec(3, 40, 48, 1, False, "re")), marks=SLOW),  # no expansion, no SE
    pytest.param(Piece(1, 40, BlockSpec(3, 40, 40, 1, True, "re", residual=True)), marks=SLOW),  # no expansion, SE
], ids=str)
def test_blocks_with_a_1x1_output_have_templates_of_their_own(piece: Piece) -> None:
    assert templatable(piece) and piece_structure(piece)[-1] is True
    _assert_like_converter(piece)


def test_every_block_and_head_is_templatable_and_stems_are_not() -> None:
    assert templatable(Piece(2, 64, BlockSpec(5, 256, 96, 2, True, "hs")))
    assert templatable(Piece(1, 96, HeadSpec(576, 1024, "hs"), 10))
    assert not templatable(Piece(32, 3, StemSpec(16, "hs")))


def test_a_head_structure_is_its_activation_and_whether_its_input_is_1x1() -> None:
    head = Piece(1, 96, HeadSpec(576, 1024, "hs"), 10)
    assert piece_structure(head) == piece_structure(Piece(1, 48, HeadSpec(200, 64, "hs"), 1000))
    assert piece_structure(head) != piece_structure(Piece(2, 96, HeadSpec(576, 1024, "hs"), 10))
    assert piece_structure(head) != piece_structure(Piece(1, 96, HeadSpec(576, 1024, "re"), 10))
    assert dim_map(probe_piece(piece_structure(head)), head) == {1: 1, 19: 96, 37: 576, 29: 1024, 11: 10}
