"""The configured `LatencyModel` of a run: a lookup table (`table`, or `auto`, which creates
`<run>/latency_table.json` when no table is named and measures missing entries on first use), or
`live` benchmarks of each whole model; timed with the LiteRT interpreter here (`backend: litert`) or on
an Android phone over adb (`backend: adb`, see latency.adb_measure). Shared by search, NetAdapt and
the pipeline."""

from __future__ import annotations

import dataclasses

from experiments.config.schema import Config, LatencyConfig
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


def configured_phone(lat: LatencyConfig) -> Phone | None:
    """The phone of `latency.backend: adb` (its binary pushed when `adb_benchmark_binary` is set), else None."""
    return Phone.connect(lat.adb_serial, lat.adb_benchmark_binary, lat.adb_cores) if lat.backend == "adb" else None


def latency_model(cfg: Config, source: str, run: RunDir, num_classes: int) -> LatencyModel:
    """The configured LatencyModel (LiteRT here, or a phone over adb); `source` names the config
    file in errors."""
    lat = cfg.latency
    phone = configured_phone(lat)
    settings = phone_settings(lat.threads, dtype=lat.dtype) if phone else BenchSettings(threads=lat.threads,
                                                                                         dtype=lat.dtype)
    resolution = lat.resolution or cfg.data.resolution
    if lat.source == "live":  # whole models: at least latency.runs invokes per window
        return live_for(phone, resolution, dataclasses.replace(settings, min_runs=lat.runs), num_classes)
    path = lat.table or run.path(layout.LATENCY_TABLE)
    if path.is_file():
        table = LatencyTable.load(path, device=fingerprint_for(phone, settings))
    else:
        table = LatencyTable.create(path, fingerprint_for(phone, settings), num_classes, settings.to_dict())
    if len(table):  # fill an existing table with entries timed as its others were
        settings = BenchSettings.of_table(table.metadata.get("bench", {}), settings.threads, settings.xnnpack)
    measurer = measurer_for(phone, settings, table.metadata["num_classes"]) if lat.lazy_fill else None
    return TableLatency(table, resolution, measurer)
