"""Exporters: an `ArchSpec` or one piece -> `nn.Module` -> `.tflite` (litert-torch) or `.onnx`.

TFLite files take and return channels-last (NHWC) tensors: the module is wrapped with
`litert_torch.to_channel_last_io`, whose input/output permutes cancel the converter's own layout
transposes, so no TRANSPOSE op sits at the model's edges (`tflite_ops` lists the ops to check).
ONNX files keep PyTorch's NCHW layout, which is what ONNX Runtime expects.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from latency.errors import LatencyError
from models import atomic
from models.builder import build_model
from models.spec import IN_CHANNELS, ArchSpec

ONNX_OPSET = 17
# printed once per pytree pickled while litert-torch converts (torch 2.13): about 150 lines in a demo's
# log that no user can act on
CONVERTER_NOISE = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


def arch_module(spec: ArchSpec, num_classes: int = 1000) -> nn.Module:
    return build_model(spec, num_classes=num_classes).eval()


def arch_input_shape(resolution: int) -> tuple[int, int, int, int]:
    return (1, IN_CHANNELS, resolution, resolution)


def _channels_last_sample(shape_nchw: tuple[int, ...]) -> torch.Tensor:
    n, c, h, w = shape_nchw
    return torch.randn(n, h, w, c, generator=torch.Generator().manual_seed(0))


def channels_last_module(module: nn.Module, shape_nchw: tuple[int, ...]) -> nn.Module:
    """`module` wrapped to take NHWC input and, when its output is 4-D, return NHWC output."""
    import litert_torch

    with torch.no_grad():
        out = module(torch.zeros(shape_nchw))
    outputs = [0] if out.ndim == 4 else []
    return litert_torch.to_channel_last_io(module, args=[0], outputs=outputs).eval()


@contextmanager
def converter_warnings_off() -> Iterator[None]:
    """Silence the converter's known deprecation noise (`CONVERTER_NOISE`); every other warning shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=CONVERTER_NOISE, category=FutureWarning)
        yield


def tflite_bytes(module: nn.Module, shape_nchw: tuple[int, ...], quiet: bool = True) -> bytes:
    """Convert `module` (NCHW in PyTorch) to a channels-last float32 TFLite flatbuffer; `quiet`
    turns off litert-torch's progress log."""
    import litert_torch

    wrapped = channels_last_module(module.eval(), shape_nchw)
    litert_torch.config.show_progress = not quiet
    with converter_warnings_off():
        edge = litert_torch.convert(wrapped, (_channels_last_sample(shape_nchw),))
    return bytes(edge.model_content())


def export_tflite(module: nn.Module, shape_nchw: tuple[int, ...], path: str | Path) -> Path:
    atomic.write_bytes(path, tflite_bytes(module, shape_nchw))
    return Path(path)


def export_arch_tflite(spec: ArchSpec, resolution: int, path: str | Path, num_classes: int = 1000) -> Path:
    return export_tflite(arch_module(spec, num_classes), arch_input_shape(resolution), path)


def export_onnx(module: nn.Module, shape_nchw: tuple[int, ...], path: str | Path) -> Path:
    """Export with torch's ONNX exporter (TorchScript-based, fixed batch 1), written atomically."""
    sample = torch.randn(shape_nchw, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), atomic.atomic_path(path) as tmp:
        torch.onnx.export(module.eval(), (sample,), str(tmp), input_names=["input"], output_names=["output"],
                          opset_version=ONNX_OPSET, dynamo=False)
    return Path(path)


def export_arch_onnx(spec: ArchSpec, resolution: int, path: str | Path, num_classes: int = 1000) -> Path:
    return export_onnx(arch_module(spec, num_classes), arch_input_shape(resolution), path)


def read_tflite(path: str | Path) -> bytes:
    """The bytes of a .tflite file, checked for the TFLite flatbuffer identifier 'TFL3'."""
    path = Path(path)
    if not path.is_file():
        raise LatencyError(f"model file {str(path)!r} does not exist; export one with "
                           f"'hwnas export NAME --format tflite --out {path.name or 'model.tflite'}'")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise LatencyError(f"{str(path)!r} is not a TFLite flatbuffer (no 'TFL3' identifier at byte 4); "
                           f"pass a .tflite file, e.g. one written by 'hwnas export ... --format tflite'")
    return data


def tflite_ops(path_or_bytes: str | Path | bytes) -> list[str]:
    """Builtin op names of the main subgraph, in execution order."""
    from ai_edge_litert import schema_py_generated as schema

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else read_tflite(path_or_bytes)
    model = schema.Model.GetRootAsModel(data, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)
    ops = []
    for i in range(graph.OperatorsLength()):
        code = codes[graph.Operators(i).OpcodeIndex()]
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        ops.append(names.get(builtin, f"OP_{builtin}"))
    return ops
