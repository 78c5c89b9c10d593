"""Deploy the final model: export it to .onnx / .tflite (float32) and optionally an int8 .tflite,
check each file's outputs against the PyTorch model on the test split, benchmark each file live on
this machine, and record everything in `export.json`. The files take the resolution asked for: a run
exports at `latency.resolution`, the resolution its latency was targeted and measured at; when that
differs from the data's (a demo trained at 32 px, timed as deployed at 224 px), the parity check and
the int8 calibration use the images resized to it (`data_resolution` in the record says from what).

Parity: float files must agree with PyTorch to `FLOAT_TOLERANCE` (max absolute logit difference
over every test image, else `ParityError`); the int8 file's top-1 agreement with PyTorch is
reported, not enforced. Int8 is litert-torch's PT2E static post-training quantization
(`PT2EQuantizer`, symmetric, per-channel weights) calibrated on `CALIBRATION_IMAGES` training
images, giving an integer model with int8 input and output tensors (the runner quantizes inputs
and dequantizes outputs with the file's own scale and zero point); the quantizer leaves the
squeeze-and-excite gate's hard-sigmoid in float, between a DEQUANTIZE and a QUANTIZE op.

`export.json` is written last and records the inputs (arch, weights hash, resolution, classes,
formats, int8, benchmark settings) and each file's sha256: a second call with the same inputs and
unchanged files returns the stored record without redoing anything (resume).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from experiments.config.errors import DataError, RunDirError
from experiments.data.loader import BatchLoader
from experiments.data.resize import resize_images
from experiments.data.types import DataBundle, Split
from experiments.rundir import layout
from experiments.rundir.manifest import file_sha256
from experiments.training.weights import WeightsError, load_trained
from latency import quantize
from latency.errors import LatencyError
from latency.export import (
    arch_input_shape,
    export_onnx,
    tflite_bytes,
)
from latency.litert_bench import benchmark_tflite
from latency.litert_bench import runtime_version as litert_version
from latency.measure import BenchSettings
from latency.onnx_bench import benchmark_onnx
from latency.onnx_bench import runtime_version as onnx_version
from models import atomic
from models.spec import ArchSpec

FLOAT_TOLERANCE = 1e-4
CALIBRATION_IMAGES = 256
CALIBRATION_BATCH = 32
PARITY_BATCH = 256

Runner = Callable[[np.ndarray], np.ndarray]  # NCHW float32 batch -> logits


class ParityError(RuntimeError):
    """An exported float model whose outputs differ from PyTorch by more than the tolerance."""


class QuantizationError(RuntimeError):
    """Int8 post-training quantization failed for this architecture."""


def load_model(arch: ArchSpec, weights_path: Path, num_classes: int) -> nn.Module:
    """`arch` with the `state_dict` in `weights_path`, in eval mode; a mismatch is a RunDirError."""
    try:
        return load_trained(arch, weights_path, num_classes)
    except WeightsError as err:
        raise RunDirError(str(err)) from None


def test_batches(data: DataBundle) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The test split as normalised NCHW float32 batches (the evaluation preprocessing) with labels."""
    loader = BatchLoader(data.test, data.mean, data.std, PARITY_BATCH)
    for x, y in loader:
        yield x.numpy(), y.numpy()


def at_resolution(data: DataBundle, resolution: int, calibration: int, seed: int) -> DataBundle:
    """The test split and `calibration` seeded training images (all the int8 calibration draws from)
    resized to `resolution`: a model trained at the data's resolution, exported at the resolution its
    latency was timed at, is checked against PyTorch on the same resized inputs."""
    order = np.sort(np.random.default_rng(seed).permutation(len(data.train))[:calibration])
    train = Split(resize_images(data.train.images[order], resolution), data.train.labels[order])
    test = Split(resize_images(data.test.images, resolution), data.test.labels)
    return replace(data, train=train, val=test, test=test)


def calibration_images(data: DataBundle, count: int, seed: int) -> np.ndarray:
    """`count` training images (a seeded random subset, no augmentation) as normalised NHWC float32."""
    loader = BatchLoader(data.train, data.mean, data.std, len(data.train))
    x, _ = next(iter(loader))
    order = np.random.default_rng(seed).permutation(len(x))[:count]
    return x.numpy()[order].transpose(0, 2, 3, 1).copy()


def int8_tflite_bytes(module: nn.Module, shape_nchw: tuple[int, ...], calibration: np.ndarray) -> bytes:
    """Full-integer int8 TFLite by the recipe int8 latency tables use (`latency.quantize`), calibrated
    on `calibration` (NHWC float32 images) in batches of `CALIBRATION_BATCH`."""
    try:
        return quantize.int8_tflite_bytes(module, shape_nchw, calibration, batch=CALIBRATION_BATCH)
    except LatencyError as err:
        raise QuantizationError(f"{err}; set export.int8: false to export float32 files only") from err


def tflite_runner(path: Path, threads: int) -> Runner:
    """Run a .tflite file image by image (NHWC input); int8 inputs / outputs are (de)quantized with the
    tensor's own scale and zero point."""
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=threads)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]

    def run(batch: np.ndarray) -> np.ndarray:
        rows = []
        for image in batch.transpose(0, 2, 3, 1):
            x = image[None]
            if inp["dtype"] == np.int8:
                x = np.clip(np.round(x / in_scale + in_zero), -128, 127)
            interp.set_tensor(inp["index"], x.astype(inp["dtype"]))
            interp.invoke()
            y = interp.get_tensor(out["index"])[0]
            rows.append((y.astype(np.float32) - out_zero) * out_scale if out["dtype"] == np.int8 else y)
        return np.stack(rows).astype(np.float32)

    return run


def onnx_runner(path: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: np.concatenate([session.run(None, {name: image[None]})[0] for image in batch])


@dataclass
class Agreement:
    """Running comparison of one format's logits with PyTorch's over the test split."""

    images: int = 0
    max_abs_diff: float = 0.0
    same_top1: int = 0
    correct: int = 0

    def update(self, reference: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> None:
        self.images += len(labels)
        self.max_abs_diff = max(self.max_abs_diff, float(np.abs(reference - logits).max()))
        self.same_top1 += int((reference.argmax(1) == logits.argmax(1)).sum())
        self.correct += int((logits.argmax(1) == labels).sum())

    def summary(self, quantized: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"images": self.images, "split": "test",
                               "top1_agreement": self.same_top1 / max(self.images, 1),
                               "accuracy": self.correct / max(self.images, 1), "max_abs_diff": self.max_abs_diff}
        if quantized:
            out["check"] = "reported (int8 logits are not expected to match float ones)"
        else:
            out.update(check=f"max_abs_diff <= {FLOAT_TOLERANCE}", tolerance=FLOAT_TOLERANCE,
                       passed=self.max_abs_diff <= FLOAT_TOLERANCE)
        return out


def check_parity(model: nn.Module, runners: dict[str, Runner], data: DataBundle) -> tuple[dict[str, Any], float]:
    """Per format, agreement with PyTorch over the whole test split; also PyTorch's own test accuracy."""
    stats = {fmt: Agreement() for fmt in runners}
    correct = total = 0
    with torch.no_grad():
        for x, y in test_batches(data):
            reference = model(torch.from_numpy(x)).numpy()
            correct += int((reference.argmax(1) == y).sum())
            total += len(y)
            for fmt, run in runners.items():
                stats[fmt].update(reference, run(x), y)
    return {fmt: s.summary(quantized=fmt == "tflite_int8") for fmt, s in stats.items()}, correct / max(total, 1)


def bench_file(fmt: str, path: Path, settings: BenchSettings) -> dict[str, Any]:
    timing = {"warmup_s": settings.warmup_s, "min_runs": settings.min_runs, "min_time_s": settings.min_time_s}
    if fmt == "onnx":
        result = benchmark_onnx(path, threads=settings.threads, **timing)
        runtime, flags = onnx_version(), ""
    else:
        result = benchmark_tflite(path, threads=settings.threads, xnnpack=settings.xnnpack, **timing)
        runtime, flags = litert_version(), "" if settings.xnnpack else " --no-xnnpack"
    return {"runtime": runtime, "threads": settings.threads, "xnnpack": fmt != "onnx" and settings.xnnpack,
            **result.to_dict(), "command": f"hwnas bench {path} --threads {settings.threads}{flags}"}


def _stored_if_current(out_dir: Path, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The existing export.json when it was made from `inputs` and every file it lists is unchanged."""
    path = out_dir / layout.EXPORT
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if record.get("inputs") != inputs or set(record.get("models", {})) != set(_wanted(inputs)):
        return None
    for entry in record["models"].values():
        file = out_dir / entry["path"]
        if not file.is_file() or file_sha256(file) != entry["sha256"]:
            return None
    return record


def _wanted(inputs: dict[str, Any]) -> list[str]:
    formats = list(inputs["formats"])
    return formats + (["tflite_int8"] if inputs["int8"] else [])


def export_final(arch: ArchSpec, weights_path: str | Path, out_dir: str | Path, data: DataBundle, resolution: int,
                 num_classes: int, formats: list[str] | tuple[str, ...], int8: bool, bench_settings: BenchSettings,
                 seed: int = 0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Export, check and benchmark the final model; write `out_dir/export.json` and return its content.

    `formats` is a subset of ("tflite", "onnx"); `int8` adds `model_int8.tflite` (calibrated on
    training images drawn with `seed`). Raises `ParityError` when a float file disagrees with PyTorch
    (export.json is still written, with `passed: false`, so the numbers can be read).
    """
    weights_path, out_dir = Path(weights_path), Path(out_dir)
    if data.num_classes != num_classes:
        raise DataError(f"the data have {data.num_classes} classes, but the model is to be exported with "
                        f"{num_classes} classes; load the run's own dataset")
    trained_at = data.resolution
    if resolution != trained_at:  # deployed at the latency resolution: the checks see resized images
        data = at_resolution(data, resolution, CALIBRATION_IMAGES, seed)
    unknown = sorted(set(formats) - {"tflite", "onnx"})
    if unknown:
        raise ValueError(f"unknown export formats {unknown}; allowed: tflite, onnx")
    if not weights_path.is_file():
        raise RunDirError(f"weights file {weights_path} does not exist; run the training phase that writes it "
                          f"(hwnas run CONFIG --resume)")
    inputs = {"arch": arch.to_str(), "weights_sha256": file_sha256(weights_path), "resolution": resolution,
              "num_classes": num_classes, "formats": list(formats), "int8": int8,
              "calibration": {"split": "train", "images": CALIBRATION_IMAGES, "seed": seed} if int8 else None,
              "bench": bench_settings.to_dict(), "data_resolution": trained_at}
    stored = _stored_if_current(out_dir, inputs)
    if stored is not None:
        log(f"export: {out_dir / layout.EXPORT} is up to date; skipped")
        return _checked(stored, out_dir)
    model = load_model(arch, weights_path, num_classes)
    shape = arch_input_shape(resolution)
    paths: dict[str, Path] = {}
    if "onnx" in formats:
        paths["onnx"] = export_onnx(model, shape, out_dir / layout.EXPORT_FILES["onnx"])
    if "tflite" in formats:
        paths["tflite"] = out_dir / layout.EXPORT_FILES["tflite"]
        atomic.write_bytes(paths["tflite"], tflite_bytes(model, shape))
    if int8:
        calibration = calibration_images(data, CALIBRATION_IMAGES, seed)
        paths["tflite_int8"] = out_dir / layout.EXPORT_FILES["tflite_int8"]
        atomic.write_bytes(paths["tflite_int8"], int8_tflite_bytes(model, shape, calibration))
    for fmt, name in layout.EXPORT_FILES.items():
        if fmt not in paths:  # left by an earlier export with other settings
            (out_dir / name).unlink(missing_ok=True)
    log(f"export: wrote {', '.join(p.name for p in paths.values())} in {out_dir}")
    threads = bench_settings.threads
    runners = {fmt: (onnx_runner(p, threads) if fmt == "onnx" else tflite_runner(p, threads))
               for fmt, p in paths.items()}
    parity, torch_accuracy = check_parity(model, runners, data)
    models: dict[str, Any] = {}
    for fmt, path in paths.items():
        models[fmt] = {"path": path.name, "sha256": file_sha256(path), "size_bytes": path.stat().st_size,
                       "dtype": "int8" if fmt == "tflite_int8" else "float32",
                       "input_layout": "NCHW" if fmt == "onnx" else "NHWC", "parity": parity[fmt],
                       "bench": bench_file(fmt, path, bench_settings)}
        if fmt == "tflite_int8" and bench_settings.xnnpack:
            # XNNPACK runs this mixed int8 graph (float islands at the SE gates) several times slower than
            # LiteRT's builtin int8 kernels on the x86 machines tried, so both timings are recorded.
            alt = models[fmt]["bench_builtin_kernels"] = bench_file(fmt, path, replace(bench_settings, xnnpack=False))
            log(f"export: {path.name} with LiteRT's builtin kernels (no XNNPACK): live median "
                f"{alt['median_ms']:.3f} ms (p10 {alt['p10_ms']:.3f}, p90 {alt['p90_ms']:.3f})")
        bench = models[fmt]["bench"]
        log(f"export: {path.name}: {_parity_text(parity[fmt])}; live median {bench['median_ms']:.3f} ms "
            f"(p10 {bench['p10_ms']:.3f}, p90 {bench['p90_ms']:.3f}, {bench['runs']} runs)")
    record = {"inputs": inputs, "torch_test_accuracy": torch_accuracy, "models": models}
    atomic.write_json(out_dir / layout.EXPORT, record)
    return _checked(record, out_dir)


def _checked(record: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """`record`, unless a float file failed its parity check (then `ParityError`, also on resume)."""
    failed = [entry["path"] for entry in record["models"].values() if entry["parity"].get("passed") is False]
    if failed:
        raise ParityError(f"{', '.join(failed)} differ from the PyTorch model by more than {FLOAT_TOLERANCE} "
                          f"(see {out_dir / layout.EXPORT}); the export is not usable")
    return record


def _parity_text(parity: dict[str, Any]) -> str:
    if "passed" in parity:
        return (f"max |diff| {parity['max_abs_diff']:.2e} over {parity['images']} test images "
                f"({'ok' if parity['passed'] else 'FAILED'})")
    return f"top-1 agreement {parity['top1_agreement']:.4f}, accuracy {parity['accuracy']:.4f}"
