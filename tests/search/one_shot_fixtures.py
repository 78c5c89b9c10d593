"""Shared pieces of the one-shot tests: a tiny search space (every decision kind, a stride-1 stage
whose first block may or may not add its input, SE on/off, a depth choice) and tiny random data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from models.spec import ArchSpec
from search.one_shot import OneShotConfig, OneShotSearch
from search.rewards import RewardFn, make_reward
from search.space import SearchSpace

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_SPACES = sorted((ROOT / "experiments" / "configs" / "spaces").glob("*.yaml"))
RESOLUTION = 16
CLASSES = 4

TINY_SPACE = {
    "stem": "stem_c8_hs",
    "head": "head_c16_h16_hs",
    "stages": [
        {"out": 8, "depth": 1, "stride": 1, "act": "re", "kernel": 3, "expand": 1, "se": False,
         "choices": {"expand": [1, 3], "depth": [0, 1], "width": [1.0, 2.0]}},
        {"out": 16, "depth": 2, "stride": 2, "act": "hs", "kernel": 5, "expand": 3, "se": True,
         "choices": {"expand": [3, 6], "depth": [-1, 0], "width": [0.5, 1.0]}},
    ],
}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Small tensors on a shared machine: extra threads only contend (10x slower under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_space() -> SearchSpace:
    return SearchSpace.from_dict(TINY_SPACE)


def random_batches(n: int, batch: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`n` batches of noise images, each shifted by its class's colour (learnable by any path, so the
    shared-weight accuracy rises above chance as the supernet trains)."""
    gen = torch.Generator().manual_seed(seed)
    colours = torch.randn(CLASSES, 3, 1, 1, generator=torch.Generator().manual_seed(0))
    out = []
    for _ in range(n):
        y = torch.randint(CLASSES, (batch,), generator=gen)
        x = torch.randn(batch, 3, RESOLUTION, RESOLUTION, generator=gen) + colours[y]
        out.append((x, y))
    return out


def size_latency(arch: ArchSpec) -> float:
    """A latency stand-in that grows with every block's width, kernel and SE (milliseconds)."""
    return 0.1 + sum(b.mid * b.kernel * (1.2 if b.se else 1.0) for b in arch.blocks) / 1000


SEARCH_CONFIG = OneShotConfig(steps=12, samples_per_step=2, warmup_fraction=0.5, checkpoint_every=4, lr=0.05)


def tiny_search(directory: Path | None, config: OneShotConfig = SEARCH_CONFIG, reward: RewardFn | None = None,
                device: str = "cpu", **kwargs: Any) -> OneShotSearch:
    """A one-shot search of the tiny space on tiny random data (`kwargs`: OneShotSearch's)."""
    return OneShotSearch(tiny_space(), CLASSES, random_batches(5, 16, seed=0), random_batches(3, 16, seed=1),
                         size_latency, reward or make_reward("mnasnet_soft", target_ms=0.3, w=-0.15), config,
                         seed=3, directory=directory, device=device, **kwargs)
