"""The one-shot supernet trained data-parallel on Ray workers (`search.one_shot.workers` > 1).

Ray Train's `TorchTrainer` starts `workers` training workers (on the local Ray, or spread over the
cluster `ray.address` joins), each with `ray.resources_per_trial`, and joins them in a
`torch.distributed` process group (gloo on CPUs, NCCL when each worker has a GPU). Every worker
builds the same `search.one_shot.OneShotSearch` and runs it; inside a process group of several
workers the search shards each batch and keeps one trajectory (`search.data_parallel`). Worker 0
writes the checkpoints into the run's `one_shot/` and logs; so on a cluster the run directory must be
on storage every node reaches (as Ray Tune's trial storage under `ray/` already must be).

Why Ray Train and not hand-made actors: it places the workers (one per slot of the cluster), sets up
and tears down the process group (master address, ranks, backend), assigns a GPU per worker, and
forwards each worker's output; the loop itself needs only `torch.distributed`, which the search
room may use without Ray. A failed worker fails the run (no automatic restart); running the command
again resumes every worker from the last checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray.train
import torch
from ray.train.torch import TorchConfig, TorchTrainer

from experiments.config.schema import TrialResources
from search.one_shot import OneShotSearch

SearchBuilder = Callable[..., OneShotSearch]  # (device=..., log=...) -> the configured search


def _worker_loop(config: dict[str, Any]) -> None:
    """One worker: build the search on this worker's device and run (or resume) it to the end."""
    build: SearchBuilder = config["build"]
    device = ray.train.torch.get_device() if torch.cuda.is_available() else torch.device("cpu")
    build(device=device, log=print).run()


def train_on_workers(build: SearchBuilder, workers: int, resources: TrialResources, storage: Path,
                     log: Callable[[str], None] = print) -> None:
    """Run the search `build` makes on `workers` Ray Train workers (Ray must be initialised); returns
    when the last checkpoint is written, raises RuntimeError when a worker failed."""
    gpu = resources.gpu > 0
    log(f"search: one-shot supernet data-parallel on {workers} Ray Train workers ({resources.cpu:g} CPU"
        f"{f', {resources.gpu:g} GPU' if gpu else ''} each, {'nccl' if gpu else 'gloo'})")
    trainer = TorchTrainer(
        _worker_loop,
        train_loop_config={"build": build},
        scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=gpu,
                                               resources_per_worker={"CPU": resources.cpu,
                                                                     **({"GPU": resources.gpu} if gpu else {})}),
        torch_config=TorchConfig(backend="nccl" if gpu else "gloo"),
        run_config=ray.train.RunConfig(storage_path=str(storage.resolve()), name="one_shot"),
    )
    try:
        result = trainer.fit()
    except Exception as error:  # Ray Train wraps the worker's exception
        raise RuntimeError(f"one-shot search: a data-parallel worker failed: {error}") from error
    if result.error is not None:
        raise RuntimeError(f"one-shot search: a data-parallel worker failed: {result.error}")
