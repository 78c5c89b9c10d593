"""`hwnas export`: an architecture to .tflite (channels-last I/O, litert-torch) or .onnx, with freshly
initialised weights, or, with `--weights W --config C`, trained weights (a `state_dict` from a run,
e.g. `hwnas train`'s `weights.pt`) exported as the pipeline's export phase does: float files checked
against PyTorch on the config's test split, optionally an int8 file (`--int8`, post-training
quantisation calibrated on the config's training images), every file benchmarked live, the results
printed and written to `export.json` beside the files."""

from __future__ import annotations

import argparse
from pathlib import Path

from experiments.commands.common import add_verbose
from experiments.console.monitor import Console, console_session
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.errors import LatencyError
from latency.export import export_arch_onnx, export_arch_tflite, tflite_ops
from models.references import resolve_arch

FORMATS = ("tflite", "onnx")
EXAMPLES = """examples:
  hwnas export mobilenetv3-small --format tflite --out small.tflite
  hwnas export mobilenetv3-large --format onnx --out large.onnx --resolution 160 --classes 10
  hwnas export runs/demo/final/arch.yaml --format tflite --out final.tflite --resolution 32
  hwnas export runs/t/arch.yaml --weights runs/t/weights.pt --config my.yaml --out exported/
  hwnas export runs/t/arch.yaml --weights runs/t/weights.pt --config my.yaml --int8 --format tflite --out exported/
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="export an architecture (fresh or trained weights) to .tflite or .onnx",
                            description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("arch", metavar="NAME_OR_SPEC")
    parser.add_argument("--format", choices=FORMATS, action="append",
                        help="file format; without --weights exactly one, with --weights any (default: both)")
    parser.add_argument("--out", required=True,
                        help="output file; with --weights an output folder (model.tflite, model.onnx, "
                             "model_int8.tflite, export.json)")
    parser.add_argument("--resolution", type=int, default=224, help="input size (default 224; with --weights: the "
                                                                    "config's data)")
    parser.add_argument("--classes", type=int, default=1000, help="number of classes (default 1000; with --weights: "
                                                                  "the config's data)")
    parser.add_argument("--weights", type=Path, metavar="W", help="trained weights (a state_dict .pt) of the arch")
    parser.add_argument("--config", metavar="C", help="the run config the weights were trained with: its data give "
                        "the classes, resolution, test split (parity) and calibration images; needed with --weights")
    parser.add_argument("--int8", action="store_true", help="also an int8 .tflite (post-training quantisation "
                        "calibrated on the config's training images); needs --weights and --config")
    add_verbose(parser)
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    if args.weights is not None or args.int8 or args.config is not None:
        return export_trained(args)
    if not args.format or len(args.format) != 1:
        raise LatencyError("without --weights, give exactly one --format (tflite or onnx) and --out FILE")
    if args.resolution < 32 or args.classes < 1:
        raise LatencyError(f"--resolution must be at least 32 and --classes at least 1, got {args.resolution} "
                           f"and {args.classes}")
    spec = resolve_arch(args.arch)
    if args.format[0] == "tflite":
        path = export_arch_tflite(spec, args.resolution, args.out, args.classes)
        ops = tflite_ops(path)
        print(f"wrote {path} ({path.stat().st_size:,} bytes, {len(ops)} ops, NHWC input "
              f"1x{args.resolution}x{args.resolution}x3)")
    else:
        path = export_arch_onnx(spec, args.resolution, args.out, args.classes)
        print(f"wrote {path} ({path.stat().st_size:,} bytes, NCHW input 1x3x{args.resolution}x{args.resolution})")
    return 0


def export_trained(args: argparse.Namespace) -> int:
    """Trained weights through the export phase (`experiments.phases.export.export_final`)."""
    if args.weights is None or args.config is None:
        raise LatencyError("--weights W and --config C go together (and --int8 needs both): the config's data give "
                           "the classes, the resolution, the test split of the parity check and the calibration "
                           "images, e.g. hwnas export runs/t/arch.yaml --weights runs/t/weights.pt --config my.yaml "
                           "--out exported/")
    with console_session(args.verbose) as console:
        return _export_trained(args, console)


def _export_trained(args: argparse.Namespace, console: Console) -> int:
    from experiments.config.checks import preflight
    from experiments.config.schema import load_config
    from experiments.phases.export import ParityError, QuantizationError, export_final
    from experiments.phases.pipeline import whole_model_bench

    spec = resolve_arch(args.arch)
    cfg = load_config(args.config, [])
    data = preflight(cfg, args.config)
    out = Path(args.out)
    console.attach(RunDir(out), "export")
    formats = list(dict.fromkeys(args.format or FORMATS))
    try:
        record = export_final(spec, args.weights, out, data, resolution=data.resolution, num_classes=data.num_classes,
                              formats=formats, int8=args.int8, seed=cfg.seed, log=console.info,
                              bench_settings=whole_model_bench(cfg.latency.threads, cfg.latency.runs))
    except (ParityError, QuantizationError) as err:
        console.error(f"hwnas export: error: {err}")
        return 1
    console.info(f"PyTorch test accuracy {record['torch_test_accuracy']:.4f} on {data.summary()}")
    for fmt, entry in record["models"].items():
        parity = entry["parity"]
        console.info(f"  {entry['path']}: test accuracy {parity['accuracy']:.4f}, top-1 agreement with PyTorch "
                     f"{parity['top1_agreement']:.4f}, live median {entry['bench']['median_ms']:.3f} ms ({fmt})")
    console.info(f"wrote {out / layout.EXPORT}")
    return 0
