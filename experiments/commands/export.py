"""`hwnas export`: an architecture to .tflite (channels-last I/O, litert-torch) or .onnx."""

from __future__ import annotations

import argparse

from latency.errors import LatencyError
from latency.export import export_arch_onnx, export_arch_tflite, tflite_ops
from models.references import resolve_arch

EXAMPLES = """examples:
  hwnas export mobilenetv3-small --format tflite --out small.tflite
  hwnas export mobilenetv3-large --format onnx --out large.onnx --resolution 160 --classes 10
  hwnas export runs/demo/final/arch.yaml --format tflite --out final.tflite --resolution 32
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export an architecture to .tflite or .onnx",
                            description="Export an architecture (reference name, compact string or YAML) with "
                            "freshly initialised weights. TFLite files take NHWC input.",
                            epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", metavar="NAME_OR_SPEC")
    parser.add_argument("--format", choices=("tflite", "onnx"), required=True)
    parser.add_argument("--out", required=True, help="output file")
    parser.add_argument("--resolution", type=int, default=224, help="input size (default 224)")
    parser.add_argument("--classes", type=int, default=1000, help="number of classes (default 1000)")
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    if args.resolution < 32 or args.classes < 1:
        raise LatencyError(f"--resolution must be at least 32 and --classes at least 1, got {args.resolution} "
                           f"and {args.classes}")
    spec = resolve_arch(args.arch)
    if args.format == "tflite":
        path = export_arch_tflite(spec, args.resolution, args.out, args.classes)
        ops = tflite_ops(path)
        print(f"wrote {path} ({path.stat().st_size:,} bytes, {len(ops)} ops, NHWC input "
              f"1x{args.resolution}x{args.resolution}x3)")
    else:
        path = export_arch_onnx(spec, args.resolution, args.out, args.classes)
        print(f"wrote {path} ({path.stat().st_size:,} bytes, NCHW input 1x3x{args.resolution}x{args.resolution})")
    return 0
