"""Preflight checks beyond the schema, run by `hwnas validate` (and before any run starts): the data
can be read, and a given latency table is compatible with the config.

`LATENCY_TABLE_CHECKS` is the seam for the latency room: each entry is a function
`(table_path, latency_config) -> list[str]` returning problems (empty when compatible). The check
shipped here loads the table with `latency.table.LatencyTable` and compares its fingerprint
(threads, runtime) and measured resolutions with the config; a stricter check (e.g. the device
fingerprint) can be appended.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from experiments.config.errors import ConfigError, DataError
from experiments.config.schema import Config, LatencyConfig
from experiments.data import DataBundle, load_data
from latency.errors import LatencyError
from latency.metadata import RunSetting, table_problems
from latency.table import LatencyTable

TableCheck = Callable[[Path, LatencyConfig], list[str]]


RUNTIME_PREFIX = {"litert": "ai-edge-litert", "adb": "benchmark_model"}


def table_metadata_check(path: Path, cfg: LatencyConfig) -> list[str]:
    """The table parses (`latency.table.LatencyTable`), and its fingerprint's threads and runtime and
    its measured resolutions agree with the config (a missing resolution is fine with lazy_fill)."""
    try:
        table = LatencyTable.load(path)
    except LatencyError as err:
        return [f"latency.table: {err}"]
    fingerprint = table.metadata["fingerprint"]
    problems = []
    if fingerprint.get("threads") != cfg.threads:
        problems.append(f"latency.threads: got {cfg.threads}; the table {path} was measured with "
                        f"{fingerprint.get('threads')} thread(s): set latency.threads to match or use another table")
    prefix = RUNTIME_PREFIX.get(cfg.backend)
    runtime = str(fingerprint.get("runtime", ""))
    if prefix is not None and not runtime.startswith(prefix):
        problems.append(f"latency.backend: got {cfg.backend!r}; the table {path} was measured with {runtime!r}")
    resolutions = table.metadata.get("resolutions", [])
    if cfg.resolution not in resolutions and not cfg.lazy_fill:
        problems.append(f"latency.resolution: got {cfg.resolution}; the table {path} holds resolutions "
                        f"{resolutions} and lazy_fill is off: set latency.lazy_fill=true to measure the rest")
    return problems


LATENCY_TABLE_CHECKS: list[TableCheck] = [table_metadata_check]


def preflight(cfg: Config, source: str) -> DataBundle:
    """Load the data and check the latency table; every problem is raised together as a ConfigError.

    Returns the loaded data so a command that goes on to train need not read it twice.
    """
    problems: list[str] = []
    bundle: DataBundle | None = None
    recipes = {"train": cfg.train, "search.child_training": cfg.search.child_training if cfg.search else None}
    for where, recipe in recipes.items():
        if recipe is not None and recipe.device == "cuda" and not torch.cuda.is_available():
            problems.append(f"{where}.device: got 'cuda'; no CUDA device is visible here: use 'auto' or 'cpu'")
    try:
        bundle = load_data(cfg.data, cfg.seed)
    except DataError as err:
        problems.append(f"data.path: {err}")
    table = cfg.latency.table
    if table is not None and table.is_file():
        for check in LATENCY_TABLE_CHECKS:
            problems += check(table, cfg.latency)
    elif table is not None and cfg.latency.source == "table" and not cfg.latency.lazy_fill:
        problems.append(f"latency.table: got {str(table)!r}; it does not exist and lazy_fill is off: build the "
                        f"table first or set latency.lazy_fill=true")
    if bundle is not None and table is not None and table.is_file():
        problems += table_fit_problems(table, cfg, bundle.num_classes)
    if problems or bundle is None:
        raise ConfigError(source, problems)
    return bundle


def table_fit_problems(path: Path, cfg: Config, num_classes: int) -> list[str]:
    """What the table's metadata says it cannot time for this run beyond `table_metadata_check`: another
    number of classes (the head's latency depends on it) or another dtype; names the command that
    builds the right table."""
    try:
        table = LatencyTable.load(path)
    except LatencyError:
        return []  # already reported by table_metadata_check
    lat = cfg.latency
    run = RunSetting(num_classes=num_classes, resolution=lat.resolution or cfg.data.resolution, threads=lat.threads,
                     dtype=lat.dtype, backend=lat.backend)
    wrong = [p for p in table_problems(table, run, lazy_fill=lat.lazy_fill) if p.startswith(("classes", "dtype"))]
    if not wrong:
        return []
    return [f"latency.table: {path} does not fit this run ({'; '.join(wrong)}); build one that does with "
            f"'{run.build_command(str(path.with_name(path.stem + '-fit.json')), cfg.space)}'"]
