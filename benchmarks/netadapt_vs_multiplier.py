"""NetAdapt's V3-Small against the plain V3-Small width multiplier at the same measured latency, on
CIFAR-10 (issue 15 acceptance; the NetAdapt paper's claim is that NetAdapt comes out ahead).

NetAdapt: `hwnas netadapt` shrinks a trained V3-Small to 0.7x its table latency (LiteRT, 1 thread,
timed at `--latency-resolution`, default 224 px while training stays at CIFAR-10's 32 px: at 32 px a
step's table cut is below the live noise, docs/netadapt.md), one run per seed (`--netadapt-run DIR` reuses finished runs, in seed order; missing ones
are run into <out>/runs/). Multiplier: `models.references.width_multiplier("small", w)`, every
layer scaled, head included, rounded to the grid of 8, with `w` chosen so its live latency
matches the NetAdapt model's within 3%, both timed interleaved (`latency.predict.LiveLatency`:
the same resolution, 1 thread, the same windows). It is trained from scratch with the same recipe (the run's
`train` section) for the same total steps NetAdapt spent: seed training + every fine-tune of
every iteration (control and proposals) + the final phase.

Both are tested on the run's test split (CIFAR-10's first 1,000 official test images) and on the
full 10,000-image test set (JPEG copy, `cifar10_test10k_jpeg.npz`; the tighter error bar).
Phases: `train` (NetAdapt runs, then the multipliers already matched), `match` (quiet: live
latency only), `all` (train NetAdapt, match, train the multipliers). Writes <out>/match.csv,
<out>/results.csv and prints mean test accuracy +/- 95% interval (t) per method.
`retrain` (after them) adds the paper's other final phase: each NetAdapt arch trained from scratch with
the recipe, seed and steps of its multiplier (method `netadapt_retrained`), so that NetAdapt's arch and
the multiplier's differ in nothing but their widths; it reads <out>/results.csv and needs no run directory.
Run on a quiet machine: .venv/bin/python benchmarks/netadapt_vs_multiplier.py --phase all
Smoke: ... --phase all --seeds 1 --train-steps 4 --finetune-steps 2 --final-steps 2 --max-iterations 1
  --seed-arch <a tiny arch> --widths 0.2,0.3 --min-time-s 0.3 (a tiny seed keeps the table fill short)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from experiments.cli import main as hwnas
from experiments.config.schema import Config, validate_config
from experiments.data import load_data
from experiments.data.types import DataBundle, Split
from experiments.phases.netadapt import steps_spent
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import train_arch
from experiments.training.loop import evaluate, make_loader
from experiments.training.weights import load_trained, state_dict_cpu
from latency.measure import BenchSettings
from latency.predict import LiveLatency
from models import ArchSpec, atomic
from models.references import width_multiplier

DATA = Path("../shared/data/cifar10")
RESOLUTION = 32  # the data; latency is timed at --latency-resolution
TOLERANCE = 0.03  # the multiplier's live latency within 3% of NetAdapt's
COARSE = ",".join(f"{w:.2f}" for w in np.arange(0.20, 1.0001, 0.05))


def config(seed: int, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The NetAdapt run's config for `seed` (V3-Small seed trained with `train`, target 0.7x)."""
    return {
        "name": f"netadapt-cifar10-s{seed}", "seed": seed, "output_dir": str(out / "runs"),
        "data": {"kind": "npz", "path": str((DATA / "cifar10.npz").resolve()), "resolution": RESOLUTION,
                 "val_fraction": 0.1, "augment": True},
        "train": {"steps": args.train_steps, "batch_size": 128, "lr": 0.1, "warmup_steps": 0, "device": "auto"},
        "netadapt": {"target_ratio": 0.7, "delta_ratio": 0.05, "delta_decay": 1.0, "finetune_steps": args.finetune_steps,
                     "final": "long_finetune", "final_steps": args.final_steps, "selection": "mobilenetv3",
                     "head_proposals": True, "max_iterations": args.max_iterations},
        "latency": {"source": "auto", "backend": "litert", "threads": 1, "lazy_fill": True,
                    "resolution": args.latency_resolution,
                    "table": str(out / f"netadapt-cifar10-table-{args.latency_resolution}px.json")},
        "ray": {"num_cpus": args.cpus, "max_concurrent_trials": args.cpus, "resources_per_trial": {"cpu": 1},
                "include_dashboard": False},
    }


def netadapt_runs(args: argparse.Namespace) -> list[Path]:
    """One run directory per seed: the given ones first, then <out>/runs/netadapt-cifar10-s<seed>."""
    given = list(args.netadapt_run or [])
    return [given[s] if s < len(given) else args.out / "runs" / f"netadapt-cifar10-s{s}" for s in range(args.seeds)]


def run_netadapt(run: Path, seed: int, args: argparse.Namespace) -> None:
    """`hwnas netadapt` into `run` unless its result.json exists (resumed when it was started); a run
    whose latency was timed at another resolution than `--latency-resolution` is refused."""
    check_resolution(run, args.latency_resolution)
    if (run / layout.RESULT).is_file():
        return
    if run.parent != args.out / "runs":
        sys.exit(f"{run} has no {layout.RESULT}: finish that run first (hwnas netadapt ... --resume)")
    path = args.out / f"netadapt-cifar10-s{seed}.yaml"
    atomic.write_yaml(path, config(seed, args.out, args))
    resume = ["--resume"] if run.exists() else []
    code = hwnas(["netadapt", str(path), "--seed-arch", args.seed_arch, *resume])
    if not (run / layout.RESULT).is_file():
        sys.exit(f"hwnas netadapt exited {code} without {run / layout.RESULT}")


def check_resolution(run: Path, px: int) -> None:
    """Exit when the NetAdapt run `run` (if started) timed its latency at another resolution than `px`."""
    if not (run / layout.CONFIG).is_file():
        return
    cfg = run_config(run)
    timed = cfg.latency.resolution or cfg.data.resolution
    if timed != px:
        sys.exit(f"{run} timed latency at {timed} px, this comparison at --latency-resolution {px}: pass "
                 f"--latency-resolution {timed}, or use another --out")


def total_steps(run: Path, data: DataBundle) -> int:
    """Steps NetAdapt spent: seed training + every control and proposal fine-tune + the final phase."""
    return steps_spent(run_config(run), RunDir(run), data)["total"]


def run_config(run: Path) -> Config:
    return validate_config(yaml.safe_load((run / layout.CONFIG).read_text()), str(run / layout.CONFIG),
                           check_files=False)


def match(archs: list[ArchSpec], args: argparse.Namespace) -> pd.DataFrame:
    """For each NetAdapt arch, the multiplier width whose live latency is closest, timed interleaved
    with it: the `--widths` grid first, then, while off by more than 3%, every 0.01 between the two
    grid widths whose latencies bracket NetAdapt's (none when NetAdapt is outside the grid's range)."""
    rows = []
    for na_arch in dict.fromkeys(archs):
        widths, timed = args.widths, {}
        while widths:
            live = LiveLatency(args.latency_resolution, BenchSettings(threads=1), num_classes=10,
                               warmup_s=min(1.0, args.min_time_s / 3), min_time_s=args.min_time_s)
            specs = {w: width_multiplier("small", w) for w in widths}
            results = live.measure_many([na_arch, *specs.values()])
            na_ms = results[0].median_ms
            timed |= {w: (spec, r.median_ms, na_ms) for (w, spec), r in zip(specs.items(), results[1:])}
            rel = {w: ms / na - 1 for w, (_, ms, na) in timed.items()}  # against NetAdapt timed beside it
            best = min(rel, key=lambda w: abs(rel[w]))
            print(f"match: {len(specs)} widths against NetAdapt's {na_ms:.4f} ms; best {best} ({rel[best]:+.1%})")
            faster = [w for w in rel if rel[w] <= 0]
            slower = [w for w in rel if rel[w] > 0]
            widths = []
            if abs(rel[best]) > TOLERANCE and faster and slower:
                low, high = sorted((max(faster), min(slower)))
                widths = [w / 100 for w in range(round(low * 100) + 1, round(high * 100)) if w / 100 not in timed]
        spec, ms, na_ms = timed[best]
        rows.append({"netadapt_arch": na_arch.to_str(), "resolution": args.latency_resolution, "netadapt_ms": na_ms,
                     "width": best,
                     "multiplier_arch": spec.to_str(), "multiplier_ms": ms, "rel": rel[best],
                     "within_3pct": abs(rel[best]) <= TOLERANCE})
    return pd.DataFrame(rows)


def test10k(data: DataBundle) -> DataBundle:
    """`data` with the full 10,000-image official test set (JPEG copy) as its test split."""
    with np.load(DATA / "cifar10_test10k_jpeg.npz", allow_pickle=False) as archive:
        split = Split(archive["x_test"], archive["y_test"].astype(np.int64))
    return replace(data, test=split)


def train_multiplier(run: Path, seed: int, width: float, out: Path) -> dict[str, Any]:
    """The matched multiplier trained from scratch with the run's recipe for NetAdapt's total steps."""
    cfg = run_config(run)
    steps = total_steps(run, load_data(cfg.data, cfg.seed))
    return train_from_scratch(cfg, width_multiplier("small", width), steps, out / f"multiplier-s{seed}",
                              f"multiplier {width} seed {seed}") | {"width": width}


def train_from_scratch(cfg: Config, spec: ArchSpec, steps: int, target: Path, desc: str) -> dict[str, Any]:
    """`spec` trained from scratch with `cfg`'s recipe and seed for `steps`, tested on the run's and the 10k
    test set; kept in `target` (metrics.json last), and read back from there when it is complete."""
    if (target / layout.METRICS).is_file():
        return json.loads((target / layout.METRICS).read_text())
    data = load_data(cfg.data, cfg.seed)
    model, metrics = train_arch(spec, data, cfg.train, seed=cfg.seed, augment=cfg.data.augment, steps=steps,
                                desc=desc)
    metrics |= {"test10k_accuracy": evaluate(model, make_loader(test10k(data), "test", cfg.train)).accuracy}
    atomic.save_torch(target / layout.WEIGHTS, state_dict_cpu(model))
    atomic.write_json(target / layout.METRICS, metrics)
    return metrics


def retrain_netadapt(rows: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """The paper's other final phase: each seed's NetAdapt arch trained from scratch with the recipe and
    for the steps its multiplier got (so the two archs differ in nothing else), as method
    `netadapt_retrained`; the recipe is the seed's run's, or the one this script gives its runs when
    that run directory is gone (`results.csv` holds the archs and steps)."""
    runs = netadapt_runs(args)
    retrained = []
    for seed, pair in rows[rows.method == "multiplier"].groupby("seed"):
        mult = pair.iloc[0]
        netadapt = rows[(rows.method == "netadapt") & (rows.seed == seed)].iloc[0]
        arch = netadapt.arch
        run = runs[seed] if seed < len(runs) else None
        cfg = run_config(run) if run is not None and (run / layout.CONFIG).is_file() else \
            validate_config(config(int(seed), args.out, args), "<netadapt_vs_multiplier config>", check_files=True)
        target = args.out / f"netadapt-retrained-s{seed}"
        metrics = train_from_scratch(cfg, ArchSpec.from_str(arch), int(mult.steps), target,
                                     f"NetAdapt arch from scratch seed {seed}")
        retrained.append({"method": "netadapt_retrained", "seed": seed, "width": float("nan"), "arch": arch,
                          "test_accuracy": metrics["test_accuracy"], "test10k_accuracy": metrics["test10k_accuracy"],
                          "steps": metrics["steps"], "live_ms": netadapt.live_ms})
    return pd.concat([rows[rows.method != "netadapt_retrained"], pd.DataFrame(retrained)], ignore_index=True)


def netadapt_result(run: Path) -> dict[str, Any]:
    """NetAdapt's final model: its test accuracy as the run measured it, and on the 10k test set."""
    cfg = run_config(run)
    result = json.loads((run / layout.RESULT).read_text())
    data = load_data(cfg.data, cfg.seed)
    model = load_trained(ArchSpec.from_str(result["final_arch"]), run / layout.FINAL_WEIGHTS, data.num_classes)
    return {"arch": result["final_arch"], "test_accuracy": result["test_accuracy"], "steps": total_steps(run, data),
            "test10k_accuracy": evaluate(model, make_loader(test10k(data), "test", cfg.train)).accuracy,
            "live_ms": result["live_ms"], "status": result["status"], "iterations": result["iterations"]}


def interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t interval (nan for a single value)."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, float(stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / len(values) ** 0.5)


def report(rows: pd.DataFrame, matched: pd.DataFrame) -> None:
    print("\nmethod              seeds  test acc (10k JPEG)   test acc (1k)        live ms  steps")
    means = {}
    for method, group in rows.groupby("method", sort=False):
        m10, h10 = interval(group.test10k_accuracy.tolist())
        m1, h1 = interval(group.test_accuracy.tolist())
        means[method] = group.test10k_accuracy.tolist()
        print(f"{method:<19} {len(group):>5}  {m10:.4f} +/- {h10:.4f}     {m1:.4f} +/- {h1:.4f}   "
              f"{group.live_ms.mean():7.4f}  {int(group.steps.mean())}")
    print("latency match:\n" + matched[["width", "netadapt_ms", "multiplier_ms", "rel", "within_3pct"]].to_string(index=False))
    for method, what in (("netadapt", "NetAdapt"), ("netadapt_retrained", "NetAdapt's arch retrained from scratch")):
        if {method, "multiplier"} <= set(means) and len(means[method]) == len(means["multiplier"]):
            diff, half = interval([a - b for a, b in zip(means[method], means["multiplier"])])
            print(f"{what} ahead of the multiplier on mean test accuracy (10k): {'yes' if diff > 0 else 'no'}, "
                  f"by {diff:+.4f} +/- {half:.4f} (paired by seed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=("match", "train", "all", "retrain"), default="all",
                        help="retrain: also train each NetAdapt arch from scratch like its multiplier (reads "
                             "<out>/results.csv, written by train/all; needs no NetAdapt run directory)")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/netadapt-vs-multiplier"))
    parser.add_argument("--netadapt-run", type=Path, action="append", help="a finished `hwnas netadapt` run on "
                        "CIFAR-10 (V3-Small seed); repeat once per seed, in seed order")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--latency-resolution", type=int, default=224, help="px latency is timed at (the table, "
                        "NetAdapt's steps and the live match); training stays at 32 px")
    parser.add_argument("--train-steps", type=int, default=8000, help="NetAdapt's seed training (~23 epochs)")
    parser.add_argument("--finetune-steps", type=int, default=200)
    parser.add_argument("--final-steps", type=int, default=4000)
    parser.add_argument("--max-iterations", type=int, default=50)
    parser.add_argument("--cpus", type=int, default=2, help="Ray CPUs for NetAdapt's proposals")
    parser.add_argument("--seed-arch", default="mobilenetv3-small", help="NetAdapt's seed (smoke tests: a tiny one)")
    parser.add_argument("--widths", type=lambda text: [float(w) for w in text.split(",")], default=COARSE,
                        help="multiplier widths timed first (then 0.01 steps around the best while off by >3%%)")
    parser.add_argument("--min-time-s", type=float, default=3.0, help="live timing per arch (seconds)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.phase == "retrain":
        results, match_path = args.out / "results.csv", args.out / "match.csv"
        if not results.is_file() or not match_path.is_file():
            sys.exit(f"{results} or {match_path} missing: run --phase all (or train after match) first")
        frame = retrain_netadapt(pd.read_csv(results), args)
        atomic.write_text(results, frame.to_csv(index=False))
        report(frame, pd.read_csv(match_path))
        return
    runs = netadapt_runs(args)
    if args.phase in ("train", "all"):
        for seed, run in enumerate(runs):
            run_netadapt(run, seed, args)
    match_path = args.out / "match.csv"
    if args.phase in ("match", "all"):
        missing = [str(r) for r in runs if not (r / layout.RESULT).is_file()]
        if missing:
            sys.exit(f"no finished NetAdapt run in {missing}: run --phase train first")
        for run in runs:
            check_resolution(run, args.latency_resolution)
        archs = [ArchSpec.from_str(json.loads((r / layout.RESULT).read_text())["final_arch"]) for r in runs]
        atomic.write_text(match_path, match(archs, args).to_csv(index=False))
    if not match_path.is_file():
        print(f"{match_path} not written yet: run --phase match (quiet machine), then --phase train again")
        return
    matched = pd.read_csv(match_path).set_index("netadapt_arch", drop=False)
    if set(matched.get("resolution", pd.Series([32]))) != {args.latency_resolution}:
        sys.exit(f"{match_path} was timed at another resolution than --latency-resolution "
                 f"{args.latency_resolution}: run --phase match again (quiet machine)")
    if args.phase == "match":
        print(matched.to_string(index=False))
        return
    rows = []
    for seed, run in enumerate(runs):
        na = netadapt_result(run)
        pair = matched.loc[na["arch"]]
        rows.append({"method": "netadapt", "seed": seed, "width": float("nan"), **na,
                     "live_ms": float(pair.netadapt_ms)})  # timed interleaved with the multiplier
        mult = train_multiplier(run, seed, float(pair.width), args.out)
        rows.append({"method": "multiplier", "seed": seed, "width": float(pair.width), "arch": mult["arch"],
                     "test_accuracy": mult["test_accuracy"], "test10k_accuracy": mult["test10k_accuracy"],
                     "steps": mult["steps"], "live_ms": float(pair.multiplier_ms)})
    frame = pd.DataFrame(rows)
    atomic.write_text(args.out / "results.csv", frame.to_csv(index=False))
    report(frame, matched.reset_index(drop=True))


if __name__ == "__main__":
    main()
