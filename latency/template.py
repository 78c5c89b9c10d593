"""Fast piece conversion: one litert-torch conversion per block or head *structure*, rewritten for widths.

A block's TFLite graph depends only on its structure (kernel, stride, SE, activation, residual,
whether it has an expansion conv, for stride 2 the parity of the input size, and whether its
output is 1x1); a head's on its activation and whether its input is 1x1 (over a 1x1 map the
converter pools with SUM, not MEAN, and drops a block's SE pool); widths and spatial sizes only
set tensor shapes and weight buffer sizes. The parity matters because PyTorch pads k//2 on both
sides: with stride 2 that equals TFLite's SAME padding on an odd input, so the converter emits a
SAME convolution, but not on an even input (SAME would pad only after), where it emits an
explicit PAD op and a VALID convolution. So a structure is converted once, at "probe" sizes
whose every dimension is a distinct value (input 46x46, or 47x47 for an odd stride-2 input; in
19, mid 37, out 29 channels, ...; a block with a 1x1 output: input 1x1, or 2x2 for an even
stride-2 input, in 43 channels; a head: input 6x6 or 1x1, in 19, last 37, hidden 29, 11 classes),
and any piece of that structure is made by mapping each probe dimension to the real one in every
tensor shape and refilling the resized weight buffers with random float32 data (latency does not
depend on float weight values). Constant int tensors (pad amounts, reduction axes) hold no probe
value and are kept. Stems are converted directly.
`benchmarks/latency_template_check.py` shows that rewritten pieces time like converted ones.
"""

from __future__ import annotations

import numpy as np

from latency.pieces import Piece
from models.blocks import se_width
from models.spec import BlockSpec, HeadSpec, conv_out

PROBE_IN, PROBE_CIN, PROBE_MID, PROBE_OUT = 46, 19, 37, 29
PROBE_HEAD_IN, PROBE_CLASSES = 6, 11

BlockStructure = tuple[int, int, bool, str, bool, bool, bool, bool]
HeadStructure = tuple[str, str, bool]
Structure = BlockStructure | HeadStructure
PROBE_CIN_1X1 = 43  # 1x1-output probes: sizes 1-2 and padded sizes 3-8 must not meet se_width(19) = 8


def piece_structure(piece: Piece) -> Structure:
    """Blocks: (kernel, stride, se, act, residual, has_expand, odd stride-2 input, 1x1 output);
    heads: ("head", act, 1x1 input): what decides the piece's op graph (over a 1x1 map the converter
    pools with SUM or drops the SE's pool, so 1x1 pieces have templates of their own)."""
    b = piece.spec
    if isinstance(b, HeadSpec):
        return ("head", b.act, piece.in_size == 1)
    assert isinstance(b, BlockSpec), "templates cover blocks and heads only"
    odd = b.stride == 2 and piece.in_size % 2 == 1
    one_out = conv_out(piece.in_size, b.kernel, b.stride) == 1
    return (b.kernel, b.stride, b.se, b.act, b.residual, b.expands_from(piece.in_channels), odd, one_out)


def templatable(piece: Piece) -> bool:
    """Whether a template can stand for `piece`: every block and head (stems are converted directly)."""
    return isinstance(piece.spec, (BlockSpec, HeadSpec))


def probe_piece(structure: Structure) -> Piece:
    if structure[0] == "head":
        _, act, one_by_one = structure
        size = 1 if one_by_one else PROBE_HEAD_IN
        return Piece(size, PROBE_CIN, HeadSpec(PROBE_MID, PROBE_OUT, str(act)), PROBE_CLASSES)
    kernel, stride, se, act, residual, expand, odd, one_out = structure
    cin = PROBE_CIN_1X1 if one_out else PROBE_CIN
    out = cin if residual else PROBE_OUT
    mid = PROBE_MID if expand else cin
    size = (1 if stride == 1 or odd else 2) if one_out else PROBE_IN + odd
    return Piece(size, cin, BlockSpec(kernel, mid, out, stride, se, act, residual))


def _dims(piece: Piece) -> list[int]:
    b = piece.spec
    if isinstance(b, HeadSpec):
        return [piece.in_size, piece.in_channels, b.last, b.hidden, piece.classes]
    pad = (b.kernel - 1) // 2
    return [piece.in_size, conv_out(piece.in_size, b.kernel, b.stride), piece.in_size + 2 * pad,
            piece.in_channels, b.mid, b.out, se_width(b.mid)]


def dim_map(probe: Piece, real: Piece) -> dict[int, int]:
    """Probe dimension value -> real value; the probe's values must be pairwise distinct or equal
    exactly where the real block's are (no expansion: mid == in; residual: out == in)."""
    mapping: dict[int, int] = {}
    for p, r in zip(_dims(probe), _dims(real)):
        if mapping.setdefault(p, r) != r:
            raise AssertionError(f"probe dimension {p} maps to both {mapping[p]} and {r}")
    return mapping


def rewrite(template: bytes, mapping: dict[int, int], seed: int = 0) -> bytes:
    """`template` with every tensor dimension mapped and resized constant buffers refilled."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(template))
    rng = np.random.default_rng(seed)
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            old = [int(d) for d in tensor.shape]
            new = [mapping.get(d, d) for d in old]
            if tensor.shapeSignature is not None:
                tensor.shapeSignature = [mapping.get(int(d), int(d)) for d in tensor.shapeSignature]
            if new == old:
                continue
            tensor.shape = new
            buffer = model.buffers[tensor.buffer]
            if buffer.data is not None and len(buffer.data) > 0:
                if tensor.type != schema.TensorType.FLOAT32:
                    raise ValueError(f"template tensor {tensor.name!r} of type {tensor.type} resizes; "
                                     f"only float32 weights can be refilled")
                values = (0.1 * rng.standard_normal(int(np.prod(new)))).astype(np.float32)
                buffer.data = np.frombuffer(values.tobytes(), dtype=np.uint8)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


class TemplateConverter:
    """Converts blocks and heads through cached per-structure templates; `convert_template` is injected so
    a worker process can do the slow litert-torch step."""

    def __init__(self) -> None:
        self.templates: dict[Structure, bytes] = {}

    def missing_structures(self, pieces: list[Piece]) -> list[Structure]:
        seen = {piece_structure(p) for p in pieces if templatable(p)}
        return sorted(seen - set(self.templates), key=str)

    def add(self, structure: Structure, template: bytes) -> None:
        self.templates[structure] = template

    def piece_tflite(self, piece: Piece) -> bytes:
        structure = piece_structure(piece)
        return rewrite(self.templates[structure], dim_map(probe_piece(structure), piece))
