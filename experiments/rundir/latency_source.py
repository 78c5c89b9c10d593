"""The configured `LatencyModel` of a run: a lookup table (`table`, or `auto`, which creates
`<run>/latency_table.json` when no table is named and measures missing entries on first use), or
`live` benchmarks of each whole model; timed with the LiteRT interpreter here (`backend: litert`) or on
an Android phone over adb (`backend: adb`, see latency.adb_measure). Shared by search, NetAdapt and
the pipeline.

Every table a run uses is calibrated (`latency.calibrate`, default true): when the table has no
calibration at the run's resolution, one is fitted from whole-model live runs (timed together, on
the phone for `backend: adb`) of `calibration_set` (the space's seed arch and a few random archs of
it: the range the run predicts; V3-Small and V3-Large stay free for `hwnas latency validate`), stored in the table with those archs (fidelity never evaluates on them) and used; a
table that has one reuses it. This happens when the model is made, before any of the run computes.
`calibration_facts` is what result.json records of it."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

import numpy as np

from experiments.config.schema import Config, LatencyConfig
from experiments.config.spaces import resolve_space
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from latency.adb_measure import (
    Phone,
    fingerprint_for,
    live_for,
    measurer_for,
    phone_settings,
)
from latency.measure import BenchSettings
from latency.predict import LatencyModel, TableLatency
from latency.table import LatencyTable
from models.spec import ArchSpec

CALIBRATION_RANDOM = 4  # random archs of the run's space beside its seed arch


def calibration_set(space: str, seed: int, count: int = CALIBRATION_RANDOM) -> list[ArchSpec]:
    """The archs a run calibrates its table on: the seed arch of `space`, then `count` random archs of it."""
    rng = np.random.default_rng([seed, 12])
    resolved = resolve_space(space)
    archs = [resolved.decode(resolved.seed_choices())] + [resolved.decode(resolved.sample(rng)) for _ in range(count)]
    return list(dict.fromkeys(archs))


def calibration_facts(latency: LatencyModel) -> dict:
    """What result.json records: whether predictions are calibrated, and on how many archs."""
    calib = latency.calibration if isinstance(latency, TableLatency) else None
    return {"latency_calibrated": calib is not None, "calibration_archs": len(calib.archs) if calib else 0}


def configured_phone(lat: LatencyConfig) -> Phone | None:
    """The phone of `latency.backend: adb` (its binary pushed when `adb_benchmark_binary` is set), else None."""
    return Phone.connect(lat.adb_serial, lat.adb_benchmark_binary, lat.adb_cores) if lat.backend == "adb" else None


def latency_model(cfg: Config, run: RunDir, num_classes: int,
                  log: Callable[[str], None] = print) -> LatencyModel:
    """The configured LatencyModel (LiteRT here, or a phone over adb), a table one calibrated (see
    the module doc). Call it before the run computes."""
    lat = cfg.latency
    phone = configured_phone(lat)
    settings = phone_settings(lat.threads, dtype=lat.dtype) if phone else BenchSettings(threads=lat.threads,
                                                                                         dtype=lat.dtype)
    resolution = lat.resolution or cfg.data.resolution
    live_settings = dataclasses.replace(settings, min_runs=lat.runs)  # whole models: >= latency.runs invokes
    if lat.source == "live":
        return live_for(phone, resolution, live_settings, num_classes)
    path = lat.table or run.path(layout.LATENCY_TABLE)
    if path.is_file():
        table = LatencyTable.load(path, device=fingerprint_for(phone, settings))
    else:
        table = LatencyTable.create(path, fingerprint_for(phone, settings), num_classes, settings.to_dict())
    if len(table):  # fill an existing table with entries timed as its others were
        settings = BenchSettings.of_table(table.metadata.get("bench", {}), settings.threads, settings.xnnpack)
    measurer = measurer_for(phone, settings, table.metadata["num_classes"]) if lat.lazy_fill else None
    cores = cfg.ray.num_cpus or os.cpu_count() or 1  # a quiet batch runs while nothing else of the run does
    model = TableLatency(table, resolution, measurer, calibrated=lat.calibrate, quiet_workers=cores)
    if not lat.calibrate:
        log(f"latency: table {path} used uncalibrated (latency.calibrate: false)")
    elif model.calibration is not None:
        log(f"latency: table {path} calibrated at {resolution} px on {len(model.calibration.archs)} archs (kept)")
    else:
        specs = calibration_set(cfg.space, cfg.seed)
        log(f"latency: calibrating table {path} at {resolution} px on {len(specs)} whole-model live runs")
        model.time_quietly(specs)
        calib = model.calibrate(specs, live_for(phone, resolution, live_settings, table.num_classes, cores))
        log(f"latency: ms = {calib.scale:.4f} * summed + {calib.offset_ms:.4f}; RMSPE {calib.rmspe_before:.1f}% -> "
            f"{calib.rmspe_after:.1f}% on {calib.samples} archs")
    return model
