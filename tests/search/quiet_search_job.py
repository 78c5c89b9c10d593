"""A `hwnas search` process whose latency table records when it times: `python quiet_search_job.py
CONFIG WINDOWS_LOG`. Every window the table's measurer times (pieces, the invoke floor, the drift
canary) appends `[start, end]` (Unix seconds) to WINDOWS_LOG, so a test can check them against the
children's training times in trials.csv."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from experiments.rundir import latency_source  # noqa: E402
from experiments.cli import main  # noqa: E402
from latency.measure import PieceMeasurer  # noqa: E402
from latency.stats import BenchResult  # noqa: E402
from latency.windows import Timer  # noqa: E402


class RecordedTimer:
    def __init__(self, timer: Timer, log: Path) -> None:
        self.timer, self.log = timer, log

    def window(self) -> BenchResult:
        start = time.time()
        result = self.timer.window()
        with self.log.open("a") as out:
            out.write(json.dumps([start, time.time()]) + "\n")
        return result


def recording(log: Path):
    plain = latency_source.measurer_for

    def measurer_for(*args, **kwargs) -> PieceMeasurer:
        measurer = plain(*args, **kwargs)
        timer = measurer.timer
        measurer.timer = lambda data: RecordedTimer(timer(data), log)  # floor and canary go through it too
        return measurer

    return measurer_for


if __name__ == "__main__":
    latency_source.measurer_for = recording(Path(sys.argv[2]))
    sys.exit(main(["search", sys.argv[1]]))
