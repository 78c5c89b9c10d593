"""The latency lookup table: one entry per piece key, with metadata and calibration, as JSON.

File format (``"format": "hwnas-latency-table"``, ``"version": 1``)::

    {"format": ..., "version": 1,
     "metadata": {"fingerprint": {cpu, cores, machine, runtime, threads, xnnpack, dtype},
                  "num_classes": 1000, "resolutions": [224, 32], "bench": {warmup_s, min_runs, min_time_s},
                  "created": ISO date, "updated": ISO date},
     "calibration": {"224": {...}, "32": {...}},          # per resolution, see calibration.py
     "entries": {"b|112|16|ir_k3_m16_c16_s2_se_re": {median_ms, mean_ms, p10_ms, p90_ms, stdev_ms, runs}}}

Every write is atomic (`models.atomic`: a temporary file in the same folder, fsync, `os.replace`),
so an interrupted write leaves the previous table intact.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields
from pathlib import Path

from latency.errors import LatencyError
from latency.fingerprint import mismatches
from latency.stats import BenchResult
from models import atomic

FORMAT = "hwnas-latency-table"
VERSION = 1
_RESULT_FIELDS = tuple(f.name for f in fields(BenchResult))


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class LatencyTable:
    """Entries (key -> `BenchResult`), metadata and per-resolution calibration of one device."""

    def __init__(self, path: str | Path, metadata: dict, entries: dict[str, BenchResult] | None = None,
                 calibration: dict[str, dict] | None = None) -> None:
        self.path = Path(path)
        self.metadata = metadata
        self.entries: dict[str, BenchResult] = dict(entries or {})
        self.calibration: dict[str, dict] = dict(calibration or {})

    @classmethod
    def create(cls, path: str | Path, fingerprint: dict, num_classes: int, bench: dict) -> LatencyTable:
        stamp = now_iso()
        meta = {"fingerprint": fingerprint, "num_classes": num_classes, "resolutions": [], "bench": bench,
                "created": stamp, "updated": stamp}
        return cls(path, meta)

    @classmethod
    def load(cls, path: str | Path, device: dict | None = None, allow_foreign: bool = False) -> LatencyTable:
        """Read and validate a table; with `device`, refuse a table measured on another device
        unless `allow_foreign`."""
        path = Path(path)
        if not path.is_file():
            raise LatencyError(f"latency table {str(path)!r} does not exist; build one with "
                               f"'hwnas latency build --space mnv3-small --out {path}'")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise LatencyError(f"latency table {str(path)!r} is corrupt or truncated ({err}); rebuild it with "
                               f"'hwnas latency build' (a build resumes from the last good file)") from err
        table = cls._from_json(path, data)
        if device is not None and not allow_foreign:
            diff = mismatches(table.metadata["fingerprint"], device)
            if diff:
                raise LatencyError(
                    f"latency table {str(path)!r} was measured on another device or setting ({'; '.join(diff)}); "
                    f"build a table here with 'hwnas latency build', or pass --allow-foreign-table "
                    f"(allow_foreign=True) to use it anyway")
        return table

    @classmethod
    def _from_json(cls, path: Path, data: object) -> LatencyTable:
        where = f"latency table {str(path)!r}"
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LatencyError(f"{where} is not an hwnas latency table (no \"format\": \"{FORMAT}\"); "
                               f"pass a file written by 'hwnas latency build'")
        if data.get("version") != VERSION:
            raise LatencyError(f"{where} has version {data.get('version')!r}, this hwnas reads version {VERSION}; "
                               f"rebuild it with 'hwnas latency build'")
        meta, entries, calib = data.get("metadata"), data.get("entries"), data.get("calibration", {})
        if not isinstance(meta, dict) or not isinstance(meta.get("fingerprint"), dict) \
                or not isinstance(entries, dict) or not isinstance(calib, dict):
            raise LatencyError(f"{where} lacks metadata.fingerprint, entries or calibration objects; it is "
                               f"damaged: rebuild it with 'hwnas latency build'")
        parsed = {}
        for key, entry in entries.items():
            if not isinstance(entry, dict) or any(not isinstance(entry.get(f), (int, float)) for f in _RESULT_FIELDS):
                raise LatencyError(f"{where}: entry {key!r} needs numeric {', '.join(_RESULT_FIELDS)}; "
                                   f"delete the entry and rerun 'hwnas latency build' to re-measure it")
            parsed[key] = BenchResult(**{f: entry[f] for f in _RESULT_FIELDS})
        return cls(path, meta, parsed, calib)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "metadata": self.metadata, "calibration": self.calibration,
                "entries": {k: v.to_dict() for k, v in sorted(self.entries.items())}}

    def save(self) -> None:
        self.metadata["updated"] = now_iso()
        atomic.write_text(self.path, json.dumps(self.to_json(), indent=1, sort_keys=True))

    def put(self, key: str, result: BenchResult, resolution: int | None = None) -> None:
        self.entries[key] = result
        if resolution is not None and resolution not in self.metadata["resolutions"]:
            self.metadata["resolutions"] = sorted({*self.metadata["resolutions"], resolution})

    def missing(self, keys) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in self.entries]

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)
