"""The configured `LatencyModel` of a run: a lookup table (`table`, or `auto`, which creates
`<run>/latency_table.json` when no table is named and measures missing entries on first use), or
`live` benchmarks of each whole model. Shared by search, NetAdapt and the pipeline."""

from __future__ import annotations

from experiments.config import Config
from experiments.errors import ConfigError
from experiments.rundir import RunDir
from latency.measure import BenchSettings, PieceMeasurer
from latency.predict import LatencyModel, LiveLatency, TableLatency
from latency.table import LatencyTable

DEFAULT_TABLE = "latency_table.json"


def latency_model(cfg: Config, source: str, run: RunDir, num_classes: int) -> LatencyModel:
    """The configured LatencyModel (LiteRT backend); `source` names the config file in errors."""
    lat = cfg.latency
    if lat.backend != "litert":
        raise ConfigError(source, [f"latency.backend: {lat.backend!r} is not supported by hwnas search yet; "
                                   f"use litert"])
    settings = BenchSettings(threads=lat.threads, min_runs=lat.runs)
    resolution = lat.resolution or cfg.data.resolution
    if lat.source == "live":
        return LiveLatency(resolution, settings, num_classes)
    path = lat.table or run.path(DEFAULT_TABLE)
    if path.is_file():
        table = LatencyTable.load(path, device=settings.fingerprint())
    else:
        table = LatencyTable.create(path, settings.fingerprint(), num_classes, settings.to_dict())
    measurer = PieceMeasurer(settings, table.metadata["num_classes"]) if lat.lazy_fill else None
    return TableLatency(table, resolution, measurer)
