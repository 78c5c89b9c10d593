"""The configured `LatencyModel` of a run: a lookup table (`table`, or `auto`, which creates
`<run>/latency_table.json` when no table is named and measures missing entries on first use), or
`live` benchmarks of each whole model; timed with the LiteRT interpreter here (`backend: litert`) or on
an Android phone over adb (`backend: adb`, see latency.adb_measure). Shared by search, NetAdapt and
the pipeline.

Every table a run uses is calibrated (`latency.calibrate`, default true): when the table has no
calibration at the run's resolution, one is fitted from whole-model live runs (on the phone for
`backend: adb`) of `calibration_set`, timed in the same round robin as their pieces and over at
least `latency.live_span_s` (`TableLatency.calibrate`; the final live check times its model alike,
`live_checker`), stored in the table with those archs (fidelity never evaluates on them) and used; a
table that has one reuses it. This happens when the model is made, before any of the run computes.
The set is where the run decides: the space's seed arch, the seed narrowed as NetAdapt's steps
narrow it, and the random archs of the space whose multiply-adds lie nearest the seed's. (Random
archs alone, 2-9x slower than the seed in mnv3-small-blocks at 224 px, left an affine fit 31% high
on the demo's final model: pieces sum to a smaller share of a small model than of a large one.)
V3-Small and V3-Large stay free for `hwnas latency validate`. `calibration_facts` is what
result.json records of it."""

from __future__ import annotations

import dataclasses
import math
import os
import time
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
from latency.predict import LatencyModel, LiveLatency, TableLatency
from latency.table import LatencyTable
from models.counting import count_madds
from models.spec import ArchSpec
from netadapt.proposals import narrowed

NARROWED = (0.75,)  # the seed narrowed by these factors (netadapt.proposals.narrowed)
NEAR_MADDS = (1.25, 1.0, 0.8)  # then, per factor, the random arch whose multiply-adds lie nearest factor x the seed's
CANDIDATES = 64  # random archs of the space drawn to choose those from


def calibration_set(space: str, seed: int, resolution: int, num_classes: int,
                    around: ArchSpec | None = None) -> list[ArchSpec]:
    """The archs a run calibrates its table on, where the run decides (see the module doc): `around`
    (the arch NetAdapt will shrink, when the run knows it; else the seed arch of `space`), it narrowed
    by each of NARROWED, and for each of NEAR_MADDS the random arch of the space (of CANDIDATES drawn
    with `seed`) whose multiply-adds at `resolution` lie nearest that factor times its own; each once."""
    resolved = resolve_space(space)
    seed_arch = around or resolved.decode(resolved.seed_choices())
    archs = [seed_arch, *(narrowed(seed_arch, f) for f in NARROWED)]
    rng = np.random.default_rng([seed, 12])
    drawn = list(dict.fromkeys(resolved.decode(resolved.sample(rng)) for _ in range(CANDIDATES)))
    madds = {a: math.log(count_madds(a, resolution, num_classes)) for a in drawn}
    base = math.log(count_madds(seed_arch, resolution, num_classes))
    for factor in NEAR_MADDS:
        free = [a for a in drawn if a not in archs]
        if free:
            archs.append(min(free, key=lambda a: abs(madds[a] - base - math.log(factor))))
    return list(dict.fromkeys(archs))


def calibration_facts(latency: LatencyModel) -> dict:
    """What result.json records: whether predictions are calibrated, on how many archs, and the fit."""
    calib = latency.calibration if isinstance(latency, TableLatency) else None
    return {"latency_calibrated": calib is not None, "calibration_archs": len(calib.archs) if calib else 0,
            "calibration_scale": calib.scale if calib else None,
            "calibration_offset_ms": calib.offset_ms if calib else None}


def configured_phone(lat: LatencyConfig) -> Phone | None:
    """The phone of `latency.backend: adb` (its binary pushed when `adb_benchmark_binary` is set), else None."""
    return Phone.connect(lat.adb_serial, lat.adb_benchmark_binary, lat.adb_cores) if lat.backend == "adb" else None


def bench_settings(lat: LatencyConfig, phone: Phone | None) -> BenchSettings:
    """How the run times pieces: the phone's protocol for `backend: adb`, else this host's."""
    return phone_settings(lat.threads, dtype=lat.dtype) if phone else BenchSettings(threads=lat.threads,
                                                                                    dtype=lat.dtype)


def quiet_cores(cfg: Config) -> int:
    """Processes a quiet batch converts with: every core of the run, since nothing else of it computes then."""
    return cfg.ray.num_cpus or os.cpu_count() or 1


def live_checker(cfg: Config, num_classes: int, convert_workers: int = 1, phone: Phone | None = None) -> LiveLatency:
    """Whole models timed as the run's calibration times them (on the phone for `backend: adb`,
    `phone` when already connected): at least `latency.runs` invokes a window, windows spread over
    `latency.live_span_s` seconds."""
    lat = cfg.latency
    phone = phone or configured_phone(lat)
    settings = dataclasses.replace(bench_settings(lat, phone), min_runs=lat.runs)
    return live_for(phone, lat.resolution or cfg.data.resolution, settings, num_classes, convert_workers,
                    lat.live_span_s)


def latency_model(cfg: Config, run: RunDir, num_classes: int, log: Callable[[str], None] = print,
                  around: ArchSpec | None = None) -> LatencyModel:
    """The configured LatencyModel (LiteRT here, or a phone over adb), a table one calibrated (see
    the module doc) around `around` when the run knows the arch it will shrink. Call it before the
    run computes."""
    lat = cfg.latency
    phone = configured_phone(lat)
    settings = bench_settings(lat, phone)
    resolution = lat.resolution or cfg.data.resolution
    if lat.source == "live":  # whole models: >= latency.runs invokes a window
        return live_for(phone, resolution, dataclasses.replace(settings, min_runs=lat.runs), num_classes)
    path = lat.table or run.path(layout.LATENCY_TABLE)
    if path.is_file():
        table = LatencyTable.load(path, device=fingerprint_for(phone, settings))
    else:
        table = LatencyTable.create(path, fingerprint_for(phone, settings), num_classes, settings.to_dict())
    if len(table):  # fill an existing table with entries timed as its others were
        settings = BenchSettings.of_table(table.metadata.get("bench", {}), settings.threads, settings.xnnpack)
    measurer = measurer_for(phone, settings, table.metadata["num_classes"]) if lat.lazy_fill else None
    cores = quiet_cores(cfg)
    model = TableLatency(table, resolution, measurer, calibrated=lat.calibrate, quiet_workers=cores)
    if not lat.calibrate:
        log(f"latency: table {path} used uncalibrated (latency.calibrate: false)")
    elif model.calibration is not None:
        log(f"latency: table {path} calibrated at {resolution} px on {len(model.calibration.archs)} archs (kept)")
    else:
        specs = calibration_set(cfg.space, cfg.seed, resolution, table.num_classes, around)
        centre = "seed arch" if around is None else "arch to shrink"
        log(f"latency: calibrating table {path} at {resolution} px on {len(specs)} whole-model live runs (the "
            f"{centre}, narrowed, and random archs near its multiply-adds)")
        start = time.perf_counter()
        calib = model.calibrate(specs, live_checker(cfg, table.num_classes, cores, phone))
        summed = [model.summed_ms(s) for s in specs]
        log(f"latency: ms = {calib.scale:.4f} * summed + {calib.offset_ms:.4f}; RMSPE {calib.rmspe_before:.1f}% -> "
            f"{calib.rmspe_after:.1f}% on {calib.samples} archs (summed {min(summed):.3f}-{max(summed):.3f} ms, "
            f"live {min(calib.measured_ms):.3f}-{max(calib.measured_ms):.3f} ms); "
            f"{time.perf_counter() - start:.0f} s, whole models timed in the same rounds as their pieces")
    return model
