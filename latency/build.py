"""`build_table`: measure every missing key of a set of pieces into a table, resumably.

Two phases, so that no timing shares the machine with our own conversions:
1. conversions (one template per block structure, one conversion per stem/head) run in a pool
   of `workers` processes; they are CPU-heavy and their order does not matter;
2. every missing key is then rewritten from its template (milliseconds) and timed serially in
   this process, optionally pinned to one core, while no worker runs.
The table is saved atomically every `save_every` entries, so an interrupted build keeps its
finished entries and a rerun measures only what is missing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm

from latency.keys import piece_key
from latency.measure import PieceMeasurer, convert_job
from latency.pieces import Piece
from latency.table import LatencyTable


@dataclass(frozen=True)
class BuildReport:
    measured: int
    skipped: int
    conversions: int
    convert_s: float
    bench_s: float

    @property
    def seconds_per_entry(self) -> float:
        return (self.convert_s + self.bench_s) / max(self.measured, 1)


@contextmanager
def pinned(core: int | None):
    """Run the body with this process pinned to `core` (no pinning when None)."""
    if core is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def build_table(table: LatencyTable, pieces: Iterable[tuple[int, Piece]], measurer: PieceMeasurer,
                workers: int = 2, save_every: int = 20, pin_core: int | None = None,
                progress: bool = True) -> BuildReport:
    """Measure the (resolution, piece) pairs whose keys `table` lacks; returns counts and times."""
    todo: dict[str, tuple[int, Piece]] = {}
    skipped = 0
    for resolution, piece in pieces:
        key = piece_key(piece)
        if key in table:
            skipped += 1
        else:
            todo.setdefault(key, (resolution, piece))
    jobs = measurer.pending_jobs([p for _, p in todo.values()])
    start = time.perf_counter()
    if jobs:
        _convert_all(jobs, measurer, workers, progress)
    convert_s = time.perf_counter() - start
    start = time.perf_counter()
    done = 0
    with pinned(pin_core):
        for key, (resolution, piece) in tqdm(todo.items(), desc="timing", unit="key", disable=not progress):
            table.put(key, measurer.measure(piece), resolution)
            done += 1
            if done % save_every == 0:
                table.save()
    table.metadata["bench"] = measurer.settings.to_dict()
    table.save()
    return BuildReport(done, skipped, len(jobs), convert_s, time.perf_counter() - start)


def _convert_all(jobs: list, measurer: PieceMeasurer, workers: int, progress: bool) -> None:
    bar = tqdm(total=len(jobs), desc="converting", unit="graph", disable=not progress)
    if workers <= 1:
        for job in jobs:
            measurer.add_conversion(job, convert_job(job, measurer.num_classes))
            bar.update()
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = [(job, pool.apply_async(convert_job, (job, measurer.num_classes))) for job in jobs]
            for job, result in results:
                measurer.add_conversion(job, result.get())
                bar.update()
    bar.close()
