"""The whole pipeline behind `hwnas run`: search -> seed -> NetAdapt (ending with its long fine-tune or
retrain) -> reference nets (trained with the final model's recipe and compute) -> export -> report,
in one run directory.

Each phase records its completion in `phases.json` (atomically, with its duration and outputs) only
after its outputs are written; a resumed run skips completed phases whose outputs still exist and
resumes the interrupted one at its own granularity: the search keeps every finished child, NetAdapt
every finished proposal, the reference phase every trained reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from experiments.config.schema import Config
from experiments.console.lines import phase_header
from experiments.data import DataBundle
from experiments.phases.references import run_references
from experiments.phases.seed import choose_seed_arch, prepare_seed
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.measure import BenchSettings
from latency.predict import LatencyModel
from models.spec import ArchSpec

PHASES = layout.PHASE_NAMES


def whole_model_bench(threads: int, runs: int) -> BenchSettings:
    """A deployed model is timed as `hwnas bench` and LiteRT's own tool time it: warm loop, >= 1 s
    warm-up, >= `runs` runs and >= 1 s (the in-context cache flush is for table pieces only)."""
    return BenchSettings(threads=threads, warmup_s=1.0, min_runs=runs, min_time_s=1.0, flush_mb=0.0)


class PipelineError(RuntimeError):
    """A phase cannot go on (e.g. every searched child failed); the message says what to change."""


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
        steps = self.steps()
        for number, (name, phase) in enumerate(steps.items(), 1):
            entry = phases.get(name)
            if entry and all(self.run.path(p).exists() for p in entry["outputs"]):
                self.log(f"[{name}] complete ({entry['seconds']:.0f} s in an earlier attempt); skipped")
                continue
            self.log(phase_header(name, number, len(steps)))
            start = time.monotonic()
            outputs = phase()
            phases[name] = {"seconds": round(time.monotonic() - start, 1), "outputs": outputs,
                            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            self.run.write_json(layout.PHASES, phases)
            self.log(f"[{name}] done in {phases[name]['seconds']:.0f} s")
        return phases

    def steps(self) -> dict[str, Callable[[], list[str]]]:
        """The phases in order; each returns the run-relative paths of its outputs."""
        return {"search": self._search, "seed": self._seed, "netadapt": self._netadapt,
                "references": self._references, "export": self._export, "report": self._report}

    def _phases(self) -> dict[str, Any]:
        return self.run.read_json(layout.PHASES) if self.resume and self.run.has(layout.PHASES) else {}

    def _search(self) -> list[str]:
        from experiments.phases.search import run_search

        assert self.cfg.search is not None
        run_search(self.cfg, self.run, self.data, self.latency, resume=self.resume, log=self.log)
        return [layout.TRIALS]

    def _references(self) -> list[str]:
        return run_references(self.cfg, self.run, self.data, self.latency, log=self.log)

    def _seed(self) -> list[str]:
        from experiments.phases.seed import SeedError

        try:
            spec, why = choose_seed_arch(self.cfg, self.run.root)
        except SeedError as err:
            raise PipelineError(str(err)) from None
        self.log(f"[seed] {spec.to_str()} ({why}); {self.latency(spec):.4f} ms by the table")
        prepare_seed(self.cfg, self.run, self.data, spec, None, log=self.log)
        return [layout.SEED_METRICS]

    def _netadapt(self) -> list[str]:
        from experiments.phases.netadapt import run_netadapt

        result = run_netadapt(self.cfg, self.run, self.data, self.latency, ArchSpec.load(self.run.path(layout.SEED_ARCH)),
                              self.run.path(layout.SEED_WEIGHTS), resume=self.resume, log=self.log)
        if not self.run.is_complete(layout.FINAL_DIR):
            raise PipelineError(f"NetAdapt ended ({result.get('status')}) without writing {layout.FINAL_DIR}/")
        return [layout.FINAL_METRICS, layout.RESULT]

    def _export(self) -> list[str]:
        from experiments.phases.export import export_final

        lat = self.cfg.latency
        export_final(ArchSpec.load(self.run.path(layout.FINAL_ARCH)), self.run.path(layout.FINAL_WEIGHTS),
                     self.run.path(layout.FINAL_DIR), self.data, resolution=lat.resolution or self.data.resolution,
                     num_classes=self.data.num_classes, formats=self.cfg.export.formats, int8=self.cfg.export.int8,
                     bench_settings=whole_model_bench(lat.threads, lat.runs), log=self.log)
        return [layout.FINAL_EXPORT, *[layout.final_file(fmt) for fmt in self.cfg.export.formats]]

    def _report(self) -> list[str]:
        from experiments.report import build_report

        path = build_report(self.run.root)
        return [path.relative_to(self.run.root).as_posix()]


def summary(run: RunDir) -> str:
    """A few lines for the end of `hwnas run`: final arch, accuracy, latency against the target."""
    final = run.read_json(layout.FINAL_METRICS)
    result = run.read_json(layout.RESULT)
    return (f"final model: {final['arch']}\n"
            f"  {final['params']:,} params, {final['madds']:,} multiply-adds, "
            f"test accuracy {final['test_accuracy']:.4f}\n"
            f"  latency {result['live_ms']:.3f} ms measured (table {result['table_ms']:.3f} ms), "
            f"target {result['target_ms']:.3f} ms"
            f"{'' if result.get('live_settled', True) else ' (undecided: the machine moved more than 5% during it)'}\n"
            f"  report: {run.path(layout.REPORT)}")
