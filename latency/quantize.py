"""Int8 models for int8 latency tables and whole-model int8 benchmarks: litert-torch's PT2E static
post-training quantisation (`PT2EQuantizer`, symmetric, per-channel weights), the recipe of the
export path's `export.int8`, calibrated here on random inputs (a latency does not depend on the
quantisation scales). The quantizer leaves the squeeze-and-excite gate's hard-sigmoid in float,
between a DEQUANTIZE and a QUANTIZE op, exactly as in the exported model."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from latency.errors import LatencyError
from latency.export import arch_input_shape, arch_module, channels_last_module, converter_warnings_off
from latency.pieces import Piece
from models.spec import ArchSpec

RANDOM_INPUTS = 8


def random_calibration(shape_nchw: tuple[int, ...], count: int = RANDOM_INPUTS, seed: int = 0) -> np.ndarray:
    """`count` NHWC float32 inputs in [-1, 1] (a normalised image's range)."""
    n, c, h, w = shape_nchw
    return np.random.default_rng(seed).uniform(-1, 1, size=(count, h, w, c)).astype(np.float32)


def int8_tflite_bytes(module: nn.Module, shape_nchw: tuple[int, ...], calibration: np.ndarray,
                      batch: int = 32) -> bytes:
    """Full-integer int8 TFLite via PT2E static quantisation calibrated on `calibration` (NHWC float32),
    in batches of `batch` (the graph is exported with a dynamic batch; the converter fixes batch 1)."""
    import litert_torch
    from litert_torch.quantize import pt2e_quantizer
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e import quantize_pt2e

    wrapped = channels_last_module(module.eval(), shape_nchw)
    sample = (torch.from_numpy(calibration[:1]),)
    dim = torch.export.Dim("batch", min=1, max=max(2, batch))
    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False))
    try:
        pair = np.concatenate([calibration[:1], calibration[:1]]) if len(calibration) < 2 else calibration[:2]
        graph = torch.export.export(wrapped, (torch.from_numpy(pair),), dynamic_shapes=(({0: dim},),))
        prepared = quantize_pt2e.prepare_pt2e(graph.module(), quantizer)
        with torch.no_grad():
            for start in range(0, len(calibration), batch):
                prepared(torch.from_numpy(calibration[start:start + batch]))
        converted = quantize_pt2e.convert_pt2e(prepared, fold_quantize=False)
        litert_torch.config.show_progress = False
        with converter_warnings_off():
            edge = litert_torch.convert(converted, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    except Exception as err:  # torch.export / torchao / the converter raise many unrelated types
        raise LatencyError(f"int8 post-training quantisation failed: {type(err).__name__}: {err}; "
                           f"use dtype float32") from err
    return bytes(edge.model_content())


def int8_piece_bytes(piece: Piece) -> bytes:
    shape = piece.input_shape()
    return int8_tflite_bytes(piece.module(), shape, random_calibration(shape))


def int8_arch_bytes(spec: ArchSpec, resolution: int, num_classes: int) -> bytes:
    shape = arch_input_shape(resolution)
    return int8_tflite_bytes(arch_module(spec, num_classes), shape, random_calibration(shape))
