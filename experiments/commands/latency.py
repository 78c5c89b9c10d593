"""`hwnas latency build|calibrate|validate|show`: fill a lookup table for a search space, fit its
whole-model calibration, check its fidelity against live runs, and inspect it."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from experiments.commands.adb_args import add_adb_args, phone_from_args
from experiments.config.spaces import resolve_space
from latency.adb_measure import Phone, fingerprint_for, live_for, measurer_for
from latency.build import build_table
from latency.calibration import fit_calibration
from latency.fidelity import fidelity_rows, rows_as_dicts, summarize
from latency.measure import BenchSettings
from latency.pieces import Piece, arch_pieces
from latency.predict import TableLatency
from latency.table import LatencyTable
from models import atomic
from models.references import REFERENCES
from models.spec import ArchSpec, SpecError

DEFAULT_TABLE = "runs/latency/table.json"
REFERENCE_NAMES = ("mobilenetv3-large", "mobilenetv3-small")

BUILD_EXAMPLES = f"""examples:
  hwnas latency build --space mnv3-small --resolution 224 --resolution 32 --out {DEFAULT_TABLE}
  hwnas latency build --space mnv3-large --workers 2 --pin-core 1 --out tables/large.json
  hwnas latency build --space mnv3-small --backend adb --benchmark-binary ./benchmark_model --cores 7 --out tables/phone.json
  (--backend adb converts here and times each entry on the phone)
  (rerunning an interrupted build measures only the keys still missing)
"""
CALIBRATE_EXAMPLES = f"""examples:
  hwnas latency calibrate {DEFAULT_TABLE} --space mnv3-small --resolution 224 --samples 10
  (fits on random archs of the space only; validate samples another seed and adds V3-Large/Small)
"""
VALIDATE_EXAMPLES = f"""examples:
  hwnas latency validate {DEFAULT_TABLE} --space mnv3-small --resolution 224 --samples 30 --out runs/latency/fid224
  hwnas latency validate {DEFAULT_TABLE} --resolution 32 --samples 30 --lazy-fill --json
"""
SHOW_EXAMPLES = f"""examples:
  hwnas latency show {DEFAULT_TABLE}
  hwnas latency show {DEFAULT_TABLE} --entries 20 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("latency", help="latency lookup tables: build, calibrate, validate, show",
                            description="Latency lookup tables measured with the LiteRT interpreter here, or on "
                            "an Android phone over adb (--backend adb).")
    actions = parser.add_subparsers(dest="latency_command", metavar="ACTION", required=True)

    def action(name: str, help_text: str, examples: str, func) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text, description=help_text, epilog=examples,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    build = action("build", "measure every key a search space can produce into a table", BUILD_EXAMPLES, run_build)
    build.add_argument("--out", default=DEFAULT_TABLE, help=f"table file (default {DEFAULT_TABLE}); resumed if it exists")
    _space_args(build)
    build.add_argument("--workers", type=int, default=2, help="conversion processes (default 2)")
    build.add_argument("--pin-core", type=int, default=None, help="pin the timing loop to this CPU core")
    build.add_argument("--save-every", type=int, default=20, help="save the table every N entries (default 20)")
    build.add_argument("--warmup-s", type=float, default=0.2, help="warm-up per entry in seconds (default 0.2)")
    build.add_argument("--min-time-s", type=float, default=0.5, help="timed seconds per entry (default 0.5)")
    build.add_argument("--flush-mb", type=float, default=None,
                       help="MiB read before each timed invoke to evict the L2 as a whole model does "
                            "(default 1.5x this CPU's L2; 0 = warm loop, which under-predicts whole models)")
    _device_args(build)

    calib = action("calibrate", "fit the whole-model correction of a table from live runs", CALIBRATE_EXAMPLES,
                   run_calibrate)
    calib.add_argument("table", metavar="TABLE")
    _space_args(calib, samples=10, seed=100)
    _device_args(calib)

    val = action("validate", "predicted vs live latency over sampled archs: CSV, plot, summary",
                 VALIDATE_EXAMPLES, run_validate)
    val.add_argument("table", metavar="TABLE")
    _space_args(val, samples=30, seed=1)
    val.add_argument("--out", default="runs/latency/validate", help="folder for fidelity.csv, fidelity.png, "
                     "summary.json (default runs/latency/validate)")
    val.add_argument("--json", action="store_true", help="print the summary as JSON")
    _device_args(val, lazy=True)

    show = action("show", "print a table's metadata, calibration and a few entries", SHOW_EXAMPLES, run_show)
    show.add_argument("table", metavar="TABLE")
    show.add_argument("--entries", type=int, default=5, help="entries to print (default 5)")
    show.add_argument("--json", action="store_true", help="print JSON")


def _space_args(parser: argparse.ArgumentParser, samples: int | None = None, seed: int = 0) -> None:
    parser.add_argument("--space", default="mnv3-small", help="search space name or YAML (default mnv3-small)")
    parser.add_argument("--resolution", type=int, action="append", help="input size; repeatable (default 224)")
    parser.add_argument("--classes", type=int, default=1000, help="classifier width (default 1000)")
    if samples is not None:
        parser.add_argument("--samples", type=int, default=samples, help=f"random archs of the space (default {samples})")
        parser.add_argument("--seed", type=int, default=seed, help=f"sampling seed (default {seed})")


def _device_args(parser: argparse.ArgumentParser, lazy: bool = False) -> None:
    parser.add_argument("--backend", choices=("litert", "adb"), default="litert",
                        help="time with the LiteRT interpreter here (default) or on an Android phone over adb")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    parser.add_argument("--no-xnnpack", action="store_true", help="builtin kernels without the XNNPACK delegate")
    parser.add_argument("--allow-foreign-table", action="store_true",
                        help="use a table whose device fingerprint differs from this device")
    if lazy:
        parser.add_argument("--lazy-fill", action="store_true", help="measure and save keys missing from the table")
    add_adb_args(parser)


def _resolutions(args: argparse.Namespace) -> list[int]:
    values = args.resolution or [224]
    for r in values:
        if r < 32:
            raise SpecError(f"--resolution must be at least 32, got {r}")
    return values


def _settings(args: argparse.Namespace, warmup_s: float = 0.2, min_time_s: float = 0.5,
              flush_mb: float | None = None) -> BenchSettings:
    settings = BenchSettings(threads=args.threads, xnnpack=not args.no_xnnpack, warmup_s=warmup_s,
                             min_time_s=min_time_s)
    if args.backend == "adb":
        if flush_mb:
            raise SpecError(f"--flush-mb {flush_mb}: the phone's benchmark_model times in a warm loop; drop "
                            f"--flush-mb with --backend adb")
        flush_mb = 0.0
    if flush_mb is not None:
        if flush_mb < 0:
            raise SpecError(f"--flush-mb must be 0 (warm loop) or a positive size in MiB, got {flush_mb}")
        settings = BenchSettings(settings.threads, settings.xnnpack, warmup_s, settings.min_runs, min_time_s, flush_mb)
    return settings


def sampled_archs(args: argparse.Namespace, references: bool = True) -> list[tuple[str, ArchSpec]]:
    """`args.samples` random archs of the space (seed `args.seed`), after V3-Large and V3-Small
    when `references` (validation); calibration fits on random archs only, so that no validated
    arch is one the correction was fitted on."""
    space = resolve_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [(name, REFERENCES[name]) for name in REFERENCE_NAMES] if references else []
    archs += [(f"{args.space}#{i}", space.decode(space.sample(rng))) for i in range(args.samples)]
    return archs


def run_build(args: argparse.Namespace) -> int:
    settings = _settings(args, args.warmup_s, args.min_time_s, args.flush_mb)
    if args.backend == "adb" and args.pin_core is not None:
        raise SpecError("--pin-core pins this host's timing loop; on the phone pass --cores instead")
    phone = phone_from_args(args)
    path = Path(args.out)
    if path.exists():
        table = LatencyTable.load(path, device=fingerprint_for(phone, settings), allow_foreign=args.allow_foreign_table)
        if args.flush_mb is None and "flush_mb" in table.metadata.get("bench", {}):
            settings = _settings(args, args.warmup_s, args.min_time_s, table.metadata["bench"]["flush_mb"])
        settings.check_same_protocol(table.metadata.get("bench", {}) if len(table) else {}, f"table {str(path)!r}")
    else:
        table = LatencyTable.create(path, fingerprint_for(phone, settings), args.classes, settings.to_dict())
    space = resolve_space(args.space)
    pieces: list[tuple[int, Piece]] = []
    for r in _resolutions(args):
        pieces += [(r, Piece(size, cin, piece)) for size, cin, piece in sorted(space.layer_variants(r), key=str)]
        pieces += [(r, p) for name in REFERENCE_NAMES for p in arch_pieces(REFERENCES[name], r)]
    report = build_table(table, pieces, measurer_for(phone, settings, table.metadata["num_classes"]),
                         workers=args.workers, save_every=args.save_every, pin_core=args.pin_core)
    print(f"{path}: {report.measured} entries measured, {report.skipped} already present, {len(table)} in all; "
          f"{report.conversions} conversions in {report.convert_s:.1f} s, timing {report.bench_s:.1f} s, "
          f"{report.seconds_per_entry:.2f} s per new entry")
    return 0


def _table_model(args: argparse.Namespace, phone: Phone | None, resolution: int, lazy: bool, calibrated: bool = True):
    settings = _settings(args)
    table = LatencyTable.load(args.table, device=fingerprint_for(phone, settings),
                              allow_foreign=args.allow_foreign_table)
    measurer_settings = BenchSettings.of_table(table.metadata.get("bench", {}), settings.threads, settings.xnnpack)
    measurer = measurer_for(phone, measurer_settings, table.metadata["num_classes"]) if lazy else None
    return table, TableLatency(table, resolution, measurer, calibrated=calibrated), settings


def run_calibrate(args: argparse.Namespace) -> int:
    phone = phone_from_args(args)
    for resolution in _resolutions(args):
        table, model, settings = _table_model(args, phone, resolution, lazy=True, calibrated=False)
        live = live_for(phone, resolution, settings, table.metadata["num_classes"])
        archs = sampled_archs(args, references=False)
        summed, measured = [], []
        for i, (name, spec) in enumerate(archs):
            measured.append(live(spec))
            summed.append(model.summed_ms(spec))
            print(f"  [{i + 1}/{len(archs)}] {name}: summed {summed[-1]:.3f} ms, live {measured[-1]:.3f} ms",
                  file=sys.stderr)
        calib = fit_calibration(summed, measured)
        table.calibration[str(resolution)] = calib.to_dict()
        table.save()
        print(f"{args.table} @ {resolution}: ms = {calib.scale:.4f} * summed + {calib.offset_ms:.4f} "
              f"({calib.samples} archs); RMSPE {calib.rmspe_before:.2f}% -> {calib.rmspe_after:.2f}%")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    summaries = {}
    phone = phone_from_args(args)
    for resolution in _resolutions(args):
        table, model, settings = _table_model(args, phone, resolution, lazy=args.lazy_fill)
        live = live_for(phone, resolution, settings, table.metadata["num_classes"])
        rows = fidelity_rows(sampled_archs(args), model, model.summed_ms, live.measure,
                             progress=lambda i, n: print(f"  [{i}/{n}] measured", file=sys.stderr))
        summary = summarize([r.predicted_ms for r in rows], [r.measured_ms for r in rows])
        summary.update({"resolution": resolution, "calibrated": model.calibration is not None,
                        "summed_only": summarize([r.summed_ms for r in rows], [r.measured_ms for r in rows])})
        summaries[str(resolution)] = summary
        _write_rows(out / f"fidelity_{resolution}.csv", rows_as_dicts(rows))
        _plot(out / f"fidelity_{resolution}.png", rows, summary)
    atomic.write_json(out / "summary.json", summaries)
    if args.json:
        print(json.dumps(summaries, indent=2))
    else:
        for res, s in summaries.items():
            print(f"resolution {res}: {s['archs']} archs, within 5% {s['within_5pct']:.0%}, within 10% "
                  f"{s['within_10pct']:.0%}, RMSPE {s['rmspe_pct']:.2f}%, Kendall tau {s['kendall_tau']:.3f} "
                  f"(uncalibrated sum: RMSPE {s['summed_only']['rmspe_pct']:.2f}%)")
        print(f"wrote {out}/fidelity_*.csv, fidelity_*.png, summary.json")
    return 0


def _write_rows(path: Path, rows: list[dict]) -> None:
    with atomic.atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _plot(path: Path, rows, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r.measured_ms for r in rows]
    predicted = [r.predicted_ms for r in rows]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(measured, predicted, s=14)
    lo, hi = min(measured + predicted) * 0.9, max(measured + predicted) * 1.1
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    for f in (0.95, 1.05):
        ax.plot([lo, hi], [lo * f, hi * f], "k:", lw=0.6)
    ax.set(xlabel="measured median (ms)", ylabel="predicted (ms)", xlim=(lo, hi), ylim=(lo, hi),
           title=f"{summary['resolution']}px: {summary['within_5pct']:.0%} within 5%, tau {summary['kendall_tau']:.2f}")
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run_show(args: argparse.Namespace) -> int:
    table = LatencyTable.load(args.table)
    entries = list(table.entries.items())[: max(args.entries, 0)]
    if args.json:
        print(json.dumps({"path": str(table.path), "entries_total": len(table), "metadata": table.metadata,
                          "calibration": table.calibration,
                          "entries": {k: v.to_dict() for k, v in entries}}, indent=2))
        return 0
    print(f"{table.path}: {len(table)} entries")
    for k, v in table.metadata.items():
        print(f"  {k}: {json.dumps(v)}")
    for res, c in sorted(table.calibration.items()):
        print(f"  calibration @ {res}: ms = {c['scale']:.4f} * summed + {c['offset_ms']:.4f} "
              f"(RMSPE {c['rmspe_before']:.2f}% -> {c['rmspe_after']:.2f}%, {c['samples']} archs)")
    for k, v in entries:
        print(f"  {k:<48} median {v.median_ms:.4f} ms  p10 {v.p10_ms:.4f}  p90 {v.p90_ms:.4f}  runs {v.runs}")
    return 0
