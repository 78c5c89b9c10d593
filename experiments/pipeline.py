"""The whole pipeline behind `hwnas run`: search -> reference nets -> seed -> NetAdapt (ending with its
long fine-tune or retrain) -> export -> report, in one run directory.

Each phase records its completion in `phases.json` (atomically, with its duration and outputs) only
after its outputs are written; a resumed run skips completed phases whose outputs still exist and
resumes the interrupted one at its own granularity: the search keeps every finished child, NetAdapt
every finished proposal, the reference phase every trained reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.arch_training import is_complete, train_arch
from experiments.config import Config, TrainingConfig
from experiments.data import DataBundle
from experiments.netadapt_seed import SEED_DIR, prepare_seed
from experiments.ray_tasks import as_completed
from experiments.rundir import RunDir
from experiments.search_driver import TRIALS_FILE, run_search
from latency.measure import BenchSettings
from latency.predict import LatencyModel
from models import atomic, resolve_arch
from models.spec import ArchSpec

PHASES = ("search", "references", "seed", "netadapt", "export", "report")
PHASES_FILE = "phases.json"
REFERENCES_FILE = "references.csv"
FINAL_DIR = "final"


def whole_model_bench(threads: int, runs: int) -> BenchSettings:
    """A deployed model is timed as `hwnas bench` and LiteRT's own tool time it: warm loop, >= 1 s
    warm-up, >= `runs` runs and >= 1 s (the in-context cache flush is for table pieces only)."""
    return BenchSettings(threads=threads, warmup_s=1.0, min_runs=runs, min_time_s=1.0, flush_mb=0.0)


SEED_RULES = {"best_reward": "reward", "best_accuracy": "accuracy"}


class PipelineError(RuntimeError):
    """A phase cannot go on (e.g. every searched child failed); the message says what to change."""


def default_references(space: str) -> list[str]:
    family = "large" if "large" in Path(space).stem else "small"
    return [f"mobilenetv3-{family}", f"mobilenetv3-{family}-0.75"]


def pick_seed(trials: pd.DataFrame, rule: str) -> pd.Series:
    """The searched child that seeds NetAdapt: the highest `reward` or `accuracy` among finished children."""
    ok = trials[trials["status"] == "ok"]
    if ok.empty:
        raise PipelineError("no searched child finished (see the status and reason columns of trials.csv); "
                            "raise search.children or check search.child_training")
    return ok.loc[ok[SEED_RULES[rule]].idxmax()]


def train_reference(payload: tuple[str, str], data: DataBundle, training: TrainingConfig, seed: int,
                    augment: bool) -> dict[str, Any]:
    """A Ray task: train one reference net with the child recipe; returns its metrics."""
    name, arch = payload
    _, metrics = train_arch(ArchSpec.from_str(arch), data, training, seed=seed, augment=augment, desc=name)
    return metrics


@dataclass
class Pipeline:
    cfg: Config
    run: RunDir
    data: DataBundle
    latency: LatencyModel
    resume: bool
    log: Callable[[str], None] = print

    def execute(self) -> dict[str, Any]:
        """Run every phase not yet complete; returns `phases.json`'s content."""
        phases = self._phases()
        for name, phase in self.steps().items():
            entry = phases.get(name)
            if entry and all(self.run.path(p).exists() for p in entry["outputs"]):
                self.log(f"[{name}] complete ({entry['seconds']:.0f} s in an earlier attempt); skipped")
                continue
            self.log(f"[{name}] started")
            start = time.monotonic()
            outputs = phase()
            phases[name] = {"seconds": round(time.monotonic() - start, 1), "outputs": outputs,
                            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            self.run.write_json(PHASES_FILE, phases)
            self.log(f"[{name}] done in {phases[name]['seconds']:.0f} s")
        return phases

    def steps(self) -> dict[str, Callable[[], list[str]]]:
        """The phases in order; each returns the run-relative paths of its outputs."""
        return {"search": self._search, "references": self._references, "seed": self._seed,
                "netadapt": self._netadapt, "export": self._export, "report": self._report}

    def _phases(self) -> dict[str, Any]:
        path = self.run.path(PHASES_FILE)
        return self.run.read_json(PHASES_FILE) if self.resume and path.is_file() else {}

    def _search(self) -> list[str]:
        assert self.cfg.search is not None
        run_search(self.cfg, self.run, self.data, self.latency, resume=self.resume, log=self.log)
        return [TRIALS_FILE]

    def _references(self) -> list[str]:
        p = self.cfg.pipeline
        names = default_references(self.cfg.space) if p.references is None else p.references
        todo = [(n, resolve_arch(n).to_str()) for n in names if not self.run.path("references", f"{_slug(n)}.json").is_file()]
        if todo:
            self.log(f"[references] training {len(todo)} reference net(s) with the child recipe: "
                     f"{', '.join(n for n, _ in todo)}")
        assert self.cfg.search is not None
        resources = self.cfg.ray.resources_per_trial
        for (name, _), metrics in as_completed(
                train_reference, todo, shared=(self.data, self.cfg.search.child_training, self.cfg.seed,
                                               self.cfg.data.augment),
                num_cpus=resources.cpu, num_gpus=resources.gpu, max_in_flight=self.cfg.ray.max_concurrent_trials):
            self.run.write_json(f"references/{_slug(name)}.json", {"name": name, **metrics})
            self.log(f"[references] {name}: val acc {metrics['val_accuracy']:.4f}")
        rows = []
        for name in names:
            m = self.run.read_json("references", f"{_slug(name)}.json")
            spec = ArchSpec.from_str(m["arch"])
            rows.append({"name": name, "arch": m["arch"], "acc": m["val_accuracy"], "test_acc": m["test_accuracy"],
                         "latency_ms": self.latency(spec), "params": m["params"], "madds": m["madds"]})
        atomic.write_text(self.run.path(REFERENCES_FILE), pd.DataFrame(
            rows, columns=["name", "arch", "acc", "test_acc", "latency_ms", "params", "madds"]).to_csv(index=False))
        return [REFERENCES_FILE]

    def _seed(self) -> list[str]:
        p = self.cfg.pipeline
        if p.seed_arch is not None:
            spec, why = resolve_arch(p.seed_arch), f"pipeline.seed_arch = {p.seed_arch}"
        else:
            row = pick_seed(pd.read_csv(self.run.path(TRIALS_FILE)), p.seed_rule)
            spec = ArchSpec.from_str(row["arch"])
            why = (f"child {int(row['index'])} by {p.seed_rule}: reward {row['reward']:.4f}, "
                   f"accuracy {row['accuracy']:.4f}, {row['latency_ms']:.3f} ms")
        self.log(f"[seed] {spec.to_str()} ({why}); {self.latency(spec):.4f} ms by the table")
        prepare_seed(self.cfg, self.run, self.data, spec, None, log=self.log)
        return [f"{SEED_DIR}/metrics.json"]

    def _netadapt(self) -> list[str]:
        from experiments.netadapt_runner import run_netadapt

        seed = self.run.path(SEED_DIR)
        result = run_netadapt(self.cfg, self.run, self.data, self.latency, ArchSpec.load(seed / "arch.yaml"),
                              seed / "weights.pt", resume=self.resume, log=self.log)
        if not is_complete(self.run, FINAL_DIR):
            raise PipelineError(f"NetAdapt ended ({result.get('status')}) without writing {FINAL_DIR}/")
        return [f"{FINAL_DIR}/metrics.json", "netadapt/result.json"]

    def _export(self) -> list[str]:
        from experiments.deploy import export_final

        final = self.run.path(FINAL_DIR)
        lat = self.cfg.latency
        export_final(ArchSpec.load(final / "arch.yaml"), final / "weights.pt", final, self.data,
                     resolution=lat.resolution or self.data.resolution, num_classes=self.data.num_classes,
                     formats=self.cfg.export.formats, int8=self.cfg.export.int8,
                     bench_settings=whole_model_bench(lat.threads, lat.runs))
        return [f"{FINAL_DIR}/export.json", *[f"{FINAL_DIR}/model.{fmt}" for fmt in self.cfg.export.formats]]

    def _report(self) -> list[str]:
        from experiments.report import build_report

        path = build_report(self.run.root)
        return [str(Path(path).relative_to(self.run.root))]


def summary(run: RunDir) -> str:
    """A few lines for the end of `hwnas run`: final arch, accuracy, latency against the target."""
    final = run.read_json(FINAL_DIR, "metrics.json")
    result = run.read_json("netadapt", "result.json")
    return (f"final model: {final['arch']}\n"
            f"  {final['params']:,} params, {final['madds']:,} multiply-adds, test acc {final['test_acc']:.4f}\n"
            f"  latency {result['live_ms']:.3f} ms measured (table {result['table_ms']:.3f} ms), "
            f"target {result['target_ms']:.3f} ms\n"
            f"  report: {run.path('report.md')}")


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80]

