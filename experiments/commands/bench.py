"""`hwnas bench`: live latency of a .tflite / .onnx file, or of an architecture exported on the fly."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from latency.errors import LatencyError
from latency.export import arch_input_shape, arch_module, export_onnx, tflite_bytes
from latency.litert_bench import benchmark_tflite
from latency.litert_bench import runtime_version as litert_version
from latency.onnx_bench import benchmark_onnx
from latency.onnx_bench import runtime_version as onnx_version
from models.references import resolve_arch

EXAMPLES = """examples:
  hwnas bench mobilenetv3-small
  hwnas bench mobilenetv3-large --resolution 160 --threads 2 --json
  hwnas bench model.tflite --no-xnnpack
  hwnas bench model.onnx
  hwnas bench stem_c16_hs-ir_k3_m16_c16_s2_se_re-head_c576_h1024_hs --backend onnx
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="live latency of a model file or an architecture",
                            description="Benchmark a .tflite (LiteRT interpreter) or .onnx (ONNX Runtime) file, "
                            "or an architecture (reference name, compact string or YAML) exported on the fly. "
                            "Warm-up >= 0.5 s, then >= 50 runs and >= 1 s; prints median and spread.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL.tflite|MODEL.onnx|NAME_OR_SPEC")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--resolution", type=int, default=224, help="input size for an architecture (default 224)")
    parser.add_argument("--classes", type=int, default=1000, help="classes for an architecture (default 1000)")
    parser.add_argument("--backend", choices=("litert", "onnx"), default=None,
                        help="runtime (default: by file suffix; litert for an architecture)")
    parser.add_argument("--no-xnnpack", action="store_true", help="LiteRT builtin kernels without XNNPACK")
    parser.add_argument("--warmup-s", type=float, default=0.5, help="warm-up seconds (default 0.5)")
    parser.add_argument("--min-runs", type=int, default=50, help="minimum timed runs (default 50)")
    parser.add_argument("--min-time-s", type=float, default=1.0, help="minimum timed seconds (default 1.0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run_bench)


def run_bench(args: argparse.Namespace) -> int:
    if args.threads < 1 or args.min_runs < 1 or args.warmup_s < 0 or args.min_time_s < 0:
        raise LatencyError("--threads and --min-runs must be at least 1, --warmup-s and --min-time-s not negative")
    timing = {"warmup_s": args.warmup_s, "min_runs": args.min_runs, "min_time_s": args.min_time_s}
    path = Path(args.model)
    is_file = path.suffix in (".tflite", ".onnx") or path.is_file() and path.suffix not in (".yaml", ".yml")
    backend = args.backend or ("onnx" if path.suffix == ".onnx" else "litert")
    if is_file:
        source = str(path)
        if backend == "onnx":
            result = benchmark_onnx(path, threads=args.threads, **timing)
        else:
            result = benchmark_tflite(path, threads=args.threads, xnnpack=not args.no_xnnpack, **timing)
    else:
        spec = resolve_arch(args.model)
        source = spec.to_str()
        module, shape = arch_module(spec, args.classes), arch_input_shape(args.resolution)
        if backend == "onnx":
            with tempfile.TemporaryDirectory() as tmp:
                result = benchmark_onnx(export_onnx(module, shape, Path(tmp) / "model.onnx"), threads=args.threads,
                                        **timing)
        else:
            result = benchmark_tflite(tflite_bytes(module, shape), threads=args.threads,
                                      xnnpack=not args.no_xnnpack, **timing)
    runtime = onnx_version() if backend == "onnx" else litert_version()
    record = {"model": source, "runtime": runtime, "threads": args.threads,
              "xnnpack": backend == "litert" and not args.no_xnnpack, **result.to_dict()}
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(f"{source}\n{runtime}, {args.threads} thread(s){', XNNPACK' if record['xnnpack'] else ''}: "
              f"median {result.median_ms:.3f} ms (p10 {result.p10_ms:.3f}, p90 {result.p90_ms:.3f}, "
              f"mean {result.mean_ms:.3f}, stdev {result.stdev_ms:.3f}) over {result.runs} runs")
    return 0
