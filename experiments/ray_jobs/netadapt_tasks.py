"""NetAdapt proposals as Ray tasks: the driver reads the parent's weights (`weights_only=True`) and puts
them, like the dataset, into Ray's object store; each task narrows and fine-tunes one proposal
(`experiments.training.finetune.finetune_proposal`) and returns the weights, which the driver writes
atomically to `job.weights_out` before it reports the result to the loop. At most `max_in_flight`
tasks run at a time; results are yielded as they finish, and the loop records each one at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import ray

from experiments.config.schema import TrainingConfig
from experiments.data import DataBundle
from experiments.ray_jobs.tasks import as_completed
from experiments.training.finetune import Log, finetune_proposal, finished
from experiments.training.weights import StateDict, load_weights
from netadapt.loop import Job, JobFailed


def _finetune_job(job: Job, parent_state: StateDict, data: DataBundle, training: TrainingConfig,
                  augment: bool) -> tuple[float | JobFailed, StateDict | None, float]:
    return finetune_proposal(parent_state, job.parent_arch, job.arch, job.seed, data, training, augment)


class RayJobs:
    """Runs proposals as Ray tasks with `resources` each ({"cpu": .., "gpu": ..}), at most
    `max_in_flight` at once; Ray must be initialised. The dataset and each parent's weights go to the
    object store once."""

    def __init__(self, data: DataBundle, training: TrainingConfig, augment: bool, resources: dict[str, float],
                 max_in_flight: int, log: Log = print) -> None:
        if not ray.is_initialized():
            raise RuntimeError("RayJobs needs an initialised Ray (use experiments.ray_jobs.runtime.RayRuntime)")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.data_ref = ray.put(data)  # once for every iteration
        self.training, self.augment, self.log = training, augment, log
        self.resources, self.max_in_flight = resources, max_in_flight

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float | JobFailed]]:
        by_parent: dict[str, list[Job]] = {}
        for job in jobs:  # an iteration's proposals share one parent
            by_parent.setdefault(job.parent_weights, []).append(job)
        for parent, group in by_parent.items():
            shared = (load_weights(parent), self.data_ref, self.training, self.augment)
            for job, (acc, weights, seconds) in as_completed(
                    _finetune_job, group, shared=shared, num_cpus=self.resources.get("cpu", 1.0),
                    num_gpus=self.resources.get("gpu", 0.0), max_in_flight=self.max_in_flight):
                finished(job, acc, weights, seconds, self.log)
                yield job, acc
