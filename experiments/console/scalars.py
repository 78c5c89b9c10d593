"""TensorBoard scalars of a run, in `runs/<name>/tb/` (`tensorboard --logdir runs/<name>/tb`).

`ScalarLog(root).add(group, step, {"name": value, ...})` writes each value as the scalar
`group/name` at `step` and flushes, so a killed run keeps everything written before the kill. The
run writes `search/*` per child (step = the child's index), `netadapt/*` per iteration (step = the
iteration) and any caller may add its own group, e.g. a one-shot supernet's `supernet/loss` per
optimizer step. Non-finite values (a failed child's accuracy) are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from tensorboardX import SummaryWriter

from experiments.rundir import layout


class ScalarLog:
    """Scalars of one run directory; the event file is opened on the first `add`."""

    def __init__(self, root: str | Path) -> None:
        self.logdir = Path(root) / layout.TENSORBOARD_DIR
        self._writer: SummaryWriter | None = None

    def add(self, group: str, step: int, scalars: Mapping[str, float | None]) -> None:
        """Each finite value as `group/name` at `step`."""
        values = {name: float(v) for name, v in scalars.items() if v is not None and math.isfinite(float(v))}
        if not values:
            return
        if self._writer is None:
            self._writer = SummaryWriter(logdir=str(self.logdir), flush_secs=5)
        for name, value in values.items():
            self._writer.add_scalar(f"{group}/{name}", value, global_step=int(step))
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
