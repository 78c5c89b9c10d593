"""`hwnas latency build|calibrate|validate|show`: fill a lookup table for a search space, fit its
whole-model calibration, check its fidelity against live runs (beside a MACs-only predictor), and
inspect it."""

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
from latency.calibration import (
    Calibration,
    calibrate_from_runs,
    calibration_archs,
    fit_calibration,
)
from latency.errors import LatencyError
from latency.fidelity import (
    fidelity_rows,
    narrower_neighbour,
    order_accuracy,
    rows_as_dicts,
    summarize,
)
from latency.measure import DTYPES, BenchSettings
from latency.metadata import RunSetting, check_table
from latency.pieces import Piece, arch_pieces, variant_piece
from latency.predict import MaddsLatency, TableLatency
from latency.table import LatencyTable
from models import atomic
from models.references import REFERENCES
from models.spec import ArchSpec, SpecError

DEFAULT_TABLE = "runs/latency/table.json"
REFERENCE_NAMES = ("mobilenetv3-large", "mobilenetv3-small")

BUILD_EXAMPLES = f"""examples:
  hwnas latency build --space mnv3-small --classes 1000 --resolution 224 --resolution 32 --out {DEFAULT_TABLE}
  hwnas latency build --space mnv3-small --classes 10 --resolution 32 --out tables/cifar32.json
  hwnas latency build --space mnv3-large --classes 1000 --dtype int8 --workers 2 --pin-core 1 --out tables/large_int8.json
  hwnas latency build --space mnv3-small --classes 1000 --backend adb --benchmark-binary ./benchmark_model --cores 7 --out tables/phone.json
  (--backend adb converts here and times each entry on the phone)
  (each entry: the median of --windows windows, interleaved round robin with the other keys, net of the invoke floor)
  (rerunning an interrupted build measures only the keys still missing; two builds into one table merge)
"""
CALIBRATE_EXAMPLES = f"""examples:
  hwnas latency calibrate {DEFAULT_TABLE} --space mnv3-small --resolution 224 --samples 10
  hwnas latency calibrate tables/phone.json --resolution 224 --samples 10 --backend adb --cores 7
  (fits on random archs of the space only and records them; validate never evaluates on them)
"""
VALIDATE_EXAMPLES = f"""examples:
  hwnas latency validate {DEFAULT_TABLE} --space mnv3-small --resolution 224 --samples 40 --out runs/latency/fid224
  hwnas latency validate {DEFAULT_TABLE} --resolution 32 --samples 40 --lazy-fill --json
  hwnas latency validate tables/phone.json --resolution 224 --samples 40 --lazy-fill --backend adb --cores 7
  (the table must be calibrated at the resolution first: hwnas latency calibrate)
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
    build.add_argument("--classes", type=int, required=True, help="the run's number of classes (the head's keys "
                       "carry it; a run refuses a table of another class count)")
    build.add_argument("--workers", type=int, default=2, help="conversion processes (default 2)")
    build.add_argument("--pin-core", type=int, default=None, help="pin the timing loop to this CPU core")
    build.add_argument("--chunk", type=int, default=48, help="keys timed round robin together, saved after each "
                       "chunk (default 48)")
    build.add_argument("--warmup-s", type=float, default=0.05, help="warm-up per window in seconds (default 0.05)")
    build.add_argument("--min-time-s", type=float, default=0.15, help="timed seconds per window (default 0.15)")
    build.add_argument("--windows", type=int, default=3, help="windows per entry, more (up to 7) while they "
                       "disagree by more than 10%% (default 3)")
    build.add_argument("--flush-mb", type=float, default=None,
                       help="MiB read before each timed invoke to evict the L2 as a whole model does "
                            "(default 1.5x this CPU's L2; 0 = warm loop)")
    _device_args(build)

    calib = action("calibrate", "fit the whole-model correction of a table from live runs", CALIBRATE_EXAMPLES,
                   run_calibrate)
    calib.add_argument("table", metavar="TABLE")
    _space_args(calib, samples=10, seed=100)
    _device_args(calib)

    val = action("validate", "predicted vs live latency on archs the calibration did not see: CSV, plot, summary "
                 "(beside a MACs-only predictor)", VALIDATE_EXAMPLES, run_validate)
    val.add_argument("table", metavar="TABLE")
    _space_args(val, samples=40, seed=1)
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
    if samples is not None:
        parser.add_argument("--samples", type=int, default=samples, help=f"random archs of the space (default {samples})")
        parser.add_argument("--seed", type=int, default=seed, help=f"sampling seed (default {seed})")


def _device_args(parser: argparse.ArgumentParser, lazy: bool = False) -> None:
    parser.add_argument("--backend", choices=("litert", "adb"), default="litert",
                        help="time with the LiteRT interpreter here (default) or on an Android phone over adb")
    parser.add_argument("--threads", type=int, default=1, help="interpreter threads (default 1)")
    parser.add_argument("--no-xnnpack", action="store_true", help="builtin kernels without the XNNPACK delegate")
    parser.add_argument("--dtype", choices=DTYPES, default="float32",
                        help="float32, or int8 (post-training quantised pieces and models; default float32)")
    if lazy:
        parser.add_argument("--lazy-fill", action="store_true", help="measure and save keys missing from the table")
    add_adb_args(parser)


def _resolutions(args: argparse.Namespace) -> list[int]:
    values = args.resolution or [224]
    for r in values:
        if r < 32:
            raise SpecError(f"--resolution must be at least 32, got {r}")
    return values


def _settings(args: argparse.Namespace, flush_mb: float | None = None) -> BenchSettings:
    timing = {k: getattr(args, k) for k in ("warmup_s", "min_time_s", "windows") if getattr(args, k, None) is not None}
    if args.backend == "adb":
        if flush_mb:
            raise SpecError(f"--flush-mb {flush_mb}: the phone's benchmark_model times in a warm loop; drop "
                            f"--flush-mb with --backend adb")
        flush_mb = 0.0
    if flush_mb is not None:
        if flush_mb < 0:
            raise SpecError(f"--flush-mb must be 0 (warm loop) or a positive size in MiB, got {flush_mb}")
        timing["flush_mb"] = flush_mb
    return BenchSettings(threads=args.threads, xnnpack=not args.no_xnnpack, dtype=args.dtype, **timing)


def sampled_archs(args: argparse.Namespace, references: bool = True) -> list[tuple[str, ArchSpec]]:
    """`args.samples` random archs of the space (seed `args.seed`), after V3-Large and V3-Small
    when `references` (validation); calibration fits on random archs only."""
    space = resolve_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [(name, REFERENCES[name]) for name in REFERENCE_NAMES] if references else []
    archs += [(f"{args.space}#{i}", space.decode(space.sample(rng))) for i in range(args.samples)]
    return archs


def run_build(args: argparse.Namespace) -> int:
    settings = _settings(args, args.flush_mb)
    if args.backend == "adb" and args.pin_core is not None:
        raise SpecError("--pin-core pins this host's timing loop; on the phone pass --cores instead")
    phone = phone_from_args(args)
    path = Path(args.out)
    if path.exists():
        table = LatencyTable.load(path, device=fingerprint_for(phone, settings))
        if table.num_classes != args.classes:
            raise LatencyError(f"table {str(path)!r} holds {table.num_classes}-class heads, this build --classes "
                               f"{args.classes}; build into another --out")
        if args.flush_mb is None and "flush_mb" in table.metadata.get("bench", {}):
            settings = _settings(args, table.metadata["bench"]["flush_mb"])
        settings.check_same_protocol(table.metadata.get("bench", {}) if len(table) else {}, f"table {str(path)!r}")
    else:
        table = LatencyTable.create(path, fingerprint_for(phone, settings), args.classes, settings.to_dict())
    space = resolve_space(args.space)
    pieces: list[tuple[int, Piece]] = []
    for r in _resolutions(args):
        pieces += [(r, variant_piece(size, cin, p, args.classes)) for size, cin, p in
                   sorted(space.layer_variants(r), key=str)]
        pieces += [(r, p) for name in REFERENCE_NAMES for p in arch_pieces(REFERENCES[name], r, args.classes)]
    report = build_table(table, pieces, measurer_for(phone, settings, args.classes), workers=args.workers,
                         chunk=args.chunk, pin_core=args.pin_core)
    print(f"{path}: {report.measured} entries measured, {report.skipped} already present, {len(table)} in all; "
          f"{report.conversions} conversions in {report.convert_s:.1f} s, timing {report.bench_s:.1f} s "
          f"({report.windows} windows, canary drift {report.canary_drift:.1%}), {report.seconds_per_entry:.2f} s "
          f"per new entry")
    return 0


def _table_model(args: argparse.Namespace, phone: Phone | None, resolution: int, lazy: bool, calibrated: bool = True):
    settings = _settings(args)
    table = LatencyTable.load(args.table, device=fingerprint_for(phone, settings))
    check_table(table, RunSetting(table.num_classes, resolution, settings.threads, settings.dtype, args.backend),
                lazy_fill=lazy, space=args.space)
    measurer_settings = BenchSettings.of_table(table.metadata.get("bench", {}), settings.threads, settings.xnnpack)
    measurer = measurer_for(phone, measurer_settings, table.num_classes) if lazy else None
    return table, TableLatency(table, resolution, measurer, calibrated=calibrated), settings


def run_calibrate(args: argparse.Namespace) -> int:
    phone = phone_from_args(args)
    for resolution in _resolutions(args):
        table, model, settings = _table_model(args, phone, resolution, lazy=True, calibrated=False)
        live = live_for(phone, resolution, settings, table.num_classes)
        specs = [spec for _, spec in sampled_archs(args, references=False)]
        model.fill_archs(specs, progress=True)
        calib = calibrate_from_runs(table, resolution, specs, model.summed_ms, lambda s: [r.median_ms for r in
                                                                                          live.measure_many(s)])
        for arch, measured in zip(calib.archs, calib.measured_ms):
            summed = model.summed_ms(ArchSpec.from_str(arch))
            print(f"  {arch}: summed {summed:.3f} ms, live {measured:.3f} ms", file=sys.stderr)
        print(f"{args.table} @ {resolution}: ms = {calib.scale:.4f} * summed + {calib.offset_ms:.4f} "
              f"({calib.samples} archs); RMSPE {calib.rmspe_before:.2f}% -> {calib.rmspe_after:.2f}%")
    return 0


def validate_resolution(args: argparse.Namespace, phone: Phone | None, resolution: int) -> tuple[dict, list]:
    """Fidelity at one resolution on archs disjoint from the calibration set, beside a MACs-only
    predictor fitted on the same calibration runs; NetAdapt neighbours of each random arch."""
    table, model, settings = _table_model(args, phone, resolution, lazy=args.lazy_fill)
    if model.calibration is None:
        raise LatencyError(f"table {args.table!r} has no calibration at {resolution} px; fit one first with "
                           f"'hwnas latency calibrate {args.table} --space {args.space} --resolution {resolution}'")
    held_out = calibration_archs(table, resolution)
    archs = [(n, s) for n, s in sampled_archs(args) if s.to_str() not in held_out]
    rng = np.random.default_rng(args.seed + 1)
    neighbours = [(a, narrower_neighbour(a, rng)) for _, a in archs]
    neighbours = [(a, b) for a, b in neighbours if b is not None and b.to_str() not in held_out]
    pair_of = dict(neighbours)
    # each neighbour right after its arch: their differing keys land in one round-robin chunk, timed side by side
    every = list(dict.fromkeys(s for _, a in archs for s in (a, pair_of.get(a)) if s is not None))
    model.fill_archs(every, progress=True)
    live = live_for(phone, resolution, settings, table.num_classes)
    results = dict(zip(every, live.measure_many(every)))
    rows = fidelity_rows(archs, model, model.summed_ms, [results[s] for _, s in archs])
    macs = _macs_predictor(model.calibration, resolution, table.num_classes)
    measured = [r.measured_ms for r in rows]
    pair_live = [ms for a, b in neighbours for ms in (results[a].median_ms, results[b].median_ms)]
    pairs = [(2 * i, 2 * i + 1) for i in range(len(neighbours))]
    summary = {"resolution": resolution, "calibration_archs": len(held_out),
               "table": summarize([r.predicted_ms for r in rows], measured),
               "table_uncalibrated": summarize([r.summed_ms for r in rows], measured),
               "macs_only": summarize([macs(s) for _, s in archs], measured),
               "neighbours": {"pairs": len(pairs),
                              "table": order_accuracy([model(s) for p in neighbours for s in p], pair_live, pairs),
                              "macs_only": order_accuracy([macs(s) for p in neighbours for s in p], pair_live, pairs)}}
    return summary, rows


def _macs_predictor(calibration: Calibration, resolution: int, num_classes: int):
    """Multiply-adds, linearly fitted on the table calibration's own archs and live medians."""
    madds = MaddsLatency(resolution, 1.0, num_classes)
    specs = [ArchSpec.from_str(a) for a in calibration.archs]
    if len(specs) != len(calibration.measured_ms) or not specs:
        raise LatencyError("the table's calibration lacks its archs' live medians (fitted before they were kept); "
                           "refit it with 'hwnas latency calibrate'")
    fit = fit_calibration([madds(s) for s in specs], calibration.measured_ms)
    return lambda spec: float(fit.apply(madds(spec)))


def run_validate(args: argparse.Namespace) -> int:
    out = Path(args.out)
    summaries = {}
    phone = phone_from_args(args)
    for resolution in _resolutions(args):
        summary, rows = validate_resolution(args, phone, resolution)
        summaries[str(resolution)] = summary
        _write_rows(out / f"fidelity_{resolution}.csv", rows_as_dicts(rows))
        _plot(out / f"fidelity_{resolution}.png", rows, summary)
    atomic.write_json(out / "summary.json", summaries)
    if args.json:
        print(json.dumps(summaries, indent=2))
    else:
        for res, s in summaries.items():
            print(f"resolution {res}: {s['table']['archs']} archs held out from {s['calibration_archs']} calibration "
                  f"archs, {s['neighbours']['pairs']} neighbour pairs")
            for name in ("table", "table_uncalibrated", "macs_only"):
                print(f"  {name:<19} {fidelity_line(s[name])}"
                      + (f", neighbours {share_text(s['neighbours'][name])}" if name in s["neighbours"] else ""))
        print(f"wrote {out}/fidelity_*.csv, fidelity_*.png, summary.json")
    return 0


def share_text(share: dict) -> str:
    lo, hi = share["ci95"]
    return f"{share['value']:.0%} [{lo:.0%}, {hi:.0%}] (n={share['n']})"


def fidelity_line(s: dict) -> str:
    return (f"within 5% {share_text(s['within_5pct'])}, within 10% {share_text(s['within_10pct'])}, "
            f"tau {s['kendall_tau']:.3f}, near ties {share_text(s['near_ties'])}, RMSPE {s['rmspe_pct']:.2f}%, "
            f"mean error {s['mean_error_pct']:+.1f}%")


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
           title=f"{summary['resolution']}px: {summary['table']['within_5pct']['value']:.0%} within 5%, "
                 f"tau {summary['table']['kendall_tau']:.2f}")
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
        if k == "batches":
            canary = [ms for b in v for ms in b.get("canary_ms", [])]
            spread = f", canary {min(canary):.4f}-{max(canary):.4f} ms" if canary else ""
            print(f"  batches: {len(v)} timed{spread}")
        else:
            print(f"  {k}: {json.dumps(v)}")
    for res, c in sorted(table.calibration.items()):
        print(f"  calibration @ {res}: ms = {c['scale']:.4f} * summed + {c['offset_ms']:.4f} "
              f"(RMSPE {c['rmspe_before']:.2f}% -> {c['rmspe_after']:.2f}%, {c['samples']} archs)")
    for k, v in entries:
        windows = " ".join(f"{w:.4f}" for w in v.windows_ms)
        print(f"  {k:<48} median {v.median_ms:.4f} ms (floor {v.floor_ms:.4f} subtracted)  windows {windows}  "
              f"runs {v.runs}  load {v.load:.2f}")
    return 0
