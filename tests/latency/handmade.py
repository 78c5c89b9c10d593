"""A TFLite model written by hand with the flatbuffer schema, no converter involved: a chain of
int8-quantized 3x3 convolutions. It stands for "a .tflite this project did not produce" (and a
quantized one) in the latency tests."""

from __future__ import annotations

import numpy as np

from latency.floor import pack_model


def int8_conv_chain(size: int = 56, channels: int = 32, layers: int = 4, seed: int = 0) -> bytes:
    """`layers` int8 CONV_2D ops (3x3, SAME, stride 1, ReLU) on a 1 x size x size x channels input."""
    from ai_edge_litert import schema_py_generated as s

    rng = np.random.default_rng(seed)
    buffers = [s.BufferT()]  # buffer 0 is the empty sentinel

    def buffer(array: np.ndarray | None) -> int:
        b = s.BufferT()
        if array is not None:
            b.data = np.frombuffer(array.tobytes(), dtype=np.uint8)
        buffers.append(b)
        return len(buffers) - 1

    def tensor(name: str, shape: list[int], ttype: int, scale: float, data: np.ndarray | None = None):
        t = s.TensorT()
        t.name, t.shape, t.type = name.encode(), shape, ttype
        t.buffer = buffer(data)
        q = s.QuantizationParametersT()
        q.scale, q.zeroPoint = [scale], [0]
        t.quantization = q
        return t

    tensors = [tensor("input", [1, size, size, channels], s.TensorType.INT8, 0.05)]
    operators = []
    for i in range(layers):
        weights = rng.integers(-127, 128, size=(channels, 3, 3, channels), dtype=np.int8)
        bias = rng.integers(-1000, 1000, size=channels, dtype=np.int32)
        tensors.append(tensor(f"w{i}", [channels, 3, 3, channels], s.TensorType.INT8, 0.01, weights))
        tensors.append(tensor(f"b{i}", [channels], s.TensorType.INT32, 0.05 * 0.01, bias))
        tensors.append(tensor(f"act{i}", [1, size, size, channels], s.TensorType.INT8, 0.05))
        op = s.OperatorT()
        op.opcodeIndex = 0
        op.inputs = [len(tensors) - 4 if i else 0, len(tensors) - 3, len(tensors) - 2]
        op.outputs = [len(tensors) - 1]
        options = s.Conv2DOptionsT()
        options.padding, options.strideW, options.strideH = s.Padding.SAME, 1, 1
        options.fusedActivationFunction = s.ActivationFunctionType.RELU
        op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.Conv2DOptions, options
        operators.append(op)
    return pack_model(s.BuiltinOperator.CONV_2D, 3, tensors, operators, buffers, b"hwnas hand-made int8 conv chain")
