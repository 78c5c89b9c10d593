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
from experiments.training.weights import StateDict, load_trained, load_weights, state_dict_cpu
from models import ArchSpec, atomic, narrow
from netadapt.loop import Job

Log = Callable[[str], None]


def finetune_proposal(parent_state: StateDict, parent_arch: str, arch: str, seed: int, data: DataBundle,
                      training: TrainingConfig, augment: bool) -> tuple[float, StateDict, float]:
    """Narrow the parent to `arch` (largest-L2-norm channels kept), fine-tune with `training`
    (its budget is the short fine-tune) and return (validation accuracy, weights, seconds)."""
    start = time.perf_counter()
    parent = load_trained(ArchSpec.from_str(parent_arch), parent_state, data.num_classes, training.dropout)
    model = narrow(parent, ArchSpec.from_str(arch))
    result = train(model, data, training, seed=seed, augment=augment)
    return result.val_accuracy, state_dict_cpu(model), time.perf_counter() - start


def describe(job: Job, acc: float, seconds: float) -> str:
    """The log line of one finished proposal."""
    return f"netadapt: iteration {job.iteration} {job.key}: val accuracy {acc:.4f} ({seconds:.1f} s)"


class LocalJobs:
    """Runs proposals one after another in this process (tests, or a machine without Ray)."""

    def __init__(self, data: DataBundle, training: TrainingConfig, augment: bool, log: Log = print) -> None:
        self.data, self.training, self.augment, self.log = data, training, augment, log

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float]]:
        for job in jobs:
            acc, weights, seconds = finetune_proposal(load_weights(job.parent_weights), job.parent_arch, job.arch,
                                                      job.seed, self.data, self.training, self.augment)
            atomic.save_torch(job.weights_out, weights)
            self.log(describe(job, acc, seconds))
            yield job, acc
