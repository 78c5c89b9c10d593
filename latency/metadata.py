"""Whether a table fits a run: its class count, resolutions, threads, dtype, backend (runtime) and,
given this device's fingerprint, every fingerprint field (CPU, ISA flags, caches, cores, runtime and
converter versions). A table that does not fit is refused with the command that builds one that does."""

from __future__ import annotations

from dataclasses import dataclass

from latency.errors import LatencyError
from latency.fingerprint import mismatches
from latency.table import BUILD_HINT, LatencyTable

RUNTIME_PREFIX = {"litert": "ai-edge-litert", "adb": "benchmark_model"}


@dataclass(frozen=True)
class RunSetting:
    """What a run times with: its classes, resolution, threads, dtype and backend ('litert' or 'adb')."""

    num_classes: int
    resolution: int
    threads: int = 1
    dtype: str = "float32"
    backend: str = "litert"

    def build_command(self, out: str, space: str = "SPACE") -> str:
        backend = " --backend adb" if self.backend == "adb" else ""
        return (f"{BUILD_HINT} --space {space} --classes {self.num_classes} --resolution {self.resolution} "
                f"--threads {self.threads} --dtype {self.dtype}{backend} --out {out}")


def table_problems(table: LatencyTable, run: RunSetting, device: dict | None = None,
                   lazy_fill: bool = False) -> list[str]:
    """Every way `table` does not fit `run` (empty when it fits); a missing resolution is fine with `lazy_fill`."""
    fp = table.fingerprint
    problems = []
    if table.num_classes != run.num_classes:
        problems.append(f"classes: table {table.num_classes}, run {run.num_classes}")
    if run.resolution not in table.metadata.get("resolutions", []) and not lazy_fill:
        problems.append(f"resolution: table has {table.metadata.get('resolutions', [])}, run {run.resolution} "
                        f"(and lazy filling is off)")
    if fp.get("threads") != run.threads:
        problems.append(f"threads: table {fp.get('threads')!r}, run {run.threads}")
    if fp.get("dtype", "float32") != run.dtype:
        problems.append(f"dtype: table {fp.get('dtype', 'float32')!r}, run {run.dtype!r}")
    prefix = RUNTIME_PREFIX.get(run.backend)
    if prefix is None:
        problems.append(f"backend: {run.backend!r} has no tables (use litert or adb)")
    elif not str(fp.get("runtime", "")).startswith(prefix):
        problems.append(f"backend: table timed with {fp.get('runtime')!r}, run uses {run.backend} ({prefix})")
    if device is not None:
        known = {p.split(":")[0] for p in problems}
        problems += [d for d in mismatches(fp, device) if d.split(":")[0] not in known]
    return problems


def check_table(table: LatencyTable, run: RunSetting, device: dict | None = None, lazy_fill: bool = False,
                space: str = "SPACE") -> None:
    """Refuse a table that does not fit `run`, naming every mismatch and the command that builds the right one."""
    problems = table_problems(table, run, device, lazy_fill)
    if problems:
        raise LatencyError(f"latency table {str(table.path)!r} does not fit this run ({'; '.join(problems)}); build "
                           f"one that does with '{run.build_command('NEW_TABLE.json', space)}'")
