"""`hwnas bench`: live latency of a .tflite / .onnx file, or of an architecture exported on the fly."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from experiments.commands.adb_args import add_adb_args, phone_from_args
from latency.errors import LatencyError
from latency.export import arch_input_shape, arch_module, export_onnx, tflite_bytes
from latency.litert_bench import benchmark_tflite
from latency.litert_bench import runtime_version as litert_version
from latency.measure import DTYPES
from latency.onnx_bench import benchmark_onnx
from latency.onnx_bench import runtime_version as onnx_version
from models.references import resolve_arch

EXAMPLES = """examples:
  hwnas bench mobilenetv3-small
  hwnas bench mobilenetv3-large --resolution 160 --threads 2 --json
  hwnas bench model.tflite --no-xnnpack
  hwnas bench model.onnx
  hwnas bench stem_c16_hs-ir_k3_m16_c16_s2_se_re-head_c576_h1024_hs --backend onnx
  hwnas bench mobilenetv3-small --backend adb --benchmark-binary ./benchmark_model --cores 7 --json
  hwnas bench mobilenetv3-large --dtype int8 --no-xnnpack   (post-training quantised, as export.int8 makes it)
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="live latency of a model file or an architecture",
                            description="Benchmark a .tflite (LiteRT interpreter) or .onnx (ONNX Runtime) file, "
                            "or an architecture (reference name, compact string or YAML) exported on the fly. "
                            "Warm-up >= 0.5 s, then >= 50 runs and >= 1 s; prints median and spread. --backend adb times a "
                            ".tflite on an Android phone with its benchmark_model, pinned to --cores.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL.tflite|MODEL.onnx|NAME_OR_SPEC")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--resolution", type=int, default=224, help="input size for an architecture (default 224)")
    parser.add_argument("--classes", type=int, default=1000, help="classes for an architecture (default 1000)")
    parser.add_argument("--backend", choices=("litert", "onnx", "adb"), default=None,
                        help="runtime (default: by file suffix; litert for an architecture); adb: a phone")
    parser.add_argument("--no-xnnpack", action="store_true", help="LiteRT builtin kernels without XNNPACK")
    parser.add_argument("--dtype", choices=DTYPES, default="float32", help="an architecture's dtype: float32, or "
                        "int8 (post-training quantised on random inputs; default float32)")
    parser.add_argument("--warmup-s", type=float, default=0.5, help="warm-up seconds (default 0.5)")
    parser.add_argument("--min-runs", type=int, default=50, help="minimum timed runs (default 50)")
    parser.add_argument("--min-time-s", type=float, default=1.0, help="minimum timed seconds (default 1.0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_adb_args(parser)
    parser.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    if args.threads < 1 or args.min_runs < 1 or args.warmup_s < 0 or args.min_time_s < 0:
        raise LatencyError("--threads and --min-runs must be at least 1, --warmup-s and --min-time-s not negative")
    timing = {"warmup_s": args.warmup_s, "min_runs": args.min_runs, "min_time_s": args.min_time_s}
    path = Path(args.model)
    is_file = path.suffix in (".tflite", ".onnx") or path.is_file() and path.suffix not in (".yaml", ".yml")
    backend = args.backend or ("onnx" if path.suffix == ".onnx" else "litert")
    phone = phone_from_args(args)
    if args.dtype == "int8" and (is_file or backend == "onnx"):
        raise LatencyError("--dtype int8 quantises an architecture for LiteRT; a file keeps its own dtype and "
                           "ONNX has no int8 export here: pass an architecture with the litert or adb backend")
    if phone is not None:
        if is_file and path.suffix == ".onnx":
            raise LatencyError(f"--backend adb times .tflite files with the phone's benchmark_model; {path} is "
                               f"ONNX: pass a .tflite, or an architecture to export one")
        spec = None if is_file else resolve_arch(args.model)
        source = str(path) if spec is None else spec.to_str()
        model = path if spec is None else _arch_tflite(spec, args)
        result = phone.time(model, threads=args.threads, xnnpack=not args.no_xnnpack, **timing)
    elif is_file:
        source = str(path)
        if backend == "onnx":
            result = benchmark_onnx(path, threads=args.threads, **timing)
        else:
            result = benchmark_tflite(path, threads=args.threads, xnnpack=not args.no_xnnpack, **timing)
    else:
        spec = resolve_arch(args.model)
        source = spec.to_str()
        if backend == "onnx":
            module, shape = arch_module(spec, args.classes), arch_input_shape(args.resolution)
            with tempfile.TemporaryDirectory() as tmp:
                result = benchmark_onnx(export_onnx(module, shape, Path(tmp) / "model.onnx"), threads=args.threads,
                                        **timing)
        else:
            result = benchmark_tflite(_arch_tflite(spec, args), threads=args.threads,
                                      xnnpack=not args.no_xnnpack, **timing)
    runtime = phone.runtime if phone else onnx_version() if backend == "onnx" else litert_version()
    record = {"model": source, "runtime": runtime, "threads": args.threads, **({} if is_file else {"dtype": args.dtype}),
              "xnnpack": backend != "onnx" and not args.no_xnnpack, **result.to_dict()}
    if phone is not None:
        record["fingerprint"] = phone.fingerprint(args.threads, record["xnnpack"], args.dtype)
        runtime = f"{runtime} on {phone.props['device']} ({phone.props['cpu']}), cores {phone.cores}"
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(f"{source}\n{runtime}, {args.threads} thread(s){', XNNPACK' if record['xnnpack'] else ''}: "
              f"median {result.median_ms:.3f} ms (p10 {result.p10_ms:.3f}, p90 {result.p90_ms:.3f}, "
              f"mean {result.mean_ms:.3f}, stdev {result.stdev_ms:.3f}) over {result.runs} runs")
    return 0


def _arch_tflite(spec, args: argparse.Namespace) -> bytes:
    """The architecture as a .tflite of `--dtype` (int8: latency.quantize, the export path's recipe)."""
    if args.dtype == "int8":
        from latency.quantize import int8_arch_bytes

        return int8_arch_bytes(spec, args.resolution, args.classes)
    return tflite_bytes(arch_module(spec, args.classes), arch_input_shape(args.resolution))
