"""The method against its baselines at one latency target (issue 16): six final architectures, each
retrained from scratch with the same recipe and steps over several seeds, timed live in one
interleaved sitting.

Methods (their names in the CSV):
  pipeline           (a) the controller's search as configured (the configs: one-shot, REINFORCE) + NetAdapt
  random_netadapt    (b) random search, stand-alone children buying the same training images, + NetAdapt
  tpe_netadapt       (c) Optuna TPE search, the same budget, + NetAdapt
  v3small_netadapt   (d) MobileNetV3-Small + NetAdapt
  multiplier         (e) the V3-Small width multiplier, every layer scaled (head included), the width
                         whose table latency is closest to the target (0.01 steps)
  search_only        (f) the controller's search with its reward aimed at the target itself; its
                         best-reward child within the target (no NetAdapt)
The target is `benchmark.target_ratio` x MobileNetV3-Small's latency by the run's table; searches
that feed NetAdapt aim at target x `benchmark.search_slack` (room for NetAdapt to cut).

Phases (`--phase`, default all = find, train, measure, report; `estimate` prints the time estimate only):
  find     searches and NetAdapt (`hwnas search` / `hwnas netadapt` run dirs in <out>/runs/), one per
           method, sharing one lookup table at `latency.resolution`; writes <out>/archs/<method>.json
  train    every final arch from scratch with the `train` recipe for `benchmark.retrain_steps` steps,
           seeds 0..N-1; each (method, seed) kept in <out>/results/<method>-s<seed>.json
  measure  (quiet machine, run alone) every final arch found (all methods) timed live, interleaved, at
           latency.resolution: <out>/measure.json; `all` skips it when that file holds exactly the archs
           found, `--phase measure` always times them again
  report   (all methods found) the CSV benchmarks/results/method_vs_baselines_<dataset>.csv, a Pareto plot next to it,
           a mean +/- std table
Every phase skips what is finished, so a killed run resumes with the same command, and one command
makes the CSV (nothing else of the benchmark runs while it times).
Compute: core-hours = wall seconds x cores given (Ray's num_cpus for a search or NetAdapt command,
torch's threads for a retraining) / 3600, so a loaded machine inflates them.

  .venv/bin/python benchmarks/method_vs_baselines.py --dataset cifar10 [--seeds 3] [--phase all]
  .venv/bin/python benchmarks/method_vs_baselines.py --dataset cifar10 --phase measure   # time again
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from experiments.config.schema import Config, validate_config
from experiments.data import load_data
from experiments.data.types import DataBundle, Split
from experiments.phases.netadapt import finetune_recipe
from experiments.rundir import layout
from experiments.rundir.latency_source import latency_model
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import train_arch
from experiments.training.loop import evaluate, make_loader
from latency.calibration import Calibration
from latency.measure import BenchSettings
from latency.predict import LatencyModel, LiveLatency, TableLatency
from models import ArchSpec, atomic, resolve_arch
from models.references import width_multiplier

ROOT = Path(__file__).resolve().parents[1]
CIFAR = Path("../shared/data/cifar10")
METHODS = ("pipeline", "random_netadapt", "tpe_netadapt", "v3small_netadapt", "multiplier", "search_only")
SEARCHED = {"pipeline": "reinforce", "random_netadapt": "random", "tpe_netadapt": "tpe", "search_only": "reinforce"}
COLUMNS = ("method", "seed", "test_accuracy", "test_accuracy_1k", "val_accuracy", "latency_ms", "table_latency_ms",
           "target_ms", "params", "madds", "core_hours", "search_core_hours", "netadapt_core_hours",
           "retrain_core_hours", "retrain_steps", "arch")
PHASES = ("estimate", "find", "train", "measure", "report", "all")


@dataclass
class Bench:
    """One dataset's benchmark: its config, output folder and the table latency model (opened lazily)."""

    dataset: str
    settings: dict[str, Any]
    base: dict[str, Any]
    out: Path
    results_dir: Path
    seeds: int
    methods: tuple[str, ...] = METHODS
    latency: LatencyModel | None = None
    log: Callable[[str], None] = print
    _data: DataBundle | None = field(default=None, repr=False)

    # ---- configs and run directories -------------------------------------------------------------
    def run_config(self, name: str, algorithm: str = "reinforce", search_ms: float | None = None,
                   netadapt_ms: float | None = None) -> dict[str, Any]:
        """The hwnas config of one method's run: its search algorithm and the two targets in ms (left
        out: the space's seed latency for the search, `benchmark.target_ratio` of the seed for NetAdapt)."""
        cfg = copy.deepcopy(self.base)
        cfg |= {"name": f"{self.dataset}-{name}", "output_dir": str(self.out / "runs")}
        cfg["latency"] = {**cfg["latency"], "table": str(self.table_path())}
        if self.dataset == "cifar10":
            cfg["data"] = {**cfg["data"], "kind": "npz", "path": str(self.cifar_split())}
        reward = {**cfg["search"]["reward"], "target_ms": search_ms, "target_ratio": None if search_ms else 1.0}
        cfg["search"] = {**cfg["search"], "algorithm": algorithm, "reward": reward}
        if algorithm not in ("reinforce", "ppo"):  # random, tpe: stand-alone children, the same images trained
            cfg["search"] |= {"strategy": "standalone", "children": self.standalone_children()}
        cfg["netadapt"] = {**cfg["netadapt"], "target_ms": netadapt_ms,
                           "target_ratio": None if netadapt_ms else self.settings["target_ratio"]}
        return cfg

    def standalone_children(self) -> int:
        """The stand-alone searches' budget: the controller's search as configured, in images trained.
        A one-shot search trains `one_shot.steps` supernet batches and then its `top_k` stand-alone; random
        and TPE get as many stand-alone children (`child_training`) as buy the same images, rounded up."""
        search = self.base["search"]
        if search.get("strategy", "standalone") != "one_shot":
            return int(search["children"])
        per_child = self.child_images()
        shot = search["one_shot"]
        supernet = shot["steps"] * shot.get("batch_size", 64)
        return math.ceil((supernet + shot.get("top_k", 5) * per_child) / per_child)

    def child_images(self) -> int:
        """Images one stand-alone child trains on (`child_training`: its steps x batch, or its epochs)."""
        child = self.base["search"]["child_training"]
        if child.get("steps"):
            return int(child["steps"] * child.get("batch_size", 64))
        return int(child.get("epochs", 1) * len(self.data().train))

    def config(self) -> Config:
        """The shared parts (data, train, latency) as a validated config."""
        return validate_config(self.run_config("latency"), f"{self.dataset} benchmark config")

    def table_path(self) -> Path:
        res = self.base["latency"].get("resolution") or self.base["data"]["resolution"]
        return self.out / f"latency_table_{res}px.json"

    def cifar_split(self) -> Path:
        """CIFAR-10 as the issue splits it: train on the first 45k, validate on the last 5k of the training
        set, test on the 1k exact test images (the 10k JPEG set is evaluated beside it)."""
        path = self.out / "cifar10_45k_5k.npz"
        if not path.is_file():
            with np.load(CIFAR / "cifar10.npz", allow_pickle=False) as a:
                arrays = {"x_train": a["x_train"][:45000], "y_train": a["y_train"][:45000],
                          "x_val": a["x_train"][45000:], "y_val": a["y_train"][45000:],
                          "x_test": a["x_test"], "y_test": a["y_test"], "class_names": a["class_names"]}
            with atomic.atomic_path(path) as tmp, tmp.open("wb") as fh:
                np.savez(fh, **arrays)
        return path

    def data(self) -> DataBundle:
        if self._data is None:
            cfg = self.config()
            self._data = load_data(cfg.data, cfg.seed)
        return self._data

    def table(self) -> LatencyModel:
        """The shared lookup table (calibrated on first use), opened in a run dir of its own."""
        if self.latency is None:
            cfg = self.config()
            root = cfg.output_dir / cfg.name  # a holder for the table's run-side files: reopened as it is, so
            # a config edited between sittings (a method's search settings) does not lock the table out
            run = RunDir.open(root) if root.exists() else RunDir.create(cfg, command=["method_vs_baselines"])
            self.latency = latency_model(cfg, run, self.data().num_classes, log=self.log)
        return self.latency

    def target_ms(self) -> float:
        """benchmark.target_ratio x V3-Small's table latency, fixed at the first call (<out>/target.json)."""
        path = self.out / "target.json"
        resolution = self.config().latency.resolution or self.config().data.resolution
        if not path.is_file():
            v3 = resolve_arch("mobilenetv3-small")
            ms = float(self._priced([v3])[0])
            atomic.write_json(path, {"v3small_table_ms": ms, "target_ratio": self.settings["target_ratio"],
                                     "target_ms": self.settings["target_ratio"] * ms, "latency_resolution": resolution})
        fixed = json.loads(path.read_text())
        if (fixed["target_ratio"], fixed.get("latency_resolution")) != (self.settings["target_ratio"], resolution):
            sys.exit(f"{path} fixed the target at target_ratio {fixed['target_ratio']} and latency resolution "
                     f"{fixed.get('latency_resolution')} px; the config now says {self.settings['target_ratio']} and "
                     f"{resolution} px: use another --out, or restore the config")
        return float(fixed["target_ms"])

    def _priced(self, specs: Sequence[ArchSpec], latency: LatencyModel | None = None) -> list[float]:
        latency = latency or self.table()
        if isinstance(latency, TableLatency):
            latency.time_quietly(list(specs))  # missing entries timed in one batch while nothing trains
        return [float(latency(s)) for s in specs]

    # ---- find: searches, NetAdapt, the multiplier -------------------------------------------------
    def find(self) -> None:
        target = self.target_ms()
        self.log(f"target {target:.4f} ms ({self.settings['target_ratio']} x V3-Small by the table)")
        for method in self.methods:
            if (self.out / "archs" / f"{method}.json").is_file():
                self.log(f"[find] {method}: done earlier")
                continue
            self.log(f"[find] {method}")
            record = self.multiplier(target) if method == "multiplier" else self.searched(method, target)
            atomic.write_json(self.out / "archs" / f"{method}.json", {"method": method, "target_ms": target, **record})

    def searched(self, method: str, target: float) -> dict[str, Any]:
        """Search (and/or NetAdapt) through the hwnas commands; wall seconds kept per command."""
        slack = 1.0 if method == "search_only" else self.settings["search_slack"]
        cfg = self.run_config(method, SEARCHED.get(method, "reinforce"), target * slack, target)
        path = self.out / "configs" / f"{method}.yaml"
        atomic.write_yaml(path, cfg)
        run = self.out / "runs" / cfg["name"]
        if method in SEARCHED:
            self._timed(method, "search", ["search", str(path)], run)
        if method == "search_only":
            trials = pd.read_csv(run / layout.TRIALS)
            ok = trials[(trials.status == "ok") & (trials.get("stage", "standalone") != "one_shot")]
            if ok.empty:
                sys.exit(f"{run / layout.TRIALS}: no child of the search finished; see {run / layout.LOGS_DIR}")
            within = ok[ok.latency_ms <= target]
            pick = (within if len(within) else ok).sort_values("reward").iloc[-1]
            return {"arch": pick.arch, "table_ms": float(pick.latency_ms), "within_target": bool(len(within)),
                    **self._seconds(method)}
        seed = ["--seed-arch", "mobilenetv3-small"] if method == "v3small_netadapt" else []
        self._timed(method, "netadapt", ["netadapt", str(path), *seed], run)
        result = json.loads((run / layout.RESULT).read_text())
        return {"arch": result["final_arch"], "table_ms": result["table_ms"], "within_target": result["target_met"],
                "netadapt_iterations": result["iterations"], "netadapt_seed": result["seed_arch"],
                **self._seconds(method)}

    def _timed(self, method: str, part: str, command: list[str], run: Path) -> None:
        """Run an hwnas command (resumed when its run dir exists) and add its wall time x cores."""
        done = (run / layout.RESULT) if part == "netadapt" else (run / layout.SEARCH_RESULT)
        if done.is_file():
            return
        from experiments.cli import (
            main as hwnas,  # the whole CLI (Ray, converters): only when a command runs
        )

        resume = ["--resume"] if run.exists() else []
        start = time.perf_counter()
        code = hwnas([*command, *resume])
        seconds = time.perf_counter() - start
        book = self.out / "compute" / f"{method}.json"
        spent = json.loads(book.read_text()) if book.is_file() else {}
        cores = self.base["ray"].get("num_cpus") or os.cpu_count() or 1  # what Ray is given when unset
        spent[f"{part}_core_s"] = spent.get(f"{part}_core_s", 0.0) + seconds * cores
        atomic.write_json(book, spent)
        if not done.is_file():
            sys.exit(f"hwnas {command[0]} exited {code} without {done}; see {run / layout.LOGS_DIR}")

    def _seconds(self, method: str) -> dict[str, float]:
        book = self.out / "compute" / f"{method}.json"
        spent = json.loads(book.read_text()) if book.is_file() else {}
        return {"search_core_s": spent.get("search_core_s", 0.0), "netadapt_core_s": spent.get("netadapt_core_s", 0.0)}

    def multiplier(self, target: float) -> dict[str, Any]:
        """The V3-Small multiplier width (0.01 steps) whose table latency is closest to `target`, priced
        with the calibration NetAdapt fitted around V3-Small (`v3small_netadapt`: V3-Small and its
        narrowings, the multiplier's own family) when that run has one, as (a)-(d) price their finals
        with the calibration around their own seeds; the table's space-wide fit otherwise."""
        family = self.out / "runs" / f"{self.dataset}-v3small_netadapt" / layout.CALIBRATION
        table = self.table()
        calibrated = isinstance(table, TableLatency) and family.is_file()
        latency = table.with_calibration(Calibration.from_dict(json.loads(family.read_text()))) if calibrated else table
        widths = [round(w, 2) for w in np.arange(0.20, 1.0001, 0.05)]
        priced = dict(zip(widths, self._priced([width_multiplier("small", w) for w in widths], latency)))
        best = min(priced, key=lambda w: abs(priced[w] - target))
        fine = [round(best + d / 100, 2) for d in range(-4, 5) if d and 0.05 <= best + d / 100 <= 1.0]
        priced |= dict(zip(fine, self._priced([width_multiplier("small", w) for w in fine], latency)))
        best = min(priced, key=lambda w: abs(priced[w] - target))
        return {"arch": width_multiplier("small", best).to_str(), "width": best, "table_ms": priced[best],
                "within_target": priced[best] <= target, "priced_with": str(family) if calibrated else "table",
                "search_core_s": 0.0, "netadapt_core_s": 0.0}

    # ---- train: every final arch from scratch, per seed --------------------------------------------
    def recipe(self) -> Any:
        return finetune_recipe(self.config().train, int(self.settings["retrain_steps"]))

    def train(self) -> None:
        recipe, augment = self.recipe(), self.config().data.augment
        self.log(f"[train] recipe: {recipe.model_dump_json()}")
        for method in self.methods:
            arch_file = self.out / "archs" / f"{method}.json"
            if not arch_file.is_file():
                self.log(f"[train] {method}: no arch yet (run --phase find)")
                continue
            spec = ArchSpec.from_str(json.loads(arch_file.read_text())["arch"])
            for seed in range(self.seeds):
                path = self.out / "results" / f"{method}-s{seed}.json"
                if path.is_file():
                    continue
                model, metrics = train_arch(spec, self.data(), recipe, seed=seed, augment=augment,
                                            desc=f"{method} s{seed}")
                metrics.pop("history", None)
                metrics["test10k_accuracy"] = self.test10k(model, recipe)
                metrics["retrain_core_s"] = metrics["seconds"] * metrics["torch_threads"]
                atomic.write_json(path, {"method": method, **metrics})
                self.log(f"[train] {method} seed {seed}: val {metrics['val_accuracy']:.4f}, test "
                         f"{metrics['test_accuracy']:.4f} in {metrics['seconds']:.0f} s "
                         f"({metrics['seconds'] / max(metrics['steps'], 1):.3f} s/step, evaluations included)")

    def test10k(self, model: Any, recipe: Any) -> float | None:
        """CIFAR-10: accuracy on the full 10,000-image test set (JPEG copy); None for other data."""
        if self.dataset != "cifar10":
            return None
        with np.load(CIFAR / "cifar10_test10k_jpeg.npz", allow_pickle=False) as a:
            split = Split(a["x_test"], a["y_test"].astype(np.int64))
        return evaluate(model, make_loader(replace(self.data(), test=split), "test", recipe)).accuracy

    # ---- measure: one interleaved live sitting ---------------------------------------------------
    def found(self) -> dict[str, str]:
        """Every method's final arch found so far (whatever --methods says)."""
        return {m: json.loads((self.out / "archs" / f"{m}.json").read_text())["arch"] for m in METHODS
                if (self.out / "archs" / f"{m}.json").is_file()}

    def measured(self) -> bool:
        """Whether <out>/measure.json timed exactly the final archs found."""
        path = self.out / "measure.json"
        if not path.is_file():
            return False
        timed = {m: r["arch"] for m, r in json.loads(path.read_text())["methods"].items()}
        return timed == self.found()

    def measure(self, min_time_s: float, windows: int, span_s: float) -> None:
        """Every method's final arch found so far (whatever --methods says), timed in one sitting: the
        windows interleaved round robin over at least `span_s` (this machine's slow modes last seconds)."""
        archs = self.found()
        cfg = self.config()
        settings = BenchSettings(threads=cfg.latency.threads, dtype=cfg.latency.dtype, min_runs=cfg.latency.runs)
        live = LiveLatency(cfg.latency.resolution or cfg.data.resolution, settings,  # as the run's live checks
                           num_classes=self.data().num_classes, min_time_s=min_time_s, windows=windows, span_s=span_s)
        results = live.measure_many([ArchSpec.from_str(a) for a in archs.values()])
        record = {m: {"arch": a, **r.to_dict()} for (m, a), r in zip(archs.items(), results)}
        atomic.write_json(self.out / "measure.json", {"resolution": live.resolution, "threads": cfg.latency.threads,
                                                      "dtype": cfg.latency.dtype, "span_s": span_s,
                                                      "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                                      "methods": record})
        for m, r in record.items():
            self.log(f"[measure] {m}: {r['median_ms']:.4f} ms")

    # ---- report -----------------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        measured = self.out / "measure.json"
        live = json.loads(measured.read_text())["methods"] if measured.is_file() else {}
        rows = []
        for method in METHODS:  # every method found, whatever --methods ran
            arch_file = self.out / "archs" / f"{method}.json"
            if not arch_file.is_file():
                continue
            found = json.loads(arch_file.read_text())
            for seed, path in finished_seeds(self.out / "results", method):
                r = json.loads(path.read_text())
                same_arch = live.get(method, {}).get("arch") == found["arch"]
                ten_k = r.get("test10k_accuracy")
                rows.append({
                    "method": method, "seed": seed,
                    "test_accuracy": ten_k if ten_k is not None else r["test_accuracy"],
                    "test_accuracy_1k": r["test_accuracy"] if ten_k is not None else math.nan,
                    "val_accuracy": r["val_accuracy"],
                    "latency_ms": live[method]["median_ms"] if same_arch else math.nan,
                    "table_latency_ms": found["table_ms"], "target_ms": found["target_ms"],
                    "params": r["params"], "madds": r["madds"],
                    "search_core_hours": found["search_core_s"] / 3600,
                    "netadapt_core_hours": found["netadapt_core_s"] / 3600,
                    "retrain_core_hours": r["retrain_core_s"] / 3600,
                    "retrain_steps": r["steps"], "arch": found["arch"]})
        frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "core_hours"])
        frame.insert(COLUMNS.index("core_hours"), "core_hours",
                     frame.search_core_hours + frame.netadapt_core_hours + frame.retrain_core_hours)
        return frame

    def report(self, command: str) -> pd.DataFrame:
        frame = self.frame()
        if frame.empty:
            self.log("no (method, seed) finished yet: nothing to report")
            return frame
        csv = self.results_dir / f"method_vs_baselines_{self.dataset}.csv"
        atomic.write_text(csv, frame.to_csv(index=False))
        pareto_plot(frame, csv.with_suffix(".png"), self.dataset)
        self.log(summary_table(frame))
        self.log(f"wrote {csv}\nreproduce: {command}")
        return frame


def finished_seeds(folder: Path, method: str) -> list[tuple[int, Path]]:
    """Every retraining of `method` kept in `folder`, by seed (whatever --seeds this invocation has)."""
    found = ((p.stem.rpartition("-s")[2], p) for p in folder.glob(f"{method}-s*.json"))
    return sorted((int(seed), p) for seed, p in found if seed.isdigit())


def estimate(bench: Bench) -> str:
    """The whole run's training time from images seen and `benchmark.images_per_second` (measured for
    V3-Small at the data's resolution on this machine; the searched archs are no larger). A search is
    its training budget in images: the controller's (one-shot or stand-alone) and the stand-alone
    searches' are equal by construction (`Bench.standalone_children`)."""
    s, cfg = bench.settings, bench.config()
    train_n = len(bench.data().train)
    search = bench.standalone_children() * bench.child_images() if cfg.search else 0
    searches = sum(m in SEARCHED for m in bench.methods) * search
    na = cfg.netadapt
    assert na is not None
    iters = {"v3small_netadapt": (1 - s["target_ratio"]) / na.delta_ratio,
             **{m: (1 - 1 / s["search_slack"]) / na.delta_ratio for m in SEARCHED if m != "search_only"}}
    seed_steps = cfg.train.steps or math.ceil((cfg.train.epochs or 1) * train_n / cfg.train.batch_size)
    netadapt = sum((seed_steps + math.ceil(round(iters[m], 6)) * (s["proposals_per_iteration"] + 1) * na.finetune_steps
                    + na.final_steps) * cfg.train.batch_size for m in bench.methods if m in iters)
    retrain = len(bench.methods) * bench.seeds * int(s["retrain_steps"]) * cfg.train.batch_size
    rate = float(s["images_per_second"])
    parts = {"searches": searches, "NetAdapt": netadapt, "retraining": retrain}
    return (f"estimate (training only, at {rate:.0f} images/s; latency table fills come on top): "
            + ", ".join(f"{k} {v / rate / 3600:.2f} h" for k, v in parts.items())
            + f"; total {sum(parts.values()) / rate / 3600:.2f} h; each search trains {search:,} images "
            + f"(stand-alone searches: {bench.standalone_children()} children of {bench.child_images():,})")


def summary_table(frame: pd.DataFrame) -> str:
    """Mean +/- std over seeds per method."""
    lines = [f"{'method':<18} seeds  test acc         test acc 1k      live ms   table ms  core-h"]
    for method, g in frame.groupby("method", sort=False):
        lines.append(f"{method:<18} {len(g):>5}  {mean_std(g.test_accuracy)}  {mean_std(g.test_accuracy_1k)}  "
                     f"{g.latency_ms.mean():7.4f}  {g.table_latency_ms.mean():8.4f}  {g.core_hours.mean():6.2f}")
    return "\n".join(lines)


def mean_std(column: pd.Series) -> str:
    values = column.dropna()
    if values.empty:
        return f"{'-':^16}"
    return f"{values.mean():.4f} +/- {values.std(ddof=1) if len(values) > 1 else math.nan:.4f}"


def pareto_plot(frame: pd.DataFrame, path: Path, dataset: str) -> None:
    """Test accuracy against live latency (the table's where not measured yet): seeds and means."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    live = frame.latency_ms.notna().all()
    x = "latency_ms" if live else "table_latency_ms"
    for method, g in frame.groupby("method", sort=False):
        dots = ax.scatter(g[x], g.test_accuracy, alpha=0.4, s=18)
        ax.errorbar(g[x].mean(), g.test_accuracy.mean(), yerr=g.test_accuracy.std(ddof=1) if len(g) > 1 else None,
                    fmt="o", color=dots.get_facecolor()[0][:3], capsize=3, label=method)
    ax.axvline(frame.target_ms.iloc[0], color="grey", ls=":", label="target (table)")
    ax.set_xlabel(f"latency, ms ({'live, one interleaved sitting' if live else 'table; not measured live yet'})")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"method vs baselines on {dataset}: mean +/- std over seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def load_bench(dataset: str, config: Path | None, out: Path, results_dir: Path, seeds: int | None,
               methods: Sequence[str] = METHODS) -> Bench:
    """A Bench from a config with `benchmark:` (target_ratio, search_slack, retrain_steps, seeds) and
    `run:` (an hwnas config every method's run derives from)."""
    path = config or ROOT / "benchmarks" / "configs" / f"method_vs_baselines-{dataset}.yaml"
    doc = yaml.safe_load(path.read_text())
    missing = [k for k in ("benchmark", "run") if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise SystemExit(f"{path}: missing section(s) {missing}; see benchmarks/configs/method_vs_baselines-*.yaml")
    settings = doc["benchmark"]
    return Bench(dataset, settings, doc["run"], out, results_dir, seeds or int(settings["seeds"]), tuple(methods))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("cifar10", "embedded"), required=True)
    parser.add_argument("--seeds", type=int, help="retraining seeds (default: the config's benchmark.seeds)")
    parser.add_argument("--out", type=Path, help="work folder (default runs/bench/method-vs-baselines-<dataset>)")
    parser.add_argument("--phase", choices=PHASES, default="all")
    parser.add_argument("--config", type=Path, help="default benchmarks/configs/method_vs_baselines-<dataset>.yaml")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--methods", default=",".join(METHODS), help="a comma-separated subset of " + ", ".join(METHODS))
    parser.add_argument("--min-time-s", type=float, default=6.0, help="measure: live timing per arch (seconds)")
    parser.add_argument("--windows", type=int, default=5, help="measure: interleaved windows per arch")
    parser.add_argument("--span-s", type=float, default=120.0,
                        help="measure: the sitting's windows spread over at least this many seconds")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.exit(2, f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}\n")
    out = args.out or Path(f"runs/bench/method-vs-baselines-{args.dataset}")
    bench = load_bench(args.dataset, args.config, out, args.results_dir, args.seeds, methods)
    command = " ".join(["benchmarks/method_vs_baselines.py", *(argv if argv is not None else sys.argv[1:])])
    print(f"recipe: retraining {bench.settings['retrain_steps']} steps of {bench.recipe().model_dump()}; "
          f"{bench.seeds} seed(s); methods {', '.join(methods)}")
    print(estimate(bench))
    if args.phase == "estimate":
        return 0
    if args.phase in ("find", "all"):
        bench.find()
    if args.phase in ("train", "all"):
        bench.train()
    if args.phase == "measure" or (args.phase == "all" and not bench.measured()):
        bench.measure(args.min_time_s, args.windows, args.span_s)
    bench.report(command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
