"""NetAdapt on a run directory: the loop (proposals fine-tuned as Ray tasks), then the final phase.

`run_netadapt` shrinks a trained seed until the configured latency model (normally the lookup
table) says the target is met, then fine-tunes the result for longer (or retrains it from
scratch), evaluates it on validation and test, and benchmarks it live with LiteRT beside the
table's prediction. Outputs (see the run-directory layout): netadapt/state.json (the resumable
loop state), netadapt/history.csv, netadapt/trajectory.csv, netadapt/iterNNN/<key>.pt,
final/{arch.yaml, weights.pt, metrics.json} and netadapt/result.json, which is written last: a
resumed run whose result.json exists does nothing; one whose final/metrics.json exists skips the
final training. Each phase resumes at its own granularity: the loop at single proposals.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from experiments.config.errors import RunDirError
from experiments.config.schema import Config, TrainingConfig
from experiments.console.monitor import current as current_console
from experiments.console.netadapt_progress import ReportingJobs
from experiments.data import DataBundle
from experiments.rundir import layout
from experiments.rundir.latency_source import calibration_facts, live_checker, quiet_cores
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import save_trained
from experiments.training.loop import budget_steps, evaluate, make_loader, seed_everything, train
from experiments.training.weights import load_trained
from latency.calibration import Calibration, fit_calibration
from latency.export import arch_input_shape, tflite_bytes
from latency.predict import LIVE_REPEAT, LatencyModel, TableLatency
from models import ArchSpec, atomic, build_model, count_madds, count_params
from netadapt.config import LoopConfig
from netadapt.history import history_frame, trajectory_frame
from netadapt.loop import NetAdaptLoop, Prefill, RunJobs
from netadapt.proposals import narrowed
from netadapt.records import NetAdaptState
from netadapt.state import StateError, load_state

Log = Callable[[str], None]
AROUND_SEED = (0.9, 0.75, 0.5)  # NetAdapt's calibration: the seed and it narrowed by these factors
SLOPE_AGREEMENT = 2.0  # an around-seed slope beyond 2x (or under 1/2x) the table's: a scale only (`slope_agrees`)


def finetune_recipe(train_cfg: TrainingConfig, steps: int, lr_scale: float = 1.0) -> TrainingConfig:
    """`train_cfg` with its budget replaced by `steps` optimizer steps; with `lr_scale` < 1 (the short
    fine-tunes of proposals and the control), the peak learning rate scaled and no warm-up."""
    changes = {"steps": steps, "epochs": None}
    if lr_scale != 1.0:
        changes |= {"lr": train_cfg.lr * lr_scale, "warmup_steps": 0}
    return TrainingConfig.model_validate({**train_cfg.model_dump(), **changes})


def loop_config(cfg: Config, seed_ms: float) -> LoopConfig:
    """Target (absolute or a share of the seed's latency) and delta (a share of it) in ms."""
    na = cfg.netadapt
    assert na is not None
    target = na.target_ms if na.target_ms is not None else na.target_ratio * seed_ms
    return LoopConfig(target_ms=target, delta_ms=na.delta_ratio * seed_ms, delta_decay=na.delta_decay,
                      channel_divisor=na.channel_divisor, selection=na.selection, max_iterations=na.max_iterations,
                      seed=cfg.seed, head_proposals=na.head_proposals, final=na.final,
                      max_step_ratio=na.max_step_ratio, min_delta_ratio=na.min_delta_ratio)


def table_prefill(latency: LatencyModel) -> Prefill | None:
    """For a lookup table: price every spec of an iteration in one batch before any fine-tune
    starts, so missing entries are measured while nothing else runs (None for other sources)."""
    if not isinstance(latency, TableLatency):
        return None
    table = latency

    def prefill(specs: list[ArchSpec]) -> None:
        table.time_quietly(specs)
    return prefill


def make_evaluator(data: DataBundle, training: TrainingConfig) -> Callable[[str, str], float]:
    """(arch, weights path) -> validation accuracy of those weights as saved (BN already calibrated)."""
    def evaluate_weights(arch: str, weights: str) -> float:
        model = load_trained(ArchSpec.from_str(arch), weights, data.num_classes, training.dropout)
        return evaluate(model, make_loader(data, "val", training)).accuracy
    return evaluate_weights


def run_netadapt(cfg: Config, run: RunDir, data: DataBundle, latency: LatencyModel, seed_arch: ArchSpec,
                 seed_weights: Path, resume: bool, log: Log = print, run_jobs: RunJobs | None = None
                 ) -> dict[str, Any]:
    """Run (or resume) NetAdapt and the final phase; returns result.json's content.

    Proposals run as Ray tasks (Ray must be initialised: `RayRuntime`) unless `run_jobs` is given
    (e.g. `LocalJobs` to run them in this process). A status other than 'met' (`stuck`: no
    proposal can cut delta; `max_iterations`) is reported as it is; the final phase still runs on
    the smallest model reached, and result.json says `target_met: false`.
    """
    na = cfg.netadapt
    if na is None:
        raise ValueError("the config has no netadapt section")
    if resume and run.has(layout.RESULT):
        result = run.read_json(layout.RESULT)
        log(f"netadapt: {run.path(layout.RESULT)} exists; nothing to do (status {result['status']})")
        return result
    started = time.perf_counter()
    short = finetune_recipe(cfg.train, na.finetune_steps, na.finetune_lr_scale)
    if run_jobs is None:
        from experiments.ray_jobs.netadapt_tasks import (
            RayJobs,  # imports Ray: only when proposals run there
        )

        res = cfg.ray.resources_per_trial
        run_jobs = RayJobs(data, short, cfg.data.augment, {"cpu": res.cpu, "gpu": res.gpu},
                           cfg.ray.max_concurrent_trials, current_console().detail)
    saved = _saved_state(run.path(layout.NETADAPT_STATE_FILE), seed_arch, resume)
    latency = around_seed(cfg, run, latency, seed_arch, data.num_classes, saved is not None, log)
    seed_ms = saved.seed.latency_ms if saved else latency(seed_arch)  # a live source would not repeat
    config = loop_config(cfg, seed_ms)
    jobs = ReportingJobs(run_jobs, run.path(layout.NETADAPT_STATE_FILE), current_console(), config.target_ms)
    loop = NetAdaptLoop(run.path(layout.NETADAPT_DIR), latency, jobs, make_evaluator(data, cfg.train), config,
                        prefill=table_prefill(latency))
    state = _open_state(loop, seed_arch, seed_weights, saved, log)
    log(f"netadapt: seed {seed_ms:.4f} ms, target {loop.config.target_ms:.4f} ms, delta {loop.config.delta_ms:.4f} ms "
        f"(x{loop.config.delta_decay} per iteration), rule {loop.config.selection}")
    state = loop.run(state)
    jobs.finished()
    atomic.write_text(run.path(layout.HISTORY), history_frame(state).to_csv(index=False))
    atomic.write_text(run.path(layout.TRAJECTORY), trajectory_frame(state).to_csv(index=False))
    current = state.current
    log(f"netadapt: loop {state.status} after {state.iteration} iteration(s): {current.latency_ms:.4f} ms "
        f"(target {loop.config.target_ms:.4f}), val accuracy {current.val_accuracy:.4f}")
    final_spec = ArchSpec.from_str(current.arch)
    metrics = _final_phase(cfg, run, data, final_spec, Path(current.weights), current.latency_ms, log)
    live = _live_bench(cfg, run, data.num_classes, final_spec, ArchSpec.from_str(state.seed.arch))
    predicted = current.latency_ms
    result = {
        "status": state.status,
        "target_met": state.status == "met",
        "seed_arch": state.seed.arch,
        "final_arch": current.arch,
        "target_ms": loop.config.target_ms,
        "delta_ms": loop.config.delta_ms,
        "delta_decay": loop.config.delta_decay,
        "selection": loop.config.selection,
        "seed_table_ms": state.seed.latency_ms,
        "table_ms": predicted,
        "live_ms": live["median_ms"],
        "live": live,
        "rel_error": (live["median_ms"] - predicted) / predicted,
        "seed_live_ms": live["seed_median_ms"],
        "cut_table": predicted / state.seed.latency_ms - 1,
        "cut_live": live["median_ms"] / live["seed_median_ms"] - 1,
        "live_settled": live["settled"],
        "live_repeat": worst_repeat(live),
        "iterations": state.iteration,
        "proposals": sum(len(it.proposals) for it in state.iterations),
        "seed_val_accuracy": state.seed.val_accuracy,
        "loop_val_accuracy": current.val_accuracy,
        "final": na.final,
        "val_accuracy": metrics["val_accuracy"],
        "test_accuracy": metrics["test_accuracy"],
        "seconds_this_session": time.perf_counter() - started,
        **calibration_facts(latency),
        **_anchored(latency, state.seed.arch, predicted, live),
    }
    run.write_json(layout.RESULT, result)
    log(f"netadapt: final {current.arch}: table {predicted:.4f} ms, live {live['median_ms']:.4f} ms "
        f"({result['rel_error']:+.1%}); cut from the seed {result['cut_table']:+.1%} by the table, "
        f"{result['cut_live']:+.1%} live (the seed timed beside it: {live['seed_median_ms']:.4f} ms), "
        f"{live_repeat_text(live)}, "
        f"val accuracy {metrics['val_accuracy']:.4f}, test accuracy "
        f"{metrics['test_accuracy']:.4f}; wrote {run.path(layout.RESULT)}")
    return result


def worst_repeat(live: dict[str, Any]) -> float | None:
    """The live check's repeatability: the larger of the final model's and the seed's difference between the
    halves of their windows (`_live_bench`'s dict); None when either had too few windows to compare."""
    spreads = (live.get("repeat"), live.get("seed_repeat"))
    return None if None in spreads else max(spreads)


def live_repeat_text(live: dict[str, Any]) -> str:
    """How the live check's figures repeated within its span, in words (`_live_bench`'s dict)."""
    worst = worst_repeat(live)
    if worst is None:
        return f"too few live windows in {live['seconds']:.0f} s to compare two halves (NOT settled)"
    verdict = "settled" if live["settled"] else \
        f"NOT settled: the machine moved more than a {LIVE_REPEAT:.0%} check can resolve"
    return f"live figures moved up to {worst:.1%} between the halves of {live['seconds']:.0f} s of windows ({verdict})"


def _anchored(latency: LatencyModel, seed_arch: str, predicted: float, live: dict[str, Any]) -> dict[str, float]:
    """The live check re-anchored on the seed, when the calibration timed the seed (its first arch):
    the final model's live figure x the seed's live figure at calibration / the seed's beside it now.
    This host's whole-model figures moved 25% between sittings 15 minutes apart (a NetAdapt run
    calibrated in a slow mode: seed 0.754 ms then, 0.585 ms at its live check); the raw `rel_error`
    stays beside it."""
    calib = latency.calibration if isinstance(latency, TableLatency) else None
    if calib is None or calib.archs[:1] != (seed_arch,) or not calib.measured_ms:
        return {}
    anchored = live["median_ms"] * calib.measured_ms[0] / live["seed_median_ms"]
    return {"seed_live_at_calibration_ms": calib.measured_ms[0], "rel_error_anchored": anchored / predicted - 1}


def around_seed(cfg: Config, run: RunDir, latency: LatencyModel, seed_arch: ArchSpec, num_classes: int,
                resumed: bool, log: Log = print) -> LatencyModel:
    """The table NetAdapt prices with, calibrated around the seed it shrinks: on the seed and it
    narrowed by each of AROUND_SEED (`narrowed`, the run's channel divisor), whole models timed in the
    round robin of their missing entries (`TableLatency.fit`), kept in netadapt/calibration.json.

    Why: a whole model's live / summed-pieces ratio differs from arch to arch (seen 0.86-1.32 among
    the 5 archs of one demo calibration, timed in the same rounds), so one fit over the space left
    the demo's final model 11% off its live figure; NetAdapt decides only between the seed and its
    narrowings, and its target and final check are about them. Unchanged: a live or uncalibrated
    source, a table whose calibration was fitted on exactly these archs, and a run resumed from a
    state saved without this file (its seed was priced by the table's calibration). A table
    calibrated on the seed among random archs (`hwnas netadapt`'s) is not enough: in one NetAdapt
    run its fit (1.0525 x summed over 5 archs) priced the seed 15% above its own live figure."""
    if not isinstance(latency, TableLatency) or latency.calibration is None:
        return latency
    divisor = cfg.netadapt.channel_divisor if cfg.netadapt else 8
    specs = list(dict.fromkeys([seed_arch, *(narrowed(seed_arch, f, divisor) for f in AROUND_SEED)]))
    if latency.calibration.archs == tuple(s.to_str() for s in specs):
        return latency
    path = run.path(layout.CALIBRATION)
    if path.is_file():
        return latency.with_calibration(Calibration.from_dict(run.read_json(layout.CALIBRATION)))
    if resumed:
        return latency
    start = time.perf_counter()
    calib = latency.fit(specs, live_checker(cfg, num_classes, quiet_cores(cfg)))
    fitted = calib
    if not slope_agrees(calib, latency.calibration):
        calib = fit_calibration([latency.summed_ms(s) for s in specs], calib.measured_ms, calib.archs, affine=False)
    run.write_json(layout.CALIBRATION, calib.to_dict())
    log(f"netadapt: latency calibrated around the seed on {len(specs)} archs (it, narrowed x"
        f"{', x'.join(str(f) for f in AROUND_SEED)}): ms = {calib.scale:.4f} * summed + {calib.offset_ms:.4f}, "
        f"RMSPE {calib.rmspe_before:.1f}% -> {calib.rmspe_after:.1f}% (the table's fit: {latency.calibration.scale:.4f}"
        f" * summed + {latency.calibration.offset_ms:.4f}); {time.perf_counter() - start:.0f} s")
    if fitted is not calib:
        log(slope_warning(fitted, latency.calibration))
    return latency.with_calibration(calib)


def slope_agrees(local: Calibration, table: Calibration) -> bool:
    """Whether the fit around the seed prices table cuts within SLOPE_AGREEMENT x of how the table's own fit
    prices them (its slope within 1 / SLOPE_AGREEMENT .. SLOPE_AGREEMENT x the table's). A few whole models
    close to each other fix a level well and a slope badly: 10% noise on each of the seed and its x0.75 moves
    the slope between them by ~80%. Seen on a noisy host: 0.3307 x summed + 0.9252 ms around a seed against
    the table's 0.9226 x summed; every cut priced at a third, NetAdapt cut layers to the grid's minimum while
    live the model was already 45% faster. `around_seed` then keeps the level and prices cuts in proportion."""
    return 1 / SLOPE_AGREEMENT <= _slope_ratio(local, table) <= SLOPE_AGREEMENT


def _slope_ratio(local: Calibration, table: Calibration) -> float:
    return local.scale / table.scale if table.scale > 0 else math.inf


def slope_warning(local: Calibration, table: Calibration) -> str:
    """The log line for a fit around the seed whose slope does not agree with the table's (`slope_agrees`)."""
    ratio = _slope_ratio(local, table)
    return (f"warning: netadapt: the affine fit around the seed ({local.scale:.4f} x summed + {local.offset_ms:.4f}) "
            f"prices each table cut at x{ratio:.2f} of the table's own fit ({table.scale:.4f} x summed): the slope is "
            f"not determined by these timings, so NetAdapt prices around the seed with a scale only (the level from "
            f"these archs, cuts in proportion); if this repeats, check the machine (benchmarks/latency_live_span.py) "
            f"and compare netadapt/result.json's live check (docs/netadapt.md)")


def _saved_state(path: Path, seed_arch: ArchSpec, resume: bool) -> NetAdaptState | None:
    """The loop state to resume, None for a fresh start; a state of another seed is refused."""
    if not path.is_file():
        return None
    if not resume:
        raise RunDirError(f"{path} exists: pass --resume to continue it, or start a new run name")
    try:
        state = load_state(path)
    except StateError as err:
        raise RunDirError(str(err)) from None
    if state.seed.arch != seed_arch.to_str():
        raise RunDirError(f"{path} shrinks seed {state.seed.arch}, not {seed_arch.to_str()}; "
                          f"resume with the same seed arch or start a new run name")
    return state


def _open_state(loop: NetAdaptLoop, seed_arch: ArchSpec, seed_weights: Path, saved: NetAdaptState | None,
                log: Log) -> NetAdaptState:
    if saved is None:
        return loop.start(seed_arch, seed_weights)
    try:
        state = loop.resume()
    except ValueError as err:
        raise RunDirError(str(err)) from None
    pending = state.pending
    if pending is not None:
        done = sum(p.trial.done for p in pending.proposals)
        log(f"netadapt: resumed iteration {pending.iteration} with {done} of {len(pending.proposals)} "
            f"proposals done")
    else:
        log(f"netadapt: resumed at iteration {state.iteration} (status {state.status})")
    return state


def _final_phase(cfg: Config, run: RunDir, data: DataBundle, spec: ArchSpec, weights: Path, predicted_ms: float,
                 log: Log) -> dict[str, Any]:
    """Long fine-tune from the loop's weights, or retrain from scratch; final/ (metrics.json last)."""
    na = cfg.netadapt
    assert na is not None
    if run.is_complete(layout.FINAL_DIR):
        log(f"netadapt: {run.path(layout.FINAL_DIR)} is complete; final training skipped")
        return run.read_json(layout.FINAL_METRICS)
    recipe = finetune_recipe(cfg.train, na.final_steps)
    seed_everything(cfg.seed)  # a retrain's initial weights are reproducible too
    if na.final == "long_finetune":
        model = load_trained(spec, weights, data.num_classes, recipe.dropout)
    else:
        model = build_model(spec, num_classes=data.num_classes, dropout=recipe.dropout)
    log(f"netadapt: final {na.final.replace('_', ' ')} of {spec.to_str()} for {na.final_steps} steps")
    result = train(model, data, recipe, seed=cfg.seed, augment=cfg.data.augment)
    test = evaluate(model, make_loader(data, "test", recipe))
    metrics = {
        "arch": spec.to_str(),
        "final": na.final,
        "steps": result.steps,
        "val_accuracy": result.val_accuracy,
        "test_accuracy": test.accuracy,
        "val_loss": result.val_loss,
        "test_loss": test.loss,
        "predicted_ms": predicted_ms,
        "params": count_params(spec, data.num_classes),
        "madds": count_madds(spec, data.resolution, data.num_classes),
        "seed": cfg.seed,
        "seconds": result.seconds,
    }
    save_trained(run, layout.FINAL_DIR, spec, model, metrics)
    return metrics


def _live_bench(cfg: Config, run: RunDir, num_classes: int, spec: ArchSpec, seed: ArchSpec) -> dict[str, Any]:
    """The trained final model exported to .tflite and timed as the calibration timed its whole models
    (`live_checker`: windows over `latency.live_span_s`, the median of the fastest), with the LiteRT
    interpreter or on the phone for `latency.backend: adb`; the seed arch is timed beside it, in the
    same windows, so that the live cut from the seed stands beside the table's whatever the machine's
    mode (a single sitting of a few seconds read 1.80 ms in one demo run where the same file read
    1.38 ms a minute later; this host's whole-model figures moved 25% between runs 10 minutes apart).
    The windows go on past the span, up to `latency.live_max_span_s`, while either figure from the
    first half of its windows and from the second differ by more than 5%: `settled` false says the
    machine moved more than a 5% check can resolve (`repeat`: that difference)."""
    model = load_trained(spec, run.path(layout.FINAL_WEIGHTS), num_classes)
    resolution = cfg.latency.resolution or cfg.data.resolution
    live = live_checker(cfg, num_classes)
    bench = live.measure_models({"final": tflite_bytes(model, arch_input_shape(resolution)),
                                 "seed": live.tflite(seed)}, cfg.latency.live_max_span_s)
    return {**bench.results["final"].to_dict(), "seed_median_ms": bench.results["seed"].median_ms,
            "threads": cfg.latency.threads, "resolution": resolution, "backend": cfg.latency.backend,
            "span_s": cfg.latency.live_span_s, "max_span_s": cfg.latency.live_max_span_s, "seconds": bench.seconds,
            "repeat": bench.repeat["final"], "seed_repeat": bench.repeat["seed"], "settled": bench.settled}


def steps_spent(cfg: Config, run: RunDir, data: DataBundle) -> dict[str, int]:
    """Optimizer steps behind a finished NetAdapt run's final model: the seed's training (from its
    metrics; a seed given with weights is counted at the `train` section's budget), every control and
    proposal fine-tune of every iteration, and the final phase. A baseline trained for `total` steps
    has had the final model's compute, not just the steps its own weights saw."""
    na = cfg.netadapt
    assert na is not None
    seed = run.read_json(layout.SEED_METRICS).get("steps") if run.has(layout.SEED_METRICS) else None
    if seed is None:
        seed = budget_steps(cfg.train, math.ceil(len(data.train) / cfg.train.batch_size), None, None)
    state = load_state(run.path(layout.NETADAPT_STATE_FILE))
    finetunes = sum(len(it.proposals) + 1 for it in state.iterations) * na.finetune_steps
    final = int(run.read_json(layout.FINAL_METRICS)["steps"])
    return {"seed": int(seed), "finetunes": finetunes, "final": final, "total": int(seed) + finetunes + final}
