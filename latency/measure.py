"""Measuring pieces: a piece becomes a `.tflite` (blocks through cached structure templates,
stem and head through a direct conversion) and is timed with the LiteRT interpreter, in context
(`flush_mb`, see `latency.litert_bench`) so that the pieces of a model sum to the whole model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from latency.export import tflite_bytes
from latency.fingerprint import local_fingerprint
from latency.errors import LatencyError
from latency.litert_bench import benchmark_tflite, default_flush_mb, runtime_version
from latency.pieces import Piece
from latency.stats import BenchResult
from latency.template import Structure, TemplateConverter, block_structure, probe_piece, templatable


@dataclass(frozen=True)
class BenchSettings:
    """How each table entry is timed (stored in the table's metadata)."""

    threads: int = 1
    xnnpack: bool = True
    warmup_s: float = 0.2
    min_runs: int = 50
    min_time_s: float = 0.5
    flush_mb: float = field(default_factory=default_flush_mb)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of_table(cls, bench: dict, threads: int, xnnpack: bool) -> BenchSettings:
        """The settings a table's entries were timed with (its metadata's "bench"), so that entries
        filled later are timed alike; tables from before the in-context protocol have no flush_mb
        and were timed in a warm loop (0)."""
        return cls(threads, xnnpack, bench.get("warmup_s", 0.2), bench.get("min_runs", 50),
                   bench.get("min_time_s", 0.5), bench.get("flush_mb", 0.0))

    def check_same_protocol(self, bench: dict, where: str) -> None:
        """Refuse to add entries timed with another protocol to a table (they would not sum alike)."""
        stored = bench.get("flush_mb", 0.0) if bench else self.flush_mb
        if stored != self.flush_mb:
            raise LatencyError(f"{where} was timed with flush_mb={stored} (in-context flush, 0 = warm loop), this "
                               f"build with flush_mb={self.flush_mb}; entries of both would not sum alike: build a "
                               f"new table (another --out), or pass --flush-mb {stored}")

    def fingerprint(self) -> dict:
        return local_fingerprint(runtime_version(), self.threads, self.xnnpack)


def convert_job(job: tuple[str, object], num_classes: int) -> bytes:
    """The slow litert-torch step, for a worker process: ('template', structure) or ('piece', key)."""
    from latency.keys import parse_key

    kind, what = job
    piece = probe_piece(tuple(what)) if kind == "template" else parse_key(str(what))
    return tflite_bytes(piece.module(num_classes), piece.input_shape())


class PieceMeasurer:
    """Turns pieces into timed `BenchResult`s; direct conversions (stems, heads, blocks with a 1x1
    output) are cached by key."""

    def __init__(self, settings: BenchSettings, num_classes: int = 1000) -> None:
        self.settings = settings
        self.num_classes = num_classes
        self.converter = TemplateConverter()
        self.direct: dict[str, bytes] = {}

    def pending_jobs(self, pieces: list[Piece]) -> list[tuple[str, object]]:
        """Conversions `pieces` still need: templates for uncached block structures, and one
        direct conversion per uncached stem / head."""
        from latency.keys import piece_key

        jobs: list[tuple[str, object]] = [("template", s) for s in self.converter.missing_structures(pieces)]
        keys = {piece_key(p) for p in pieces if not templatable(p)}
        jobs += [("piece", k) for k in sorted(keys - set(self.direct))]
        return jobs

    def add_conversion(self, job: tuple[str, object], data: bytes) -> None:
        kind, what = job
        if kind == "template":
            self.converter.add(tuple(what), data)
        else:
            self.direct[str(what)] = data

    def tflite(self, piece: Piece) -> bytes:
        from latency.keys import piece_key

        if templatable(piece):
            structure: Structure = block_structure(piece)
            if structure not in self.converter.templates:
                self.add_conversion(("template", structure), convert_job(("template", structure), self.num_classes))
            return self.converter.block_tflite(piece)
        key = piece_key(piece)
        if key not in self.direct:
            self.direct[key] = convert_job(("piece", key), self.num_classes)
        return self.direct[key]

    def measure(self, piece: Piece) -> BenchResult:
        return self.time(self.tflite(piece))

    def time(self, data: bytes) -> BenchResult:
        """Time one converted piece; the phone's measurer (latency.adb_measure) times it over adb."""
        s = self.settings
        return benchmark_tflite(data, threads=s.threads, xnnpack=s.xnnpack, warmup_s=s.warmup_s,
                                min_runs=s.min_runs, min_time_s=s.min_time_s, flush_mb=s.flush_mb)
