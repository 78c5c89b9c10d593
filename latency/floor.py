"""The invoke-floor model: a TFLite flatbuffer written by hand (no converter) holding one float32
ADD of two 1-element tensors. Timing it with a piece's protocol measures what every invoke costs
before any real work (the Python call, the interpreter's dispatch, the flush's cold state), which
a whole model pays once and each of its pieces pays again (`latency.windows`)."""

from __future__ import annotations

import numpy as np


def pack_model(operator: int, version: int, tensors: list, operators: list, buffers: list,
               description: bytes) -> bytes:
    """A one-subgraph TFLite flatbuffer of `operators` (all of builtin `operator`) over `tensors`;
    the first tensor is the input, the last the output."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as s

    graph = s.SubGraphT()
    graph.tensors, graph.operators, graph.inputs, graph.outputs = tensors, operators, [0], [len(tensors) - 1]
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = operator
    code.version = version
    model = s.ModelT()
    model.version, model.description = 3, description
    model.operatorCodes, model.subgraphs, model.buffers = [code], [graph], buffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def floor_model() -> bytes:
    from ai_edge_litert import schema_py_generated as s

    buffers = [s.BufferT(), s.BufferT()]
    buffers[1].data = np.frombuffer(np.ones(1, np.float32).tobytes(), dtype=np.uint8)
    tensors = []
    for name, buffer in (("input", 0), ("one", 1), ("output", 0)):
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), [1], s.TensorType.FLOAT32, buffer
        tensors.append(t)
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1], [2]
    op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.AddOptions, s.AddOptionsT()
    return pack_model(s.BuiltinOperator.ADD, 1, tensors, [op], buffers, b"hwnas invoke floor")
