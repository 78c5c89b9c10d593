"""Exports: NHWC TFLite without edge transposes, ONNX, both matching torch within 1e-4."""

from __future__ import annotations

import re
import warnings

import numpy as np
import onnxruntime as ort
import torch
from latency_helpers import TINY_ARCH

from latency.export import (
    CONVERTER_NOISE,
    arch_input_shape,
    arch_module,
    export_onnx,
    tflite_bytes,
    tflite_ops,
)
from latency.litert_bench import make_interpreter
from latency.pieces import arch_pieces


def _run_tflite(data: bytes, x_nchw: torch.Tensor) -> np.ndarray:
    interp = make_interpreter(data)
    interp.set_tensor(interp.get_input_details()[0]["index"], x_nchw.permute(0, 2, 3, 1).numpy())
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def test_whole_arch_tflite_is_nhwc_without_transposes_and_matches_torch() -> None:
    module = arch_module(TINY_ARCH, num_classes=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = tflite_bytes(module, arch_input_shape(32))
    # the converter's pytree deprecation noise (~150 lines in a demo's log) is silenced, nothing else
    assert not [w for w in caught if re.search(CONVERTER_NOISE, str(w.message))]
    assert "TRANSPOSE" not in tflite_ops(data)
    interp = make_interpreter(data)
    assert list(interp.get_input_details()[0]["shape"]) == [1, 32, 32, 3]
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = module(x).numpy()
    np.testing.assert_allclose(_run_tflite(data, x), expected, atol=1e-4, rtol=0)


def test_block_piece_tflite_has_nhwc_output_and_matches_torch() -> None:
    piece = arch_pieces(TINY_ARCH, 32, 10)[1]  # the SE block, as the model builds it
    module = piece.module()
    data = tflite_bytes(module, piece.input_shape())
    ops = tflite_ops(data)
    assert "TRANSPOSE" not in ops and "DEPTHWISE_CONV_2D" in ops
    x = torch.randn(piece.input_shape())
    with torch.no_grad():
        expected = module(x).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(_run_tflite(data, x), expected, atol=1e-4, rtol=0)


def test_onnx_matches_torch(tmp_path) -> None:
    module = arch_module(TINY_ARCH, num_classes=10)
    path = export_onnx(module, arch_input_shape(32), tmp_path / "tiny.onnx")
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = module(x).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert not list(tmp_path.glob(".*.tmp"))
