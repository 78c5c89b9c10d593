"""Fast block conversion: one litert-torch conversion per block *structure*, rewritten for widths.

A block's TFLite graph depends only on its structure (kernel, stride, SE, activation, residual,
whether it has an expansion conv, and for stride 2 the parity of the input size); widths and
spatial sizes only set tensor shapes and weight buffer sizes. The parity matters because PyTorch
pads k//2 on both sides: with stride 2 that equals TFLite's SAME padding on an odd input, so the
converter emits a SAME convolution, but not on an even input (SAME would pad only after), where
it emits an explicit PAD op and a VALID convolution. So a structure is converted once, at "probe"
sizes whose every dimension is a distinct value (input 46x46, or 47x47 for an odd stride-2 input;
in 19, mid 37, out 29 channels, ...), and any block of that structure
is made by mapping each probe dimension to the real one in every tensor shape and refilling the
resized weight buffers with random float32 data (latency does not depend on float weight values).
Constant int tensors (pad amounts, reduction axes) hold no probe value and are kept. Blocks
with a 1x1 output are the exception (see `templatable`) and are converted directly.
`benchmarks/latency_template_check.py` shows that rewritten blocks time like converted ones.
"""

from __future__ import annotations

import numpy as np

from latency.pieces import Piece
from models.blocks import se_width
from models.spec import BlockSpec, conv_out

PROBE_IN, PROBE_CIN, PROBE_MID, PROBE_OUT = 46, 19, 37, 29

Structure = tuple[int, int, bool, str, bool, bool, bool]


def block_structure(piece: Piece) -> Structure:
    """(kernel, stride, se, act, residual, has_expand, odd stride-2 input): what decides a block's op graph."""
    b = piece.spec
    assert isinstance(b, BlockSpec), "templates cover blocks only"
    odd = b.stride == 2 and piece.in_size % 2 == 1
    return (b.kernel, b.stride, b.se, b.act, b.residual, b.expands_from(piece.in_channels), odd)


def templatable(piece: Piece) -> bool:
    """Whether a template can stand for `piece`: blocks whose output is 1x1 are converted
    directly, because the converter drops the SE's global pool (MEAN) over a 1x1 map."""
    b = piece.spec
    return isinstance(b, BlockSpec) and conv_out(piece.in_size, b.kernel, b.stride) > 1


def probe_piece(structure: Structure) -> Piece:
    kernel, stride, se, act, residual, expand, odd = structure
    out = PROBE_CIN if residual else PROBE_OUT
    mid = PROBE_MID if expand else PROBE_CIN
    return Piece(PROBE_IN + odd, PROBE_CIN, BlockSpec(kernel, mid, out, stride, se, act, residual))


def _dims(piece: Piece) -> list[int]:
    b = piece.spec
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
    """Converts blocks through cached per-structure templates; `convert_template` is injected so
    a worker process can do the slow litert-torch step."""

    def __init__(self) -> None:
        self.templates: dict[Structure, bytes] = {}

    def missing_structures(self, pieces: list[Piece]) -> list[Structure]:
        seen = {block_structure(p) for p in pieces if templatable(p)}
        return sorted(seen - set(self.templates))

    def add(self, structure: Structure, template: bytes) -> None:
        self.templates[structure] = template

    def block_tflite(self, piece: Piece) -> bytes:
        structure = block_structure(piece)
        return rewrite(self.templates[structure], dim_map(probe_piece(structure), piece))
