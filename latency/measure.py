"""Measuring pieces: a piece becomes a `.tflite` (blocks and heads through cached structure
templates, stems through a direct conversion; int8 pieces through post-training quantisation, see
`latency.quantize`) and is timed with the LiteRT interpreter in context (`flush_mb`, see
`latency.litert_bench`), in windows interleaved with other pieces (`latency.windows`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from latency.errors import LatencyError
from latency.export import tflite_bytes
from latency.fingerprint import local_fingerprint
from latency.floor import floor_model
from latency.litert_bench import LiteRTTimer, default_flush_mb, runtime_version
from latency.pieces import Piece
from latency.template import Structure, TemplateConverter, piece_structure, probe_piece, templatable
from latency.windows import Timer, WindowPolicy

DTYPES = ("float32", "int8")


@dataclass(frozen=True)
class BenchSettings:
    """How each table entry is timed (stored in the table's metadata): per window a warm-up of
    `warmup_s`, then at least `min_runs` invokes and `min_time_s` seconds; `windows` windows per
    entry (up to `max_windows` while they disagree by more than `tolerance`); `dtype` of the pieces."""

    threads: int = 1
    xnnpack: bool = True
    warmup_s: float = 0.05
    min_runs: int = 20
    min_time_s: float = 0.15
    flush_mb: float = field(default_factory=default_flush_mb)
    windows: int = 3
    max_windows: int = 7
    tolerance: float = 0.10
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise LatencyError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.windows < 1 or self.max_windows < self.windows or self.threads < 1:
            raise LatencyError(f"need threads >= 1 and 1 <= windows <= max_windows, got threads {self.threads}, "
                               f"windows {self.windows}, max_windows {self.max_windows}")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def policy(self) -> WindowPolicy:
        return WindowPolicy(self.windows, self.max_windows, self.tolerance)

    @classmethod
    def of_table(cls, bench: dict, threads: int, xnnpack: bool) -> BenchSettings:
        """The settings a table's entries were timed with (its metadata's "bench"), so that entries
        filled later are timed alike."""
        known = {k: v for k, v in bench.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "threads": threads, "xnnpack": xnnpack})

    def check_same_protocol(self, bench: dict, where: str) -> None:
        """Refuse to add entries timed with another protocol to a table (they would not sum alike)."""
        stored = bench.get("flush_mb", self.flush_mb) if bench else self.flush_mb
        if stored != self.flush_mb:
            raise LatencyError(f"{where} was timed with flush_mb={stored} (in-context flush, 0 = warm loop), this "
                               f"build with flush_mb={self.flush_mb}; entries of both would not sum alike: build a "
                               f"new table (another --out), or pass --flush-mb {stored}")

    def fingerprint(self) -> dict:
        return local_fingerprint(runtime_version(), self.threads, self.xnnpack, self.dtype)


def convert_job(job: tuple[str, object], dtype: str = "float32") -> bytes:
    """The slow litert-torch step, for a worker process: ('template', structure) or ('piece', key)."""
    from latency.keys import parse_key

    kind, what = job
    piece = probe_piece(tuple(what)) if kind == "template" else parse_key(str(what))
    if dtype == "int8":
        from latency.quantize import int8_piece_bytes

        return int8_piece_bytes(piece)
    return tflite_bytes(piece.module(), piece.input_shape())


class PieceMeasurer:
    """Turns pieces into timers and entries; direct conversions (stems, every int8 piece) are
    cached by key. With `num_classes`, a head piece of another class count is refused (its table
    holds `num_classes`)."""

    def __init__(self, settings: BenchSettings, num_classes: int | None = None) -> None:
        self.settings = settings
        self.num_classes = num_classes
        self.converter = TemplateConverter()
        self.direct: dict[str, bytes] = {}

    def _templated(self, piece: Piece) -> bool:
        return self.settings.dtype == "float32" and templatable(piece)

    def pending_jobs(self, pieces: list[Piece]) -> list[tuple[str, object]]:
        """Conversions `pieces` still need: templates for uncached block and head structures, and one
        direct conversion per uncached stem (and, for int8, per uncached piece)."""
        from latency.keys import piece_key

        jobs: list[tuple[str, object]] = [("template", s) for s in
                                          self.converter.missing_structures([p for p in pieces if self._templated(p)])]
        keys = {piece_key(p) for p in pieces if not self._templated(p)}
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

        if self.num_classes is not None and piece.kind == "h" and piece.classes != self.num_classes:
            raise LatencyError(f"head piece with {piece.classes} classes asked of a measurer for a {self.num_classes}-"
                               f"class table; a table holds one class count: build one per class count")
        if self._templated(piece):
            structure: Structure = piece_structure(piece)
            if structure not in self.converter.templates:
                self.add_conversion(("template", structure), convert_job(("template", structure)))
            return self.converter.piece_tflite(piece)
        key = piece_key(piece)
        if key not in self.direct:
            self.direct[key] = convert_job(("piece", key), self.settings.dtype)
        return self.direct[key]

    def timer(self, data: bytes) -> Timer:
        """A timer of one converted piece; the phone's measurer (latency.adb_measure) times it over adb."""
        s = self.settings
        return LiteRTTimer(data, s.threads, s.xnnpack, s.flush_mb, s.warmup_s, s.min_runs, s.min_time_s)

    def floor_timer(self) -> Timer:
        return self.timer(floor_model())
