"""One data-parallel worker of the tiny one-shot search, for the data-parallel tests:
`python one_shot_dp_job.py DIRECTORY STEPS UNTIL RANK WORLD PORT`.

Joins a gloo process group of WORLD workers on 127.0.0.1:PORT as RANK (WORLD 1: no group, the
plain loop) and runs `one_shot_fixtures.tiny_search` (head dropout 0.2) for STEPS steps, stopping at UNTIL, with a checkpoint every 2 steps in
DIRECTORY (resuming from one found there); one torch thread, on the CPU. Worker 0 writes the
final supernet's state_dict to DIRECTORY/final.pt.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import torch
import torch.distributed as dist
from one_shot_fixtures import tiny_search

from search.one_shot import OneShotConfig

if __name__ == "__main__":
    directory, steps, until, rank, world, port = Path(sys.argv[1]), *map(int, sys.argv[2:])
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world,
                                timeout=timedelta(seconds=120))
    config = OneShotConfig(steps=steps, samples_per_step=2, warmup_fraction=0.5, checkpoint_every=2, lr=0.05)
    search = tiny_search(directory, config)
    search.run(until)
    if rank == 0:
        torch.save(search.net.state_dict(), directory / "final.pt")
    if world > 1:
        dist.destroy_process_group()
