"""A one-shot search process for the kill -9 test: `python one_shot_job.py DIRECTORY STEPS`.

Runs `one_shot_fixtures.tiny_search` for STEPS steps with a checkpoint every 2, in DIRECTORY
(resuming from one found there), one torch thread, on the CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]

import torch
from one_shot_fixtures import tiny_search

from search.one_shot import OneShotConfig

if __name__ == "__main__":
    torch.set_num_threads(1)
    config = OneShotConfig(steps=int(sys.argv[2]), samples_per_step=2, checkpoint_every=2, lr=0.05)
    tiny_search(Path(sys.argv[1]), config).run()
