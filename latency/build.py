"""Filling a table: `fill_table` measures every missing key of a batch at once, quietly and
resumably; `build_table` fills the keys of (resolution, piece) pairs (a space's layer variants).

Two phases, so that no timing shares the machine with our own conversions:
1. conversions (one template per block structure, one conversion per stem / head / int8 piece)
   run in a pool of `workers` processes; they are CPU-heavy and their order does not matter;
2. the missing keys are then timed in this process, optionally pinned to one core, while no
   worker runs, in chunks of `chunk` keys: each chunk round robin in windows with the invoke floor
   and the drift canary (`latency.windows`), saved (merged, `latency.table`) after each chunk. A chunk
   whose canary figure (the median of its fastest windows, as an entry's) is more than 10% off the
   median of the table's earlier batches' (`canary_shift`) is flagged `drifted` in the batch's metadata,
   with a warning. It is not retimed, nor are its entries scaled by the canary: measured here (30 keys,
   8 batches of ~35 s, alone), a key's figure moves 9.9% between batches (median; p90 28%), the canary
   tracks the keys' batch median only loosely (correlation 0.74), and dividing by it left the keys'
   spread as it was (9.2%); a retime cost a third of a demo table's fill and left 3 of 3 batches flagged.
Timers `alongside` (a calibration's whole models, `TableLatency.calibrate`) join every chunk's round
robin (each chunk's rounds then lasting at least `span_s`), so that their windows span the same
minutes as the pieces'; their windows come back in the report. The caller keeps the rest of the run
quiet meanwhile (a search prices children between trials, NetAdapt prices an iteration's proposals
before its fine-tunes start).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from latency.entry import Entry
from latency.errors import LatencyError
from latency.keys import parse_key, piece_key
from latency.measure import PieceMeasurer, convert_job
from latency.pieces import Piece
from latency.table import LatencyTable, now_iso
from latency.windows import Timer, WindowPolicy, quiet_median, round_robin

DRIFT_LIMIT = 0.10  # a batch whose canary figure is further off the earlier batches' median is flagged

CANARY_KEY = "b|14|48|ir_k5_m144_c48_s1_se_hs_res"  # a V3-Small block at 224 px: a fixed reference


@dataclass(frozen=True)
class BuildReport:
    measured: int
    skipped: int
    conversions: int
    convert_s: float
    bench_s: float
    windows: int = 0
    canary_drift: float = 0.0
    alongside: dict[str, tuple[list[float], int]] = field(default_factory=dict)  # name -> (windows, invokes)

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


def fill_table(table: LatencyTable, keys: Iterable[str], measurer: PieceMeasurer, workers: int = 1,
               chunk: int = 48, pin_core: int | None = None, progress: bool = False,
               resolutions: Iterable[int] = (), alongside: dict[str, Timer] | None = None,
               span_s: float = 0.0) -> BuildReport:
    """Measure every key of `keys` that `table` lacks, all at once, with `alongside` timed in the same
    rounds when any key is missing, each chunk's rounds lasting at least `span_s` (see the module
    docstring)."""
    keys = list(dict.fromkeys(keys))
    missing = table.missing(keys)
    pieces = {k: parse_key(k) for k in missing}
    for key, piece in pieces.items():
        if piece.kind == "h" and piece.classes != table.num_classes:
            raise LatencyError(f"key {key!r} has {piece.classes} classes, table {str(table.path)!r} holds "
                               f"{table.num_classes}-class heads; use a table built with --classes {piece.classes}")
    jobs = measurer.pending_jobs([*pieces.values(), parse_key(CANARY_KEY)]) if pieces else []
    start = time.perf_counter()
    if jobs:
        _convert_all(jobs, measurer, workers, progress)
    convert_s = time.perf_counter() - start
    start = time.perf_counter()
    table.metadata["bench"] = measurer.settings.to_dict()
    joined: dict[str, tuple[list[float], int]] = {name: ([], 0) for name in alongside or {}}
    policy = replace(measurer.settings.policy, min_seconds=span_s)
    windows, drift = _time_chunks(table, pieces, measurer, policy, chunk, pin_core, progress, alongside or {},
                                  joined) if pieces else (0, 0.0)
    for r in resolutions:  # recorded once all their keys are in
        table.add_resolution(r)
    table.save()
    return BuildReport(len(missing), len(keys) - len(missing), len(jobs), convert_s, time.perf_counter() - start,
                       windows, drift, joined if pieces else {})


def _time_chunks(table: LatencyTable, pieces: dict[str, Piece], measurer: PieceMeasurer, policy: WindowPolicy,
                 chunk: int, pin_core: int | None, progress: bool, alongside: dict[str, Timer],
                 joined: dict[str, tuple[list[float], int]]) -> tuple[int, float]:
    """Time `pieces` chunk by chunk, round robin with the floor, the canary and `alongside` (whose
    windows and invokes accumulate in `joined`), saving after each chunk; returns the number of
    windows and the largest canary drift of a chunk."""
    missing = list(pieces)
    windows, drift = 0, 0.0
    with pinned(pin_core):
        floor, canary = measurer.floor_timer(), measurer.timer(measurer.tflite(parse_key(CANARY_KEY)))
        bar = tqdm(total=len(missing), desc="timing", unit="key", disable=not progress)
        for i in range(0, len(missing), chunk):
            part = missing[i:i + chunk]
            timers = {k: measurer.timer(measurer.tflite(pieces[k])) for k in part}
            batch = round_robin({**timers, **alongside}, policy, floor=floor, canary=canary)
            for name in alongside:
                joined[name] = (joined[name][0] + batch.windows[name], joined[name][1] + batch.runs[name])
            shift = canary_shift(table, batch.canary_ms, measurer.settings.windows)
            if abs(shift) > DRIFT_LIMIT:
                print(f"warning: latency table {table.path}: the drift canary of a batch of {len(part)} keys is "
                      f"{shift:+.0%} off the table's earlier batches; the batch is flagged 'drifted' in the table's "
                      f"metadata (time it again on a quiet machine)", file=sys.stderr)
            for key in part:
                table.put(key, Entry.from_windows(batch.windows[key], batch.floor, batch.runs[key],
                                                  measurer.settings.windows))
                windows += len(batch.windows[key])
            drift = max(drift, batch.canary_drift)
            if not table.metadata.get("floor_ms"):  # set once: a later batch never moves earlier predictions
                table.metadata["floor_ms"] = batch.floor
            table.metadata["batches"].append(
                {"id": uuid.uuid4().hex[:12], "time": now_iso(), "load": os.getloadavg()[0], "keys": len(part),
                 "rounds": batch.rounds, "seconds": batch.seconds, "floor_ms": batch.floor_ms,
                 "canary_key": CANARY_KEY, "canary_ms": batch.canary_ms, "canary_shift": shift,
                 "drifted": abs(shift) > DRIFT_LIMIT})
            table.save()
            bar.update(len(part))
        bar.close()
    return windows, drift


def canary_shift(table: LatencyTable, canary_ms: list[float], count: int) -> float:
    """How far a batch's canary figure is from the median of the table's earlier batches' canary
    figures (0 for the first batch). A figure is the median of the `count` fastest windows, as an
    entry's (`quiet_median`): the median of all windows swings with the share of windows that fell
    into a slow mode (seen in one demo table: all-window medians 0.121-0.166 ms, which retimed 4 of 12
    batches, where the fastest three's were 0.120-0.125 ms). The earlier batches' median, not the
    first batch alone: a first batch timed in a slow mode would otherwise flag every later one."""
    earlier = [quiet_median(b["canary_ms"], count) for b in table.metadata["batches"] if b.get("canary_ms")]
    if not earlier or not canary_ms:
        return 0.0
    return float(quiet_median(canary_ms, count) / np.median(earlier) - 1)


def build_table(table: LatencyTable, pieces: Iterable[tuple[int, Piece]], measurer: PieceMeasurer,
                workers: int = 2, chunk: int = 48, pin_core: int | None = None,
                progress: bool = True) -> BuildReport:
    """Measure the (resolution, piece) pairs whose keys `table` lacks; returns counts and times."""
    pairs = list(pieces)
    return fill_table(table, [piece_key(p) for _, p in pairs], measurer, workers, chunk, pin_core, progress,
                      resolutions=sorted({r for r, _ in pairs}))


def _convert_all(jobs: list, measurer: PieceMeasurer, workers: int, progress: bool) -> None:
    bar = tqdm(total=len(jobs), desc="converting", unit="graph", disable=not progress)
    dtype = measurer.settings.dtype
    if workers <= 1:
        for job in jobs:
            measurer.add_conversion(job, convert_job(job, dtype))
            bar.update()
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = [(job, pool.apply_async(convert_job, (job, dtype))) for job in jobs]
            for job, result in results:
                measurer.add_conversion(job, result.get())
                bar.update()
    bar.close()
