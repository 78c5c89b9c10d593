"""NetAdapt proposal jobs: narrow the parent's weights to a proposal, fine-tune briefly, evaluate.

`finetune_proposal` is the pure-compute part (state dict in, accuracy and state dict out), so it
runs the same in this process (`LocalJobs`) or as a Ray task (`RayJobs`) on any node of a
cluster: the driver reads the parent's weights (`torch.load(weights_only=True)`) and puts them,
like the dataset, into Ray's object store; the task returns the fine-tuned weights and the driver
writes them atomically to `job.weights_out` before it reports the result to the loop. No node
needs the run directory. At most `max_in_flight` tasks run at a time; results are yielded as
they finish (`ray.wait`), and the loop records each one the moment it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from experiments.config import TrainingConfig
from experiments.data import DataBundle
from experiments.training import train
from models import ArchSpec, atomic, build_model, narrow
from netadapt.loop import Job

StateDict = dict[str, torch.Tensor]
Log = Callable[[str], None]


def load_weights(path: str | Path) -> StateDict:
    """A `state_dict` saved by this project; never unpickles anything but tensors."""
    return torch.load(path, map_location="cpu", weights_only=True)


def finetune_proposal(parent_state: StateDict, parent_arch: str, arch: str, seed: int, data: DataBundle,
                      training: TrainingConfig, augment: bool) -> tuple[float, StateDict, float]:
    """Narrow the parent to `arch` (largest-L2-norm channels kept), fine-tune with `training`
    (its budget is the short fine-tune) and return (validation accuracy, weights, seconds)."""
    start = time.perf_counter()
    parent = build_model(ArchSpec.from_str(parent_arch), num_classes=data.num_classes, dropout=training.dropout)
    parent.load_state_dict(parent_state)
    model = narrow(parent, ArchSpec.from_str(arch))
    result = train(model, data, training, seed=seed, augment=augment)
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return result.val_accuracy, weights, time.perf_counter() - start


def _describe(job: Job, acc: float, seconds: float) -> str:
    return f"netadapt: iteration {job.iteration} {job.key}: val acc {acc:.4f} ({seconds:.1f} s)"


class LocalJobs:
    """Runs proposals one after another in this process (tests, or a machine without Ray)."""

    def __init__(self, data: DataBundle, training: TrainingConfig, augment: bool, log: Log = print) -> None:
        self.data, self.training, self.augment, self.log = data, training, augment, log

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float]]:
        for job in jobs:
            acc, weights, seconds = finetune_proposal(load_weights(job.parent_weights), job.parent_arch, job.arch,
                                                      job.seed, self.data, self.training, self.augment)
            atomic.save_torch(job.weights_out, weights)
            self.log(_describe(job, acc, seconds))
            yield job, acc


def _finetune_job(job: Job, parent_state: StateDict, data: DataBundle, training: TrainingConfig,
                  augment: bool) -> tuple[float, StateDict, float]:
    return finetune_proposal(parent_state, job.parent_arch, job.arch, job.seed, data, training, augment)


class RayJobs:
    """Runs proposals as Ray tasks with `resources` each ({"cpu": .., "gpu": ..}), at most
    `max_in_flight` at once (`experiments.ray_tasks.as_completed`); Ray must be initialised. The
    dataset and each parent's weights go to the object store once."""

    def __init__(self, data: DataBundle, training: TrainingConfig, augment: bool, resources: dict[str, float],
                 max_in_flight: int, log: Log = print) -> None:
        import ray

        if not ray.is_initialized():
            raise RuntimeError("RayJobs needs an initialised Ray (use experiments.ray_runtime.RayRuntime)")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.data_ref = ray.put(data)  # once for every iteration
        self.training, self.augment, self.log = training, augment, log
        self.resources, self.max_in_flight = resources, max_in_flight

    def __call__(self, jobs: list[Job]) -> Iterator[tuple[Job, float]]:
        from experiments.ray_tasks import as_completed

        by_parent: dict[str, list[Job]] = {}
        for job in jobs:  # an iteration's proposals share one parent
            by_parent.setdefault(job.parent_weights, []).append(job)
        for parent, group in by_parent.items():
            shared = (load_weights(parent), self.data_ref, self.training, self.augment)
            for job, (acc, weights, seconds) in as_completed(
                    _finetune_job, group, shared=shared, num_cpus=self.resources.get("cpu", 1.0),
                    num_gpus=self.resources.get("gpu", 0.0), max_in_flight=self.max_in_flight):
                atomic.save_torch(job.weights_out, weights)
                self.log(_describe(job, acc, seconds))
                yield job, acc
