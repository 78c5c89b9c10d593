"""The latency lookup table: one entry per piece key, with metadata and calibration, as JSON.

File format (``"format": "hwnas-latency-table"``, ``"version": 2``)::

    {"format": ..., "version": 2,
     "metadata": {"fingerprint": {cpu, isa, caches, cores, machine, runtime, converter, threads, xnnpack,
                                  dtype, ...},
                  "num_classes": 10, "resolutions": [224, 32], "bench": {threads, xnnpack, warmup_s, ...},
                  "floor_ms": 0.0018, "batches": [{id, time, load, keys, floor_ms, canary_key, canary_ms}],
                  "created": ISO date, "updated": ISO date},
     "calibration": {"224": {scale, offset_ms, samples, rmspe_before, rmspe_after, archs}, ...},
     "entries": {"b|112|16|ir_k3_m16_c16_s2_se_re": {median_ms, windows_ms, floor_ms, runs, load}, ...}}

Writes are atomic (`models.atomic`) and merge: `save` takes an exclusive lock on ``<table>.lock``,
re-reads the file, keeps every entry, calibration and batch another process saved meanwhile, adds
this process's changes, and writes the union; so two processes filling one table lose nothing.
A table measured on another device or setting is refused on load and never written into.
The table's invoke floor (`floor_ms`, added once to every summed prediction) is the first timing
batch's and never changes after, so filling new entries never moves an earlier prediction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from latency.entry import Entry
from latency.errors import LatencyError
from latency.fingerprint import mismatches
from latency.stats import BenchResult
from models import atomic

FORMAT = "hwnas-latency-table"
VERSION = 2
BUILD_HINT = "hwnas latency build"


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``<path>.lock`` (created beside the table) for the body."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class LatencyTable:
    """Entries (key -> `Entry`), metadata and per-resolution calibration of one device and setting."""

    def __init__(self, path: str | Path, metadata: dict, entries: dict[str, Entry] | None = None,
                 calibration: dict[str, dict] | None = None) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.metadata.setdefault("resolutions", [])
        self.metadata.setdefault("batches", [])
        self.entries: dict[str, Entry] = dict(entries or {})
        self.calibration: dict[str, dict] = dict(calibration or {})
        self._saved_entries = dict(self.entries)
        self._saved_calibration = dict(self.calibration)

    @classmethod
    def create(cls, path: str | Path, fingerprint: dict, num_classes: int, bench: dict) -> LatencyTable:
        stamp = now_iso()
        meta = {"fingerprint": fingerprint, "num_classes": num_classes, "resolutions": [], "bench": bench,
                "floor_ms": 0.0, "batches": [], "created": stamp, "updated": stamp}
        table = cls(path, meta)
        table._saved_entries, table._saved_calibration = {}, {}
        return table

    @property
    def num_classes(self) -> int:
        return int(self.metadata["num_classes"])

    @property
    def fingerprint(self) -> dict:
        return self.metadata["fingerprint"]

    @classmethod
    def load(cls, path: str | Path, device: dict | None = None) -> LatencyTable:
        """Read and validate a table; with `device`, refuse a table measured on another device or setting."""
        path = Path(path)
        if not path.is_file():
            raise LatencyError(f"latency table {str(path)!r} does not exist; build one with "
                               f"'{BUILD_HINT} --space mnv3-small --classes N --out {path}'")
        table = cls._read(path)
        if device is not None:
            table.check_device(device)
        return table

    def check_device(self, device: dict) -> None:
        diff = mismatches(self.fingerprint, device)
        if diff:
            raise LatencyError(
                f"latency table {str(self.path)!r} was measured on another device or setting ({'; '.join(diff)}); "
                f"it is never used or written into here: build a table for this device and setting with "
                f"'{BUILD_HINT} --out NEW_TABLE.json' (with the run's --classes, --resolution, --threads, --dtype)")

    @classmethod
    def _read(cls, path: Path) -> LatencyTable:
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise LatencyError(f"latency table {str(path)!r} is corrupt or truncated ({err}); rebuild it with "
                               f"'{BUILD_HINT}' (a build resumes from the last good file)") from err
        return cls._from_json(path, data)

    @classmethod
    def _from_json(cls, path: Path, data: object) -> LatencyTable:
        where = f"latency table {str(path)!r}"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LatencyError(f"{where} is not an hwnas latency table (no \"format\": \"{FORMAT}\"); "
                               f"pass a file written by '{BUILD_HINT}'")
        if data.get("version") != VERSION:
            raise LatencyError(f"{where} has version {data.get('version')!r}, this hwnas reads version {VERSION} "
                               f"(head keys now carry the class count, entries their windows); rebuild it with "
                               f"'{BUILD_HINT}' into a new file")
        meta, entries, calib = data.get("metadata"), data.get("entries"), data.get("calibration", {})
        if not isinstance(meta, dict) or not isinstance(meta.get("fingerprint"), dict) \
                or not isinstance(meta.get("num_classes"), int) or not isinstance(entries, dict) \
                or not isinstance(calib, dict):
            raise LatencyError(f"{where} lacks metadata.fingerprint, metadata.num_classes, entries or calibration; "
                               f"it is damaged: rebuild it with '{BUILD_HINT}'")
        parsed = {}
        for key, entry in entries.items():
            try:
                parsed[key] = Entry.from_dict(entry)
            except (KeyError, TypeError, ValueError) as err:
                raise LatencyError(f"{where}: entry {key!r} is malformed ({err}); delete the entry and rerun "
                                   f"'{BUILD_HINT}' to re-measure it") from err
        return cls(path, meta, parsed, calib)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "metadata": self.metadata, "calibration": self.calibration,
                "entries": {k: v.to_dict() for k, v in sorted(self.entries.items())}}

    def save(self) -> None:
        """Merge this process's changes into the file under its lock, then write atomically."""
        with locked(self.path):
            if self.path.is_file():
                self._merge(self._read(self.path))
            self.metadata["updated"] = now_iso()
            atomic.write_text(self.path, json.dumps(self.to_json(), indent=1, sort_keys=True))
        self._saved_entries, self._saved_calibration = dict(self.entries), dict(self.calibration)

    def _merge(self, disk: LatencyTable) -> None:
        diff = mismatches(disk.fingerprint, self.fingerprint)
        if diff or disk.num_classes != self.num_classes:
            raise LatencyError(f"latency table {str(self.path)!r} on disk was measured on another device or setting "
                               f"({'; '.join(diff) or f'classes: {disk.num_classes} vs {self.num_classes}'}); "
                               f"not writing into it: save to another file ('{BUILD_HINT} --out NEW_TABLE.json')")
        ours = {k: v for k, v in self.entries.items() if self._saved_entries.get(k) != v}
        self.entries = {**disk.entries, **ours}
        ours_cal = {r: c for r, c in self.calibration.items() if self._saved_calibration.get(r) != c}
        self.calibration = {**disk.calibration, **ours_cal}
        meta = self.metadata
        meta["resolutions"] = sorted({*disk.metadata.get("resolutions", []), *meta["resolutions"]})
        seen = {b.get("id") for b in meta["batches"]}
        theirs = [b for b in disk.metadata.get("batches", []) if b.get("id") not in seen]
        meta["batches"] = sorted(meta["batches"] + theirs, key=lambda b: str(b.get("time")))
        meta["created"] = disk.metadata.get("created", meta.get("created"))
        if disk.metadata.get("floor_ms"):  # the first saved floor stays the table's (see build._time_chunks)
            meta["floor_ms"] = disk.metadata["floor_ms"]

    def put(self, key: str, result: Entry | BenchResult, resolution: int | None = None) -> None:
        self.entries[key] = result if isinstance(result, Entry) else Entry.from_result(result)
        if resolution is not None:
            self.add_resolution(resolution)

    def add_resolution(self, resolution: int) -> None:
        if resolution not in self.metadata["resolutions"]:
            self.metadata["resolutions"] = sorted({*self.metadata["resolutions"], resolution})

    def missing(self, keys: Iterable[str]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in self.entries]

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)
