"""NetAdapt proposal fine-tunes: narrow the parent's weights to a proposal, fine-tune briefly, evaluate.

`finetune_proposal` is the pure-compute part (state dict in, accuracy and state dict out), so it runs
the same in this process (`LocalJobs`) or as a Ray task (`experiments.ray_jobs.netadapt_tasks.RayJobs`)
on any node of a cluster; no node needs the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from experiments.config.schema import TrainingConfig
from experiments.data import DataBundle
from experiments.training.loop import train
from experiments.training.weights import (
    StateDict,
    load_trained,
    load_weights,
    state_dict_cpu,
)
from models import ArchSpec, atomic, narrow
from netadapt.loop import Job, JobFailed

Log = Callable[[str], None]


def finetune_proposal(parent_state: StateDict, parent_arch: str, arch: str, seed: int, data: DataBundle,
                      training: TrainingConfig, augment: bool) -> tuple[float | JobFailed, StateDict | None, float]:
    """Narrow the parent to `arch` (largest-L2-norm channels kept; `arch` == `parent_arch` for the
    control), fine-tune with `training` (its budget is the short fine-tune) and return (validation
    accuracy, weights, seconds); a fine-tune that fails (a diverged loss, any error) returns
    (JobFailed(reason), None, seconds), which the loop records as that proposal's failure."""
    start = time.perf_counter()
    try:
        parent = load_trained(ArchSpec.from_str(parent_arch), parent_state, data.num_classes, training.dropout)
        model = narrow(parent, ArchSpec.from_str(arch))
        result = train(model, data, training, seed=seed, augment=augment)
    except Exception as err:  # noqa: BLE001 - reported to the loop, which goes on with the others
        return JobFailed(f"{type(err).__name__}: {err}"), None, time.perf_counter() - start
    return result.val_accuracy, state_dict_cpu(model), time.perf_counter() - start


def finished(job: Job, acc: float | JobFailed, weights: StateDict | None, seconds: float, log: Log) -> None:
    """Write a fine-tune's weights (atomically) and log its outcome."""
    if weights is not None:
        atomic.save_torch(job.weights_out, weights)
    outcome = f"failed: {acc.reason}" if isinstance(acc, JobFailed) else f"val accuracy {acc:.4f}"
    log(f"netadapt: iteration {job.iteration} {job.key}: {outcome} ({seconds:.1f} s)")


class LocalJobs:
    """Runs proposals one after another in this process (tests, or a machine without Ray)."""

    def __init__(self, data: DataBundle, training: TrainingConfig, augment: bool, log: Log = print) -> None:
        self.data, self.training, self.augment, self.log = data, training, augment, log

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float | JobFailed]]:
        for job in jobs:
            acc, weights, seconds = finetune_proposal(load_weights(job.parent_weights), job.parent_arch, job.arch,
                                                      job.seed, self.data, self.training, self.augment)
            finished(job, acc, weights, seconds, self.log)
            yield job, acc
